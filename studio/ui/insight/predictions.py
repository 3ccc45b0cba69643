"""Predictions browser: sample, true label, predicted label and confidence, worst mistakes
first (confidently wrong at the top)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .compute import Insight, ranked_predictions

MAX_ROWS = 300


class PredictionsView(QWidget):
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
        self.info = QLabel("Predictions appear when a classifier's run ends.")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.info)
        lay.addWidget(self.table, 1)
        self.order: np.ndarray = np.zeros(0, int)

    def set_insight(self, ins: Insight) -> None:
        from studio.ui.training.dataset import as_image, to_pixmap

        if ins.probs is None or ins.pred is None:
            self.table.setRowCount(0)
            self.info.setText("The predictions browser needs a classification task.")
            return
        self.order = ranked_predictions(ins)
        names = ins.class_names
        label = (lambda k: names[k] if names and k < len(names) else str(k))
        rows = self.order[:MAX_ROWS]
        self.table.setRowCount(len(rows))
        for r, i in enumerate(rows):
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
        mistakes = int((ins.pred != ins.y).sum())
        self.info.setText(f"{mistakes} mistakes in {len(ins.y)} validation samples; worst "
                          f"(most confident) mistakes first")
