"""The one place a path from a project file (or any user text) becomes a file to read.

Real paths are resolved first (`~`, `..` and every symlink), then checked against the project
folder. A path whose real location is outside the folder is used only when the caller says
the user confirmed it (the GUI asks once per project, the CLI needs --allow-outside-data):
a project file from a stranger must not make Studio read /etc/passwd as data.
"""
from __future__ import annotations

import os
from pathlib import Path

from .text import quote

MAX_PATH_CHARS = 4096


class OutsideProject(ValueError):
    """A path leads outside the project folder and reading there was not confirmed.
    `path` is the real location, `text` the path as written."""

    def __init__(self, message: str, text: str, path: Path):
        super().__init__(message)
        self.text = text
        self.path = path


class BadPath(ValueError):
    """A path that is not usable at all (not text, empty, a NUL byte, too long)."""


def real_path(path: str | os.PathLike) -> Path:
    """`path` with `~` expanded and every `..` and symlink resolved (missing tails kept).
    Raises RuntimeError or OSError on a symlink loop."""
    return Path(os.path.expanduser(os.fspath(path))).resolve()


def is_inside(path: Path, folder: Path) -> bool:
    """True when the real `path` is `folder` or below it (both already real paths)."""
    return path == folder or folder in path.parents


def resolve_user_path(text, folder: str | os.PathLike | None, *, allow_outside: bool = False,
                      key: str = "path") -> Path:
    """The real path `text` names, relative to `folder` (default: the current folder).

    Raises BadPath for a value that is no path, OutsideProject when the real location is
    outside `folder` and `allow_outside` is false. The message names the key and the path
    (quoted, at most ~100 characters)."""
    if not isinstance(text, str) or not text.strip():
        raise BadPath(f"{key} must name a file or folder, found {quote(text)}")
    if "\x00" in text or len(text) > MAX_PATH_CHARS:
        raise BadPath(f"{key} {quote(text)} is not a usable path")
    try:
        base = real_path(folder if folder is not None else os.getcwd())
        full = real_path(base / os.path.expanduser(text))
    except (OSError, ValueError, RuntimeError) as exc:  # a symlink loop
        raise BadPath(f"{key} {quote(text)} is not a usable path ({exc})") from None
    if not allow_outside and not is_inside(full, base):
        raise OutsideProject(outside_message(key, text, full), text, full)
    return full


def outside_message(key: str, text: str, full: Path) -> str:
    where = "" if str(full) == text else f" (it leads to {quote(str(full))})"
    return (f"{key} {quote(text)} leaves the project folder{where}; data outside the "
            "project folder is read only after you confirm it (the app asks; on the "
            "command line add --allow-outside-data)")


def check_inside(path: Path, folder: str | os.PathLike | None, *, allow_outside: bool,
                 key: str, shown: str) -> Path:
    """A file found while reading (an image in a class folder, ...) under the same rule:
    its real path must be inside `folder` unless outside reading was confirmed."""
    full = real_path(path)
    base = real_path(folder if folder is not None else os.getcwd())
    if not allow_outside and not is_inside(full, base):
        raise OutsideProject(outside_message(key, shown, full), shown, full)
    return full
