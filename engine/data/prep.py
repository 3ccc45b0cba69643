"""Preprocessing helpers: seeded splits, normalization, label/one-hot encoding, windows."""
from __future__ import annotations

import numpy as np

from ..guard.text import quote
from .base import DataError


def split_indices(n: int, val: float, test: float, seed: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle 0..n-1 with `np.random.default_rng(seed)` and cut it into train/val/test.

    Fractions are of n; a non-zero fraction always gets at least one sample, and train must
    keep at least one.
    """
    for name, f in (("val_split", val), ("test_split", test)):
        if not 0 <= f < 1:
            raise DataError(f"{name} must be a fraction between 0 and 1, found {f}")
    if val + test >= 1:
        raise DataError(f"val_split + test_split = {val + test:g} leaves nothing to train on")
    order = np.random.default_rng(seed).permutation(n)
    n_test = _count(n, test)
    n_val = _count(n, val)
    if n - n_test - n_val < 1:
        raise DataError(f"{n} samples are too few for val_split={val} and test_split={test}")
    return order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test]


def _count(n: int, frac: float) -> int:
    return 0 if frac <= 0 else max(1, round(n * frac))


# -- normalization ----------------------------------------------------------------------------

NORMALIZE_BLOCK = 1 << 19   # values per block of samples the statistics are reduced over


def fit_normalization(x: np.ndarray, kind: str, axis: str = "feature") -> dict | None:
    """Statistics for `kind` ('minmax' | 'standard' | 'none') computed on `x` (the train split).

    axis: 'feature' (one statistic per value of a sample), 'global' (one for all values),
    'channel' (one per channel, axis 1, for images). Constant features get scale 1.
    """
    if kind in (None, "none"):
        return None
    if kind not in ("minmax", "standard"):
        raise DataError(f"normalize must be 'minmax', 'standard', 'fixed' or 'none', found "
                        f"{quote(kind)}")
    if axis not in ("feature", "global", "channel"):
        raise DataError(f"normalize_axis must be 'feature', 'global' or 'channel', found "
                        f"{quote(axis)}")
    if not hasattr(x, "take") or isinstance(x, np.ndarray):  # a LazyView is read in blocks
        x = np.asarray(x)
    if axis == "global":
        red = tuple(range(x.ndim))
    elif axis == "channel" and x.ndim >= 3:
        red = (0, *range(2, x.ndim))
    else:
        red = (0,)
    # reduce in blocks of samples with float64 accumulators: no float64 copy of the data, and
    # a streamed view (read from disk block by block) gives the very same statistics
    step = max(1, NORMALIZE_BLOCK // max(1, int(np.prod(x.shape[1:], dtype=np.int64))))

    def blocks():
        for i in range(0, len(x), step):
            yield x[i:i + step]

    if kind == "minmax":
        offset = scale = None
        for b in blocks():
            lo, hi = b.min(axis=red, keepdims=True), b.max(axis=red, keepdims=True)
            offset = lo if offset is None else np.minimum(offset, lo)
            scale = hi if scale is None else np.maximum(scale, hi)
        offset, scale = offset.astype(np.float64), scale.astype(np.float64) - offset
    else:
        count = x.size / np.prod([x.shape[a] for a in range(x.ndim) if a not in red])
        total = 0.0
        for b in blocks():
            total = total + b.sum(axis=red, keepdims=True, dtype=np.float64)
        offset = total / count
        sq = 0.0
        for b in blocks():
            sq = sq + np.square(b - offset).sum(axis=red, keepdims=True)
        scale = np.sqrt(sq / count)
    scale = np.where(scale > 1e-12, scale, 1.0)
    # stats are stored without the batch axis, so they broadcast against one sample too
    return {"kind": kind, "axis": axis, "offset": offset[0].astype(np.float32),
            "scale": scale[0].astype(np.float32)}


def fixed_normalization(mean, std, value_range: float, sample_shape: tuple) -> dict:
    """Statistics that compute (x / value_range - mean) / std, per channel (axis 1) when
    mean and std are lists (ImageNet's mean and std of 0..1 pixel values), else for all."""
    def values(v, key):
        vals = v if isinstance(v, (list, tuple)) else [v]
        if not vals or not all(isinstance(a, (int, float)) and not isinstance(a, bool) and
                                np.isfinite(a) for a in vals):
            raise DataError(f"normalize 'fixed' needs '{key}': a number or one per channel, "
                            f"found {quote(v)}")
        return np.asarray(vals, np.float64)

    m, s = values(mean, "mean"), values(std, "std")
    if (s <= 0).any():
        raise DataError(f"normalize 'fixed': 'std' must be positive, found {quote(std)}")
    channels = sample_shape[0] if sample_shape else 1
    if len(m) != len(s) or len(m) not in (1, channels):
        raise DataError(f"normalize 'fixed': 'mean' and 'std' need 1 or {channels} values "
                        f"(one per channel), found {len(m)} and {len(s)}")
    shape = (len(m),) + (1,) * max(0, len(sample_shape) - 1)
    return {"kind": "fixed", "axis": "channel" if len(m) > 1 else "global",
            "offset": (m * value_range).reshape(shape).astype(np.float32),
            "scale": (s * value_range).reshape(shape).astype(np.float32)}


def normalize_inputs(x: np.ndarray, stats: dict | None) -> np.ndarray:
    """Apply statistics from `fit_normalization` (or DataSplits.normalization) to inputs."""
    if not stats:
        return np.asarray(x, dtype=np.float32) if not _is_int(x) else x
    out = np.array(x, dtype=np.float32)         # a copy, normalized in place: no temporaries
    out -= stats["offset"]
    out /= stats["scale"]
    return out


def denormalize_inputs(x: np.ndarray, stats: dict | None) -> np.ndarray:
    """Undo `normalize_inputs` (e.g. to show reconstructions as images)."""
    if not stats:
        return x
    return (np.asarray(x, dtype=np.float32) * stats["scale"] + stats["offset"]).astype(
        np.float32)


def _is_int(x) -> bool:
    return np.issubdtype(np.asarray(x).dtype, np.integer)


# -- encodings --------------------------------------------------------------------------------

def label_encode(values) -> tuple[np.ndarray, list[str]]:
    """Map labels (strings or numbers) to int64 indices 0..k-1 in sorted order.

    Returns (indices, class_names); class_names[i] is the original label of index i.
    """
    arr = np.asarray(values)
    classes, inverse = np.unique(arr, return_inverse=True)
    return inverse.astype(np.int64).reshape(arr.shape), [_label_name(c) for c in classes]


def _label_name(c) -> str:
    if isinstance(c, (float, np.floating)) and float(c).is_integer():
        return str(int(c))
    return str(c)


def one_hot(labels, num_classes: int | None = None, budget_mb: float = 2048) -> np.ndarray:
    """int class indices (n,) -> float32 one-hot rows (n, num_classes), refused when they
    would need more than `budget_mb` megabytes."""
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    k = int(labels.max()) + 1 if num_classes is None else num_classes
    need = labels.size * k * 4
    if need > budget_mb * 2**20:
        raise DataError(f"one-hot targets of {labels.size} samples x {k} classes need "
                        f"{need / 2**20:,.0f} MB, more than the memory budget of "
                        f"{budget_mb:,.0f} MB; use class indices (one_hot false) or raise "
                        "'memory_budget_mb'")
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise DataError(f"labels must lie in 0..{k - 1}, found {labels.min()}..{labels.max()}")
    out = np.zeros((labels.size, k), dtype=np.float32)
    out[np.arange(labels.size), labels] = 1.0
    return out


def windows(series, length: int, horizon: int = 1, step: int = 1
            ) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series (T,) or (T, features) into inputs (n, length, features) and the value
    `horizon` steps after each window, targets (n, features)."""
    s = np.asarray(series, dtype=np.float32)
    if s.ndim == 1:
        s = s[:, None]
    if length < 1 or horizon < 1 or step < 1:
        raise DataError("window length, horizon and step must be at least 1")
    n = (len(s) - length - horizon) // step + 1
    if n < 1:
        raise DataError(f"a series of {len(s)} steps is too short for windows of {length} "
                        f"plus a horizon of {horizon}")
    starts = np.arange(n) * step
    idx = starts[:, None] + np.arange(length)[None, :]
    return s[idx], s[starts + length + horizon - 1]
