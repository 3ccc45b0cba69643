"""Model summary: per-node output shape, parameters, MACs; totals and activation memory."""
from __future__ import annotations

from dataclasses import dataclass, field

from .graph import Graph
from .validate import Report, validate


@dataclass
class SummaryRow:
    node_id: str
    name: str
    type: str
    output: str
    params: int
    trainable: bool
    flops: int


@dataclass
class Summary:
    rows: list[SummaryRow] = field(default_factory=list)
    report: Report | None = None
    batch_size: int = 1
    activation_bytes: int = 0

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def trainable_params(self) -> int:
        return sum(r.params for r in self.rows if r.trainable)

    @property
    def total_flops(self) -> int:
        return sum(r.flops for r in self.rows)


def summarize(graph: Graph, report: Report | None = None, batch_size: int = 1) -> Summary:
    """Summary rows in topological order (nodes that failed inference show '?')."""
    report = report or validate(graph)
    s = Summary(report=report, batch_size=batch_size)
    ordered = set(report.order)
    order = report.order + [n for n in graph.nodes if n not in ordered]
    for nid in order:
        node = graph.nodes[nid]
        outs = report.out_types.get(nid)
        ins = report.in_types.get(nid)
        if node.spec.role == "output" and ins:
            shape = str(ins[0])
        else:
            shape = ", ".join(map(str, outs)) if outs else "?"
        flops = 0
        if outs is not None and ins is not None:
            try:
                flops = node.spec.flops(node.params, ins, outs)
            except Exception:
                flops = 0
            s.activation_bytes += sum(t.numel for t in outs) * 4 * batch_size
        s.rows.append(SummaryRow(nid, node.name, node.spec.name, shape,
                                 report.param_counts.get(nid, 0), node.trainable, flops))
    return s
