"""Weights read on first use: validating, summarising and exporting a script read no weights;
what needs them reads them once, with the checks of an eager load."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.compile import compile_graph
from engine.project import ProjectError, load_project, save_weights
from engine.weights_lazy import FROM_FILE, LazyWeights

from .helpers import example_pair


@pytest.fixture
def trained(tmp_path):
    """digits_mlp saved with (random) weights as a pair."""
    return example_pair(tmp_path / "mlp.nnproj")


def test_lazy_weights_are_read_once_on_first_use_and_equal_an_eager_load(trained):
    eager = load_project(trained).graph.weights
    graph = load_project(trained, weights="lazy").graph
    lazy = graph.weights
    assert isinstance(lazy, LazyWeights) and lazy.source.reads == 0
    copy = graph.copy()                          # copying the graph reads nothing
    assert isinstance(copy.weights, LazyWeights) and lazy.source.reads == 0
    x = torch.randn(5, 64)
    model = compile_graph(graph).eval()          # the model needs them: read now, once
    assert lazy.source.reads == 1
    assert torch.equal(model(x), compile_graph(copy).eval()(x))  # the copy shares the read
    assert lazy.source.reads == 1
    assert set(lazy) == set(eager)
    for nid, tensors in eager.items():
        assert set(lazy[nid]) == set(tensors)
        for key, arr in tensors.items():
            np.testing.assert_array_equal(lazy[nid][key], arr)
    del copy.weights[next(iter(copy.weights))]   # each copy has its own per-node dicts
    assert len(copy.weights) == len(lazy) - 1


def test_validate_summary_and_script_export_do_not_read_the_weights(trained, tmp_path, capsys):
    """A weights file that fails only when its tensors are read (sound, but not the one the
    project names) stops only what needs the weights, with one sentence naming the file."""
    other = {nid: {k: v + 1 for k, v in t.items()} for nid, t in
             load_project(trained).graph.weights.items()}
    save_weights(trained.with_suffix(".safetensors"), other)
    with pytest.raises(ProjectError, match="does not belong"):
        load_project(trained)
    assert main(["validate", str(trained)]) == 0
    assert main(["summary", str(trained)]) == 0
    assert main(["export", str(trained), "-f", "python", "-o", str(tmp_path / "m.py")]) == 0
    assert (tmp_path / "m.py").is_file()
    capsys.readouterr()
    assert main(["export", str(trained), "-f", "onnx", "-o", str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "mlp.safetensors" in err and "does not belong" in err
    assert not (tmp_path / "m.onnx").exists()


def test_edits_around_nodes_read_nothing_and_apply_when_read(trained):
    """Removing a node, putting it back (undo), setting or clearing weights needs no tensor
    data: an editor keeps a big model unread until something runs it."""
    from engine.weights_lazy import peek_weights, restore_weights

    eager = load_project(trained).graph.weights
    graph = load_project(trained, weights="lazy").graph
    lazy = graph.weights
    a, b = list(eager)[:2]
    kept = peek_weights(lazy, a)
    graph.remove_node(a)
    graph.remove_node(b)
    assert bool(lazy) and lazy.source.reads == 0
    copy = graph.copy()                             # the copy has the same edits, unread
    graph.insert_node(load_project(trained).graph.nodes[a])
    restore_weights(lazy, a, kept)                  # undo of a's removal
    lazy["new"] = {"w": np.ones(2, np.float32)}
    assert lazy.source.reads == 0
    assert set(lazy) == (set(eager) - {b}) | {"new"} and lazy.source.reads == 1
    np.testing.assert_array_equal(lazy[a]["weight"], eager[a]["weight"])
    assert set(copy.weights) == set(eager) - {a, b}
    restore_weights(copy.weights, b, FROM_FILE)     # after the read: the file's tensors
    np.testing.assert_array_equal(copy.weights[b]["weight"], eager[b]["weight"])
    fresh = load_project(trained, weights="lazy").graph
    fresh.clear()
    assert not fresh.weights and fresh.weights.source.reads == 0
