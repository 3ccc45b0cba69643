"""Studio's Qt desktop application (the engine is in the `engine` package)."""
import sys


def _pin_none() -> None:
    """PySide6 6.12 returns None from void C++ methods without taking a reference, which is
    harmless where None is immortal (Python >= 3.12) but on 3.11 drops None's reference count
    by one per call until the interpreter aborts ("none_dealloc"). Give None a reference count
    that can never run out, as 3.12 does."""
    if sys.version_info < (3, 12):
        import ctypes
        ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40


_pin_none()
