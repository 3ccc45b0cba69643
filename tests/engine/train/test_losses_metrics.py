"""Losses and metrics against scikit-learn (and numpy formulas where sklearn has none)."""
import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from engine.train.losses import loss_fn, prepare_target
from engine.train.metrics import compute

rng = np.random.default_rng(0)
N, C = 40, 4
LOGITS = rng.normal(size=(N, C)).astype(np.float32)
LABELS = rng.integers(0, C, N)
LABELS[:C] = np.arange(C)  # every class present
BIN_LOGITS = rng.normal(size=(N, 1)).astype(np.float32)
BIN = rng.integers(0, 2, N)
REG_OUT = rng.normal(size=(N, 3)).astype(np.float32)
REG_Y = (REG_OUT + rng.normal(scale=0.5, size=(N, 3))).astype(np.float32)


def _loss(name, out, y):
    target = prepare_target(name, y, out.shape[1:])
    return float(loss_fn(name)(torch.as_tensor(out), target))


def sigmoid(z):
    return 1 / (1 + np.exp(-z.astype(np.float64)))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_regression_losses():
    assert _loss("mse", REG_OUT, REG_Y) == pytest.approx(skm.mean_squared_error(REG_Y, REG_OUT),
                                                         rel=1e-5)
    assert _loss("mae", REG_OUT, REG_Y) == pytest.approx(
        skm.mean_absolute_error(REG_Y, REG_OUT), rel=1e-5)
    err = np.abs(REG_OUT - REG_Y).astype(np.float64)
    huber = np.where(err < 1, 0.5 * err ** 2, err - 0.5).mean()
    assert _loss("huber", REG_OUT, REG_Y) == pytest.approx(huber, rel=1e-5)


def test_classification_losses():
    ce = skm.log_loss(LABELS, softmax(LOGITS.astype(np.float64)), labels=range(C))
    assert _loss("cross_entropy", LOGITS, LABELS) == pytest.approx(ce, rel=1e-5)
    bce = skm.log_loss(BIN, sigmoid(BIN_LOGITS[:, 0]))
    assert _loss("bce_with_logits", BIN_LOGITS, BIN) == pytest.approx(bce, rel=1e-5)
    probs = sigmoid(BIN_LOGITS).astype(np.float32)
    assert _loss("bce", probs, BIN) == pytest.approx(bce, rel=1e-5)
    multi = (rng.random((N, C)) < 0.4).astype(np.float32)
    ml = skm.log_loss(multi.ravel(), sigmoid(LOGITS).ravel())
    assert _loss("multilabel_bce", LOGITS, multi) == pytest.approx(ml, rel=1e-5)


def test_hinge_losses():
    signs = 2 * BIN - 1
    expected = skm.hinge_loss(signs, BIN_LOGITS[:, 0])
    assert _loss("hinge", BIN_LOGITS, BIN) == pytest.approx(expected, rel=1e-5)
    assert _loss("hinge", BIN_LOGITS, signs) == pytest.approx(expected, rel=1e-5)
    # multi-class: Weston-Watkins, averaged over classes (torch's multi_margin_loss)
    x = LOGITS.astype(np.float64)
    margins = np.maximum(0, 1 - x[np.arange(N), LABELS][:, None] + x)
    margins[np.arange(N), LABELS] = 0
    assert _loss("hinge", LOGITS, LABELS) == pytest.approx((margins.sum(1) / C).mean(),
                                                           rel=1e-5)


def _metrics(names, loss, out, y, **kw):
    target = prepare_target(loss, y, out.shape[1:])
    return compute(names, loss, torch.as_tensor(out), target, **kw)


def test_multiclass_metrics_match_sklearn():
    pred = LOGITS.argmax(1)
    m = _metrics(["accuracy", "top_k_accuracy", "precision", "recall", "f1",
                  "confusion_matrix"], "cross_entropy", LOGITS, LABELS, top_k=2)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(LABELS, pred))
    assert m["top_k_accuracy"] == pytest.approx(
        skm.top_k_accuracy_score(LABELS, LOGITS, k=2, labels=range(C)))
    for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score),
                     ("f1", skm.f1_score)):
        assert m[name] == pytest.approx(fn(LABELS, pred, average="macro", zero_division=0))
    assert m["confusion_matrix"] == skm.confusion_matrix(LABELS, pred,
                                                         labels=range(C)).tolist()


def test_multiclass_hinge_metrics_compare_class_indices():
    """The multi-class hinge trains on class indices: its metrics are multi-class ones."""
    pred = LOGITS.argmax(1)
    m = _metrics(["accuracy", "f1", "confusion_matrix"], "hinge", LOGITS, LABELS)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(LABELS, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(LABELS, pred, average="macro", zero_division=0))
    assert m["confusion_matrix"] == skm.confusion_matrix(LABELS, pred,
                                                         labels=range(C)).tolist()


def test_binary_metrics_match_sklearn():
    pred = (BIN_LOGITS[:, 0] > 0).astype(int)
    m = _metrics(["binary_accuracy", "precision", "recall", "f1"], "bce_with_logits",
                 BIN_LOGITS, BIN)
    assert m["binary_accuracy"] == pytest.approx(skm.accuracy_score(BIN, pred))
    assert m["precision"] == pytest.approx(skm.precision_score(BIN, pred))
    assert m["recall"] == pytest.approx(skm.recall_score(BIN, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(BIN, pred))


def test_regression_metrics_match_sklearn():
    m = _metrics(["mse", "mae", "rmse", "r2", "accuracy"], "mse", REG_OUT, REG_Y)
    assert "accuracy" not in m  # does not apply to a regression output
    assert m["mse"] == pytest.approx(skm.mean_squared_error(REG_Y, REG_OUT), rel=1e-6)
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(REG_Y, REG_OUT), rel=1e-6)
    assert m["rmse"] == pytest.approx(skm.root_mean_squared_error(REG_Y, REG_OUT), rel=1e-6)
    assert m["r2"] == pytest.approx(skm.r2_score(REG_Y, REG_OUT), rel=1e-6)


def test_mismatched_target_is_named():
    with pytest.raises(ValueError, match="the 'mse' loss needs them to match"):
        prepare_target("mse", np.zeros((5, 2)), (3,))
