"""Per-unit heatmaps inside the canvas nodes (pytest-qt, offscreen, the real trainer): xor_mlp's
hidden layers get one square per unit showing the model's own numbers, they follow a training
run live, hovering one enlarges it, the View menu switches them off, and other models (or a
block's inside) never get them."""
import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QGraphicsSceneHoverEvent

from engine.examples import example_path
from engine.teach.units import project_unit_maps
from studio.ui.canvas.unit_heatmaps import POPUP, grid_shape
from studio.ui.main_window import MainWindow
from tests.studio.helpers import dispose

WAIT_MS = 120_000


@pytest.fixture
def win(qtbot):
    w = MainWindow(lazy_panels=False)     # not qtbot.addWidget: closing would ask to save
    w.resize(1360, 850)
    w.show()
    w.document.open(example_path("xor_mlp"))
    yield w
    w.panels["training"].shutdown()
    w.unit_heatmaps.wait()
    dispose(w)


def _drawn(qtbot, win, ids=("n2", "n3")):
    heat = win.unit_heatmaps
    qtbot.waitUntil(lambda: set(heat.items) == set(ids) and heat._call is not None
                    and heat._call.isFinished(), timeout=WAIT_MS)
    heat.settle()
    return heat


def _pixels(item):
    return [np.array([[item.images[u].pixel(x, y) for x in range(0, 40, 5)]
                      for y in range(0, 40, 5)]) for u in range(len(item.images))]


def test_hidden_units_are_drawn_inside_their_nodes_with_the_models_numbers(qtbot, win):
    heat = _drawn(qtbot, win)
    assert "n4" not in heat.items                          # the output layer: the boundary tab
    for nid in ("n2", "n3"):
        item, node = heat.items[nid], win.scene.nodes[nid]
        assert item.parentItem() is node and len(item.images) == 8
        grid = item.mapRectToParent(item.boundingRect())
        assert node.body_rect().contains(grid)             # inside the card, not under it
        assert grid.top() > 60                             # below the name and params
        assert grid.width() == pytest.approx(4 * grid_shape(8)[1] + 3 * 2, abs=0.5)
    # the same numbers as the document's model (a seeded fresh initialisation before training)
    doc = win.document
    want = project_unit_maps(doc.graph, None, heat.plane, seed=0)
    np.testing.assert_allclose(heat.items["n3"].maps, want.maps["n3"], rtol=1e-5, atol=1e-6)
    assert heat.items["n3"].scale == 1.0                   # tanh: a fixed -1..1 scale
    assert heat.items["n2"].scale == pytest.approx(want.scale("n2"))
    assert win.scene.nodes["n4"].extra_height == 0


def test_heatmaps_follow_training_live_and_show_the_trained_model_after(qtbot, win):
    heat = _drawn(qtbot, win)
    before = _pixels(heat.items["n3"])
    panel = win.panels["training"]
    # a run long enough for several heatmap frames however fast the machine trains (they
    # come at most twice a second), stopped once they were seen
    panel.overrides = {"epochs": 100_000, "run_dir": False}  # no run folder beside the example
    seen = []
    heat.frame.connect(lambda m: seen.append(m.step))
    assert panel.start()
    qtbot.waitUntil(lambda: heat.frames_shown >= 3, timeout=WAIT_MS)
    live = _pixels(heat.items["n3"])
    assert any(not np.array_equal(a, b) for a, b in zip(before, live))   # they move
    panel.stop()
    qtbot.waitUntil(lambda: panel.worker is None, timeout=WAIT_MS)
    assert win.document.graph.weights                   # the stopped run's weights adopted
    steps = [s for s in seen if s is not None]
    assert steps == sorted(steps) and steps[0] >= 1
    # after the run: the adopted trained weights are what the squares show
    qtbot.waitUntil(lambda: heat._call is not None and heat._call.isFinished()
                    and heat._token > 0, timeout=WAIT_MS)
    heat.settle()
    want = project_unit_maps(win.document.graph, win.document.graph.weights, heat.plane)
    qtbot.waitUntil(lambda: np.allclose(heat.items["n3"].maps, want.maps["n3"], atol=1e-5),
                    timeout=WAIT_MS)


def test_hover_enlarges_a_unit(qtbot, win):
    heat = _drawn(qtbot, win)
    item = heat.items["n2"]
    event = QGraphicsSceneHoverEvent()
    event.setPos(item.cell_rect(5).center())
    item.hoverMoveEvent(event)
    popup = heat.popup()
    assert popup.isVisible() and popup.image.pixmap().width() == POPUP
    assert "unit 6 of 8" in popup.caption.text() and "hidden" in popup.caption.text()
    item.hoverLeaveEvent(QGraphicsSceneHoverEvent())
    assert not popup.isVisible()
    event.setPos(QPointF(-50, -50))                        # not over a square
    item.hoverMoveEvent(event)
    assert not popup.isVisible()


def test_view_menu_switches_them_off_and_other_models_never_get_them(qtbot, win):
    heat = _drawn(qtbot, win)
    node = win.scene.nodes["n2"]
    tall = node.body_rect().height()
    act = win.act["unit_heatmaps"]
    assert act.isChecked() and act in win.menuBar().actions()[2].menu().actions()
    act.setChecked(False)
    assert not heat.items and node.body_rect().height() < tall
    act.setChecked(True)
    _drawn(qtbot, win)
    assert node.body_rect().height() == tall
    win.document.open(example_path("digits_mlp"))           # 64 inputs: no plane to draw
    qtbot.waitUntil(lambda: not heat._debounce.isActive(), timeout=WAIT_MS)
    heat.settle()
    assert not heat.items and "Input of 2 numbers" in heat.message
    assert all(n.extra_height == 0 for n in win.scene.nodes.values())
    win.document.open(example_path("xor_mlp"))
    _drawn(qtbot, win)
