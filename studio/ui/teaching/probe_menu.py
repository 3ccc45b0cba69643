"""Right-click a wire on the canvas: Probe… opens a ProbeDialog for it. An event filter on the
canvas view, so the canvas items need no knowledge of teaching mode."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QMenu

from ..canvas.edge_item import EdgeItem


def edge_item_at(view, pos):
    """The wire under a viewport position (its shape label counts as the wire), or None."""
    for item in view.items(pos):
        while item is not None and not isinstance(item, EdgeItem):
            item = item.parentItem()
        if item is not None:
            return item
    return None


class WireProbeMenu(QObject):
    def __init__(self, view, document, parent: QObject | None = None):
        super().__init__(parent or view)
        self.view, self.document = view, document
        self.dialogs: list = []
        view.viewport().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.ContextMenu:
            return False
        item = edge_item_at(self.view, event.pos())
        if item is None:
            return False
        self.show_menu(self.menu_for(item.edge), event.globalPos())
        return True

    def show_menu(self, menu: QMenu, global_pos) -> None:
        menu.exec(global_pos)

    def menu_for(self, edge) -> QMenu:
        menu = QMenu(self.view)
        act = menu.addAction("Probe…")
        act.setToolTip("Show the tensor on this wire: statistics, histogram, heatmap")
        act.triggered.connect(lambda: self.probe(edge))
        return menu

    def probe(self, edge):
        from .probe_dialog import ProbeDialog

        if self.document.scope.graph() is not self.document.graph:
            self.document.error.emit("Probe works on the model's wires: leave the block first")
            return None
        dialog = ProbeDialog(self.document, edge, self.view.window())
        dialog.finished.connect(lambda _r, d=dialog: self.dialogs.remove(d)
                                if d in self.dialogs else None)
        self.dialogs.append(dialog)
        dialog.show()
        return dialog
