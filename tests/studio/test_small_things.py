"""The small things a first-time user notices, each driven through the real widgets of a main
window: refused values explained next to the field, cards that show what the layer does, no
trainable box where nothing can learn, a log of what happened, plots in the dark theme, an
empty canvas that says how to start, quick add that wires, a drop on a wire that makes room,
and edits refused while a run is active without an uncaught error."""
import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.examples import example_path
from studio.commands import AddNodeCommand, ConnectCommand
from studio.document import Document
from studio.ui.canvas.node_item import key_params
from studio.ui.main_window import MainWindow
from studio.ui.theme import plot_colors

from .helpers import dispose
from .training_fakes import fake_factory


@pytest.fixture
def make_win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("studio.document.recovery_dir", lambda: tmp_path / "recovery")
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    made = []

    def make(example="digits_cnn"):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        w = MainWindow(Document(autosave_ms=0), settings)
        if example:
            w.document.open(example_path(example))
        w.resize(1360, 850)
        w.show()
        qtbot.waitExposed(w)
        made.append(w)
        return w

    yield make
    for w in made:
        w.panels["training"].shutdown()
        dispose(w)


def select(win, name):
    nid = win.document.graph.by_name(name).id
    win.scene.select_ids([nid])
    return nid


def type_into(qtbot, spin, text):
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Return)


def test_refused_dropout_value_shows_range_and_reason_next_to_the_field(make_win, qtbot):
    win = make_win()
    inspector = win.panels["inspector"]
    drop = win.document.graph.nodes[select(win, "dropout")]
    spin = inspector.editors["p"].spin
    type_into(qtbot, spin, "1.5")
    message = inspector.error_text("p")
    assert message == "p must be between 0 and 1. Received: p=1.5"
    assert drop.params["p"] == 0.2 and spin.value() == pytest.approx(0.2)
    assert not inspector.errors["p"].isHidden()
    assert "between 0 and 1" in inspector.editors["p"].toolTip()
    # the next accepted value (or an undo) makes the refusal stale
    type_into(qtbot, spin, "0.3")
    assert drop.params["p"] == pytest.approx(0.3) and inspector.error_text("p") == ""
    type_into(qtbot, spin, "-1")
    assert "between 0 and 1" in inspector.error_text("p")
    win.document.undo_stack.undo()
    assert inspector.error_text("p") == "" and drop.params["p"] == 0.2


def test_cards_show_what_the_layer_does_and_learnable_layers_only_have_a_trainable_box(
        make_win):
    win = make_win()
    doc, inspector = win.document, win.panels["inspector"]
    pool = doc.graph.by_name("pool1")
    assert key_params(pool) == ["kernel_size 2", "stride 2"]     # stored stride 0 = kernel
    assert pool.params["stride"] == 0
    for name, shown in (("conv1", True), ("relu1", False), ("pool1", False),
                        ("flatten", False), ("fc1", True), ("dropout", False)):
        select(win, name)
        assert inspector.node_form.isRowVisible(inspector.trainable) is shown, name
    # a layer whose parameter count is unknown (its input is broken) decides by its type
    doc.graph.set_param(doc.graph.by_name("conv1").id, "kernel_size", 11)
    for name, shown in (("relu2", False), ("fc1", True)):
        select(win, name)
        assert inspector.node_form.isRowVisible(inspector.trainable) is shown, name


def test_log_records_what_happened_not_every_hint(make_win, qtbot, tmp_path):
    win = make_win(None)
    doc, g = win.document, win.document.graph
    a = doc.push(AddNodeCommand(g, "io.Input", {"shape": [4]}, (0, 0))).node_id
    b = doc.push(AddNodeCommand(g, "core.Linear", {}, (300, 0))).node_id
    win.view.status_message.emit("Connected")          # a passing hint
    assert win.statusBar().currentMessage() == "Connected"
    assert "Connected" not in win.log.toPlainText()
    assert not doc.try_push(ConnectCommand(g, b, "out", a, "in"))   # refused: logged
    assert "Refused:" in win.log.toPlainText()
    path = tmp_path / "p.nnproj"
    assert win._save_to(path, wait=True)
    assert f"Saved {path}" in win.log.toPlainText()
    win.open_file(example_path("digits_mlp"), ask_unsaved=False)
    panel = win.panels["training"]
    panel.trainer_factory = fake_factory(epochs=1, steps=3)
    assert panel.start()
    qtbot.waitUntil(lambda: panel.worker is None, timeout=60_000)
    log = win.log.toPlainText()
    assert "Training started: digits_mlp" in log and "Training ended: Training finished" in log
    lines = log.splitlines()
    assert all(line[2] == ":" and line[5] == ":" for line in lines)   # time-stamped


def test_plots_follow_the_dark_theme(make_win):
    import pyqtgraph as pg

    win = make_win()
    try:
        win.set_theme("dark")
        background, foreground = plot_colors()
        tabs = win.panels["training"].views
        win.show_tab("training")
        for i in range(tabs.count()):     # the insight views' plots are made when shown
            tabs.setCurrentIndex(i)
        views = win.findChildren(pg.GraphicsView)
        assert len(views) >= 8
        for view in views:
            assert view.backgroundBrush().color() == QColor(background)
        axes = [i for v in views for i in v.scene().items() if isinstance(i, pg.AxisItem)]
        assert axes and all(a.pen().color() == QColor(foreground) for a in axes)
        assert QColor(background).lightness() < 80
    finally:
        win.set_theme("light")
    assert win.findChildren(pg.GraphicsView)[0].backgroundBrush().color() == QColor("#ffffff")


def test_confusion_matrix_fills_its_view_and_its_counts_fit_their_cells(qtbot):
    from studio.ui.insight.confusion import ConfusionView

    view = ConfusionView()
    qtbot.addWidget(view)
    view.resize(900, 260)          # the bottom dock: wide and short
    view.show()
    qtbot.waitExposed(view)
    cm = np.random.default_rng(0).integers(0, 300, size=(10, 10))
    view.set_matrix(cm, [str(i) for i in range(10)])
    QApplication.processEvents()
    box = view.plot.getViewBox().sceneBoundingRect()
    assert box.width() > 0.8 * view.width()            # not a small square in the middle
    w, h = view.cell_size()
    assert view.text_px >= 7
    from PySide6.QtGui import QFontMetricsF

    for t in view.texts:
        metrics = QFontMetricsF(t.textItem.font())
        assert metrics.height() <= h and \
            metrics.horizontalAdvance(t.toPlainText()) <= w, t.toPlainText()
    view.resize(240, 120)          # too small for legible counts: they are hidden
    QApplication.processEvents()
    assert view.text_px == 0 and not any(t.isVisible() for t in view.texts)


def _ink(win) -> int:
    image = win.view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    a = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(),
                                                            image.bytesPerLine() // 4, 4)
    h, w = image.height(), image.width()
    middle = a[h // 2 - 40:h // 2 + 40, w // 4:3 * w // 4, :3].astype(int)
    return int((np.abs(np.diff(middle, axis=1)).sum(axis=2) > 120).sum())


def test_empty_canvas_says_how_to_start(make_win, qtbot):
    win = make_win(None)
    win.act["new"].trigger()
    assert not win.document.graph.nodes
    QApplication.processEvents()
    assert _ink(win) > 200                       # the hint's text is drawn
    assert "Tab" in win.view.EMPTY_HINT and "Example" in win.view.EMPTY_HINT
    win.document.push(AddNodeCommand(win.document.graph, "io.Input", {}, (4000, 4000)))
    QApplication.processEvents()
    assert _ink(win) < 20                        # gone with the first node


def test_quick_add_wires_the_new_layer_after_the_selected_one(make_win, qtbot):
    win = make_win(None)
    doc = win.document
    qtbot.waitUntil(lambda: doc.fit.profile is not None, timeout=90_000)
    win.view.setFocus()
    ids = []
    for query in ("input", "linear", "relu", "linear", "output"):
        win.quick_add_at_cursor()
        popup = win._quick_add
        qtbot.keyClicks(popup.search, query)
        qtbot.keyClick(popup.search, Qt.Key.Key_Return)
        ids.append(win.scene.selected_ids()[0])
    g = doc.graph
    assert [g.nodes[i].type for i in ids] == ["io.Input", "core.Linear", "act.ReLU",
                                              "core.Linear", "io.Output"]
    assert [(e.src, e.dst) for e in g.edges] == list(zip(ids, ids[1:]))
    xs = [g.nodes[i].pos[0] for i in ids]
    assert xs == sorted(xs) and len(set(xs)) == 5     # left to right, no overlaps
    assert g.nodes[ids[0]].params["shape"] == [4]      # the Input fits iris
    count = doc.undo_stack.count()
    doc.undo_stack.undo()                               # one step: node and its wire
    assert ids[-1] not in g.nodes and len(g.edges) == 3 and doc.undo_stack.index() == count - 1


def test_a_layer_dropped_on_a_wire_makes_room(make_win):
    win = make_win("digits_mlp")
    doc, g = win.document, win.document.graph
    fc1, relu1 = g.by_name("fc1"), g.by_name("relu1")
    before = {nid: n.pos for nid, n in g.nodes.items()}
    edge = next(e for e in win.scene.edges if e.src == fc1.id and e.dst == relu1.id)
    mid = win.scene.edges[edge].path().pointAtPercent(0.5)
    new = win.view.add_layer("core.Dropout", mid)
    rects = {nid: item.sceneBoundingRect() for nid, item in win.scene.nodes.items()}
    for nid, rect in rects.items():
        if nid != new:
            assert not rect.intersects(rects[new]), g.nodes[nid].name
    assert rects[relu1.id].left() - rects[new].right() >= 60
    assert g.nodes[relu1.id].pos[0] > before[relu1.id][0]          # made room downstream
    assert g.nodes[fc1.id].pos == before[fc1.id]                    # upstream stays
    assert [(e.src, e.dst) for e in g.in_edges(new) + g.out_edges(new)] == \
        [(fc1.id, new), (new, relu1.id)]
    doc.undo_stack.undo()                                          # one step
    assert {nid: n.pos for nid, n in g.nodes.items()} == before


def test_edits_during_a_run_are_refused_with_the_reason_not_an_exception(make_win, qtbot):
    win = make_win("digits_mlp")
    doc, inspector = win.document, win.panels["inspector"]
    settings = win.panels["training"].settings
    fc1 = win.document.graph.nodes[select(win, "fc1")]
    doc.locked = True                             # what a running training does
    try:
        qtbot.mouseClick(inspector.trainable, Qt.MouseButton.LeftButton)
        assert fc1.trainable and inspector.trainable.isChecked()
        assert "training run is active" in inspector.trainable_error.text()
        assert inspector.node_form.isRowVisible(inspector.trainable_error)
        # training settings go through Document.push like every other edit
        assert not settings.commit("training", ("epochs",), 7)
        assert "training run is active" in settings.message.text()
        assert doc.project.training["epochs"] != 7 and doc.undo_stack.count() == 0
    finally:
        doc.locked = False
    assert settings.commit("training", ("epochs",), 7)
    assert settings.message.text() == "" and doc.undo_stack.count() == 1
    qtbot.mouseClick(inspector.trainable, Qt.MouseButton.LeftButton)
    assert not fc1.trainable and not inspector.node_form.isRowVisible(
        inspector.trainable_error)


def test_settings_refusal_marks_the_field_and_clears_when_stale(make_win):
    win = make_win("digits_mlp")
    settings = win.panels["training"].settings
    lr = settings.lr
    lr.setText("-1")
    lr.editingFinished.emit()
    assert "lr" in settings.message.text() and "border" in lr.styleSheet()
    lr.setText("abc")
    lr.editingFinished.emit()
    assert "not a number" in settings.message.text()
    settings.epochs.setValue(5)                   # an accepted edit: the refusal is stale
    assert settings.message.text() == "" and lr.styleSheet() == ""
    picker = win.panels["training"].dataset
    picker.bindings[0].widget.setValue(0.9)
    assert "Refused" in picker.info.text()
    win.document.undo_stack.undo()
    assert "Refused" not in picker.info.text()


def test_set_input_shape_button_says_why_it_is_greyed_out(make_win, qtbot):
    win = make_win(None)
    win.act["new"].trigger()
    picker = win.panels["training"].dataset
    assert not picker.shape_button.isEnabled()
    assert picker.shape_button.toolTip() == "Add an Input node first."
    doc = win.document
    doc.push(AddNodeCommand(doc.graph, "io.Input", {"shape": [1, 8, 8]}, (0, 0)))
    qtbot.waitUntil(lambda: doc.fit.profile is not None, timeout=90_000)
    assert picker.shape_button.isEnabled() and "(4,)" in picker.shape_button.toolTip()
    qtbot.mouseClick(picker.shape_button, Qt.MouseButton.LeftButton)
    assert next(iter(doc.graph.nodes.values())).params["shape"] == [4]


def test_a_refused_train_message_goes_when_its_cause_is_gone(make_win):
    from studio.commands import SetParamCommand
    from studio.ui.training.commands import SetProjectSettingCommand

    win = make_win("digits_cnn")
    doc, panel = win.document, win.panels["training"]
    conv = next(nid for nid, n in doc.graph.nodes.items() if n.name == "conv1")
    doc.push(SetParamCommand(doc.graph, conv, "kernel_size", 11))
    assert not panel.start()
    assert panel.error.isVisibleTo(panel) and "problem" in panel.status.text()
    doc.push(SetParamCommand(doc.graph, conv, "kernel_size", 5))   # fits the 8×8 input
    assert doc.report().ok
    assert not panel.error.isVisibleTo(panel) and panel.status.text() == "Ready."
    # the settings: refused while epochs is 0, gone on undo
    doc.push(SetProjectSettingCommand(doc, "training", ("epochs",), 0))
    assert not panel.start() and panel.error.isVisibleTo(panel)
    doc.undo_stack.undo()
    assert not panel.error.isVisibleTo(panel)
    # a run's error is not a refusal: it stays until the next Train or project
    panel.show_error("the loss became NaN at step 3", conv)
    doc.push(SetParamCommand(doc.graph, conv, "kernel_size", 3))
    assert panel.error.isVisibleTo(panel)
