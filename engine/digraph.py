"""The four walks over a graph's wiring that validation needs: a topological order, the
cycles, and what lies downstream or upstream of a node.

networkx computes the same (the tests compare the two on random graphs) and the rest of the
engine uses it (auto layout, importers); validation does not, because importing networkx
costs 0.1-0.3 s of CPU and 285 modules, and the app validates the project it opens right
after its window first paints."""
from __future__ import annotations

from collections.abc import Hashable, Iterable

Node = Hashable


class CycleError(ValueError):
    """The graph has a cycle: it has no topological order."""


class Digraph:
    """Nodes in the order given; `succ[n]` and `pred[n]` are n's successors and predecessors
    (dicts used as ordered sets, in the order the edges came). A repeated edge counts once;
    an edge's unknown end is added as a node."""

    def __init__(self, nodes: Iterable[Node] = (), edges: Iterable[tuple[Node, Node]] = ()):
        self.succ: dict[Node, dict[Node, None]] = {}
        self.pred: dict[Node, dict[Node, None]] = {}
        for n in nodes:
            self._add(n)
        for a, b in edges:
            self._add(a)
            self._add(b)
            self.succ[a][b] = None
            self.pred[b][a] = None

    def _add(self, n: Node) -> None:
        if n not in self.succ:
            self.succ[n] = {}
            self.pred[n] = {}

    def __contains__(self, n: Node) -> bool:
        return n in self.succ

    def __len__(self) -> int:
        return len(self.succ)

    def without(self, removed: set[Node]) -> Digraph:
        """A copy without the `removed` nodes and their edges (the order kept)."""
        return Digraph((n for n in self.succ if n not in removed),
                       ((a, b) for a, out in self.succ.items() if a not in removed
                        for b in out if b not in removed))

    def topological_order(self) -> list[Node]:
        """Every node after all its predecessors: the nodes without predecessors in their
        order, then in waves, each node as soon as its last predecessor has been placed
        (networkx's `topological_sort` gives the same order). Raises CycleError."""
        waiting = {n: len(p) for n, p in self.pred.items() if p}
        order = [n for n, p in self.pred.items() if not p]
        wave_start = 0
        while wave_start < len(order):
            wave_end = len(order)
            for n in order[wave_start:wave_end]:
                for child in self.succ[n]:
                    waiting[child] -= 1
                    if not waiting[child]:
                        del waiting[child]
                        order.append(child)
            wave_start = wave_end
        if waiting:
            raise CycleError(f"{len(waiting)} nodes are on or after a cycle")
        return order

    def strongly_connected_components(self) -> list[set[Node]]:
        """The groups of nodes that each reach every other of their group (a node on no
        cycle is a group of one). Tarjan's algorithm, with an explicit stack."""
        index: dict[Node, int] = {}
        low: dict[Node, int] = {}
        on_stack: set[Node] = set()
        stack: list[Node] = []
        groups: list[set[Node]] = []
        for root in self.succ:
            if root in index:
                continue
            index[root] = low[root] = len(index)
            stack.append(root)
            on_stack.add(root)
            path = [(root, iter(self.succ[root]))]
            while path:
                node, children = path[-1]
                for child in children:
                    if child not in index:
                        index[child] = low[child] = len(index)
                        stack.append(child)
                        on_stack.add(child)
                        path.append((child, iter(self.succ[child])))
                        break
                    if child in on_stack:
                        low[node] = min(low[node], index[child])
                else:   # all of node's children seen
                    path.pop()
                    if path:
                        parent = path[-1][0]
                        low[parent] = min(low[parent], low[node])
                    if low[node] == index[node]:
                        group = set()
                        while True:
                            member = stack.pop()
                            on_stack.discard(member)
                            group.add(member)
                            if member == node:
                                break
                        groups.append(group)
        return groups

    def descendants(self, n: Node) -> set[Node]:
        """The nodes reachable from `n`, without `n`."""
        return self._reach(n, self.succ) - {n}

    def ancestors(self, n: Node) -> set[Node]:
        """The nodes that reach `n`, without `n`."""
        return self._reach(n, self.pred) - {n}

    @staticmethod
    def _reach(n: Node, links: dict[Node, dict[Node, None]]) -> set[Node]:
        seen = {n}
        todo = [n]
        while todo:
            for m in links[todo.pop()]:
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        return seen
