"""The pieces a Graph is made of (engine.graph): nodes, edges, the change events a graph
emits, and the rules for node names and positions. Nothing here imports Qt or torch.
"""
from __future__ import annotations

import copy
import keyword
import math
import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .layers import LayerSpec, RegistryError, get_spec

if TYPE_CHECKING:
    from .graph import Graph

BLOCK_PREFIX = "block:"  # the type of a block instance node is "block:<BlockTypeName>"


class GraphError(ValueError):
    """An edit was refused (unknown node or port, an input port already connected, ...)."""


@dataclass
class Node:
    id: str
    type: str
    name: str
    params: dict[str, Any]
    trainable: bool = True
    pos: tuple[float, float] = (0.0, 0.0)
    #: inside a block type: param name -> expression of the block's arguments ("planes * 4")
    exprs: dict[str, str] = field(default_factory=dict)
    #: the project's block types (set by the graph holding the node), for instance nodes
    blocks: dict | None = field(default=None, compare=False, repr=False)

    @property
    def spec(self) -> LayerSpec:
        if self.type.startswith(BLOCK_PREFIX):
            return block_spec(self.blocks, self.type)
        return get_spec(self.type)

    @property
    def is_block(self) -> bool:
        return self.type.startswith(BLOCK_PREFIX)

    def input_ports(self) -> list[str]:
        return self.spec.input_ports(self.params)

    def output_ports(self) -> list[str]:
        return self.spec.output_ports(self.params)

    def to_dict(self) -> dict:
        out = {"id": self.id, "type": self.type, "name": self.name,
               "params": copy.deepcopy(self.params), "trainable": self.trainable,
               "pos": [float(self.pos[0]), float(self.pos[1])]}
        if self.exprs:
            out["expr"] = dict(self.exprs)
        return out


def block_spec(blocks: dict | None, type_id: str) -> LayerSpec:
    """The spec of a block instance node (`type_id` is "block:<name>")."""
    name = type_id[len(BLOCK_PREFIX):]
    btype = (blocks or {}).get(name)
    if btype is None:
        raise RegistryError(f"unknown block type {name!r}")
    return btype.spec


@dataclass(frozen=True)
class Edge:
    """A wire from an output port of `src` to an input port of `dst`."""

    src: str
    src_port: str
    dst: str
    dst_port: str

    def to_dict(self) -> dict:
        return {"src": self.src, "src_port": self.src_port,
                "dst": self.dst, "dst_port": self.dst_port}


class GraphChange(StrEnum):
    """What a GraphEvent reports, and which of its fields are set (a str: it compares equal
    to its value, e.g. "node_added")."""

    NODE_ADDED = "node_added"          # node_id
    NODE_REMOVED = "node_removed"      # node_id; old: the removed Node
    EDGE_ADDED = "edge_added"          # node_id: the edge's destination; edge
    EDGE_REMOVED = "edge_removed"      # node_id: the edge's destination; edge
    PARAM_CHANGED = "param_changed"    # node_id, name (the param), old, new
    NODE_RENAMED = "node_renamed"      # node_id, old, new
    NODE_MOVED = "node_moved"          # node_id, old, new: (x, y)
    TRAINABLE_CHANGED = "trainable_changed"  # node_id, old, new
    RESET = "reset"                    # node_id: its ports changed; None: everything did
    BLOCK_ADDED = "block_added"        # name (the block type's), new: the BlockType
    BLOCK_REMOVED = "block_removed"    # name, old: the BlockType
    BLOCK_CHANGED = "block_changed"    # name; old: the event inside the type's body


@dataclass(frozen=True)
class GraphEvent:
    """One change of a Graph; `kind` (a GraphChange, also accepted as its string) says which
    fields are set."""

    kind: GraphChange
    node_id: str | None = None
    edge: Edge | None = None
    name: str | None = None
    old: Any = None
    new: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", GraphChange(self.kind))  # a misspelt kind raises

    @property
    def structural(self) -> bool:
        """True if the event can change connectivity or ports (so validation must redo all)."""
        if self.kind == "block_changed":
            inner = self.old
            return inner is None or inner.structural or inner.kind in (
                "node_renamed", "block_changed")
        return self.kind in ("node_added", "node_removed", "edge_added", "edge_removed", "reset",
                             "block_removed")


_NAME_RE = re.compile(r"[^0-9a-zA-Z_]")
MAX_COORD = 1e9  # the project loader refuses positions beyond this


def check_name(name: str) -> str:
    """A node name is one line of text: no control characters or line breaks (names end up
    in comments of generated code, where a line break would start a line of code)."""
    bad = [c for c in name if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp")]
    if bad:
        raise GraphError(f"the name {name[:40]!r} contains a control character "
                         f"({bad[0]!r}); use one line of text")
    if len(name) > 200:
        raise GraphError(f"the name {name[:40]!r}... is longer than 200 characters")
    return name


def _position(pos: tuple[float, float]) -> tuple[float, float]:
    """A canvas position as floats; refuses NaN/inf and values a saved file could not hold."""
    x, y = float(pos[0]), float(pos[1])
    if not (math.isfinite(x) and math.isfinite(y)) or max(abs(x), abs(y)) > MAX_COORD:
        raise GraphError(f"position ({x}, {y}) is out of range (at most ±{MAX_COORD:g})")
    return x, y


def python_name(name: str) -> str:
    """A valid, lower-case Python identifier derived from a display name."""
    s = _NAME_RE.sub("_", name.strip()).lower() or "node"
    if s[0].isdigit():
        s = "n_" + s
    if keyword.iskeyword(s):
        s += "_"
    return s


class BlockTypes(dict):
    """The block types of a project by name; `root` is the model's graph, which owns them."""

    def __init__(self, root: Graph):
        super().__init__()
        self.root = root
