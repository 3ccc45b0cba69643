"""The layer palette: layer types grouped by category, a search box, and a drag source.

Dragging an entry carries the layer id as bytes under `LAYER_MIME`; the canvas accepts the drop.
Double-click or Enter on an entry emits `layer_activated(layer_id)`.
"""
from __future__ import annotations

import html

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.layers import LayerSpec, by_category

from .theme import CATEGORY_COLORS as _THEME_COLORS

LAYER_MIME = "application/x-studio-layer"

# One colour per category, shared with the canvas (the theme owns the values).
CATEGORY_COLORS: dict[str, str] = _THEME_COLORS
_FALLBACK_COLORS = ("#6d7f99", "#7d6d99", "#996d7f", "#6d998a", "#998a6d")

ID_ROLE = Qt.ItemDataRole.UserRole
TEXT_ROLE = Qt.ItemDataRole.UserRole + 1  # what the search box matches


def category_color(category: str) -> QColor:
    """The colour of a category (plugin categories get a stable fallback colour)."""
    hexcode = CATEGORY_COLORS.get(category)
    if hexcode is None:
        hexcode = _FALLBACK_COLORS[sum(map(ord, category)) % len(_FALLBACK_COLORS)]
    return QColor(hexcode)


def swatch_icon(category: str, size: int = 12) -> QIcon:
    """A small rounded square in the category's colour."""
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    color = category_color(category)
    p.setPen(color.darker(130))
    p.setBrush(color)
    p.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    p.end()
    return QIcon(pm)


def layer_tooltip(spec: LayerSpec) -> str:
    """Rich-text tooltip: name, id, doc and the defining formula."""
    head = (f"<b>{html.escape(spec.name)}</b> &nbsp;<span style='color:gray'>"
            f"{html.escape(spec.id)}</span>")
    parts = [head]
    if spec.doc:
        parts.append(html.escape(spec.doc))
    if spec.formula:
        parts.append(f"<span style='font-family:monospace'>{html.escape(spec.formula)}</span>")
    return "<p style='white-space:pre-wrap'>" + "<br>".join(parts) + "</p>"


def matches(spec: LayerSpec, text: str) -> bool:
    """Case-insensitive substring match on name, id or doc."""
    t = text.strip().lower()
    return not t or any(t in s.lower() for s in (spec.name, spec.id, spec.doc))


class _LayerTree(QTreeWidget):
    """A tree whose layer entries drag as LAYER_MIME."""

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]

    def mimeData(self, items) -> QMimeData:
        data = QMimeData()
        ids = [it.data(0, ID_ROLE) for it in items if it.data(0, ID_ROLE)]
        if ids:
            data.setData(LAYER_MIME, ids[0].encode("utf-8"))
            data.setText(ids[0])
        return data


class PaletteWidget(QWidget):
    """Searchable, categorised list of layer types; a drag source for the canvas."""

    layer_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.search = QLineEdit(placeholderText="Search layers…")
        self.search.setClearButtonEnabled(True)
        self.tree = _LayerTree()
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setIndentation(14)
        self.tree.setIconSize(QSize(12, 12))
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setUniformRowHeights(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addWidget(self.search)
        lay.addWidget(self.tree)
        self._categories: dict[str, QTreeWidgetItem] = {}
        self._populate()
        self.search.textChanged.connect(self.set_filter)
        self.search.returnPressed.connect(self._activate_first)
        self.tree.itemActivated.connect(self._on_activated)

    def sizeHint(self) -> QSize:
        return QSize(220, 500)

    def _populate(self) -> None:
        bold = QFont(self.font())
        bold.setBold(True)
        for category, specs in by_category().items():
            head = QTreeWidgetItem([category])
            head.setFont(0, bold)
            head.setIcon(0, swatch_icon(category))
            head.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.addTopLevelItem(head)
            for spec in specs:
                item = QTreeWidgetItem([spec.name])
                item.setData(0, ID_ROLE, spec.id)
                item.setData(0, TEXT_ROLE, f"{spec.name} {spec.id} {spec.doc}")
                item.setIcon(0, swatch_icon(spec.category, 10))
                item.setToolTip(0, layer_tooltip(spec))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
                head.addChild(item)
            self._categories[category] = head
        self.tree.expandAll()

    # blocks: the project's block types and the library ---------------------------------
    def set_document(self, document) -> None:
        """Show the project's block types and the block library under 'Blocks'."""
        self.document = document
        self._block_key = None
        document.changed.connect(self.refresh_blocks)
        document.graph_replaced.connect(lambda _g: self.refresh_blocks())
        self.refresh_blocks()

    def refresh_blocks(self) -> None:
        from engine.library import list_library

        blocks = self.document.graph.blocks
        key = tuple((n, b.doc) for n, b in blocks.items())
        if key == getattr(self, "_block_key", None):
            return
        self._block_key = key
        head = self._categories.get("Blocks")
        if head is None:
            head = QTreeWidgetItem(["Blocks"])
            bold = QFont(self.font())
            bold.setBold(True)
            head.setFont(0, bold)
            head.setIcon(0, swatch_icon("Blocks"))
            head.setFlags(Qt.ItemFlag.ItemIsEnabled)
            head.setToolTip(0, "Reusable sub-networks: drag one in; double-click a block on "
                            "the canvas to open it")
            self.tree.insertTopLevelItem(0, head)
            self._categories = {"Blocks": head, **self._categories}
            self._library = list_library()[0]
        head.takeChildren()
        entries = [(f"block:{n}", n, b.doc or f"Block {n} of this project")
                   for n, b in blocks.items()]
        entries += [(f"library:{b.name}", b.name, b.doc) for b in self._library
                    if b.name not in blocks]
        for layer_id, name, doc in entries:
            item = QTreeWidgetItem([name])
            item.setData(0, ID_ROLE, layer_id)
            item.setData(0, TEXT_ROLE, f"{name} {layer_id} {doc}")
            item.setIcon(0, swatch_icon("Blocks", 10))
            where = "this project" if layer_id.startswith("block:") else "the block library"
            item.setToolTip(0, f"<p style='white-space:pre-wrap'><b>{html.escape(name)}</b> "
                            f"&nbsp;<span style='color:gray'>{where}</span><br>"
                            f"{html.escape(doc)}</p>")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                          | Qt.ItemFlag.ItemIsDragEnabled)
            head.addChild(item)
        head.setExpanded(True)
        self.set_filter(self.search.text())

    def layer_items(self) -> list[QTreeWidgetItem]:
        """All layer entries (hidden ones included)."""
        out = []
        for head in self._categories.values():
            out.extend(head.child(i) for i in range(head.childCount()))
        return out

    def visible_layer_ids(self) -> list[str]:
        return [it.data(0, ID_ROLE) for it in self.layer_items()
                if not it.isHidden() and not it.parent().isHidden()]

    def set_filter(self, text: str) -> None:
        """Show only layers whose name, id or doc contains `text`; hide empty categories."""
        t = text.strip().lower()
        for head in self._categories.values():
            shown = 0
            for i in range(head.childCount()):
                item = head.child(i)
                ok = not t or t in (item.data(0, TEXT_ROLE) or "").lower()
                item.setHidden(not ok)
                shown += ok
            head.setHidden(shown == 0)
            if text:
                head.setExpanded(True)
        visible = self.visible_layer_ids()
        if text and visible:
            self.tree.setCurrentItem(self._item_for(visible[0]))

    def _item_for(self, layer_id: str) -> QTreeWidgetItem | None:
        for it in self.layer_items():
            if it.data(0, ID_ROLE) == layer_id:
                return it
        return None

    def _activate_first(self) -> None:
        current = self.tree.currentItem()
        if current is not None and current.data(0, ID_ROLE) and not current.isHidden():
            self.layer_activated.emit(current.data(0, ID_ROLE))
            return
        visible = self.visible_layer_ids()
        if visible:
            self.layer_activated.emit(visible[0])

    def _on_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        layer_id = item.data(0, ID_ROLE)
        if layer_id:
            self.layer_activated.emit(layer_id)

    def keyPressEvent(self, event) -> None:
        # Down from the search box moves into the list
        if event.key() == Qt.Key.Key_Down and self.search.hasFocus():
            self.tree.setFocus()
            return
        super().keyPressEvent(event)
