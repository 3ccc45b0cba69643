"""`studio validate FILE`: exit 0 if the graph is valid, else 1 with the errors."""
from __future__ import annotations

import sys

from ..validate import validate
from .common import error, open_project


def register(sub) -> None:
    p = sub.add_parser("validate", help="check a project's graph (exit 1 on errors)")
    p.add_argument("file", help="a .nnproj project file")
    p.set_defaults(func=run)


def run(args) -> int:
    project = open_project(args.file)
    if project is None:
        return 1
    report = validate(project.graph)
    for issue in report.issues:
        if issue.severity == "warning":
            print(f"warning: {args.file}: {issue.message}")
        else:
            error(issue.message, args.file)
    if not report.ok:
        if len(report.errors) > 1:
            print(f"{args.file}: {len(report.errors)} errors", file=sys.stderr)
        return 1
    print(f"{args.file}: ok ({len(project.graph.nodes)} nodes, "
          f"{report.total_params:,} parameters)")
    return 0
