"""Random edit sequences over the graph document (hypothesis state machines).

`EngineEditor` edits an engine `Graph` directly and keeps its own undo log of inverse
operations; `CommandEditor` (in test_editor_invariants.py) makes the same edits through the
GUI's QUndoCommands on a QUndoStack. After every step both check that the document serializes,
that validate() does not raise, and that the incremental Validator agrees with a fresh
validate(); at the end, undoing everything must give back the starting document.
"""
from __future__ import annotations

import json
import math

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import engine
from engine.examples import example_paths
from engine.graph import Graph, GraphError
from engine.layers import ParamError
from engine.project import load_project
from engine.validate import Validator, validate

LAYER_IDS = sorted(engine.REGISTRY)
# Drawn as often as all the others together: the boundary, a plain layer and the multi-input ones.
COMMON = [i for i in ("io.Input", "io.Output", "core.Linear", "merge.Add",
                      "merge.Concatenate") if i in engine.REGISTRY]
LAYERS = st.one_of(st.sampled_from(LAYER_IDS), st.sampled_from(COMMON))
MAX_NODES = 14

# Per param kind: values a user (or a buggy widget) could type, valid and invalid.
VALUES = {
    "int": [-1, 0, 1, 2, 3, 4, 8, 33, 2.0, 1.5, "x", None, True, 10**12],
    "float": [0.0, 0.5, 1.0, -1.0, 2, 1e9, math.nan, math.inf, "x", None],
    "bool": [True, False, 0, "true", None],
    "choice": ["nope", 0, None],
    "ints": [0, 1, 2, 3, -1, [1, 2], [2, 2], [2, 2, 2], [3, 3, 3], "same", "valid", [], "x"],
    "shape": [[4], [2, 3], [1, 8, 8], [3, 4, 4, 4], [16], [], [0], [-1], "4", None],
    "str": ["", "a", "mean", "x" * 300, 5],
}
NAMES = ["fc", "FC", "conv", "x", "y", "relu", "", "  ", "a b", "class", "1st", "é", "n1", "a\nb",
         "out", "x" * 100]
POSITIONS = [0.0, 10.5, -300.0, 1e6, 1e9, 2e9, -2e9, math.inf, math.nan]


def param_values(spec) -> st.SearchStrategy:
    """(name, value) pairs for a spec: its params (and an unknown name) with pool values."""
    names = [p.name for p in spec.params] + ["no_such_param"]

    def values_for(name):
        for p in spec.params:
            if p.name == name:
                pool = VALUES[p.kind] + [p.default] + list(p.choices)
                return st.sampled_from(pool)
        return st.sampled_from([1, "x"])

    return st.sampled_from(names).flatmap(lambda n: st.tuples(st.just(n), values_for(n)))


def _changes_ports(node, param, value) -> bool:
    """Would setting `param` to `value` (if valid) change the node's ports?"""
    try:
        new = {**node.params, param.name: param.coerce(value)}
        return (node.spec.input_ports(new), node.spec.output_ports(new)) != \
            (node.input_ports(), node.output_ports())
    except Exception:  # noqa: BLE001  (an invalid candidate changes nothing)
        return False


def starting_graph(name: str | None) -> Graph:
    if name is None:
        return Graph()
    return load_project(example_paths()[name], weights=False).graph


def canonical(graph: Graph) -> dict:
    """The document independent of node/edge order (engine-level undo re-appends)."""
    d = graph.to_dict()
    return {"nodes": sorted(d["nodes"], key=lambda n: n["id"]),
            "edges": sorted(d["edges"], key=lambda e: json.dumps(e, sort_keys=True))}


def issue_set(report) -> set:
    return {(i.kind, i.node_id, i.port) for i in report.issues}


class EditorBase(RuleBasedStateMachine):
    """Rules draw indices into the current node/edge lists; subclasses perform the edits."""

    exact_undo = False  # do undos restore node/edge order too (the GUI commands do)?

    def __init__(self):
        super().__init__()
        self.graph = Graph()
        self.validator: Validator | None = None
        self.start: dict = {}
        self.edits = 0
        self.refused = 0

    # subclass hooks: each applies one edit or raises GraphError/ParamError, leaving no trace
    def _setup(self) -> None: ...
    def do_add(self, layer_type, params, pos): ...
    def do_remove(self, node_id): ...
    def do_connect(self, src, sp, dst, dp): ...
    def do_disconnect(self, edge): ...
    def do_set_param(self, node_id, name, value): ...
    def do_rename(self, node_id, name): ...
    def do_move(self, node_id, pos): ...
    def do_trainable(self, node_id, value): ...
    def undo_all(self) -> None: ...

    def _try(self, fn, *args) -> None:
        before = self.graph.to_dict()
        try:
            fn(*args)
            self.edits += 1
        except (GraphError, ParamError):
            self.refused += 1
            assert self.graph.to_dict() == before, "a refused edit changed the document"

    def _node(self, i: int) -> str | None:
        ids = list(self.graph.nodes)
        return ids[i % len(ids)] if ids else None

    @initialize(example=st.sampled_from([None, *sorted(example_paths())]))
    def load(self, example):
        self.graph = starting_graph(example)
        self.validator = Validator(self.graph)
        self.start = self.graph.to_dict()
        self._setup()

    # rules -----------------------------------------------------------------------------------
    @precondition(lambda self: len(self.graph.nodes) < MAX_NODES)
    @rule(layer=LAYERS, data=st.data(),
          pos=st.tuples(st.sampled_from(POSITIONS), st.sampled_from(POSITIONS[:4])))
    def add(self, layer, data, pos):
        spec = engine.get_spec(layer)
        params = dict(data.draw(st.lists(param_values(spec), max_size=2)))
        if data.draw(st.booleans()):
            params = {}
        self._try(self.do_add, layer, params, pos)

    @precondition(lambda self: self.graph.nodes)
    @rule(i=st.integers(0, 99))
    def remove(self, i):
        self._try(self.do_remove, self._node(i))

    @precondition(lambda self: len(self.graph.nodes) > 1)
    @rule(i=st.integers(0, 999), j=st.integers(0, 999), wrong=st.integers(0, 9))
    def connect(self, i, j, wrong):
        """Mostly an output to a free input (cycles allowed); sometimes a bad port."""
        g = self.graph
        outs = [(n.id, p) for n in g.nodes.values() for p in n.output_ports()]
        free = [(n.id, p) for n in g.nodes.values() for p in n.input_ports()
                if g.edge_into(n.id, p) is None]
        if not outs or not free or wrong == 0:
            src, dst = self._node(i), self._node(j)
            self._try(self.do_connect, src, "out", dst, "in9")
            return
        (src, sp), (dst, dp) = outs[i % len(outs)], free[j % len(free)]
        self._try(self.do_connect, src, sp, dst, dp)

    @precondition(lambda self: self.graph.edges)
    @rule(i=st.integers(0, 99))
    def disconnect(self, i):
        self._try(self.do_disconnect, self.graph.edges[i % len(self.graph.edges)])

    @precondition(lambda self: self.graph.nodes)
    @rule(i=st.integers(0, 99), data=st.data())
    def set_param(self, i, data):
        nid = self._node(i)
        name, value = data.draw(param_values(self.graph.nodes[nid].spec))
        self._try(self.do_set_param, nid, name, value)

    @precondition(lambda self: self.graph.nodes)
    @rule(k=st.integers(0, 999))
    def set_port_param(self, k):
        """Change a param that adds or removes ports (e.g. a merge's number of inputs), so
        that wires on vanishing ports are exercised."""
        options = [(node.id, p.name, v) for node in self.graph.nodes.values()
                   for p in node.spec.params for v in VALUES[p.kind] + list(p.choices)
                   if _changes_ports(node, p, v)]
        if options:
            self._try(self.do_set_param, *options[k % len(options)])

    @precondition(lambda self: self.graph.nodes)
    @rule(i=st.integers(0, 99), name=st.sampled_from(NAMES))
    def rename(self, i, name):
        self._try(self.do_rename, self._node(i), name)

    @precondition(lambda self: self.graph.nodes)
    @rule(i=st.integers(0, 99), x=st.sampled_from(POSITIONS), y=st.sampled_from(POSITIONS))
    def move(self, i, x, y):
        self._try(self.do_move, self._node(i), (x, y))

    @precondition(lambda self: self.graph.nodes)
    @rule(i=st.integers(0, 99), value=st.booleans())
    def trainable(self, i, value):
        self._try(self.do_trainable, self._node(i), value)

    # invariants --------------------------------------------------------------------------------
    @invariant()
    def document_serializes(self):
        d = self.graph.to_dict()
        text = json.dumps(d, allow_nan=False)  # a NaN position would make an unreadable file
        assert Graph.from_dict(json.loads(text)).to_dict() == d

    @invariant()
    def incremental_validation_matches_fresh(self):
        if self.validator is None:
            return
        fresh = validate(self.graph)
        inc = self.validator.validate()
        assert inc.out_types == fresh.out_types
        assert inc.param_counts == fresh.param_counts
        assert issue_set(inc) == issue_set(fresh)

    def teardown(self):
        if self.validator is None:
            return
        self.undo_all()
        if self.exact_undo:
            assert self.graph.to_dict() == self.start
        else:
            assert canonical(self.graph) == canonical(Graph.from_dict(self.start))
        assert issue_set(self.validator.validate()) == issue_set(validate(self.graph))
        self.validator.close()


class EngineEditor(EditorBase):
    """Edits through the engine Graph API; the undo log holds inverse operations."""

    def _setup(self):
        self.log: list = []

    def do_add(self, layer_type, params, pos):
        node = self.graph.add_node(layer_type, params, pos=pos)
        self.log.append(lambda: self.graph.remove_node(node.id))

    def do_remove(self, node_id):
        node, edges = self.graph.remove_node(node_id)

        def undo():
            self.graph.insert_node(node)
            for e in edges:
                self.graph.connect(e.src, e.src_port, e.dst, e.dst_port)
        self.log.append(undo)

    def do_connect(self, src, sp, dst, dp):
        edge = self.graph.connect(src, sp, dst, dp)
        self.log.append(lambda: self.graph.disconnect(edge))

    def do_disconnect(self, edge):
        self.graph.disconnect(edge)
        self.log.append(lambda: self.graph.connect(edge.src, edge.src_port, edge.dst,
                                                   edge.dst_port))

    def do_set_param(self, node_id, name, value):
        old = self.graph.nodes[node_id].params.get(name)
        self.graph.set_param(node_id, name, value)
        self.log.append(lambda: self.graph.set_param(node_id, name, old))

    def do_rename(self, node_id, name):
        old = self.graph.nodes[node_id].name
        self.graph.rename(node_id, name)
        self.log.append(lambda: self.graph.rename(node_id, old))

    def do_move(self, node_id, pos):
        old = self.graph.nodes[node_id].pos
        self.graph.set_position(node_id, pos)
        self.log.append(lambda: self.graph.set_position(node_id, old))

    def do_trainable(self, node_id, value):
        old = self.graph.nodes[node_id].trainable
        self.graph.set_trainable(node_id, value)
        self.log.append(lambda: self.graph.set_trainable(node_id, old))

    def undo_all(self):
        while self.log:
            self.log.pop()()
