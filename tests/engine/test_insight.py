"""Insight computations (engine.insight) against scikit-learn and PyTorch."""
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.metrics import confusion_matrix as sk_confusion

from engine.data.base import DataSplits, Split
from engine.insight import (
    Insight,
    build_model,
    compute_insight,
    confusion_matrix,
    nearest_words,
    occlusion_map,
    pca_2d,
    ranked_predictions,
    run_model,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def test_confusion_matrix_matches_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    np.testing.assert_array_equal(confusion_matrix(y, p, 5), sk_confusion(y, p, labels=range(5)))


def test_pca_matches_sklearn_up_to_sign():
    a = np.random.default_rng(1).normal(size=(100, 6)) @ np.diag([5, 3, 1, 1, 1, 1])
    pts, ratio = pca_2d(a)
    ref = PCA(2).fit(a)
    expected = ref.transform(a)
    for k in range(2):
        assert np.allclose(pts[:, k], expected[:, k], atol=1e-8) or \
            np.allclose(pts[:, k], -expected[:, k], atol=1e-8)
    np.testing.assert_allclose(ratio, ref.explained_variance_ratio_)


def test_ranked_predictions_worst_mistakes_first():
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.55, 0.45]])
    ins = Insight(x=np.zeros((4, 2)), y=np.array([0, 0, 1, 1]), task="classification",
                  outputs=np.log(probs), probs=probs, pred=probs.argmax(1))
    # wrong: #1 (conf .6), #3 (conf .55); right: #2 (.8), #0 (.9)
    assert list(ranked_predictions(ins)) == [1, 3, 2, 0]


def test_run_model_captures_activations_like_torch(cnn):
    model, _ = cnn
    x = np.random.default_rng(0).random((5, 1, 8, 8), dtype=np.float32)
    out, acts = run_model(model, x, ["n2", "n5"])
    with torch.no_grad():
        model.eval()
        ref_conv1 = model.conv1(torch.as_tensor(x))
        ref_out = model(torch.as_tensor(x))
    np.testing.assert_allclose(acts["n2"], ref_conv1.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, ref_out.numpy(), rtol=1e-5, atol=1e-6)
    assert acts["n5"].shape == (5, 32, 4, 4)


def test_compute_insight_and_occlusion(cnn):
    model, _ = cnn
    rng = np.random.default_rng(0)
    x = rng.random((40, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 10, 40)
    splits = DataSplits(train=Split(x, [y]), val=Split(x[:30], [y[:30]]),
                        tasks=["classification"], num_classes=[10],
                        class_names=[[str(i) for i in range(10)]])
    ins = compute_insight(model, splits, ["n2"])
    assert ins.confusion.sum() == 30 and ins.confusion.shape == (10, 10)
    np.testing.assert_array_equal(ins.confusion, sk_confusion(y[:30], ins.pred,
                                                              labels=range(10)))
    np.testing.assert_allclose(ins.probs.sum(1), 1, rtol=1e-5)
    assert ins.activations["n2"].shape == (30, 16, 8, 8)
    heat = occlusion_map(model, x[0], int(y[0]), patch=2)
    assert heat.shape == (7, 7)
    # occluding patch (0,0) by hand gives the same drop
    probe = x[0].copy()
    probe[:, 0:2, 0:2] = x[0].mean()
    with torch.no_grad():
        p0 = torch.softmax(model(torch.as_tensor(x[:1])), 1)[0, y[0]]
        p1 = torch.softmax(model(torch.as_tensor(probe[None])), 1)[0, y[0]]
    assert heat[0, 0] == pytest.approx(float(p0 - p1), abs=1e-5)


def test_nearest_words_by_cosine():
    emb = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0]], np.float32)
    near = nearest_words(emb, ["good", "great", "plot", "bad"], "good", k=2)
    assert [w for w, _ in near] == ["great", "plot"]
    with pytest.raises(KeyError):
        nearest_words(emb, ["a", "b", "c", "d"], "zzz")


def test_activations_of_modules_returning_tuples():
    from engine.graph import Graph
    g = Graph()
    nodes = [g.add_node("io.Input", {"shape": [5, 3]}), g.add_node("rnn.LSTM",
                                                                   {"hidden_size": 4}),
             g.add_node("io.Output", {})]
    for a, b in itertools.pairwise(nodes):
        g.connect(a.id, "out", b.id, "in")
    model = build_model(g)
    out, acts = run_model(model, np.zeros((2, 5, 3), np.float32), [nodes[1].id])
    assert acts[nodes[1].id].shape[0] == 2 and out.shape[0] == 2
