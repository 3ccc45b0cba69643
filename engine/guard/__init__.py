"""Guards for hostile input, one owner each: where a path may lead (paths.py), how much a file
may make Studio read or allocate (files.py), when a command may replace a file (overwrite.py),
and how much user text a message may quote (text.py). Torch-free and Qt-free."""
from __future__ import annotations

from .files import (
    NotRegularFile,
    TooLarge,
    check_declared,
    memory_budget_mb,
    open_regular,
    read_regular,
)
from .overwrite import OverwriteError, check_output
from .paths import OutsideProject, resolve_user_path
from .text import clip_message, quote

__all__ = [
    "NotRegularFile", "OutsideProject", "OverwriteError", "TooLarge", "check_declared",
    "check_output", "clip_message", "memory_budget_mb", "open_regular", "quote",
    "read_regular", "resolve_user_path",
]
