"""What Studio exports, it imports back: every bundled example's exported script and every
registered layer's generated code give the same graph (up to names and layout) and the same
outputs, through `engine.import_module` and through `studio import`."""
from __future__ import annotations

import re

import networkx as nx
import pytest
import torch

import engine
from engine.blockedit import apply_plan, plan_ungroup
from engine.cli import main as cli_main
from engine.examples import example_paths
from engine.export import export_project
from engine.importers import import_module
from engine.importers.python_file import load_class
from engine.layers.emit import compact

from .helpers import scriptable_examples
from .test_registry import CASES, build


def _flat(graph: engine.Graph) -> engine.Graph:
    """The graph with every block instance (and each repeat) replaced by its layers: an
    `nn.Sequential` of two blocks comes back as a block holding two instances, not as one
    instance repeated twice, and a block's arguments come back as plain values."""
    graph = graph.copy()
    while blocks := [nid for nid, n in graph.nodes.items() if n.is_block]:
        apply_plan(graph, plan_ungroup(graph, blocks[0]))
    return graph


def _canonical(graph: engine.Graph) -> nx.MultiDiGraph:
    """The flattened graph as types, params and port-labelled edges (names and positions left
    out). A Reshape is compared by its inferred output shape (an exported -1 comes back
    resolved)."""
    graph = _flat(graph)
    report = engine.validate(graph)
    g = nx.MultiDiGraph()
    for nid, node in graph.nodes.items():
        params = {k: compact(v) for k, v in node.params.items()}  # [3, 3] is 3
        if node.type == "core.Reshape":
            params["shape"] = list(report.out_types[nid][0].shape)
        if node.type == "io.Output":
            params.pop("loss_weight")  # a training setting, not in the model code
        g.add_node(nid, label=(node.type, repr(sorted(params.items()))))
    for e in graph.edges:
        g.add_edge(e.src, e.dst, label=(e.src_port, e.dst_port))
    return g


def assert_same_graph(got: engine.Graph, want: engine.Graph) -> None:
    a, b = _canonical(got), _canonical(want)
    same = nx.is_isomorphic(a, b, node_match=lambda x, y: x["label"] == y["label"],
                            edge_match=lambda x, y: sorted(d["label"] for d in x.values())
                            == sorted(d["label"] for d in y.values()))
    if not same:
        show = lambda g: sorted(d["label"] for _, d in g.nodes(data=True))  # noqa: E731
        assert show(a) == show(b)
        raise AssertionError("same nodes, different wiring")


def _examples_for(graph: engine.Graph, batch: int = 3) -> list[torch.Tensor]:
    torch.manual_seed(1)
    xs = []
    for n in graph.inputs():
        shape = (batch, *n.params["shape"])
        xs.append(torch.randint(0, 20, shape) if n.params["dtype"] == "long"
                  else torch.rand(shape))
    return xs


def _same_outputs(model, graph: engine.Graph) -> None:
    compiled = engine.compile_graph(graph).eval()
    model.eval()
    xs = _examples_for(graph)
    with torch.no_grad():
        want, got = model(*xs), compiled(*xs)
    want = want if isinstance(want, tuple) else (want,)
    got = got if isinstance(got, tuple) else (got,)
    for w, o in zip(want, got, strict=True):
        assert torch.equal(w, o), float((w - o).abs().max())


def _model_class(script) -> str:
    """The model class the script trains (named after the project: DigitsCnn)."""
    return re.search(r"model = (\w+)\(\)\.to\(device\)", script.read_text()).group(1)


@pytest.mark.parametrize("name", scriptable_examples())
def test_every_example_script_imports_back(name, tmp_path):
    project = engine.load_project(example_paths()[name])
    script = export_project(project, "python", tmp_path / f"{name}.py")
    target = f"{script}:{_model_class(script)}"
    torch.manual_seed(0)  # as `studio import` does, so both get the same weights
    model = load_class(script, _model_class(script))()
    xs = _examples_for(project.graph, batch=2)
    graph = import_module(model.eval(), xs[0] if len(xs) == 1 else tuple(xs))
    assert_same_graph(graph, project.graph)
    _same_outputs(model, graph)

    shapes = []
    for n in project.graph.inputs():
        shapes += ["--input-shape", ",".join(map(str, [2, *n.params["shape"]])),
                   "--input-dtype", n.params["dtype"]]
    out = tmp_path / "back.nnproj"
    assert cli_main(["import", target, *shapes, "-o", str(out)]) == 0
    back = engine.load_project(out)
    assert_same_graph(back.graph, project.graph)
    _same_outputs(model, back.graph)


# an nn.Identity is dropped on import (timm models hold dozens of them)
# (and so is a GAN's Generated marker, which is one)
_LAYER_CASES = [c for c in CASES if not c[0].startswith("io.")
                and c[0] not in ("core.Identity", "gen.Generated")]


@pytest.mark.parametrize("case", _LAYER_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(_LAYER_CASES)])
def test_every_layer_imports_back(case, tmp_path):
    layer_id, params, in_shapes = case
    graph, _ = build(layer_id, params, in_shapes)
    path = tmp_path / "layer.py"
    path.write_text(engine.generate(graph).source)
    model = load_class(path, "Model")().eval()
    xs = _examples_for(graph, batch=2)
    back = import_module(model, xs[0] if len(xs) == 1 else tuple(xs))
    assert_same_graph(back, graph)
    _same_outputs(model, back)
