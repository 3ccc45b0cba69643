"""The status bar's progress while a model's weights are read or the project is saved off
the GUI thread (studio.weights_reader, studio.saving): "Make block: reading the weights… 42%",
"Saving vgg16.nnproj… 40%" and a bar; hidden otherwise."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget


class WeightsProgress(QWidget):
    """Shows the reads of `window.document.weights_reader` and the saves of
    `window.document.saver` in `window`'s status bar."""

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
        saver = document.saver
        saver.started.connect(self._saving)
        saver.progress.connect(self._saved_so_far)
        saver.ended.connect(self.hide)

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

    def _saving(self, name: str) -> None:
        self._name = name
        self.label.setText(f"Saving {name}…")
        self.setToolTip("The project is saved in the background; the window stays usable. "
                        "Edits made now are not in this save.")
        self.bar.setRange(0, 0)
        self.show()

    def _saved_so_far(self, what: str, done: int, total: int) -> None:
        if not total:
            return
        self.bar.setRange(0, 1000)
        self.bar.setValue(int(1000 * done / total))
        doing = f": {what}" if what else ""
        self.label.setText(f"Saving {self._name}{doing}… {100 * done // total}%")
