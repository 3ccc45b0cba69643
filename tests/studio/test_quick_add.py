"""Quick add popup: type, Enter, get the layer id."""
from PySide6.QtCore import QPoint, Qt

from engine.layers import REGISTRY
from studio.ui.quick_add import QuickAddPopup, rank


def _choose(qtbot, text):
    pop = QuickAddPopup()
    qtbot.addWidget(pop)
    pop.popup_at(QPoint(50, 50))
    assert pop.isVisible()
    qtbot.keyClicks(pop.search, text)
    with qtbot.waitSignal(pop.chosen, timeout=1000) as sig:
        qtbot.keyClick(pop.search, Qt.Key.Key_Return)
    assert not pop.isVisible()
    return sig.args[0]


def test_conv_enter_chooses_a_convolution(qtbot):
    assert _choose(qtbot, "conv2") == "conv.Conv2d"
    assert REGISTRY[_choose(qtbot, "conv")].category == "Convolution"


def test_lstm_enter_chooses_lstm(qtbot):
    lstm = [i for i in REGISTRY if i.lower().endswith(".lstm")]
    if not lstm:  # the recurrent layers are not registered in this build
        assert rank("lstm") == []
        return
    assert _choose(qtbot, "lstm") == lstm[0]


def test_ranking_prefers_name_then_id_then_category_then_fuzzy():
    assert rank("linear")[0].id == "core.Linear"
    assert rank("relu")[0].id == "act.ReLU"
    assert "conv.Conv2d" in [s.id for s in rank("cv2d")]  # letters in order
    assert {s.category for s in rank("activation")} == {"Activation"}
    assert len(rank("")) == len(REGISTRY)


def test_arrows_move_and_escape_closes(qtbot):
    pop = QuickAddPopup()
    qtbot.addWidget(pop)
    pop.popup_at(QPoint(10, 10))
    qtbot.keyClicks(pop.search, "re")
    second = pop.visible_ids()[1]
    qtbot.keyClick(pop.search, Qt.Key.Key_Down)
    with qtbot.waitSignal(pop.chosen) as sig:
        qtbot.keyClick(pop.search, Qt.Key.Key_Return)
    assert sig.args == [second]
    pop.popup_at(QPoint(10, 10))
    assert pop.search.text() == ""
    with qtbot.assertNotEmitted(pop.chosen):
        qtbot.keyClick(pop.search, Qt.Key.Key_Escape)
    assert not pop.isVisible()
