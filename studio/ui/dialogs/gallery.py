"""New from example: a gallery of the bundled example projects, each with a schematic
thumbnail drawn from the file's node positions (no graph building, no torch)."""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
    QTransform,
)
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from engine.examples import describe, example_paths, lesson_paths
from engine.layers import REGISTRY

from ..canvas.edge_item import wire_path
from ..canvas.node_item import DEFAULT_HEIGHT, PORT_Y, WIDTH
from ..palette import category_color
from ..theme import canvas_colors

THUMB = QSize(176, 92)
NODE_W, NODE_H = WIDTH, DEFAULT_HEIGHT   # a node's size in scene units
PATH_ROLE = Qt.ItemDataRole.UserRole
NAME_ROLE = Qt.ItemDataRole.UserRole + 1
DESC_ROLE = Qt.ItemDataRole.UserRole + 2
THUMB_ROLE = Qt.ItemDataRole.UserRole + 3


def _read_graph(path: Path) -> tuple[list[dict], list[dict]]:
    """Nodes and edges of a project file, or empty lists if it cannot be read."""
    try:
        graph = json.loads(path.read_text("utf-8")).get("graph", {})
        nodes = [n for n in graph.get("nodes", []) if isinstance(n, dict)]
        edges = [e for e in graph.get("edges", []) if isinstance(e, dict)]
        return nodes, edges
    except (OSError, ValueError, AttributeError):
        return [], []


def _node_pos(node: dict) -> tuple[float, float]:
    try:
        x, y = node.get("pos", (0, 0))
        return float(x), float(y)
    except (TypeError, ValueError):
        return 0.0, 0.0


def draw_thumbnail(path: Path, size: QSize = THUMB) -> QPixmap:
    """A schematic of the project's graph: category-coloured boxes joined by wires, on the
    current theme's canvas background."""
    colors = canvas_colors()
    pm = QPixmap(size)
    pm.fill(QColor(colors.background))
    nodes, edges = _read_graph(path)
    if not nodes:
        return pm
    pos = {n.get("id"): _node_pos(n) for n in nodes}
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    bounds = QRectF(min(xs), min(ys), max(xs) - min(xs) + NODE_W, max(ys) - min(ys) + NODE_H)
    margin = 8.0
    scale = min((size.width() - 2 * margin) / bounds.width(),
                (size.height() - 2 * margin) / bounds.height())
    w = max(NODE_W * scale, 8.0)
    h = max(NODE_H * scale, 10.0)
    ox = (size.width() - bounds.width() * scale) / 2
    oy = (size.height() - bounds.height() * scale) / 2

    def rect(nid) -> QRectF:
        x, y = pos[nid]
        cx = ox + (x - bounds.left() + NODE_W / 2) * scale
        cy = oy + (y - bounds.top() + NODE_H / 2) * scale
        return QRectF(cx - w / 2, cy - h / 2, w, h)

    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    # the wires as the canvas draws them (rows joined by wires that turn back between them),
    # in scene units, then scaled into the thumbnail
    to_thumb = QTransform(scale, 0, 0, scale, ox - bounds.left() * scale,
                          oy - bounds.top() * scale)
    p.setPen(QPen(QColor(colors.wire), 1.2))
    for e in edges:
        if e.get("src") in pos and e.get("dst") in pos:
            (ax, ay), (bx, by) = pos[e["src"]], pos[e["dst"]]
            path = wire_path(QPointF(ax + NODE_W, ay + PORT_Y), QPointF(bx, by + PORT_Y))
            p.drawPath(to_thumb.map(path))
    for n in nodes:
        spec = REGISTRY.get(n.get("type"))
        color = category_color(spec.category if spec else "")
        p.setPen(QPen(color.darker(140), 1))
        p.setBrush(color)
        radius = min(w, h) / 4
        p.drawRoundedRect(rect(n.get("id")), radius, radius)
    p.end()
    return pm


class _ExampleDelegate(QStyledItemDelegate):
    """Thumbnail on the left, the example's name in bold and its description below."""

    PAD = 6

    def sizeHint(self, option, index) -> QSize:
        return QSize(THUMB.width() + 320, THUMB.height() + 2 * self.PAD)

    def paint(self, painter: QPainter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, opt.widget)
        r = option.rect.adjusted(self.PAD, self.PAD, -self.PAD, -self.PAD)
        painter.save()
        thumb = index.data(THUMB_ROLE)
        if isinstance(thumb, QPixmap):
            painter.drawPixmap(r.left(), r.top(), thumb)
            painter.setPen(QPen(opt.palette.color(QPalette.ColorRole.Mid), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(r.left(), r.top(), thumb.width(), thumb.height()))
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(opt.palette.color(role))
        text_rect = r.adjusted(THUMB.width() + 14, 4, 0, 0)
        bold = QFont(opt.font)
        bold.setBold(True)
        bold.setPointSizeF(opt.font.pointSizeF() * 1.1)
        painter.setFont(bold)
        line = QFontMetrics(bold).height()
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                         index.data(NAME_ROLE) or "")
        painter.setFont(opt.font)
        painter.drawText(text_rect.adjusted(0, line + 4, 0, 0),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
                         | Qt.TextFlag.TextWordWrap, index.data(DESC_ROLE) or "")
        painter.restore()


class ExampleGallery(QDialog):
    """Pick a bundled example; `exec()` returns Accepted and `chosen_path()` gives its file."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("New from Example")
        self.list = QListWidget()
        self.list.setSpacing(2)
        self.list.setItemDelegate(_ExampleDelegate(self.list))
        for name, path in {**example_paths(), **lesson_paths()}.items():
            item = QListWidgetItem(f"{name}: {describe(path)}")
            item.setData(PATH_ROLE, str(path))
            item.setData(NAME_ROLE, name)
            item.setData(DESC_ROLE, describe(path) or "(no description)")
            item.setData(THUMB_ROLE, draw_thumbnail(path))
            item.setToolTip(path.name)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.list.itemActivated.connect(lambda _item: self.accept())
        self.list.currentRowChanged.connect(self._update_buttons)
        heading = QLabel("Start from one of the bundled example projects or lessons:")
        lay = QVBoxLayout(self)
        lay.addWidget(heading)
        lay.addWidget(self.list)
        lay.addWidget(self.buttons)
        self._update_buttons()
        self.resize(660, 640)

    def _update_buttons(self, *_args) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Open)
        ok.setEnabled(self.list.currentItem() is not None)

    def example_names(self) -> list[str]:
        return [Path(self.list.item(i).data(PATH_ROLE)).stem for i in range(self.list.count())]

    def select(self, name: str) -> None:
        for i in range(self.list.count()):
            if Path(self.list.item(i).data(PATH_ROLE)).stem == name:
                self.list.setCurrentRow(i)
                return
        raise KeyError(f"no example named {name!r}")

    def chosen_path(self) -> Path | None:
        """The selected example's file (None if nothing is selected)."""
        item = self.list.currentItem()
        return Path(item.data(PATH_ROLE)) if item is not None else None
