"""The output-size sandbox in the inspector (pytest-qt): moving a slider redraws the output
size the formula gives without touching the document; Apply is one undoable edit; pooling
layers get it without dilation; other layers do not get it."""
from PySide6.QtCore import Qt

from tests.studio.test_inspector import doc, insp  # noqa: F401 - the digits_cnn inspector


def _formula_size(n, k, s, p, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def test_sliders_preview_then_apply_is_one_undoable_edit(qtbot, doc, insp):  # noqa: F811
    conv1 = doc.graph.by_name("conv1")
    insp.set_node(conv1.id)
    box = insp.sandbox
    assert box.isVisible() and insp.sandbox_header.isVisible()
    assert box.values() == {"kernel_size": 3, "stride": 1, "padding": 1, "dilation": 1}
    assert box.grid.size_out == (8, 8) and not box.apply_button.isEnabled()
    before = (dict(conv1.params), doc.undo_stack.count(), insp.out_label.text())
    stride = box.sliders["stride"]
    stride.setFocus()
    qtbot.keyClick(stride, Qt.Key.Key_Right)                   # stride 1 -> 2
    kernel = box.sliders["kernel_size"]
    kernel.setFocus()
    qtbot.keyClick(kernel, Qt.Key.Key_Right)
    qtbot.keyClick(kernel, Qt.Key.Key_Right)                   # kernel 3 -> 5
    dil = box.sliders["dilation"]
    dil.setFocus()
    qtbot.keyClick(dil, Qt.Key.Key_Right)                      # dilation 1 -> 2
    want = _formula_size(8, 5, 2, 1, 2)                        # (8 + 2 - 8 - 1) // 2 + 1 = 1
    assert box.values() == {"kernel_size": 5, "stride": 2, "padding": 1, "dilation": 2}
    assert box.grid.size_out == (want, want) == (1, 1)
    assert f"= ⌊(8 + 2·1 − 2·(5 − 1) − 1) / 2⌋ + 1 = <b>{want}</b>" in box.formula.text()
    assert f"output <b>{want} × {want}</b>" in box.formula.text()
    # nothing committed yet: the document, its undo stack and the shown shape are untouched
    assert (dict(conv1.params), doc.undo_stack.count(), insp.out_label.text()) == before
    qtbot.keyClick(dil, Qt.Key.Key_Left)                       # dilation back to 1
    want = _formula_size(8, 5, 2, 1)
    assert box.grid.size_out == (want, want) == (3, 3)
    assert box.apply_button.isEnabled()
    qtbot.mouseClick(box.apply_button, Qt.MouseButton.LeftButton)
    assert conv1.params["kernel_size"] == 5 and conv1.params["stride"] == 2
    assert conv1.params["dilation"] == 1 and conv1.params["padding"] == 1
    assert doc.undo_stack.count() == before[1] + 1
    assert insp.out_label.text() == "N×16×3×3"
    assert not box.apply_button.isEnabled()                    # restarts from the new params
    doc.undo_stack.undo()
    assert dict(conv1.params) == before[0] and insp.out_label.text() == before[2]
    assert box.values()["kernel_size"] == 3


def test_pool_sandbox_without_dilation_refuses_too_much_padding(qtbot, doc, insp):  # noqa: F811
    pool = doc.graph.by_name("pool1")
    insp.set_node(pool.id)
    box = insp.sandbox
    assert box.isVisible() and "dilation" not in box.values()
    assert box.sliders["dilation"].isHidden()
    assert box.values() == {"kernel_size": 2, "stride": 2, "padding": 0}   # stride 0 = kernel
    assert box.grid.size_out == (4, 4)
    box.sliders["padding"].setValue(2)                         # more than half the window
    assert "at most half the window" in box.formula.text()
    assert not box.apply_button.isEnabled()
    box.sliders["padding"].setValue(1)
    box.sliders["kernel_size"].setValue(3)
    assert box.grid.size_out == ((8 + 2 - 3) // 2 + 1,) * 2
    count = doc.undo_stack.count()
    assert box.apply()
    assert pool.params["kernel_size"] == 3 and pool.params["padding"] == 1
    assert pool.params["stride"] == 2                          # was 0 (= kernel): pinned
    assert insp.out_label.text() == "N×16×4×4"                 # what the preview showed
    assert doc.undo_stack.count() == count + 1
    doc.undo_stack.undo()
    assert pool.params == {**pool.params, "kernel_size": 2, "stride": 0, "padding": 0}
    box.sliders["kernel_size"].setValue(3)
    box.sliders["stride"].setValue(3)                          # = the kernel: stays 0
    assert box.apply() and pool.params["stride"] == 0 and pool.params["kernel_size"] == 3
    relu = doc.graph.by_name("relu1")
    insp.set_node(relu.id)
    assert box.isHidden() and insp.sandbox_header.isHidden()
