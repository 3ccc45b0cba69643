"""The model summary tab: one row per node (name, type, output shape, params, trainable, MACs),
totals, and the estimated FLOPs and activation memory at a chosen batch size."""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QSpinBox,
                               QTableView, QVBoxLayout, QWidget)

from engine.summary import Summary, SummaryRow, summarize

COLUMNS = ("Name", "Type", "Output shape", "Params", "Trainable", "MACs")
WIDTHS = (170, 130, 190, 100, 80, 110)
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
CENTER = Qt.AlignmentFlag.AlignCenter
UNKNOWN = QColor("#d0342c")
INNER = QColor("#7f8c99")


def human_count(n: float) -> str:
    """1234567 -> '1.23M'."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.0f}"


def human_bytes(n: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def row_cells(row: SummaryRow) -> tuple[str, ...]:
    """The texts of one table row."""
    trainable = "—" if not row.params else "yes" if row.trainable else "frozen"
    name = "    " * row.depth + row.name  # layers inside a block: indented under it
    return (name, row.type, row.output, f"{row.params:,}", trainable, f"{row.flops:,}")


class SummaryModel(QAbstractTableModel):
    """Table model over the rows of an engine Summary (cells are formatted on demand, so a
    1,000-node model refreshes without building 6,000 items)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[SummaryRow] = []

    def set_rows(self, rows: list[SummaryRow]) -> None:
        """Show `rows`. The same layers as before (an edit of their params): only the rows
        that differ are redrawn, and the selection and scroll position stay."""
        old = self.rows
        if len(rows) != len(old) or any(a.node_id != b.node_id or a.name != b.name
                                         for a, b in zip(rows, old)):
            self.beginResetModel()
            self.rows = rows
            self.endResetModel()
            return
        self.rows = rows
        changed = [i for i, (a, b) in enumerate(zip(rows, old)) if a != b]
        if changed:
            self.dataChanged.emit(self.index(changed[0], 0),
                                  self.index(changed[-1], len(COLUMNS) - 1))

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row_cells(row)[col]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if col in (3, 5) else CENTER if col == 4 else None
        unknown = col == 2 and row.output == "?"
        if role == Qt.ItemDataRole.ForegroundRole and unknown:
            return UNKNOWN
        if role == Qt.ItemDataRole.ForegroundRole and row.depth:
            return INNER  # a layer inside a block: counted in the block's row
        if role == Qt.ItemDataRole.ToolTipRole and row.depth:
            return "inside a block: its parameters are counted in the block's row"
        if role == Qt.ItemDataRole.ToolTipRole and unknown:
            return "shape unknown: see the Problems tab"
        return None


class SummaryPanel(QWidget):
    """Layer table and totals of the document's model; follows the document's edits.

    Emits `node_activated(node_id)` when a row is double-clicked."""

    node_activated = Signal(str)

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.summary: Summary | None = None
        self.model = SummaryModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        for col, width in enumerate(WIDTHS):
            self.table.setColumnWidth(col, width)
        self.table.doubleClicked.connect(self._row_activated)

        self.batch = QSpinBox()
        self.batch.setRange(1, 1_000_000)
        self.batch.setValue(self._default_batch())
        self.batch.setToolTip("Batch size used for the FLOPs and activation memory estimates.")
        self.batch.valueChanged.connect(lambda _v: self.refresh())
        self.totals = QLabel()
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.totals.setWordWrap(True)
        bar = QHBoxLayout()
        bar.setContentsMargins(2, 0, 2, 0)
        bar.addWidget(self.totals, 1)
        bar.addWidget(QLabel("batch size"))
        bar.addWidget(self.batch)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addWidget(self.table)
        lay.addLayout(bar)

        self._dirty = True
        # bound methods, not lambdas: Qt drops them with this panel (a document that outlives
        # it must not call into a deleted timer)
        document.validated.connect(self._schedule)
        document.changed.connect(self._schedule)
        self.refresh()

    def _default_batch(self) -> int:
        try:
            return int(self.document.project.training.get("batch_size", 64))
        except (AttributeError, TypeError, ValueError):
            return 64

    # refresh ---------------------------------------------------------------------------
    def _schedule(self, *_args) -> None:
        self._dirty = True
        later = getattr(self.document, "later", None)
        if later is not None:
            later(self._refresh_if_visible)
        else:   # a stand-in document (tests)
            QTimer.singleShot(0, self._refresh_if_visible)

    def _refresh_if_visible(self) -> None:
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self.refresh()

    def refresh(self) -> None:
        """Recompute the summary from the document and redraw the table."""
        self._dirty = False
        s = summarize(self.document.graph, self.document.report(), self.batch.value())
        self.summary = s
        self.model.set_rows(s.rows)
        self.totals.setText(self._totals_text(s))

    def cell_text(self, row: int, col: int) -> str:
        return self.model.data(self.model.index(row, col)) or ""

    @staticmethod
    def _totals_text(s: Summary) -> str:
        frozen = s.total_params - s.trainable_params
        flops = 2 * s.total_flops * s.batch_size
        parts = [f"<b>{s.total_params:,}</b> parameters",
                 f"{s.trainable_params:,} trainable, {frozen:,} frozen" if frozen
                 else "all trainable",
                 f"{human_bytes(s.total_params * 4)} of weights (float32)",
                 (f"forward pass at batch {s.batch_size}: ≈ {human_count(flops)} FLOPs, "
                  f"activations ≈ {human_bytes(s.activation_bytes)}")]
        return " · ".join(parts)

    def _row_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.node_activated.emit(self.model.rows[index.row()].node_id)
