"""Limits: 5,000-node graphs (a chain and a wide DAG) build, validate, save, load and compile.
Times are printed (run with -s to see them), never asserted."""
from __future__ import annotations

import time

import pytest

from engine import compile_graph, generate, validate
from engine.project import Project, load_project, save_project

from .graphs import big_chain, wide_dag

N = 5000


@pytest.fixture(scope="module", params=["chain", "wide_dag"])
def big(request):
    start = time.perf_counter()
    g = big_chain(N) if request.param == "chain" else wide_dag(N)
    print(f"\n{request.param}: built {len(g.nodes)} nodes, {len(g.edges)} edges in "
          f"{time.perf_counter() - start:.2f} s")
    return request.param, g


def timed(label, fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    print(f"  {label}: {time.perf_counter() - start:.3f} s")
    return out


def test_validates(big):
    name, g = big
    assert len(g.nodes) >= N
    report = timed(f"{name} validate", validate, g)
    assert report.ok, report.text()[:500]
    assert len(report.order) == len(g.nodes)
    assert report.total_params > 0


def test_saves_and_loads(big, tmp_path):
    name, g = big
    path = timed(f"{name} save", save_project, Project(g), tmp_path / f"{name}.nnproj")
    loaded = timed(f"{name} load", load_project, path)
    assert loaded.graph.to_dict() == g.to_dict()


def test_generates_and_compiles(big):
    name, g = big
    code = timed(f"{name} codegen", generate, g)
    compile(code.source, "<big>", "exec")
    assert len(code.output_ids) == len(g.outputs())
    if name == "chain":  # the chain also runs: Linear(8, 8) x 2,499 with ReLUs
        torch = pytest.importorskip("torch")
        model = timed(f"{name} compile_graph", compile_graph, g)
        x = torch.randn(3, 8)
        with torch.no_grad():
            y = model(x)
        assert y.shape == (3, 8) and torch.isfinite(y).all()


def test_input_port_index_survives_direct_edits_of_the_edge_list():
    """Graph.edge_into uses an index (loading 100,000 nodes was quadratic without it); the
    undo commands reorder `graph.edges` in place, and others may edit it directly."""
    g = big_chain(6)
    edges = list(g.edges)
    g.edges[:] = edges[::-1]  # what studio.commands' undo does to restore order
    assert all(g.edge_into(e.dst, e.dst_port) == e for e in edges)
    removed = g.edges.pop()
    assert g.edge_into(removed.dst, removed.dst_port) is None
    g.edges.append(removed)
    assert g.edge_into(removed.dst, removed.dst_port) == removed
    g.disconnect(removed)
    g.connect(removed.src, removed.src_port, removed.dst, removed.dst_port)
    assert g.edge_into(removed.dst, removed.dst_port) == removed
