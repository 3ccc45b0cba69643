"""Bottom-dock panels: model summary and problems list."""
from studio import qtfix  # noqa: F401  (PySide6 refcount work-around)
