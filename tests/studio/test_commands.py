"""Undo commands: each edit undoes exactly (same ids, order, JSON), refused edits leave no
trace, and random edit sequences undo back to the initial document and redo to the final one."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.examples import example_path
from engine.graph import Edge, GraphError
from engine.layers import ParamError
from studio.commands import (
    AddNodeCommand,
    ConnectCommand,
    DisconnectCommand,
    MoveNodesCommand,
    RemoveNodesCommand,
    RenameCommand,
    SetParamCommand,
    SetTrainableCommand,
    align_command,
    auto_layout_command,
    insert_on_wire_command,
    nodes_to_clip,
    paste_command,
)
from studio.document import Document


@pytest.fixture
def doc(qapp):
    d = Document(autosave_ms=0)
    d.open(example_path("digits_cnn"))
    return d


def undo_all(d: Document) -> None:
    while d.undo_stack.canUndo():
        d.undo_stack.undo()


def test_add_remove_undo_restores_ids_order_and_json(doc):
    g = doc.graph
    before = doc.to_json()
    add = doc.push(AddNodeCommand(g, "core.Linear", {"out_features": 7}, (10, 20)))
    assert g.nodes[add.node_id].params["out_features"] == 7
    doc.push(RemoveNodesCommand(g, ["n3", "n8"]))
    assert "n3" not in g.nodes and not g.in_edges("n4")
    undo_all(doc)
    assert doc.to_json() == before
    assert list(g.nodes) == [f"n{i}" for i in range(1, 13)]


def test_remove_restores_weights(doc):
    g = doc.graph
    g.weights["n2"] = {"weight": [1.0, 2.0]}
    doc.push(RemoveNodesCommand(g, ["n2"]))
    assert "n2" not in g.weights
    doc.undo_stack.undo()
    assert g.weights["n2"] == {"weight": [1.0, 2.0]}


def test_refused_edits_never_reach_the_stack(doc):
    g = doc.graph
    before = doc.to_json()
    with pytest.raises(GraphError, match="already connected"):
        doc.push(ConnectCommand(g, "n1", "out", "n3", "in"))
    with pytest.raises(GraphError, match="cycle: .*relu1.*conv1"):
        doc.push(ConnectCommand(g, "n4", "out", "n2", "in"))
    with pytest.raises(ParamError):
        doc.push(SetParamCommand(g, "n2", "out_channels", -3))
    with pytest.raises(GraphError, match="already used"):
        doc.push(RenameCommand(g, "n2", "relu1"))
    assert doc.undo_stack.count() == 0
    assert doc.to_json() == before
    assert not doc.modified


def test_set_param_merges_consecutive_edits_of_the_same_param(doc):
    g = doc.graph
    for v in (8, 9, 10):
        doc.push(SetParamCommand(g, "n2", "out_channels", v))
    doc.push(SetParamCommand(g, "n2", "kernel_size", 5))
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert g.nodes["n2"].params["out_channels"] == 16
    doc.undo_stack.redo()
    assert g.nodes["n2"].params["out_channels"] == 10


def test_disconnect_rename_move_trainable_round_trip(doc):
    g = doc.graph
    before = doc.to_json()
    doc.push(DisconnectCommand(g, Edge("n4", "out", "n5", "in")))
    doc.push(RenameCommand(g, "n5", "features"))
    doc.push(MoveNodesCommand(g, {"n5": (g.nodes["n5"].pos, (1.0, 2.0))}))
    doc.push(SetTrainableCommand(g, "n5", False))
    doc.push(align_command(g, ["n1", "n5"], "top"))
    doc.push(auto_layout_command(g))
    assert g.nodes["n5"].name == "features" and not g.nodes["n5"].trainable
    undo_all(doc)
    assert doc.to_json() == before


def test_paste_gives_new_ids_names_and_internal_wires(doc):
    g = doc.graph
    clip = json.loads(json.dumps(nodes_to_clip(g, ["n2", "n3"])))
    cmd = doc.push(paste_command(g, clip))
    new = list(cmd.new_ids.values())
    assert len(g.nodes) == 14 and set(new).isdisjoint({f"n{i}" for i in range(1, 13)})
    names = [g.nodes[n].name for n in new]
    assert names == ["conv3", "relu4"]
    assert Edge(new[0], "out", new[1], "in") in g.edges
    assert g.nodes[new[0]].pos == (g.nodes["n2"].pos[0] + 40, g.nodes["n2"].pos[1] + 40)
    doc.undo_stack.undo()
    assert len(g.nodes) == 12


def test_insert_on_wire_and_refused_insert(doc):
    g = doc.graph
    edge = Edge("n7", "out", "n8", "in")
    cmd = doc.push(insert_on_wire_command(g, edge, "core.Dropout", (0, 0)))
    nid = cmd.node_id
    assert Edge("n7", "out", nid, "in") in g.edges and Edge(nid, "out", "n8", "in") in g.edges
    assert doc.report().ok
    with pytest.raises(GraphError):
        insert_on_wire_command(g, Edge(nid, "out", "n8", "in"), "io.Input")
    undo_all(doc)
    assert edge in g.edges and nid not in g.nodes


# -- property test ----------------------------------------------------------------------------

LAYERS = ["core.Linear", "act.ReLU", "core.Dropout", "merge.Add", "core.Flatten"]


def _random_command(data, g):
    ids = list(g.nodes)
    kind = data.draw(st.sampled_from(["add", "remove", "connect", "disconnect", "param",
                                      "rename", "move", "trainable", "paste", "insert"]))
    def pick() -> str:
        return data.draw(st.sampled_from(ids))

    if kind == "add":
        return AddNodeCommand(g, data.draw(st.sampled_from(LAYERS)), {},
                              (data.draw(st.integers(-500, 500)), 0))
    if not ids:
        return None
    if kind == "remove":
        return RemoveNodesCommand(g, data.draw(st.lists(st.sampled_from(ids), min_size=1,
                                                        max_size=3)))
    if kind == "connect":
        s, d = g.nodes[pick()], g.nodes[pick()]
        if not s.output_ports() or not d.input_ports():
            return None
        return ConnectCommand(g, s.id, s.output_ports()[0], d.id,
                              data.draw(st.sampled_from(d.input_ports())))
    if kind == "disconnect":
        return DisconnectCommand(g, data.draw(st.sampled_from(g.edges))) if g.edges else None
    if kind == "param":
        linear = [n for n in ids if g.nodes[n].type == "core.Linear"]
        merges = [n for n in ids if g.nodes[n].type == "merge.Add"]
        if merges and data.draw(st.booleans()):
            return SetParamCommand(g, data.draw(st.sampled_from(merges)), "inputs",
                                   data.draw(st.integers(2, 4)))
        if linear:
            return SetParamCommand(g, data.draw(st.sampled_from(linear)), "out_features",
                                   data.draw(st.integers(-2, 40)))
        return None
    if kind == "rename":
        return RenameCommand(g, pick(), data.draw(st.sampled_from(["a", "b", "fc1", "x y"])))
    if kind == "move":
        nid = pick()
        return MoveNodesCommand(g, {nid: (g.nodes[nid].pos, (data.draw(st.integers(0, 99)),
                                                             5.0))})
    if kind == "trainable":
        return SetTrainableCommand(g, pick(), data.draw(st.booleans()))
    if kind == "paste":
        return paste_command(g, nodes_to_clip(g, data.draw(st.lists(st.sampled_from(ids),
                                                                   max_size=3))))
    if not g.edges:
        return None
    return insert_on_wire_command(g, data.draw(st.sampled_from(g.edges)),
                                  data.draw(st.sampled_from(LAYERS[:3])), (0, 0))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_edits_undo_to_initial_and_redo_to_final(qapp, data):
    doc = Document(autosave_ms=0)
    doc.open(example_path("digits_mlp"))
    g = doc.graph
    initial = doc.project.to_dict()
    for _ in range(data.draw(st.integers(1, 12))):
        try:
            cmd = _random_command(data, g)
            if cmd is not None:
                doc.push(cmd)
        except (GraphError, ParamError):
            pass  # a refused edit must leave the document as it was (checked below)
    final = doc.project.to_dict()
    final_json = doc.to_json()
    undo_all(doc)
    assert doc.project.to_dict() == initial
    while doc.undo_stack.canRedo():
        doc.undo_stack.redo()
    assert doc.project.to_dict() == final
    assert doc.to_json() == final_json
