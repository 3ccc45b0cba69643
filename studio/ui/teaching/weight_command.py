"""The undoable edit of one weight (or bias) made in the units view."""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand

START_FROM = "start_from"


class EditWeightCommand(QUndoCommand):
    """The model's weights become `weights` (one number changed: engine.teach.dense.with_weight)
    and the next run trains on from them (training.start_from = "weights"; a fresh seeded start
    would throw the edit away). Undo restores both."""

    def __init__(self, document, weights: dict, text: str):
        super().__init__(text)
        self.document, self.graph = document, document.graph
        self.training = document.project.training
        self.old, self.new = document.graph.weights, weights
        self.old_start = self.training.get(START_FROM)

    def _set(self, weights: dict, start_from) -> None:
        self.graph.weights = weights
        if start_from is None:
            self.training.pop(START_FROM, None)
        else:
            self.training[START_FROM] = start_from
        self.document.settings_changed.emit("training")

    def redo(self) -> None:
        self._set(self.new, "weights")

    def undo(self) -> None:
        self._set(self.old, self.old_start)
