"""`studio summary FILE`: a table of nodes, types, output shapes and parameters."""
from __future__ import annotations

from ..summary import summarize
from .common import open_project, table


def register(sub) -> None:
    p = sub.add_parser("summary", help="print layers, output shapes, parameters and FLOPs")
    p.add_argument("file", help="a .nnproj project file")
    p.add_argument("--batch-size", type=int, default=1, help="batch size for memory estimates")
    p.set_defaults(func=run)


def run(args) -> int:
    project = open_project(args.file, weights=False)  # shapes and counts need no weights
    if project is None:
        return 1
    s = summarize(project.graph, batch_size=args.batch_size)
    rows = [["  " * r.depth + r.name, r.type, r.output, f"{r.params:,}", "yes" if r.trainable else "no",
             f"{r.flops:,}"] for r in s.rows]
    print(table(rows, ["node", "type", "output shape", "params", "trainable", "MACs"],
                right={3, 5}))
    print(f"\ntotal params: {s.total_params:,}  (trainable {s.trainable_params:,})")
    print(f"MACs per sample: {s.total_flops:,}")
    print(f"activation memory at batch {args.batch_size}: {s.activation_bytes / 2**20:.2f} MiB")
    for issue in s.report.issues:
        print(issue)
    return 0 if s.report.ok else 1
