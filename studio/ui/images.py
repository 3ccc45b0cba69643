"""Arrays as pictures: a sample as an image array, an image array as a pixmap. Shared by the
dataset preview and the insight views."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def to_pixmap(img: np.ndarray, size: int = 40, span: tuple | None = None) -> QPixmap:
    """A 2-D (or C,H,W with C in 1/3) array as a grey/colour pixmap scaled to `size`; values
    map from their own min..max to black..white, or from `span` (lo, hi) when given."""
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a[0] if a.shape[0] == 1 else np.transpose(a, (1, 2, 0))
    lo, hi = span if span is not None else (float(np.nanmin(a)), float(np.nanmax(a)))
    a = np.clip(a, lo, hi)
    a = ((a - lo) / (hi - lo if hi > lo else 1.0) * 255).astype(np.uint8)
    a = np.ascontiguousarray(a)
    if a.ndim == 3:
        qimg = QImage(a.data, a.shape[1], a.shape[0], a.shape[1] * 3,
                      QImage.Format.Format_RGB888)
    else:
        qimg = QImage(a.data, a.shape[1], a.shape[0], a.shape[1],
                      QImage.Format.Format_Grayscale8)
    return QPixmap.fromImage(qimg.copy()).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.FastTransformation)


def as_image(sample: np.ndarray, image_shape=None) -> np.ndarray | None:
    """A sample as an image array, when it is one (C,H,W / H,W, or reshapeable to one)."""
    s = np.asarray(sample)
    if s.ndim == 3 and s.shape[0] in (1, 3):
        return s
    if s.ndim == 2 and min(s.shape) > 1 and s.dtype.kind == "f":
        return s
    if image_shape and s.size == int(np.prod(image_shape)):
        return s.reshape(image_shape)
    side = round(np.sqrt(s.size))
    if s.ndim == 1 and side * side == s.size and side >= 4:
        return s.reshape(side, side)
    return None
