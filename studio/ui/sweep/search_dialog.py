""""Search this setting…": a range (low, high, log scale, step) or a list of choices for one
training setting or layer parameter, checked by the engine before it is stored."""
from __future__ import annotations

import json
import math
from typing import Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from engine.sweep.space import SweepError, current_values, dimension, label_for, target_kind


def parse_choices(text: str) -> list:
    """'adam, sgd' -> ['adam', 'sgd']; '16, 32' -> [16, 32]; '[3, 3], [5, 5]' -> lists."""
    try:
        value = json.loads(f"[{text}]")
        if isinstance(value, list) and value:
            return value
    except ValueError:
        pass
    return [_token(t.strip()) for t in text.split(",") if t.strip()]


def _token(t: str) -> Any:
    try:
        return json.loads(t)
    except ValueError:
        return t


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() \
        else value


def suggested_entry(kind: str, current: Any, choices: tuple = ()) -> dict:
    """A sensible first range around the current value."""
    if kind == "choice":
        return {"choices": list(choices) if choices else [current]}
    if kind == "int":
        v = int(current) if isinstance(current, (int, float)) and current >= 1 else 8
        return {"low": max(1, v // 4), "high": max(v * 4, 2), "log": v >= 4}
    v = float(current) if isinstance(current, (int, float)) and current else 0.0
    if v > 0:
        return {"low": float(f"{v / 10:.3g}"), "high": float(f"{v * 10:.3g}"), "log": True}
    return {"low": 0.0, "high": 1.0}


class SearchDialog(QDialog):
    """`entry()` after exec(): the checked space entry; `removed` when Stop searching was
    pressed."""

    def __init__(self, document, key: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.document, self.key = document, key
        self.removed = False
        self._entry: dict | None = None
        project = document.project
        self.kind = target_kind(project, key)
        label = label_for(project, key)
        self.setWindowTitle(f"Search {label}")
        current = self._current()
        existing = (project.sweep.get("space") or {}).get(key) if isinstance(
            project.sweep, dict) else None
        entry = existing if isinstance(existing, dict) else \
            suggested_entry(self.kind, current, self._choices())
        intro = QLabel(f"Each trial of a sweep trains with a value of <b>{label}</b> "
                       f"drawn from this range or list (now: <code>{current!r}</code>).")
        intro.setWordWrap(True)
        self.range_button = QRadioButton("Range")
        self.choice_button = QRadioButton("Choices")
        group = QButtonGroup(self)
        group.addButton(self.range_button)
        group.addButton(self.choice_button)
        self.low, self.high, self.step = QLineEdit(), QLineEdit(), QLineEdit()
        self.step.setPlaceholderText("any (continuous)")
        self.log = QCheckBox("log scale (for rates and sizes spanning decades)")
        self.choices = QLineEdit()
        self.choices.setPlaceholderText("comma-separated, e.g. adam, sgd  or  16, 32, 64")
        form = QFormLayout()
        form.addRow(self.range_button)
        form.addRow("low", self.low)
        form.addRow("high", self.high)
        form.addRow("", self.log)
        form.addRow("step", self.step)
        form.addRow(self.choice_button)
        form.addRow("values", self.choices)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d0342c;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Search")
        buttons.accepted.connect(self.accept_entry)
        buttons.rejected.connect(self.reject)
        if existing is not None:
            stop = buttons.addButton("Stop searching", QDialogButtonBox.ButtonRole.DestructiveRole)
            stop.clicked.connect(self._remove)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        self._show(entry)
        self.range_button.toggled.connect(self._mode_changed)
        self._mode_changed()
        self.setMinimumWidth(440)

    def _current(self) -> Any:
        from engine.sweep.space import Dimension

        return current_values(self.document.project, [Dimension(self.key, self.kind)])[
            self.key]

    def _choices(self) -> tuple:
        where, _ = self.key.split(".", 1)
        if where == "node":
            from engine.sweep.space import split_key

            _, (nid, param) = split_key(self.key)
            return tuple(self.document.graph.nodes[nid].spec.param(param).choices)
        from engine.train.config import OPTIMIZERS, SCHEDULES

        return {"training.optimizer.name": OPTIMIZERS,
                "training.schedule.name": SCHEDULES}.get(self.key, ())

    def _show(self, entry: dict) -> None:
        is_range = "choices" not in entry and self.kind != "choice"
        self.range_button.setChecked(is_range)
        self.choice_button.setChecked(not is_range)
        self.range_button.setEnabled(self.kind != "choice")
        def fmt(v) -> str:
            return "" if v is None else f"{v:g}" if isinstance(v, float) else str(v)
        self.low.setText(fmt(entry.get("low")))
        self.high.setText(fmt(entry.get("high")))
        self.step.setText(fmt(entry.get("step")))
        self.log.setChecked(bool(entry.get("log")))
        self.choices.setText(", ".join(c if isinstance(c, str) else json.dumps(c)
                                       for c in entry.get("choices", [])))

    def _mode_changed(self) -> None:
        on = self.range_button.isChecked()
        for w in (self.low, self.high, self.step, self.log):
            w.setEnabled(on)
        self.choices.setEnabled(not on)

    def _read(self) -> dict:
        if self.choice_button.isChecked():
            values = parse_choices(self.choices.text())
            if not values:
                raise SweepError("enter at least one value")
            return {"choices": values}
        try:
            entry: dict = {"low": _number(self.low.text().strip()),
                           "high": _number(self.high.text().strip())}
            if self.step.text().strip():
                entry["step"] = _number(self.step.text().strip())
        except ValueError:
            raise SweepError("low, high and step must be numbers") from None
        if not all(math.isfinite(v) for v in entry.values()):
            raise SweepError("low, high and step must be finite")
        if self.log.isChecked():
            entry["log"] = True
        return entry

    def accept_entry(self) -> None:
        try:
            entry = self._read()
            dimension(self.document.project, self.key, entry)   # the engine's checks
        except SweepError as exc:
            self.error.setText(str(exc))
            return
        self._entry = entry
        self.accept()

    def _remove(self) -> None:
        self.removed = True
        self.accept()

    def entry(self) -> dict | None:
        return self._entry
