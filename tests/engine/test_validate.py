import pytest

from engine import Graph, TensorType, Validator, validate

from .helpers import chain, digits_cnn


def kinds(report):
    return sorted((i.kind, i.node_id) for i in report.issues)


def test_valid_graph_reports_shapes_and_params():
    g, (i, conv, relu, flat, fc, out) = digits_cnn()
    r = validate(g)
    assert r.ok, r.text()
    assert r.out_types[conv.id] == [TensorType((16, 8, 8))]
    assert r.out_types[flat.id] == [TensorType((1024,))]
    assert r.param_counts[conv.id] == 16 * 9 + 16
    assert r.param_counts[fc.id] == 1024 * 10 + 10
    assert r.order.index(conv.id) < r.order.index(fc.id)
    edge = g.in_edges(fc.id)[0]
    assert str(r.edge_type(edge, g)) == "N×1024"


def test_missing_flatten_names_the_linear_and_suggests_flatten():
    g, (i, conv, relu, flat, fc, out) = digits_cnn()
    g.remove_node(flat.id)
    g.connect(relu.id, "out", fc.id, "in")
    r = validate(g)
    [issue] = r.errors
    assert issue.node_id == fc.id and issue.port == "in" and issue.kind == "shape"
    assert issue.message == ("Linear 'fc1': expected input (N, 1024), received N×16×8×8: "
                             "add a Flatten before it")


def test_kernel_too_large_is_reported_at_the_conv():
    g, (i, conv, *_rest) = digits_cnn()
    g.set_param(conv.id, "padding", 0)
    g.set_param(conv.id, "kernel_size", 9)
    r = validate(g)
    [issue] = r.errors
    assert issue.node_id == conv.id
    assert "kernel_size=9" in issue.message and "N×1×8×8" in issue.message


def test_cycle_is_reported_with_its_nodes_and_never_raises():
    g2 = Graph()
    x = g2.add_node("io.Input", {"shape": [4]}, name="x")
    add = g2.add_node("merge.Add", name="add")
    fc = g2.add_node("core.Linear", {"out_features": 4}, name="fc")
    relu = g2.add_node("act.ReLU", name="relu")
    y = g2.add_node("io.Output", name="y")
    g2.connect(x.id, "out", add.id, "in1")
    g2.connect(add.id, "out", fc.id, "in")
    g2.connect(fc.id, "out", relu.id, "in")
    g2.connect(relu.id, "out", add.id, "in2")
    g2.connect(relu.id, "out", y.id, "in")
    r = validate(g2)
    cycles = [i for i in r.errors if i.kind == "cycle"]
    assert cycles and set(cycles[0].nodes) == {add.id, fc.id, relu.id}
    assert "add" in cycles[0].message and "relu" in cycles[0].message


def test_unconnected_input_port_is_named():
    g = Graph()
    x = g.add_node("io.Input", {"shape": [4]})
    cat = g.add_node("merge.Concatenate", name="cat")
    out = g.add_node("io.Output")
    g.connect(x.id, "out", cat.id, "in1")
    g.connect(cat.id, "out", out.id, "in")
    r = validate(g)
    [issue] = r.errors
    assert (issue.kind, issue.node_id, issue.port) == ("unconnected", cat.id, "in2")


def test_no_output_and_dangling_and_unreachable():
    g = Graph()
    x = g.add_node("io.Input", {"shape": [4]})
    fc = g.add_node("core.Linear", name="fc")
    g.connect(x.id, "out", fc.id, "in")
    lonely = g.add_node("act.ReLU", name="lonely")
    r = validate(g)
    assert any(i.kind == "no_output" for i in r.errors)
    assert any(i.kind == "unconnected" and i.node_id == lonely.id for i in r.errors)


def test_two_branch_concat_and_multi_output():
    g = Graph()
    x = g.add_node("io.Input", {"shape": [8]})
    a = g.add_node("core.Linear", {"out_features": 5})
    b = g.add_node("core.Linear", {"out_features": 7})
    cat = g.add_node("merge.Concatenate")
    h1 = g.add_node("core.Linear", {"out_features": 3})
    o1, o2 = g.add_node("io.Output"), g.add_node("io.Output")
    for s, d, port in [(x, a, "in"), (x, b, "in"), (a, cat, "in1"), (b, cat, "in2"),
                       (cat, h1, "in"), (h1, o1, "in"), (b, o2, "in")]:
        g.connect(s.id, "out", d.id, port)
    r = validate(g)
    assert r.ok, r.text()
    assert r.out_types[cat.id] == [TensorType((12,))]


def test_validator_incremental_equals_full_after_param_edits():
    g, (i, conv, relu, flat, fc, out) = digits_cnn()
    v = Validator(g)
    v.validate()
    for ks in (5, 9, 3, 1):
        g.set_param(conv.id, "kernel_size", ks)
        inc, full = v.validate(), validate(g)
        assert inc.out_types == full.out_types
        assert inc.param_counts == full.param_counts
        assert kinds(inc) == kinds(full)


def test_validator_structural_edit_redoes_everything():
    g, (i, conv, relu, flat, fc, out) = digits_cnn()
    v = Validator(g)
    assert v.validate().ok
    g.remove_node(flat.id)
    g.connect(relu.id, "out", fc.id, "in")
    assert not v.validate().ok
    v.close()


@pytest.mark.parametrize("dtype,ok", [("long", True), ("float", False)])
def test_embedding_needs_integer_ids(dtype, ok):
    g, _ = chain([("io.Input", {"shape": [12], "dtype": dtype}),
                  ("core.Embedding", {"num_embeddings": 50, "embedding_dim": 8}),
                  ("core.Flatten", {}), ("core.Linear", {}), ("io.Output", {})])
    assert validate(g).ok is ok
