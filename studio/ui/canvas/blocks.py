"""Block editing on the canvas: Make block (Ctrl+G), Ungroup (Ctrl+Shift+G), enter a block
(double-click) and go back (the breadcrumb, Ctrl+Shift+Up), save a block type to the library.
Each edit is one undo step (studio.block_commands)."""
from __future__ import annotations

import re

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QInputDialog, QLabel, QToolButton, QVBoxLayout, QWidget

from engine.library import list_library, save_to_library
from engine.project import ProjectError

from ...block_commands import (add_instance_command, bind_command, make_block_command,
                               ungroup_command)


def suggest_type_name(graph, node_ids: list[str]) -> str:
    """A class name for a new block, from its first layers' types (ConvBatchNorm2dReLU)."""
    parts = []
    for nid in node_ids[:3]:
        parts.append(re.sub(r"[^0-9A-Za-z]", "", graph.nodes[nid].spec.name))
    base = ("".join(parts) or "Block")[:40]
    base = base if base[0].isalpha() else "Block" + base
    name, i = base, 2
    while name in graph.blocks:
        name = f"{base}{i}"
        i += 1
    return name


class BlockEditor(QObject):
    """The block actions of the canvas; `status_message` reports refusals and results."""

    status_message = Signal(str)

    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self.scene = view.graph_scene
        self.scene.enter_requested.connect(self.enter)
        view.block_editor = self  # drops of library blocks come here

    @property
    def document(self):
        return self.scene.document

    def make_block(self, name: str | None = None) -> str | None:
        """Selected layers -> a new block type and one instance; returns the instance id."""
        doc = self.document
        ids = self.scene.selected_ids()
        if not ids:
            self.status_message.emit("Select the layers to put into a block first")
            return None
        if name is None:
            name, ok = QInputDialog.getText(
                self.view, "Make block", "Name of the new block type (a Python class name):",
                text=suggest_type_name(doc.edit_graph, ids))
            if not ok or not name.strip():
                return None
        name = name.strip()

        def make() -> str | None:   # once the weights are read (they move into the block)
            try:
                cmd = make_block_command(doc.edit_graph, ids, name, doc.edit_report())
            except (ValueError, KeyError, ProjectError) as exc:   # ProjectError: weights file
                self.status_message.emit(f"Cannot make a block: {str(exc).strip(chr(39))}")
                return None
            if not doc.try_push(cmd):
                return None
            self.scene.select_ids([cmd.plan.instance_id])
            self.status_message.emit(f"Made block {name}: double-click it to open it")
            return cmd.plan.instance_id

        done = doc.weights_reader.run(make, lambda message: self.status_message.emit(
            f"Cannot make a block: {message}"), "Make block", self._model_nodes(ids))
        return done if isinstance(done, str) else None

    def ungroup(self) -> bool:
        doc = self.document
        ids = [i for i in self.scene.selected_ids() if doc.edit_graph.nodes[i].is_block]
        if len(ids) != 1:
            self.status_message.emit("Select one block to ungroup")
            return False

        def ungroup() -> bool:   # once the weights are read (they move out of the block)
            try:
                cmd = ungroup_command(doc.edit_graph, ids[0], doc.edit_report())
            except (ValueError, KeyError, ProjectError) as exc:
                self.status_message.emit(f"Cannot ungroup: {str(exc).strip(chr(39))}")
                return False
            if not doc.try_push(cmd):
                return False
            self.scene.select_ids([n.data["id"] for n in cmd.plan.add])
            return True

        return doc.weights_reader.run(ungroup, lambda message: self.status_message.emit(
            f"Cannot ungroup: {message}"), "Ungroup", self._model_nodes(ids)) is True

    def _model_nodes(self, ids: list[str]) -> list[str] | None:
        """The model's nodes whose tensors a block edit of `ids` moves (None, so the whole
        file is read, when a block's body is edited)."""
        return ids if self.document.edit_graph is self.document.graph else None

    def enter(self, node_id: str | None = None) -> bool:
        if node_id is None:
            ids = self.scene.selected_ids()
            node_id = ids[0] if len(ids) == 1 else None
        if node_id is None or not self.document.enter(node_id):
            self.status_message.emit("Select one block to open")
            return False
        self.view.frame_all()
        return True

    def leave(self, depth: int = -1) -> None:
        self.document.leave(depth)
        self.view.frame_all()

    def add_from_library(self, name: str, pos) -> str | None:
        blocks, _ = list_library()
        entry = next((b for b in blocks if b.name == name), None)
        if entry is None:
            self.status_message.emit(f"No block {name!r} in the library")
            return None
        try:
            cmd = add_instance_command(self.document.edit_graph, entry.types, name,
                                       (pos.x(), pos.y()))
        except (ValueError, KeyError) as exc:
            self.status_message.emit(f"Cannot add {name}: {str(exc).strip(chr(39))}")
            return None
        if not self.document.try_push(cmd):
            return None
        self.scene.select_ids([cmd.node_id])
        return cmd.node_id

    def bind_parameter(self, param: str | None = None, expr: str | None = None) -> bool:
        """Inside a block: make a param of the selected layer follow the block's arguments
        (`channels * 2`); unknown names become new arguments of the block."""
        doc = self.document
        graph, ids = doc.edit_graph, self.scene.selected_ids()
        if graph.owner is None or len(ids) != 1:
            self.status_message.emit("Open a block and select one of its layers to bind a "
                                     "parameter to the block's arguments")
            return False
        node = graph.nodes[ids[0]]
        if param is None:
            names = [q.name for q in node.spec.params]
            param, ok = QInputDialog.getItem(self.view, "Bind parameter",
                                             f"Parameter of {node.name}:", names, 0, False)
            if not ok:
                return False
        if expr is None:
            expr, ok = QInputDialog.getText(
                self.view, "Bind parameter", f"{node.name}.{param} = (an expression of the "
                "block's arguments, e.g. channels * 2; a new name becomes an argument)",
                text=node.exprs.get(param, param))
            if not ok or not expr.strip():
                return False
        try:
            cmd = bind_command(graph, node.id, param, expr)
        except (ValueError, KeyError) as exc:
            self.status_message.emit(f"Cannot bind {param}: {str(exc).strip(chr(39))}")
            return False
        return doc.try_push(cmd)

    def save_to_library(self) -> None:
        doc = self.document
        ids = [i for i in self.scene.selected_ids() if doc.edit_graph.nodes[i].is_block]
        name = doc.edit_graph.nodes[ids[0]].spec.btype.name if len(ids) == 1 else (
            doc.edit_graph.owner.name if doc.edit_graph.owner is not None else None)
        if name is None:
            self.status_message.emit("Select a block (or open one) to save it to the library")
            return
        try:
            path = save_to_library(doc.graph, name, overwrite=True)
        except (ProjectError, OSError) as exc:
            self.status_message.emit(f"Cannot save {name}: {exc}")
            return
        self.status_message.emit(f"Saved block {name} to the library ({path})")


class Breadcrumb(QWidget):
    """'model › layer1 (Bottleneck) › …' above the canvas while inside a block; each part
    goes back to that level."""

    def __init__(self, document, editor: BlockEditor, parent=None):
        super().__init__(parent)
        self.document, self.editor = document, editor
        self.setObjectName("breadcrumb")
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(8, 3, 8, 3)
        self.row.setSpacing(2)
        document.scope_changed.connect(lambda _g: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        while self.row.count():
            w = self.row.takeAt(0).widget()
            if w is not None:
                w.hide()
                w.setParent(None)
                w.deleteLater()
        names = self.document.scope.names()
        for depth, name in enumerate(names):
            if depth:
                self.row.addWidget(QLabel("›"))
            if depth == len(names) - 1:
                label = QLabel(f"<b>{name}</b>")
                label.setToolTip("Edits here change the block type: every instance of it")
                self.row.addWidget(label)
                break
            button = QToolButton(text=name)
            button.setAutoRaise(True)
            button.setToolTip("Back to this level (Ctrl+Shift+Up: one level up)")
            button.clicked.connect(lambda _=False, d=depth: self.editor.leave(d))
            self.row.addWidget(button)
        hint = QLabel("  editing the block type: every instance changes")
        hint.setEnabled(False)
        self.row.addWidget(hint)
        self.row.addStretch(1)
        for i in range(self.row.count()):
            w = self.row.itemAt(i).widget()
            if w is not None:
                w.show()
        self.setVisible(len(names) > 1)


def canvas_with_breadcrumb(view, breadcrumb: Breadcrumb) -> QWidget:
    """The central widget: the breadcrumb (shown inside a block) above the canvas."""
    box = QWidget()
    col = QVBoxLayout(box)
    col.setContentsMargins(0, 0, 0, 0)
    col.setSpacing(0)
    col.addWidget(breadcrumb)
    col.addWidget(view, 1)
    return box


__all__ = ["BlockEditor", "Breadcrumb", "canvas_with_breadcrumb", "suggest_type_name"]
