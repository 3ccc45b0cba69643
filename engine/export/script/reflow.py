"""Fit the model's source into the script's line length.

The app's generated class keeps one line per layer with the shape as a trailing comment (its
code view maps lines to nodes). In the script a line that runs past the line length gets its
comment on the line above, a call too long even then is wrapped after a comma under its opening
bracket, and a long one-line docstring is wrapped.
"""
from __future__ import annotations

import io
import textwrap
import tokenize

from .text import WIDTH


def reflow(source: str, width: int = WIDTH) -> str:
    """`source` (Python statements) with its long lines fitted where it can be done; only
    statements on one line are touched (never the inside of a string or a bracket)."""
    single = _one_line_statements(source)
    out: list[str] = []
    for number, line in enumerate(source.split("\n"), 1):
        out += _fit(line, width) if len(line) > width and number in single else [line]
    return "\n".join(out)


def _one_line_statements(source: str) -> set[int]:
    """The numbers of the lines that hold a whole statement."""
    skip = (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)
    lines, start = set(), None
    try:
        for t in tokenize.generate_tokens(io.StringIO(source).readline):
            if t.type == tokenize.NEWLINE:
                if start == t.start[0]:
                    lines.add(start)
                start = None
            elif t.type not in skip and start is None:
                start = t.start[0]
    except (tokenize.TokenError, SyntaxError):
        return set()
    return lines


def _fit(line: str, width: int) -> list[str]:
    pad = line[:len(line) - len(line.lstrip())]
    text = line.strip()
    if text.startswith('"""') and text.endswith('"""') and len(text) > 6:
        return _docstring(pad, text[3:-3], width)
    tokens = _tokens(text)
    if tokens is None:
        return [line]
    above = []
    comment = next((t for t in tokens if t.type == tokenize.COMMENT), None)
    if comment is not None and comment.start[1] > 0:
        above = [pad + comment.string]
        text = text[:comment.start[1]].rstrip()
        tokens = _tokens(text)
    if len(pad) + len(text) <= width or tokens is None:
        return [*above, pad + text]
    return [*above, *_wrap_call(pad, text, tokens, width)]


def _tokens(text: str) -> list[tokenize.TokenInfo] | None:
    """The tokens of a one-line statement (None when it does not tokenize on its own)."""
    try:
        return list(tokenize.generate_tokens(io.StringIO(text + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return None


def _wrap_call(pad: str, text: str, tokens, width: int) -> list[str]:
    """Break inside the statement's first bracket: after commas, continuing under the bracket;
    where that cannot fit, with the bracket's contents on their own lines (a hanging indent)."""
    depth, opening, closing, commas = 0, None, None, []
    for t in tokens:
        if t.type != tokenize.OP:
            continue
        if t.string in "([{":
            depth += 1
            if depth == 1 and opening is None:
                opening = t.end[1]
        elif t.string in ")]}":
            depth -= 1
            if depth == 0 and opening is not None:
                closing = t.start[1]
                break
        elif t.string == "," and depth == 1 and opening is not None:
            commas.append(t.end[1])
    if closing is None:
        return [pad + text]
    aligned = _break_at(text, commas, pad, " " * opening, width)
    if all(len(line) <= width for line in aligned):
        return aligned
    inner = text[opening:closing].strip()
    shift = opening + len(text[opening:closing]) - len(text[opening:closing].lstrip())
    body = _break_at(inner, [c - shift for c in commas], pad + "    ", "", width)
    return [pad + text[:opening], *body, pad + text[closing:]]


def _break_at(text: str, cuts: list[int], pad: str, hang: str, width: int) -> list[str]:
    """`text` broken after the fewest of `cuts` (positions in it) that keep lines short;
    the first line indented by `pad`, the others by `pad + hang`."""
    lines, start, lead = [], 0, ""
    while True:
        room = width - len(pad) - len(lead)
        if len(text[start:].lstrip()) <= room:
            break
        fits = [c for c in cuts if start < c and c - start <= room]
        if not fits:
            break
        lines.append(pad + lead + text[start:fits[-1]].lstrip())
        start, lead = fits[-1], hang
    lines.append(pad + lead + text[start:].lstrip())
    return lines


def _docstring(pad: str, body: str, width: int) -> list[str]:
    lines = textwrap.wrap(body, width - len(pad) - 3, initial_indent='"""',
                          break_long_words=False, break_on_hyphens=False)
    lines[-1] += '"""'
    return [pad + ln for ln in lines]
