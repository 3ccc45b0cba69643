"""Insight computations against scikit-learn/PyTorch, and the views that show them."""
import itertools

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.metrics import confusion_matrix as sk_confusion

from engine.data.base import DataSplits, Split
from engine.project import load_project
from studio.ui.insight.compute import (
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
from studio.ui.insight.confusion import ConfusionView
from studio.ui.insight.feature_maps import FeatureMapView
from studio.ui.insight.mosaic import activation_tiles, filter_tiles, mosaic
from studio.ui.insight.pca import PCAView
from studio.ui.insight.predictions import PredictionsView
from studio.ui.insight.reconstructions import ReconstructionView
from tests.studio.test_training_panel import EXAMPLES


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


def test_mosaic_places_one_tile_per_channel():
    tiles = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    img, (rows, cols) = mosaic(tiles, pad=1)
    assert (rows, cols) == (2, 3) and img.shape == (2 * 3 - 1, 3 * 4 - 1)
    np.testing.assert_array_equal(img[3:5, 4:7], tiles[4])
    assert np.isnan(img[2]).all()                     # the gap row
    assert activation_tiles(np.zeros(70))[0].shape == (1, 3, 32)
    assert filter_tiles(np.zeros((16, 1, 3, 3))).shape == (16, 3, 3)
    assert filter_tiles(np.zeros((8, 64))).shape == (8, 8, 8)   # RBM/Linear rows as images


@pytest.fixture(scope="module")
def cnn():
    project = load_project(EXAMPLES / "digits_cnn.nnproj")
    torch.manual_seed(0)
    return build_model(project.graph), project


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


def test_views_show_what_they_are_given(qtbot):
    fm = FeatureMapView()
    qtbot.addWidget(fm)
    fm.show()
    fm.set_layers([("n2", "conv1"), ("n8", "fc1")])
    fm.choose("n2")
    fm.show_activation("n2", np.random.rand(8, 16, 8, 8), np.random.rand(16, 1, 3, 3))
    assert fm.tile_count == 16 and fm.grid == (4, 4)
    fm.mode.setCurrentIndex(1)
    fm.redraw()
    assert fm.tile_count == 16 and "16 filters" in fm.info.text()
    fm.mode.setCurrentIndex(0)
    fm.show_activation("n8", np.random.rand(8, 64))
    fm.choose("n8")
    assert fm.kind == "units" and fm.tile_count == 64
    cv = ConfusionView()
    qtbot.addWidget(cv)
    cm = np.array([[5, 1], [2, 7]])
    cv.set_matrix(cm, ["cat", "dog"])
    assert len(cv.texts) == 4 and "15 validation samples, 12 correct" in cv.info.text()
    assert "true dog predicted as cat (2×)" in cv.info.text()
    pv = PredictionsView(image_shape=(1, 8, 8))
    qtbot.addWidget(pv)
    probs = np.array([[0.9, 0.1], [0.3, 0.7]])
    pv.set_insight(Insight(x=np.random.rand(2, 64), y=np.array([0, 0]), task="classification",
                           outputs=probs, probs=probs, pred=np.array([0, 1]),
                           class_names=["cat", "dog"]))
    assert pv.table.rowCount() == 2 and pv.table.item(0, 3).text() == "✗ dog"
    pca = PCAView()
    qtbot.addWidget(pca)
    pca.set_activations("fc1", np.random.rand(50, 10), np.arange(50) % 3)
    assert pca.points.shape == (50, 2)
    rv = ReconstructionView(image_shape=(1, 8, 8))
    qtbot.addWidget(rv)
    x = np.random.rand(12, 64).astype(np.float32)
    rv.set_pairs(x, x * 0.5)
    assert rv.shown == 10 and "MSE" in rv.info.text()


def test_predictions_browser_occlusion_and_embedding_view(qtbot, cnn):
    from studio.ui.insight.embeddings import EmbeddingView
    model, _ = cnn
    rng = np.random.default_rng(0)
    x = rng.random((20, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 10, 20)
    splits = DataSplits(train=Split(x, [y]), val=Split(x, [y]), tasks=["classification"],
                        num_classes=[10], class_names=[[str(i) for i in range(10)]])
    pv = PredictionsView(image_shape=(1, 8, 8))
    qtbot.addWidget(pv)
    pv.set_insight(compute_insight(model, splits))
    pv.table.setCurrentCell(0, 0)
    i = int(pv.order[0])
    np.testing.assert_allclose(pv.heat, occlusion_map(model, x[i], int(y[i]), patch=2),
                               atol=1e-6)
    assert f"sample #{i}" in pv.occ_info.text()
    ev = EmbeddingView()
    qtbot.addWidget(ev)
    emb = np.array([[0, 0], [0, 0], [1, 0], [0.9, 0.2], [-1, 0]], np.float32)
    ev.set_embeddings({"n2": ("embed", emb)}, ["<pad>", "<unk>", "good", "great", "bad"])
    assert ev.result.item(0).text().startswith("great")
    ev.word.setText("nope")
    ev.lookup()
    assert "not in the vocabulary" in ev.info.text()


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


def test_gradient_norms_are_drawn_batched_with_every_point(qtbot):
    from studio.ui.insight.gradients import GradientView

    view = GradientView()
    qtbot.addWidget(view)
    view.show()
    view.reset({"a": "conv", "b": "dense"})
    sent = [{"a": 0.5 * (i + 1), "b": 2.0 if i != 3 else float("nan")} for i in range(8)]
    for norms in sent:
        view.add_norms(norms)
    assert view.curves["a"].getData()[0] is None      # not drawn per event ...
    qtbot.waitUntil(lambda: view.curves["a"].getData()[0] is not None, timeout=2000)
    _x, y = view.curves["a"].getData()                 # ... but every point, in one go
    np.testing.assert_allclose(10 ** y, [n["a"] for n in sent])   # log-y plot
    assert len(view.curves["b"].getData()[0]) == 7     # the NaN is left out
