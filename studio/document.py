"""The open document on the Qt side: a Project (graph + settings), its Validator, the undo
stack, the file path, the modified flag and the autosave/recovery file.

The validator also checks that the model fits the project's dataset (engine.fit): the dataset's
profile is computed off the GUI thread whenever the dataset settings or the project folder
change, and cached, so editing the graph never waits for data.

Views never change the graph directly: they build a command (studio.commands) and call
`Document.push`. A refused edit raises (GraphError/ParamError) and is not put on the stack.
"""
from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from engine.examples import new_project
from engine.fit import DataFit, profile_dataset, profile_key, suggest_input_shape
from engine.graph import Graph, GraphEvent
from engine.project import Project, load_project
from engine.validate import Fix, Report, Validator

from .background import DaemonCall
from .commands import GraphCommand, SetParamCommand, SetWeightsCommand
from .document_files import DocumentFiles
from .idle import IdleQueue
from .saving import Saver
from .scope import BlockScope
from .stepped_validation import SteppedValidation
from .unsaved_runs import UnsavedRuns
from .weights_reader import WeightsReader

AUTOSAVE_MS = 30_000


def recovery_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    path = Path(base or Path.home() / ".local" / "share" / "studio") / "recovery"
    return path


def recovery_path_for(path: str | Path | None) -> Path:
    """The recovery file of a project (by its absolute path; 'untitled' for a new one)."""
    if path:
        p = Path(path).resolve()
        key = hashlib.sha1(str(p).encode("utf-8")).hexdigest()[:12]
        return recovery_dir() / f"{p.stem}-{key}.nnproj"
    return recovery_dir() / "untitled.nnproj"


class Document(DocumentFiles, SteppedValidation, QObject):
    """Signals: changed() after any graph edit or replacement; validated(Report) after the
    report was brought up to date; path_changed(str); modified_changed(bool);
    graph_replaced(Graph) when a new project was opened or created (views re-subscribe);
    selection_changed(list) when `selected_ids` is set through `set_selection`;
    settings_changed(str) after an edit of the project's "training" or "dataset" section;
    data_checked() when the dataset's profile arrived (the model was checked against it)."""

    changed = Signal()
    validated = Signal(object)
    path_changed = Signal(str)
    modified_changed = Signal(bool)
    graph_replaced = Signal(object)
    selection_changed = Signal(list)
    settings_changed = Signal(str)
    data_checked = Signal()
    error = Signal(str)  # a refused edit's message, for the status bar
    #: the canvas shows another graph: the model or, after `enter`, a block's body
    scope_changed = Signal(object)
    #: the report of the graph on the canvas (the model's, or a block body's as the entered
    #: instance sees it), after every edit
    edit_validated = Signal(object)

    #: while `locked` is set (a training run is active) push() refuses every edit
    refuses_edits_when_locked = True
    LOCK_MESSAGE = "a training run is active: stop it to edit the model"

    def __init__(self, project: Project | None = None, parent: QObject | None = None,
                 autosave_ms: int = AUTOSAVE_MS):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        #: panel refreshes that follow edits, one per turn of the event loop (studio.idle)
        self.idle = IdleQueue(self)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.undo_stack.indexChanged.connect(self._after_edit)
        self.selected_ids: list[str] = []
        self.scope = BlockScope(self)
        self.locked = False
        self._unsubscribe = None
        self._validator: Validator | None = None
        self._report: Report | None = None
        self._autosave_due = False
        self._replaced_after_open = False
        self._walking = False   # an edit's validation goes on in the idle queue
        #: the nodes in view, set by the canvas: an edit's first step of validation reaches them
        self.in_view: Callable[[], Iterable[str]] | None = None
        self._shown_version = -1   # of the report last sent with edit_validated
        self.fit = DataFit()
        self._profile_key: str | None = None
        self._profile_call: DaemonCall | None = None
        self.settings_changed.connect(self._on_settings_changed)
        #: reads a lazily opened project's weights off the GUI thread for what needs them
        self.weights_reader = WeightsReader(self)
        self.saver = Saver(self)   # saves off the GUI thread (studio.saving)
        self.pushes = 0            # edits pushed: a save marks the document saved if none came
        self.project: Project = Project()
        self._install(project or new_project())
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(autosave_ms)
        self.autosave_timer.timeout.connect(self.autosave)
        if autosave_ms > 0:
            self.autosave_timer.start()

    def __del__(self) -> None:
        # The undo commands hold the graph, whose subscribers hold this document: a cycle
        # through Qt that the garbage collector frees. Its clean-up order could destroy a
        # command's Python side before ~QUndoStack deleted the command (a crash); finalizers
        # run before that clean-up, so the stack is emptied here while all is intact.
        try:
            self.undo_stack.blockSignals(True)  # nobody listens to a discarded document
            self.undo_stack.clear()
        except (RuntimeError, AttributeError):  # the C++ side is gone already
            pass

    # properties ------------------------------------------------------------------------------
    @property
    def graph(self) -> Graph:
        return self.project.graph

    @property
    def edit_graph(self) -> Graph:
        """The graph on the canvas: the model, or the body of the block entered."""
        return self.scope.graph()

    def edit_report(self) -> Report:
        """The report of `edit_graph` (inside a block: as the entered instance sees it)."""
        return self.scope.report(self.report())

    @property
    def path(self) -> Path | None:
        return self.project.path

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean() or self._replaced_after_open

    @property
    def name(self) -> str:
        return self.project.path.stem if self.project.path else \
            (self.project.meta.get("name") or "untitled")

    def report(self) -> Report:
        """The up-to-date validation report (incremental)."""
        assert self._validator is not None
        self._report = self._validator.validate()
        return self._report

    # editing ---------------------------------------------------------------------------------
    def push(self, command: QUndoCommand) -> QUndoCommand:
        """Apply an edit and put it on the undo stack. Raises if the edit is refused."""
        if self.locked:
            raise ValueError(self.LOCK_MESSAGE)
        if isinstance(command, GraphCommand):
            command.execute()  # raises without side effects when refused
        self.undo_stack.push(command)
        self.pushes += 1
        return command

    def try_push(self, command: QUndoCommand) -> bool:
        """Like push, but a refused edit emits `error(message)` and returns False."""
        try:
            self.push(command)
        except (ValueError, KeyError) as exc:
            self.error.emit(str(exc).strip("'\""))
            return False
        return True

    def apply_fix(self, fix: Fix) -> bool:
        """Apply a validation issue's one-parameter fix as an undoable edit (False, with
        `error` emitted, when it is refused)."""
        value = list(fix.value) if isinstance(fix.value, tuple) else fix.value
        if fix.node_id not in self.graph.nodes:
            return False
        command = SetParamCommand(self.graph, fix.node_id, fix.param, value)
        command.setText(f"Fix: {fix.label}")
        return self.try_push(command)

    def set_weights(self, weights: dict, text: str) -> bool:
        """Trained or loaded weights become the model's as an undoable edit, so the document
        is modified (closing asks to save them). False, with `error` emitted, if refused."""
        return self.try_push(SetWeightsCommand(self.graph, weights, text))

    def run_ended(self) -> None:
        """A training run ended: an unsaved project keeps its folder until it is saved."""
        self.unsaved_runs.ended()
        if self.project.path:
            self.unsaved_runs.move_to(self.project.runs_dir())

    def layer_defaults(self, layer_type: str) -> dict:
        """Params for a new node of `layer_type` beyond its spec's defaults: a new Input
        takes the shape and dtype of the dataset's samples when they are known."""
        profile = self.fit.profile
        if layer_type != "io.Input" or profile is None or profile.error:
            return {}
        return {"shape": suggest_input_shape(profile, None), "dtype": profile.input_dtype}

    def later(self, refresh) -> None:
        """Run `refresh()` on a later turn of the event loop, once however many edits ask
        for it before then: what a panel shows follows the edit without delaying the
        canvas. Use a bound method (it is dropped with its widget)."""
        self.idle.add(refresh)

    def set_selection(self, ids: list[str]) -> None:
        ids = [i for i in ids if i in self.edit_graph.nodes]
        if ids != self.selected_ids:
            self.selected_ids = ids
            self.selection_changed.emit(list(ids))

    def _on_clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean or self._replaced_after_open)

    def _on_graph_event(self, ev: GraphEvent) -> None:
        self._autosave_due = True
        self.changed.emit()

    # blocks ----------------------------------------------------------------------------------
    def enter(self, instance_id: str) -> bool:
        """Show the body of a block instance of the graph on the canvas (edits there change the
        block type, so every instance). False if the node is not a block."""
        if not self.scope.enter(instance_id):
            return False
        self.selected_ids = []
        self.scope_changed.emit(self.edit_graph)
        self.edit_validated.emit(self.edit_report())
        self.selection_changed.emit([])
        return True

    def leave(self, depth: int = -1) -> None:
        """Go back up: to `depth` levels below the model (0 = the model; -1 = one level up)."""
        if self.scope.leave(depth):
            self.selected_ids = []
            self.scope_changed.emit(self.edit_graph)
            self.edit_validated.emit(self.edit_report())
            self.selection_changed.emit([])

    # the model against its data ------------------------------------------------------------
    @property
    def data_pending(self) -> bool:
        """True while the dataset's profile is being computed."""
        return self._profile_call is not None

    def _on_settings_changed(self, section: str) -> None:
        if section == "dataset":
            self.check_data()
        elif section == "training":
            loss = self.project.training.get("loss")
            if loss != self.fit.loss:
                self.fit.loss = copy.deepcopy(loss)
                self._recheck()

    def check_data(self) -> None:
        """Profile the project's dataset off the GUI thread (cached) and re-check the model
        against it when it arrives (`data_checked`)."""
        config, folder = copy.deepcopy(self.project.dataset), self.project.folder
        key = profile_key(config, folder)
        if key == self._profile_key:
            return
        self._profile_key = key
        if self.fit.profile is not None:
            self.fit.profile = None
            self._recheck()
        call = DaemonCall(_profile, key, config, folder)
        self._profile_call = call
        call.succeeded.connect(self._profile_ready)   # queued: a slot of this GUI object
        call.start()

    def _profile_ready(self, result) -> None:
        key, profile = result
        if key != self._profile_key:
            return  # the settings changed meanwhile: a newer profile is on its way
        self._profile_call = None
        self.fit.profile = profile
        self._recheck()
        self.data_checked.emit()

    def _recheck(self) -> None:
        self._validator.recheck()
        self._after_edit()

    # files -------------------------------------------------------------------------------
    def _install(self, project: Project) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        if self._validator:
            self._validator.close()
        old_path = self.project.path
        self.project = project
        self.fit.profile, self.fit.loss = None, copy.deepcopy(project.training.get("loss"))
        self.unsaved_runs = UnsavedRuns()
        self._profile_key = None
        self._validator = Validator(project.graph, checks=[self.fit])
        self._walking = False
        self._unsubscribe = project.graph.subscribe(self._on_graph_event)
        self.scope.levels.clear()
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self._replaced_after_open = False
        self._autosave_due = False
        self.selected_ids = []
        self.graph_replaced.emit(project.graph)
        self.changed.emit()
        self.selection_changed.emit([])
        self.modified_changed.emit(False)
        self.validated.emit(self.report())
        self.scope_changed.emit(project.graph)
        self.edit_validated.emit(self.edit_report())
        if project.path != old_path:
            self.path_changed.emit(str(project.path or ""))
        self.check_data()

    def new(self) -> None:
        """Replace the document with an empty, untitled project (engine.examples.new_project:
        the iris dataset and settings that train a small network on it)."""
        self._install(new_project())

    def adopt(self, project: Project) -> None:
        """Show `project` (e.g. an imported model) as a new, modified, untitled document."""
        project.path = None
        self._install(project)
        self._replaced_after_open = True
        self.modified_changed.emit(True)

    def open(self, path: str | Path) -> None:
        """Open a project file. On ProjectError the current document is left untouched.
        Its weights are read on first use (engine.weights_lazy: what runs the model, an
        export, a save), which then raises the ProjectError naming the weights file."""
        project = load_project(path, weights="lazy")
        self.discard_recovery()
        self._install(project)

    def open_example(self, path: str | Path) -> None:
        """Open a copy of an example as a new, untitled project (weights read lazily)."""
        project = load_project(path, weights="lazy")
        project.path = None
        self._install(project)

    def close(self) -> None:
        """Clean close: stop the autosave, drop the recovery file, ignore a dataset profile
        still on its way (its views may be gone)."""
        self.saver.wait()
        self.autosave_timer.stop()
        self.discard_recovery()
        if self._profile_call is not None:
            self._profile_call.succeeded.disconnect(self._profile_ready)
            self._profile_call = None
        self._profile_key = "closed"


def _profile(key: str, config: dict, folder: Path):
    return key, profile_dataset(config, folder)   # never raises


__all__ = ["AUTOSAVE_MS", "Document", "recovery_dir", "recovery_path_for"]
