"""The layer palette: search filtering, drag payload, activation."""
from PySide6.QtCore import Qt

from engine.layers import REGISTRY
from studio.ui.palette import CATEGORY_COLORS, LAYER_MIME, PaletteWidget


def test_lists_every_layer_with_tooltip(qtbot):
    pal = PaletteWidget()
    qtbot.addWidget(pal)
    assert sorted(pal.visible_layer_ids()) == sorted(REGISTRY)
    conv = next(it for it in pal.layer_items() if it.data(0, Qt.ItemDataRole.UserRole)
                == "conv.Conv2d")
    assert REGISTRY["conv.Conv2d"].doc in conv.toolTip(0).replace("&#x27;", "'")
    assert "conv.Conv2d" in conv.toolTip(0)
    assert all(c.startswith("#") and len(c) == 7 for c in CATEGORY_COLORS.values())


def test_search_filters_by_name_id_and_doc(qtbot):
    pal = PaletteWidget()
    qtbot.addWidget(pal)
    qtbot.keyClicks(pal.search, "conv")
    shown = pal.visible_layer_ids()
    assert "conv.Conv2d" in shown and "core.Linear" not in shown
    assert all("conv" in (s.name + s.id + s.doc).lower()
               for s in (REGISTRY[i] for i in shown))
    pal.search.setText("dense")  # only in Linear's doc
    assert "core.Linear" in pal.visible_layer_ids()
    pal.search.setText("zzzz-no-such-layer")
    assert pal.visible_layer_ids() == []
    pal.search.clear()
    assert len(pal.visible_layer_ids()) == len(REGISTRY)


def test_drag_mime_carries_layer_id(qtbot):
    pal = PaletteWidget()
    qtbot.addWidget(pal)
    item = next(it for it in pal.layer_items()
                if it.data(0, Qt.ItemDataRole.UserRole) == "core.Linear")
    index = pal.tree.indexFromItem(item)
    data = pal.tree.model().mimeData([index])  # the path Qt's drag start takes
    assert data.hasFormat(LAYER_MIME)
    assert bytes(data.data(LAYER_MIME)).decode() == "core.Linear"
    assert pal.tree.model().flags(index) & Qt.ItemFlag.ItemIsDragEnabled


def test_enter_and_double_click_emit_layer_activated(qtbot):
    pal = PaletteWidget()
    qtbot.addWidget(pal)
    pal.show()
    qtbot.keyClicks(pal.search, "Conv2d")
    with qtbot.waitSignal(pal.layer_activated) as sig:
        qtbot.keyClick(pal.search, Qt.Key.Key_Return)
    assert sig.args == ["conv.Conv2d"]
    pal.search.clear()
    item = next(it for it in pal.layer_items()
                if it.data(0, Qt.ItemDataRole.UserRole) == "act.ReLU")
    pal.tree.scrollToItem(item)
    rect = pal.tree.visualItemRect(item)
    with qtbot.waitSignal(pal.layer_activated) as sig:
        # Qt's item views act on a double-click only after the press of the same index
        qtbot.mouseClick(pal.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(pal.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args == ["act.ReLU"]
