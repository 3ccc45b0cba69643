"""Predictions browser: sample, true label, predicted label and confidence, worst mistakes
first (confidently wrong at the top); an occlusion map of the selected sample. The table
is filled and the map's plot made when the view is shown (lazy.py)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.insight import Insight, occlusion_map, ranked_predictions

from ..images import as_image, to_pixmap
from .lazy import BuiltWhenShown

MAX_ROWS = 300


class PredictionsView(BuiltWhenShown, QWidget):
    EMPTY = "Predictions appear when a classifier's run ends."
    OCCLUSION_HINT = ("Select an image to see which parts the prediction relies on "
                      "(occlusion).")

    def __init__(self, parent: QWidget | None = None, image_shape=None):
        super().__init__(parent)
        self.image_shape = image_shape
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Sample", "#", "True", "Predicted",
                                              "Confidence"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QSize(40, 40))
        self.table.verticalHeader().setDefaultSectionSize(44)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.info = QLabel(self.EMPTY)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.currentCellChanged.connect(lambda row, *_: self.show_occlusion(row))
        self.occ_info = QLabel(self.OCCLUSION_HINT)
        self.occ_info.setWordWrap(True)
        self.occ_info.setFixedWidth(300)
        self.side = QVBoxLayout()
        self.side.addWidget(self.occ_info)
        body = QHBoxLayout()
        body.addWidget(self.table, 1)
        body.addLayout(self.side)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.info)
        lay.addLayout(body, 1)
        self.order: np.ndarray = np.zeros(0, int)
        self.insight: Insight | None = None
        self.heat: np.ndarray | None = None
        self._occluded: tuple | None = None    # (image, heat, patch) to draw
        self._table_stale = False
        self.filled = 0                         # rows of the table filled so far

    def _build(self) -> None:
        self.occlusion = pg.GraphicsLayoutWidget()
        self.occlusion.setBackground("w")
        self.occlusion.setFixedWidth(300)
        self.occ_box = self.occlusion.addViewBox(lockAspect=True, invertY=True)
        self.occ_box.setMouseEnabled(False, False)
        self.occ_image = pg.ImageItem()
        self.occ_heat = pg.ImageItem()
        self.occ_heat.setOpacity(0.55)
        self.occ_heat.setColorMap(pg.colormap.get("CET-L3"))
        self.occ_box.addItem(self.occ_image)
        self.occ_box.addItem(self.occ_heat)
        self.side.insertWidget(0, self.occlusion, 1)

    def clear(self) -> None:
        """Back to empty (another project was opened)."""
        self.table.setRowCount(0)
        self.order, self.insight, self.heat = np.zeros(0, int), None, None
        self._occluded, self._table_stale, self.filled = None, False, 0
        self._cleared()
        self.info.setText(self.EMPTY)
        self.occ_info.setText(self.OCCLUSION_HINT)

    def set_insight(self, ins: Insight) -> None:
        """Rank the predictions; the table is filled when the view is shown, ROWS_PER_TURN
        rows per event-loop turn (each row's picture is a pixmap: 300 of them held the GUI
        thread ~0.1 s at the end of a run)."""
        if ins.probs is None or ins.pred is None:
            self.table.setRowCount(0)
            self.info.setText("The predictions browser needs a classification task.")
            return
        self.order = ranked_predictions(ins)
        self.insight = ins
        self.table.setRowCount(0)
        self._table_stale = True
        mistakes = int((ins.pred != ins.y).sum())
        self.info.setText(f"{mistakes} mistakes in {len(ins.y)} validation samples; worst "
                          f"(most confident) mistakes first")
        self._changed()

    ROWS_PER_TURN = 60

    def ensure_drawn(self) -> None:
        super().ensure_drawn()
        self._fill(MAX_ROWS)

    def _fill(self, n: int) -> None:
        """Fill the next `n` rows of the table; the rest follow in the next turn."""
        ins, rows = self.insight, self.order[:MAX_ROWS]
        if ins is None or self.filled >= len(rows):
            return
        names = ins.class_names
        label = (lambda k: names[k] if names and k < len(names) else str(k))
        end = min(len(rows), self.filled + n)
        for r in range(self.filled, end):
            i = rows[r]
            img = as_image(ins.x[i], self.image_shape)
            cell = QTableWidgetItem()
            if img is not None:
                cell.setIcon(QIcon(to_pixmap(img)))
            else:
                cell.setText(np.array2string(np.ravel(ins.x[i])[:3], precision=2) + "…")
            conf = float(ins.probs[i, ins.pred[i]])
            wrong = ins.pred[i] != ins.y[i]
            items = [cell, QTableWidgetItem(str(int(i))), QTableWidgetItem(label(int(ins.y[i]))),
                     QTableWidgetItem(("✗ " if wrong else "✓ ") + label(int(ins.pred[i]))),
                     QTableWidgetItem(f"{100 * conf:.1f}%")]
            for c, it in enumerate(items):
                self.table.setItem(r, c, it)
        self.filled = end
        if end < len(rows):
            QTimer.singleShot(0, self, lambda: ins is self.insight and self._fill(n))

    def show_occlusion(self, row: int) -> None:
        """Slide a patch over the selected image: where covering it lowers the probability
        of the true class most, the model was looking."""
        ins = self.insight
        if ins is None or ins.model is None or row < 0 or row >= len(self.order):
            return
        i = int(self.order[row])
        sample = np.asarray(ins.x[i], np.float32)
        if sample.ndim != 3:
            self.occ_info.setText("Occlusion maps need image inputs (C×H×W).")
            return
        h = sample.shape[1]
        patch = max(1, h // 4)
        try:
            heat = occlusion_map(ins.model, sample, int(ins.y[i]), patch=patch)
        except Exception as exc:  # noqa: BLE001 - a view must not take the app down
            self.occ_info.setText(f"Occlusion failed: {exc}")
            return
        self.heat = heat
        self._occluded = (sample.mean(axis=0), heat, patch)
        self._changed()
        self.occ_info.setText(f"sample #{i}: bright = covering this {patch}×{patch} patch "
                              f"drops the probability of the true class most "
                              f"(max drop {100 * float(heat.max()):.0f} points)")

    def _render(self) -> None:
        if self._table_stale:
            self._table_stale, self.filled = False, 0
            self.table.setRowCount(min(len(self.order), MAX_ROWS))
            self._fill(self.ROWS_PER_TURN)
        if self._occluded is None:
            self.occ_image.clear()
            self.occ_heat.clear()
            return
        img, heat, patch = self._occluded
        self.occ_image.setImage(img.T, levels=(float(img.min()), float(img.max()) or 1.0))
        self.occ_image.setColorMap(pg.colormap.get("CET-L1"))
        # the map has one value per patch position: stretch it over the pixels it covers
        self.occ_heat.setImage(np.clip(heat, 0, None).T, levels=(0, max(float(heat.max()),
                                                                        1e-6)))
        self.occ_heat.setRect(patch / 2, patch / 2, heat.shape[1], heat.shape[0])
        self.occ_box.autoRange(padding=0.02)
