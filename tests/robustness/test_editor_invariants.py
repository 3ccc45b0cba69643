"""Editor invariants under random edit sequences: engine-level inverses, and the GUI's
QUndoCommands on a QUndoStack (see editor_machine.py for the rules and invariants)."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from engine.graph import Graph, GraphError

from .editor_machine import EditorBase, EngineEditor

EXAMPLES = int(os.environ.get("ROBUSTNESS_EDITOR_EXAMPLES", "50"))
SETTINGS = settings(max_examples=EXAMPLES, stateful_step_count=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def test_engine_edits_keep_the_document_valid_and_undoable():
    run_state_machine_as_test(EngineEditor, settings=SETTINGS)


class CommandEditor(EditorBase):
    """The same edits through studio.commands on a QUndoStack, pushed the way
    studio.document.Document.push does (execute, then push; a refused edit is not pushed).
    These undos restore node and edge order too, so undo-all must be exact; redo-all must
    then give back the final document."""

    exact_undo = True

    def _setup(self):
        from PySide6.QtGui import QUndoStack
        self.stack = QUndoStack()

    def _push(self, command):
        command.execute()
        self.stack.push(command)

    def do_add(self, layer_type, params, pos):
        from studio.commands import AddNodeCommand
        self._push(AddNodeCommand(self.graph, layer_type, params, pos))

    def do_remove(self, node_id):
        from studio.commands import RemoveNodesCommand
        self._push(RemoveNodesCommand(self.graph, [node_id]))

    def do_connect(self, src, sp, dst, dp):
        from studio.commands import ConnectCommand
        self._push(ConnectCommand(self.graph, src, sp, dst, dp, allow_cycle=True))

    def do_disconnect(self, edge):
        from studio.commands import DisconnectCommand
        self._push(DisconnectCommand(self.graph, edge))

    def do_set_param(self, node_id, name, value):
        from studio.commands import SetParamCommand
        self._push(SetParamCommand(self.graph, node_id, name, value))

    def do_rename(self, node_id, name):
        from studio.commands import RenameCommand
        self._push(RenameCommand(self.graph, node_id, name))

    def do_move(self, node_id, pos):
        from studio.commands import MoveNodesCommand
        old = self.graph.nodes[node_id].pos
        self._push(MoveNodesCommand(self.graph, {node_id: (old, pos)}))

    def do_trainable(self, node_id, value):
        from studio.commands import SetTrainableCommand
        self._push(SetTrainableCommand(self.graph, node_id, value))

    def undo_all(self):
        self.end = self.graph.to_dict()
        while self.stack.canUndo():
            self.stack.undo()

    def teardown(self):
        super().teardown()
        if self.validator is None:
            return
        while self.stack.canRedo():
            self.stack.redo()
        assert self.graph.to_dict() == self.end, "redo-all did not give back the final document"


def test_undo_commands_keep_the_document_valid_and_undoable(qapp):
    pytest.importorskip("studio.commands")
    run_state_machine_as_test(CommandEditor, settings=SETTINGS)


def test_a_connected_port_cannot_vanish():
    """Regression found by the state machine: lowering a merge's inputs with a wire on the
    last port left an edge that Graph.from_dict (and so loading the saved file) refused."""
    g = Graph()
    x = g.add_node("io.Input", {"shape": [4]}, name="x")
    add = g.add_node("merge.Add", {"inputs": 3}, name="add")
    g.connect(x.id, "out", add.id, "in3")
    with pytest.raises(GraphError, match="in3"):
        g.set_param(add.id, "inputs", 2)
    assert add.params["inputs"] == 3
    assert Graph.from_dict(g.to_dict()).to_dict() == g.to_dict()


@pytest.mark.parametrize("pos", [(float("nan"), 0.0), (0.0, float("inf")), (2e9, 0.0)])
def test_positions_a_file_cannot_hold_are_refused(pos):
    g = Graph()
    n = g.add_node("core.Linear")
    with pytest.raises(GraphError, match="position"):
        g.set_position(n.id, pos)
    with pytest.raises(GraphError, match="position"):
        g.add_node("core.Linear", pos=pos)
    assert n.pos == (0.0, 0.0) and len(g.nodes) == 1
