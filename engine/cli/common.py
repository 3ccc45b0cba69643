"""Helpers shared by CLI commands: opening a project, printing one-line errors, the flags of
the overwrite and outside-data policies."""
from __future__ import annotations

import sys

from ..guard.text import clip_message
from ..project import Project, ProjectError, load_project

ALLOW_OUTSIDE_HELP = ("read data files outside the project folder (a project file can name "
                      "any path: allow this only for projects you trust)")
FORCE_HELP = "replace the output file if it exists"


def error(message, file: str | None = None) -> int:
    """Print `error: [<file>: ]<message>` as one line of at most ~2,000 characters (the file
    is named unless the message already does); returns 1."""
    text = str(message)
    if file and str(file) not in text:
        text = f"{file}: {text}"
    print(f"error: {clip_message(text)}", file=sys.stderr)
    return 1


def open_project(path: str, allow_outside: bool = False, weights: bool = True
                 ) -> Project | None:
    """Load a project (without its weights file when `weights` is False) or print the
    ProjectError and return None. `allow_outside`: the user confirmed
    (--allow-outside-data) that its data may lie outside the project folder; the outside
    paths are then printed."""
    try:
        project = load_project(path, weights=weights)
    except ProjectError as exc:
        error(exc)
        return None
    project.allow_outside_data = allow_outside
    if allow_outside:
        show_outside_data(project)
    return project


def show_outside_data(project: Project) -> None:
    """Say which data files outside the project folder will be read."""
    from ..data.files import outside_paths

    for path in outside_paths(project.dataset, project.folder):
        print(f"reading data outside the project folder: {clip_message(str(path), 300)}",
              file=sys.stderr)


def table(rows: list[list[str]], header: list[str], right: set[int] = frozenset()) -> str:
    """A plain-text table with aligned columns (columns in `right` are right-aligned)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def fmt(r):
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    rule = "-" * len(fmt(header))
    return "\n".join([fmt(header), rule, *map(fmt, rows)])
