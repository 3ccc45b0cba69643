"""The inspector: the selected node's name, params, shapes, problems and an Explain section.

Editors are generated from the layer spec's Params (studio.ui.inspector_widgets). A value the
spec refuses is not applied: the ParamError message is shown under the editor. An accepted value
is pushed as a SetParamCommand, so it is undoable and the document re-validates at once.
"""
from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from engine.graph import GraphError, Node
from engine.layers import LayerSpec, ParamError
from engine.validate import Report, effective_params

from ..commands import RenameCommand, SetParamCommand, SetTrainableCommand
from .explain import explain_text
from .inspector_text import (
    EMPTY_TEXT,
    ERROR,
    MUTED,
    WARNING,
    form_layout,
    lines_html,
    macs_text,
    section_title,
    text_label,
    types_text,
)
from .inspector_widgets import ParamEditor, StrEditor, _ListLineEdit, make_editor
from .palette import category_color


class InspectorWidget(QScrollArea):
    """Shows and edits one node of `document` (`set_node(node_id | None)`)."""

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.node_id: str | None = None
        self.editors: dict[str, ParamEditor] = {}
        self.errors: dict[str, QLabel] = {}
        self._built_for: tuple | None = None
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._build_static()
        from .sweep.marks import SearchMarks  # right-click: Search this parameter…

        self.search_marks = SearchMarks(document, self)
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.refresh)
        document.edit_validated.connect(self._on_validated)
        document.changed.connect(self._timer.start)
        document.undo_stack.indexChanged.connect(self._stale_refusals)
        if hasattr(document, "selection_changed"):
            document.selection_changed.connect(self._on_selection)
        if hasattr(document, "graph_replaced"):
            document.scope_changed.connect(lambda _g: self.set_node(None))
        self.set_node(None)

    # layout ---------------------------------------------------------------------------
    def _build_static(self) -> None:
        body = QWidget()
        self.setWidget(body)
        outer = QVBoxLayout(body)
        outer.setContentsMargins(8, 6, 8, 8)
        outer.setSpacing(3)
        self.empty = text_label(EMPTY_TEXT, MUTED)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(self.empty)

        self.content = QWidget()
        col = QVBoxLayout(self.content)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(3)
        outer.addWidget(self.content)
        outer.addStretch(1)

        head = QHBoxLayout()
        head.setSpacing(6)
        self.swatch = QLabel()
        self.swatch.setFixedSize(12, 12)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600; font-size: 12pt;")
        self.type_id = text_label(style=MUTED)
        head.addWidget(self.swatch)
        head.addWidget(self.title, 1)
        col.addLayout(head)
        col.addWidget(self.type_id)
        self.doc = text_label(style=MUTED)
        col.addWidget(self.doc)

        col.addWidget(section_title("Node"))
        node_form = form_layout()
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("The node's name (also its attribute name in generated code).")
        self.name_edit.editingFinished.connect(self._commit_name)
        self.trainable = QCheckBox("learn this layer's weights")
        self.trainable.setToolTip("Unchecked: the layer's weights are frozen during training.")
        self.trainable.toggled.connect(self._commit_trainable)
        node_form.addRow("name", self.name_edit)
        self.name_error = text_label(style=ERROR)
        node_form.addRow(self.name_error)
        node_form.addRow("trainable", self.trainable)
        self.trainable_error = text_label(style=ERROR)
        node_form.addRow(self.trainable_error)
        node_form.setRowVisible(self.trainable_error, False)
        self.node_form = node_form
        col.addLayout(node_form)

        self.params_header = section_title("Parameters")
        col.addWidget(self.params_header)
        self.param_host = QWidget()
        col.addWidget(self.param_host)

        col.addWidget(section_title("Shape"))
        shape_form = form_layout()
        self.in_label = text_label(mono=True)
        self.out_label = text_label(mono=True)
        self.count_label = text_label(mono=True)
        self.macs_label = text_label(mono=True)
        shape_form.addRow("input", self.in_label)
        shape_form.addRow("output", self.out_label)
        shape_form.addRow("params", self.count_label)
        shape_form.addRow("MACs", self.macs_label)
        self.macs_label.setToolTip("Multiply-accumulates per sample (approximate).")
        self.shape_form = shape_form
        col.addLayout(shape_form)

        self.issues_header = section_title("Problems")
        self.issues_label = text_label()
        self.issues_label.setTextFormat(Qt.TextFormat.RichText)
        col.addWidget(self.issues_header)
        col.addWidget(self.issues_label)
        self.fix_buttons: list[QPushButton] = []
        self.fix_row = QVBoxLayout()
        self.fix_row.setContentsMargins(0, 2, 0, 2)
        col.addLayout(self.fix_row)

        col.addWidget(section_title("Explain"))
        self.formula = text_label(mono=True)
        self.formula.setTextFormat(Qt.TextFormat.RichText)
        self.formula.setToolTip("The layer's defining formula.")
        self.explain = text_label(mono=True)
        self.explain.setTextFormat(Qt.TextFormat.RichText)
        self.explain.setToolTip("How the output shape and parameter count follow from the "
                                "parameters, with this node's numbers.")
        col.addWidget(self.formula)
        col.addWidget(self.explain)
        from .teaching.size_sandbox import SizeSandbox  # conv/pool layers: try sizes live

        self.sandbox_header = section_title("Try sizes")
        self.sandbox = SizeSandbox(self.document)
        col.addWidget(self.sandbox_header)
        col.addWidget(self.sandbox)
        for w in (self.formula, self.explain):
            w.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

    # node selection ---------------------------------------------------------------------
    def _on_selection(self, ids: list) -> None:
        self.set_node(ids[0] if len(ids) == 1 else None)
        if len(ids) > 1:
            self.empty.setText(f"{len(ids)} nodes selected: select one to edit its "
                               "parameters.")

    def set_node(self, node_id: str | None) -> None:
        """Show `node_id` (None: nothing selected)."""
        if node_id is not None and node_id not in self.document.edit_graph.nodes:
            node_id = None
        changed = node_id != self.node_id
        self.node_id = node_id
        if changed:
            self._clear_errors()
            self.name_edit.setModified(False)
        self.refresh()

    def node(self) -> Node | None:
        if self.node_id is None:
            return None
        return self.document.edit_graph.nodes.get(self.node_id)

    # refresh --------------------------------------------------------------------------
    def _on_validated(self, report: Report) -> None:
        self.refresh(report)

    def refresh(self, report: Report | None = None) -> None:
        """Bring the view up to date with the document (cheap when nothing changed)."""
        node = self.node()
        if node is None:
            self.node_id = None
            self._built_for = None
            self.empty.setText(EMPTY_TEXT)
            self.content.hide()
            self.empty.show()
            return
        self.empty.hide()
        self.content.show()
        spec = node.spec
        key = (node.id, node.type, tuple(q.name for q in spec.params))
        if key != self._built_for:
            self._build_editors(spec)
            self._built_for = key
        self._show_header(node, spec)
        self._show_values(node)
        self._show_report(node, spec, report or self.document.edit_report())

    def _show_header(self, node: Node, spec: LayerSpec) -> None:
        color = category_color(spec.category).name()
        self.swatch.setStyleSheet(f"background: {color}; border-radius: 3px;")
        self.swatch.setToolTip(spec.category)
        self.title.setText(spec.name)
        self.type_id.setText(f"{spec.id} · {spec.category}")
        self.doc.setText(spec.doc)
        self.doc.setVisible(bool(spec.doc))
        if not self.name_edit.isModified():  # keep a refused name until it is fixed
            self.name_edit.setText(node.name)
        self.trainable.blockSignals(True)
        self.trainable.setChecked(node.trainable)
        self.trainable.blockSignals(False)

    def _build_editors(self, spec: LayerSpec) -> None:
        old = self.param_host.layout()
        if old is not None:
            QWidget().setLayout(old)  # reparent the old layout and its widgets away
        form = form_layout()
        self.param_host.setLayout(form)
        self.editors, self.errors = {}, {}
        labels = {}
        for q in spec.params:
            editor = make_editor(q)
            editor.edited.connect(lambda v, name=q.name: self.commit_param(name, v))
            name_label = QLabel(q.name)
            name_label.setToolTip(q.help)
            labels[q.name] = name_label
            form.addRow(name_label, editor)
            err = text_label(style=ERROR)
            form.addRow(err)
            form.setRowVisible(err, False)
            self.editors[q.name], self.errors[q.name] = editor, err
        self.params_header.setVisible(bool(spec.params))
        from .sweep.marks import attach_param_marks

        attach_param_marks(self.search_marks, labels, lambda: self.node_id)
        self.param_form = form
        self._align_label_columns()

    def _align_label_columns(self) -> None:
        """Give the label column of every form the same width, so the fields line up."""
        forms = (self.node_form, self.param_form, self.shape_form)
        labels = []
        for form in forms:
            for row in range(form.rowCount()):
                item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                if item is not None and item.widget() is not None:
                    labels.append(item.widget())
        width = max((lab.sizeHint().width() for lab in labels), default=0)
        for lab in labels:
            lab.setMinimumWidth(width)
            lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        indent = width + self.param_form.horizontalSpacing()
        for err in [self.name_error, self.trainable_error, *self.errors.values()]:
            err.setContentsMargins(indent, 0, 0, 2)

    def _show_values(self, node: Node) -> None:
        params = self._effective(node)
        for name, editor in self.editors.items():
            keep_text = isinstance(editor, (_ListLineEdit, StrEditor)) and \
                self.errors[name].text()
            if not keep_text:
                editor.set_value(params.get(name))
            bound = node.exprs.get(name)  # inside a block: set by the block's arguments
            editor.setEnabled(bound is None)
            editor.setToolTip(f"= {bound}: set by the block's arguments" if bound else
                              editor.help_tip)

    def _effective(self, node: Node) -> dict:
        if not node.exprs:
            return node.params
        try:
            return effective_params(node, self.document.edit_report().args)
        except ValueError:
            return node.params

    def _show_report(self, node: Node, spec: LayerSpec, report: Report) -> None:
        ins = report.in_types.get(node.id) or self._upstream_types(node, report)
        outs = report.out_types.get(node.id)
        ports_in, ports_out = node.input_ports(), node.output_ports()
        self.in_label.setText(types_text(ports_in, ins) if ports_in else "—")
        self.out_label.setText(types_text(ports_out, outs) if ports_out else "—")
        self.shape_form.setRowVisible(self.in_label, bool(ports_in))
        self.shape_form.setRowVisible(self.out_label, bool(ports_out))
        count = report.param_counts.get(node.id)
        self.count_label.setText("?" if count is None else f"{count:,}")
        self.macs_label.setText(macs_text(spec, node, ins, outs))
        issues = report.issues_for(node.id)
        self.issues_header.setVisible(bool(issues))
        self.issues_label.setVisible(bool(issues))
        self.issues_label.setText("<br>".join(
            f"<span style='{ERROR if i.severity == 'error' else WARNING}'>"
            f"{'✖' if i.severity == 'error' else '⚠'} {html.escape(i.message)}</span>"
            for i in issues))
        self._show_fixes([i.fix for i in issues if i.fix is not None])
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        self.formula.setText(lines_html(spec.formula, "#8fb4e8" if dark else "#34598a"))
        self.formula.setVisible(bool(spec.formula))
        self.explain.setText(lines_html(explain_text(spec, self._effective(node), ins, outs,
                                                      has_issues=bool(issues))))
        self.sandbox.show_node(node, ins)
        self.sandbox_header.setVisible(self.sandbox.node is not None)
        has_weights = spec.can_learn if count is None else count > 0
        self.node_form.setRowVisible(self.trainable, has_weights)

    def _show_fixes(self, fixes: list) -> None:
        """One button per fixable problem ("Fix: set out_features to 3")."""
        if [b.fix for b in self.fix_buttons] == fixes:
            return
        for b in self.fix_buttons:
            self.fix_row.removeWidget(b)
            b.deleteLater()
        self.fix_buttons = []
        for fix in fixes:
            button = QPushButton(f"Fix: {fix.label}")
            button.setToolTip("Apply this change (Ctrl+Z undoes it)")
            button.fix = fix
            button.clicked.connect(lambda _c=False, f=fix: self.document.apply_fix(f))
            self.fix_row.addWidget(button)
            self.fix_buttons.append(button)

    def _upstream_types(self, node: Node, report: Report):
        """The types arriving at the node's inputs (known even when the node itself failed),
        or None if an input is unconnected or its type is unknown."""
        graph = self.document.edit_graph
        types = []
        for port in node.input_ports():
            edge = graph.edge_into(node.id, port)
            t = report.edge_type(edge, graph) if edge is not None else None
            if t is None:
                return None
            types.append(t)
        return types

    # edits ----------------------------------------------------------------------------
    def commit_param(self, name: str, value: Any) -> bool:
        """Check `value` with the spec and push it as an undoable edit. A refused value is
        not applied and its reason is shown under the editor. Returns True if applied."""
        node = self.node()
        if node is None:
            return False
        graph = self.document.edit_graph
        try:
            canonical = graph.checked_param(node.id, name, value)   # the engine's checks
        except (ParamError, GraphError) as exc:
            self._refuse(name, str(exc))
            return False
        self._set_error(name, None)
        old = node.params.get(name)
        if old == canonical and type(old) is type(canonical):
            return True
        try:
            self.document.push(SetParamCommand(graph, node.id, name, canonical))
        except (ParamError, GraphError, ValueError) as exc:
            self._refuse(name, str(exc))
            return False
        return True

    def _refuse(self, name: str, message: str) -> None:
        self._set_error(name, message)
        editor = self.editors.get(name)
        node = self.node()
        if editor is not None and node is not None and \
                not isinstance(editor, (_ListLineEdit, StrEditor)):
            editor.set_value(node.params.get(name))

    def _set_error(self, name: str, message: str | None) -> None:
        err, editor = self.errors.get(name), self.editors.get(name)
        if err is None:
            return
        err.setText(message or "")
        self.param_form.setRowVisible(err, bool(message))
        editor.show_error(message)

    def _stale_refusals(self, _index: int) -> None:
        """An edit went through (or was undone): the refusals shown are out of date."""
        if self.node() is not None:
            self._clear_errors()

    def _clear_errors(self) -> None:
        for name in list(self.errors):
            self._set_error(name, None)
        self.name_error.setText("")
        self.node_form.setRowVisible(self.name_error, False)
        self.trainable_error.setText("")
        self.node_form.setRowVisible(self.trainable_error, False)

    def error_text(self, name: str) -> str:
        """The refusal shown under a param's editor ('' when none)."""
        err = self.errors.get(name)
        return err.text() if err is not None and not err.isHidden() else ""

    def _commit_name(self) -> None:
        node = self.node()
        if node is None:
            return
        name = self.name_edit.text().strip()
        if name != node.name:
            try:
                self.document.push(RenameCommand(self.document.edit_graph, node.id, name))
            except (GraphError, ValueError) as exc:
                self.name_error.setText(str(exc))
                self.node_form.setRowVisible(self.name_error, True)
                return
        self.name_edit.setModified(False)
        self.name_edit.setText(node.name)
        self.node_form.setRowVisible(self.name_error, False)

    def _commit_trainable(self, checked: bool) -> None:
        """Freeze or unfreeze, as an undoable edit; refused like any edit while a run is
        active (the box goes back and the reason shows under it)."""
        node = self.node()
        if node is None or node.trainable == checked:
            return
        try:
            self.document.push(SetTrainableCommand(self.document.edit_graph, node.id, checked))
        except (GraphError, ValueError) as exc:
            self.trainable.blockSignals(True)
            self.trainable.setChecked(node.trainable)
            self.trainable.blockSignals(False)
            self.trainable_error.setText(str(exc))
            self.node_form.setRowVisible(self.trainable_error, True)
            return
        self.node_form.setRowVisible(self.trainable_error, False)
