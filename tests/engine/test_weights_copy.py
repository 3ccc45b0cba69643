"""Save As of a lazily opened project whose weights were never read or edited copies the
weights file's bytes (engine.weights_file._copied_pair): the copy is byte-identical, opens,
is what the lazy weights read from then on, and a file that no longer matches the project
is never copied."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.compile import compile_graph, node_state
from engine.examples import copy_example
from engine.project import ProjectError, load_project, save_project, save_weights


@pytest.fixture
def saved(tmp_path):
    path = copy_example("digits_mlp", tmp_path / "a" / "mlp.nnproj")
    project = load_project(path)
    torch.manual_seed(2)
    project.graph.weights = node_state(compile_graph(project.graph, load_weights=False))
    save_project(project, path)
    return path


def same(a, b) -> None:
    assert set(a) == set(b)
    for nid in b:
        for key in b[nid]:
            np.testing.assert_array_equal(np.asarray(a[nid][key]), np.asarray(b[nid][key]))


def test_save_as_copies_the_untouched_weights_file_byte_for_byte(saved, tmp_path):
    project = load_project(saved, weights="lazy")
    weights = project.graph.weights
    target = tmp_path / "b" / "copy.nnproj"
    target.parent.mkdir()
    save_project(project, target)
    assert weights.source.reads == 0 and weights.untouched
    original = saved.with_suffix(".safetensors")
    assert target.with_suffix(".safetensors").read_bytes() == original.read_bytes()
    same(load_project(target).graph.weights, load_project(saved).graph.weights)
    assert not list(target.parent.glob(".*"))   # no temp or pending file left
    eager = load_project(saved).graph.weights
    original.unlink()                 # the lazy weights now read the copy
    same(weights, eager)
    assert weights.source.reads == 1


def test_a_file_changed_since_the_open_is_not_copied(saved, tmp_path):
    project = load_project(saved, weights="lazy")
    wfile = saved.with_suffix(".safetensors")
    other = {nid: {k: v + 1 for k, v in t.items()}
             for nid, t in load_project(saved).graph.weights.items()}
    save_weights(wfile, other)        # replaced outside Studio: a valid file, not this one's
    target = tmp_path / "b" / "copy.nnproj"
    target.parent.mkdir()
    with pytest.raises(ProjectError, match="does not belong to the project"):
        save_project(project, target)
    assert list(target.parent.iterdir()) == []   # nothing written


def test_edited_weights_are_encoded_not_copied(saved, tmp_path):
    project = load_project(saved, weights="lazy")
    weights = project.graph.weights
    eager = load_project(saved).graph.weights
    nid = next(iter(eager))
    weights[nid] = {k: v * 0 for k, v in eager[nid].items()}
    target = tmp_path / "copy.nnproj"
    save_project(project, target)
    same(load_project(target).graph.weights, {**eager, nid: weights[nid]})
