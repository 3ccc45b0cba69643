"""`studio validate FILE`: exit 0 if the graph is valid and fits its dataset, else 1 with the
errors."""
from __future__ import annotations

import sys

from ..fit import DataFit, profile_dataset
from ..validate import validate
from .common import error, open_project


def register(sub) -> None:
    p = sub.add_parser("validate", help="check a project's graph and that it fits the "
                       "dataset (exit 1 on errors)")
    p.add_argument("file", help="a .nnproj project file")
    p.set_defaults(func=run)


def run(args) -> int:
    project = open_project(args.file, weights="lazy")  # checking the graph reads no weights
    if project is None:
        return 1
    fit = DataFit(profile_dataset(project.dataset, project.folder),
                  (project.training or {}).get("loss"))
    report = validate(project.graph, checks=[fit])
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
