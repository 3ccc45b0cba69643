"""The drawing of the Units and weights view: each unit a circle (filled by its bias), each weight a
line between two units (thickness |w|, colour its sign), in columns from the inputs to the last
layer. Clicking a line or a circle picks that weight or bias (`picked(WeightRef)`)."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsLineItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
)

from ..canvas.unit_heatmaps import signed_color
from ..theme import canvas_colors

RADIUS = 11.0
ROW = 28.0            # vertical distance between two units of a column
COLUMN = 190.0        # horizontal distance between two columns
MAX_WIDTH = 6.0       # the line of the largest |weight|


@dataclass(frozen=True)
class WeightRef:
    """One number of a layer: `key` 'weight' at (out, in) or 'bias' at (out,)."""

    layer: int          # index into the shown layers
    node_id: str
    key: str
    index: tuple[int, ...]


class WeightLine(QGraphicsLineItem):
    """A weight; its clickable shape is wider than a thin line."""

    def __init__(self, ref: WeightRef, line: QLineF):
        super().__init__(line)
        self.ref = ref
        self.value = 0.0
        self.setAcceptHoverEvents(True)

    def shape(self) -> QPainterPath:
        path = QPainterPath(self.line().p1())
        path.lineTo(self.line().p2())
        stroker = QPainterPathStroker()
        stroker.setWidth(max(7.0, self.pen().widthF()))
        return stroker.createStroke(path)


class UnitCircle(QGraphicsEllipseItem):
    def __init__(self, ref: WeightRef | None, centre: QPointF):
        super().__init__(QRectF(centre.x() - RADIUS, centre.y() - RADIUS, 2 * RADIUS,
                                2 * RADIUS))
        self.ref = ref
        self.value = 0.0
        self.setZValue(2)


def _font(px: int, bold: bool = False) -> QFont:
    f = QFont()
    f.setPixelSize(px)
    f.setBold(bold)
    return f


class NetworkScene(QGraphicsScene):
    picked = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.lines: dict[WeightRef, WeightLine] = {}
        self.circles: dict[WeightRef, UnitCircle] = {}
        self.structure: tuple = ()
        self.selected: WeightRef | None = None
        self.halo = None

    # building -----------------------------------------------------------------------------
    def show_layers(self, layers, input_names: list[str]) -> None:
        """Draw `layers` (engine.teach.dense.DenseLayer, in data order); the same structure
        again only restyles the lines and circles (live frames)."""
        structure = tuple((layer.node_id, layer.weight.shape, layer.bias is not None)
                          for layer in layers)
        if structure != self.structure:
            self._build(layers, input_names)
            self.structure = structure
        self.restyle(layers)

    def _build(self, layers, input_names: list[str]) -> None:
        self.clear()
        self.lines, self.circles, self.halo = {}, {}, None
        c = canvas_colors()
        sizes = [layers[0].weight.shape[1]] + [layer.units for layer in layers]
        tallest = max(sizes)
        centres = [[QPointF(k * COLUMN, (i - (n - 1) / 2) * ROW) for i in range(n)]
                   for k, n in enumerate(sizes)]
        titles = ["inputs"] + [layer.name + (f" · {layer.activation}" if layer.activation
                                             else "") for layer in layers]
        top = -(tallest - 1) / 2 * ROW - RADIUS - 26
        for k, title in enumerate(titles):
            text = QGraphicsSimpleTextItem(title)
            text.setFont(_font(14, True))
            text.setBrush(QColor(c.node_text))
            text.setPos(k * COLUMN - text.boundingRect().width() / 2, top)
            self.addItem(text)
        for k, layer in enumerate(layers):
            for j, end in enumerate(centres[k + 1]):
                for i, start in enumerate(centres[k]):
                    ref = WeightRef(k, layer.node_id, "weight", (j, i))
                    line = WeightLine(ref, QLineF(start + QPointF(RADIUS, 0),
                                                  end - QPointF(RADIUS, 0)))
                    self.lines[ref] = line
                    self.addItem(line)
        for k, column in enumerate(centres):
            for i, centre in enumerate(column):
                layer = layers[k - 1] if k else None
                ref = WeightRef(k - 1, layer.node_id, "bias", (i,)) \
                    if layer is not None and layer.bias is not None else None
                circle = UnitCircle(ref, centre)
                circle.setPen(QPen(QColor(c.node_border), 1.2))
                circle.setBrush(QBrush(QColor(c.node_body)))
                self.addItem(circle)
                if ref is not None:
                    self.circles[ref] = circle
                label = input_names[i] if k == 0 and i < len(input_names) else str(i + 1)
                text = QGraphicsSimpleTextItem(label, circle)
                text.setFont(_font(11))
                text.setBrush(QColor(c.node_text))
                r = text.boundingRect()
                text.setPos(centre.x() - r.width() / 2, centre.y() - r.height() / 2)
                circle.label = text
        self.setSceneRect(self.itemsBoundingRect().adjusted(-20, -10, 20, 10))

    def restyle(self, layers) -> None:
        """Line widths and colours from the weights, circle fills from the biases."""
        w_max = max((float(abs(layer.weight).max()) for layer in layers if layer.weight.size),
                    default=0.0) or 1.0
        b_max = max((float(abs(layer.bias).max()) for layer in layers
                     if layer.bias is not None and layer.bias.size), default=0.0) or 1.0
        for ref, line in self.lines.items():
            value = float(layers[ref.layer].weight[ref.index])
            line.value = value
            color = signed_color(value, w_max)
            color.setAlphaF(0.45 + 0.55 * min(abs(value) / w_max, 1.0))
            line.setPen(QPen(color, 0.6 + (MAX_WIDTH - 0.6) * min(abs(value) / w_max, 1.0),
                             Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            line.setToolTip(self.describe(ref, layers) + f" = {value:.4g}")
        for ref, circle in self.circles.items():
            value = float(layers[ref.layer].bias[ref.index])
            circle.value = value
            circle.setBrush(QBrush(signed_color(value, b_max)))
            circle.setToolTip(self.describe(ref, layers) + f" = {value:.4g}")
        self.w_max, self.b_max = w_max, b_max
        self._place_halo()

    @staticmethod
    def describe(ref: WeightRef, layers) -> str:
        layer = layers[ref.layer]
        if ref.key == "bias":
            return f"bias of {layer.name} unit {ref.index[0] + 1}"
        j, i = ref.index
        source = f"{layers[ref.layer - 1].name} unit {i + 1}" if ref.layer else f"input {i + 1}"
        return f"weight from {source} to {layer.name} unit {j + 1}"

    # picking ------------------------------------------------------------------------------
    def select(self, ref: WeightRef | None) -> None:
        self.selected = ref if ref in self.lines or ref in self.circles else None
        self._place_halo()

    def _place_halo(self) -> None:
        if self.halo is not None:
            self.removeItem(self.halo)
            self.halo = None
        ref = self.selected
        if ref is None:
            return
        pen = QPen(QColor(canvas_colors().selection), 3, Qt.PenStyle.DashLine)
        if ref in self.lines:
            line = self.lines[ref]
            self.halo = self.addLine(line.line(), QPen(QColor(canvas_colors().selection),
                                                      line.pen().widthF() + 6))
            self.halo.setOpacity(0.45)
            self.halo.setZValue(-1)
        else:
            self.halo = self.addEllipse(self.circles[ref].rect().adjusted(-4, -4, 4, 4), pen)
            self.halo.setZValue(3)

    def item_ref(self, pos: QPointF) -> WeightRef | None:
        """The weight or bias under a scene position (circles first: they are on top)."""
        for item in self.items(pos):
            if isinstance(item, (UnitCircle, WeightLine)) and item.ref is not None:
                return item.ref
            if isinstance(item.parentItem(), UnitCircle) and item.parentItem().ref is not None:
                return item.parentItem().ref
        return None

    def mousePressEvent(self, event) -> None:
        ref = self.item_ref(event.scenePos())
        if ref is not None and event.button() == Qt.MouseButton.LeftButton:
            self.select(ref)
            self.picked.emit(ref)
            event.accept()
            return
        super().mousePressEvent(event)
