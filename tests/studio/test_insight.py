"""The insight views show what engine.insight computes."""
import numpy as np

from engine.data.base import DataSplits, Split
from engine.insight import Insight, compute_insight, occlusion_map
from studio.ui.insight.confusion import ConfusionView
from studio.ui.insight.feature_maps import FeatureMapView
from studio.ui.insight.mosaic import activation_tiles, filter_tiles, mosaic
from studio.ui.insight.pca import PCAView
from studio.ui.insight.predictions import PredictionsView
from studio.ui.insight.reconstructions import ReconstructionView


def test_mosaic_places_one_tile_per_channel():
    tiles = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    img, (rows, cols) = mosaic(tiles, pad=1)
    assert (rows, cols) == (2, 3) and img.shape == (2 * 3 - 1, 3 * 4 - 1)
    np.testing.assert_array_equal(img[3:5, 4:7], tiles[4])
    assert np.isnan(img[2]).all()                     # the gap row
    assert activation_tiles(np.zeros(70))[0].shape == (1, 3, 32)
    assert filter_tiles(np.zeros((16, 1, 3, 3))).shape == (16, 3, 3)
    assert filter_tiles(np.zeros((8, 64))).shape == (8, 8, 8)   # RBM/Linear rows as images


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
    assert not cv.built and not cv.texts     # kept, not drawn: the view was never shown
    cv.show()
    assert len(cv.texts) == 4 and "15 validation samples, 12 correct" in cv.info.text()
    assert "true dog predicted as cat (2×)" in cv.info.text()
    pv = PredictionsView(image_shape=(1, 8, 8))
    qtbot.addWidget(pv)
    probs = np.array([[0.9, 0.1], [0.3, 0.7]])
    pv.set_insight(Insight(x=np.random.rand(2, 64), y=np.array([0, 0]), task="classification",
                           outputs=probs, probs=probs, pred=np.array([0, 1]),
                           class_names=["cat", "dog"]))
    assert pv.table.rowCount() == 0           # filled when shown
    pv.show()
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
    rv.show()
    assert rv.image.image.shape == (10 * 9 - 1, 2 * 9 - 1)   # (x, y): 2 rows of 10 tiles


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
    pv.show()
    pv.table.setCurrentCell(0, 0)
    i = int(pv.order[0])
    np.testing.assert_allclose(pv.heat, occlusion_map(model, x[i], int(y[i]), patch=2),
                               atol=1e-6)
    assert f"sample #{i}" in pv.occ_info.text()
    np.testing.assert_allclose(pv.occ_heat.image, np.clip(pv.heat, 0, None).T)
    ev = EmbeddingView()
    qtbot.addWidget(ev)
    emb = np.array([[0, 0], [0, 0], [1, 0], [0.9, 0.2], [-1, 0]], np.float32)
    ev.set_embeddings({"n2": ("embed", emb)}, ["<pad>", "<unk>", "good", "great", "bad"])
    assert ev.result.item(0).text().startswith("great")
    ev.word.setText("nope")
    ev.lookup()
    assert "not in the vocabulary" in ev.info.text()


def test_gradient_norms_are_drawn_batched_with_every_point(qtbot):
    from studio.ui.insight.gradients import GradientView

    view = GradientView()
    qtbot.addWidget(view)
    view.show()
    view.reset({"a": "conv", "b": "dense"})
    sent = [{"a": 0.5 * (i + 1), "b": 2.0 if i != 3 else float("nan")} for i in range(8)]
    for norms in sent:
        view.add_norms(norms)
    assert "a" not in view.curves                      # not drawn per event ...
    qtbot.waitUntil(lambda: "a" in view.curves, timeout=2000)
    _x, y = view.curves["a"].getData()                 # ... but every point, in one go
    np.testing.assert_allclose(10 ** y, [n["a"] for n in sent])   # log-y plot
    assert len(view.curves["b"].getData()[0]) == 7     # the NaN is left out


def test_gradient_norms_of_a_hidden_view_make_no_curves_until_it_is_shown(qtbot):
    from studio.ui.insight.gradients import GradientView

    view = GradientView()
    qtbot.addWidget(view)
    view.reset({"a": "conv"})
    for i in range(3):
        view.add_norms({"a": 0.1 * (i + 1)})
    assert not view.curves and view.buffers["a"].n == 3   # kept, not drawn
    view.show()
    np.testing.assert_allclose(10 ** view.curves["a"].getData()[1], [0.1, 0.2, 0.3])


def _cell_rgb(cv, row: int, col: int):
    """The colour shown at the middle of a cell's top-left quarter (clear of its count)."""
    from PySide6.QtCore import QPointF
    point = cv.plot.getViewBox().mapViewToScene(QPointF(col + 0.2, row + 0.2))
    image = cv.view.grab().toImage()
    at = cv.view.mapFromScene(point)
    colour = image.pixelColor(at.x(), at.y())
    return colour.red(), colour.green(), colour.blue()


def test_the_confusion_matrix_is_drawn_in_the_themes_colours(qtbot, qapp):
    """Dark theme: empty cells near the dark background, not a bright block; the counts read
    on their cells; switching the theme redraws it."""
    from studio.ui.theme import apply_theme
    cm = np.array([[9, 0, 1], [0, 10, 0], [2, 0, 8]])
    try:
        apply_theme(qapp, "dark")
        cv = ConfusionView()
        qtbot.addWidget(cv)
        cv.resize(400, 400)
        cv.set_matrix(cm)
        cv.show()
        qtbot.waitExposed(cv)
        empty, full = _cell_rgb(cv, 0, 1), _cell_rgb(cv, 1, 1)
        assert max(empty) < 80 and sum(full) > sum(empty) + 200
        low = next(t for t in cv.texts if t.toPlainText() == "1")
        high = next(t for t in cv.texts if t.toPlainText() == "10")
        assert low.color.lightness() > 180 and high.color.lightness() < 60
        apply_theme(qapp, "light")
        qtbot.waitUntil(lambda: min(_cell_rgb(cv, 0, 1)) > 200)   # a light empty cell
        high = next(t for t in cv.texts if t.toPlainText() == "10")
        assert high.color.lightness() > 180        # white on the strong colour
    finally:
        apply_theme(qapp, "light")


def test_feature_maps_fit_the_view_to_each_new_mosaic_size(qtbot):
    """A live refresh of the same layer keeps the view; another size is fitted again."""
    fm = FeatureMapView()
    qtbot.addWidget(fm)
    fm.resize(400, 400)
    fm.show()
    fm.set_layers([("n2", "conv1"), ("n8", "fc1")])
    fm.choose("n2")
    rng = np.random.default_rng(0)

    def image_in_view():
        (x0, x1), (y0, y1) = fm.box.viewRange()
        h, w = fm.image.image.shape[:2]          # (x, y) order: pyqtgraph's
        return x0 <= 0 and y0 <= 0 and x1 >= h and y1 >= w

    fm.show_activation("n2", rng.random((1, 16, 8, 8)))
    assert image_in_view()
    fitted = fm.box.viewRange()
    fits = []
    fit = fm.box.autoRange
    fm.box.autoRange = lambda **kw: (fits.append(1), fit(**kw))
    fm.show_activation("n2", rng.random((1, 16, 8, 8)))     # the next live snapshot
    assert fm.box.viewRange() == fitted and not fits        # drawn, not re-fitted
    fm.show_activation("n8", rng.random((1, 300)))
    fm.choose("n8")                                        # a heat strip of 10 x 32 units
    assert fm.kind == "units" and image_in_view()
    fm.choose("n2")
    assert image_in_view() and fm.box.viewRange() == fitted
