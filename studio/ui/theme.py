"""Light and dark themes: a Qt palette + style sheet for widgets and colours for the canvas."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from engine.layers import CATEGORY_COLORS

STYLE_DIR = Path(__file__).resolve().parents[2] / "resources" / "style"


@dataclass(frozen=True)
class CanvasColors:
    background: str
    grid_minor: str
    grid_major: str
    node_body: str
    node_border: str
    node_text: str
    node_subtext: str
    selection: str
    wire: str
    wire_bad: str
    label_bg: str
    label_text: str
    port_ok: str
    port_bad: str
    badge_error: str
    badge_warning: str


LIGHT = CanvasColors("#f4f5f7", "#e6e8eb", "#d6d9de", "#ffffff", "#b9bec6", "#20242a",
                     "#5c6470", "#2d7ff9", "#7b8592", "#d93b3b", "#ffffff", "#2b3440",
                     "#2fa84f", "#d93b3b", "#d93b3b", "#e0a100")
DARK = CanvasColors("#1e2126", "#262a30", "#2f343b", "#2c3138", "#454c56", "#e8eaed",
                    "#a3acb8", "#4c9bff", "#8a95a3", "#ff5c5c", "#353b44", "#dfe4ea",
                    "#45c46a", "#ff5c5c", "#ff4d4d", "#f0b400")

_current = {"name": "light"}


def category_color(category: str) -> QColor:
    return QColor(CATEGORY_COLORS.get(category, "#6f7f8f"))


def current_name() -> str:
    return _current["name"]


def canvas_colors() -> CanvasColors:
    return DARK if _current["name"] == "dark" else LIGHT


def _palette(dark: bool) -> QPalette:
    pal = QPalette()
    if not dark:
        return QApplication.style().standardPalette() if QApplication.instance() else pal
    roles = {
        QPalette.ColorRole.Window: "#24282e", QPalette.ColorRole.WindowText: "#e3e6ea",
        QPalette.ColorRole.Base: "#1c1f24", QPalette.ColorRole.AlternateBase: "#262a30",
        QPalette.ColorRole.ToolTipBase: "#2c3138", QPalette.ColorRole.ToolTipText: "#e3e6ea",
        QPalette.ColorRole.Text: "#e3e6ea", QPalette.ColorRole.Button: "#2c3138",
        QPalette.ColorRole.ButtonText: "#e3e6ea", QPalette.ColorRole.Highlight: "#3d7fd9",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.Link: "#6aa8ff",
        QPalette.ColorRole.PlaceholderText: "#7f8896",
    }
    for role, color in roles.items():
        pal.setColor(role, QColor(color))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6b7380"))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6b7380"))
    return pal


def apply_theme(app: QApplication, name: str = "light") -> None:
    """Switch the application to the 'light' or 'dark' theme."""
    name = "dark" if name == "dark" else "light"
    if _current.get("applied") is app and _current["name"] == name:
        return  # restyling every widget is not free
    _current["name"] = name
    _current["applied"] = app
    app.setStyle("Fusion")
    app.setPalette(_palette(name == "dark"))
    qss = STYLE_DIR / f"{name}.qss"
    app.setStyleSheet(qss.read_text("utf-8") if qss.exists() else "")


PLOT_COLORS = {"light": ("#ffffff", "#3a4048"), "dark": ("#1c1f24", "#c8ced6")}


def plot_colors() -> tuple[str, str]:
    """(background, foreground) of the plots in the current theme."""
    return PLOT_COLORS["dark" if current_name() == "dark" else "light"]


def style_plots(root) -> None:
    """Give every pyqtgraph view under `root` the current theme's background, axis and text
    colours (plots made later take them from pyqtgraph's config, set here too)."""
    import sys

    if "pyqtgraph" not in sys.modules:
        return  # no plot was made yet
    import pyqtgraph as pg

    background, foreground = plot_colors()
    pg.setConfigOptions(background=background, foreground=foreground)
    for view in root.findChildren(pg.GraphicsView):
        view.setBackground(background)
        scene = view.scene()
        if scene is None:
            continue
        for item in scene.items():
            if isinstance(item, pg.AxisItem):
                item.setPen(foreground)
                item.setTextPen(foreground)
            elif isinstance(item, pg.LabelItem):
                item.setText(item.text, color=foreground)
