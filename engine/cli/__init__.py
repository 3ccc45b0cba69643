"""`studio <command>`: the headless command line. Each command lives in its own module with
`register(subparsers)`; the GUI commands are added by `studio.cli`."""
from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module

# module names under engine.cli; a missing module (feature not built) is skipped
COMMANDS = ("validate", "summary", "examples", "train", "evaluate", "export", "importer",
            "sweep", "diff", "pretrained")


def build_parser(extra=None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studio", description="Build, train and export neural networks visually. "
        "Run without a command to open the app.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        mod.register(sub)
    if extra:
        extra(sub)
    return parser


def main(argv: list[str] | None = None, extra=None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a lone surrogate in a name must still print
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass
    parser = build_parser(extra)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one sentence, never a traceback
        if os.environ.get("STUDIO_DEBUG"):
            raise
        from .common import error

        where = getattr(args, "file", None) or getattr(args, "target", None)
        what = "not enough memory" if isinstance(exc, MemoryError) else \
            f"{type(exc).__name__}: {exc}"
        return error(f"{where}: {what}" if where else what)
