"""The legend of the gradient-norm tint: a small colour bar in a corner of the canvas with the
smallest and largest norm (log scale), shown while wires are tinted."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QFrame

from ..theme import canvas_colors


def fmt_norm(value: float) -> str:
    return f"{value:.1e}".replace("e-0", "e-").replace("e+0", "e")


class HeatLegend(QFrame):
    """`show_range(lo, hi)` shows it (placed by the view where it covers no node)."""

    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self.lo = self.hi = 0.0
        self.setObjectName("heat_legend")
        self.setFixedSize(200, 40)
        self.setToolTip("Wire colour: the gradient norm of the layer feeding the wire, on a "
                        "log scale from the smallest (blue) to the largest (yellow) in the "
                        "model. Hover a wire for its number.")
        self.hide()

    def show_range(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi
        self.view.place_overlay(self)
        self.show()
        self.raise_()
        self.update()

    def paintEvent(self, event) -> None:
        from .live_overlay import heat_color

        c = canvas_colors()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        back = QColor(c.label_bg)
        back.setAlpha(230)
        p.setPen(QPen(QColor(c.node_border), 1))
        p.setBrush(back)
        p.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 5, 5)
        font = QFont()
        font.setPixelSize(10)
        p.setFont(font)
        p.setPen(QColor(c.label_text))
        p.drawText(QRectF(8, 2, self.width() - 16, 14), Qt.AlignmentFlag.AlignLeft,
                   "gradient norm (log)")
        bar = QRectF(8, 18, self.width() - 16, 8)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for i in range(5):
            gradient.setColorAt(i / 4, heat_color(i / 4))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(gradient)
        p.drawRect(bar)
        p.setPen(QColor(c.label_text))
        small = QRectF(8, 26, self.width() - 16, 13)
        p.drawText(small, Qt.AlignmentFlag.AlignLeft, fmt_norm(self.lo))
        p.drawText(small, Qt.AlignmentFlag.AlignRight, fmt_norm(self.hi))
        p.end()
