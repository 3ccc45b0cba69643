"""The Latent tab follows a VAE's training live (codes by class, the decoded manifold),
samples new digits from the prior after it, and starts empty for the next project."""
from PySide6.QtCore import Qt

from .test_training_panel import WAIT_MS, _wait_done, make_panel  # noqa: F401 (fixture)


def test_latent_tab_is_live_samples_from_the_prior_and_resets(qtbot, make_panel):
    panel, doc, events = make_panel("vae_digits", epochs=2)
    doc.project.dataset["max_samples"] = 300
    latent = panel.views.latent
    panel.tabs.setCurrentWidget(latent)
    assert latent.codes is None and not latent.sample_button.isEnabled()
    assert "Sampling layer" in latent.info.text()
    panel.start()
    qtbot.waitUntil(lambda: latent.epoch >= 1, timeout=WAIT_MS)
    val_size = next(e.val_size for e in events if e.kind == "started")
    assert latent.codes.shape == (val_size, 2)
    legend = [label.text for _, label in latent.scatter.getPlotItem().legend.items]
    assert legend and set(legend) <= {str(k) for k in range(10)}
    assert latent.image.image.shape == (12 * 9 - 1, 12 * 9 - 1)  # 12×12 decoded 8×8 digits
    _wait_done(qtbot, panel)
    assert latent.epoch == 2
    assert "Epoch 2" in latent.info.text()
    qtbot.waitUntil(lambda: latent.sample_button.isEnabled(), timeout=WAIT_MS)
    assert doc.graph.weights
    qtbot.mouseClick(latent.sample_button, Qt.MouseButton.LeftButton)
    assert latent.grid_title.text() == "64 samples from the prior N(0, I)"
    assert latent.image.image.shape == (8 * 9 - 1, 8 * 9 - 1)
    # another project: nothing of the VAE stays on show
    from .test_training_panel import EXAMPLES

    doc.open_example(EXAMPLES / "digits_mlp.nnproj")
    assert latent.codes is None and latent.info.text() == latent.EMPTY
    assert latent.image.image is None


def test_gan_tab_follows_the_run_and_samples_fresh_noise(qtbot, make_panel):
    panel, doc, events = make_panel("gan_digits", epochs=2)
    doc.project.dataset["max_samples"] = 200
    gan = panel.views.gan
    panel.tabs.setCurrentWidget(gan)
    assert "Generated node" in gan.info.text() and not gan.sample_button.isEnabled()
    panel.start()
    qtbot.waitUntil(lambda: len(gan.epochs) >= 1, timeout=WAIT_MS)
    assert gan.image.image.shape == (8 * 9 - 1, 8 * 9 - 1)  # 64 samples of 8×8
    _wait_done(qtbot, panel)
    assert gan.epochs == [1, 2]
    xs, ys = gan.lines["d_real"].getData()
    assert list(xs) == [1, 2] and all(0 < y < 1 for y in ys)
    assert "D(G(z))" in gan.info.text() and "Epoch 2" in gan.info.text()
    assert "G loss" in gan.info.toolTip()
    assert ("mode collapse" in gan.info.text()) == gan.collapse
    qtbot.waitUntil(lambda: gan.sample_button.isEnabled(), timeout=WAIT_MS)
    assert panel.views.insight is None  # no classifier insight for a noise-fed model
    qtbot.mouseClick(gan.sample_button, Qt.MouseButton.LeftButton)
    assert gan.grid_title.text() == "64 samples of fresh noise"
    # a second run starts its curves again
    panel.start()
    qtbot.waitUntil(lambda: gan.epochs == [1], timeout=WAIT_MS)
    _wait_done(qtbot, panel)
    assert gan.epochs == [1, 2]
