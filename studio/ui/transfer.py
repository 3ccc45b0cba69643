"""Transfer learning as guided edits, each one undo step: Replace Head (the classifier for the
dataset's class count), Freeze / Unfreeze the selected blocks, a learning-rate factor per
block (training.lr_scales: the optimizer's param groups) and the Fine-tune preset (the head
alone for K epochs, then everything at a lower rate). Offered in the Model menu and in the
canvas's right-click menu."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QMenu

from engine.project import ProjectError
from engine.train.finetune import describe
from engine.transfer import TransferError, fine_tune_preset, replace_head_plan, without_fine_tune
from engine.weights_lazy import copy_weights, drop_weights, peek_weights, unread

from ..commands import MacroCommand, SetParamCommand, SetTrainableCommand, SetWeightsCommand
from .training.commands import SetProjectSettingCommand

LR_FACTORS = (1.0, 0.5, 0.1, 0.01)


def replace_head_command(graph, classes: int) -> MacroCommand:
    """One undo step: the classifier's class count (on the layer or the block instance that
    sets it) and its stored weights dropped (the new head starts random). TransferError.
    A head that is a whole top-level node drops its tensors without reading a lazily opened
    weights file (see head_needs_weights)."""
    plan = replace_head_plan(graph, classes)
    cmd = MacroCommand(graph, f"Replace head ({plan.old_classes} → {classes} classes)")
    for g, nid, param, value in plan.changes:
        cmd.add(SetParamCommand(g, nid, param, value))
    if unread(graph.weights) and not plan.drop_prefix:
        if peek_weights(graph.weights, plan.top_id) is not None:
            weights = copy_weights(graph.weights)
            drop_weights(weights, plan.top_id)
            cmd.add(SetWeightsCommand(graph, weights, "Drop the old head's weights"))
        return cmd
    dropped = plan.dropped(graph)
    if dropped:
        weights = {k: dict(v) for k, v in graph.weights.items()}
        kept = {k: v for k, v in weights[plan.top_id].items() if k not in dropped}
        if kept:
            weights[plan.top_id] = kept
        else:
            del weights[plan.top_id]
        cmd.add(SetWeightsCommand(graph, weights, "Drop the old head's weights"))
    return cmd


def head_needs_weights(graph, classes: int) -> bool:
    """True when replacing the head must read a lazily opened weights file: the head is
    part of a block instance, whose other tensors stay. TransferError."""
    return unread(graph.weights) and bool(replace_head_plan(graph, classes).drop_prefix)


class TransferActions(QObject):
    """The transfer-learning actions of a main window (`window.document`, `window.scene`)."""

    status_message = Signal(str)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.replace_head_action = self._action("Replace &Head…", self.replace_head,
                                                "Give the classifier one output per class "
                                                "of the dataset (its new weights random)")
        self.fine_tune_action = self._action("&Fine-tune Preset…", self.fine_tune,
                                             "Train the new head alone for a few epochs, "
                                             "then every layer at a lower rate")
        self.freeze_action = self._action("&Freeze Selected", lambda: self.set_frozen(True),
                                          "Keep the selected blocks' weights as they are")
        self.unfreeze_action = self._action("U&nfreeze Selected",
                                            lambda: self.set_frozen(False),
                                            "Train the selected blocks' weights again")
        window.view.context_menu_provider = self.menu
        window.scene.lr_factor_of = self.lr_factor_of
        self.document.settings_changed.connect(self._settings_changed)

    def lr_factor_of(self, name: str) -> float | None:
        """The block's own learning-rate factor (None: the optimizer's rate), for the canvas;
        only top-level nodes have one."""
        if not self._top_level():
            return None
        return (self.document.project.training.get("lr_scales") or {}).get(name)

    def _settings_changed(self, section: str) -> None:
        if section == "training":
            self.window.scene.update()

    def _action(self, text: str, slot, tip: str) -> QAction:
        act = QAction(text, self.window)
        act.setStatusTip(tip)
        act.setToolTip(tip)
        act.triggered.connect(lambda _c=False: slot())
        return act

    @property
    def document(self):
        return self.window.document

    def _top_level(self) -> bool:
        return self.document.edit_graph is self.document.graph

    def _learning(self, ids) -> list[str]:
        """The selected top-level nodes that have weights."""
        g, counts = self.document.graph, self.document.report().param_counts
        return [i for i in ids if i in g.nodes and counts.get(i, 0) > 0]

    def _push(self, command) -> bool:
        ok = self.document.try_push(command)
        if ok:
            self.status_message.emit(command.text())
        return ok

    # -- the edits ------------------------------------------------------------------------------
    def dataset_classes(self) -> int | None:
        profile = getattr(getattr(self.document, "fit", None), "profile", None)
        targets = getattr(profile, "targets", ()) or ()
        return targets[0].num_classes if targets and targets[0].num_classes else None

    def replace_head(self, classes: int | None = None) -> bool:
        graph = self.document.graph
        try:
            from engine.transfer import find_head

            current = find_head(graph).classes
        except TransferError as exc:
            self.status_message.emit(f"Cannot replace the head: {exc}")
            return False
        if classes is None:
            known = self.dataset_classes()
            hint = f"The dataset has {known} classes." if known else \
                "The dataset's classes are not known yet."
            classes, ok = QInputDialog.getInt(
                self.window, "Replace head", f"Outputs of the new classifier (now {current})."
                f"\n{hint}", known or current, 1, 1_000_000)
            if not ok:
                return False

        def replace() -> bool:   # when the weights are read (the old head's are dropped)
            try:
                command = replace_head_command(self.document.graph, classes)
            except (TransferError, ProjectError) as exc:   # ProjectError: its weights file
                self.status_message.emit(f"Cannot replace the head: {exc}")
                return False
            return self._push(command)

        report = lambda message: self.status_message.emit(
            f"Cannot replace the head: {message}")
        try:
            if not head_needs_weights(self.document.graph, classes):
                return replace()   # the old head's tensors go without reading any
        except TransferError as exc:
            report(str(exc))
            return False
        return self.document.weights_reader.run(replace, report, "Replace head")

    def set_frozen(self, frozen: bool, ids: list[str] | None = None) -> bool:
        if not self._top_level():
            self.status_message.emit("Freeze blocks from the model's top level (leave the "
                                     "block first)")
            return False
        g = self.document.graph
        ids = self._learning(self.window.scene.selected_ids() if ids is None else ids)
        ids = [i for i in ids if g.nodes[i].trainable == frozen]
        if not ids:
            self.status_message.emit("Select blocks with weights to " +
                                     ("freeze" if frozen else "unfreeze"))
            return False
        names = ", ".join(g.nodes[i].name for i in ids[:4]) + ("…" if len(ids) > 4 else "")
        cmd = MacroCommand(g, f"{'Freeze' if frozen else 'Unfreeze'} {names}",
                           [SetTrainableCommand(g, i, not frozen) for i in ids])
        return self._push(cmd)

    def set_lr_factor(self, factor: float, ids: list[str] | None = None) -> bool:
        """training.lr_scales for the selected blocks (1: their entry removed)."""
        g = self.document.graph
        ids = self._learning(self.window.scene.selected_ids() if ids is None else ids)
        if not ids or not self._top_level():
            self.status_message.emit("Select blocks with weights on the model's top level")
            return False
        scales = dict(self.document.project.training.get("lr_scales") or {})
        for i in ids:
            scales.pop(g.nodes[i].name, None)
            if factor != 1:
                scales[g.nodes[i].name] = factor
        names = ", ".join(g.nodes[i].name for i in ids[:4]) + ("…" if len(ids) > 4 else "")
        return self._push(SetProjectSettingCommand(
            self.document, "training", ("lr_scales",), scales or None,
            f"Learning rate ×{factor:g} for {names}"))

    def ask_lr_factor(self) -> bool:
        factor, ok = QInputDialog.getDouble(
            self.window, "Learning rate", "Multiply the learning rate of the selected blocks "
            "by:", 0.1, 0.0001, 1000.0, 4)
        return ok and self.set_lr_factor(factor)

    def fine_tune(self, freeze_epochs: int | None = None, factor: float = 0.1) -> bool:
        doc = self.document
        if freeze_epochs is None:
            freeze_epochs, ok = QInputDialog.getInt(
                self.window, "Fine-tune preset", "The new head learns alone for this many "
                f"epochs; then every layer trains, the backbone at {factor:g}× the rate:",
                2, 1, 100_000)
            if not ok:
                return False
        try:
            training = fine_tune_preset(doc.graph, doc.project.training, freeze_epochs, factor)
        except TransferError as exc:
            self.status_message.emit(f"Cannot fine-tune: {exc}")
            return False
        return self._push(SetProjectSettingCommand(doc, "training", (), training,
                                                   "Fine-tune preset"))

    def remove_fine_tune(self) -> bool:
        doc = self.document
        return self._push(SetProjectSettingCommand(
            doc, "training", (), without_fine_tune(doc.project.training),
            "One learning rate for every layer"))

    # -- the canvas menu ------------------------------------------------------------------------
    def menu(self, ids: list[str]) -> QMenu:
        """The right-click menu of the canvas for the selected nodes `ids`."""
        menu = QMenu(self.window)
        learning = self._learning(ids) if self._top_level() else []
        g = self.document.graph
        if learning:
            frozen = [i for i in learning if not g.nodes[i].trainable]
            if len(frozen) < len(learning):
                menu.addAction(self.freeze_action)
            if frozen:
                menu.addAction(self.unfreeze_action)
            lr = menu.addMenu("&Learning Rate")
            scales = self.document.project.training.get("lr_scales") or {}
            current = {scales.get(g.nodes[i].name, 1.0) for i in learning}
            for f in LR_FACTORS:
                act = lr.addAction(f"×{f:g}" + (" (the optimizer's rate)" if f == 1 else ""))
                act.setCheckable(True)
                act.setChecked(current == {f})
                act.triggered.connect(lambda _c=False, f=f: self.set_lr_factor(f))
            lr.addSeparator()
            lr.addAction("Other…").triggered.connect(lambda _c=False: self.ask_lr_factor())
            menu.addSeparator()
        menu.addAction(self.replace_head_action)
        menu.addAction(self.fine_tune_action)
        if self.document.project.training.get("fine_tune") or \
                self.document.project.training.get("lr_scales"):
            menu.addAction("One Learning Rate for All").triggered.connect(
                lambda _c=False: self.remove_fine_tune())
        return menu

    def summary(self) -> str:
        return describe(self.document.project.training)


__all__ = ["LR_FACTORS", "TransferActions", "head_needs_weights", "replace_head_command"]
