"""Where the canvas is: the model, or inside a block instance (and inside blocks within it).

Each level is (graph holding the instance, instance id). The graph shown is the body of the
innermost instance's block type; its report is that body validated with the types arriving
at the instance (its first repeat) and the instance's argument values, so the shapes inside
are this instance's. Edits inside change the type, and with it every instance.
"""
from __future__ import annotations

from engine.graph import Graph
from engine.validate import Report, Validator, effective_params


class BlockScope:
    def __init__(self, document):
        self.document = document
        self.levels: list[tuple[Graph, str]] = []

    def graph(self) -> Graph:
        if not self.levels:
            return self.document.graph
        parent, iid = self.levels[-1]
        return parent.nodes[iid].spec.btype.graph

    def names(self) -> list[str]:
        """The breadcrumb: 'model' then each entered instance as 'name (Type)'."""
        out = [self.document.name]
        for parent, iid in self.levels:
            node = parent.nodes[iid]
            out.append(f"{node.name} ({node.spec.btype.name})")
        return out

    def enter(self, instance_id: str) -> bool:
        graph = self.graph()
        node = graph.nodes.get(instance_id)
        if node is None or not node.is_block:
            return False
        self.levels.append((graph, instance_id))
        return True

    def leave(self, depth: int = -1) -> bool:
        target = len(self.levels) - 1 if depth < 0 else depth
        target = max(0, min(target, len(self.levels)))
        if target == len(self.levels):
            return False
        del self.levels[target:]
        return True

    def prune(self) -> bool:
        """Drop levels whose instance is gone (an undo removed it); True if any was."""
        graph = self.document.graph
        for k, (parent, iid) in enumerate(self.levels):
            node = parent.nodes.get(iid)
            if parent is not graph or node is None or not node.is_block:
                del self.levels[k:]
                return True
            graph = node.spec.btype.graph
        return False

    def report(self, model_report: Report) -> Report:
        report = model_report
        for parent, iid in self.levels:
            node = parent.nodes[iid]
            ins = report.in_types.get(iid)
            try:
                args = effective_params(node, report.args)
            except ValueError:
                args = node.params
            body = node.spec.btype.graph
            args = {a.name: args.get(a.name, a.default) for a in node.spec.btype.args}
            report = Validator(body, listen=False, inputs=ins, args=args).validate()
        return report


__all__ = ["BlockScope"]
