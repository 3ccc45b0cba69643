"""Process-wide work-arounds for bugs of the Qt binding (imported by the training UI)."""
from __future__ import annotations

import ctypes
import sys


def _pin_singletons() -> None:
    """Work around PySide6 6.12 refcount bugs on CPython < 3.12: `SignalInstance.emit()`
    returns True without a reference and Python slots called from C++ drop one reference
    to their returned None, so a long session (or a test suite) eventually deallocates
    True/None and the interpreter aborts ("bool_dealloc"/"none_dealloc"). Giving the three
    singletons a huge refcount makes them effectively immortal, as CPython 3.12+ does."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    for obj in (True, False, None):
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40


_pin_singletons()
