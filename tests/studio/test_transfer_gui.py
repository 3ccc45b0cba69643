"""Transfer learning in the app, driven like a user: File > New from Pretrained (a local
weights file and an image folder; offline, one sentence naming the file and the folder, the
document untouched), then on the canvas a right-click freezes a block (drawn frozen) and
gives another its own learning rate (shown in the training panel), Model > Replace Head and
the Fine-tune preset; each is one undo step."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, QSettings
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QInputDialog, QMenu, QMessageBox

from engine.pretrained import GALLERY
from engine.project import Project, save_project
from engine.transfer import find_head
from studio.document import Document
from studio.ui.dialogs.pretrained import PretrainedDialog
from studio.ui.main_window import MainWindow

from ..engine.pretrained import reference
from .helpers import dispose


def _window(qtbot, tmp_path, monkeypatch, path=None, panels=("inspector",)):
    monkeypatch.setattr("studio.document.recovery_dir", lambda: tmp_path / "recovery")
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Document(autosave_ms=0), settings, lazy_panels=True)
    w.load_panels(panels)
    if path is not None:
        assert w.open_file(path)
    w.resize(1360, 850)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    w = _window(qtbot, tmp_path, monkeypatch)
    yield w
    dispose(w)


def _photos(folder, classes=("ant", "bee", "wasp")):
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in classes:
        (folder / c).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (24 + 8 * i, 30, 3), dtype=np.uint8)).save(
                folder / c / f"{i}.png")
    return folder


def _row(dialog, name):
    return next(r for r in range(dialog.table.rowCount())
                if dialog.table.item(r, 0).text() == GALLERY[name].title)


def test_gallery_lists_every_network_with_params_macs_and_preprocessing(win):
    dialog = PretrainedDialog(win)
    assert dialog.table.rowCount() == len(GALLERY) == 9
    row = _row(dialog, "mobilenet_v3_small")
    assert [dialog.table.item(row, c).text() for c in range(5)] == \
        ["MobileNetV3-Small", "2.5 M", "57 M", "67.7 %", "10 MB"]
    dialog.table.selectRow(_row(dialog, "efficientnet_b0"))
    text = dialog.details.text()
    assert "resize 256 (bicubic), centre crop 224" in text and "0.485" in text
    assert "The dataset settings adopt it" in text
    dialog.deleteLater()


def test_new_from_pretrained_with_a_local_file_and_an_image_folder(win, qtbot, tmp_path):
    state = reference.randomized_state(reference.make("mobilenet_v3_small"), seed=4)
    weights = tmp_path / "mobilenet_v3_small-mine.pth"
    torch.save(state, weights)
    photos = _photos(tmp_path / "photos")
    dialog = PretrainedDialog(win)
    dialog.show()
    dialog.table.selectRow(_row(dialog, "mobilenet_v3_small"))
    dialog.folder.setText(str(photos))
    dialog.folder.editingFinished.emit()
    assert dialog.classes.value() == 3
    dialog.source.setCurrentIndex(dialog.source.findData("file"))
    assert dialog.weights_row.isVisible()
    dialog.weights_file.setText(str(weights))
    before = win.document.project
    dialog.create_button.click()
    qtbot.waitUntil(lambda: win.document.project is not before, timeout=60_000)
    project = win.document.project
    assert find_head(project.graph).classes == 3
    assert project.meta["pretrained"] == {"network": "mobilenet_v3_small",
                                          "weights": weights.name}
    assert project.dataset["source"] == "image_folder"
    assert project.dataset["image_size"] == [224, 224] and project.dataset["color"] == "RGB"
    assert project.training["fine_tune"] == {"freeze_epochs": 2}
    assert win.document.modified and win.windowTitle().startswith("MobileNetV3-Small")
    from engine import compile_graph

    got = compile_graph(project.graph).state_dict()
    assert torch.equal(got["features.4.block.2.fc1.weight"],
                       state["features.4.block.2.fc1.weight"])
    assert got["classifier.3.weight"].shape == (3, 1024)


def test_offline_the_dialog_says_which_file_to_put_where(win, qtbot, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("STUDIO_WEIGHTS_DIR", str(cache))
    monkeypatch.setenv("STUDIO_WEIGHTS_MIRROR", "http://127.0.0.1:9/models")
    before = win.document.to_json()
    dialog = PretrainedDialog(win)
    dialog.show()
    dialog.table.selectRow(_row(dialog, "resnet18"))
    dialog.create_button.click()
    qtbot.waitUntil(lambda: dialog.create_button.isEnabled(), timeout=60_000)
    message = dialog.message.text()
    assert message == ("No network connection: to use the ResNet-18 weights, download "
                       "http://127.0.0.1:9/models/resnet18-f37072fd.pth and put it "
                       f"in {cache}/ (or choose a local weights file).")
    assert dialog.isVisible() and win.document.to_json() == before
    dialog.reject()


@pytest.fixture
def resnet(qtbot, tmp_path, monkeypatch):
    graph = GALLERY["resnet18"].build(image_size=32)
    state = reference.randomized_state(reference.make("resnet18"), seed=1)
    from engine.pretrained.weights import apply_state

    apply_state(graph, state)
    path = save_project(Project(graph, meta={"name": "r18"}), tmp_path / "r18.nnproj")
    w = _window(qtbot, tmp_path, monkeypatch, path, panels=("inspector", "training"))
    yield w
    dispose(w)


def _right_click(win, name, monkeypatch) -> QMenu:
    """A right-click on the node `name` of the canvas; the menu it opens (not shown)."""
    menus = []
    monkeypatch.setattr(win.view, "open_menu", lambda menu, _pos: menus.append(menu))
    item = win.scene.nodes[win.document.graph.by_name(name).id]
    win.view.centerOn(item)
    pos = win.view.mapFromScene(item.sceneBoundingRect().center())
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos,
                              win.view.viewport().mapToGlobal(pos))
    QApplication.sendEvent(win.view.viewport(), event)
    assert menus, "no menu opened"
    return menus[-1]


def _action(menu: QMenu, text: str):
    for act in menu.actions():
        if act.text().replace("&", "") == text:
            return act
        if act.menu() is not None:
            found = _action(act.menu(), text)
            if found is not None:
                return found
    return None


def _pixel(win, name):
    item = win.scene.nodes[win.document.graph.by_name(name).id]
    image = win.view.grab().toImage()
    rect = win.view.mapFromScene(item.sceneBoundingRect()).boundingRect()
    return image.pixelColor(QPoint(rect.center().x(), rect.bottom() - 6))


def test_freeze_and_learning_rate_from_the_canvas_menu(resnet, qtbot, monkeypatch):
    win, doc = resnet, resnet.document
    g = doc.graph
    layer1 = g.by_name("layer1").id
    start = doc.undo_stack.index()
    plain = _pixel(win, "layer1")
    menu = _right_click(win, "layer1", monkeypatch)
    assert win.scene.selected_ids() == [layer1]
    _action(menu, "Freeze Selected").trigger()
    assert not g.nodes[layer1].trainable and doc.undo_stack.index() == start + 1
    qtbot.waitUntil(lambda: _pixel(win, "layer1") != plain)
    tinted = _pixel(win, "layer1")
    assert tinted.blue() > tinted.red()   # drawn frozen: an icy tint
    menu = _right_click(win, "layer1", monkeypatch)
    assert _action(menu, "Freeze Selected") is None
    assert _action(menu, "Unfreeze Selected") is not None
    menu = _right_click(win, "layer4", monkeypatch)
    _action(menu, "×0.1").trigger()
    assert doc.project.training["lr_scales"] == {"layer4": 0.1}
    assert win.transfer.lr_factor_of("layer4") == 0.1
    label = win.panels["training"].settings.param_groups.text()
    assert "×0.1: layer4" in label
    assert doc.undo_stack.index() == start + 2
    # the relu has no weights: its menu offers no freezing and no rate
    menu = _right_click(win, "relu", monkeypatch)
    assert _action(menu, "Freeze Selected") is None and _action(menu, "×0.1") is None
    doc.undo_stack.undo()
    assert "lr_scales" not in doc.project.training
    assert "×0.1" not in win.panels["training"].settings.param_groups.text()
    doc.undo_stack.undo()
    assert g.nodes[layer1].trainable


def test_replace_head_and_fine_tune_preset_are_one_undo_step_each(resnet, qtbot, monkeypatch):
    win, doc = resnet, resnet.document
    g = doc.graph
    fc = g.by_name("fc").id
    old_fc = {k: v.copy() for k, v in g.weights[fc].items()}
    asked = []
    monkeypatch.setattr(QInputDialog, "getInt",
                        lambda *a, **k: (asked.append(a[2]) or (5, True)))
    win.transfer.replace_head_action.trigger()
    assert find_head(g).classes == 5 and fc not in g.weights
    assert "1000" in asked[0]
    win.transfer.fine_tune_action.trigger()
    training = doc.project.training
    assert training["fine_tune"] == {"freeze_epochs": 5}
    assert set(training["lr_scales"]) == {"conv1", "bn1", "layer1", "layer2", "layer3",
                                          "layer4"}
    assert "Fine-tune: the classifier learns alone for 5 epochs" in \
        win.panels["training"].settings.param_groups.text()
    doc.undo_stack.undo()
    assert "fine_tune" not in doc.project.training
    doc.undo_stack.undo()
    assert find_head(g).classes == 1000
    assert all(np.array_equal(g.weights[fc][k], v) for k, v in old_fc.items())
    assert win.document.report().ok
