"""The model summary tab: one row per node (name, type, output shape, params, trainable, MACs),
totals, and the estimated FLOPs and activation memory at a chosen batch size."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QSpinBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from engine.summary import Summary, summarize

COLUMNS = ("Name", "Type", "Output shape", "Params", "Trainable", "MACs")
NUMERIC = {3, 5}
ID_ROLE = Qt.ItemDataRole.UserRole
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


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


class SummaryPanel(QWidget):
    """Layer table and totals of the document's model; follows the document's edits.

    Emits `node_activated(node_id)` when a row is double-clicked."""

    node_activated = Signal(str)

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.summary: Summary | None = None
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        for col, width in enumerate((170, 130, 190, 100, 80, 110)):
            self.table.setColumnWidth(col, width)
        self.table.itemDoubleClicked.connect(self._row_activated)

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
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self._refresh_if_visible)
        document.validated.connect(lambda _r: self._schedule())
        document.changed.connect(self._schedule)
        self.refresh()

    def _default_batch(self) -> int:
        try:
            return int(self.document.project.training.get("batch_size", 64))
        except (AttributeError, TypeError, ValueError):
            return 64

    # refresh ---------------------------------------------------------------------------
    def _schedule(self) -> None:
        self._dirty = True
        self._timer.start()

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
        self.table.setUpdatesEnabled(False)
        self.table.setRowCount(len(s.rows))
        for r, row in enumerate(s.rows):
            trainable = "—" if not row.params else "yes" if row.trainable else "frozen"
            values = (row.name, row.type, row.output, f"{row.params:,}", trainable,
                      f"{row.flops:,}")
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setData(ID_ROLE, row.node_id)
                if c in NUMERIC:
                    item.setTextAlignment(RIGHT)
                elif c == 4:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if c == 2 and row.output == "?":
                    item.setToolTip("shape unknown: see the Problems tab")
                    item.setForeground(QColor("#d0342c"))
                self.table.setItem(r, c, item)
        self.table.setUpdatesEnabled(True)
        self.totals.setText(self._totals_text(s))

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

    def _row_activated(self, item: QTableWidgetItem) -> None:
        node_id = item.data(ID_ROLE)
        if node_id:
            self.node_activated.emit(node_id)
