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


def _random_edit(data, g, nodes) -> None:
    nid = data.draw(st.sampled_from(nodes))
    node = g.nodes[nid]
    try:
        if node.type == "core.Linear":
            g.set_param(nid, "out_features", data.draw(st.integers(1, 6)))
        elif node.type == "io.Input":
            g.set_param(nid, "shape", [data.draw(st.integers(1, 6))])
    except ParamError:
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_walk_done_in_steps_equals_full_and_names_every_change(data):
    """validate(limit=k) leaves the rest of an edit's walk to later calls, and edits made
    meanwhile join it: once `complete`, the report equals a full validation, and the
    `changed` sets of the steps together name every node whose result differs."""
    g, nodes = _graph(data.draw)
    v = Validator(g)
    v.validate()
    for _ in range(data.draw(st.integers(1, 4))):
        before = _snapshot(v.report)
        named: set[str] | None = set()
        _random_edit(data, g, nodes)
        while True:
            r = v.validate(limit=data.draw(st.integers(1, 3)))
            named = None if named is None or r.changed is None else named | r.changed
            if r.complete:
                break
            if data.draw(st.booleans()):
                _random_edit(data, g, nodes)   # an edit while the walk is under way
        _same(r, validate(g))
        if named is not None:
            after = _snapshot(r)
            assert {n for n in after if after[n] != before.get(n)} <= named
    v.close()


def test_a_limited_step_leaves_the_far_nodes_for_later():
    """Input -> Linear -> 11 ReLUs -> Output. Widening the Linear changes all 13 nodes after
    the Input: 3 at a time that takes 5 calls, `complete` only on the last, each node named
    once. Changing the Input's width changes it and the Linear's parameter count: one call."""
    g = Graph()
    ids = [g.add_node("io.Input", {"shape": [3]}).id,
           g.add_node("core.Linear", {"out_features": 4}).id]
    ids += [g.add_node("act.ReLU", {}).id for _ in range(11)]
    ids.append(g.add_node("io.Output", {}).id)
    for a, b in zip(ids, ids[1:]):
        g.connect(a, "out", b, "in")
    v = Validator(g)
    v.validate()

    def steps() -> list[set[str]]:
        out = []
        while True:
            r = v.validate(limit=3)
            out.append(set(r.changed))
            if r.complete:
                _same(r, validate(g))
                return out

    g.set_param(ids[1], "out_features", 7)
    done = steps()
    assert [len(s) for s in done] == [3, 3, 3, 3, 1]
    assert set().union(*done) == set(ids[1:])
    g.set_param(ids[0], "shape", [5])
    assert steps() == [{ids[0], ids[1]}]
    v.close()


def test_a_step_goes_past_its_limit_to_the_needed_nodes():
    """`needed` (the nodes in view) are up to date after the call, whatever the limit."""
    g = Graph()
    ids = [g.add_node("io.Input", {"shape": [3]}).id,
           g.add_node("core.Linear", {"out_features": 4}).id]
    ids += [g.add_node("act.ReLU", {}).id for _ in range(11)]
    ids.append(g.add_node("io.Output", {}).id)
    for a, b in zip(ids, ids[1:]):
        g.connect(a, "out", b, "in")
    v = Validator(g)
    v.validate()
    g.set_param(ids[1], "out_features", 7)
    r = v.validate(limit=3, needed={ids[8]})
    assert not r.complete and ids[8] in r.changed and ids[9] not in r.changed
    assert r.out_types[ids[8]] == validate(g).out_types[ids[8]]
    while not v.validate(limit=3).complete:
        pass
    _same(v.report, validate(g))
    v.close()
