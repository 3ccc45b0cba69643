"""A small vocabulary for writing networks as Studio graphs: block types with arguments,
layers wired to what they read, chains named 0, 1, 2, ... (written as `nn.Sequential`).

The gallery's architectures are described with it; the result is an ordinary project graph
(block types stored once, instances as nodes), laid out left to right.
"""
from __future__ import annotations

from typing import Any

from ..blocks import BlockType, make_arg
from ..graph import BLOCK_PREFIX, Graph

Src = str | list[str]  # the node id(s) a new node reads, in its input-port order


def arg(name: str, default: Any, help: str = "", kind: str | None = None):
    """A block argument (int unless the default says otherwise)."""
    kind = kind or ("float" if isinstance(default, float) else "int")
    return make_arg(name, kind, default, help, min=0 if kind in ("int", "float") else None)


class Body:
    """Adds nodes to one graph: the model, or the body of a block type."""

    def __init__(self, graph: Graph):
        self.graph = graph

    @classmethod
    def model(cls) -> Body:
        return cls(Graph())

    # block types -----------------------------------------------------------------------------
    def has_type(self, name: str) -> bool:
        return name in self.graph.blocks

    def block_type(self, name: str, args: list, doc: str) -> Body:
        """A new block type of the project; returns the body to fill (Input first)."""
        btype = BlockType(name, Graph(self.graph.blocks), list(args), doc)
        self.graph.add_block_type(btype)
        return Body(btype.graph)

    # nodes -----------------------------------------------------------------------------------
    def input(self, shape=(3, 224, 224), name: str = "x") -> str:
        return self.graph.add_node("io.Input", {"shape": list(shape)}, name=name).id

    def output(self, src: str, name: str = "out") -> str:
        node = self.graph.add_node("io.Output", {}, name=name)
        self._wire([src], node.id)
        return node.id

    def add(self, type_id: str, src: Src, name: str, expr: dict | None = None,
            **params) -> str:
        """A layer (or a block instance, "block:<Name>") reading `src`; `expr` binds params
        to expressions of the enclosing block's arguments ({"out_channels": "planes * 4"})."""
        node = self.graph.add_node(type_id, params, name=name)
        for pname, text in (expr or {}).items():
            self.graph.set_expr(node.id, pname, text)
        self._wire([src] if isinstance(src, str) else list(src), node.id)
        return node.id

    def block(self, type_name: str, src: Src, name: str, expr: dict | None = None,
              **args) -> str:
        return self.add(BLOCK_PREFIX + type_name, src, name, expr, **args)

    def chain(self, src: str, items: list[tuple]) -> str:
        """Nodes one after another, named "0", "1", ... (a body written as nn.Sequential);
        each item is (type id, params) or (type id, params, expr)."""
        for i, item in enumerate(items):
            type_id, params, expr = (*item, None)[:3]
            src = self.add(type_id, src, str(i), expr, **params)
        return src

    def _wire(self, srcs: list[str], dst: str) -> None:
        node = self.graph.nodes[dst]
        for src, port in zip(srcs, node.input_ports()):
            self.graph.connect(src, self.graph.nodes[src].output_ports()[0], dst, port)

    # the end -----------------------------------------------------------------------------------
    def finish(self) -> Graph:
        """Lay out the model and every block body left to right; returns the model graph."""
        from ..importers.builder import layout

        for g in self.graph.all_graphs():
            layout(g)
        return self.graph


__all__ = ["Body", "arg"]
