"""Editing operations on the canvas selection, each one undo command: delete, duplicate,
copy/cut/paste, rename, align, auto-layout, add from the quick-add popup."""
from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, QSizeF, Signal
from PySide6.QtWidgets import QInputDialog

from engine.layers import get_spec

from ...commands import (
    AddNodeCommand,
    ConnectCommand,
    DisconnectCommand,
    MacroCommand,
    RemoveNodesCommand,
    RenameCommand,
    align_command,
    auto_layout_command,
    nodes_to_clip,
    paste_command,
)
from .clipboard import copy_nodes, paste_nodes
from .node_item import DEFAULT_HEIGHT, WIDTH
from .placement import beside
from .view import GraphView


class CanvasEditor(QObject):
    status_message = Signal(str)

    def __init__(self, view: GraphView):
        super().__init__(view)
        self.view = view
        self.scene = view.graph_scene
        self.scene.rename_requested.connect(self.rename)

    @property
    def document(self):
        return self.scene.document

    def _push(self, command) -> bool:
        ok = self.document.try_push(command)
        return ok

    def delete_selection(self) -> None:
        ids = self.scene.selected_ids()
        edges = [e for e in self.scene.selected_edges()
                 if e.src not in ids and e.dst not in ids]
        graph = self.document.edit_graph
        if not ids and not edges:
            return
        if ids and not edges:
            self._push(RemoveNodesCommand(graph, ids))
            return
        macro = MacroCommand(graph, "Delete")
        for e in edges:
            macro.add(DisconnectCommand(graph, e))
        if ids:
            macro.add(RemoveNodesCommand(graph, ids))
        self._push(macro)

    def copy(self) -> bool:
        ok = copy_nodes(self.document, self.scene.selected_ids())
        if ok:
            self.status_message.emit(f"Copied {len(self.scene.selected_ids())} node(s)")
        return ok

    def cut(self) -> None:
        if self.copy():
            self.delete_selection()

    def paste(self, at: QPointF | None = None) -> list[str]:
        ids = paste_nodes(self.document, at)
        if ids:
            self.scene.select_ids(ids)
            self.status_message.emit(f"Pasted {len(ids)} node(s)")
        else:
            self.status_message.emit("Nothing to paste: the clipboard holds no Studio nodes")
        return ids

    def duplicate(self) -> list[str]:
        ids = self.scene.selected_ids()
        if not ids:
            return []
        cmd = paste_command(self.document.edit_graph, nodes_to_clip(self.document.edit_graph, ids),
                            (40.0, 40.0), text="Duplicate")
        if not self._push(cmd):
            return []
        new = list(cmd.new_ids.values())
        self.scene.select_ids(new)
        return new

    def select_all(self) -> None:
        self.scene.select_ids(list(self.scene.nodes))

    def rename(self, node_id: str) -> None:
        node = self.document.edit_graph.nodes.get(node_id)
        if node is None:
            return
        name, ok = QInputDialog.getText(self.view, "Rename", f"New name for '{node.name}':",
                                        text=node.name)
        if ok and name.strip() and name.strip() != node.name:
            self._push(RenameCommand(self.document.edit_graph, node_id, name.strip()))

    def align(self, axis: str) -> None:
        ids = self.scene.selected_ids()
        if len(ids) < 2:
            self.status_message.emit("Select two or more nodes to align")
            return
        cmd = align_command(self.document.edit_graph, ids, axis)
        if cmd.moves:
            self._push(cmd)

    def auto_layout(self) -> None:
        cmd = auto_layout_command(self.document.edit_graph)
        if cmd.moves:
            self._push(cmd)
        self.view.frame_all()

    def add_layer_at_cursor(self, layer: str, scene_pos: QPointF | None = None) -> str | None:
        return self.view.add_layer(layer, scene_pos or self.view.cursor_scene_pos())

    def add_layer_after(self, layer: str, node_id: str) -> str | None:
        """Add `layer` to the right of node `node_id`, wired from its first output (one undo
        step), and select it; None (nothing added) when either side has no port for it."""
        graph = self.document.graph
        node, item = graph.nodes.get(node_id), self.scene.nodes.get(node_id)
        if node is None or item is None or not node.output_ports():
            return None
        params = self.document.layer_defaults(layer)
        rects = self.view.node_rects()
        pos = beside(rects, rects[node_id], QSizeF(WIDTH, DEFAULT_HEIGHT),
                     DEFAULT_HEIGHT + 60)
        add = AddNodeCommand(graph, layer, params, (pos.x(), pos.y()))
        ins = get_spec(layer).input_ports(add.params)
        if not ins:
            return None
        macro = MacroCommand(graph, f"Add {get_spec(layer).name} after {node.name}",
                             [add, ConnectCommand(graph, node_id, node.output_ports()[0],
                                                  add.node_id, ins[0])])
        if not self._push(macro):
            return None
        self.scene.select_ids([add.node_id])
        return add.node_id
