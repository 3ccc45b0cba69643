"""Incremental validation (a param edit re-infers only the nodes its effect reaches) gives
the same report as validating the graph from scratch, for random graphs and random edits."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Graph, Validator, validate
from engine.layers import ParamError


def _graph(draw) -> tuple[Graph, list[str]]:
    """Input -> a random DAG of Linear / ReLU / Add / Concatenate -> Output (Add may get
    inputs of different widths: shape errors are part of what must agree)."""
    g = Graph()
    nodes = [g.add_node("io.Input", {"shape": [draw(st.integers(1, 6))]}).id]
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["core.Linear", "act.ReLU", "merge.Add",
                                     "merge.Concatenate"]))
        params = {"out_features": draw(st.integers(1, 6))} if kind == "core.Linear" else {}
        n = g.add_node(kind, params)
        for port in n.input_ports():
            src = draw(st.sampled_from(nodes))
            g.connect(src, "out", n.id, port)
        nodes.append(n.id)
    out = g.add_node("io.Output", {})
    g.connect(nodes[-1], "out", out.id, "in")
    return g, nodes


def _same(inc, full) -> None:
    assert inc.order == full.order
    assert inc.out_types == full.out_types
    assert inc.in_types == full.in_types
    assert inc.param_counts == full.param_counts
    issues = lambda r: {n: sorted(map(str, i)) for n, i in r.node_issues.items() if i}
    assert issues(inc) == issues(full)
    assert sorted(map(str, inc.graph_issues)) == sorted(map(str, full.graph_issues))


def _snapshot(report) -> dict:
    return {n: (report.out_types.get(n), report.in_types.get(n), report.param_counts.get(n),
                sorted(map(str, report.node_issues.get(n, ()))))
            for n in report.order}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_incremental_equals_full_on_random_edits(data):
    g, nodes = _graph(data.draw)
    v = Validator(g)
    _same(v.validate(), validate(g))
    for _ in range(data.draw(st.integers(1, 6))):
        nid = data.draw(st.sampled_from(nodes))
        node = g.nodes[nid]
        before = _snapshot(v.report)
        try:
            if node.type == "core.Linear":
                g.set_param(nid, "out_features", data.draw(st.integers(1, 6)))
            elif node.type == "io.Input":
                g.set_param(nid, "shape", [data.draw(st.integers(1, 6))])
            elif node.type == "act.ReLU":
                g.set_param(nid, "inplace", data.draw(st.booleans()))
            else:
                continue
        except ParamError:
            continue
        inc = v.validate()
        _same(inc, validate(g))
        after = _snapshot(inc)
        # `changed` names every node whose result differs from the previous version (None
        # after a full pass, e.g. an edit that changes a node's ports)
        if inc.changed is not None:
            assert {n for n in after if after[n] != before.get(n)} <= inc.changed
    v.close()


def test_an_edit_whose_effect_stops_reinfers_only_what_it_reaches():
    """Linear(8) -> ReLU -> Linear(4) -> Output: widening the first Linear changes the
    first two wires and the second Linear's parameter count, not the last wire."""
    g = Graph()
    ids = [g.add_node(t, p).id for t, p in [
        ("io.Input", {"shape": [3]}), ("core.Linear", {"out_features": 8}),
        ("act.ReLU", {}), ("core.Linear", {"out_features": 4}), ("io.Output", {})]]
    for a, b in zip(ids, ids[1:]):
        g.connect(a, "out", b, "in")
    v = Validator(g)
    first = v.validate()
    version = first.version
    g.set_param(ids[1], "out_features", 16)
    r = v.validate()
    assert r.version == version + 1
    assert r.changed == {ids[1], ids[2], ids[3]}   # the Output's input is still N×4
    _same(r, validate(g))
    assert v.validate().version == version + 1   # nothing new: no new version
    v.close()
