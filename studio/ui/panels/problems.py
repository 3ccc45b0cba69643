"""The problems list: every validation issue with a severity icon; double-click jumps to the
node (`node_activated(node_id)`; the main window selects and centres it)."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QStyle, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from engine.validate import Issue, Report

ID_ROLE = Qt.ItemDataRole.UserRole
SEVERITY_ORDER = {"error": 0, "warning": 1}


class ProblemsPanel(QWidget):
    """Lists the document's validation issues, errors first."""

    node_activated = Signal(str)
    count_changed = Signal(int, int)  # errors, warnings (for the tab title)

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.issues: list[Issue] = []
        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Problem", "Node", "Kind"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.tree.setColumnWidth(1, 140)
        self.tree.setColumnWidth(2, 90)
        self.tree.itemActivated.connect(self._activated)
        self.status = QLabel()
        self.status.setStyleSheet("color: #808890;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(3)
        lay.addWidget(self.tree)
        lay.addWidget(self.status)
        style = self.style()
        self._icons = {
            "error": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
            "warning": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
        }
        self._info_icon = style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton)
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.refresh)
        document.validated.connect(self.refresh)
        document.changed.connect(self._timer.start)
        self.refresh()

    def refresh(self, report: Report | None = None) -> None:
        """Show the issues of `report` (default: the document's current report)."""
        report = report if isinstance(report, Report) else self.document.report()
        graph = self.document.graph
        issues = sorted(_unique(report.issues),
                        key=lambda i: SEVERITY_ORDER.get(i.severity, 2))
        self.issues = issues
        self.tree.clear()
        for issue in issues:
            node = graph.nodes.get(issue.node_id) if issue.node_id else None
            where = node.name if node else ""
            if node and issue.port:
                where += f" [{issue.port}]"
            item = QTreeWidgetItem([issue.message, where, issue.kind])
            item.setIcon(0, self._icons.get(issue.severity, self._icons["warning"]))
            item.setToolTip(0, issue.message)
            item.setData(0, ID_ROLE, issue.node_id or "")
            self.tree.addTopLevelItem(item)
        errors = sum(i.severity == "error" for i in issues)
        warnings = len(issues) - errors
        if not issues:
            ok = QTreeWidgetItem(["No problems: the model is valid.", "", ""])
            ok.setIcon(0, self._info_icon)
            ok.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.addTopLevelItem(ok)
        self.status.setText(f"{errors} error{'s' * (errors != 1)}, "
                            f"{warnings} warning{'s' * (warnings != 1)} · "
                            "double-click a problem to show its node")
        self.count_changed.emit(errors, warnings)

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        node_id = item.data(0, ID_ROLE)
        if node_id and node_id in self.document.graph.nodes:
            self.node_activated.emit(node_id)


def _unique(issues: list[Issue]) -> list[Issue]:
    """A cycle issue is attached to every member node; list it once."""
    seen, out = set(), []
    for issue in issues:
        key = (issue.kind, issue.message, issue.node_id, issue.port)
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out
