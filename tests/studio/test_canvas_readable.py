"""The canvas is readable at ordinary window sizes (rendered offscreen at 1360×850 and 1024×700,
light and dark): the opening zoom draws node text >= 9 px, the mini-map never covers a node,
wires stay inside the frame of the graph, and the README's "break it" step really breaks."""
import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF, QSettings
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from engine.examples import example_path
from studio.app import render_window
from studio.document import Document
from studio.ui.canvas.edge_item import STUB, wire_path
from studio.ui.canvas.node_item import HEADER, NAME_PX, PARAM_PX, ROW, TITLE_PX, WIDTH
from studio.ui.main_window import MainWindow
from studio.ui.theme import apply_theme, canvas_colors

from .helpers import dispose

SIZES = [(1360, 850), (1024, 700)]


@pytest.fixture(params=["light", "dark"])
def theme(request, qapp):
    apply_theme(qapp, request.param)
    yield request.param
    apply_theme(qapp, "light")


def open_window(tmp_path, example, size):
    """The window as `studio` shows a project: opened, laid out at `size`, framed."""
    settings = QSettings(str(tmp_path / f"{example}.ini"), QSettings.Format.IniFormat)
    doc = Document(autosave_ms=0)
    doc.open(example_path(example))
    win = MainWindow(doc, settings)
    render_window(win, size)
    return win


def viewport_image(win) -> QImage:
    return win.view.viewport().grab().toImage()


def node_rect_in_viewport(win, item) -> QRectF:
    return win.view.mapFromScene(item.sceneBoundingRect()).boundingRect().toRectF()


def ink_rows(image: QImage, rect: QRectF, background: QColor) -> int:
    """How many pixel rows inside `rect` hold text ink (pixels far from the background)."""
    r = rect.toAlignedRect().intersected(image.rect())
    img = image.convertToFormat(QImage.Format.Format_RGB32)
    ptr = img.constBits()
    a = np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)
    box = a[r.top():r.bottom() + 1, r.left():r.right() + 1, :3].astype(int)
    bg = np.array([background.blue(), background.green(), background.red()])
    ink = np.abs(box - bg).sum(axis=2) > 150
    return int(ink.any(axis=1).sum())


@pytest.mark.parametrize("size", SIZES)
def test_opening_zoom_draws_node_text_at_nine_pixels_or_more(tmp_path, theme, size):
    win = open_window(tmp_path, "digits_cnn", size)
    try:
        zoom = win.view.zoom()
        assert min(TITLE_PX, NAME_PX, PARAM_PX) * zoom >= 9
        # measured on the pixels: the name "conv1" (its ascender height is ~0.73 of the
        # font's pixel size: >= 7 rows of ink for a font of >= 9 px)
        item = win.scene.nodes[win.document.graph.by_name("conv1").id]
        name = QRectF(10, HEADER + 5, WIDTH - 20, ROW)
        rect = win.view.mapFromScene(item.mapToScene(name).boundingRect()).boundingRect()
        image = viewport_image(win)
        if image.rect().contains(rect):
            assert ink_rows(image, rect.toRectF(), QColor(canvas_colors().node_body)) >= 7
        if size == (1360, 850):   # the whole 12-node network is in view
            visible = win.view.mapToScene(win.view.viewport().rect()).boundingRect()
            assert visible.contains(win.scene.nodes_rect())
    finally:
        dispose(win)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("example", ["residual_cnn", "inception_block", "digits_cnn"])
def test_the_minimap_never_covers_a_node(tmp_path, theme, size, example):
    win = open_window(tmp_path, example, size)
    try:
        view = win.view
        positions = [QPointF(x, y) for x in (-400, 0, 400, 900, 1600) for y in (-200, 200)]
        for pos in [None, *positions]:
            if pos is not None:
                view.centerOn(win.scene.nodes_rect().center() + pos)
                QApplication.processEvents()
            if not view.minimap.isVisible():
                continue
            box = view.minimap_rect_in_viewport()
            for item in win.scene.nodes.values():
                assert not box.intersects(node_rect_in_viewport(win, item)), \
                    (example, size, pos, item.node.name)
        if example == "residual_cnn" and size == (1360, 850):
            view.centerOn(win.scene.nodes_rect().topLeft())
            QApplication.processEvents()
            assert view.minimap.isVisible()   # the graph is wider than the view
    finally:
        dispose(win)


def test_minimap_is_off_on_a_small_canvas(tmp_path, qapp):
    win = open_window(tmp_path, "residual_cnn", (1360, 850))
    try:
        win.view.centerOn(win.scene.nodes_rect().topLeft())
        QApplication.processEvents()
        assert win.view.minimap.isVisible()
        win.resize(760, 520)
        QApplication.processEvents()
        vp = win.view.viewport().rect()
        assert vp.width() < win.view.MINIMAP_MIN_VIEW[0] or \
            vp.height() < win.view.MINIMAP_MIN_VIEW[1]
        assert not win.view.minimap.isVisible()
    finally:
        dispose(win)


def test_wires_between_rows_stay_inside_the_frame_of_the_graph(tmp_path, qapp):
    win = open_window(tmp_path, "digits_cnn", (1360, 850))
    try:
        nodes = win.scene.nodes_rect()
        visible = win.view.mapToScene(win.view.viewport().rect()).boundingRect()
        backward = 0
        for edge, item in win.scene.edges.items():
            bounds = item.path().boundingRect()
            assert bounds.left() >= nodes.left() - STUB - 1 and \
                bounds.right() <= nodes.right() + STUB + 1, edge
            assert visible.left() <= bounds.left() and bounds.right() <= visible.right() and \
                visible.top() <= bounds.top() and bounds.bottom() <= visible.bottom(), edge
            backward += item.src_port.scenePos().x() > item.dst_port.scenePos().x()
        assert backward == 2          # the network is laid out in three rows
    finally:
        dispose(win)


@pytest.mark.parametrize("dy", [0.0, 30.0, 150.0, -150.0])
def test_backward_wire_path_turns_back_within_its_stub(dy):
    a, b = QPointF(800, 100), QPointF(100, 100 + dy)
    path = wire_path(a, b)
    bounds = path.boundingRect()
    assert bounds.left() >= b.x() - STUB - 0.5 and bounds.right() <= a.x() + STUB + 0.5
    assert path.pointAtPercent(0) == a and path.pointAtPercent(1) == b
    forward = wire_path(QPointF(0, 0), QPointF(300, 80))
    assert forward.boundingRect().left() >= 0 and forward.boundingRect().right() <= 300


def test_readme_break_it_step_really_breaks(tmp_path, qapp):
    """README: set conv1's kernel size to 11: red badge, red wires after it, a tooltip with
    what was expected and what was received; Ctrl+Z undoes it."""
    win = open_window(tmp_path, "digits_cnn", (1360, 850))
    try:
        doc = win.document
        from studio.ui.inspector import InspectorWidget
        inspector = win.panels["inspector"]
        assert isinstance(inspector, InspectorWidget)
        conv1 = doc.graph.by_name("conv1")
        win.scene.select_ids([conv1.id])
        assert inspector.commit_param("kernel_size", 11)
        badge = win.scene.nodes[conv1.id].badge
        assert badge.isVisible() and badge.severity == "error"
        assert "expected a (padded) input of at least 11×11" in badge.toolTip()
        assert "received N×1×8×8" in badge.toolTip()
        after = [item for edge, item in win.scene.edges.items() if edge.src == conv1.id]
        assert after and all(item.bad for item in after)
        assert QColor(after[0].pen().color()) == QColor(canvas_colors().wire_bad)
        doc.undo_stack.undo()
        assert not badge.isVisible() and not any(i.bad for i in win.scene.edges.values())
    finally:
        dispose(win)
