"""Loss functions by name, and target preparation (done once, not per step).

Every loss returns the mean over the batch. Targets are converted once, when the data is moved
to the device, to the dtype and shape their loss needs: class indices (long) for cross-entropy
and multi-class hinge, floats shaped like the output for the others.
"""
from __future__ import annotations

import numpy as np

from ..guard.text import quote

CLASS_LOSSES = ("cross_entropy",)
BINARY_LOSSES = ("bce_with_logits", "bce", "hinge", "multilabel_bce")
REGRESSION_LOSSES = ("mse", "mae", "huber")


def prepare_target(loss: str, y: np.ndarray, out_shape: tuple[int, ...]):
    """Target array -> tensor ready for `loss` against outputs of per-sample `out_shape`."""
    import torch

    t = torch.as_tensor(np.ascontiguousarray(y))
    n = t.shape[0]
    if loss == "cross_entropy":
        if t.is_floating_point() and tuple(t.shape[1:]) == tuple(out_shape):
            return t.float()  # class probabilities / one-hot
        _check_classes(t, out_shape[0] if out_shape else 1, loss)
        return t.long().reshape(n, *out_shape[1:]) if len(out_shape) > 1 else t.long().reshape(n)
    if loss == "hinge" and _multiclass(out_shape):
        _check_classes(t, out_shape[0], loss)
        return t.long().reshape(n)
    want = (n, *out_shape)
    if t.numel() != int(np.prod(want)):
        raise ValueError(f"the target has shape {tuple(t.shape)} but the output is "
                         f"{('N', *out_shape)}: the '{loss}' loss needs them to match")
    if loss in BINARY_LOSSES:
        _check_binary(t, out_shape, loss)
    return t.float().reshape(want)


def _check_classes(t, classes: int, loss: str) -> None:
    """Class indices must be whole numbers in 0..classes-1 (-100: ignored, as in PyTorch);
    ValueError naming the first bad label and how many samples have one. Checked once here
    instead of failing inside a batch with "Target N is out of bounds"."""
    import torch

    if t.numel() == 0:
        return
    whole = torch.ones_like(t, dtype=torch.bool) if not t.is_floating_point() else \
        torch.isfinite(t) & (t == t.round())
    bad = ~whole | ((t < 0) & (t != -100)) | (t >= classes)
    if not bool(bad.any()):
        return
    value, count = t[bad][0].item(), int(bad.reshape(len(t), -1).any(1).sum())
    if value >= classes and value == int(value):
        advice = f"give the Output {int(t[whole].max().item()) + 1} units or fix the labels"
    else:
        advice = "class labels are whole numbers from 0"
    raise ValueError(f"label {value:g} ({_samples(count)}) is not a class of the output (it "
                     f"has {classes} unit{'s' * (classes != 1)}: classes 0 to {classes - 1}); "
                     f"{advice} ('{loss}' loss)")


def _check_binary(t, out_shape: tuple[int, ...], loss: str) -> None:
    """Binary targets must lie in 0..1 (hinge: -1..1); 3-class labels fed to a 1-unit binary
    output are the usual mistake, and are named as such."""
    import torch

    if t.numel() == 0 or not t.dtype.is_floating_point and t.dtype == torch.bool:
        return
    low = -1 if loss == "hinge" else 0
    tf = t.double()
    bad = ~torch.isfinite(tf) | (tf < low) | (tf > 1)
    if not bool(bad.any()):
        return
    value, count = tf[bad][0].item(), int(bad.reshape(len(t), -1).any(1).sum())
    hint = ""
    values = torch.unique(tf[torch.isfinite(tf)])
    if len(values) <= 1024 and bool((values == values.round()).all()) and out_shape == (1,):
        hint = (f"; the labels look like {len(values)} classes: give the Output "
                f"{int(values.max().item()) + 1} units and use the cross_entropy loss")
    raise ValueError(f"label {value:g} ({_samples(count)}) is outside {low}..1, the range "
                     f"of the '{loss}' loss{hint}")


def _samples(count: int) -> str:
    return f"{count} sample{'s' * (count != 1)} of the split"


def _multiclass(out_shape: tuple[int, ...]) -> bool:
    return len(out_shape) == 1 and out_shape[0] > 1


def loss_fn(name: str):
    """A function (output, target) -> scalar mean loss."""
    import torch
    import torch.nn.functional as F

    if name == "cross_entropy":
        return F.cross_entropy
    if name == "mse":
        return F.mse_loss
    if name == "mae":
        return F.l1_loss
    if name == "huber":
        return F.huber_loss
    if name in ("bce_with_logits", "multilabel_bce"):
        return F.binary_cross_entropy_with_logits
    if name == "bce":
        return F.binary_cross_entropy

    if name == "hinge":
        def hinge(out, target):
            if target.dtype == torch.long:  # multi-class (Weston-Watkins, margin 1)
                return F.multi_margin_loss(out, target)
            signs = torch.where(target > 0, 1.0, -1.0).to(out.dtype)  # {0,1} or {-1,1} labels
            return torch.clamp(1 - signs * out, min=0).mean()
        return hinge
    raise ValueError(f"unknown loss {quote(name)}")


def predictions(loss: str, out):
    """Class predictions from raw outputs (argmax, or threshold for binary losses)."""
    if loss == "cross_entropy" or (loss == "hinge" and out.dim() == 2 and out.shape[1] > 1):
        return out.argmax(dim=1)
    if loss == "bce":
        return (out > 0.5).long()
    return (out > 0).long()
