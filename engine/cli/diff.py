"""`studio diff A B`: added, removed and changed nodes, changed wires, the change in
parameters and MACs, and changed settings, from A (before) to B (after). A and B are project
files, run folders or runs' config.json snapshots. Exit status as diff(1): 0 when the two are
the same, 1 when they differ, 2 when one cannot be read."""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser("diff", help="compare two projects (or runs): nodes, wires, params, "
                       "MACs and settings")
    p.add_argument("a", help="before: a .nnproj file, a run folder or its config.json")
    p.add_argument("b", help="after: the same kinds")
    p.add_argument("--json", action="store_true", help="print the diff as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..diff import DiffError, diff_projects, load_side

    try:
        a, b = load_side(args.a), load_side(args.b)
    except DiffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    d = diff_projects(a, b)
    if args.json:
        print(json.dumps(d.to_dict(), indent=1, default=str))
    else:
        print(f"--- {args.a}  ({len(a.graph.nodes)} nodes)")
        print(f"+++ {args.b}  ({len(b.graph.nodes)} nodes)")
        if d.same:
            print("no differences in the graph or the settings")
        else:
            print(f"{len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed "
                  f"nodes; {len(d.wires)} wires changed; {len(d.settings)} settings changed")
        for line in d.lines():
            print(line)
    return 0 if d.same else 1
