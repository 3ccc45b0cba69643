"""Imports during the app's start-up that would freeze the window: what the GUI thread waits
for while another thread imports.

- `import torch` on a thread still freezes the event loop about a second: Python loads an
  extension module holding the GIL, and torch's `_C` pulls in libtorch_cpu (hundreds of MB,
  whose loading and static initialisers take 0.4-1.2 s here). `load_torch_libraries` loads
  that library first through the C library's dlopen called by ctypes, which releases the
  GIL, so the later `import torch` finds it loaded.
- PySide6 checks every module imported after it, in every thread, for the word "PySide6"
  by reading its source through `inspect` (for its opt-in `__feature__` switches; Studio
  uses none). `cheaper_pyside_import_check` keeps that check but reads the file directly:
  about a quarter of the cost (torch, scipy, pyqtgraph: 1,700 modules, 0.52 s -> 0.13 s of
  CPU)."""
from __future__ import annotations

import os
import sys


def load_torch_libraries() -> bool:
    """Load torch's main shared library with the GIL released (Linux; elsewhere, or when it
    cannot, nothing happens and `import torch` loads it as usual). The flags are the ones
    Python's import would use (RTLD_NOW | RTLD_LOCAL: torch's symbols stay private)."""
    if not sys.platform.startswith("linux") or "torch" in sys.modules:
        return False
    try:
        import ctypes
        import importlib.util

        spec = importlib.util.find_spec("torch")
        if spec is None or not spec.origin:
            return False
        path = os.path.join(os.path.dirname(spec.origin), "lib", "libtorch_cpu.so")
        if not os.path.exists(path):
            return False
        libc = ctypes.CDLL(None)
        dlopen = libc.dlopen   # a foreign call: ctypes releases the GIL while it runs
        dlopen.restype = ctypes.c_void_p
        dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
        return bool(dlopen(os.fsencode(path), os.RTLD_NOW | os.RTLD_LOCAL))
    except (OSError, AttributeError, ImportError, ValueError):
        return False


def cheaper_pyside_import_check() -> bool:
    """Replace PySide6's per-import source check with one that reads the module's file as
    bytes (same answer for a .py file; False for modules without one, as before). Does
    nothing if this PySide6 has no such check."""
    feature = sys.modules.get("shibokensupport.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False
    feature._mod_uses_pyside = _mentions_pyside
    return True


def _mentions_pyside(module) -> bool:
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return False
    try:
        with open(path, "rb") as f:
            return b"PySide6" in f.read()
    except OSError:
        return False
