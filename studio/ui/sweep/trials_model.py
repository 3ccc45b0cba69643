"""The trials table: one row per trial (its values, result, cost, run folder), sortable by
any column (numbers as numbers), the best trial in bold with a star."""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from engine.sweep.results import StudyView, TrialRecord, value_text

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
NUMBER_ROLE = Qt.ItemDataRole.UserRole + 2     # the trial number of a row
STATE_COLOURS = {"complete": "#2f9e50", "pruned": "#c07a10", "failed": "#d0342c",
                 "running": "#2d7ff9", "skipped": "#808890", "waiting": "#808890"}
BEST_BACKGROUND = QColor(47, 158, 80, 45)


class TrialsModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.view: StudyView | None = None
        self.keys: list[str] = []
        self.labels: list[str] = []
        self.rows: list[TrialRecord] = []
        self.best: int | None = None

    def set_view(self, view: StudyView | None, keys: list[str], labels: list[str]) -> None:
        self.beginResetModel()
        self.view, self.keys, self.labels = view, list(keys), list(labels)
        self.rows = list(view.trials) if view else []
        best = view.best if view else None
        self.best = best.number if best else None
        self.endResetModel()

    def columns(self) -> list[str]:
        metric = self.view.metric if self.view else "metric"
        return ["#", "state", *self.labels, metric, "params", "MACs", "time (s)", "epochs",
                "run"]

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns())

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            cols = self.columns()
            return cols[section] if section < len(cols) else None
        return None

    def raw(self, t: TrialRecord, col: int) -> Any:
        n = len(self.keys)
        if col == 0:
            return t.number
        if col == 1:
            return t.state
        if col < 2 + n:
            return t.values.get(self.keys[col - 2])
        return [t.value, t.params, t.macs, t.seconds, t.epochs, t.run][col - 2 - n]

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        t, col = self.rows[index.row()], index.column()
        value = self.raw(t, col)
        best = t.number == self.best
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return f"★ {t.number}" if best else str(t.number)
            if value is None:
                return "—"
            if isinstance(value, int) and not isinstance(value, bool) and col >= 2 + \
                    len(self.keys) + 1:
                return f"{value:,}"
            return value_text(value)
        if role == SORT_ROLE:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return math.inf
            return value if isinstance(value, (int, float)) else str(value)
        if role == NUMBER_ROLE:
            return t.number
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return QBrush(QColor(STATE_COLOURS.get(t.state, "#808890")))
        if role == Qt.ItemDataRole.BackgroundRole and best:
            return QBrush(BEST_BACKGROUND)
        if role == Qt.ItemDataRole.FontRole and best:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            tips = [f"trial {t.number}: {t.state}"]
            if t.baseline:
                tips.append("the project's values before the sweep (baseline)")
            if t.message:
                tips.append(t.message)
            if t.host:
                tips.append(f"trained on {t.host}")
            return "\n".join(tips)
        if role == Qt.ItemDataRole.TextAlignmentRole and col != 1 and col != \
                self.columnCount() - 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class TrialsProxy(QSortFilterProxyModel):
    """Sorts numbers as numbers (missing values last); text as text."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        return str(a) < str(b)
