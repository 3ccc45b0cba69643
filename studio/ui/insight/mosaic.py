"""Arrange per-channel maps into one image (one ImageItem draws a whole grid: fast)."""
from __future__ import annotations

import math

import numpy as np


def normalize_tiles(t: np.ndarray) -> np.ndarray:
    """Scale each tile (first axis) to 0..1 on its own."""
    t = np.asarray(t, np.float32)
    flat = t.reshape(len(t), -1)
    lo = np.nanmin(flat, axis=1)[:, None]
    hi = np.nanmax(flat, axis=1)[:, None]
    span = np.where(hi > lo, hi - lo, 1.0)
    return ((flat - lo) / span).reshape(t.shape)


def grid_shape(n: int, aspect: float = 1.0) -> tuple[int, int]:
    cols = max(1, math.ceil(math.sqrt(n * aspect)))
    return math.ceil(n / cols), cols


def mosaic(tiles: np.ndarray, pad: int = 1, cols: int | None = None, fill: float = np.nan
           ) -> tuple[np.ndarray, tuple[int, int]]:
    """(n, h, w) -> (rows*(h+pad)-pad, cols*(w+pad)-pad) image, NaN between tiles; also
    (rows, cols). Tiles are placed row by row."""
    n, h, w = tiles.shape
    rows, c = grid_shape(n) if cols is None else (math.ceil(n / cols), cols)
    out = np.full((rows * (h + pad) - pad, c * (w + pad) - pad), fill, np.float32)
    for k in range(n):
        r, q = divmod(k, c)
        out[r * (h + pad):r * (h + pad) + h, q * (w + pad):q * (w + pad) + w] = tiles[k]
    return out, (rows, c)


def activation_tiles(a: np.ndarray) -> tuple[np.ndarray, str]:
    """One sample's activation as tiles: (C,H,W) -> C maps; (C,L) -> C rows; (F,) -> a heat
    strip of F units (wrapped into rows of 32). Returns (tiles (n,h,w), kind)."""
    a = np.asarray(a, np.float32)
    if a.ndim == 3:
        return a, "maps"
    if a.ndim == 2:
        return a[:, None, :], "sequences"
    flat = a.reshape(-1)
    width = min(32, flat.size)
    rows = math.ceil(flat.size / width)
    strip = np.full(rows * width, np.nan, np.float32)
    strip[:flat.size] = flat
    return strip.reshape(1, rows, width), "units"


def filter_tiles(w: np.ndarray) -> np.ndarray:
    """Conv weights (out, in, kh, kw) -> (out, kh, kw) tiles (mean over input channels)."""
    w = np.asarray(w, np.float32)
    if w.ndim == 4:
        return w.mean(axis=1)
    if w.ndim == 3:                 # Conv1d: (out, in, k)
        return w.mean(axis=1)[:, None, :]
    if w.ndim == 2:                 # Linear / RBM: (out, in) -> each row as a square image
        side = round(math.sqrt(w.shape[1]))
        if side * side == w.shape[1]:
            return w.reshape(w.shape[0], side, side)
        return w[:, None, :]
    raise ValueError(f"cannot show weights of shape {w.shape} as filters")


def to_rgba(img: np.ndarray, cmap, gap=(255, 255, 255, 255)) -> np.ndarray:
    """A mosaic (NaN between tiles) as RGBA bytes for a pyqtgraph ImageItem, scaled to its
    finite range; gaps in `gap` (white); transposed so rows stay rows (pyqtgraph indexes (x, y))."""
    finite = np.isfinite(img)
    vals = img[finite]
    lo, hi = (float(vals.min()), float(vals.max())) if vals.size else (0.0, 1.0)
    scaled = np.where(finite, (img - lo) / (hi - lo if hi > lo else 1.0), 0.0)
    rgba = cmap.map(scaled.ravel(), mode="byte").reshape(*img.shape, 4)
    rgba[~finite] = gap
    return np.ascontiguousarray(rgba.transpose(1, 0, 2))
