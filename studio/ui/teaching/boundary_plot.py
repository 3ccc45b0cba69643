"""Draws decision regions (engine.teach.Regions) under the training and validation points:
each cell takes the colour of the class the model predicts there, paler where it is unsure;
a regression model's output is drawn with a colour map."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from engine.teach import Regions

from ..theme import plot_colors

CLASS_COLOURS = np.array([(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
                          (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127),
                          (188, 189, 34), (23, 190, 207)], np.float32)
STRENGTH = 0.65     # how much of a class colour a fully sure cell takes (points stay visible)


def class_colour(k: int) -> tuple[int, int, int]:
    return tuple(int(c) for c in CLASS_COLOURS[k % len(CLASS_COLOURS)])


def region_image(regions: Regions, background: str = "#ffffff") -> np.ndarray:
    """(size, size, 3) uint8, row = y index: the predicted class's colour over the background,
    by how sure the model is (a 50/50 cell of a binary model is the background)."""
    bg = np.array(pg.mkColor(background).getRgb()[:3], np.float32)
    v = regions.values
    if regions.kind == "value":
        lut = pg.colormap.get("viridis").getLookupTable(nPts=256)[:, :3].astype(np.float32)
        z = v[..., 0]
        lo, hi = float(np.nanmin(z)), float(np.nanmax(z))
        idx = ((z - lo) / (hi - lo if hi > lo else 1.0) * 255).astype(int).clip(0, 255)
        return (bg * (1 - STRENGTH) + lut[idx] * STRENGTH).astype(np.uint8)
    k = v.shape[2]
    labels = v.argmax(axis=2)
    sure = (v.max(axis=2) - 1 / k) / (1 - 1 / k)          # 0 at chance, 1 when certain
    colour = CLASS_COLOURS[labels % len(CLASS_COLOURS)]
    a = (STRENGTH * np.clip(sure, 0, 1))[..., None]
    return (bg * (1 - a) + colour * a).astype(np.uint8)


class BoundaryPlot(pg.PlotWidget):
    """`show_points(...)` once per dataset, `show_regions(regions)` for every frame."""

    def __init__(self, parent=None):
        background, _ = plot_colors()
        super().__init__(parent, background=background)
        self.setAspectLocked(True)
        self.setMenuEnabled(False)
        self.setLabel("bottom", "x1")
        self.setLabel("left", "x2")
        self.image = pg.ImageItem()
        self.addItem(self.image)
        _, foreground = plot_colors()
        self.edge = pg.IsocurveItem(level=0.5, pen=pg.mkPen(foreground, width=1.5))
        self.edge.setParentItem(self.image)
        self.legend = self.addLegend(offset=(-5, 5))
        self.train_items: list[pg.ScatterPlotItem] = []
        self.val_items: list[pg.ScatterPlotItem] = []
        self.regions: Regions | None = None
        self.rgb: np.ndarray | None = None
        self._frame = None

    def clear_all(self) -> None:
        for item in (*self.train_items, *self.val_items):
            self.removeItem(item)
        self.train_items, self.val_items = [], []
        self.legend.clear()
        self.image.clear()
        self.edge.setData(None)
        self.regions, self.rgb = None, None

    def show_points(self, train: tuple, val: tuple, class_names: list[str] | None) -> None:
        """Training points as filled dots, validation points as rings, coloured by class:
        `train` and `val` are (x (n, 2), labels (n,) or None)."""
        for item in (*self.train_items, *self.val_items):
            self.removeItem(item)
        self.legend.clear()
        self.train_items, self.val_items = [], []
        _, fg = plot_colors()
        for (x, y), items, filled in ((train, self.train_items, True),
                                      (val, self.val_items, False)):
            if x is None or not len(x):
                continue
            groups = [(None, np.ones(len(x), bool))] if y is None else \
                [(int(k), y == k) for k in np.unique(y)]
            for k, m in groups:
                colour = class_colour(k or 0) if k is not None else (90, 90, 90)
                kw = dict(brush=pg.mkBrush(*colour), pen=pg.mkPen(fg, width=0.6)) if filled \
                    else dict(brush=pg.mkBrush(255, 255, 255, 200), pen=pg.mkPen(*colour, width=2))
                name = None
                if filled:
                    name = class_names[k] if class_names and k is not None and \
                        k < len(class_names) else (f"class {k}" if k is not None else "train")
                size = 7 if len(x) > 40 else 12              # XOR's truth table: 4 points
                item = pg.ScatterPlotItem(x[m, 0], x[m, 1], size=size, symbol="o", name=name,
                                          **kw)
                self.addItem(item)
                items.append(item)
        self._frame = None
        if self.val_items:
            self.legend.addItem(pg.ScatterPlotItem(symbol="o", brush=pg.mkBrush(255, 255, 255),
                                                   pen=pg.mkPen(fg, width=2)), "validation")

    def show_regions(self, regions: Regions) -> None:
        p = regions.plane
        background, _ = plot_colors()
        self.regions = regions
        self.rgb = region_image(regions, background)
        # ImageItem's default axis order is (x, y): transpose our (row = y, column = x)
        self.image.setImage(np.ascontiguousarray(self.rgb.transpose(1, 0, 2)), autoLevels=False,
                            levels=(0, 255))
        self.image.setRect(QRectF(p.x_min, p.y_min, p.x_max - p.x_min, p.y_max - p.y_min))
        if self._frame != p:                      # a new plane: show all of it
            self._frame = p
            self.setRange(xRange=(p.x_min, p.x_max), yRange=(p.y_min, p.y_max), padding=0)
        binary = regions.kind == "classes" and regions.values.shape[2] == 2
        self.edge.setData(np.ascontiguousarray(regions.values[..., 1].T) if binary else None)
