"""Quick add: a frameless popup with a search line and a ranked list of layer types
(Tab or double-click on empty canvas, as in Blender's and Unreal's node editors)."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (QFrame, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QStyle, QStyledItemDelegate, QVBoxLayout, QWidget)

from engine.layers import REGISTRY, LayerSpec

from .palette import ID_ROLE, layer_tooltip, swatch_icon


def _subsequence(needle: str, hay: str) -> bool:
    it = iter(hay)
    return all(ch in it for ch in needle)


def score(spec: LayerSpec, text: str) -> int | None:
    """Rank of `spec` for the query (lower is better), or None if it does not match.

    Exact name, name prefix, substring of name, of id, of category, then the query's
    letters in order in the name or id ("cv2" finds Conv2d).
    """
    t = text.strip().lower()
    if not t:
        return 0
    name, lid, cat = spec.name.lower(), spec.id.lower(), spec.category.lower()
    short = lid.split(".", 1)[-1]
    if t in (name, short):
        return 0
    if name.startswith(t) or short.startswith(t):
        return 1
    if t in name:
        return 2
    if t in lid:
        return 3
    if t in cat:
        return 4
    if _subsequence(t, name) or _subsequence(t, lid):
        return 5
    return None


def rank(text: str) -> list[LayerSpec]:
    """Matching specs, best first; ties go to the shorter name (the closer match), then to
    the registry's order."""
    scored = [(s, len(spec.name) if text.strip() else 0, i, spec)
              for i, spec in enumerate(REGISTRY.values())
              if (s := score(spec, text)) is not None]
    return [spec for *_, spec in sorted(scored, key=lambda x: x[:3])]


CATEGORY_ROLE = Qt.ItemDataRole.UserRole + 1


class _CategoryDelegate(QStyledItemDelegate):
    """Draws the layer's category right-aligned and muted after its name."""

    def paint(self, painter, option, index) -> None:
        super().paint(painter, option, index)
        category = index.data(CATEGORY_ROLE)
        if not category:
            return
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        color = option.palette.color(QPalette.ColorRole.HighlightedText if selected
                                     else QPalette.ColorRole.PlaceholderText)
        painter.setPen(color)
        font = QFont(option.font)
        font.setPointSizeF(max(font.pointSizeF() * 0.85, 6.0))
        painter.setFont(font)
        painter.drawText(option.rect.adjusted(0, 0, -6, 0),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, category)
        painter.restore()


class QuickAddPopup(QFrame):
    """Type to filter, Up/Down to move, Enter to choose (emits `chosen(layer_id)`), Esc closes."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Popup | Qt.WindowType.FramelessWindowHint)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.search = QLineEdit(placeholderText="Add layer…")
        self.list = QListWidget()
        self.list.setIconSize(QSize(10, 10))
        self.list.setUniformItemSizes(True)
        self.list.setItemDelegate(_CategoryDelegate(self.list))
        self.hint = QLabel("Enter add · Esc close")
        self.hint.setStyleSheet("color: gray; font-size: 9pt")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 4)
        lay.setSpacing(4)
        lay.addWidget(self.search)
        lay.addWidget(self.list)
        lay.addWidget(self.hint)
        self.resize(260, 320)
        self.search.textChanged.connect(self._refill)
        self.search.returnPressed.connect(self._choose_current)
        self.list.itemActivated.connect(lambda _item: self._choose_current())
        self.search.installEventFilter(self)
        self._refill("")

    def popup_at(self, global_pos: QPoint) -> None:
        """Open at `global_pos` with an empty query, kept on screen."""
        self.search.clear()
        self._refill("")
        screen = self.screen().availableGeometry() if self.screen() else None
        pos = QPoint(global_pos)
        if screen is not None:
            pos.setX(max(screen.left(), min(pos.x(), screen.right() - self.width())))
            pos.setY(max(screen.top(), min(pos.y(), screen.bottom() - self.height())))
        self.move(pos)
        self.show()
        self.raise_()
        self.activateWindow()
        self.search.setFocus()

    def visible_ids(self) -> list[str]:
        return [self.list.item(i).data(ID_ROLE) for i in range(self.list.count())]

    def _refill(self, text: str) -> None:
        self.list.clear()
        for spec in rank(text):
            item = QListWidgetItem(swatch_icon(spec.category, 10), spec.name)
            item.setData(ID_ROLE, spec.id)
            item.setData(CATEGORY_ROLE, spec.category)
            item.setToolTip(layer_tooltip(spec))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def _choose_current(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        layer_id = item.data(ID_ROLE)
        self.hide()
        self.chosen.emit(layer_id)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.search and event.type() == event.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                row = self.list.currentRow()
                step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1,
                        Qt.Key.Key_PageDown: 8, Qt.Key.Key_PageUp: -8}[key]
                if self.list.count():
                    self.list.setCurrentRow(max(0, min(self.list.count() - 1, row + step)))
                return True
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(obj, event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.hide()
            return
        super().keyPressEvent(event)
