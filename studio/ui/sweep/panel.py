"""The Sweep tab: what is searched and how, Run/Stop with live progress, the trials table
(sortable, best highlighted), parallel coordinates, the Pareto view, the learning curves of
selected trials overlaid, and "Apply best" as one undoable edit. The panel builds the tab and
runs the sweep; reading and showing its study, the selection and applying a trial are in
study_view.py."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.sweep.space import SAMPLERS, SweepError, dimension, label_for
from engine.sweep.space import settings as sweep_settings
from studio.background import BackgroundCall

from ..lazy_widgets import built_in_steps, settings_frame
from ..plots.curves import LiveCurves
from .charts import ParallelCoordinates, ParetoView
from .edits import searched, set_sweep_option
from .marks import SearchMarks
from .process import SweepProcess, sweep_command
from .study_view import StudyResults
from .trials_model import TrialsModel, TrialsProxy

POLL_MS = 1500
HINT = ("Right-click a layer parameter in the Inspector, or a setting in the Training tab, "
        "and choose <b>Search this setting…</b>")


class SweepPanel(StudyResults, QWidget):
    """`trials_selected(list[int])` when the selection in the table changes."""

    trials_selected = Signal(list)

    def __init__(self, document, parent: QWidget | None = None, in_steps: bool = False):
        """`in_steps`: see lazy_widgets.built_in_steps."""
        super().__init__(parent)
        self.document = document
        self.view = None
        self.dims: list = []
        self._call: BackgroundCall | None = None
        self._again = False
        self.process = SweepProcess(self)
        self.process.output.connect(self._output)
        self.process.finished.connect(self._finished)
        self.marks = SearchMarks(document, self)
        self.build_steps = built_in_steps(self._build_steps(), in_steps)

    def _build_steps(self):
        yield from self._build()
        self.poll = QTimer(self, interval=POLL_MS)
        self.poll.timeout.connect(self.refresh)
        self.document.undo_stack.indexChanged.connect(self._show_settings)
        self.document.graph_replaced.connect(self._document_replaced)
        self._show_settings()
        self.refresh()

    # -- layout ----------------------------------------------------------------------------------
    def _build(self):
        """Yields the name of each part built, into the frame made first."""
        lv, rv = settings_frame(self, 370, 360)
        box = QGroupBox("Searched settings")
        bv = QVBoxLayout(box)
        self.space_list = QListWidget()
        self.space_list.setMaximumHeight(80)
        self.space_list.itemDoubleClicked.connect(lambda _i: self.edit_selected())
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #5c6470;")
        row = QHBoxLayout()
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.edit_selected)
        self.remove_button = QPushButton("Stop searching")
        self.remove_button.clicked.connect(self.remove_selected)
        row.addWidget(self.edit_button)
        row.addWidget(self.remove_button)
        bv.addWidget(self.space_list)
        bv.addWidget(self.hint)
        bv.addLayout(row)
        lv.addWidget(box)
        box = QGroupBox("Search")
        form = QFormLayout(box)
        self.sampler = QComboBox()
        for name, label in zip(SAMPLERS, ("TPE (Bayesian)", "Random", "Grid")):
            self.sampler.addItem(label, name)
        self.sampler.activated.connect(
            lambda _i: self._option("sampler", self.sampler.currentData()))
        self.pruner = QComboBox()
        self.pruner.addItem("median (stop hopeless trials)", "median")
        self.pruner.addItem("none", "none")
        self.pruner.activated.connect(
            lambda _i: self._option("pruner", self.pruner.currentData()))
        self.trials = QSpinBox()
        self.trials.setRange(1, 100_000)
        self.trials.setKeyboardTracking(False)
        self.trials.valueChanged.connect(lambda v: self._option("trials", v))
        self.epochs = QSpinBox()
        self.epochs.setRange(0, 100_000)
        self.epochs.setSpecialValueText("as in training")
        self.epochs.setKeyboardTracking(False)
        self.epochs.valueChanged.connect(lambda v: self._option("epochs", v or None))
        self.jobs = QSpinBox()
        self.jobs.setRange(1, 64)
        self.jobs.setToolTip("Processes on this machine sharing the study")
        self.storage = QLineEdit()
        self.storage.setPlaceholderText("default: beside the project's runs")
        self.storage.setToolTip("An Optuna storage other machines can reach: a database URL "
                                "(postgresql+psycopg://user:pw@host/db) or a journal file on "
                                "a shared disk. Machines running the same study share it.")
        self.study = QLineEdit()
        self.study.setPlaceholderText("default: the project's name")
        form.addRow("Sampler", self.sampler)
        form.addRow("Pruner", self.pruner)
        form.addRow("Trials", self.trials)
        form.addRow("Epochs per trial", self.epochs)
        form.addRow("Processes", self.jobs)
        form.addRow("Storage", self.storage)
        form.addRow("Study", self.study)
        lv.addWidget(box)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #d0342c;")
        lv.addWidget(self.message)
        lv.addStretch(1)
        yield "settings"

        self.run_button = QPushButton("▶ Run sweep")
        self.run_button.clicked.connect(self.start)
        self.stop_button = QPushButton("■ Stop")
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setFormat("no sweep yet")
        self.apply_best_button = QPushButton("Apply best")
        self.apply_best_button.setToolTip("Set the best trial's values in the project (one "
                                          "undoable edit)")
        self.apply_best_button.clicked.connect(self.apply_best)
        self.apply_button = QPushButton("Apply selected")
        self.apply_button.clicked.connect(self.apply_selected)
        controls = QHBoxLayout()
        for w in (self.run_button, self.stop_button):
            controls.addWidget(w)
        controls.addWidget(self.progress, 1)
        controls.addWidget(self.apply_best_button)
        controls.addWidget(self.apply_button)
        self.status = QLabel()
        self.model = TrialsModel(self)
        self.proxy = TrialsProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection())
        yield "trials"
        self.parallel = ParallelCoordinates()
        self.parallel.trial_clicked.connect(self.select_trial)
        yield "parallel coordinates"
        self.pareto = ParetoView()
        self.pareto.trial_clicked.connect(self.select_trial)
        yield "pareto"
        self.curves = LiveCurves()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.parallel_note = QLabel("One line per trial across the searched settings and the "
                                    "metric; colour by the metric (yellow is best, dashed: "
                                    "pruned). Click a line to pick its trial.")
        self.parallel_note.setStyleSheet("color: #5c6470;")
        self.parallel_note.setWordWrap(True)
        parallel = QWidget()
        pv = QVBoxLayout(parallel)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.addWidget(self.parallel_note)
        pv.addWidget(self.parallel, 1)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for w, name in ((self.table, "Trials"), (parallel, "Parallel coordinates"),
                        (self.pareto, "Pareto"), (self.curves, "Curves"), (self.log, "Output")):
            self.tabs.addTab(w, name)
        rv.addLayout(controls)
        rv.addWidget(self.status)
        rv.addWidget(self.tabs, 1)
        self._set_running(False)

    # -- the sweep section -------------------------------------------------------------------------
    def _show_settings(self, *_) -> None:
        project = self.document.project
        try:
            conf = sweep_settings(project)
            self.message.clear()
        except SweepError as exc:
            conf = None
            self.message.setText(str(exc))
        self.space_list.clear()
        for key, entry in sorted(searched(self.document).items()):
            try:
                text = f"{label_for(project, key)}  {dimension(project, key, entry).describe()}"
            except SweepError as exc:
                text = f"{key}: {exc}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.space_list.addItem(item)
        self.hint.setVisible(self.space_list.count() == 0)
        keys = tuple(sorted(searched(self.document)))
        if keys != getattr(self, "_keys", None):   # other columns and axes: read again
            self._keys = keys
            if hasattr(self, "poll"):
                self.refresh()
        if conf is not None:
            for widget, value in ((self.sampler, conf["sampler"]),
                                  (self.pruner, conf["pruner"])):
                widget.setCurrentIndex(max(0, widget.findData(value)))
            for spin, value in ((self.trials, conf["trials"]), (self.epochs,
                                                                conf["epochs"] or 0)):
                spin.blockSignals(True)
                spin.setValue(value)
                spin.blockSignals(False)

    def _option(self, name: str, value) -> None:
        current = (self.document.project.sweep or {}).get(name)
        if current == value or (current is None and sweep_settings(
                self.document.project).get(name) == value):
            return
        try:
            set_sweep_option(self.document, name, value)
        except ValueError as exc:
            self.message.setText(str(exc))

    def _selected_key(self) -> str | None:
        item = self.space_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def edit_selected(self) -> None:
        key = self._selected_key()
        if key:
            self.marks.edit(key, self)

    def remove_selected(self) -> None:
        key = self._selected_key()
        if key:
            self.marks._push(key, None, self)

    # -- running -----------------------------------------------------------------------------------
    def start(self) -> bool:
        """Save if needed, then run `studio sweep` on the project file in the background."""
        doc = self.document
        if self.process.running():
            return False
        if not searched(doc):
            self.message.setText("Nothing is searched yet. " + HINT.replace("<b>", "")
                                 .replace("</b>", ""))
            return False
        try:
            sweep_settings(doc.project)
            for key, entry in searched(doc).items():
                dimension(doc.project, key, entry)
        except SweepError as exc:
            self.message.setText(str(exc))
            return False
        if doc.path is None or doc.modified:
            if doc.path is None or QMessageBox.question(
                    self, "Save before the sweep?", "The sweep trains the saved project "
                    "file. Save your changes now?") != QMessageBox.StandardButton.Yes:
                self.message.setText("Save the project first: the sweep runs on the file.")
                return False
            doc.save()
        self.message.clear()
        self.log.clear()
        args = sweep_command(str(doc.path), self.trials.value(), self.jobs.value(),
                             self.storage.text().strip() or None,
                             self.study.text().strip() or None)
        self.process.start(args)
        self._set_running(True)
        self.poll.start()
        self.status.setText("Starting the sweep…")
        return True

    def stop(self) -> None:
        if self.process.running():
            self.status.setText("Stopping: the running trials end after their batch…")
            self.process.stop()

    def shutdown(self) -> None:
        if self.process.running():
            self.process.stop()
            self.process.wait(20_000)
        if self._call is not None:
            self._call.wait(10_000)

    def _set_running(self, on: bool) -> None:
        self.run_button.setEnabled(not on)
        self.stop_button.setEnabled(on)

    def _output(self, line: str) -> None:
        self.log.appendPlainText(line)

    def _finished(self, code: int) -> None:
        self.poll.stop()
        self._set_running(False)
        self.refresh()
        if code not in (0, 130) and code != 15:
            self.message.setText(f"The sweep ended with an error (exit {code}); see Output.")
            self.tabs.setCurrentWidget(self.log)

    def _document_replaced(self, *_) -> None:
        self.view = None
        self._show_settings()
        self.refresh()
