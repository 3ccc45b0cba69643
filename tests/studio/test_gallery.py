"""New from example: the gallery lists every bundled example and lesson and returns the chosen
path."""
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDialog, QDialogButtonBox

from engine.examples import describe, example_paths, lesson_paths
from studio.ui.dialogs.gallery import DESC_ROLE, THUMB_ROLE, ExampleGallery, draw_thumbnail
from studio.ui.palette import CATEGORY_COLORS


def test_lists_every_example_with_description_and_thumbnail(qtbot):
    dlg = ExampleGallery()
    qtbot.addWidget(dlg)
    paths = {**example_paths(), **lesson_paths()}           # the lessons follow the examples
    assert dlg.example_names() == list(paths)
    assert "lesson_perceptron_xor" in paths
    for row, path in enumerate(paths.values()):
        item = dlg.list.item(row)
        assert item.data(DESC_ROLE) == (describe(path) or "(no description)")
        thumb = item.data(THUMB_ROLE)
        assert not thumb.isNull()
    # the schematic is drawn in the category colours (Input/Output nodes at least)
    image = draw_thumbnail(paths["digits_cnn"]).toImage()
    colors = {image.pixelColor(x, y).name() for x in range(image.width())
              for y in range(image.height())}
    assert QColor(CATEGORY_COLORS["Input/Output"]).name() in colors
    assert QColor(CATEGORY_COLORS["Convolution"]).name() in colors


def test_open_returns_accepted_and_chosen_path(qtbot):
    dlg = ExampleGallery()
    qtbot.addWidget(dlg)

    def choose():
        dlg.select("digits_mlp")
        dlg.buttons.button(QDialogButtonBox.StandardButton.Open).click()

    QTimer.singleShot(0, choose)
    assert dlg.exec() == QDialog.DialogCode.Accepted
    assert dlg.chosen_path() == example_paths()["digits_mlp"]


def test_double_click_opens_and_cancel_rejects(qtbot):
    dlg = ExampleGallery()
    qtbot.addWidget(dlg)
    dlg.show()
    last = dlg.list.item(dlg.list.count() - 1)
    dlg.list.scrollToItem(last)
    rect = dlg.list.visualItemRect(last)
    with qtbot.waitSignal(dlg.accepted):
        qtbot.mouseClick(dlg.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(dlg.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert dlg.chosen_path() == list(lesson_paths().values())[-1]   # the lessons come last
    dlg2 = ExampleGallery()
    qtbot.addWidget(dlg2)
    QTimer.singleShot(0, dlg2.reject)
    assert dlg2.exec() == QDialog.DialogCode.Rejected


def test_thumbnail_wires_turn_back_between_rows_like_the_canvas(qapp):
    """digits_cnn is laid out in three rows: the wire from the end of a row to the start of
    the next runs back horizontally between them (a long run of wire pixels on one line),
    not as a diagonal across the picture."""
    from studio.ui.theme import canvas_colors

    image = draw_thumbnail(example_paths()["digits_cnn"]).toImage()
    back = QColor(canvas_colors().background)

    def is_wire(c: QColor) -> bool:   # grey and darker than the background (antialiased)
        grey = max(c.red(), c.green(), c.blue()) - min(c.red(), c.green(), c.blue()) < 30
        return grey and c.lightness() < back.lightness() - 25

    def longest_run(y: int) -> int:
        best = run = 0
        for x in range(image.width()):
            run = run + 1 if is_wire(image.pixelColor(x, y)) else 0
            best = max(best, run)
        return best

    runs = [longest_run(y) for y in range(image.height())]
    long_lines = [y for y, n in enumerate(runs) if n > 0.6 * image.width()]
    assert long_lines, max(runs)
