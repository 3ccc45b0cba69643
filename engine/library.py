"""The block library: block types in `.nnblock` files, built in (resources/blocks) and the
user's own (a folder they save to), to drag into any project.

A `.nnblock` file is JSON: `{"format": "studio-block", "format_version": 2, "name": "...",
"blocks": {name: block type, ...}}` holding the block type and every type it uses, in the
project format (`graph.blocks`). Reading one never executes anything; a bad file is reported
with its name and skipped.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .graph import Graph
from .project import FORMAT_VERSION, ProjectError, atomic_write

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "resources" / "blocks"
SUFFIX = ".nnblock"
MAX_BYTES = 4 * 1024 * 1024


def user_dir() -> Path:
    """Where the user's block types are saved ($STUDIO_BLOCK_LIBRARY overrides)."""
    env = os.environ.get("STUDIO_BLOCK_LIBRARY")
    return Path(env) if env else Path.home() / ".local" / "share" / "studio" / "blocks"


@dataclass
class LibraryBlock:
    name: str
    doc: str
    types: dict[str, dict]  # the block type and the types it uses, as in graph.blocks
    path: Path
    builtin: bool


def read_block_file(path: str | os.PathLike, builtin: bool = False) -> LibraryBlock:
    """Read and check a `.nnblock` file (ProjectError naming the file and the problem)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ProjectError(f"a block file is at most {MAX_BYTES // 2**20} MB", path)
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProjectError(f"not a readable block file ({exc})", path) from None
    if not isinstance(data, dict) or data.get("format") != "studio-block":
        raise ProjectError("not a Studio block file", path, "format")
    version = data.get("format_version")
    if not isinstance(version, int) or not 2 <= version <= FORMAT_VERSION:
        raise ProjectError(f"format_version {version!r} is not one this Studio reads", path,
                           "format_version")
    name, types = data.get("name"), data.get("blocks")
    if not isinstance(types, dict) or not isinstance(name, str) or name not in types:
        raise ProjectError("the file must name its block and hold it under 'blocks'", path,
                           "blocks")
    try:
        scratch = Graph.from_dict({"blocks": types})  # builds and checks every type
    except Exception as exc:  # GraphError, ParamError, RegistryError, a malformed record
        raise ProjectError(f"block {name!r} cannot be built ({exc})", path, "blocks") \
            from None
    doc = scratch.blocks[name].doc
    return LibraryBlock(name, doc, types, path, builtin)


def list_library(folders: list[Path] | None = None) -> tuple[list[LibraryBlock], list[str]]:
    """Every readable block of the built-in and user folders (by name), and one message per
    file that could not be read."""
    folders = folders if folders is not None else [BUILTIN_DIR, user_dir()]
    blocks, problems = [], []
    for folder in folders:
        builtin = folder == BUILTIN_DIR
        for path in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []:
            try:
                blocks.append(read_block_file(path, builtin))
            except ProjectError as exc:
                problems.append(str(exc))
    return blocks, problems


def block_file_data(graph: Graph, name: str) -> dict:
    """The `.nnblock` content of block type `name` of a project (with the types it uses)."""
    root = graph.blocks.root
    wanted = {name, *root.block_closure(name)}
    return {"format": "studio-block", "format_version": FORMAT_VERSION, "name": name,
            "blocks": {n: root.blocks[n].to_dict() for n in sorted(wanted)}}


def save_to_library(graph: Graph, name: str, folder: Path | None = None,
                    overwrite: bool = False) -> Path:
    """Save block type `name` to the user's library folder; returns the file."""
    folder = folder or user_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}{SUFFIX}"
    if path.exists() and not overwrite:
        raise ProjectError("a block of this name is already in the library", path)
    text = json.dumps(block_file_data(graph, name), indent=1, sort_keys=True) + "\n"
    atomic_write(path, text.encode("utf-8"))
    return path


__all__ = ["BUILTIN_DIR", "LibraryBlock", "block_file_data", "list_library", "read_block_file",
           "save_to_library", "user_dir"]
