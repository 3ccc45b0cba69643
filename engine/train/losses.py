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
        return t.long().reshape(n, *out_shape[1:]) if len(out_shape) > 1 else t.long().reshape(n)
    if loss == "hinge" and _multiclass(out_shape):
        return t.long().reshape(n)
    want = (n, *out_shape)
    if t.numel() != int(np.prod(want)):
        raise ValueError(f"the target has shape {tuple(t.shape)} but the output is "
                         f"{('N', *out_shape)}: the '{loss}' loss needs them to match")
    return t.float().reshape(want)


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
