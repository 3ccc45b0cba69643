"""Probe a wire: the tensor on it for the first validation samples (shape, min / mean / max,
share of zeros and of dead units, a histogram and a heatmap), exported to .npy on request.
Opened from a wire's context menu (probe_menu.py); computed off the GUI thread."""
from __future__ import annotations

import io

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from engine.atomic import atomic_write
from engine.teach.probe import dataset_inputs, heatmap, probe_wire, wire_stats
from studio.background import BackgroundCall

from ..theme import plot_colors

SAMPLES = 64


def probe_inputs(project, limit: int = SAMPLES) -> tuple[np.ndarray, str]:
    """The first `limit` validation samples (training samples without a validation split)."""
    return dataset_inputs(project, "val", limit)


def _compute(project, src: str, src_port: str):
    x, which = probe_inputs(project)
    seed = int(project.training.get("seed", 0) or 0)
    return probe_wire(project.graph, src, src_port, x, seed), which


class ProbeDialog(QDialog):
    def __init__(self, document, edge, parent: QWidget | None = None):
        super().__init__(parent)
        graph = document.graph
        self.edge = edge
        self.tensor: np.ndarray | None = None
        self.stats = None
        self.trained = bool(graph.weights)
        src, dst = graph.nodes[edge.src], graph.nodes[edge.dst]
        port = f".{edge.src_port}" if len(src.output_ports()) > 1 else ""
        self.setWindowTitle(f"Probe: {src.name}{port} → {dst.name}")
        self.what = QLabel("Computing…")
        self.what.setWordWrap(True)
        self.values = {key: QLabel("–") for key in ("shape", "range", "std", "zeros", "dead")}
        form = QFormLayout()
        for key, label in (("shape", "Shape"), ("range", "Min / mean / max"),
                           ("std", "Standard deviation"), ("zeros", "Zeros"),
                           ("dead", "Dead units")):
            form.addRow(label, self.values[key])
        self.values["dead"].setToolTip("Units (features or channels) that are 0 for every "
                                       "probed sample: after a ReLU, units that never fire")
        self.sample = QSpinBox()
        self.sample.setPrefix("sample ")
        self.sample.valueChanged.connect(self._draw_heatmap)
        form.addRow("Heatmap of", self.sample)
        background, _ = plot_colors()
        self.histogram = pg.PlotWidget(background=background, title="Histogram")
        self.histogram.setMenuEnabled(False)
        self.heat_plot = pg.PlotWidget(background=background, title="Heatmap")
        self.heat_plot.setMenuEnabled(False)
        self.heat_plot.invertY(True)
        self.heat_plot.setAspectLocked(True)
        self.heat = pg.ImageItem()
        self.heat.setColorMap(pg.colormap.get("viridis"))
        self.heat_plot.addItem(self.heat)
        self.export_button = QPushButton("Export .npy…")
        self.export_button.setToolTip("Save the probed tensor as a NumPy array")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        lay = QGridLayout(self)
        lay.addWidget(self.what, 0, 0, 1, 3)
        lay.addLayout(form, 1, 0)
        lay.addWidget(self.histogram, 1, 1)
        lay.addWidget(self.heat_plot, 1, 2)
        lay.addWidget(buttons, 2, 0, 1, 3)
        lay.setRowStretch(1, 1)
        lay.setColumnStretch(1, 1)
        lay.setColumnStretch(2, 1)
        self.resize(1000, 440)
        from engine.project import snapshot_project

        self._call = BackgroundCall(_compute, snapshot_project(document.project), edge.src,
                                    edge.src_port)
        self._call.succeeded.connect(self._show)
        self._call.failed.connect(self._failed)
        self._call.start()

    def wait(self, timeout_ms: int = 60_000) -> bool:
        return self._call.wait(timeout_ms)

    def _failed(self, message: str, _tb: str) -> None:
        self.what.setText(f"The wire cannot be probed: {message}")

    def _show(self, result) -> None:
        tensor, which = result
        self.tensor = tensor
        self.stats = s = wire_stats(tensor)
        weights = "its weights" if self.trained else "a fresh initialisation"
        self.what.setText(f"The tensor on this wire for the first {len(tensor)} {which} "
                          f"samples, with {weights}.")
        self.values["shape"].setText(" × ".join(str(d) for d in s.shape))
        self.values["range"].setText(f"{s.minimum:.4g} / {s.mean:.4g} / {s.maximum:.4g}")
        self.values["std"].setText(f"{s.std:.4g}")
        self.values["zeros"].setText(f"{100 * s.zeros:.1f} %")
        self.values["dead"].setText(f"{100 * s.dead_units:.1f} %")
        self.histogram.clear()
        width = float(s.edges[1] - s.edges[0]) if len(s.edges) > 1 else 1.0
        self.histogram.addItem(pg.BarGraphItem(x0=s.edges[:-1], width=width, height=s.counts,
                                               brush=(47, 126, 216)))
        self.sample.setRange(0, max(0, len(tensor) - 1))
        self.sample.setEnabled(tensor.ndim >= 3)
        self._draw_heatmap()
        self.export_button.setEnabled(True)

    def _draw_heatmap(self, *_) -> None:
        if self.tensor is None:
            return
        grid = heatmap(self.tensor, self.sample.value())
        finite = grid[np.isfinite(grid)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        # ImageItem's default axis order is (x, y): columns across, rows down
        hi = hi if hi > lo else lo + 1
        gap = lo - 0.3 * (hi - lo)              # the lines between tiles: darker than any value
        self.heat.setImage(np.nan_to_num(grid, nan=gap).T, levels=(gap, hi))
        self.heat_plot.autoRange(padding=0.02)
        self.heat_plot.setTitle("Heatmap: samples × units" if self.tensor.ndim == 2 else
                                f"Heatmap of sample {self.sample.value()}")

    def export(self, path: str | None = None) -> bool:
        """Write the tensor to a .npy file (asks where; the dialog confirms an overwrite)."""
        if self.tensor is None:
            return False
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export the probed tensor",
                                                  "probe.npy", "NumPy arrays (*.npy)")
            if not path:
                return False
        if not path.endswith(".npy"):
            path += ".npy"
        buffer = io.BytesIO()
        np.save(buffer, self.tensor, allow_pickle=False)
        try:
            atomic_write(path, buffer.getvalue())
        except OSError as exc:
            self.what.setText(f"Could not write {path}: {exc.strerror or exc}")
            return False
        self.what.setText(f"Saved {self.tensor.shape} to {path}.")
        return True
