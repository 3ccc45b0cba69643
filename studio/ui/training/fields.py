"""Small editors bound to one key of the project's settings: they read the value from the
project, and on edit build the new value and hand it to a commit function (which validates it
and pushes an undoable command, or refuses it and the editor shows the stored value again)."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox, QWidget

Commit = Callable[[str, tuple, Any], bool]   # (section, path, value) -> accepted


class Binding:
    """One editor <-> one settings key. `default` is shown when the key is absent."""

    def __init__(self, section: str, path: tuple, widget: QWidget, default: Any = None,
                 to_widget: Callable | None = None, from_widget: Callable | None = None):
        self.section, self.path, self.widget, self.default = section, path, widget, default
        self.to_widget = to_widget or (lambda v: v)
        self.from_widget = from_widget or (lambda v: v)
        self.commit: Commit | None = None
        self.on_refused: Callable[[Binding, str], None] | None = None

    # subclasses: _show(value), _read() -> value, connect edit signal to self._edited
    def show(self, value: Any) -> None:
        old = self.widget.blockSignals(True)
        try:
            self._show(self.to_widget(self.default if value is None else value))
        finally:
            self.widget.blockSignals(old)

    def _edited(self, *_):
        try:
            value = self.from_widget(self._read())
        except ValueError as exc:
            self.refused(str(exc))
            return
        if self.commit is not None:
            self.commit(self.section, self.path, value)

    def refused(self, reason: str) -> None:
        self.widget.setToolTip(reason)
        if self.on_refused is not None:
            self.on_refused(self, reason)

    def mark(self, refused: bool) -> None:
        """Outline the editor in red while its last value is refused."""
        self.widget.setStyleSheet("border: 1px solid #d0342c; border-radius: 2px;"
                                  if refused else "")


class IntBinding(Binding):
    def __init__(self, section, path, default, low=0, high=10**9, **kw):
        w = QSpinBox()
        w.setRange(low, high)
        w.setKeyboardTracking(False)
        super().__init__(section, path, w, default, **kw)
        w.valueChanged.connect(self._edited)

    def _show(self, v):
        self.widget.setValue(int(v))

    def _read(self):
        return self.widget.value()


class FloatBinding(Binding):
    """Spin box for values like split fractions or patience in linear ranges."""

    def __init__(self, section, path, default, low=0.0, high=1e9, step=0.05, decimals=3,
                 **kw):
        w = QDoubleSpinBox()
        w.setRange(low, high)
        w.setSingleStep(step)
        w.setDecimals(decimals)
        w.setKeyboardTracking(False)
        super().__init__(section, path, w, default, **kw)
        w.valueChanged.connect(self._edited)

    def _show(self, v):
        self.widget.setValue(float(v))

    def _read(self):
        return round(self.widget.value(), self.widget.decimals())


class NumberText(Binding):
    """A number typed as text (learning rates: '1e-3'); empty means None when allowed."""

    def __init__(self, section, path, default, allow_empty=False, placeholder="", **kw):
        w = QLineEdit()
        w.setPlaceholderText(placeholder)
        self.allow_empty = allow_empty
        super().__init__(section, path, w, default, **kw)
        w.editingFinished.connect(self._edited)

    def _show(self, v):
        self.widget.setText("" if v is None else f"{v:g}")

    def _read(self):
        text = self.widget.text().strip()
        if not text:
            if self.allow_empty:
                return None
            raise ValueError(f"{'.'.join(self.path)}: enter a number")
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{'.'.join(self.path)}: {text!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{'.'.join(self.path)} must be finite, got {text}")
        return value


class ChoiceBinding(Binding):
    def __init__(self, section, path, default, choices: list[tuple[str, Any]], **kw):
        w = QComboBox()
        for label, value in choices:
            w.addItem(label, value)
        super().__init__(section, path, w, default, **kw)
        w.activated.connect(self._edited)

    def _show(self, v):
        i = self.widget.findData(v)
        if i < 0:
            self.widget.addItem(str(v), v)
            i = self.widget.count() - 1
        self.widget.setCurrentIndex(i)

    def _read(self):
        return self.widget.currentData()


class BoolBinding(Binding):
    def __init__(self, section, path, default, text="", **kw):
        w = QCheckBox(text)
        super().__init__(section, path, w, default, **kw)
        w.toggled.connect(self._edited)

    def _show(self, v):
        self.widget.setChecked(bool(v))

    def _read(self):
        return self.widget.isChecked()


class TextBinding(Binding):
    def __init__(self, section, path, default="", placeholder="", **kw):
        w = QLineEdit()
        w.setPlaceholderText(placeholder)
        super().__init__(section, path, w, default, **kw)
        w.editingFinished.connect(self._edited)

    def _show(self, v):
        self.widget.setText(str(v or ""))

    def _read(self):
        return self.widget.text().strip() or None
