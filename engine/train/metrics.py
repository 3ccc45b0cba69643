"""Metrics computed at the end of an epoch from all outputs and targets of a split.

Classification metrics (accuracy, top_k_accuracy, precision, recall, f1, confusion_matrix)
apply to outputs trained with a classification loss; precision/recall/F1 are macro averages
over classes (binary outputs: of the positive class). Regression metrics (mse, mae, rmse, r2;
r2 averaged uniformly over output columns) apply to any float output. LossMeter keeps the
running training loss of an epoch without a device sync per step.
"""
from __future__ import annotations

import math

import numpy as np

from .losses import BINARY_LOSSES, predictions

CLASSIFICATION = ("accuracy", "binary_accuracy", "top_k_accuracy", "precision", "recall",
                  "f1", "confusion_matrix")
REGRESSION = ("mse", "mae", "rmse", "r2")


def applies(metric: str, loss: str) -> bool:
    """Whether `metric` makes sense for an output trained with `loss`."""
    if metric in CLASSIFICATION:
        if metric == "top_k_accuracy":
            return loss == "cross_entropy"
        return loss == "cross_entropy" or loss in BINARY_LOSSES
    return loss != "cd"


def compute(names: list[str], loss: str, out, target, top_k: int = 5) -> dict:
    """{metric: value} for raw outputs `out` and prepared targets `target` (torch tensors)."""
    result: dict = {}
    if not names:
        return result
    out = out.detach().float().cpu()
    target = target.detach().cpu()
    classes = None
    # class indices: cross-entropy, and the multi-class hinge (its targets are indices)
    multiclass = loss == "cross_entropy" or (loss == "hinge" and not target.is_floating_point())
    if any(m in CLASSIFICATION for m in names) and (loss == "cross_entropy" or
                                                    loss in BINARY_LOSSES):
        if loss == "cross_entropy" and out.dim() == 2:
            # numpy's argmax picks the same (first) index as torch's, NaN and ties alike,
            # at a fraction of torch's per-row cost over a few classes
            pred = out.numpy().argmax(axis=1).reshape(len(out), -1)
        else:
            pred = predictions(loss, out).numpy().reshape(len(out), -1)
        true = target
        if true.is_floating_point() and loss == "cross_entropy":
            true = true.argmax(dim=1)
        true = true if multiclass else (true > 0).long()
        true = true.numpy().reshape(len(out), -1)
        classes = (pred, true)
    for name in names:
        if not applies(name, loss):
            continue
        if name in CLASSIFICATION:
            if name == "top_k_accuracy" and out.dim() != 2:
                continue  # per-position outputs (N, C, L): top-k is not defined here
            result[name] = _classification(name, multiclass, out, classes, top_k)
        else:
            result[name] = _regression(name, out.numpy().reshape(len(out), -1),
                                       target.float().numpy().reshape(len(out), -1))
    return result


def _classification(name, multiclass, out, classes, top_k):
    pred, true = classes
    if name in ("accuracy", "binary_accuracy"):
        return float((pred == true).mean())
    if name == "top_k_accuracy":
        k = min(top_k, out.shape[1])
        top = out.topk(k, dim=1).indices.numpy()
        return float((top == true.reshape(-1, 1)).any(axis=1).mean())
    p, t = pred.ravel(), true.ravel()
    n_classes = int(out.shape[1]) if multiclass else 2
    cm = confusion_matrix(t, p, n_classes)
    if name == "confusion_matrix":
        return cm.tolist()
    return _prf(name, cm, binary=not multiclass)


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class (as scikit-learn)."""
    n = max(n_classes, int(true.max(initial=0)) + 1, int(pred.max(initial=0)) + 1)
    return np.bincount(true * n + pred, minlength=n * n).reshape(n, n)


def _prf(name: str, cm: np.ndarray, binary: bool) -> float:
    tp = np.diag(cm).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    actual = cm.sum(axis=1).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    values = {"precision": precision, "recall": recall, "f1": f1}[name]
    if binary:
        return float(values[1]) if len(values) > 1 else 0.0
    present = (actual + predicted) > 0  # scikit-learn averages over labels that occur
    return float(values[present].mean()) if present.any() else 0.0


def _regression(name: str, out: np.ndarray, target: np.ndarray) -> float:
    out = out.astype(np.float64)
    target = target.astype(np.float64)
    err = out - target
    if name == "mse":
        return float((err ** 2).mean())
    if name == "mae":
        return float(np.abs(err).mean())
    if name == "rmse":
        return float(np.sqrt((err ** 2).mean(axis=0)).mean())  # per column, as sklearn
    ss_res = (err ** 2).sum(axis=0)
    ss_tot = ((target - target.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.where(ss_res > 0, 0.0, 1.0))
    return float(r2.mean())


class LossMeter:
    """The running sample-weighted loss of an epoch, fed once per step.

    A step's loss arrives as a float (already synced and checked: on the CPU a `.item()`
    costs nothing) or as a detached 0-d tensor (on an accelerator, where `.item()` would stall
    the device every step). Floats are summed into `total` at once (the training loop does
    that itself, without calling add()); tensors are kept as they are and synced in one go
    by `sum()`, which the loop calls once per batch event and at the end of the epoch; a
    non-finite loss among them raises NonFiniteLoss naming its step. Either way the sum is
    the same float64 arithmetic in the same order, so the reported losses are identical.
    """

    def __init__(self) -> None:
        self.total = 0.0
        self.seen = 0
        self._pending: list[tuple] = []   # (loss tensor, samples, global step)

    def add(self, value, n: int, global_step: int) -> None:
        self.seen += n
        if isinstance(value, float):
            self.total += value * n
        else:
            self._pending.append((value, n, global_step))

    def sum(self) -> float:
        if self._pending:
            import torch

            values = torch.stack([v for v, _, _ in self._pending]).tolist()  # one sync
            for value, (_, n, step) in zip(values, self._pending):
                if not math.isfinite(value):
                    self._pending = []
                    from .steps import NonFiniteLoss

                    raise NonFiniteLoss(value, step)
                self.total += value * n
            self._pending = []
        return self.total
