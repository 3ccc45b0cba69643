"""The arithmetic behind one output number, written out for a student: a convolution's output
pixel (its receptive field on the input, the kernel, the element-wise products, their sum plus
the bias), a pooling window (which input won, or their mean) and a softmax (the exponentials
and their sum). Plain numpy on one sample; tests compare with torch.nn.functional."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _pair(v) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


@dataclass
class Window:
    """The input positions one output pixel sees: rows[a], cols[b] for kernel offset (a, b);
    `inside[a, b]` is False where the position falls into the zero padding."""

    rows: np.ndarray
    cols: np.ndarray
    inside: np.ndarray


def receptive_window(i: int, j: int, size: tuple[int, int], kernel, stride=1, padding=0,
                     dilation=1) -> Window:
    """The input rows/columns under output pixel (i, j) of a 2-D convolution or pooling."""
    (kh, kw), (sh, sw) = _pair(kernel), _pair(stride)
    (ph, pw), (dh, dw) = _pair(padding), _pair(dilation)
    rows = i * sh - ph + dh * np.arange(kh)
    cols = j * sw - pw + dw * np.arange(kw)
    inside = ((rows >= 0) & (rows < size[0]))[:, None] & ((cols >= 0) & (cols < size[1]))[None]
    return Window(rows, cols, inside)


def _patch(x: np.ndarray, win: Window, fill: float = 0.0) -> np.ndarray:
    """(C, kh, kw) values of `x` (C, H, W) under the window; `fill` in the padding."""
    r = np.clip(win.rows, 0, x.shape[1] - 1)
    c = np.clip(win.cols, 0, x.shape[2] - 1)
    patch = x[:, r][:, :, c].astype(np.float64)
    return np.where(win.inside[None], patch, fill)


@dataclass
class ConvStep:
    window: Window
    patch: np.ndarray         # (C, kh, kw) input values (0 in the padding)
    kernel: np.ndarray        # (C, kh, kw) the output channel's weights
    products: np.ndarray      # patch * kernel
    total: float              # products.sum()
    bias: float
    value: float              # total + bias: the output pixel before any activation


def explain_conv(x: np.ndarray, weight: np.ndarray, bias, out_channel: int, i: int, j: int,
                 stride=1, padding=0, dilation=1) -> ConvStep:
    """Output pixel (out_channel, i, j) of conv2d(x, weight, bias) for one sample x (C, H, W)
    and weight (O, C, kh, kw) (groups = 1)."""
    kernel = np.asarray(weight, np.float64)[out_channel]
    win = receptive_window(i, j, x.shape[1:], kernel.shape[1:], stride, padding, dilation)
    patch = _patch(np.asarray(x), win)
    products = patch * kernel
    b = float(np.asarray(bias)[out_channel]) if bias is not None else 0.0
    total = float(products.sum())
    return ConvStep(win, patch, kernel, products, total, b, total + b)


@dataclass
class PoolStep:
    window: Window
    patch: np.ndarray          # (kh, kw) of the channel (max: -inf in the padding)
    value: float
    winner: tuple[int, int] | None   # max pooling: the input (row, column) that won
    count: int = 0                   # average pooling: the divisor of the sum


def explain_pool(x: np.ndarray, kind: str, channel: int, i: int, j: int, kernel,
                 stride=None, padding=0, count_include_pad: bool = True) -> PoolStep:
    """Output pixel (channel, i, j) of max or average 2-D pooling of one sample (C, H, W)."""
    stride = kernel if stride is None else stride
    win = receptive_window(i, j, x.shape[1:], kernel, stride, padding)
    sample = np.asarray(x)[channel:channel + 1]
    if kind == "max":
        patch = _patch(sample, win, -np.inf)[0]
        a, b = np.unravel_index(int(np.argmax(patch)), patch.shape)
        return PoolStep(win, patch, float(patch[a, b]), (int(win.rows[a]), int(win.cols[b])))
    patch = _patch(sample, win, 0.0)[0]
    count = patch.size if count_include_pad else int(win.inside.sum())
    return PoolStep(win, patch, float(patch.sum() / count), None, count)


@dataclass
class SoftmaxStep:
    shifted: np.ndarray        # logits minus their maximum (the same result, no overflow)
    exps: np.ndarray
    total: float
    probs: np.ndarray


def explain_softmax(logits) -> SoftmaxStep:
    z = np.asarray(logits, np.float64).reshape(-1)
    shifted = z - z.max()
    e = np.exp(shifted)
    return SoftmaxStep(shifted, e, float(e.sum()), e / e.sum())
