"""How one output number was computed, with the actual numbers: a convolution pixel (the input
with its receptive field outlined, the input under the kernel, the kernel, the element-wise
products, their sum plus the bias, the activation that follows), a pooling window (the max
that won, or the mean) and a softmax (exponentials and their sum). Opened by clicking a pixel
in the Feature maps view (feature_maps.py); the arithmetic is engine/teach/explain_at.py."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.teach.explain_at import Explained

from .number_grid import NumberGrid, fmt, value_color

HINTS = {
    "conv": "Each output pixel is the kernel laid on the input (orange), the overlapping "
            "numbers multiplied pairwise and added up, plus the bias. Grey cells are zero "
            "padding.",
    "maxpool": "Max pooling keeps the largest number of its window (orange); the green cell "
               "won.",
    "avgpool": "Average pooling replaces its window (orange) by the mean of its numbers.",
    "softmax": "Softmax turns scores into probabilities: e raised to each score, divided by "
               "the sum of them all (the largest score is subtracted first: same result, no "
               "overflow).",
}


def num(v: float) -> str:
    """A softmax table entry: 4 decimals, or 3 significant digits when that would read 0."""
    v = float(v)
    return f"{v:.4f}" if v == 0 or abs(v) >= 1e-3 else f"{v:.2e}"


def _op(text: str) -> QLabel:
    lab = QLabel(text)
    lab.setStyleSheet("font-size: 18pt; font-weight: 600;")
    lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return lab


class ExplainDialog(QDialog):
    """`show_explained(Explained, class_names)`; reused for every click."""

    ALL = -1   # the channel choice "all channels, summed"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("How this number is computed")
        self.explained: Explained | None = None
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600; font-size: 11pt;")
        self.title.setWordWrap(True)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #6b7480;")
        self.channel = QComboBox()
        self.channel.setToolTip("Which input channel to show: the output adds up the "
                                "products of every input channel.")
        self.channel.activated.connect(lambda _i: self._draw_spatial())
        self.channel_row = QWidget()
        row = QHBoxLayout(self.channel_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Input channel"))
        row.addWidget(self.channel)
        row.addStretch(1)
        self.grids = {"input": NumberGrid("input (the layer's input)", max_cell=40),
                      "patch": NumberGrid("input under the kernel"),
                      "kernel": NumberGrid("kernel (weights)"),
                      "products": NumberGrid("products")}
        self.ops = [_op("×"), _op("=")]
        grids = QHBoxLayout()
        center = Qt.AlignmentFlag.AlignVCenter
        grids.addWidget(self.grids["input"], 3, center)
        grids.addSpacing(16)
        for w in (self.grids["patch"], self.ops[0], self.grids["kernel"], self.ops[1],
                  self.grids["products"]):
            grids.addWidget(w, 0 if w in self.ops else 2, center)
        self.grid_box = QWidget()
        self.grid_box.setLayout(grids)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setStyleSheet("font-size: 11pt;")
        self.detail = QLabel()
        self.detail.setStyleSheet("color: #6b7480;")
        lay = QVBoxLayout(self)
        for w in (self.title, self.hint, self.channel_row):
            lay.addWidget(w)
        lay.addWidget(self.grid_box, 1)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.result)
        lay.addWidget(self.detail)
        self.resize(980, 560)

    # -- showing -------------------------------------------------------------------------------
    def show_explained(self, e: Explained, class_names: list[str] | None = None) -> None:
        self.explained = e
        self.hint.setText(HINTS[e.kind])
        self.detail.setText(e.detail)
        spatial = e.kind != "softmax"
        self.grid_box.setVisible(spatial)
        self.table.setVisible(not spatial)
        self.channel_row.setVisible(False)
        if spatial:
            c, i, j = e.index
            self.title.setText(f"{e.node_name}: output channel {c + 1}, row {i + 1}, "
                               f"column {j + 1}")
            self._fill_channels(e)
            self._draw_spatial()
        else:
            self._draw_softmax(e, class_names)

    def _fill_channels(self, e: Explained) -> None:
        self.channel.clear()
        if e.kind == "conv":
            n = e.step.patch.shape[0]
            for k in range(n):
                self.channel.addItem(f"{k + 1} of {n}", k)
            if n > 1:
                self.channel.addItem(f"all {n}, summed", self.ALL)
        else:
            c = e.index[0]
            self.channel.addItem(f"{c + 1} (pooling keeps channels apart)", c)
        self.channel.setCurrentIndex(0)
        self.channel_row.setVisible(e.kind == "conv" and self.channel.count() > 1)

    def _draw_spatial(self) -> None:
        e = self.explained
        if e is None or e.kind == "softmax":
            return
        k = self.channel.currentData()
        k = 0 if k is None else k
        step, win = e.step, e.step.window
        if e.kind == "conv":
            chans = e.layer_input[slice(*e.in_channels)]
            shown_in = chans.sum(axis=0) if k == self.ALL else chans[k]
        else:
            shown_in = e.layer_input[k]
        padded, outline, offset = _padded(shown_in, win)
        mark = None
        if e.kind == "maxpool" and step.winner is not None:
            mark = (step.winner[0] + offset[0], step.winner[1] + offset[1])
        self.grids["input"].title = "the layer's input" + (
            f", channel {k + 1}" if k != self.ALL else ", all channels summed")
        self.grids["input"].set_values(padded, outline=outline, mark=mark,
                                       pad=~np.isfinite(padded))
        pad = ~win.inside
        for name in ("kernel", "products"):
            self.grids[name].setVisible(e.kind == "conv")
        for op in self.ops:
            op.setVisible(e.kind == "conv")
        if e.kind == "conv":
            pick = (lambda a: a.sum(axis=0)) if k == self.ALL else (lambda a: a[k])
            self.grids["patch"].set_values(pick(step.patch), pad=pad)
            self.grids["kernel"].set_values(pick(step.kernel))
            self.grids["products"].set_values(pick(step.products), pad=pad)
            self.grids["patch"].setVisible(k != self.ALL)
            self.grids["kernel"].setVisible(k != self.ALL)
            self.ops[0].setVisible(k != self.ALL)
            self.ops[1].setVisible(k != self.ALL)
            self.grids["products"].title = "products (summed over channels)" \
                if k == self.ALL else "products"
            self.result.setText(self._conv_text(e, k))
        else:
            mark_in_patch = None
            if step.winner is not None:
                a = int(np.nonzero(win.rows == step.winner[0])[0][0])
                b = int(np.nonzero(win.cols == step.winner[1])[0][0])
                mark_in_patch = (a, b)
            self.grids["patch"].set_values(step.patch, mark=mark_in_patch, pad=pad)
            self.result.setText(self._pool_text(e))

    def _conv_text(self, e: Explained, k: int) -> str:
        s = e.step
        n = s.products.shape[0]
        parts = []
        if n > 1 and k != self.ALL:
            parts.append(f"Σ products of channel {k + 1} = {fmt(float(s.products[k].sum()))}; ")
        over = f" over all {n} channels" if n > 1 else ""
        parts.append(f"Σ products{over} = {fmt(s.total)}  + bias {fmt(s.bias)}  = "
                     f"<b>{fmt(s.value)}</b>")
        if e.activation is not None:
            name, value = e.activation
            parts.append(f"  → {name} → <b>{fmt(value)}</b>")
        return "".join(parts) + self._check(s.value, e.module_value)

    def _pool_text(self, e: Explained) -> str:
        s = e.step
        if e.kind == "maxpool":
            r, c = s.winner
            return (f"max of the window = <b>{fmt(s.value)}</b> (input row {r + 1}, column "
                    f"{c + 1})" + self._check(s.value, e.module_value))
        total = float(s.patch[s.window.inside].sum())
        return (f"mean = sum {fmt(total)} / {s.count} numbers = <b>{fmt(s.value)}</b>"
                + self._check(s.value, e.module_value))

    @staticmethod
    def _check(mine: float, model: float) -> str:
        """Says so if the written-out arithmetic and the model's own output disagree."""
        if np.isclose(mine, model, rtol=1e-4, atol=1e-5):
            return ""
        return (f"<br><span style='color:#d0342c'>The model computed {model:.6g} here "
                f"(this layer has an option not written out above).</span>")

    def _draw_softmax(self, e: Explained, class_names: list[str] | None) -> None:
        s = e.step
        unit = e.index[0]
        names = class_names if class_names and len(class_names) == len(s.probs) else \
            [str(k) for k in range(len(s.probs))]
        what = "probability" if "loss" in e.detail else "output"
        self.title.setText(f"{e.node_name}: {what} of {names[unit]} (unit {unit + 1})")
        headers = ["score z", "z − max z", "e^(z − max z)", "probability"]
        self.table.clear()
        self.table.setRowCount(len(s.probs))
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setVerticalHeaderLabels(names)
        cols = (e.layer_input, s.shifted, s.exps, s.probs)
        for r in range(len(s.probs)):
            for q, values in enumerate(cols):
                item = QTableWidgetItem(num(values[r]))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight |
                                      Qt.AlignmentFlag.AlignVCenter)
                if q == 3:
                    item.setBackground(value_color(float(values[r]), 1.0))
                    item.setForeground(QColor("#000000"))
                self.table.setItem(r, q, item)
        self.table.selectRow(unit)
        self.result.setText(
            f"Σ e^(z − max z) = {num(s.total)};  p({names[unit]}) = {num(s.exps[unit])} / "
            f"{num(s.total)} = <b>{num(s.probs[unit])}</b>"
            + self._check(float(s.probs[unit]), e.module_value))


def _padded(a: np.ndarray, win) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """The map with NaN rows/columns where the window reaches into the padding, the window's
    cells as a mask on it, and the offset of the map's (0, 0) in it."""
    h, w = a.shape
    top = max(0, -int(win.rows.min()))
    left = max(0, -int(win.cols.min()))
    bottom = max(0, int(win.rows.max()) - h + 1)
    right = max(0, int(win.cols.max()) - w + 1)
    out = np.full((h + top + bottom, w + left + right), np.nan)
    out[top:top + h, left:left + w] = a
    mask = np.zeros(out.shape, bool)
    mask[np.ix_(win.rows + top, win.cols + left)] = True
    return out, mask, (top, left)
