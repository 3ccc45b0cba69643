"""Runs panel: the run folders of the project (`<project>.runs/run-N`), their best epoch,
curves from metrics.jsonl (ticked runs are overlaid on the live plots), the config diff of the
selected run against the current settings, and "Use weights" to load its best weights."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.train.run_folder import list_runs, read_config, read_metrics, weights_file


def flatten(d, prefix: str = "") -> dict:
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = d
    return out


def config_diff(a: dict, b: dict) -> list[str]:
    """Lines 'key: a -> b' for every setting that differs between two configs."""
    fa, fb = flatten(a), flatten(b)
    lines = []
    for key in sorted(set(fa) | set(fb)):
        if fa.get(key) != fb.get(key):
            lines.append(f"{key}: {fa.get(key, '—')} → {fb.get(key, '—')}")
    return lines


class RunsPanel(QWidget):
    """`overlays_changed([(label, rows)])` when runs are ticked; `weights_loaded(run)`."""

    overlays_changed = Signal(list)
    weights_loaded = Signal(str)

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Run", "Epochs", "Best epoch", "val_loss", "Metric"])
        self.tree.setRootIsDecorated(False)
        self.tree.itemChanged.connect(self._ticked)
        self.tree.currentItemChanged.connect(lambda *_: self._show_diff())
        self.diff = QPlainTextEdit()
        self.diff.setReadOnly(True)
        self.diff.setPlaceholderText("Select a run to see how its settings differ from the "
                                     "current ones; tick runs to overlay their curves.")
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.use = QPushButton("Use weights")
        self.use.setToolTip("Load the selected run's best weights into the model (Save and "
                            "Export then use them)")
        self.use.clicked.connect(self.use_weights)
        self.message = QLabel()
        buttons = QHBoxLayout()
        buttons.addWidget(refresh)
        buttons.addWidget(self.use)
        buttons.addWidget(self.message, 1)
        split = QSplitter()
        split.addWidget(self.tree)
        split.addWidget(self.diff)
        split.setSizes([420, 300])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(buttons)
        lay.addWidget(split, 1)
        self.refresh()

    def run_dirs(self) -> list[Path]:
        runs = list_runs(self.document.project.runs_dir()) if self.document.project.path \
            else []
        return runs + [d for d in self.document.unsaved_runs.dirs() if d not in runs]

    def refresh(self) -> None:
        ticked = {self.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
                  for i in range(self.tree.topLevelItemCount())
                  if self.tree.topLevelItem(i).checkState(0) == Qt.CheckState.Checked}
        self.tree.blockSignals(True)
        self.tree.clear()
        for run in self.run_dirs():
            rows = read_metrics(run)
            best = self._best(rows)
            metric = next((k for k in (best or {}) if k.startswith("val_") and
                           k != "val_loss"), None)
            item = QTreeWidgetItem([
                run.name, str(len(rows)), str(best.get("epoch", "—")) if best else "—",
                f"{best['val_loss']:.4g}" if best and _num(best.get("val_loss")) else "—",
                f"{metric} {best[metric]:.4g}" if metric and _num(best.get(metric)) else ""])
            item.setData(0, Qt.ItemDataRole.UserRole, str(run))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if str(run) in ticked
                               else Qt.CheckState.Unchecked)
            self.tree.addTopLevelItem(item)
        self.tree.blockSignals(False)
        for c in range(5):
            self.tree.resizeColumnToContents(c)

    @staticmethod
    def _best(rows: list[dict]) -> dict | None:
        scored = [r for r in rows if _num(r.get("val_loss"))]
        return min(scored, key=lambda r: r["val_loss"]) if scored else \
            (rows[-1] if rows else None)

    def _ticked(self, *_):
        runs = []
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.checkState(0) == Qt.CheckState.Checked:
                path = Path(item.data(0, Qt.ItemDataRole.UserRole))
                runs.append((path.name, read_metrics(path)))
        self.overlays_changed.emit(runs)

    def selected_run(self) -> Path | None:
        item = self.tree.currentItem()
        return Path(item.data(0, Qt.ItemDataRole.UserRole)) if item else None

    def _show_diff(self) -> None:
        run = self.selected_run()
        if run is None:
            return
        cfg = read_config(run)
        from engine.train.config import ConfigError, resolve_config
        try:
            current = resolve_config(self.document.project.training)
        except ConfigError:
            current = self.document.project.training
        lines = config_diff(cfg.get("training", {}), current)
        lines += config_diff(cfg.get("dataset", {}), self.document.project.dataset)
        head = f"{run.name} vs. the current settings"
        self.diff.setPlainText(head + "\n" + ("\n".join(lines) if lines else
                                              "(same settings)"))

    def use_weights(self) -> None:
        run = self.selected_run()
        if run is None:
            self.message.setText("Select a run first")
            return
        from engine.project import ProjectError, load_weights
        path = weights_file(run)
        if path is None:
            self.message.setText(f"{run.name} has no saved weights")
            return
        try:
            weights = load_weights(path, self.document.graph)
        except (ProjectError, OSError) as exc:
            self.message.setText(str(exc))
            return
        if not self.document.set_weights(weights, f"Use the weights of {run.name}"):
            self.message.setText(self.document.LOCK_MESSAGE if self.document.locked else
                                 f"Could not use the weights of {run.name}")
            return
        self.message.setText(f"Loaded the weights of {run.name} ({path.name})")
        self.weights_loaded.emit(str(run))


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
