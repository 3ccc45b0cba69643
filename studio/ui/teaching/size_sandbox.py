"""Output-size sandbox in the inspector of Conv1d/2d and Max/AvgPool1d/2d layers: sliders for
kernel, stride, padding (and dilation for convolutions) redraw the padded input grid, where the
kernel lands, the output grid and the size formula with these numbers, live, without touching
the document; Apply commits the changed parameters as one undoable edit (Document.push)."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine.graph import GraphError
from engine.layers import ParamError
from engine.layers.base import expand
from engine.layers.conv import conv_out
from engine.layers.pool import pool_out

from ...commands import MacroCommand, SetParamCommand

TYPES = {"conv.Conv1d": 1, "conv.Conv2d": 2, "pool.MaxPool1d": 1, "pool.MaxPool2d": 2,
         "pool.AvgPool1d": 1, "pool.AvgPool2d": 2}
RANGES = {"kernel_size": (1, 9), "stride": (1, 6), "padding": (0, 5), "dilation": (1, 4)}
TIPS = {"kernel_size": "Size of the window (kernel) laid on the input.",
        "stride": "How far the window moves between two output pixels.",
        "padding": "Zeros added around the input (grey), so windows can sit on the border.",
        "dilation": "Spacing between the kernel's taps: a wider view, the same weights."}
INPUT, PAD, WINDOW, OUT = (QColor("#dfe8f5"), QColor("#c9ccd1"), QColor("#ff8a00"),
                           QColor("#cfe9d6"))


def start_values(node, dims: int) -> dict[str, int]:
    """The sliders' starting values: the node's params along the first axis ('same' and
    'valid' padding as the number they stand for; a pool's stride 0 as its kernel)."""
    p = node.params
    k = expand(p.get("kernel_size", 3), dims)[0]
    d = expand(p.get("dilation", 1), dims)[0] if node.type.startswith("conv.") else 1
    pad = p.get("padding", 0)
    if pad == "same":
        pad = d * (k - 1) // 2
    pad = 0 if pad == "valid" else expand(pad, dims)[0]
    s = expand(p.get("stride", 1), dims)[0] or k
    values = {"kernel_size": k, "stride": s, "padding": pad}
    if node.type.startswith("conv."):
        values["dilation"] = d
    return values


class WindowGrid(QWidget):
    """The padded input (grey padding), one window outlined (orange, its taps dotted), a dot
    where every other window starts, and the output grid with the matching cell marked.
    Hovering an output cell moves the outlined window there."""

    hovered = Signal(int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.size_in = (8, 8)
        self.values = {"kernel_size": 3, "stride": 1, "padding": 0, "dilation": 1}
        self.size_out = (6, 6)
        self.at = (0, 0)
        self.setMouseTracking(True)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def set_state(self, size_in, values, size_out) -> None:
        self.size_in, self.values, self.size_out = tuple(size_in), dict(values), size_out
        oh, ow = size_out
        self.at = (min(self.at[0], max(oh - 1, 0)), min(self.at[1], max(ow - 1, 0)))
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(260, self.heightForWidth(260))

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        """As tall as the grids drawn at this width (no blank band under them)."""
        h, w = self.size_in
        p = self.values["padding"]
        oh, ow = (max(v, 0) for v in self.size_out)
        rows_in, cols_in = (h + 2 * p if h > 1 else 1), w + 2 * p
        cell = min((width - 8 - 18) / max(cols_in + ow, 1), 22.0)
        return int(max(rows_in, oh, 1) * cell) + 10

    def _layout(self):
        """(cell size, input origin, output origin) for the current widget size."""
        h, w = self.size_in
        p = self.values["padding"]
        oh, ow = (max(v, 0) for v in self.size_out)
        rows_in, cols_in = h + 2 * p if h > 1 else 1, w + 2 * p
        gap = 18
        cell = min((self.width() - 8 - gap) / max(cols_in + ow, 1),
                   (self.height() - 8) / max(rows_in, oh, 1), 22.0)
        return cell, QPointF(4, 4), QPointF(4 + cols_in * cell + gap, 4)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        h, w = self.size_in
        v = self.values
        k, s, pad, d = v["kernel_size"], v["stride"], v["padding"], v.get("dilation", 1)
        cell, o_in, o_out = self._layout()
        two_d = h > 1
        rows, cols = (h + 2 * pad, w + 2 * pad) if two_d else (1, w + 2 * pad)
        p.setPen(QPen(QColor("#9aa0a8"), 0.5))
        for r in range(rows):
            for c in range(cols):
                inside = (not two_d or pad <= r < pad + h) and pad <= c < pad + w
                p.setBrush(INPUT if inside else PAD)
                p.drawRect(QRectF(o_in.x() + c * cell, o_in.y() + r * cell, cell, cell))
        oh, ow = self.size_out
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#5c6470"))
        for i in range(max(oh, 0)):              # where each window starts
            for j in range(max(ow, 0)):
                center = QPointF(o_in.x() + (j * s + 0.5) * cell,
                                 o_in.y() + ((i * s if two_d else 0) + 0.5) * cell)
                p.drawEllipse(center, max(1.5, cell / 8), max(1.5, cell / 8))
        if oh > 0 and ow > 0:
            i, j = self.at
            r0, c0 = (i * s if two_d else 0), j * s
            span = d * (k - 1) + 1
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(WINDOW, 2.5))
            p.drawRect(QRectF(o_in.x() + c0 * cell, o_in.y() + r0 * cell, span * cell,
                              (span if two_d else 1) * cell))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(WINDOW)
            for a in range(k if two_d else 1):
                for b in range(k):
                    p.drawEllipse(QPointF(o_in.x() + (c0 + b * d + 0.5) * cell,
                                          o_in.y() + (r0 + a * d + 0.5) * cell),
                                  max(2.0, cell / 5), max(2.0, cell / 5))
        p.setPen(QPen(QColor("#9aa0a8"), 0.5))
        for i in range(max(oh, 0)):
            for j in range(max(ow, 0)):
                p.setBrush(WINDOW if (i, j) == self.at else OUT)
                p.drawRect(QRectF(o_out.x() + j * cell, o_out.y() + i * cell, cell, cell))

    def mouseMoveEvent(self, ev) -> None:
        cell, _o_in, o_out = self._layout()
        pos = ev.position()
        i, j = int((pos.y() - o_out.y()) // cell), int((pos.x() - o_out.x()) // cell)
        if 0 <= i < self.size_out[0] and 0 <= j < self.size_out[1] and (i, j) != self.at:
            self.at = (i, j)
            self.hovered.emit(i, j)
            self.update()


class SizeSandbox(QWidget):
    """`show_node(node, in_type)`: hidden for other layer types."""

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.node = None
        self._key = None
        self.dims = 2
        self.size_in: tuple[int, ...] = (8, 8)
        self.start: dict[str, int] = {}
        self.sliders: dict[str, QSlider] = {}
        self.labels: dict[str, QLabel] = {}
        head = QLabel("Try sizes: move a slider to see the output size; nothing changes until "
                      "Apply.")
        head.setWordWrap(True)
        head.setStyleSheet("color: #6b7480;")
        form = QGridLayout()
        form.setContentsMargins(0, 0, 0, 0)
        for row, name in enumerate(RANGES):
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setRange(*RANGES[name])
            slider.setPageStep(1)
            slider.setToolTip(TIPS[name])
            slider.valueChanged.connect(lambda _v: self.redraw())
            label = QLabel()
            label.setMinimumWidth(22)
            title = QLabel(name.replace("_size", ""))
            title.setToolTip(TIPS[name])
            form.addWidget(title, row, 0)
            form.addWidget(slider, row, 1)
            form.addWidget(label, row, 2)
            self.sliders[name], self.labels[name] = slider, label
        self.form = form
        self.grid = WindowGrid()
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Set these values on the layer (one edit: Ctrl+Z undoes "
                                     "it).")
        self.apply_button.clicked.connect(self.apply)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Back to the layer's current values.")
        self.reset_button.clicked.connect(self.reset)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.apply_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 2, 0, 2)
        lay.addWidget(head)
        lay.addLayout(form)
        lay.addWidget(self.grid)
        lay.addWidget(self.formula)
        lay.addLayout(buttons)
        self.hide()

    def applies_to(self, node) -> bool:
        return node is not None and node.type in TYPES and not node.exprs

    def show_node(self, node, in_types) -> None:
        """Follow the inspector's node (after every edit: the sliders restart from its
        params)."""
        if not self.applies_to(node):
            self.node, self._key = None, None
            self.hide()
            return
        shape = tuple(in_types[0].shape) if in_types else ()
        key = (node.id, repr(node.params), shape)
        if key == self._key:
            return            # nothing changed: keep what the user is trying
        self._key = key
        self.node, self.dims = node, TYPES[node.type]
        known = len(shape) == self.dims + 1
        self.size_in = tuple(shape[1:]) if known else (8,) * self.dims
        self.grid.setToolTip("" if known else "The input's size is not known yet (connect an "
                             "input): shown on an 8-wide example.")
        conv = node.type.startswith("conv.")
        self.form.itemAtPosition(3, 0).widget().setVisible(conv)
        self.sliders["dilation"].setVisible(conv)
        self.labels["dilation"].setVisible(conv)
        self.start = start_values(node, self.dims)
        self.reset()
        self.show()

    def values(self) -> dict[str, int]:
        return {name: self.sliders[name].value() for name in self.start}

    def reset(self) -> None:
        for name, value in self.start.items():
            slider = self.sliders[name]
            slider.blockSignals(True)
            slider.setMaximum(max(RANGES[name][1], value))
            slider.setValue(value)
            slider.blockSignals(False)
        self.redraw()

    def output_size(self, values: dict[str, int] | None = None) -> tuple[int, ...]:
        v = values or self.values()
        k, s, pad = v["kernel_size"], v["stride"], v["padding"]
        if self.node is not None and self.node.type.startswith("conv."):
            return tuple(conv_out(n, k, s, pad, v["dilation"]) for n in self.size_in)
        ceil = bool(self.node is not None and self.node.params.get("ceil_mode"))
        return tuple(pool_out(n, k, s, pad, ceil) for n in self.size_in)

    def problem(self, v: dict[str, int], out: tuple[int, ...]) -> str:
        if min(out) < 1:
            return "The window is larger than the padded input: no output."
        if self.node.type.startswith("pool.") and v["padding"] > v["kernel_size"] // 2:
            return "Pooling allows padding of at most half the window."
        return ""

    def redraw(self) -> None:
        if self.node is None:
            return
        v = self.values()
        for name, value in v.items():
            self.labels[name].setText(str(value))
        out = self.output_size(v)
        size2 = self.size_in if self.dims == 2 else (1, self.size_in[0])
        out2 = out if self.dims == 2 else (1, out[0])
        self.grid.set_state(size2, {"dilation": 1, **v}, out2)
        self.formula.setText(self._formula(v, out))
        problem = self.problem(v, out)
        if problem:
            self.formula.setText(self.formula.text() +
                                 f"<br><span style='color:#d0342c'>{problem}</span>")
        changed = v != self.start
        self.apply_button.setEnabled(changed and not problem)
        self.reset_button.setEnabled(changed)

    def _formula(self, v: dict[str, int], out: tuple[int, ...]) -> str:
        """The size rule, then with these numbers (first axis), then the whole shape."""
        k, s, pad = v["kernel_size"], v["stride"], v["padding"]
        ceil = "dilation" not in v and self.node.params.get("ceil_mode")
        left, right = ("⌈", "⌉") if ceil else ("⌊", "⌋")
        if "dilation" in v:
            rule, span = "dilation·(kernel − 1) − 1", f"{v['dilation']}·({k} − 1) − 1"
        else:
            rule, span = "kernel", f"{k}"
        return (f"out = {left}(in + 2·padding − {rule}) / stride{right} + 1<br>"
                f"= {left}({self.size_in[0]} + 2·{pad} − {span}) / {s}{right} + 1 = "
                f"<b>{out[0]}</b><br>input {' × '.join(map(str, self.size_in))} → output "
                f"<b>{' × '.join(map(str, out))}</b>")

    def apply(self) -> bool:
        """Commit the changed values as one undoable edit. False (with the reason shown)
        when refused."""
        node, graph = self.node, self.document.edit_graph
        if node is None:
            return False
        macro = MacroCommand(graph, f"Set {node.name}'s sizes")
        values = self.values()
        changed = {name for name, value in values.items() if value != self.start.get(name)}
        if node.params.get("stride") == 0:    # a pool's stride 0 follows the kernel
            same = values["stride"] == values["kernel_size"]
            (changed.discard if same else changed.add)("stride")
        try:
            for name, value in values.items():
                if name in changed:
                    macro.add(SetParamCommand(graph, node.id, name,
                                              graph.checked_param(node.id, name, value)))
            if not macro.children:
                return False
            self.document.push(macro)
        except (ParamError, GraphError, ValueError) as exc:
            self.formula.setText(f"<span style='color:#d0342c'>{exc}</span>")
            return False
        return True
