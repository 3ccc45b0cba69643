"""Helpers shared by the GUI tests."""
import shiboken6

from studio.ui.main_window import MainWindow


def dispose(win: MainWindow) -> None:
    """Free a test window now (no close prompt; many live windows slow Qt down)."""
    if shiboken6.isValid(win):
        win.hide()
        win.document.close()
        shiboken6.delete(win)
