"""Mark settings as searched where they are edited: a right-click menu on the label of a
layer parameter (inspector) or a training setting (training panel), and a blue label with
the searched range in its tooltip for every searched one."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QMenu, QWidget

from engine.sweep.space import SweepError, dimension, node_key, target_kind

from .edits import searched, set_search

MARK_STYLE = "color: #2d7ff9; font-weight: 600;"
MARK = " ⚲"


class SearchMarks(QObject):
    """Labels that can be marked as searched. `attach(label, key_fn)`; `key_fn()` gives the
    target key (None: not searchable now)."""

    def __init__(self, document, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.labels: list[tuple[QLabel, Callable[[], str | None], str]] = []
        document.undo_stack.indexChanged.connect(self.refresh)
        if hasattr(document, "graph_replaced"):
            document.graph_replaced.connect(self.refresh)

    def clear(self) -> None:
        self.labels = []

    def attach(self, label: QLabel, key_fn: Callable[[], str | None]) -> None:
        label.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        label.customContextMenuRequested.connect(
            lambda pos, lab=label: self._menu(lab, key_fn, lab.mapToGlobal(pos)))
        self.labels.append((label, key_fn, label.text()))
        self._mark(label, key_fn, label.text())

    def refresh(self, *_) -> None:
        self.labels = [t for t in self.labels if _alive(t[0])]
        for label, key_fn, text in self.labels:
            self._mark(label, key_fn, text)

    def _mark(self, label: QLabel, key_fn, text: str) -> None:
        key = key_fn()
        entry = searched(self.document).get(key) if key else None
        if entry is None:
            _show(label, text, "", label.property("plain_tip") or "")
            return
        if label.property("plain_tip") is None:
            label.setProperty("plain_tip", label.toolTip())
        try:
            shown = dimension(self.document.project, key, entry).describe()
        except SweepError as exc:
            shown = f"(invalid: {exc})"
        _show(label, text + MARK, MARK_STYLE,
              f"Searched in sweeps: {shown}. Right-click to change.")

    def _menu(self, label: QLabel, key_fn, where) -> None:
        key = key_fn()
        if not key:
            return
        menu = QMenu(label)
        act = menu.addAction("Search this setting…")
        act.triggered.connect(lambda: self.edit(key, label))
        if key in searched(self.document):
            menu.addAction("Stop searching").triggered.connect(
                lambda: self._push(key, None, label))
        menu.popup(where)

    def edit(self, key: str, parent: QWidget | None = None) -> bool:
        """Open the search dialog for `key`; True if the project changed."""
        from .search_dialog import SearchDialog

        dialog = SearchDialog(self.document, key, parent)
        try:
            if not dialog.exec():
                return False
            if dialog.removed:
                return self._push(key, None, parent)
            return self._push(key, dialog.entry(), parent)
        finally:
            dialog.deleteLater()

    def _push(self, key: str, entry, parent) -> bool:
        try:
            set_search(self.document, key, entry)
        except ValueError as exc:   # e.g. a run is active
            if hasattr(self.document, "error"):
                self.document.error.emit(str(exc))
            return False
        return True


def _alive(widget) -> bool:
    try:
        widget.objectName()
    except RuntimeError:
        return False
    return True


def searchable_training(path: tuple) -> bool:
    """Training settings worth a sweep: numbers and named choices, not file paths or the
    device."""
    from engine.sweep.space import training_key

    if path in (("device",), ("seed",)):
        return False
    try:
        target_kind(None, training_key(*path))   # training keys need no project
    except SweepError:
        return False
    return True


def attach_training_marks(settings) -> SearchMarks:
    """Right-click menus on the labels of the training form's searchable settings."""
    from engine.sweep.space import training_key

    marks = SearchMarks(settings.document, settings)
    for binding in settings.bindings:
        if binding.section != "training" or not searchable_training(binding.path):
            continue
        form = binding.widget.parentWidget().layout() if binding.widget.parentWidget() \
            else None
        label = form.labelForField(binding.widget) if isinstance(form, QFormLayout) else None
        if isinstance(label, QLabel):
            marks.attach(label, lambda p=binding.path: training_key(*p))
    return marks


def attach_param_marks(marks: SearchMarks, labels: dict[str, QLabel], node_id_fn) -> None:
    """Right-click menus on the inspector's parameter labels of the shown node."""
    marks.clear()
    for name, label in labels.items():
        marks.attach(label, lambda n=name: node_key(node_id_fn(), n) if node_id_fn() else None)


def _show(label: QLabel, text: str, style: str, tip: str) -> None:
    """Set what differs only: this runs on every edit, and a style sheet set again (even
    the same) restyles and repaints the label."""
    if label.text() != text:
        label.setText(text)
    if label.styleSheet() != style:
        label.setStyleSheet(style)
    if label.toolTip() != tip:
        label.setToolTip(tip)
