"""Training insight on the canvas: activation thumbnails on the selected node (the channel with
the most signal, labelled), wires tinted by grad norm on a scale without red, with a legend and
the number in the wire's tooltip."""
import numpy as np
import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from engine.examples import example_path
from studio.ui.canvas.live_overlay import (THUMB, activation_image, activation_view, heat_color,
                                           heat_colors)
from studio.ui.main_window import MainWindow
from studio.ui.theme import apply_theme


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


def is_red(color: QColor) -> bool:
    """Reads as red (or red-orange): the colour the canvas keeps for errors."""
    hue = color.hsvHueF() * 360
    return (hue < 25 or hue > 335) and color.hsvSaturationF() > 0.45 and \
        color.valueF() > 0.35


def test_thumbnail_of_the_selected_node_shows_its_strongest_channel(win, qtbot):
    conv = node_id(win, "conv1")
    acts = np.zeros((8, 16, 8, 8), np.float32)
    acts[0, 5] = np.random.default_rng(0).normal(size=(8, 8))   # channel 6 has the signal
    acts[0, 9] = 3.0                                              # bright but flat
    win.live.show_activation(conv, acts)
    win.live.redraw()
    assert conv not in win.live.thumbs          # not selected: nothing drawn
    win.scene.select_ids([conv])
    qtbot.waitUntil(lambda: conv in win.live.thumbs, timeout=2000)
    thumb = win.live.thumbs[conv]
    assert thumb.pixmap().width() == THUMB and thumb.pixmap().height() == THUMB
    assert thumb.caption.text() == "channel 6 of 16" and thumb.caption.isVisible()
    node = win.scene.nodes[conv]
    assert thumb.parentItem() is node and thumb.pos().y() > node.boundingRect().bottom()
    image, _label = activation_view(acts)
    expected = acts[0, 5]
    pixels = np.array([[QColor(image.pixel(x, y)).red() for x in range(8)] for y in range(8)])
    assert np.argmax(pixels) == np.argmax(expected) and np.argmin(pixels) == np.argmin(expected)
    # deselected: the thumbnail goes
    win.scene.select_ids([])
    assert conv not in win.live.thumbs and thumb.scene() is None


def test_dense_activation_is_a_heat_strip(win, qtbot):
    fc = node_id(win, "fc1")
    win.scene.select_ids([fc])
    win.live.show_activation(fc, np.ones((8, 64), np.float32))
    qtbot.waitUntil(lambda: fc in win.live.thumbs, timeout=2000)
    assert win.live.thumbs[fc].pixmap().height() < THUMB
    assert win.live.thumbs[fc].caption.text() == "64 units"


def test_wires_take_the_colour_of_their_source_grad_norm(win, qtbot):
    conv1, conv2 = node_id(win, "conv1"), node_id(win, "conv2")
    out_of = {e.src: item for e, item in win.scene.edges.items()}
    neutral = out_of[conv1].pen().color().name()
    win.live.show_grad_norms({conv1: 1e-4, conv2: 1.0})
    qtbot.waitUntil(lambda: out_of[conv2].heat is not None, timeout=2000)
    hot, cold = out_of[conv2].pen().color(), out_of[conv1].pen().color()
    assert hot.name() == heat_color(1.0).name() and cold.name() == heat_color(0.0).name()
    assert not is_red(hot) and not is_red(cold)
    assert "gradient norm of 'conv2': 1" in out_of[conv2].toolTip()
    assert "gradient norm of 'conv1': 0.0001" in out_of[conv1].toolTip()
    legend = win.live.legend
    assert not legend.isHidden() and (legend.lo, legend.hi) == (1e-4, 1.0)
    # it sits in a strip above the canvas's viewport: it can never cover a node
    assert legend.geometry().bottom() < win.view.viewport().geometry().top()
    win.live.clear()
    assert out_of[conv2].pen().color().name() == neutral and not win.live.thumbs
    assert "gradient" not in out_of[conv2].toolTip() and legend.isHidden()
    assert win.view.viewportMargins().top() == 0


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_heat_scale_has_no_red_and_is_logarithmic(qapp, theme):
    apply_theme(qapp, theme)
    try:
        assert not any(is_red(heat_color(t / 50)) for t in range(51))
        assert is_red(QColor("#e4572e"))            # the old "hot" colour would fail
        colors = heat_colors({"a": 1e-6, "b": 1e-3, "c": 1.0})
        assert colors["b"].name() == heat_color(0.5).name()
    finally:
        apply_theme(qapp, "light")


def test_thumbnails_go_when_another_graph_opens(win, qtbot):
    conv = node_id(win, "conv1")
    win.scene.select_ids([conv])
    win.live.show_activation(conv, np.zeros((8, 16, 8, 8), np.float32))
    qtbot.waitUntil(lambda: conv in win.live.thumbs, timeout=2000)
    win.document.open(example_path("digits_mlp"))
    assert not win.live.thumbs


def red_pixel_count(image) -> int:
    from PySide6.QtGui import QImage

    img = image.convertToFormat(QImage.Format.Format_RGB32)
    a = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(),
                                                          img.bytesPerLine() // 4, 4)
    b, g, r = (a[..., i].astype(float) / 255 for i in range(3))
    mx, mn = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-9), 0)
    redish = (r == mx) & (r - np.maximum(g, b) > 0.35 * (mx - mn) + 1e-9) & \
        ((g - b) / np.maximum(mx - mn, 1e-9) < 0.45)   # hue below ~25 degrees
    return int((redish & (sat > 0.45) & (mx > 0.35)).sum())


def render_wires(scene):
    """The scene's wires and their labels as drawn (nodes hidden), around the graph."""
    from PySide6.QtGui import QImage, QPainter

    for node in scene.nodes.values():
        node.hide()
    rect = scene.nodes_rect().adjusted(-60, -60, 60, 60)
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_RGB32)
    image.fill(0)
    painter = QPainter(image)
    scene.render(painter, source=rect)
    painter.end()
    for node in scene.nodes.values():
        node.show()
    return image


def test_no_red_wire_on_a_valid_model_during_training(qtbot, tmp_path):
    """Screenshots at 1360x850 (light, then dark) while digits_cnn trains: the wires are tinted
    by gradient norm and none of the drawn wire pixels is red (red means an error)."""
    from PySide6.QtCore import QSettings

    from studio.app import render_window
    from studio.document import Document

    from .helpers import dispose

    doc = Document(autosave_ms=0)
    doc.open(example_path("digits_cnn"))
    doc.project.path = tmp_path / "cnn.nnproj"
    win = MainWindow(doc, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    try:
        render_window(win, (1360, 850))
        panel = win.panels["training"]
        panel.overrides = {"epochs": 2}
        assert panel.start()
        edges = list(win.scene.edges.values())
        qtbot.waitUntil(lambda: sum(e.heat is not None for e in edges) >= 3, timeout=200_000)
        assert not any(e.bad for e in edges) and doc.report().ok
        for theme in ("light", "dark"):
            win.set_theme(theme)
            win.live.redraw()
            assert not any(is_red(e.pen().color()) for e in edges), theme
            assert red_pixel_count(render_wires(win.scene)) == 0, theme
        assert not win.live.legend.isHidden()
        assert "gradient norm of" in next(e for e in edges if e.heat is not None).toolTip()
        edges[0].set_shape("?", True)          # the same check sees a red (error) wire
        assert red_pixel_count(render_wires(win.scene)) > 50
    finally:
        win.panels["training"].shutdown()
        dispose(win)
        apply_theme(QApplication.instance(), "light")
