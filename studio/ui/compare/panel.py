"""File > Compare with…: the open project against another project file or a run's snapshot.
The canvas is coloured (added green, removed ghosted, changed amber) and this list names every
change; clicking one shows it on the canvas. The comparison follows edits until it is closed."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.diff import DiffError, GraphDiff, diff_projects, load_side

from .overlay import ADDED, CHANGED, REMOVED, CompareOverlay

KIND_ROLE = Qt.ItemDataRole.UserRole
ID_ROLE = Qt.ItemDataRole.UserRole + 1
FILTER = "Projects and run snapshots (*.nnproj config.json);;All files (*)"


class ComparePanel(QWidget):
    def __init__(self, window, parent: QWidget | None = None):
        super().__init__(parent)
        self.window_ = window
        self.document = window.document
        self.overlay = CompareOverlay(window.scene)
        self.other = None
        self.other_path: Path | None = None
        self.diff: GraphDiff | None = None
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Change", "Details"])
        self.tree.setRootIsDecorated(False)
        self.tree.itemClicked.connect(lambda item, _c: self.jump(item))
        self.tree.itemActivated.connect(lambda item, _c: self.jump(item))
        other = QPushButton("Compare with…")
        other.clicked.connect(self.choose)
        close = QPushButton("Close comparison")
        close.clicked.connect(self.close_comparison)
        row = QHBoxLayout()
        row.addWidget(other)
        row.addWidget(close)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row)
        lay.addWidget(self.summary)
        lay.addWidget(self.tree, 1)
        self._timer = QTimer(self, singleShot=True, interval=300)
        self._timer.timeout.connect(self.update_diff)
        self.document.changed.connect(self._changed)
        self.document.graph_replaced.connect(self.close_comparison)

    def choose(self) -> bool:
        start = str(self.document.path.parent) if self.document.path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Compare with", start, FILTER)
        return bool(path) and self.compare_with(path)

    def compare_with(self, path: str | Path) -> bool:
        """Compare the open project (after) with `path` (before). False, with the reason
        shown, when the file cannot be read."""
        try:
            other = load_side(path)
        except DiffError as exc:
            QMessageBox.warning(self, "Cannot compare", str(exc))
            return False
        self.other, self.other_path = other, Path(path)
        self.update_diff()
        return True

    def _changed(self) -> None:
        if self.other is not None:
            self._timer.start()

    def update_diff(self) -> None:
        if self.other is None:
            return
        self.diff = diff_projects(self.other, self.document.project)
        self.overlay.show(self.diff, self.other.graph)
        self._fill()

    def close_comparison(self, *_) -> None:
        self.overlay.clear()
        self.other = self.diff = None
        self.tree.clear()
        self.summary.setText("No comparison. File › Compare with… colours the canvas by "
                             "what changed since another project file or run.")

    def _fill(self) -> None:
        d = self.diff
        name = self.other_path.name if self.other_path else "the other file"
        if self.other_path and self.other_path.name == "config.json":
            name = f"run {self.other_path.parent.name}"
        elif self.other_path and self.other_path.is_dir():
            name = f"run {self.other_path.name}"
        lines = d.lines()
        params = next(ln for ln in lines if ln.startswith("params:"))
        self.summary.setText(
            f"<b>Changes since {name}</b>: {len(d.added)} added, {len(d.removed)} removed, "
            f"{len(d.changed)} changed, {len(d.wires)} wires, {len(d.settings)} settings · "
            f"{params}" if not d.same else f"<b>No changes since {name}.</b>")
        self.tree.clear()
        for n in d.nodes:
            mark, colour = {"added": ("+", ADDED), "removed": ("−", REMOVED),
                            "changed": ("~", CHANGED)}[n.kind]
            detail = n.type + (f" · {n.describe()}" if n.kind == "changed" else "")
            self._row(f"{mark} {n.name}", detail, n.kind, n.node_id, colour)
        for w in d.wires:
            self._row(f"{'+' if w.kind == 'added' else '−'} wire", w.describe(),
                      f"wire_{w.kind}", w.dst_id if w.kind == "added" else "",
                      ADDED if w.kind == "added" else REMOVED)
        for key, a, b in d.settings:
            self._row(f"~ {key}", f"{a} → {b}", "setting", "", CHANGED)
        self.tree.resizeColumnToContents(0)

    def _row(self, text, detail, kind, node_id, colour) -> None:
        item = QTreeWidgetItem([text, detail])
        item.setData(0, KIND_ROLE, kind)
        item.setData(0, ID_ROLE, node_id)
        item.setForeground(0, QBrush(colour.darker(120)))
        item.setToolTip(1, detail)
        self.tree.addTopLevelItem(item)

    def jump(self, item: QTreeWidgetItem) -> None:
        """Show the change on the canvas: select the node, or centre its ghost."""
        kind, node_id = item.data(0, KIND_ROLE), item.data(0, ID_ROLE)
        if kind == "removed":
            ghost = self.overlay.ghosts.get(node_id)
            if ghost is not None:
                self.window_.scene.clearSelection()
                self.window_.view.centerOn(ghost.pos() + QPointF(56, 29))
        elif node_id and node_id in self.document.graph.nodes:
            self.window_.focus_node(node_id)


def run(window) -> None:
    """File > Compare with…: choose the other file, then show the Compare dock."""
    panel = compare_panel(window)
    if panel.choose():
        window.show_tab("compare")


def compare_panel(window) -> ComparePanel:
    """The window's Compare dock (made on first use)."""
    panel = window.panels.get("compare")
    if isinstance(panel, ComparePanel):
        return panel
    panel = ComparePanel(window)
    dock = window._dock("compare", "Compare", panel, Qt.DockWidgetArea.RightDockWidgetArea)
    dock.hide()
    return panel
