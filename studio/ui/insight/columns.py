"""The layout the generative views share (gan.py, latent.py): two equal columns over one
line of text, and a grey tile mosaic in a view box that keeps its aspect."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QVBoxLayout, QWidget


def columns_over_info(owner: QWidget, left: QLayout, right: QLayout, text: str) -> QLabel:
    """Lay `left` and `right` side by side in `owner`, above a word-wrapped info line
    (returned) showing `text`."""
    row = QHBoxLayout()
    row.addLayout(left, 1)
    row.addLayout(right, 1)
    info = QLabel(text)
    info.setWordWrap(True)
    lay = QVBoxLayout(owner)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    lay.addLayout(row, 1)
    lay.addWidget(info)
    return info


def tile_view(tooltip: str) -> tuple[pg.GraphicsLayoutWidget, pg.ViewBox, pg.ImageItem]:
    """(widget, view box, image item) for a mosaic of grey tiles, top row first."""
    view = pg.GraphicsLayoutWidget()
    view.setBackground("w")
    view.setToolTip(tooltip)
    box = view.addViewBox(lockAspect=True, invertY=True)
    image = pg.ImageItem()
    image.setColorMap(pg.colormap.get("CET-L1"))
    box.addItem(image)
    return view, box, image
