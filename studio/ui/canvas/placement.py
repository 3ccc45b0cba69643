"""Where new nodes go: a layer dropped on a wire makes room (the nodes after it move right
instead of being covered), and a layer added after the selected node goes to its right.

Pure geometry on the graph and the nodes' scene rectangles; the canvas turns the result into
the positions of an undoable edit."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF

from engine.graph import Edge, Graph

GAP = 70.0       # free space kept between a node and the next one in a row


def descendants(graph: Graph, node_id: str) -> set[str]:
    seen, stack = {node_id}, [node_id]
    while stack:
        for e in graph.out_edges(stack.pop()):
            if e.dst not in seen:
                seen.add(e.dst)
                stack.append(e.dst)
    return seen


def make_room(graph: Graph, rects: dict[str, QRectF], new: QRectF, edge: Edge,
              exclude: str | None = None) -> tuple[QPointF, dict[str, tuple]]:
    """Position for a node of size `new.size()` dropped at `new.topLeft()` into `edge`, and
    {node_id: (old_pos, new_pos)} moves of the nodes after it that make room: a node that
    would be covered, or left with less than GAP, moves right with everything downstream of
    it in the same row."""
    others = {nid: r for nid, r in rects.items() if nid != exclude}
    after = descendants(graph, edge.dst)
    pos = QPointF(new.topLeft())
    blockers = [r for nid, r in others.items() if nid not in after and
                _crowds(r, QRectF(pos, new.size()))]
    if blockers:  # upstream nodes (the wire's source) stay: the new node goes after them
        pos.setX(max(r.right() for r in blockers) + GAP)
    box = QRectF(pos, new.size())
    crowded = [nid for nid in after if nid in others and _crowds(others[nid], box)]
    if not crowded:
        return pos, {}
    shift = box.right() + GAP - min(others[nid].left() for nid in crowded)
    left = min(others[nid].left() for nid in crowded)
    moves = {}
    for nid in after:
        r = others.get(nid)
        if r is not None and r.left() >= left - 1 and _same_row(r, box):
            old = tuple(graph.nodes[nid].pos)
            moves[nid] = (old, (old[0] + shift, old[1]))
    return pos, moves


def beside(rects: dict[str, QRectF], anchor: QRectF, size, row_step: float) -> QPointF:
    """Top-left for a node of `size` to the right of `anchor` (GAP apart), moved down a row
    at a time until it covers no other node."""
    pos = QPointF(anchor.right() + GAP, anchor.top())
    for _ in range(50):
        box = QRectF(pos, size)
        if not any(_crowds(r, box, margin=10) for r in rects.values()):
            break
        pos.setY(pos.y() + row_step)
    return pos


def _crowds(r: QRectF, box: QRectF, margin: float = GAP / 2) -> bool:
    """True if `r` overlaps `box` or comes closer than `margin` to its left/right sides."""
    return r.adjusted(-margin, 0, margin, 0).intersects(box)


def _same_row(r: QRectF, box: QRectF) -> bool:
    return r.top() < box.bottom() and box.top() < r.bottom()
