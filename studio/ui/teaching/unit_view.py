"""What activates a unit: for one unit of a hidden layer, the first layer's weights into it (as a
picture of the input), the input gradient ascent finds for it, and the 9 training samples that
activate it most (engine/teach/max_activation.py computes them off the GUI thread).

Opened from the canvas's right-click menu on a node (What Activates a Unit…) or the Model menu;
the unit is picked in the dialog. It shows the model as the document holds it: the trained
weights after a run, or the fresh initialisation training starts from."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.teach.max_activation import unit_pictures
from engine.teach.probe import dataset_inputs
from studio.background import BackgroundCall

from ..images import as_image, to_pixmap

BIG, SMALL = 150, 64
TRAINING_SAMPLES = 4000      # the training samples searched for the top 9
STEPS = 64                   # gradient-ascent steps


def has_units(document, node_id: str) -> bool:
    """True for a node of the model (not inside a block) whose output has units: (n, F)
    features or (n, C, ...) channels, in a model with a single Input."""
    graph = document.graph
    node = graph.nodes.get(node_id)
    if node is None or node.type in ("io.Input", "io.Output") or \
            document.scope.graph() is not graph:
        return False
    if sum(n.type == "io.Input" for n in graph.nodes.values()) != 1:
        return False
    types = document.report().out_types.get(node_id) or []
    return bool(types) and types[0].rank >= 1


def unit_count(document, node_id: str) -> int:
    t = document.report().out_types[node_id][0]
    return t.shape[1] if t.rank == 2 else t.shape[0]


def _compute(project, node_id: str, unit: int, token: int):
    x, _ = dataset_inputs(project, "train", TRAINING_SAMPLES)
    seed = int(project.training.get("seed", 0) or 0)
    return token, unit_pictures(project.graph, node_id, unit, x, seed, steps=STEPS)


def _picture(array, size: int, span=None) -> QLabel:
    label = QLabel()
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    image = as_image(np.asarray(array))
    if image is None:       # not an image: a strip of values
        image = np.asarray(array, np.float32).reshape(1, -1)
    label.setPixmap(to_pixmap(image, size, span))
    return label


class UnitDialog(QDialog):
    """`pictures` holds the latest UnitPictures once computed."""

    def __init__(self, document, node_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        from engine.project import snapshot_project

        self.project = snapshot_project(document.project)
        self.node_id = node_id
        self.pictures = None
        self._token = 0
        self._calls: list[BackgroundCall] = []   # under way (an earlier unit's may still run)
        node = document.graph.nodes[node_id]
        self.trained = bool(document.graph.weights)
        self.setWindowTitle(f"What activates a unit of {node.name}")
        self.unit = QSpinBox()
        self.unit.setRange(0, max(unit_count(document, node_id) - 1, 0))
        self.unit.setPrefix("unit ")
        self.unit.setToolTip("The unit (a feature of a dense layer, a channel of a conv layer)")
        self.status = QLabel("Computing…")
        self.status.setWordWrap(True)
        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.compute)
        self.unit.valueChanged.connect(lambda _v: self._debounce.start())
        top = QHBoxLayout()
        top.addWidget(QLabel(f"{node.name} ({node.spec.name}, {self.unit.maximum() + 1} "
                             "units):"))
        top.addWidget(self.unit)
        top.addStretch(1)
        self.weights_box = self._box("Weights into the unit", (
            "The first layer's weights into this unit, laid out like the input: the pattern "
            "it responds to (light: positive weights, dark: negative)."))
        self.ascent_box = self._box("Input that activates it most", (
            "Gradient ascent on the input: starting from the best of some random inputs, "
            f"{STEPS} steps uphill on the unit's activation, kept as far from the average "
            "input as a typical sample is and within the data's range."))
        self.top_box = self._box("Training samples that activate it most", (
            "The 9 training samples with the highest activation of this unit (for a conv "
            "layer, its channel's mean over the positions), highest first."))
        pictures = QHBoxLayout()
        for box in (self.weights_box, self.ascent_box, self.top_box):
            pictures.addWidget(box)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.status)
        lay.addLayout(pictures, 1)
        self.compute()

    @staticmethod
    def _box(title: str, tip: str) -> QGroupBox:
        box = QGroupBox(title)
        box.setToolTip(tip)
        grid = QGridLayout(box)
        grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        return box

    def compute(self) -> None:
        self._token += 1
        self.status.setText(f"Computing unit {self.unit.value()}…")
        call = BackgroundCall(_compute, self.project, self.node_id, self.unit.value(),
                              self._token)
        call.succeeded.connect(self._show)
        call.failed.connect(lambda msg, _tb: self.status.setText(
            f"Could not compute it: {msg}"))
        call.finished.connect(lambda c=call: c in self._calls and self._calls.remove(c))
        self._calls.append(call)
        call.start()

    def wait(self, ms: int = 60_000) -> bool:
        """Wait for the computations under way (tests, closing)."""
        return all(call.wait(ms) for call in list(self._calls))

    def done(self, result: int) -> None:
        self._debounce.stop()      # no new computation once closed
        super().done(result)

    def _show(self, result) -> None:
        token, pictures = result
        if token != self._token:
            return          # another unit was picked meanwhile
        self.pictures = p = pictures
        weights = "the trained weights" if self.trained else \
            "a fresh initialisation (train the model to see what it learns)"
        self.status.setText(f"Unit {p.unit} of {p.units}, with {weights}. "
                            + (p.note or ""))
        self._fill(self.weights_box, [] if p.weights is None else [(p.weights, "")],
                   BIG, "Only for a layer that reads the input directly.")
        ascent = [] if p.ascent is None else [(p.ascent.pattern, (
            f"activation {p.ascent.value:.3g}\n(random inputs: up to "
            f"{float(np.max(p.ascent.random_values)):.3g})"))]
        self._fill(self.ascent_box, ascent, BIG, p.note)
        self._fill(self.top_box, [(s, f"sample {i}: {v:.3g}") for s, i, v in
                                  zip(p.top_samples, p.top_indices, p.top_values)], SMALL,
                   "", columns=3)

    def _fill(self, box: QGroupBox, items: list, size: int, empty: str,
              columns: int = 1) -> None:
        grid: QGridLayout = box.layout()
        while grid.count():
            widget = grid.takeAt(0).widget()
            if widget is not None:
                widget.setParent(None)
                widget.deleteLater()
        box.setVisible(bool(items) or bool(empty))
        if not items:
            note = QLabel(empty)
            note.setWordWrap(True)
            note.setEnabled(False)
            grid.addWidget(note, 0, 0)
            return
        for k, (array, caption) in enumerate(items):
            cell = QVBoxLayout()
            cell.addWidget(_picture(array, size))
            text = QLabel(caption)
            text.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cell.addWidget(text)
            holder = QWidget()
            holder.setLayout(cell)
            grid.addWidget(holder, k // columns, k % columns)


class UnitMenu:
    """Adds What Activates a Unit… to the canvas's right-click menu of a node (wrapping the
    menu provider already there) and keeps the dialogs it opens."""

    LABEL = "What Activates a Unit…"

    def __init__(self, window):
        self.window = window
        self.dialogs: list[UnitDialog] = []
        self._previous = getattr(window.view, "context_menu_provider", None)
        window.view.context_menu_provider = self.menu

    def menu(self, ids: list[str]) -> QMenu | None:
        menu = self._previous(ids) if self._previous is not None else None
        if len(ids) != 1 or not has_units(self.window.document, ids[0]):
            return menu
        if menu is None:
            menu = QMenu(self.window)
        elif not menu.isEmpty():
            menu.addSeparator()
        act = menu.addAction(self.LABEL)
        act.setToolTip("The input pattern and the training samples that drive one of this "
                       "layer's units highest")
        act.triggered.connect(lambda _c=False, nid=ids[0]: self.open(nid))
        return menu

    def open(self, node_id: str) -> UnitDialog | None:
        doc = self.window.document
        if not has_units(doc, node_id):
            doc.error.emit("What Activates a Unit works on a layer of the model whose output "
                           "has units: select one (outside blocks)")
            return None
        dialog = UnitDialog(doc, node_id, self.window)
        dialog.finished.connect(lambda _r, d=dialog: self.dialogs.remove(d)
                                if d in self.dialogs else None)
        self.dialogs.append(dialog)
        dialog.resize(900, 460)
        dialog.show()
        return dialog

    def open_selected(self) -> UnitDialog | None:
        ids = list(self.window.document.selected_ids)
        if len(ids) != 1:
            self.window.document.error.emit("Select one layer to see what activates its units")
            return None
        return self.open(ids[0])
