"""Parts of the window built on demand: `load_widget` imports and builds a panel or dialog,
and a part that is missing or fails to build gives None (the editor still starts);
`placeholder` is the greyed label shown in its place."""
from __future__ import annotations

import importlib
import traceback

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


def load_widget(module: str, cls: str, *args):
    """Another part of the app's widget, or None when it is missing or fails to build."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None  # that part of the app is not installed/built yet
        traceback.print_exc()
        return None
    except Exception:
        traceback.print_exc()
        return None
    try:
        return getattr(mod, cls)(*args)
    except Exception:  # a missing or broken panel must not keep the editor from starting
        traceback.print_exc()
        return None


def placeholder(text: str) -> QWidget:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setEnabled(False)
    return label
