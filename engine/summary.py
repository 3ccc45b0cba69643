"""Model summary: per-node output shape, parameters, MACs; totals and activation memory."""
from __future__ import annotations

from dataclasses import dataclass, field

from .graph import Graph, Node
from .validate import Report, effective_params, validate


@dataclass
class SummaryRow:
    node_id: str
    name: str
    type: str
    output: str
    params: int
    trainable: bool
    flops: int
    depth: int = 0  # > 0: a layer inside a block instance (its name is a path)
    numel: int = 0  # elements of the output per sample
    block: bool = False


@dataclass
class Summary:
    rows: list[SummaryRow] = field(default_factory=list)
    report: Report | None = None
    batch_size: int = 1
    activation_bytes: int = 0

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows if not r.depth)

    @property
    def trainable_params(self) -> int:
        return sum(r.params for r in self.rows if r.trainable and not r.depth)

    @property
    def total_flops(self) -> int:
        return sum(r.flops for r in self.rows if not r.depth)


def summarize(graph: Graph, report: Report | None = None, batch_size: int = 1,
              inner: bool = True) -> Summary:
    """Summary rows in topological order (nodes that failed inference show '?'); with
    `inner`, each block instance is followed by rows for the layers inside it."""
    report = report or validate(graph)
    s = Summary(report=report, batch_size=batch_size)
    ordered = set(report.order)
    order = report.order + [n for n in graph.nodes if n not in ordered]
    for nid in order:
        node = graph.nodes[nid]
        spec = node.spec
        outs = report.out_types.get(nid)
        ins = report.in_types.get(nid)
        if spec.role == "output" and ins:
            shape = str(ins[0])
        else:
            shape = ", ".join(map(str, outs)) if outs else "?"
        flops = 0
        if outs is not None and ins is not None:
            try:
                flops = spec.flops(node.params, ins, outs)
            except Exception:
                flops = 0
            s.activation_bytes += sum(t.numel for t in outs) * 4 * batch_size
        s.rows.append(SummaryRow(nid, node.name, spec.name, shape,
                                 report.param_counts.get(nid, 0), node.trainable, flops))
        if inner and node.is_block and outs is not None and ins is not None:
            rows = _inner_rows(node, effective_params(node, report.args), ins, nid,
                               node.name, 1)
            s.rows.extend(rows)
            # the block's own output is also its last layer's: count inner layers only
            s.activation_bytes += sum(r.numel for r in rows if not r.block) * 4 * batch_size \
                - sum(t.numel for t in outs) * 4 * batch_size
    return s


def _inner_rows(node: Node, params: dict, ins: list, row_id: str, path: str,
                depth: int) -> list[SummaryRow]:
    """Rows for the layers inside a block instance, named by path (`layer1[0]/conv1`)."""
    body = node.spec.btype.graph
    run = node.spec.run(params, ins)
    rows = []
    for r, rep in enumerate(run.reports):
        prefix = f"{path}[{r}]" if len(run.reports) > 1 else path
        for nid in rep.order:
            inner = body.nodes[nid]
            if inner.spec.role != "layer":
                continue
            p = effective_params(inner, rep.args)
            i, o = rep.in_types[nid], rep.out_types[nid]
            try:
                flops = inner.spec.flops(p, i, o)
            except Exception:
                flops = 0
            name = f"{prefix}/{inner.name}"
            rows.append(SummaryRow(row_id, name, inner.spec.name, ", ".join(map(str, o)),
                                   rep.param_counts.get(nid, 0),
                                   node.trainable and inner.trainable, flops, depth,
                                   sum(t.numel for t in o), inner.is_block))
            if inner.is_block:
                rows.extend(_inner_rows(inner, p, i, row_id, name, depth + 1))
    return rows
