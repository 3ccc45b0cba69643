"""Text helpers for the exported script: literals, functions, wrapping, the import block."""
from __future__ import annotations

import ast
import textwrap
import unicodedata

WIDTH = 100  # the project's ruff line length

# a name the script uses -> the import that defines it (stdlib first, then third-party)
IMPORTS = {
    "argparse": "import argparse", "csv": "import csv", "gzip": "import gzip",
    "hashlib": "import hashlib", "json": "import json", "math": "import math",
    "os": "import os", "re": "import re", "tarfile": "import tarfile",
    "urllib": "import urllib.request", "Counter": "from collections import Counter",
    "Path": "from pathlib import Path",
}
THIRD_PARTY = {
    "np": "import numpy as np", "torch": "import torch", "F": "import torch.nn.functional as F",
    "nn": "from torch import nn", "Image": "from PIL import Image",
    **{f"load_{n}": f"from sklearn.datasets import load_{n}"
       for n in ("digits", "iris", "wine", "breast_cancer")},
}


def lit(value) -> str:
    """`value` (JSON-like: numbers, strings, None, lists, tuples) as a Python literal."""
    if isinstance(value, tuple):
        inner = ", ".join(lit(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(lit(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return string(value)
    return repr(value)


def string(text: str) -> str:
    """A double-quoted Python literal of `text` (any text: quotes and controls escaped)."""
    import json

    if text.isprintable() and "\\" not in text:
        return json.dumps(text, ensure_ascii=False)
    return repr(text)


def block(template: str, **values) -> list[str]:
    """The lines of an indented template string, formatted with `values`."""
    text = textwrap.dedent(template).strip("\n")
    return (text.format(**values) if values else text).split("\n")


def fit(lines: list[str], level: int = 1) -> list[str]:
    """Lines that would pass the line length (at `level`) without their trailing comment."""
    out = []
    for line in lines:
        if len(line) + 4 * level > WIDTH and "  # " in line:
            line = line[:line.rindex("  # ")]
        out.append(line)
    return out


def indent(lines: list[str], level: int = 1) -> list[str]:
    pad = "    " * level
    return [pad + line if line else line for line in lines]


def function(signature: str, doc: str, body: list[str], decorator: str = "") -> list[str]:
    """A top-level `def` with a docstring (wrapped to the line length)."""
    head = [decorator] if decorator else []
    return [*head, f"def {signature}:", *docstring(doc, 1), *indent(body)]


def docstring(doc: str, level: int) -> list[str]:
    """A docstring wrapped to the line length; user text in it (file and node names) is made
    inert (see `inert`)."""
    pad = "    " * level
    lines = textwrap.wrap(f'"""{inert(doc)}', WIDTH - len(pad) - 3, break_on_hyphens=False,
                          break_long_words=False)
    lines[-1] += '"""'
    return [pad + line for line in lines]


def wrapped(prefix: str, items: list[str], suffix: str, level: int = 0,
            sep: str = ", ", outer: int = 1) -> list[str]:
    """`prefix` + items joined by `sep` + `suffix`, wrapped under the opening bracket.
    `level`: the indentation written here; `outer`: levels added later (a function body)."""
    pad, width = "    " * level, WIDTH - 4 * outer
    lines, current = [], pad + prefix
    for i, item in enumerate(items):
        piece = item + (sep.rstrip() if i < len(items) - 1 else suffix)
        if len(current) + len(piece) > width and current.strip() != prefix.strip():
            lines.append(current.rstrip())
            current = pad + " " * len(prefix)
        current += piece + (" " if i < len(items) - 1 else "")
    lines.append(current.rstrip() if items else pad + prefix + suffix)
    return lines


def import_block(source: str) -> list[str]:
    """The import lines for the names `source` uses (ruff's isort order)."""
    used = {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
    groups = []
    for table in (IMPORTS, THIRD_PARTY):
        lines = {line for name, line in table.items() if name in used}
        plain = sorted((ln for ln in lines if ln.startswith("import ")), key=_module_key)
        froms = sorted((ln for ln in lines if ln.startswith("from ")), key=_module_key)
        if plain or froms:
            groups.append([*plain, *froms])
    return [line for i, group in enumerate(groups) for line in ([""] if i else []) + group]


def _module_key(line: str) -> str:
    return line.split()[1].lower()


def one_line(text: str) -> str:
    """User text with control, line-break and lone surrogate characters made spaces."""
    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") else c
                   for c in str(text))


def inert(text: str) -> str:
    """User text (a project or file name) safe inside the script's docstrings: one line,
    backslashes and quotes escaped, so it can neither end the docstring nor form an escape."""
    return one_line(text).replace("\\", "\\\\").replace('"', '\\"')


def comment(text: str) -> str:
    """User text safe in a `#` comment (one line)."""
    return one_line(text)
