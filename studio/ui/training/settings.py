"""The training settings form: every edit is validated (engine.train.config) and saved in the
project's `training` section through an undoable SetProjectSettingCommand; invalid values are
refused with the reason shown under the form."""
from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from engine.train.config import (
    DEFAULTS,
    EARLY_STOPPING_DEFAULTS,
    LOSSES,
    METRICS,
    OPTIMIZERS,
    SCHEDULES,
    ConfigError,
    resolve_config,
)
from engine.train.finetune import describe as describe_rates

from .commands import _MISSING, SetProjectSettingCommand, _set, get_setting
from .fields import Binding, BoolBinding, ChoiceBinding, FloatBinding, IntBinding, NumberText
from ..lazy_widgets import built_in_steps

SCHEDULE_PARAMS = {"step": ("step_size", "gamma"), "exponential": ("gamma",),
                   "cosine": ("min_lr",), "plateau": ("factor", "patience", "min_lr"),
                   "onecycle": ("max_lr", "pct_start"), "constant": ()}
MOMENTUM_OPTIMIZERS = ("momentum", "nesterov", "rmsprop")


def _opts(names) -> list[tuple[str, Any]]:
    return [(n, n) for n in names]


def check_training(training: dict) -> str | None:
    """The reason a training section is invalid, or None."""
    try:
        resolve_config(copy.deepcopy(training))
    except ConfigError as exc:
        return str(exc)
    return None


def check_device(value: str) -> str | None:
    if value.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            return "device cuda: no CUDA GPU is available on this machine (use auto or cpu)"
    return None


class TrainingSettings(QWidget):
    """Form over `document.project.training`. `refused(str)` carries the reason of a refused
    edit (also shown in the form's message line)."""

    refused = Signal(str)
    committed = Signal(str, tuple)

    def __init__(self, document, parent: QWidget | None = None, in_steps: bool = False):
        """`in_steps`: see lazy_widgets.built_in_steps (one box per part)."""
        super().__init__(parent)
        self.document = document
        self.bindings: list[Binding] = []
        self._reg_rows: list | None = None   # the layers the regularization table shows
        #: what the loss and regularization tables show: an edit elsewhere in a big graph
        #: leaves them alone (a pass over their hundreds of widgets costs milliseconds)
        self._loss_shown: tuple | None = None
        self._reg_shown: tuple | None = None
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c0392b;")
        self.build_steps = built_in_steps(self._build_steps(), in_steps)

    def _build_steps(self):
        """Yields the name of each box built."""
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for name, make in (("run", self._run_box), ("optimizer", self._optimizer_box),
                           ("loss", self._loss_box),
                           ("regularization", self._regularization_box)):
            lay.addWidget(make())
            yield name
        lay.addWidget(self.message)
        lay.addStretch(1)
        for b in self.bindings:
            b.commit = self.commit
            b.on_refused = lambda binding, reason: self.show_refusal(reason, binding)
        self._refused: Binding | None = None
        self.document.undo_stack.indexChanged.connect(self._clear_refusal)
        self.document.graph_replaced.connect(self._clear_refusal)
        from ..sweep.marks import attach_training_marks  # right-click: Search this setting…

        self.search_marks = attach_training_marks(self)
        self.refresh()

    # -- building ---------------------------------------------------------------------------
    def _bind(self, binding: Binding) -> QWidget:
        self.bindings.append(binding)
        return binding.widget

    def _run_box(self) -> QGroupBox:
        box = QGroupBox("Run")
        f = QFormLayout(box)
        t = "training"
        self.epochs = self._bind(IntBinding(t, ("epochs",), DEFAULTS["epochs"], 1, 100000))
        self.batch_size = self._bind(IntBinding(t, ("batch_size",), DEFAULTS["batch_size"],
                                                1, 1 << 20))
        self.device = self._bind(ChoiceBinding(t, ("device",), "auto",
                                               [("auto", "auto"), ("CPU", "cpu"),
                                                ("CUDA", "cuda")]))
        self.seed = self._bind(IntBinding(t, ("seed",), 0, 0, 2**31 - 1))
        f.addRow("Epochs", self.epochs)
        f.addRow("Batch size", self.batch_size)
        f.addRow("Device", self.device)
        f.addRow("Seed", self.seed)
        return box

    def _optimizer_box(self) -> QGroupBox:
        box = QGroupBox("Optimizer and learning rate")
        f = QFormLayout(box)
        t = "training"
        opt = DEFAULTS["optimizer"]
        self.optimizer = self._bind(ChoiceBinding(t, ("optimizer", "name"), opt["name"],
                                                  _opts(OPTIMIZERS)))
        self.lr = self._bind(NumberText(t, ("optimizer", "lr"), opt["lr"]))
        self.weight_decay = self._bind(NumberText(t, ("optimizer", "weight_decay"), 0.0))
        self.momentum = self._bind(NumberText(t, ("optimizer", "momentum"), None,
                                              allow_empty=True, placeholder="default"))
        f.addRow("Optimizer", self.optimizer)
        f.addRow("Learning rate", self.lr)
        f.addRow("Weight decay", self.weight_decay)
        self._momentum_label = QLabel("Momentum")
        f.addRow(self._momentum_label, self.momentum)
        sch = DEFAULTS["schedule"]
        self.schedule = self._bind(ChoiceBinding(t, ("schedule", "name"), sch["name"],
                                                 _opts(SCHEDULES)))
        self.warmup = self._bind(FloatBinding(t, ("schedule", "warmup_epochs"), 0, 0, 1000, 1,
                                              1))
        f.addRow("LR schedule", self.schedule)
        f.addRow("Warm-up epochs", self.warmup)
        self.param_groups = QLabel()   # training.lr_scales / fine_tune (engine.train.finetune)
        self.param_groups.setWordWrap(True)
        self.param_groups.setToolTip("Param groups of the optimizer. Right-click blocks on "
                                     "the canvas to freeze them or give them their own "
                                     "learning rate; Model > Fine-tune Preset")
        f.addRow("Per layer", self.param_groups)
        self.schedule_rows: dict[str, tuple[QLabel, QWidget]] = {}
        for key in ("step_size", "gamma", "min_lr", "factor", "patience", "max_lr",
                    "pct_start"):
            if key in ("step_size", "patience"):
                w = self._bind(IntBinding(t, ("schedule", key), sch[key], 0, 100000))
            else:
                w = self._bind(NumberText(t, ("schedule", key), sch[key],
                                          allow_empty=key == "max_lr",
                                          placeholder="= learning rate"))
            label = QLabel(key.replace("_", " ").capitalize())
            f.addRow(label, w)
            self.schedule_rows[key] = (label, w)
        return box

    def _loss_box(self) -> QGroupBox:
        box = QGroupBox("Loss and metrics")
        v = QVBoxLayout(box)
        self.loss_table = QTableWidget(0, 3)
        self.loss_table.setHorizontalHeaderLabels(["Output", "Loss", "Weight"])
        self.loss_table.verticalHeader().setVisible(False)
        self.loss_table.horizontalHeader().setStretchLastSection(True)
        self.loss_table.setMaximumHeight(90)
        v.addWidget(self.loss_table)
        v.addWidget(QLabel("Metrics"))
        self.metrics = QListWidget()
        self.metrics.setFlow(QListWidget.Flow.LeftToRight)
        self.metrics.setWrapping(True)
        self.metrics.setMaximumHeight(70)
        for m in METRICS:
            item = QListWidgetItem(m)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.metrics.addItem(item)
        self.metrics.itemChanged.connect(self._metrics_edited)
        v.addWidget(self.metrics)
        return box

    def _regularization_box(self) -> QGroupBox:
        box = QGroupBox("Regularization and early stopping")
        v = QVBoxLayout(box)
        self.reg_table = QTableWidget(0, 3)
        self.reg_table.setHorizontalHeaderLabels(["Layer", "L1", "L2"])
        self.reg_table.verticalHeader().setVisible(False)
        self.reg_table.horizontalHeader().setStretchLastSection(True)
        self.reg_table.setMaximumHeight(120)
        v.addWidget(self.reg_table)
        f = QFormLayout()
        t = "training"
        self.clip = self._bind(NumberText(t, ("grad_clip", "norm"), None, allow_empty=True,
                                          placeholder="off"))
        f.addRow("Clip gradient norm", self.clip)
        self.early = QCheckBox("Stop early when")
        self.early.toggled.connect(self._early_toggled)
        es = EARLY_STOPPING_DEFAULTS
        self.monitor = self._bind(ChoiceBinding(t, ("early_stopping", "monitor"),
                                                es["monitor"],
                                                _opts(["val_loss", "val_accuracy", "loss"])))
        self.patience = self._bind(IntBinding(t, ("early_stopping", "patience"),
                                              es["patience"], 0, 10000))
        self.restore = self._bind(BoolBinding(t, ("early_stopping", "restore_best"),
                                              es["restore_best"], "restore best weights"))
        row = QHBoxLayout()
        row.addWidget(self.early)
        row.addWidget(self.monitor)
        f.addRow(row)
        f.addRow("Patience (epochs)", self.patience)
        f.addRow("", self.restore)
        v.addLayout(f)
        return box

    # -- reading the project ----------------------------------------------------------------
    @property
    def training(self) -> dict:
        return self.document.project.training

    def refresh(self) -> None:
        """Show the project's current settings (after undo/redo or a new document)."""
        for b in self.bindings:
            b.show(get_setting(self.document.project, b.section, b.path))
        self.early.blockSignals(True)
        self.early.setChecked(self.training.get("early_stopping") is not None)
        self.early.blockSignals(False)
        for w in (self.monitor, self.patience, self.restore):
            w.setEnabled(self.early.isChecked())
        opt = get_setting(self.document.project, "training", ("optimizer", "name"), "adam")
        self.momentum.setVisible(opt in MOMENTUM_OPTIMIZERS)
        self._momentum_label.setVisible(opt in MOMENTUM_OPTIMIZERS)
        name = get_setting(self.document.project, "training", ("schedule", "name"),
                           "constant")
        for key, (label, w) in self.schedule_rows.items():
            shown = key in SCHEDULE_PARAMS.get(name, ())
            label.setVisible(shown)
            w.setVisible(shown)
        self.param_groups.setText(describe_rates(self.training))
        self._refresh_metrics()
        self._refresh_losses()
        self._refresh_regularization()

    def _refresh_metrics(self) -> None:
        chosen = self.training.get("metrics") or []
        self.metrics.blockSignals(True)
        for i in range(self.metrics.count()):
            item = self.metrics.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in chosen
                               else Qt.CheckState.Unchecked)
        self.metrics.blockSignals(False)

    def _outputs(self):
        return [n for n in self.document.graph.nodes.values() if n.spec.role == "output"]

    def _refresh_losses(self) -> None:
        outs = self._outputs()
        loss = self.training.get("loss")
        shown = ([(n.id, n.name, n.params.get("loss_weight")) for n in outs], repr(loss))
        if shown == self._loss_shown:
            return
        self._loss_shown = shown
        self.loss_table.setRowCount(len(outs))
        for row, node in enumerate(outs):
            name = QLabel(node.name)
            combo = QComboBox()
            combo.addItem("auto (from the data)", None)
            for n in LOSSES:
                combo.addItem(n, n)
            current = loss[row] if isinstance(loss, list) and row < len(loss) else \
                (loss if isinstance(loss, str) else None)
            combo.setCurrentIndex(max(0, combo.findData(current)))
            combo.activated.connect(lambda _i, r=row: self._loss_edited(r))
            weight = QDoubleSpinBox()
            weight.setRange(0.0, 1000.0)
            weight.setDecimals(3)
            weight.setSingleStep(0.1)
            weight.setValue(float(node.params.get("loss_weight", 1.0)))
            weight.setKeyboardTracking(False)
            weight.valueChanged.connect(lambda v, nid=node.id: self._weight_edited(nid, v))
            self.loss_table.setCellWidget(row, 0, name)
            self.loss_table.setCellWidget(row, 1, combo)
            self.loss_table.setCellWidget(row, 2, weight)

    def _weighted_nodes(self):
        """The layers with weights. While the graph is invalid (shapes stop at the error),
        the ones listed before that still exist: an edit that breaks the graph for a moment
        does not empty the table (nor rebuild it twice)."""
        graph = self.document.graph
        try:
            report = self.document.report()
        except Exception:  # noqa: BLE001 - an invalid graph simply lists no layers
            report = None
        if (report is None or not report.ok) and self._reg_rows is not None:
            return [graph.nodes[nid] for nid, _ in self._reg_rows if nid in graph.nodes]
        counts = report.param_counts if report is not None else {}
        return [n for n in graph.nodes.values() if counts.get(n.id, 0) > 0]

    def _refresh_regularization(self) -> None:
        """One row per weighted layer. The same layers as shown: only the values are set (a
        rebuild is two spin boxes per layer, ~3 ms a row: seconds on a 1,000-node graph, on
        every edit)."""
        reg = self.training.get("regularization") or {}
        nodes = self._weighted_nodes()
        rows = [(n.id, n.name) for n in nodes]
        shown = (rows, repr(reg))
        if shown == self._reg_shown:
            return
        self._reg_shown = shown
        if rows == self._reg_rows:
            for row, node in enumerate(nodes):
                for col, kind in ((1, "l1"), (2, "l2")):
                    spin = self.reg_table.cellWidget(row, col)
                    value = float((reg.get(kind) or {}).get(node.name, 0.0))
                    if spin.value() != value:
                        spin.blockSignals(True)
                        spin.setValue(value)
                        spin.blockSignals(False)
            return
        self._reg_rows = rows
        self.reg_table.setRowCount(len(nodes))
        for row, node in enumerate(nodes):
            self.reg_table.setCellWidget(row, 0, QLabel(node.name))
            for col, kind in ((1, "l1"), (2, "l2")):
                spin = QDoubleSpinBox()
                spin.setDecimals(6)
                spin.setRange(0.0, 10.0)
                spin.setSingleStep(1e-4)
                spin.setValue(float((reg.get(kind) or {}).get(node.name, 0.0)))
                spin.setKeyboardTracking(False)
                spin.valueChanged.connect(
                    lambda v, k=kind, name=node.name: self._reg_edited(k, name, v))
                self.reg_table.setCellWidget(row, col, spin)

    # -- edits --------------------------------------------------------------------------------
    def commit(self, section: str, path: tuple, value: Any) -> bool:
        """Validate `value` at `path` and push it as an undoable command, or refuse it."""
        trial = copy.deepcopy(getattr(self.document.project, section))
        _set(trial, path, _MISSING if value is None else value)   # None: back to default
        reason = check_training(trial) if section == "training" else None
        if reason is None and path == ("device",):
            reason = check_device(value)
        binding = next((b for b in self.bindings if (b.section, b.path) == (section, path)),
                       None)
        if reason is not None:
            self.show_refusal(reason, binding)
            return False
        cmd = SetProjectSettingCommand(self.document, section, path, value,
                                       f"Set {'.'.join(path)}")
        try:
            self.document.push(cmd)      # refused while a run is active
        except ValueError as exc:
            self.show_refusal(str(exc), binding)
            return False
        self._clear_refusal()
        self.refresh()
        self.committed.emit(section, path)
        return True

    def show_refusal(self, reason: str, binding: Binding | None = None) -> None:
        """The reason under the form and the refused field outlined in red, until the next
        accepted edit (or undo) makes them stale."""
        self._clear_refusal()
        self._loss_shown = self._reg_shown = None   # the refused value goes from the tables
        self.message.setText(f"Refused: {reason}")
        if binding is not None:
            binding.mark(True)
            self._refused = binding
        self.refused.emit(reason)
        self.refresh()

    def _clear_refusal(self, *_) -> None:
        self.message.clear()
        if self._refused is not None:
            self._refused.mark(False)
            self._refused = None

    def _metrics_edited(self, _item) -> None:
        chosen = [self.metrics.item(i).text() for i in range(self.metrics.count())
                  if self.metrics.item(i).checkState() == Qt.CheckState.Checked]
        self.commit("training", ("metrics",), chosen or None)

    def _loss_edited(self, row: int) -> None:
        outs = self._outputs()
        values = []
        for r in range(len(outs)):
            combo = self.loss_table.cellWidget(r, 1)
            values.append(combo.currentData())
        if all(v is None for v in values):
            self.commit("training", ("loss",), None)
        elif len(values) == 1:
            self.commit("training", ("loss",), values[0])
        elif any(v is None for v in values):
            self.show_refusal("choose a loss for every Output node (or auto for all)")
        else:
            self.commit("training", ("loss",), values)

    def _weight_edited(self, node_id: str, value: float) -> None:
        from studio.commands import SetParamCommand
        try:
            self.document.push(SetParamCommand(self.document.graph, node_id, "loss_weight",
                                               float(value)))
        except (ValueError, KeyError) as exc:
            self.show_refusal(str(exc))

    def _reg_edited(self, kind: str, name: str, value: float) -> None:
        reg = copy.deepcopy(self.training.get("regularization") or {"l1": {}, "l2": {}})
        coefs = reg.setdefault(kind, {})
        if value > 0:
            coefs[name] = float(value)
        else:
            coefs.pop(name, None)
        self.commit("training", ("regularization",), reg)

    def _early_toggled(self, on: bool) -> None:
        self.commit("training", ("early_stopping",),
                    dict(EARLY_STOPPING_DEFAULTS) if on else None)
