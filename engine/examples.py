"""Bundled example projects (resources/examples/*.nnproj) and lesson presets
(resources/examples/lessons/*.nnproj: small projects whose meta "lesson" says what to do and
what to watch; some are built to fail, so the generic example tests leave them out)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from .data import default_config
from .project import Project

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "resources" / "examples"
LESSONS_DIR = EXAMPLES_DIR / "lessons"


def example_paths() -> dict[str, Path]:
    """Example name -> path, sorted by name (the lessons are not among them)."""
    return {p.stem: p for p in sorted(EXAMPLES_DIR.glob("*.nnproj"))}


def lesson_paths() -> dict[str, Path]:
    """Lesson preset name -> path, sorted by name."""
    return {p.stem: p for p in sorted(LESSONS_DIR.glob("*.nnproj"))}


def example_path(name: str) -> Path:
    """The file of an example or a lesson preset."""
    paths = {**example_paths(), **lesson_paths()}
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


#: the settings of a new, empty project: the iris flowers (4 measurements, 3 species) and a
#: schedule that trains a small MLP on them to >= 90 % validation accuracy in a few seconds
NEW_PROJECT_TRAINING = {"epochs": 50, "batch_size": 16, "optimizer": {"name": "adam",
                                                                         "lr": 0.01}}


def new_project(name: str | None = None) -> Project:
    """An empty project with a dataset and training settings that work out of the box."""
    return Project(dataset=default_config("iris"),
                   training=copy.deepcopy(NEW_PROJECT_TRAINING),
                   meta={"name": name} if name else {})
