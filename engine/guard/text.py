"""Quoting user text in messages: at most ~100 characters of it, one line, printable.

A 10 MB name or path in a project file must give a one-line error, not a 10 MB one; a lone
surrogate or a control character must not break printing the message.
"""
from __future__ import annotations

import reprlib

LIMIT = 100
MESSAGE_LIMIT = 2000

_repr = reprlib.Repr()
_repr.maxstring = LIMIT
_repr.maxother = LIMIT
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6
_repr.maxlevel = 3


def quote(value, limit: int = LIMIT) -> str:
    """`value` as a Python literal (strings quoted, escapes visible), cut to about `limit`
    characters with the full length said: 'aaaa…' (10,000,000 characters)."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 300:
        return f"an integer of about {int(value.bit_length() * 0.30103):,} digits"
    try:
        return _repr.repr(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails is still named
        return f"<{type(value).__name__}>"


def clip_message(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """The last line of defence for printing an error: one line, printable, at most `limit`
    characters (the middle is cut, so the file name at the start and the advice at the end
    stay)."""
    text = " ".join(str(message).split("\n"))
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) > limit:
        half = limit // 2
        text = f"{text[:half]} […{len(text) - 2 * half:,} characters…] {text[-half:]}"
    return text
