"""The legend of the gradient-norm tint: a colour bar with the smallest and largest norm (log
scale) in a strip the canvas makes above its viewport while wires are tinted, so it never
covers a node."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QFrame

from ..theme import canvas_colors


def fmt_norm(value: float) -> str:
    return f"{value:.1e}".replace("e-0", "e-").replace("e+0", "e")


class HeatLegend(QFrame):
    """`show_range(lo, hi)` shows it above the canvas; `hide()` gives the room back."""

    HEIGHT = 22

    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self.lo = self.hi = 0.0
        self.setObjectName("heat_legend")
        self.setFixedSize(330, self.HEIGHT)
        self.setToolTip("Wire colour: the gradient norm of the layer feeding the wire, on a "
                        "log scale from the smallest (blue) to the largest (yellow) in the "
                        "model. Hover a wire for its number.")
        self.hide()

    def show_range(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi
        if self.isHidden():
            self.view.setViewportMargins(0, self.HEIGHT, 0, 0)
        vp = self.view.viewport().geometry()
        self.move(vp.left() + 4, vp.top() - self.HEIGHT)
        self.show()
        self.update()

    def hide(self) -> None:
        if not self.isHidden():
            self.view.setViewportMargins(0, 0, 0, 0)
        super().hide()

    def paintEvent(self, event) -> None:
        from .live_overlay import heat_color

        c = canvas_colors()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont()
        font.setPixelSize(11)
        p.setFont(font)
        p.setPen(QColor(c.label_text))
        h = self.height()
        title, lo, hi = "gradient norm (log):", fmt_norm(self.lo), fmt_norm(self.hi)
        x = 2.0
        for text, width in ((title, 118), (lo, 48)):
            p.drawText(QRectF(x, 0, width, h), Qt.AlignmentFlag.AlignVCenter
                       | Qt.AlignmentFlag.AlignRight, text)
            x += width + 6
        bar = QRectF(x, h / 2 - 5, 100, 10)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for i in range(5):
            gradient.setColorAt(i / 4, heat_color(i / 4))
        p.setPen(QPen(QColor(c.node_border), 1))
        p.setBrush(gradient)
        p.drawRoundedRect(bar, 3, 3)
        p.setPen(QColor(c.label_text))
        p.drawText(QRectF(bar.right() + 6, 0, 60, h), Qt.AlignmentFlag.AlignVCenter
                   | Qt.AlignmentFlag.AlignLeft, hi)
        p.end()
