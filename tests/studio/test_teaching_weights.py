"""The Units and weights view on xor_mlp (pytest-qt, offscreen, the real trainer): it draws the
model's own Linear weights, follows a run live, and a clicked weight or bias edited in it is an
undoable edit of the model's weights that the next run trains on from."""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.insight import build_model
from engine.teach.plane_data import seeded_model
from studio.ui.teaching.network_scene import MAX_WIDTH, WeightLine, WeightRef
from tests.studio.test_training_panel import WAIT_MS, _wait_done, make_panel  # noqa: F401


def _ready(qtbot, net):
    qtbot.waitUntil(lambda: not net._debounce.isActive() and net._call is not None
                    and net._call.isFinished(), timeout=WAIT_MS)
    net.settle()
    assert net.layers


def _open(qtbot, make_panel, **training):
    panel, doc, _events = make_panel("xor_mlp", **training)
    panel.overrides = {"run_dir": False}
    panel.views.setCurrentWidget(panel.network)
    net = panel.network
    _ready(qtbot, net)
    return panel, doc, net


def _shown(net, node_id, key):
    layer = next(la for la in net.layers if la.node_id == node_id)
    return layer.weight if key == "weight" else layer.bias


def test_the_view_draws_the_models_own_linear_weights_and_follows_a_run(qtbot, make_panel):
    panel, doc, net = _open(qtbot, make_panel, epochs=30)
    model = seeded_model(doc.graph, None, 0)               # what the document holds: the seed
    w1, w2 = model.hidden.weight.detach().numpy(), model.out.weight.detach().numpy()
    scene = net.scene
    assert len(scene.lines) == 2 * 8 + 8 * 1 and len(scene.circles) == 8 + 1
    for ref, line in scene.lines.items():
        want = (w1 if ref.node_id == "n2" else w2)[ref.index]
        assert line.value == pytest.approx(float(want), abs=1e-7)
    assert scene.circles[WeightRef(0, "n2", "bias", (5,))].value == pytest.approx(
        float(model.hidden.bias[5].detach()), abs=1e-7)
    widest = max(scene.lines.values(), key=lambda item: abs(item.value))
    assert widest.pen().widthF() == pytest.approx(MAX_WIDTH)
    thin = min(scene.lines.values(), key=lambda item: abs(item.value))
    assert thin.pen().widthF() < widest.pen().widthF()
    assert "fresh initialisation" in net.status.text()
    before = {ref: line.value for ref, line in scene.lines.items()}
    assert panel.start()
    qtbot.waitUntil(lambda: net.frames_shown >= 2, timeout=WAIT_MS)
    assert any(scene.lines[r].value != v for r, v in before.items())   # live during the run
    _wait_done(qtbot, panel)
    _ready(qtbot, net)
    trained = build_model(doc.graph, doc.graph.weights)
    np.testing.assert_array_equal(_shown(net, "n2", "weight"),
                                  trained.hidden.weight.detach().numpy())
    for ref, line in scene.lines.items():
        assert line.value == float(_shown(net, ref.node_id, "weight")[ref.index])


def _click_point(net, ref):
    """A point of the line of `ref` where no other line lies, in viewport coordinates."""
    line = net.scene.lines[ref].line()
    for t in np.linspace(0.15, 0.85, 29):
        p = line.pointAt(float(t))
        hits = [i for i in net.scene.items(p) if isinstance(i, WeightLine)]
        if [h.ref for h in hits] == [ref]:
            return net.view.mapFromScene(p)
    raise AssertionError("no point of the line is free of others")


def test_click_a_weight_edit_it_undo_and_train_on_from_it(qtbot, make_panel):
    panel, doc, net = _open(qtbot, make_panel, epochs=2)
    ref = WeightRef(0, "n2", "weight", (3, 1))
    seeded = seeded_model(doc.graph, None, 0).hidden.weight.detach().numpy()
    qtbot.mouseClick(net.view.viewport(), Qt.MouseButton.LeftButton,
                     pos=_click_point(net, ref))
    assert net.scene.selected == ref and net.value.isEnabled()
    assert "weight from input 2 to hidden unit 4" in net.what.text().lower()
    assert net.value.value() == pytest.approx(float(seeded[3, 1]), abs=1e-4)
    assert doc.graph.weights == {} and not net.from_weights.isChecked()
    net.value.setValue(1.5)
    net.value.editingFinished.emit()
    # the model the document holds now has exactly that weight changed
    model = build_model(doc.graph, doc.graph.weights)
    want = seeded.copy()
    want[3, 1] = 1.5
    np.testing.assert_array_equal(model.hidden.weight.detach().numpy(), want)
    assert doc.project.training["start_from"] == "weights" and doc.undo_stack.count() == 1
    assert "hidden.weight[3, 1]" in doc.undo_stack.undoText()
    _ready(qtbot, net)
    assert net.scene.lines[ref].value == 1.5 and net.scene.selected == ref
    assert net.from_weights.isChecked()
    doc.undo_stack.undo()
    assert doc.graph.weights == {} and "start_from" not in doc.project.training
    _ready(qtbot, net)
    assert net.scene.lines[ref].value == pytest.approx(float(seeded[3, 1]))
    assert net.value.value() == pytest.approx(float(seeded[3, 1]), abs=1e-4)
    doc.undo_stack.redo()
    assert doc.graph.weights["n2"]["weight"][3, 1] == 1.5
    # a bias: click its circle
    bias = WeightRef(1, "n4", "bias", (0,))
    _ready(qtbot, net)
    centre = net.view.mapFromScene(net.scene.circles[bias].rect().center())
    qtbot.mouseClick(net.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert net.scene.selected == bias and "bias of out unit 1" in net.what.text().lower()
    net.value.setValue(-0.25)
    net.value.editingFinished.emit()
    assert doc.graph.weights["n4"]["bias"][0] == -0.25
    assert doc.graph.weights["n2"]["weight"][3, 1] == 1.5          # the first edit stays
    # Step: the run starts from the edited weights, not from a fresh seed
    qtbot.mouseClick(panel.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.worker is not None and panel.worker.paused_step == 1,
                    timeout=WAIT_MS)
    w = panel.worker.trainer.model.hidden.weight.detach().numpy()
    assert abs(w[3, 1] - 1.5) < 0.1 and abs(seeded[3, 1] - 1.5) > 0.2
    assert not net.value.isEnabled()                      # no edits while a run is active
    panel.stop()
    _wait_done(qtbot, panel)


def test_a_model_without_small_linear_layers_says_why(qtbot, make_panel):
    panel, _doc, _events = make_panel("digits_cnn")
    net = panel.network
    assert not panel.views.isTabVisible(panel.views.indexOf(net))   # no tab to scroll past
    assert net._call is None                   # hidden: nothing computed (torch may stay unloaded)
    panel.views.setCurrentWidget(net)
    qtbot.waitUntil(lambda: "Not shown" in net.status.text(), timeout=WAIT_MS)
    assert not net.scene.lines and not net.value.isEnabled()


def test_the_tab_is_there_only_for_a_model_it_can_draw(qtbot, make_panel):
    """Open xor_mlp, widen its hidden layer past 32 units, undo, open digits_cnn, then
    digits_mlp in one panel: Units and weights is shown only while the model has a Linear of
    at most 32 inputs and outputs, and the panel is never left on the hidden tab."""
    from engine.examples import example_path
    from studio.commands import SetParamCommand

    panel, doc, _events = make_panel("xor_mlp")
    views, net = panel.views, panel.network

    def shown():
        return views.isTabVisible(views.indexOf(net))

    assert shown()
    views.setCurrentWidget(net)
    doc.push(SetParamCommand(doc.graph, "n2", "out_features", 64))    # 2 -> 64 -> 1
    qtbot.waitUntil(lambda: not shown(), timeout=WAIT_MS)   # on a later turn of the loop
    assert views.currentWidget() is not net
    doc.undo_stack.undo()
    qtbot.waitUntil(shown, timeout=WAIT_MS)
    doc.open_example(example_path("digits_cnn"))      # Linears: flattened maps -> 64 -> 10
    assert not shown()
    doc.open_example(example_path("digits_mlp"))      # 64 -> 64 -> 32 -> 10: fc3 is small
    assert shown()
