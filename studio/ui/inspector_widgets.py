"""Parameter editors for the inspector, one per Param kind.

Every editor is a `ParamEditor`: `set_value(v)` shows a value without emitting, and `edited(v)`
is emitted when the user commits a new value (Enter, focus out, arrow step, a click). The
inspector checks the value against the spec and shows a refusal with `show_error`.
"""
from __future__ import annotations

import math
import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLineEdit,
                               QSizePolicy, QSpinBox, QStackedWidget, QWidget)

from engine.layers import Param

INT_LIMIT = 2**31 - 1
_AXES = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}
_ERROR_STYLE = "border: 1px solid #d0342c; border-radius: 2px;"


def _int_range(p: Param) -> tuple[int, int]:
    lo = int(p.min) if p.min is not None else -INT_LIMIT
    hi = int(p.max) if p.max is not None else INT_LIMIT
    return max(lo, -INT_LIMIT), min(hi, INT_LIMIT)


class _OutOfRange:
    """Mixin for spin boxes: a typed number outside the range is not silently replaced by
    the old value: committing it (Enter, focus out) emits `out_of_range(number)` first, so
    the inspector can refuse it with the parameter's range and reason."""

    def _parse(self, text: str):
        raise NotImplementedError

    def _check_typed(self) -> None:
        try:
            value = self._parse(self.lineEdit().text().strip())
        except (ValueError, OverflowError):
            return
        if isinstance(value, float) and not math.isfinite(value):
            return
        if not self.minimum() <= value <= self.maximum():
            self.out_of_range.emit(value)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._check_typed()
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:
        self._check_typed()
        super().focusOutEvent(event)


class IntSpinBox(_OutOfRange, QSpinBox):
    out_of_range = Signal(object)

    def _parse(self, text: str):
        return int(text)


def make_int_spin(p: Param) -> QSpinBox:
    spin = IntSpinBox()
    lo, hi = _int_range(p)
    spin.setRange(lo, hi)
    spin.setKeyboardTracking(False)
    spin.setAccelerated(True)
    spin.setButtonSymbols(QSpinBox.ButtonSymbols.UpDownArrows)
    return spin


class FloatSpinBox(_OutOfRange, QDoubleSpinBox):
    """A double spin box that shows compact numbers (0.2, 1e-05) and accepts scientific
    notation, instead of a fixed number of decimals."""

    out_of_range = Signal(object)

    def _parse(self, text: str):
        return float(text)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setDecimals(15)
        self.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.strip())
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        t = text.strip()
        try:
            v = float(t)
        except ValueError:
            ok = re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d*)?([eE][+-]?\d*)?", t) is not None
            state = QValidator.State.Intermediate if ok else QValidator.State.Invalid
            return state, text, pos
        if not math.isfinite(v) or not self.minimum() <= v <= self.maximum():
            return QValidator.State.Intermediate, text, pos
        return QValidator.State.Acceptable, text, pos

    def fixup(self, text: str) -> str:
        return self.textFromValue(self.value())


class ParamEditor(QWidget):
    """Base class: an editor for one Param."""

    edited = Signal(object)

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(parent)
        self.param = param
        self._setting = False
        bounds = param.describe_range() if param.kind in ("int", "float", "ints") else ""
        self.help_tip = param.help + (f" ({bounds})" if bounds else "")
        self.setToolTip(self.help_tip)

    def set_value(self, value: Any) -> None:
        self._setting = True
        try:
            self._show(value)
        finally:
            self._setting = False

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def _emit(self, value: Any) -> None:
        if not self._setting:
            self.edited.emit(value)

    def show_error(self, message: str | None) -> None:
        """Mark the editor as refused (message) or clear the mark (None)."""
        self.setProperty("refused", bool(message))

    def _layout(self, *widgets: QWidget) -> QHBoxLayout:
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        for w in widgets:
            lay.addWidget(w)
        return lay


class _SpinEditor(ParamEditor):
    """A spin box; an optional param gets an extra lowest value shown as 'none'."""

    def _setup(self, spin, lo: float, hi: float, step: float) -> None:
        self.spin = spin
        if self.param.optional:
            lo -= step
            spin.setSpecialValueText("none")
        spin.setRange(lo, hi)
        self._layout(spin)
        spin.valueChanged.connect(self._changed)
        spin.out_of_range.connect(self._emit)

    def _changed(self, value) -> None:
        none = self.param.optional and value == self.spin.minimum()
        self._emit(None if none else value)

    def _show(self, value):
        self.spin.setValue(self.spin.minimum() if value is None else value)


class IntEditor(_SpinEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        lo, hi = _int_range(param)
        self._setup(make_int_spin(param), max(lo, -INT_LIMIT + 1), hi, 1)


class FloatEditor(_SpinEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        lo = param.min if param.min is not None else -1e12
        hi = param.max if param.max is not None else 1e12
        self._setup(FloatSpinBox(), lo, hi, 1.0)


class BoolEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.check = QCheckBox()
        self._layout(self.check)
        self.check.toggled.connect(self._emit)

    def _show(self, value):
        self.check.setChecked(bool(value))


class ChoiceEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.combo = QComboBox()
        for c in param.choices:
            self.combo.addItem(str(c), c)
        self._layout(self.combo)
        self.combo.activated.connect(lambda i: self._emit(self.combo.itemData(i)))

    def _show(self, value):
        i = self.combo.findData(value)
        self.combo.setCurrentIndex(max(i, 0))


class _ListLineEdit(ParamEditor):
    """A line edit holding integers separated by commas ("1, 8, 8")."""

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.line = QLineEdit()
        self.line.setPlaceholderText("e.g. 1, 8, 8")
        self._layout(self.line)
        self.line.editingFinished.connect(self._commit)

    def _show(self, value):
        if isinstance(value, (list, tuple)):
            self.line.setText(", ".join(map(str, value)))
        else:
            self.line.setText(str(value))

    def _commit(self) -> None:
        if self.line.isModified():
            self.line.setModified(False)
            self._emit(self.parse(self.line.text()))

    def parse(self, text: str) -> Any:
        """'1, 8, 8' -> [1, 8, 8]; what is not an integer is passed on as text so that the
        spec's own check names the problem."""
        parts = [s for s in re.split(r"[,\s×x]+", text.strip().strip("()[]")) if s]
        out: list[Any] = []
        for s in parts:
            try:
                out.append(int(s))
            except ValueError:
                return text
        return out

    def show_error(self, message):
        super().show_error(message)
        self.line.setStyleSheet(_ERROR_STYLE if message else "")


class ShapeEditor(_ListLineEdit):
    """A sample shape, e.g. '1, 8, 8' (channels, height, width)."""


class IntListEditor(_ListLineEdit):
    """A variable-length list of integers (Reshape's target shape, Permute's order)."""

    def parse(self, text: str) -> Any:
        value = super().parse(text)
        if isinstance(value, list) and len(value) == 1 and self.param.default is not None \
                and not isinstance(self.param.default, (list, tuple)):
            return value[0]
        return value


class IntsEditor(ParamEditor):
    """An int for all axes, one int per axis ("3, 5"), or a named choice ('same', 'valid').

    A mode combo picks the form: a spin box for all axes, a line edit for one value per axis.
    """

    ALL, PER_AXIS = "all axes", "per axis"

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        n = param.length or 1
        self.axis_names = _AXES.get(n, [f"d{i}" for i in range(n)])
        self.single = make_int_spin(param)
        self.per_axis = QLineEdit()
        self.per_axis.setPlaceholderText(", ".join(self.axis_names))
        self.per_axis.setToolTip(f"{param.name} per axis: {', '.join(self.axis_names)}")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.single)
        self.stack.addWidget(self.per_axis)
        self.stack.addWidget(QWidget())  # a named choice: no numbers
        self.mode = QComboBox()
        self.mode.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.mode.addItem("all", self.ALL)
        self.mode.setItemData(0, "the same value on every axis", Qt.ItemDataRole.ToolTipRole)
        if n > 1:
            self.mode.addItem("each", self.PER_AXIS)
            self.mode.setItemData(1, f"one value per axis ({' × '.join(self.axis_names)})",
                                  Qt.ItemDataRole.ToolTipRole)
        for c in param.choices:
            self.mode.addItem(str(c), c)
        self.mode.setVisible(self.mode.count() > 1)
        self.mode.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.mode.setToolTip("one value for all axes, one per axis, or a named padding")
        lay = self._layout(self.stack, self.mode)
        lay.setStretch(0, 1)
        lay.addStretch(0)
        self.single.valueChanged.connect(lambda v: self._emit(v))
        self.single.out_of_range.connect(self._emit)
        self.per_axis.editingFinished.connect(self._commit_per_axis)
        self.mode.activated.connect(self._mode_chosen)

    def current_mode(self) -> str:
        return self.mode.currentData()

    def axis_values(self) -> list[int] | str:
        """The per-axis line as ints (the raw text if it is not a list of ints)."""
        text = self.per_axis.text()
        try:
            return [int(x) for x in re.split(r"[,\s×x]+", text.strip().strip("()[]")) if x]
        except ValueError:
            return text

    def _commit_per_axis(self) -> None:
        if self.per_axis.isModified():
            self.per_axis.setModified(False)
            self._emit(self.axis_values())

    def _show(self, value):
        if isinstance(value, str):
            self.mode.setCurrentIndex(max(self.mode.findData(value), 0))
            self._page(2)
        elif isinstance(value, (list, tuple)) and len(self.axis_names) > 1:
            self.mode.setCurrentIndex(max(self.mode.findData(self.PER_AXIS), 0))
            self.per_axis.setText(", ".join(map(str, value)))
            self.single.setValue(int(value[0]) if value else 0)
            self._page(1)
        else:
            if isinstance(value, (list, tuple)):
                value = value[0]
            self.mode.setCurrentIndex(0)
            self.single.setValue(int(value))
            self.per_axis.setText(", ".join([str(value)] * len(self.axis_names)))
            self._page(0)

    def _mode_chosen(self, index: int) -> None:
        mode = self.mode.itemData(index)
        if mode == self.ALL:
            self._page(0)
            self._emit(self.single.value())
        elif mode == self.PER_AXIS:
            self._page(1)
            self.per_axis.setText(", ".join([str(self.single.value())] * len(self.axis_names)))
            self._emit(self.axis_values())
        else:
            self._page(2)
            self._emit(mode)

    def _page(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self.stack.setVisible(index != 2)

    def show_error(self, message):
        super().show_error(message)
        self.per_axis.setStyleSheet(_ERROR_STYLE if message else "")


class StrEditor(ParamEditor):
    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(param, parent)
        self.line = QLineEdit()
        self._layout(self.line)
        self.line.editingFinished.connect(self._commit)

    def _show(self, value):
        self.line.setText("" if value is None else str(value))

    def _commit(self) -> None:
        if self.line.isModified():
            self.line.setModified(False)
            self._emit(self.line.text())


def make_editor(param: Param) -> ParamEditor:
    """The editor widget for a Param, chosen by its kind."""
    if param.kind == "int":
        return IntEditor(param)
    if param.kind == "float":
        return FloatEditor(param)
    if param.kind == "bool":
        return BoolEditor(param)
    if param.kind == "choice":
        return ChoiceEditor(param)
    if param.kind == "ints":
        return IntsEditor(param) if param.length else IntListEditor(param)
    if param.kind == "shape":
        return ShapeEditor(param)
    return StrEditor(param)
