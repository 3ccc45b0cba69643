"""The inspector: param editors push undoable edits, refusals are shown, Explain follows."""
import pytest
from PySide6.QtCore import Qt

from engine.examples import example_path
from engine.project import load_project
from studio.document import Document
from studio.ui.inspector import InspectorWidget


@pytest.fixture
def doc(qtbot):
    d = Document(load_project(example_path("digits_cnn")), autosave_ms=0)
    yield d
    d.autosave_timer.stop()
    d.undo_stack.clear()


@pytest.fixture
def insp(qtbot, doc):
    w = InspectorWidget(doc)
    qtbot.addWidget(w)
    w.resize(320, 800)
    w.show()
    return w


def _type_into_spin(qtbot, spin, text):
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Return)


def test_kernel_size_edit_is_applied_explained_and_undoable(qtbot, doc, insp):
    conv1 = doc.graph.by_name("conv1")
    insp.set_node(conv1.id)
    assert insp.title.text() == "Conv2d"
    assert "H_out = floor((8 + 2·1 - 1·(3 - 1) - 1)/1) + 1 = 8" in insp.explain.text()
    assert insp.out_label.text() == "N×16×8×8"
    spin = insp.editors["kernel_size"].single
    _type_into_spin(qtbot, spin, "5")
    assert conv1.params["kernel_size"] == 5
    assert "H_out = floor((8 + 2·1 - 1·(5 - 1) - 1)/1) + 1 = 6" in insp.explain.text()
    assert insp.out_label.text() == "N×16×6×6"
    assert insp.count_label.text() == f"{16 * 25 + 16:,}"
    assert doc.report().param_counts[conv1.id] == 16 * 25 + 16
    doc.undo_stack.undo()
    assert conv1.params["kernel_size"] == 3
    assert spin.value() == 3
    assert "= 8" in insp.explain.text() and "= 6" not in insp.explain.text()
    assert insp.out_label.text() == "N×16×8×8"


def test_refused_value_is_not_applied_and_reason_shown(qtbot, doc, insp):
    conv1 = doc.graph.by_name("conv1")
    insp.set_node(conv1.id)
    pad = insp.editors["padding"]
    pad.mode.setCurrentIndex(pad.mode.findData("same"))
    pad.mode.activated.emit(pad.mode.currentIndex())
    assert conv1.params["padding"] == "same"
    depth = doc.undo_stack.count()
    _type_into_spin(qtbot, insp.editors["stride"].single, "2")
    assert conv1.params["stride"] == 1  # not applied
    assert doc.undo_stack.count() == depth
    assert "needs stride 1" in insp.error_text("stride")
    assert insp.editors["stride"].single.value() == 1  # the editor shows the document again
    _type_into_spin(qtbot, insp.editors["out_channels"].single
                    if hasattr(insp.editors["out_channels"], "single")
                    else insp.editors["out_channels"].spin, "8")
    assert conv1.params["out_channels"] == 8


def test_shape_editor_validates_and_applies(qtbot, doc, insp):
    image = doc.graph.by_name("image")
    insp.set_node(image.id)
    line = insp.editors["shape"].line
    line.setFocus()
    line.selectAll()
    qtbot.keyClicks(line, "1, 0, 8")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert image.params["shape"] == [1, 8, 8]
    assert "positive integers" in insp.error_text("shape")
    assert line.text() == "1, 0, 8"  # kept so the user can fix it
    line.selectAll()
    qtbot.keyClicks(line, "1, 12, 12")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert image.params["shape"] == [1, 12, 12]
    assert insp.error_text("shape") == ""
    assert insp.out_label.text() == "N×1×12×12"
    # downstream shapes re-validated at once
    assert str(doc.report().out_types[doc.graph.by_name("conv1").id][0]) == "N×16×12×12"


def test_per_axis_kernel_and_shape_problem_shown(qtbot, doc, insp):
    conv2 = doc.graph.by_name("conv2")
    insp.set_node(conv2.id)
    k = insp.editors["kernel_size"]
    k.mode.setCurrentIndex(k.mode.findData(k.PER_AXIS))
    k.mode.activated.emit(k.mode.currentIndex())
    assert conv2.params["kernel_size"] == [3, 3]
    assert k.per_axis.text() == "3, 3"
    k.per_axis.setFocus()
    k.per_axis.selectAll()
    qtbot.keyClicks(k.per_axis, "3, 9")  # W axis: 4 + 2 - 8 - 1 < 0 -> shape error
    qtbot.keyClick(k.per_axis, Qt.Key.Key_Return)
    assert conv2.params["kernel_size"] == [3, 9]
    assert not insp.issues_label.isHidden()
    assert "does not fit: expected a (padded) input" in insp.issues_label.text()
    assert insp.out_label.text() == "?"
    assert insp.in_label.text() == "N×16×4×4"  # still known: it comes from upstream
    assert "do not fit the input N×16×4×4" in insp.explain.text()
    doc.undo_stack.undo()  # consecutive edits of one param merge into one undo step
    assert conv2.params["kernel_size"] == 3
    assert insp.issues_label.isHidden()
    assert k.current_mode() == k.ALL and k.single.value() == 3


def test_rename_trainable_and_selection(qtbot, doc, insp):
    fc1 = doc.graph.by_name("fc1")
    doc.set_selection([fc1.id])
    assert insp.node_id == fc1.id
    insp.name_edit.setFocus()
    insp.name_edit.selectAll()
    qtbot.keyClicks(insp.name_edit, "fc2")  # taken
    qtbot.keyClick(insp.name_edit, Qt.Key.Key_Return)
    assert fc1.name == "fc1"
    assert "already used" in insp.name_error.text() and not insp.name_error.isHidden()
    insp.name_edit.selectAll()
    qtbot.keyClicks(insp.name_edit, "hidden")
    qtbot.keyClick(insp.name_edit, Qt.Key.Key_Return)
    assert fc1.name == "hidden"
    insp.trainable.click()
    assert fc1.trainable is False
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert fc1.name == "fc1" and fc1.trainable is True
    assert insp.name_edit.text() == "fc1" and insp.trainable.isChecked()
    doc.set_selection([fc1.id, doc.graph.by_name("fc2").id])
    assert insp.node_id is None and "2 nodes selected" in insp.empty.text()
    doc.set_selection([])
    assert insp.node_id is None and insp.content.isHidden()
    assert "Select a node" in insp.empty.text()


def test_float_and_bool_and_choice_editors(qtbot, doc, insp):
    dropout = doc.graph.by_name("dropout")
    insp.set_node(dropout.id)
    spin = insp.editors["p"].spin
    assert spin.text() == "0.2"  # compact, not "0.200000"
    _type_into_spin(qtbot, spin, "0.35")
    assert dropout.params["p"] == pytest.approx(0.35)
    _type_into_spin(qtbot, spin, "1e-3")  # scientific notation is accepted
    assert dropout.params["p"] == pytest.approx(1e-3)
    _type_into_spin(qtbot, spin, "1.5")  # out of range: the box does not take it
    assert dropout.params["p"] == pytest.approx(1e-3)
    fc1 = doc.graph.by_name("fc1")
    insp.set_node(fc1.id)
    insp.editors["bias"].check.click()
    assert fc1.params["bias"] is False
    assert insp.count_label.text() == f"{512 * 64:,}"
    image = doc.graph.by_name("image")
    insp.set_node(image.id)
    combo = insp.editors["dtype"].combo
    assert combo.currentText() == "float"
    combo.setCurrentIndex(combo.findData("long"))
    combo.activated.emit(combo.currentIndex())
    assert image.params["dtype"] == "long"
    # integer ids into a convolution: the node downstream reports it
    assert any("Embedding" in i.message for i in doc.report().issues_for(
        doc.graph.by_name("conv1").id))
