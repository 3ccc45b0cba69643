import json

import pytest

from engine import Graph, GraphError, GraphEvent, ParamError, RegistryError
from engine.graph import GraphChange

from .helpers import chain, digits_cnn


def test_events_are_emitted_for_every_mutation():
    g = Graph()
    seen = []
    g.subscribe(lambda ev: seen.append(ev.kind))
    a = g.add_node("io.Input", {"shape": [4]})
    b = g.add_node("core.Linear", {"out_features": 3})
    e = g.connect(a.id, "out", b.id, "in")
    g.set_param(b.id, "out_features", 5)
    g.rename(b.id, "dense")
    g.set_position(b.id, (10, 20))
    g.set_trainable(b.id, False)
    g.disconnect(e)
    g.remove_node(b.id)
    assert seen == ["node_added", "node_added", "edge_added", "param_changed", "node_renamed",
                    "node_moved", "trainable_changed", "edge_removed", "node_removed"]
    assert all(isinstance(kind, GraphChange) for kind in seen)
    assert seen[3] is GraphChange.PARAM_CHANGED


def test_graph_events_are_typed():
    ev = GraphEvent("param_changed", "n1", name="units", old=1, new=2)
    assert ev.kind is GraphChange.PARAM_CHANGED and not ev.structural
    assert GraphEvent(GraphChange.EDGE_ADDED).structural
    with pytest.raises(ValueError, match="node_add"):
        GraphEvent("node_add")  # a misspelt kind is refused where it is made


def test_unsubscribe_stops_events():
    g = Graph()
    seen = []
    off = g.subscribe(seen.append)
    off()
    g.add_node("io.Input")
    assert seen == []


def test_remove_node_returns_node_and_edges_for_undo():
    g, (i, conv, relu, *_rest) = digits_cnn()
    before = g.to_dict()
    node, edges = g.remove_node(conv.id)
    assert {e.dst for e in edges} | {e.src for e in edges} == {i.id, conv.id, relu.id}
    g.insert_node(node)
    for e in edges:
        g.connect(e.src, e.src_port, e.dst, e.dst_port)
    after = g.to_dict()
    assert sorted(map(json.dumps, after["edges"])) == sorted(map(json.dumps, before["edges"]))


def test_connect_refuses_bad_ports_and_taken_inputs():
    g, (i, conv, *_rest) = digits_cnn()
    with pytest.raises(GraphError, match="already connected"):
        g.connect(i.id, "out", conv.id, "in")
    with pytest.raises(GraphError, match="no input port"):
        g.connect(i.id, "out", conv.id, "nope")
    with pytest.raises(GraphError, match="itself"):
        g.connect(conv.id, "out", conv.id, "in")


def test_set_param_refuses_bad_values_with_the_param_named():
    g, (_i, conv, *_rest) = digits_cnn()
    with pytest.raises(ParamError, match=r"Received: kernel_size=0"):
        g.set_param(conv.id, "kernel_size", 0)
    with pytest.raises(ParamError, match="out_channels"):
        g.set_param(conv.id, "out_channels", "many")
    assert g.nodes[conv.id].params["kernel_size"] == 3


def test_unknown_layer_type_is_a_registry_error():
    with pytest.raises(RegistryError, match="unknown layer type"):
        Graph().add_node("core.NoSuchLayer")


def test_merge_ports_follow_the_inputs_param():
    g = Graph()
    cat = g.add_node("merge.Concatenate", {"inputs": 3})
    assert cat.input_ports() == ["in1", "in2", "in3"]
    events = []
    g.subscribe(lambda ev: events.append(ev.kind))
    g.set_param(cat.id, "inputs", 2)
    assert cat.input_ports() == ["in1", "in2"]
    assert "reset" in events  # ports changed: listeners must rebuild


def test_dict_round_trip_is_identity():
    g, _ = digits_cnn()
    d = g.to_dict()
    assert Graph.from_dict(json.loads(json.dumps(d))).to_dict() == d


def test_would_create_cycle():
    g, nodes = chain([("io.Input", {"shape": [4]}), ("core.Linear", {}), ("act.ReLU", {}),
                      ("core.Linear", {})])
    assert g.would_create_cycle(nodes[3].id, nodes[1].id)
    assert not g.would_create_cycle(nodes[1].id, nodes[3].id)


def test_unique_names():
    g = Graph()
    a = g.add_node("core.Linear")
    b = g.add_node("core.Linear")
    assert a.name != b.name
    with pytest.raises(GraphError, match="already used"):
        g.rename(b.id, a.name.upper())
