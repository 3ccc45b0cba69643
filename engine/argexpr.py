"""Block arguments in inner params: tiny arithmetic expressions, and numbers that remember them.

An inner layer of a block type can take a param from the block's arguments:
`{"out_channels": "planes * 4"}`. `parse` checks such an expression (names, numbers, + - * /
// % and parentheses; nothing else is accepted, nothing is ever `eval`ed) and returns its
canonical text; `evaluate` computes it from argument values.

`SymInt`/`SymFloat` are numbers that carry the expression that produced them. Code generation
runs shape inference of a block type with them, so a constructor written by a layer spec from
its params reads `nn.Conv2d(in_channels, planes * 4, ...)` instead of `nn.Conv2d(256, 1024)`.
"""
from __future__ import annotations

import ast
import re
from typing import Any

MAX_EXPR_CHARS = 200
_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|-?[0-9.]+")
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
           ast.Mod: "%"}


class ExprError(ValueError):
    """An argument expression is malformed or refers to something that is not an argument."""


def parse(text: str, names: set[str] | None = None) -> str:
    """The canonical text of an argument expression; ExprError if it is not one.
    `names` (when given) are the allowed argument names."""
    tree = _tree(text)
    unknown = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - (names or set()))
    if names is not None and unknown:
        raise ExprError(f"{text!r}: {unknown[0]!r} is not an argument of this block")
    return ast.unparse(tree)


def names_in(text: str) -> set[str]:
    return {n.id for n in ast.walk(_tree(text)) if isinstance(n, ast.Name)}


def evaluate(text: str, values: dict[str, Any]) -> Any:
    """The value of an expression with argument `values` (ExprError if it cannot be computed)."""
    try:
        return _eval(_tree(text).body, values)
    except ExprError:
        raise
    except (ZeroDivisionError, OverflowError, TypeError, ValueError) as exc:
        raise ExprError(f"{text!r} cannot be computed: {exc}") from None


def _tree(text: str) -> ast.Expression:
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_EXPR_CHARS:
        raise ExprError(f"an argument expression is text of 1 to {MAX_EXPR_CHARS} characters, "
                        f"received {str(text)[:40]!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ExprError(f"{text!r} is not an expression such as 'channels * 2'") from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp,
                               ast.USub, ast.UAdd, *_BINOPS)) or (
            isinstance(node, ast.Constant) and type(node.value) in (int, float, bool, str))
        if not ok:
            raise ExprError(f"{text!r}: only argument names, numbers and + - * / // % are "
                            "allowed")
    return tree


def _eval(node: ast.AST, values: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in values:
            raise ExprError(f"{node.id!r} is not an argument of this block")
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, values)
        return -v if isinstance(node.op, ast.USub) else +v
    a, b = _eval(node.left, values), _eval(node.right, values)
    for v in (a, b):
        if isinstance(v, (int, float)) and abs(v) > 1e15:
            raise ExprError("a value in an argument expression is out of range")
    op = type(node.op)
    if op is ast.Add:
        return a + b
    if op is ast.Sub:
        return a - b
    if op is ast.Mult:
        if isinstance(a, str) or isinstance(b, str):
            raise ExprError("text cannot be multiplied")
        return a * b
    if op is ast.Div:
        return a / b
    if op is ast.FloorDiv:
        return a // b
    return a % b


# -- numbers that remember their expression ---------------------------------------------------

def _wrap(expr: str) -> str:
    return expr if _SIMPLE.fullmatch(expr) else f"({expr})"


def _text(v: Any) -> str:
    return _wrap(v.expr) if isinstance(v, (SymInt, SymFloat)) else repr(v)


def _plain(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class _Sym:
    """A number whose repr is the expression it was computed from (e.g. 'planes * 4');
    str() and formatting with a spec give the plain number."""

    expr: str
    _number: type

    def __new__(cls, value, expr: str):
        obj = cls._number.__new__(cls, value)
        obj.expr = expr
        return obj

    def __repr__(self) -> str:
        return self.expr

    def __str__(self) -> str:
        return self._number.__repr__(self)

    def __format__(self, spec: str) -> str:
        return self.expr if not spec else self._number(self).__format__(spec)


class SymInt(_Sym, int):
    _number = int


class SymFloat(_Sym, float):
    _number = float


def tag(value: Any, expr: str) -> Any:
    """`value` as a SymInt/SymFloat carrying `expr` (other kinds of values are returned as is)."""
    if isinstance(value, bool) or not _plain(value):
        return value
    return SymInt(value, expr) if isinstance(value, int) else SymFloat(value, expr)


def _binary(op: str, fn):
    def forward(self, other):
        if not _plain(other):
            return NotImplemented
        return tag(fn(_num(self), _num(other)), f"{_text(self)} {op} {_text(other)}")

    def reverse(self, other):
        if not _plain(other):
            return NotImplemented
        return tag(fn(_num(other), _num(self)), f"{_text(other)} {op} {_text(self)}")
    return forward, reverse


def _num(v: Any) -> Any:
    return int(v) if isinstance(v, int) else float(v)


for _cls in (SymInt, SymFloat):
    for _name, _op, _fn in (("add", "+", lambda a, b: a + b), ("sub", "-", lambda a, b: a - b),
                            ("mul", "*", lambda a, b: a * b),
                            ("floordiv", "//", lambda a, b: a // b),
                            ("truediv", "/", lambda a, b: a / b),
                            ("mod", "%", lambda a, b: a % b)):
        _f, _r = _binary(_op, _fn)
        setattr(_cls, f"__{_name}__", _f)
        setattr(_cls, f"__r{_name}__", _r)
    _cls.__neg__ = lambda self: tag(-_num(self), f"-{_text(self)}")
    _cls.__pos__ = lambda self: self
    _cls.__hash__ = (int.__hash__ if _cls is SymInt else float.__hash__)


def strip(value: Any) -> Any:
    """A value with every SymInt/SymFloat (also inside lists and tuples) made a plain number."""
    if isinstance(value, SymInt):
        return int(value)
    if isinstance(value, SymFloat):
        return float(value)
    if isinstance(value, (list, tuple)):
        return type(value)(strip(v) for v in value)
    return value


__all__ = ["ExprError", "SymFloat", "SymInt", "evaluate", "names_in", "parse", "strip", "tag"]
