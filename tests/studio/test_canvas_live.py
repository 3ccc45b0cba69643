"""Training insight on the canvas: activation thumbnails on nodes, wires tinted by grad norm."""
import numpy as np
import pytest

from engine.examples import example_path
from studio.ui.canvas.live_overlay import THUMB, activation_image, heat_colors
from studio.ui.main_window import MainWindow


@pytest.fixture
def win(qtbot):
    w = MainWindow(lazy_panels=False)
    qtbot.addWidget(w)
    w.document.open(example_path("digits_cnn"))
    return w


def node_id(win, name):
    return win.document.graph.by_name(name).id


def test_activation_image_shapes():
    assert activation_image(np.zeros((8, 16, 8, 8))).size().toTuple() == (8, 8)
    assert activation_image(np.arange(8 * 64.0).reshape(8, 64)).size().toTuple() == (64, 1)
    assert activation_image(np.zeros((8,))) is None


def test_thumbnail_appears_under_the_node(win, qtbot):
    conv = node_id(win, "conv1")
    acts = np.random.default_rng(0).normal(size=(8, 16, 8, 8)).astype(np.float32)
    win.live.show_activation(conv, acts)
    qtbot.waitUntil(lambda: conv in win.live.thumbs, timeout=2000)
    thumb = win.live.thumbs[conv]
    assert thumb.pixmap().width() == THUMB and thumb.pixmap().height() == THUMB
    node = win.scene.nodes[conv]
    assert thumb.parentItem() is node and thumb.pos().y() > node.boundingRect().bottom()


def test_dense_activation_is_a_heat_strip(win, qtbot):
    fc = node_id(win, "fc1")
    win.live.show_activation(fc, np.ones((8, 64), np.float32))
    qtbot.waitUntil(lambda: fc in win.live.thumbs, timeout=2000)
    assert win.live.thumbs[fc].pixmap().height() < THUMB


def test_wires_take_the_colour_of_their_source_grad_norm(win, qtbot):
    conv1, conv2 = node_id(win, "conv1"), node_id(win, "conv2")
    out_of = {e.src: item for e, item in win.scene.edges.items()}
    neutral = out_of[conv1].pen().color().name()
    win.live.show_grad_norms({conv1: 1e-4, conv2: 1.0})
    qtbot.waitUntil(lambda: out_of[conv2].heat is not None, timeout=2000)
    hot, cold = out_of[conv2].pen().color(), out_of[conv1].pen().color()
    assert hot.name() != neutral and hot.red() > cold.red()
    assert cold.name() == neutral  # the smallest norm keeps the neutral colour
    win.live.clear()
    assert out_of[conv2].pen().color().name() == neutral and not win.live.thumbs


def test_heat_scale_is_logarithmic():
    colors = heat_colors({"a": 1e-6, "b": 1e-3, "c": 1.0})
    assert colors["a"].red() < colors["b"].red() < colors["c"].red()
    mid = (colors["a"].redF() + colors["c"].redF()) / 2
    assert colors["b"].redF() == pytest.approx(mid, abs=0.01)


def test_thumbnails_go_when_another_graph_opens(win, qtbot):
    conv = node_id(win, "conv1")
    win.live.show_activation(conv, np.zeros((8, 16, 8, 8), np.float32))
    qtbot.waitUntil(lambda: conv in win.live.thumbs, timeout=2000)
    win.document.open(example_path("digits_mlp"))
    assert not win.live.thumbs
