"""Helpers that write constructor calls the way a person would: defaults left out.

`call("nn.Conv2d", [1, 16], [("kernel_size", (3, 3), None), ("padding", (1, 1), 0)])`
gives `nn.Conv2d(1, 16, kernel_size=3, padding=1)`: a tuple whose entries are all equal is
written as one int, and a keyword equal to its torch default is dropped (default None = always
written; a value computed from block arguments is always written, as its expression).
"""
from __future__ import annotations

from typing import Any

_ALWAYS = object()


def compact(value: Any) -> Any:
    """A tuple/list of equal ints as one int; other values unchanged (lists become tuples)."""
    if isinstance(value, (list, tuple)):
        value = tuple(value)
        if value and all(v == value[0] for v in value):
            return value[0]
    return value


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b or (
        isinstance(a, (int, float)) and not isinstance(a, bool)
        and isinstance(b, (int, float)) and not isinstance(b, bool) and a == b)


def call(func: str, positional: list[Any] = (), keywords: list[tuple] = ()) -> str:
    """Source of `func(*positional, **keywords)`; keywords are (name, value, torch_default)
    triples and are omitted when the compacted value equals the default. Pass
    `default=ALWAYS` (or None) to always write a keyword."""
    args = [repr(compact(v)) for v in positional]
    for name, value, default in keywords:
        value = compact(value)
        symbolic = hasattr(value, "expr")  # a block argument: written even at its default
        if default is not None and default is not _ALWAYS and not symbolic and \
                _same(value, compact(default)):
            continue
        args.append(f"{name}={value!r}")
    return f"{func}({', '.join(args)})"


ALWAYS = _ALWAYS
