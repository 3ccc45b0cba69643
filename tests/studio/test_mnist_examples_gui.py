"""gan_mnist in the real window (offscreen): with MNIST neither cached nor reachable, the dataset
panel says it is not downloaded yet and where it will go, "Download and preview" and Train show
the download's failure in one sentence and the project stays as it was; with MNIST in the cache
(the generated one of the test session) the same window trains it and the GAN view shows 28x28
samples."""
import pytest
from PySide6.QtCore import Qt

from engine.examples import copy_example
from engine.project import load_project, save_project

from ..mnist_cache import offline_mirror
from .helpers import main_window

WAIT_MS = 120_000   # generous: under load the first torch import and data loading are slow


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    with main_window(qtbot, tmp_path, monkeypatch) as w:
        yield w


def test_gan_mnist_offline_then_from_the_cache(qtbot, win, tmp_path, monkeypatch,
                                              generated_mnist):
    path = copy_example("gan_mnist", tmp_path / "gan.nnproj")
    project = load_project(path)
    project.dataset["max_samples"] = 120
    project.training["epochs"] = 1
    save_project(project, path)
    before = path.read_bytes()
    empty = tmp_path / "empty"
    monkeypatch.setenv("STUDIO_DATA_DIR", str(empty))
    monkeypatch.setenv("STUDIO_DATA_MIRROR", offline_mirror())

    assert win.open_file(path)
    panel = win.panels["training"]
    panel.dataset.refresh()
    info = panel.dataset.info.text()
    assert "Not downloaded yet" in info and str(empty / "mnist") in info
    button = panel.dataset.preview_button
    assert button.text() == "Download and preview"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "could not download MNIST" in panel.dataset.info.text(),
                    timeout=WAIT_MS)
    assert panel.start()
    qtbot.waitUntil(lambda: panel.worker is None, timeout=WAIT_MS)
    shown = panel.error.text.text()
    assert panel.error.isVisible() and "could not download MNIST" in shown
    assert "no network connection" in shown and str(empty / "mnist") in shown
    assert not win.document.modified and path.read_bytes() == before

    monkeypatch.setenv("STUDIO_DATA_DIR", str(generated_mnist))  # now it is in the cache
    panel.dataset.refresh()
    assert "Downloaded, in" in panel.dataset.info.text() and button.text() == "Preview"
    assert panel.start(), panel.error.text.text()
    qtbot.waitUntil(lambda: panel.worker is None, timeout=WAIT_MS)
    assert not panel.error.isVisible()
    gan = panel.views.gan
    win.show_tab("training")
    panel.views.setCurrentWidget(gan)   # its plots are made and drawn when it is shown
    assert gan.image.image is not None
    tiles = gan.image.image.shape[:2]          # 8x8 tiles of 28 pixels, a 1-pixel gap
    assert tiles[0] >= 8 * 28 and tiles[1] >= 8 * 28
