"""A layer node: category-coloured header with the layer type, the node name, key params,
input ports on the left, output ports on the right and a validation badge."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from engine.graph import Node

from ..theme import canvas_colors, category_color
from .badge_item import BadgeItem
from .port_item import PortItem

FROZEN = "#4a90c8"                 # the dashed border (and rate label) of frozen weights
FROZEN_TINT = QColor(74, 144, 200, 34)

WIDTH = 120.0
HEADER = 22.0
ROW = 16.0
MAX_PARAM_ROWS = 2
PORT_Y = HEADER + 20.0
PORT_STEP = 18.0
TITLE_PX, NAME_PX, PARAM_PX = 11, 12, 11   # text sizes in scene pixels
#: the smallest zoom at which every text on a node is >= 9 screen pixels (the opening zoom)
READABLE_ZOOM = 9 / min(TITLE_PX, NAME_PX, PARAM_PX)
DEFAULT_HEIGHT = HEADER + 8 + (MAX_PARAM_ROWS + 1) * ROW + 6   # a node with one in/out port


def format_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return "×".join(map(str, value)) if value else "[]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def key_params(node: Node) -> list[str]:
    """Up to two 'name value' lines summarising the node (bool flags are skipped; values as
    the layer uses them, e.g. a pooling stride of 0 shows as the kernel size)."""
    out = []
    shown = node.spec.shown_params(node.params)
    for q in node.spec.params:
        if q.kind == "bool" or (node.is_block and q.name == "repeat") or \
                (q.kind == "choice" and shown.get(q.name) == "none"):  # an option left off
            continue
        bound = node.exprs.get(q.name)  # inside a block: set by the block's arguments
        out.append(f"{q.name} = {bound}" if bound else
                   f"{q.name} {format_value(shown.get(q.name))}")
        if len(out) == MAX_PARAM_ROWS:
            break
    return out


def _font(px: int, bold: bool = False) -> QFont:
    f = QFont()
    f.setPixelSize(px)
    f.setBold(bold)
    return f


class NodeItem(QGraphicsItem):
    """The canvas item of one graph node; `refresh()` re-reads the node after an edit."""

    def __init__(self, node: Node):
        super().__init__()
        self.node = node
        self.node_id = node.id
        self.in_ports: dict[str, PortItem] = {}
        self.out_ports: dict[str, PortItem] = {}
        self._lines: list[str] = []
        self._height = 60.0
        self.extra_height = 0.0        # room below the text for a picture (unit heatmaps)
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1)
        self.badge = BadgeItem(self)
        self.badge.setPos(WIDTH - 4, 2)
        self.refresh()
        self.setPos(QPointF(*node.pos))

    # geometry ------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        extra = 10 if self.node.is_block else 0  # room for a repeated block's stack
        return QRectF(-2, -2, WIDTH + 4 + extra, self._height + 4 + extra)

    def body_rect(self) -> QRectF:
        return QRectF(0, 0, WIDTH, self._height)

    def center(self) -> QPointF:
        return self.sceneBoundingRect().center()

    def refresh(self) -> None:
        """Re-read name, params and ports from the node (after a param/rename/reset event)."""
        node = self.node
        self._lines = key_params(node)
        ins, outs = node.input_ports(), node.output_ports()
        rows = max(MAX_PARAM_ROWS + 1, len(self._lines) + 1, len(ins), len(outs))
        height = DEFAULT_HEIGHT + (rows - MAX_PARAM_ROWS - 1) * ROW + self.extra_height
        if height != self._height:   # else a repaint: no work for the scene's index
            self.prepareGeometryChange()
            self._height = height
        self._sync_ports(self.in_ports, ins, False)
        self._sync_ports(self.out_ports, outs, True)
        tip = [f"<b>{node.name}</b> — {node.spec.name}", node.spec.doc]
        self.setToolTip("<br>".join(t for t in tip if t))
        self.update()

    def _sync_ports(self, items: dict[str, PortItem], names: list[str], output: bool) -> None:
        for name in [n for n in items if n not in names]:
            item = items.pop(name)
            item.setParentItem(None)
            if item.scene():
                item.scene().removeItem(item)
        for i, name in enumerate(names):
            item = items.get(name) or PortItem(self.node_id, name, output, self)
            items[name] = item
            item.setPos(WIDTH if output else 0.0, PORT_Y + PORT_STEP * i)

    def set_extra_height(self, height: float) -> float:
        """Make the card `height` taller; returns the y where that room starts."""
        if height != self.extra_height:
            self.extra_height = height
            self.refresh()
        return self._height - self.extra_height - 4

    def port(self, name: str, output: bool) -> PortItem | None:
        return (self.out_ports if output else self.in_ports).get(name)

    def set_issues(self, messages: list[str], severity: str) -> None:
        self.badge.set_messages(messages, severity)

    # behaviour (moves are followed by the scene: see GraphScene.follow_drag) -------------
    def mouseDoubleClickEvent(self, event) -> None:
        scene = self.scene()
        if scene is not None and self.node.is_block and hasattr(scene, "enter_requested"):
            scene.enter_requested.emit(self.node_id)  # a block opens; F2 renames it
        elif scene is not None and hasattr(scene, "rename_requested"):
            scene.rename_requested.emit(self.node_id)
        event.accept()

    # painting ------------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        c = canvas_colors()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        rect = self.body_rect()
        cat = category_color(self.node.spec.category)
        selected = self.isSelected()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, lod > 0.3)
        frozen = not self.node.trainable and self.node.spec.can_learn
        border = QPen(QColor(c.selection), 2.4) if selected else \
            QPen(QColor(FROZEN), 1.6, Qt.PenStyle.DashLine) if frozen else \
            QPen(QColor(c.node_border), 1)
        repeat = self.node.params.get("repeat", 1) if self.node.is_block else 1
        if repeat > 1:  # a stack of cards: this block runs several times in a row
            painter.setPen(QPen(QColor(c.node_border), 1))
            painter.setBrush(QBrush(QColor(c.node_body)))
            for k in (2, 1):
                painter.drawRoundedRect(rect.translated(4 * k, 4 * k), 7, 7)
        painter.setPen(border)
        painter.setBrush(QBrush(QColor(c.node_body)))
        painter.drawRoundedRect(rect, 7, 7)
        if frozen:  # frozen weights: an icy tint over the card
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(FROZEN_TINT))
            painter.drawRoundedRect(rect, 7, 7)
        header = QPainterPath()
        header.setFillRule(Qt.FillRule.WindingFill)
        header.addRoundedRect(QRectF(0.5, 0.5, WIDTH - 1, HEADER), 6.5, 6.5)
        header.addRect(QRectF(0.5, HEADER / 2, WIDTH - 1, HEADER / 2))
        painter.fillPath(header, cat)
        if lod < 0.35:
            return
        painter.setPen(QColor("#ffffff"))
        painter.setFont(_font(TITLE_PX, True))
        title = self.node.spec.name + (f" ×{repeat}" if repeat > 1 else "") + \
            ("  ❄" if frozen else "")
        painter.drawText(QRectF(9, 0, WIDTH - 24, HEADER),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)
        painter.setPen(QColor(c.node_text))
        painter.setFont(_font(NAME_PX, True))
        y = HEADER + 5
        metrics = painter.fontMetrics()
        name = metrics.elidedText(self.node.name, Qt.TextElideMode.ElideRight, int(WIDTH - 20))
        painter.drawText(QRectF(10, y, WIDTH - 20, ROW + 2), Qt.AlignmentFlag.AlignLeft, name)
        painter.setFont(_font(PARAM_PX))
        painter.setPen(QColor(c.node_subtext))
        metrics = painter.fontMetrics()
        for i, line in enumerate(self._lines):
            text = metrics.elidedText(line, Qt.TextElideMode.ElideRight, int(WIDTH - 20))
            painter.drawText(QRectF(10, y + (i + 1) * ROW + 2, WIDTH - 20, ROW),
                             Qt.AlignmentFlag.AlignLeft, text)
        self._paint_lr_factor(painter, rect)

    def _paint_lr_factor(self, painter: QPainter, rect: QRectF) -> None:
        """'lr ×0.1' in the card's lower right corner when the block has its own rate
        (training.lr_scales, read through the scene's `lr_factor_of`)."""
        factor_of = getattr(self.scene(), "lr_factor_of", None)
        factor = factor_of(self.node.name) if factor_of is not None else None
        if factor is None:
            return
        painter.setFont(_font(PARAM_PX, True))
        painter.setPen(QColor(FROZEN))
        painter.drawText(rect.adjusted(0, 0, -8, -3), Qt.AlignmentFlag.AlignRight
                         | Qt.AlignmentFlag.AlignBottom, f"lr ×{factor:g}")
