"""Validation: networkx structure checks plus shape inference in topological order.

`validate(graph)` never raises on a bad graph; it returns a `Report` whose issues name the node,
the port and the cause. `Validator` keeps a report up to date from the graph's change events and
re-infers only downstream of a parameter edit.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .argexpr import ExprError, evaluate
from .graph import BLOCK_PREFIX, Edge, Graph, GraphEvent, Node
from .guard.text import quote
from .layers import ParamError, ShapeError, TensorType
from .report import Fix, Issue, Report, label

if TYPE_CHECKING:
    import networkx as nx
else:
    class _LazyNetworkx:
        """networkx, imported at its first use: not before the app's first window paints
        (its import is ~0.2 s of start-up), nor for an empty document."""

        def __getattr__(self, name: str):
            import networkx

            return getattr(networkx, name)

    nx = _LazyNetworkx()


class BlockError(ShapeError):
    """A problem inside a block instance: `path` says where ("[1]/conv2"), `detail` what."""

    def __init__(self, path: str, detail: str, port: str | None = None):
        super().__init__(f"{path}: {detail}", port)
        self.path, self.detail = path, detail


#: an extra check run after every validation: (graph, report) -> issues (engine.fit.DataFit)
Check = Callable[[Graph, Report], list[Issue]]
CHECK_KIND = "data"


class Validator:
    """Keeps a Report in sync with a Graph. Structural edits redo everything; a param edit
    re-infers only the edited node and its descendants. `checks` run after each validation
    that changed something (or after `recheck()`); their issues have kind "data"."""

    def __init__(self, graph: Graph, listen: bool = True,
                 inputs: list[TensorType] | None = None, args: dict | None = None,
                 checks: Iterable[Check] = ()):
        """`inputs` and `args` validate the body of a block type as one instance sees it:
        the types arriving at its Input nodes (in order) and the block's argument values."""
        self.graph = graph
        self.inputs = inputs
        self.args = args if args is not None or graph.owner is None else \
            graph.owner.default_args()
        self.checks = list(checks)
        self._recheck = True
        self._dg: nx.DiGraph | None = None
        self._edge_in: dict[tuple[str, str], Edge] = {}
        self._index: dict[str, int] = {}   # node id -> its position in report.order
        self._ports: dict[str, tuple[list[str], list[str]]] = {}
        self.report = Report()
        self._dirty = True
        self._pending: set[str] = set()
        self._walk: _Walk | None = None   # a param edit's walk not finished yet
        self._checked_before: set[str] = set()
        #: per node, its last results (input types, output types, parameter count) with its
        #: current params: an undo brings a node's inputs back to what they were, and its
        #: result comes from here instead of being inferred again
        self._memo: dict[str, list[tuple[tuple, list, int]]] = {}
        self._unsubscribe = graph.subscribe(self._on_event) if listen else None

    def close(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()

    def _on_event(self, ev: GraphEvent) -> None:
        if ev.structural or ev.kind == "node_renamed":
            self._dirty = True
        elif ev.kind == "param_changed" and ev.node_id:
            self._pending.add(ev.node_id)
        elif ev.kind == "block_changed" and ev.name:
            types = {BLOCK_PREFIX + t for t in self.graph.containers_of(ev.name)}
            self._pending.update(nid for nid, n in self.graph.nodes.items() if n.type in types)

    def recheck(self) -> None:
        """Run the checks again at the next `validate()` (what they look at changed)."""
        self._recheck = True

    def validate(self, limit: int | None = None, needed: Iterable[str] = ()) -> Report:
        """The up-to-date report (recomputed only as far as the edits since last time need).

        `limit`: re-infer at most this many nodes of a param edit's walk down the graph now
        and leave the rest to the next calls (`report.complete` is False until a call
        finishes it; the checks run then); the walk goes on past `limit` until the `needed`
        nodes (e.g. those in view) are up to date. Each call that does something bumps
        `report.version` and names in `report.changed` the nodes whose result it changed."""
        if not (self._dirty or self._pending or self._recheck or self._walk):
            return self.report
        version = self.report.version + 1
        if self._walk is None:
            self._checked_before = self._checked_nodes()
        if self._dirty:
            self._walk = None
            self._full()
            changed = None
        elif self._pending or self._walk:
            changed = self._partial(self._pending, limit, needed)
        else:
            changed = set()
        self._pending = set()
        r = self.report
        r.version, r.complete = version, self._walk is None
        if r.complete:
            _check_size(r)
            self._recheck = False
            self._run_checks()
            if changed is not None:
                changed |= self._checked_before | self._checked_nodes()
        r.changed = changed
        return r

    def _checked_nodes(self) -> set[str]:
        """Nodes with an issue from `checks` (these are redone after every validation)."""
        return {nid for nid, issues in self.report.node_issues.items()
                if any(i.kind == CHECK_KIND for i in issues)}

    def _run_checks(self) -> None:
        r = self.report
        for nid in [n for n, issues in r.node_issues.items()
                    if any(i.kind == CHECK_KIND for i in issues)]:
            kept = [i for i in r.node_issues[nid] if i.kind != CHECK_KIND]
            if kept:
                r.node_issues[nid] = kept
            else:
                del r.node_issues[nid]
        r.graph_issues = [i for i in r.graph_issues if i.kind != CHECK_KIND]
        if any(i.kind == "size" and i.severity == "error" for i in r.graph_issues):
            return   # a model too big for this computer: fitting its data is beside the point
        for check in self.checks:
            try:
                issues = check(self.graph, r)
            except Exception as exc:  # noqa: BLE001 - a failing check must not break editing
                issues = [Issue(CHECK_KIND, f"checking the model against its data failed "
                                f"({type(exc).__name__}: {exc})", severity="warning")]
            for issue in issues:
                if issue.node_id is None:
                    r.graph_issues.append(issue)
                else:
                    self._add(r, issue)

    # full pass ---------------------------------------------------------------------------
    def _full(self) -> None:
        g = self.graph
        self._dirty = False
        self._memo.clear()
        self.report = r = Report(args=self.args)
        if not g.nodes:   # a new document: nothing to sort
            self._edge_in, self._ports, self._dg, self._index = {}, {}, None, {}
            self._check_reachability(None, r, set())
            return
        dg = nx.DiGraph()
        dg.add_nodes_from(g.nodes)
        dg.add_edges_from((e.src, e.dst) for e in g.edges)
        self._edge_in = {(e.dst, e.dst_port): e for e in g.edges}
        self._ports = {nid: (n.input_ports(), n.output_ports()) for nid, n in g.nodes.items()}
        self._dg = dg
        try:
            r.order = list(nx.topological_sort(dg))
            blocked: set[str] = set()
        except nx.NetworkXUnfeasible:
            blocked = self._check_cycles(dg, r)
            acyclic = dg.copy()
            acyclic.remove_nodes_from(blocked)
            r.order = list(nx.topological_sort(acyclic))
        self._index = {nid: i for i, nid in enumerate(r.order)}
        self._check_ports(r)
        for nid in r.order:
            self._infer(nid)
        self._check_reachability(dg, r, blocked)

    def _check_cycles(self, dg: nx.DiGraph, r: Report) -> set[str]:
        blocked: set[str] = set()
        for scc in nx.strongly_connected_components(dg):
            if len(scc) < 2:
                continue
            members = [n for n in self.graph.nodes if n in scc]
            names = " → ".join(self.graph.nodes[n].name for n in members)
            issue = Issue("cycle", f"cycle through {names}: a feed-forward model cannot feed "
                          "a layer's output back into itself", members[0], nodes=tuple(members))
            for n in members:
                r.node_issues.setdefault(n, []).append(issue)
            blocked |= scc
        for n in list(blocked):
            blocked |= nx.descendants(dg, n)
        return blocked

    def _check_ports(self, r: Report) -> None:
        g = self.graph
        for e in g.edges:
            if e.src_port not in self._ports[e.src][1]:
                self._add(r, Issue("port", f"{label(g.nodes[e.src])} has no output "
                                   f"{quote(e.src_port)} any more", e.src, e.src_port))
            if e.dst_port not in self._ports[e.dst][0]:
                self._add(r, Issue("port", f"{label(g.nodes[e.dst])} has no input "
                                   f"{quote(e.dst_port)} any more: its wire is ignored",
                                   e.dst, e.dst_port))

    def _check_reachability(self, dg: nx.DiGraph | None, r: Report, blocked: set[str]) -> None:
        g = self.graph
        inputs = [n.id for n in g.inputs()]
        outputs = [n.id for n in g.outputs()]
        if not inputs:
            r.graph_issues.append(Issue("no_input", f"the {self._what()} has no Input node"))
        if not outputs:
            r.graph_issues.append(Issue("no_output", f"the {self._what()} has no Output node: "
                                        "add one after the last layer"))
        reached = set(inputs)
        for i in inputs:
            reached |= nx.descendants(dg, i)
        feeds_output = set(outputs)
        for o in outputs:
            feeds_output |= nx.ancestors(dg, o)
        for nid, node in g.nodes.items():
            role = node.spec.role
            if nid in blocked or role == "input":
                if role == "input" and outputs and nid not in feeds_output:
                    self._add(r, Issue("dangling", f"{label(node)} feeds no Output",
                                       nid, severity="warning"))
                continue
            if nid not in reached and not r.node_issues.get(nid):
                self._add(r, Issue("unreachable", f"{label(node)} is not reachable from any "
                                   "Input", nid))
            elif nid not in feeds_output and role != "output":
                self._add(r, Issue("dangling", f"{label(node)}: its output is not used by "
                                   "any Output", nid, severity="warning"))

    def _what(self) -> str:
        return "model" if self.graph.owner is None else f"block {self.graph.owner.name!r}"

    # inference --------------------------------------------------------------------------
    def _infer(self, nid: str) -> None:
        r, g = self.report, self.graph
        node = g.nodes[nid]
        r.out_types.pop(nid, None)
        r.in_types.pop(nid, None)
        r.param_counts.pop(nid, None)
        ins: list[TensorType] = []
        for port in self._ports[nid][0]:
            e = self._edge_in.get((nid, port))
            if e is None:
                self._add(r, Issue("unconnected", f"{label(node)}: input {port!r} is not "
                                   "connected", nid, port,
                                   cause=f"input {port!r} is not connected"))
                return
            src_types = r.out_types.get(e.src)
            src_ports = self._ports[e.src][1]
            if not src_types or e.src_port not in src_ports:
                return  # the upstream node already reports why
            ins.append(src_types[src_ports.index(e.src_port)])
        key = tuple(ins)
        for seen, outs, count in self._memo.get(nid, ()) if ins else ():
            if seen == key:
                r.in_types[nid], r.out_types[nid], r.param_counts[nid] = ins, outs, count
                return
        spec = node.spec
        try:
            params = effective_params(node, self.args)
        except (ParamError, ExprError) as exc:
            self._add(r, Issue("param", f"{label(node)}: {exc}", nid, cause=str(exc)))
            return
        try:
            if spec.role == "input" and self.inputs is not None:
                outs = self._given_input(node)
            else:
                outs = spec.infer(params, ins)
            count = spec.param_count(params, ins)
        except BlockError as exc:
            self._add(r, Issue("shape", f"{node.name}{exc.path}: {exc.detail}", nid, exc.port,
                               path=exc.path, cause=exc.detail))
            return
        except ShapeError as exc:
            self._add(r, Issue("shape", f"{label(node)}: {exc}", nid, exc.port,
                               cause=str(exc)))
            return
        except Exception as exc:  # a spec bug must not break validation
            self._add(r, Issue("internal", f"{label(node)}: shape inference failed "
                               f"({type(exc).__name__}: {exc})", nid))
            return
        r.in_types[nid] = ins
        r.out_types[nid] = outs
        r.param_counts[nid] = count
        if ins:
            last = self._memo.get(nid)
            self._memo[nid] = [(key, outs, count)] + [m for m in last or () if m[0] != key][:1]

    def _given_input(self, node: Node) -> list[TensorType]:
        index = [n.id for n in self.graph.inputs()].index(node.id)
        if index >= len(self.inputs):
            raise ShapeError(f"input {node.name!r} of the block receives nothing")
        return [self.inputs[index]]

    #: issue kinds that do not depend on params (a param edit keeps them as they were)
    STRUCTURAL = ("cycle", "port", "unreachable", "dangling")

    def _partial(self, edited: set[str], limit: int | None = None,
                 needed: Iterable[str] = ()) -> set[str] | None:
        """Re-infer the edited nodes, then (in topological order) only the nodes fed by a
        node whose result changed: an edit whose effect stops after a few layers costs a
        few layers, not the rest of the graph. With `limit`, stop after re-inferring that
        many nodes (the walk goes on at the next call; new edits join it). Returns the
        nodes whose types, parameter count or issues changed (None after a full pass)."""
        if self._dg is None:   # an empty graph's: nothing is downstream of anything yet
            self._walk = None
            self._full()
            return None
        r = self.report
        walk = self._walk or _Walk(len(r.order))
        index = self._index
        if edited:
            starts = [index[n] for n in edited if n in index]
            walk.edited |= edited
            walk.pos = min([walk.pos, *starts])
            walk.reach = max([walk.reach, *starts])
        changed: set[str] = set()
        walk_changed, walk_edited = walk.changed, walk.edited
        edge_in, ports, order, succ = self._edge_in, self._ports, r.order, self._dg.succ
        structural = self.STRUCTURAL
        budget = len(order) if limit is None else max(1, limit)
        need = max((index[n] for n in needed if n in index), default=-1)
        pos = walk.pos
        while pos <= walk.reach and (budget > 0 or pos <= need):
            nid = order[pos]
            pos += 1
            if nid not in walk_edited:
                for port in ports[nid][0]:   # fed by a changed node?
                    e = edge_in.get((nid, port))
                    if e is not None and e.src in walk_changed:
                        break
                else:
                    continue
            else:
                self._memo.pop(nid, None)   # its params changed
            budget -= 1
            before = self._result(nid)
            if before[3]:
                kept = [i for i in before[3] if i.kind in structural]
                if kept:
                    r.node_issues[nid] = kept
                else:
                    del r.node_issues[nid]
            else:
                r.node_issues.pop(nid, None)
            self._infer(nid)
            if self._result(nid) != before:
                changed.add(nid)
                walk_changed.add(nid)
                walk.reach = max([walk.reach, *(index[n] for n in succ[nid] if n in index)])
        walk.pos = pos
        self._walk = walk if pos <= walk.reach else None
        return changed

    def _result(self, nid: str) -> tuple:
        r = self.report
        return (r.out_types.get(nid), r.in_types.get(nid), r.param_counts.get(nid),
                list(r.node_issues.get(nid, ())))

    @staticmethod
    def _add(r: Report, issue: Issue) -> None:
        r.node_issues.setdefault(issue.node_id, []).append(issue)


class _Walk:
    """Where a param edit's walk down the topological order is: the next position, the
    last position it must reach (the furthest edited node or successor of a changed one),
    the edited nodes and the nodes whose result changed so far (their successors are
    redone)."""

    def __init__(self, pos: int):
        self.pos = pos
        self.reach = -1
        self.edited: set[str] = set()
        self.changed: set[str] = set()


def effective_params(node: Node, args: dict | None) -> dict:
    """A node's params with its argument expressions (inside a block type) computed from
    `args`; ParamError/ExprError when one cannot be computed or is refused by the layer."""
    if not node.exprs:
        return node.params
    if args is None:
        raise ExprError("refers to block arguments but is not inside a block")
    spec = node.spec
    params = dict(node.params)
    for name, expr in node.exprs.items():
        value = evaluate(expr, args)
        try:
            params[name] = spec.param(name).coerce(value)
        except ParamError as exc:
            raise ParamError(f"{name} = {expr} = {value!r}: {exc}") from None
    spec.check_params(params)
    return params


def _check_size(r: Report) -> None:
    """A model whose weights do not fit in this computer's memory is an error (training or
    exporting it would try to allocate them); one that fits but not with its training state
    (gradients, optimizer moments) is a warning."""
    from .guard.memory import BYTES_PER_PARAM, TRAINING_COPIES, gb, machine_memory_bytes

    r.graph_issues = [i for i in r.graph_issues if i.kind != "size"]
    total = r.total_params
    memory = machine_memory_bytes()
    if not memory or total * BYTES_PER_PARAM * TRAINING_COPIES <= memory:
        return
    weights = total * BYTES_PER_PARAM
    if weights > memory:
        r.graph_issues.append(Issue("size", f"the model has {total:,} parameters: its weights "
                                    f"alone need {gb(weights)}, more than this computer's "
                                    f"memory ({gb(memory)})"))
    else:
        r.graph_issues.append(Issue("size", f"the model has {total:,} parameters: training "
                                    f"needs about {gb(weights * TRAINING_COPIES)} (weights, "
                                    f"gradients, optimizer state), more than this computer's "
                                    f"memory ({gb(memory)})", severity="warning"))


def validate(graph: Graph, checks: Iterable[Check] = ()) -> Report:
    """Check structure and infer every node's output types (then run `checks`, e.g. an
    engine.fit.DataFit). Never raises on a bad graph."""
    return Validator(graph, listen=False, checks=checks).validate()


__all__ = ["CHECK_KIND", "BlockError", "Check", "Fix", "Issue", "Report", "Validator",
           "effective_params", "label", "validate"]
