"""The status bar's progress while a model's weights are read off the GUI thread
(studio.weights_reader): "Replace head: reading the weights… 42%" and a bar; hidden
otherwise."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget


class WeightsProgress(QWidget):
    """Shows the reads of `window.document.weights_reader` in `window`'s status bar."""

    def __init__(self, window):
        super().__init__(window)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)   # busy until the first figures arrive
        self.bar.setMaximumWidth(160)
        self.bar.setTextVisible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 12, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        self.hide()
        window.statusBar().insertPermanentWidget(0, self)   # left of validity and zoom
        self.reader = None
        self.follow(window.document)

    def follow(self, document) -> None:
        reader = document.weights_reader
        reader.started.connect(self._started)
        reader.progress.connect(self._progress)
        reader.ended.connect(self.hide)
        self.reader = reader

    def _started(self, what: str, total: int) -> None:
        self._what = what
        self._mb = f" ({total / 2**20:,.0f} MB)" if total >= 2**20 else ""
        self.label.setText(f"{what}: reading the weights{self._mb}…")
        self.setToolTip("The model's weights are read in the background; the window stays "
                        "usable. The action runs when they are read.")
        self.bar.setRange(0, 0)
        self.show()

    def _progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, 1000)
        self.bar.setValue(int(1000 * done / max(total, 1)))
        self.label.setText(f"{self._what}: reading the weights{self._mb}… "
                           f"{100 * done // max(total, 1)}%")
