"""Dialogs: example gallery."""
from studio import qtfix  # noqa: F401  (PySide6 refcount work-around)
