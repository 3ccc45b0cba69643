"""The problems list: every validation issue with a severity icon; double-click jumps to the
node (`node_activated(node_id)`; the main window selects and centres it); a problem with a
known repair has a button that applies it (one undoable edit). Problems found while training
(health warnings: `set_extra`) are listed with the validation's."""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QPushButton, QStyle,
                               QTreeView, QVBoxLayout, QWidget)

from engine.validate import Issue, Report

SEVERITY_ORDER = {"error": 0, "warning": 1}
HEADERS = ("Problem", "Node", "Kind", "Fix")
NO_PROBLEMS = "No problems: the model is valid."


class ProblemsModel(QAbstractTableModel):
    """Rows of (issue, node label); an empty list shows one 'no problems' row."""

    def __init__(self, icons: dict, ok_icon, parent=None):
        super().__init__(parent)
        self.rows: list[tuple[Issue, str]] = []
        self.icons, self.ok_icon = icons, ok_icon

    def set_rows(self, rows: list[tuple[Issue, str]]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else max(len(self.rows), 1)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def flags(self, index):
        if not self.rows:
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        col = index.column()
        if not self.rows:
            if col == 0 and role == Qt.ItemDataRole.DisplayRole:
                return NO_PROBLEMS
            if col == 0 and role == Qt.ItemDataRole.DecorationRole:
                return self.ok_icon
            return None
        issue, where = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (issue.message, where, issue.kind, "")[col]
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return self.icons.get(issue.severity, self.icons["warning"])
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return issue.message
        return None

    def issue_at(self, row: int) -> Issue | None:
        return self.rows[row][0] if 0 <= row < len(self.rows) else None


class ProblemsPanel(QWidget):
    """Lists the document's validation issues, errors first."""

    node_activated = Signal(str)
    count_changed = Signal(int, int)  # errors, warnings (for the tab title)

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.issues: list[Issue] = []
        self.extra: list[Issue] = []   # not from validation: training health warnings
        self._shown: tuple | None = None
        style = self.style()
        icons = {"error": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
                 "warning": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)}
        self.model = ProblemsModel(icons,
                                   style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton),
                                   self)
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setColumnWidth(1, 140)
        self.tree.setColumnWidth(2, 90)
        self.fix_buttons: list[QPushButton] = []
        self.tree.activated.connect(self._activated)
        self.status = QLabel()
        self.status.setStyleSheet("color: #808890;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(3)
        lay.addWidget(self.tree)
        lay.addWidget(self.status)
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self._refresh_unless_validating)
        document.validated.connect(self.refresh)
        document.changed.connect(self._timer.start)
        self.refresh()

    def refresh(self, report: Report | None = None) -> None:
        """Show the issues of `report` (default: the document's current report)."""
        report = report if isinstance(report, Report) else self.document.report()
        graph = self.document.graph
        issues = sorted(_unique(report.issues + [i for i in self.extra
                                                 if i.node_id in graph.nodes]),
                        key=lambda i: SEVERITY_ORDER.get(i.severity, 2))
        rows = [(i, _where(graph, i)) for i in issues]
        shown = tuple(rows)
        if shown == self._shown:
            return  # nothing changed (a move, a param edit without new problems)
        self._shown = shown
        self.issues = issues
        self.model.set_rows(rows)
        self._add_fix_buttons(issues)
        errors = sum(i.severity == "error" for i in issues)
        warnings = len(issues) - errors
        self.status.setText(f"{errors} error{'s' * (errors != 1)}, "
                            f"{warnings} warning{'s' * (warnings != 1)} · "
                            "double-click a problem to show its node")
        self.count_changed.emit(errors, warnings)

    def _refresh_unless_validating(self) -> None:
        """After a change: names in the list may differ. While an edit's validation goes on
        in steps its `validated` refreshes the list (asking for the report now would do all
        of the validation in this turn of the event loop)."""
        if not getattr(self.document, "validating", False):
            self.refresh()

    def set_extra(self, issues: list[Issue]) -> None:
        """List these issues too (until replaced: an empty list clears them)."""
        self.extra = list(issues)
        self.refresh()

    def _add_fix_buttons(self, issues: list[Issue]) -> None:
        self.fix_buttons = []
        for row, issue in enumerate(issues):
            if issue.fix is None:
                continue
            button = QPushButton(issue.fix.label)
            button.setToolTip("Apply this change (Ctrl+Z undoes it)")
            button.clicked.connect(lambda _c=False, f=issue.fix: self.document.apply_fix(f))
            self.tree.setIndexWidget(self.model.index(row, 3), button)
            self.fix_buttons.append(button)

    def row_texts(self) -> list[str]:
        """The first column of every shown row."""
        return [self.model.data(self.model.index(r, 0)) for r in range(self.model.rowCount())]

    def _activated(self, index: QModelIndex) -> None:
        issue = self.model.issue_at(index.row()) if index.isValid() else None
        if issue is not None and issue.node_id and issue.node_id in self.document.graph.nodes:
            self.node_activated.emit(issue.node_id)


def _where(graph, issue: Issue) -> str:
    node = graph.nodes.get(issue.node_id) if issue.node_id else None
    if node is None:
        return ""
    return f"{node.name} [{issue.port}]" if issue.port else node.name


def _unique(issues: list[Issue]) -> list[Issue]:
    """A cycle issue is attached to every member node; list it once."""
    seen, out = set(), []
    for issue in issues:
        key = (issue.kind, issue.message, issue.node_id, issue.port)
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out
