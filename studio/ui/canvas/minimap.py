"""The mini-map: a small overview of the whole scene in a corner of the canvas, with the
visible area outlined; click or drag in it to move the main view there."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QFrame, QGraphicsView

from ..theme import canvas_colors


class MiniMap(QGraphicsView):
    def __init__(self, main_view: QGraphicsView):
        super().__init__(main_view.scene(), main_view)
        self.main_view = main_view
        self.setObjectName("minimap")
        self.setInteractive(False)
        self.setFrameShape(QFrame.Shape.Box)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setFixedSize(200, 120)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Mini-map: click to move the view")
        main_view.horizontalScrollBar().valueChanged.connect(self.viewport().update)
        main_view.verticalScrollBar().valueChanged.connect(self.viewport().update)
        self.scene().changed.connect(lambda _r: self.refit())

    def refit(self) -> None:
        scene = self.scene()
        rect = scene.itemsBoundingRect() if scene is not None else QRectF()
        if rect.isEmpty():
            rect = QRectF(0, 0, 400, 300)
        self.fitInView(rect.adjusted(-60, -60, 60, 60), Qt.AspectRatioMode.KeepAspectRatio)
        self.viewport().update()

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, QColor(canvas_colors().background))

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        visible = self.main_view.mapToScene(self.main_view.viewport().rect()).boundingRect()
        color = QColor(canvas_colors().selection)
        painter.setPen(QPen(color, 0))
        color.setAlpha(22)
        painter.setBrush(color)
        painter.drawRect(visible)

    def _jump(self, event) -> None:
        self.main_view.centerOn(self.mapToScene(event.position().toPoint()))
        self.viewport().update()

    def mousePressEvent(self, event) -> None:
        self._jump(event)

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._jump(event)

    def wheelEvent(self, event) -> None:
        event.ignore()
