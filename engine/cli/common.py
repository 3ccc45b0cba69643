"""Helpers shared by CLI commands."""
from __future__ import annotations

import sys

from ..project import Project, ProjectError, load_project


def open_project(path: str, weights: bool = True) -> Project | None:
    """Load a project (without its weights file when `weights` is False) or print the
    ProjectError and return None."""
    try:
        return load_project(path, weights=weights)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def table(rows: list[list[str]], header: list[str], right: set[int] = frozenset()) -> str:
    """A plain-text table with aligned columns (columns in `right` are right-aligned)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def fmt(r):
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    rule = "-" * len(fmt(header))
    return "\n".join([fmt(header), rule, *map(fmt, rows)])
