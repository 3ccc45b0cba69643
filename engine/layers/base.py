"""Layer specs: one object per layer type drives palette, inspector, shape inference and codegen.

A spec never imports torch: shape inference and parameter counts are pure Python so that
validating a 1,000-node graph stays fast. The generic registry test checks every spec against
the real torch module.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from ..guard.text import quote


class ParamError(ValueError):
    """A parameter value was refused; the message names the parameter and the received value."""


class ShapeError(ValueError):
    """Shape inference failed; `port` names the input port to blame when one is known."""

    def __init__(self, message: str, port: str | None = None):
        super().__init__(message)
        self.port = port


@dataclass(frozen=True)
class TensorType:
    """A tensor's type without its batch dimension: shape (ints) and dtype ('float' or 'long')."""

    shape: tuple[int, ...]
    dtype: str = "float"

    def __str__(self) -> str:
        return "×".join(["N", *map(str, self.shape)])

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


PARAM_KINDS = ("int", "float", "bool", "choice", "ints", "shape", "str")


@dataclass(frozen=True)
class Param:
    """A typed layer parameter.

    kind: int | float | bool | choice | ints (an int or a fixed-length tuple, or one of
    `choices` such as 'same') | shape (a list of positive ints) | str.
    """

    name: str
    kind: str
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    length: int | None = None
    optional: bool = False  # None is allowed (e.g. "no limit")

    def coerce(self, value: Any) -> Any:
        """Return the canonical form of `value` or raise ParamError naming this parameter."""
        if value is None and self.optional:
            return None
        try:
            return _COERCERS[self.kind](self, value)
        except ParamError:
            raise
        except (TypeError, ValueError, OverflowError):
            raise ParamError(self._refuse(value, f"expected {self.describe_kind()}")) from None

    def describe_kind(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(map(repr, self.choices))
        if self.kind == "ints":
            extra = f" or one of {', '.join(map(repr, self.choices))}" if self.choices else ""
            n = self.length or "n"
            return f"an integer or a list of {n} integers{extra}"
        if self.kind == "shape":
            return "a list of positive integers"
        return {"int": "an integer", "float": "a number", "bool": "true or false",
                "str": "text"}[self.kind]

    def _refuse(self, value: Any, why: str) -> str:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{self.name} must be {why}. Received: {self.name}={shown}"

    def _check_range(self, value: float) -> None:
        low = self.min is not None and value < self.min
        if low or (self.max is not None and value > self.max):
            raise ParamError(self._refuse(value, self.describe_range()))

    def describe_range(self) -> str:
        """'between 0 and 1', '>= 1' or '<= 10' ('' without bounds); whole bounds written
        out ('between 1 and 1,000,000', not 1e+06)."""
        low, high = _bound(self.min), _bound(self.max)
        if low and high:
            return f"between {low} and {high}"
        if low:
            return f">= {low}"
        return f"<= {high}" if high else ""


def _bound(value: float | None) -> str:
    if value is None:
        return ""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _int(p: Param, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or float(v) != int(v):
        raise ParamError(p._refuse(v, "an integer"))
    v = int(v)
    p._check_range(v)
    return v


def _float(p: Param, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ParamError(p._refuse(v, "a finite number"))
    v = float(v)
    p._check_range(v)
    return v


def _bool(p: Param, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ParamError(p._refuse(v, "true or false"))
    return v


def _choice(p: Param, v: Any) -> Any:
    if v not in p.choices or isinstance(v, bool) != isinstance(p.choices[0], bool):
        raise ParamError(p._refuse(v, p.describe_kind()))
    return v


def _ints(p: Param, v: Any) -> Any:
    if isinstance(v, str):
        if v in p.choices:
            return v
        raise ParamError(p._refuse(v, p.describe_kind()))
    if isinstance(v, (list, tuple)):
        if p.length is not None and len(v) != p.length:
            raise ParamError(p._refuse(v, p.describe_kind()))
        return [_int(p, x) for x in v]
    return _int(p, v)


def _shape(p: Param, v: Any) -> list[int]:
    if not isinstance(v, (list, tuple)) or not v or len(v) > 8:
        raise ParamError(p._refuse(v, "a list of 1 to 8 positive integers"))
    out = [_int(p, x) for x in v]
    if any(x < 1 for x in out):
        raise ParamError(p._refuse(v, "a list of positive integers"))
    return out


def _str(p: Param, v: Any) -> str:
    if not isinstance(v, str) or len(v) > 200:
        raise ParamError(p._refuse(v, "text of at most 200 characters"))
    return v


_COERCERS: dict[str, Callable[[Param, Any], Any]] = {
    "int": _int, "float": _float, "bool": _bool, "choice": _choice,
    "ints": _ints, "shape": _shape, "str": _str,
}


def expand(value: Any, n: int) -> tuple[int, ...]:
    """An `ints` parameter as an n-tuple (a single int is repeated)."""
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,) * n


@dataclass
class Explanation:
    """How a node's output shape and parameter count follow from its params, numbers filled in."""

    shape: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(self.shape + self.params)


class LayerSpec:
    """Base class of a layer type. Subclasses set the class attributes and override methods.

    Methods take `p` (the node's canonical params dict) and `ins` (the input TensorTypes in
    input-port order) and must not import torch.
    """

    id: ClassVar[str] = ""            # stable namespaced id, e.g. "core.Linear"
    name: ClassVar[str] = ""          # display name
    category: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    doc: ClassVar[str] = ""           # one-line description (palette tooltip)
    formula: ClassVar[str] = ""       # the layer's defining formula, shown in the inspector
    support: ClassVar[str] = ""       # extra module source (helper classes) the code needs
    role: ClassVar[str] = "layer"     # "input" | "output" | "layer"

    # ports ---------------------------------------------------------------------------
    def input_ports(self, p: dict) -> list[str]:
        return ["in"]

    def output_ports(self, p: dict) -> list[str]:
        return ["out"]

    # params --------------------------------------------------------------------------
    def defaults(self) -> dict:
        return {q.name: q.default for q in self.params}

    def param(self, name: str) -> Param:
        for q in self.params:
            if q.name == name:
                return q
        raise ParamError(f"{self.name} has no parameter {quote(name)}")

    def coerce_params(self, values: dict | None) -> dict:
        """Defaults overlaid with `values`, each coerced; unknown names are an error."""
        values = dict(values or {})
        out = {}
        for q in self.params:
            out[q.name] = q.coerce(values.pop(q.name)) if q.name in values else q.default
        if values:
            raise ParamError(f"{self.name} has no parameter {quote(sorted(values)[0])}")
        self.check_params(out)
        return out

    def check_params(self, p: dict) -> None:
        """Cross-parameter checks; raise ParamError."""

    def shown_params(self, p: dict) -> dict:
        """The params as a node card shows them: the effective value where a stored value
        stands for another (a pooling stride of 0 means "= kernel_size")."""
        return p

    @property
    def can_learn(self) -> bool:
        """True if nodes of this type can have weights (it counts parameters)."""
        return type(self).param_count is not LayerSpec.param_count

    # shapes and counts -----------------------------------------------------------------
    def infer(self, p: dict, ins: list[TensorType]) -> list[TensorType]:
        """Output types, one per output port; raise ShapeError on bad inputs."""
        return [ins[0]]

    def param_count(self, p: dict, ins: list[TensorType]) -> int:
        return 0

    def flops(self, p: dict, ins: list[TensorType], outs: list[TensorType]) -> int:
        """Approximate multiply-accumulates per sample (0 for cheap element-wise ops)."""
        return 0

    def explain(self, p: dict, ins: list[TensorType], outs: list[TensorType]) -> Explanation:
        e = Explanation()
        if ins and outs:
            e.shape.append(f"output {outs[0]} (same as input)" if ins[0] == outs[0]
                           else f"output {outs[0]}")
        e.params.append(f"params = {self.param_count(p, ins)}")
        return e

    # code ----------------------------------------------------------------------------
    def module(self, p: dict, ins: list[TensorType]) -> str | None:
        """Source of the constructor expression of this node's submodule, or None."""
        return None

    def forward(self, p: dict, attr: str, args: list[str], outs: list[str]) -> list[str]:
        """Statements of `forward` that compute `outs` from `args`; `self.<attr>` is the module."""
        return [f"{outs[0]} = self.{attr}({args[0]})"]

    # helpers for subclasses ------------------------------------------------------------
    def require_rank(self, t: TensorType, ranks: tuple[int, ...], what: str,
                     port: str = "in") -> None:
        if t.rank not in ranks:
            want = " or ".join(f"(N, {_dims(r)})" for r in ranks)
            hint = " Add a Flatten before it." if 1 in ranks and t.rank > 1 else ""
            raise ShapeError(f"expected input {want} ({what}), received {t}.{hint}", port)

    def require_float(self, t: TensorType, port: str = "in") -> None:
        if t.dtype != "float":
            raise ShapeError(f"expected a float tensor, received integer ids {t}: "
                             "add an Embedding first", port)


def _dims(rank: int) -> str:
    return ", ".join(["C", "L"] if rank == 2 else ["C", "H", "W"] if rank == 3
                     else ["C", "D", "H", "W"] if rank == 4 else ["F"] if rank == 1
                     else [f"d{i}" for i in range(rank)])


class RegistryError(KeyError):
    """A layer id is registered twice, or is unknown."""

    def __str__(self) -> str:
        return str(self.args[0])


REGISTRY: dict[str, LayerSpec] = {}


def register(cls: type[LayerSpec]) -> type[LayerSpec]:
    """Class decorator: register one instance of a LayerSpec subclass under its id."""
    if not cls.id or "." not in cls.id:
        raise RegistryError(f"layer id must be namespaced like 'core.Linear', got {quote(cls.id)}")
    if cls.id in REGISTRY:
        raise RegistryError(f"layer id {quote(cls.id)} is already registered")
    REGISTRY[cls.id] = cls()
    return cls


def get_spec(layer_id: str) -> LayerSpec:
    try:
        return REGISTRY[layer_id]
    except KeyError:
        raise RegistryError(f"unknown layer type {quote(layer_id)}") from None
