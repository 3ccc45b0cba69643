"""The Training panel's views make their plots when first shown: a view never shown has none
(and costs nothing), a view first shown after a run draws what that run produced, and a view
shown after another project's run draws that run's data, nothing of the one before."""
import numpy as np
import pyqtgraph as pg

from studio.ui.insight.mosaic import activation_tiles, mosaic, normalize_tiles, to_rgba

from .test_training_panel import EXAMPLES, WAIT_MS, _wait_done, make_panel  # noqa: F401

INSIGHT = ("feature_maps", "confusion", "predictions", "reconstructions", "pca", "gradients",
           "latent", "gan")


def _plots(widget) -> list:
    return widget.findChildren(pg.GraphicsView)


def _record(panel) -> dict:
    got = {"norms": [], "maps": {}}
    panel.grad_norms.connect(got["norms"].append)
    panel.activations.connect(lambda nid, a: got["maps"].__setitem__(nid, np.array(a)))
    return got


def _train_hidden(qtbot, panel, doc, **dataset):
    """Train with the Runs tab in front: no insight view and no curve is on screen."""
    doc.project.dataset.update(dataset)
    panel.tabs.setCurrentWidget(panel.runs)
    assert panel.start(), panel.error.text.text()
    _wait_done(qtbot, panel)
    qtbot.waitUntil(lambda: panel.insight is not None, timeout=WAIT_MS)


def _check_shows_the_run(qtbot, panel, events, got) -> None:
    """Show each view; it draws exactly what the run (`events`, `got`) produced."""
    views = panel.views
    epochs = [e.metrics for e in events if e.kind == "epoch"]
    batches = [e for e in events if e.kind == "batch"]
    views.setCurrentWidget(views.curves)
    loss = views.curves.plots["loss"]
    np.testing.assert_allclose(loss.step_curve.getData()[1], [b.loss for b in batches])
    np.testing.assert_allclose(loss.val_curve.getData()[1], [e["val_loss"] for e in epochs])
    started = next(e for e in events if e.kind == "started")
    assert set(views.curves.plots) == {"loss", "lr", *started.metrics}   # none of a project before
    views.setCurrentWidget(views.confusion)
    cm = panel.insight.confusion
    np.testing.assert_array_equal(views.confusion.matrix, cm)
    assert len(views.confusion.texts) == np.count_nonzero(cm)
    np.testing.assert_allclose(views.confusion.image.image,
                               (cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)).T)
    views.setCurrentWidget(views.predictions)     # filled a few rows per event-loop turn
    order = views.predictions.order
    qtbot.waitUntil(lambda: views.predictions.filled == min(len(order), 300), timeout=WAIT_MS)
    assert views.predictions.table.item(0, 1).text() == str(int(order[0]))
    views.setCurrentWidget(views.gradients)
    norms = got["norms"]
    for nid, curve in views.gradients.curves.items():
        sent = [n[nid] for n in norms if n.get(nid) and np.isfinite(n[nid]) and n[nid] > 0]
        np.testing.assert_allclose(10 ** curve.getData()[1], sent, rtol=1e-6)
    assert set(views.gradients.curves) == {nid for n in norms for nid in n}
    fm = views.feature_maps
    views.setCurrentWidget(fm)
    frame = got["maps"][fm.node_id][0]       # the last live snapshot of the shown layer
    tiles, kind = activation_tiles(frame)
    image, _ = mosaic(normalize_tiles(tiles) if kind != "units" else tiles,
                      pad=1 if kind != "units" else 0)
    np.testing.assert_array_equal(fm.image.image, to_rgba(image, fm.cmap))


def test_views_are_made_when_shown_and_show_the_run_that_ran_while_hidden(qtbot, make_panel):
    panel, doc, events = make_panel("digits_cnn", epochs=1, batch_size=64)
    views = panel.views
    assert not any(getattr(views, name).built for name in INSIGHT)
    assert not any(_plots(getattr(views, name)) for name in INSIGHT)
    got = _record(panel)
    _train_hidden(qtbot, panel, doc, max_samples=300)
    # the run fed them; still nothing made for views nobody looked at
    assert not any(getattr(views, name).built for name in INSIGHT)
    assert views.gradients.buffers and views.feature_maps.live
    _check_shows_the_run(qtbot, panel, events, got)
    assert not views.gan.built and not views.latent.built   # hidden tabs: never made


def test_a_second_project_shows_its_own_run_in_views_first_shown_after_it(qtbot, make_panel):
    panel, doc, events = make_panel("digits_cnn", epochs=1, batch_size=64)
    views = panel.views
    _train_hidden(qtbot, panel, doc, max_samples=300)
    for name in ("curves", "confusion", "feature_maps"):      # A's data drawn once
        views.setCurrentWidget(getattr(views, name))
    assert views.confusion.matrix.shape == (10, 10)
    doc.open_example(EXAMPLES / "xor_mlp.nnproj")
    doc.project.training.update(epochs=3)
    events.clear()
    got = _record(panel)
    _train_hidden(qtbot, panel, doc)
    assert views.confusion.matrix.shape == (2, 2)
    _check_shows_the_run(qtbot, panel, events, got)
    layers = {n.name for n in doc.graph.nodes.values()}
    assert {fm for fm in (views.feature_maps.layer.itemText(i)
                          for i in range(views.feature_maps.layer.count()))} <= layers
    assert {views.gradients.names[nid] for nid in views.gradients.curves} <= layers
