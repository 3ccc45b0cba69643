"""Bundled example projects (resources/examples/*.nnproj)."""
from __future__ import annotations

import json
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "resources" / "examples"


def example_paths() -> dict[str, Path]:
    """Example name -> path, sorted by name."""
    return {p.stem: p for p in sorted(EXAMPLES_DIR.glob("*.nnproj"))}


def example_path(name: str) -> Path:
    paths = example_paths()
    if name not in paths:
        known = ", ".join(paths) or "none"
        raise KeyError(f"no example named {name!r} (bundled: {known})")
    return paths[name]


def describe(path: Path) -> str:
    """The example's one-line description (from its meta), without building the graph."""
    try:
        return json.loads(path.read_text("utf-8")).get("meta", {}).get("description", "")
    except (OSError, ValueError):
        return ""


def copy_example(name: str, dest: str | Path) -> Path:
    """Save a copy of an example project (and its weights, if any) as `dest`: saved as a
    pair, so weights left beside an older file of that name are never taken for its own."""
    from .project import load_project, save_project

    dest = Path(dest)
    if dest.suffix != ".nnproj":
        dest = dest.with_suffix(".nnproj")
    dest.parent.mkdir(parents=True, exist_ok=True)
    return save_project(load_project(example_path(name)), dest)
