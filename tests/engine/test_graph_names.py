"""Naming, cycle paths and parameter checks have one owner, the engine graph (the GUI's
commands and inspector call these)."""
import pytest

from engine.graph import Graph
from engine.layers import ParamError


def chain(*types):
    g = Graph()
    nodes = [g.add_node(t) for t in types]
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, "out", b.id, "in")
    return g, nodes


def test_free_names_keep_free_names_and_number_taken_ones():
    g, _ = chain("io.Input", "core.Linear", "core.Linear")
    assert [n.name for n in g.nodes.values()] == ["input", "linear", "linear1"]
    assert g.free_names(["linear", "Linear", "head (aux)", "linear", "x"]) == \
        ["linear2", "linear3", "head (aux)", "linear4", "x"]
    assert g.unique_name("Linear") == "linear2"
    assert g.unique_name("conv") == "conv"


def test_cycle_path_names_the_loop_an_edge_would_close():
    g, (i, a, b, c) = chain("io.Input", "core.Linear", "act.ReLU", "core.Linear")
    assert g.cycle_path(c.id, a.id) == [a.id, b.id, c.id, a.id]
    assert g.would_create_cycle(c.id, a.id)
    assert g.cycle_path(i.id, c.id) == [] and not g.would_create_cycle(i.id, c.id)
    assert g.cycle_path(b.id, b.id) == [b.id, b.id]


def test_checked_param_is_the_check_set_param_applies():
    g, (_i, fc, _r, _o) = chain("io.Input", "core.Linear", "act.ReLU", "io.Output")
    assert g.checked_param(fc.id, "out_features", 3.0) == 3
    with pytest.raises(ParamError, match="between 1 and 1,000,000"):
        g.checked_param(fc.id, "out_features", 0)
    drop = g.add_node("core.Dropout")
    with pytest.raises(ParamError) as err:
        g.checked_param(drop.id, "p", 1.5)
    assert str(err.value) == "p must be between 0 and 1. Received: p=1.5"
    with pytest.raises(ParamError):
        g.set_param(drop.id, "p", 1.5)
    assert drop.params["p"] == 0.5
