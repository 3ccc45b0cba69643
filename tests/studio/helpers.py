"""Helpers shared by the GUI tests."""
from contextlib import contextmanager

import shiboken6
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from studio.document import Document
from studio.ui.main_window import MainWindow


def dispose(win: MainWindow) -> None:
    """Free a test window now (no close prompt; many live windows slow Qt down)."""
    if shiboken6.isValid(win):
        win.hide()
        win.document.close()
        shiboken6.delete(win)


@contextmanager
def main_window(qtbot, tmp_path, monkeypatch, panels=None):
    """A shown 1360x850 main window with its own settings file and recovery folder, whose
    'save changes?' questions are answered Discard. `panels`: the lazy panels to build now
    (None: all of them). On exit a training panel is shut down and the window freed."""
    monkeypatch.setattr("studio.document.recovery_dir", lambda: tmp_path / "recovery")
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(Document(autosave_ms=0), settings, lazy_panels=panels is not None)
    if panels is not None:
        win.load_panels(tuple(panels))
    win.resize(1360, 850)
    win.show()
    qtbot.waitExposed(win)
    try:
        yield win
    finally:
        training = win.panels.get("training") if shiboken6.isValid(win) else None
        if callable(getattr(training, "shutdown", None)):
            training.shutdown()
        dispose(win)
