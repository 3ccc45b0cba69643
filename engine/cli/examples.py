"""`studio examples` and `studio new --example NAME FILE`."""
from __future__ import annotations

import sys
from pathlib import Path

from ..examples import copy_example, describe, example_paths, lesson_paths
from .pretrained import add_new_options, create


def register(sub) -> None:
    p = sub.add_parser("examples", help="list the bundled example projects")
    p.set_defaults(func=run_list)
    n = sub.add_parser("new", help="create a project file (from an example or a pretrained "
                       "network)")
    n.add_argument("--example", default=None, help="name of a bundled example")
    n.add_argument("file", help="where to write the new .nnproj")
    n.add_argument("--force", action="store_true", help="overwrite an existing file")
    add_new_options(n)
    n.set_defaults(func=run_new)


def run_list(args) -> int:
    paths = {**example_paths(), **lesson_paths()}
    width = max(map(len, paths), default=0)
    for name, path in paths.items():
        print(f"{name.ljust(width)}  {describe(path)}")
    return 0


def run_new(args) -> int:
    from ..guard.overwrite import OverwriteError, check_output
    from .common import error

    dest = Path(args.file)
    if args.example and args.pretrained:
        print("error: choose --example or --pretrained, not both", file=sys.stderr)
        return 2
    if dest.suffix != ".nnproj":
        dest = dest.with_suffix(".nnproj")
    try:
        for out in (dest, dest.with_suffix(".safetensors")):
            check_output(out, force=args.force, what="new project")
    except OverwriteError as exc:
        return error(exc)
    if args.pretrained:
        path = create(args, dest)
        if path is None:
            return 1
    elif args.example is None:
        from ..examples import new_project
        from ..project import save_project
        path = save_project(new_project(dest.stem), dest)
    else:
        try:
            path = copy_example(args.example, dest)
        except KeyError as exc:
            print(f"error: {exc.args[0]}", file=sys.stderr)
            return 1
    print(f"created {path}")
    return 0
