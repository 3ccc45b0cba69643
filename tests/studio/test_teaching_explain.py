"""The convolution explainer (pytest-qt, offscreen, the real trainer): train digits_cnn one
epoch, click a pixel of a feature map in the Feature maps view, and the dialog's numbers are
torch.nn.functional's on the same patch: conv2d (+ the ReLU after it), max_pool2d, softmax."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PySide6.QtCore import QPointF, Qt

from studio.ui.teaching.explain_dialog import num
from studio.ui.teaching.number_grid import fmt
from tests.studio.test_training_panel import WAIT_MS, _wait_done, make_panel  # noqa: F401


@pytest.fixture
def trained(qtbot, make_panel):  # noqa: F811
    panel, doc, _events = make_panel("digits_cnn", epochs=1)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    _wait_done(qtbot, panel)
    qtbot.waitUntil(lambda: panel.views.insight is not None, timeout=WAIT_MS)
    panel.views.setCurrentWidget(panel.feature_maps)
    return panel, doc


def _node(doc, name):
    return next(n for n in doc.graph.nodes.values() if n.name == name)


def _click(qtbot, fm, node_id, position):
    """Click the mosaic pixel of output `position` through the view's viewport."""
    fm.choose(node_id)
    fm.redraw()
    assert fm.tile_count > 0
    if len(position) == 3:
        c, i, j = position
        h, w = fm.tile_hw
        tr, tc = divmod(c, fm.grid[1])
        col, row = tc * (w + 1) + j, tr * (h + 1) + i
    else:
        row, col = divmod(position[0], fm.tile_hw[1])
    scene = fm.image.mapToScene(QPointF(col + 0.5, row + 0.5))
    at = fm.view.mapFromScene(scene)
    assert fm.position_at(col + 0.5, row + 0.5) == tuple(position)
    qtbot.mouseClick(fm.view.viewport(), Qt.MouseButton.LeftButton, pos=at)


def _layer_input(doc, x, name):
    """The input of layer `name` for sample x, from PyTorch forward hooks on a fresh build."""
    from engine.insight import build_model
    model = build_model(doc.graph, doc.graph.weights)
    module = getattr(model, model.studio_code.attrs[_node(doc, name).id])
    got = {}
    module.register_forward_hook(lambda m, i, o: got.update(input=i[0].detach()))
    model.eval()
    with torch.no_grad():
        model(torch.as_tensor(x[None]))
    return got["input"].double()


def test_click_a_conv_pixel_shows_conv2d_of_its_patch(qtbot, trained):
    panel, doc = trained
    fm, explainer = panel.feature_maps, panel.views.explainer
    conv = _node(doc, "conv1")
    assert explainer.can_explain(conv.id) and "click a pixel" in fm.info.text()
    fm.sample.setValue(2)
    _click(qtbot, fm, conv.id, (5, 0, 3))           # top row: the window reaches the padding
    dialog = explainer.dialog
    assert dialog is not None and dialog.isVisible()
    x = np.asarray(panel.views.insight.x[2])
    w = doc.graph.weights[conv.id]
    weight, bias = torch.as_tensor(w["weight"]).double(), torch.as_tensor(w["bias"]).double()
    xin = torch.as_tensor(x).double()[None]
    want = F.conv2d(xin, weight, bias, padding=1)[0, 5, 0, 3].item()
    shown = dialog.explained
    assert shown.kind == "conv" and shown.index == (5, 0, 3)
    assert np.isclose(shown.step.value, want, atol=1e-6)
    # the patch under the kernel is the padded input's 3×3 window, the kernel the weights
    padded = F.pad(xin, (1, 1, 1, 1))[0, 0, 0:3, 3:6].numpy()
    np.testing.assert_allclose(dialog.grids["patch"].values, padded, atol=1e-7)
    np.testing.assert_allclose(dialog.grids["kernel"].values, weight[5, 0].numpy(), atol=1e-7)
    np.testing.assert_allclose(dialog.grids["products"].values,
                               padded * weight[5, 0].numpy(), atol=1e-7)
    assert dialog.grids["patch"].pad[0].all() and not dialog.grids["patch"].pad[1:].any()
    assert dialog.grids["input"].outline.sum() == 9
    relu = max(want, 0.0)
    assert f"<b>{fmt(want)}</b>" in dialog.result.text()
    assert "relu1" in dialog.result.text() and f"<b>{fmt(relu)}</b>" in dialog.result.text()
    assert shown.activation == ("relu1", pytest.approx(relu, abs=1e-6))
    assert "The model computed" not in dialog.result.text()


def test_click_a_deeper_conv_and_a_max_pool_pixel(qtbot, trained):
    panel, doc = trained
    fm, explainer = panel.feature_maps, panel.views.explainer
    x = np.asarray(panel.views.insight.x[0])
    pool = _node(doc, "pool1")
    _click(qtbot, fm, pool.id, (7, 1, 2))
    dialog = explainer.dialog
    pin = _layer_input(doc, x, "pool1")
    want = F.max_pool2d(pin, 2)[0, 7, 1, 2].item()
    assert dialog.explained.kind == "maxpool" and np.isclose(dialog.explained.step.value, want)
    window = pin[0, 7, 2:4, 4:6].numpy()
    np.testing.assert_allclose(dialog.grids["patch"].values, window)
    a, b = np.unravel_index(window.argmax(), window.shape)
    assert dialog.grids["patch"].mark == (a, b)
    assert dialog.explained.step.winner == (2 + a, 4 + b)
    assert not dialog.grids["kernel"].isVisible()
    conv2 = _node(doc, "conv2")                      # 16 input channels: one shown at a time
    _click(qtbot, fm, conv2.id, (30, 3, 3))
    cin = _layer_input(doc, x, "conv2")
    w = doc.graph.weights[conv2.id]
    weight = torch.as_tensor(w["weight"]).double()
    want = F.conv2d(cin, weight, torch.as_tensor(w["bias"]).double(), padding=1)[0, 30, 3, 3]
    assert np.isclose(dialog.explained.step.value, want.item(), atol=1e-6)
    assert dialog.channel_row.isVisible() and dialog.channel.count() == 17
    dialog.channel.setCurrentIndex(4)
    dialog.channel.activated.emit(4)
    np.testing.assert_allclose(dialog.grids["kernel"].values, weight[30, 4].numpy())
    np.testing.assert_allclose(dialog.grids["patch"].values,     # a 4×4 input: edge padding
                               F.pad(cin, (1, 1, 1, 1))[0, 4, 3:6, 3:6].numpy())


def test_click_a_logit_shows_the_softmax(qtbot, trained):
    panel, doc = trained
    fm, explainer = panel.feature_maps, panel.views.explainer
    x = np.asarray(panel.views.insight.x[1])
    fc2 = _node(doc, "fc2")
    assert explainer.can_explain(fc2.id)                 # feeds a classifier's Output
    fm.sample.setValue(1)
    _click(qtbot, fm, fc2.id, (3,))
    dialog = explainer.dialog
    logits = torch.as_tensor(panel.views.insight.outputs[1]).double()
    probs = F.softmax(logits, dim=0).numpy()
    step = dialog.explained.step
    np.testing.assert_allclose(step.probs, probs, atol=1e-6)
    assert dialog.table.rowCount() == 10 and dialog.table.isVisible()
    assert float(dialog.table.item(3, 3).text()) == pytest.approx(probs[3], rel=1e-3, abs=1e-4)
    assert float(dialog.table.item(3, 2).text()) == pytest.approx(
        np.exp(logits[3].item() - logits.max().item()), abs=1e-4)
    assert f"<b>{num(probs[3])}</b>" in dialog.result.text()
    assert x.shape == (1, 8, 8)
    relu = _node(doc, "relu1")                           # not explainable: no click hint
    fm.choose(relu.id)
    fm.redraw()
    assert not explainer.can_explain(relu.id) and "click a pixel" not in fm.info.text()


def test_screenshot_options_render_the_explainer_pad_and_sandbox(qapp, tmp_path):
    from argparse import Namespace

    from PySide6.QtGui import QImage

    from engine.examples import example_path
    from studio.app import screenshot

    args = Namespace(file=str(example_path("digits_cnn")), output=str(tmp_path / "e.png"),
                     size="1024x700", tab=None, enter=None, explain="conv1:5,0,3")
    assert screenshot(args) == 0                         # untrained: the fresh initialisation
    assert 0 < QImage(args.output).width() <= 1000       # the dialog, not the window
    args.explain, args.draw, args.output = None, True, str(tmp_path / "d.png")
    assert screenshot(args) == 0 and QImage(args.output).width() <= 1000
    args.draw, args.select, args.output = False, "conv2", str(tmp_path / "s.png")
    assert screenshot(args) == 0 and QImage(args.output).width() == 1024
    args.select, args.explain = None, "relu1:0,0,0"
    with pytest.raises(SystemExit, match="cannot explain 'relu1:0,0,0'"):
        screenshot(args)
