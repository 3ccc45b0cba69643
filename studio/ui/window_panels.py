"""The main window's docked panels and the parts of it built after its first paint.

The docks get placeholders first; `load_panels` puts the real widgets in and wires them. With
`lazy_panels` (the app's start-up) only the palette is built before the window first paints;
the canvas's training insight (live thumbnails, unit heatmaps, What Activates a Unit: they
import numpy) and the other panels follow, one step per event-loop turn, so the window is on
screen first and repaints and takes input between the steps. Their modules are imported on a
thread first (`background_imports`), and a panel that can (TrainingPanel's `in_steps`) is
built one part per turn."""
from __future__ import annotations

import importlib
import inspect
import time
import traceback

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QPlainTextEdit, QWidget

from .lazy_widgets import BackgroundImports, load_widget, placeholder
from .theme import style_plots

AREAS = {"left": Qt.DockWidgetArea.LeftDockWidgetArea,
         "right": Qt.DockWidgetArea.RightDockWidgetArea,
         "bottom": Qt.DockWidgetArea.BottomDockWidgetArea}


class WindowPanels:
    """Mixed into MainWindow: uses its `document`, `scene`, `view`, `editor`, `act`,
    `model_menu`, `after_paint`, `_action`, `focus_node`, `_log_run` and
    `_had_saved_layout`."""

    PANELS = (  # key, title, module, class, area
        ("palette", "Layers", "studio.ui.palette", "PaletteWidget", "left"),
        ("inspector", "Inspector", "studio.ui.inspector", "InspectorWidget", "right"),
        ("summary", "Summary", "studio.ui.panels.summary", "SummaryPanel", "bottom"),
        ("problems", "Problems", "studio.ui.panels.problems", "ProblemsPanel", "bottom"),
        ("training", "Training", "studio.ui.training.panel", "TrainingPanel", "bottom"),
        ("sweep", "Sweep", "studio.ui.sweep.panel", "SweepPanel", "bottom"),
    )
    # imported inside the panels' and the insight's constructors, or by the wiring
    LATER_IMPORTS = ("numpy", "studio.ui.canvas.live_overlay", "studio.ui.canvas.unit_heatmaps",
                     "studio.ui.teaching.unit_view", "studio.ui.teaching.size_sandbox",
                     "studio.ui.teaching.boundary_plot", "studio.ui.teaching.health_view",
                     "studio.ui.sweep.marks")
    TRAINING_SHARE = 0.45  # of the window height, for curves and feature maps
    # built in the start-up only when its tab is opened: behind another tab, its charts
    # (60 ms each to make) would freeze the window for nothing
    BUILT_WHEN_OPENED = ("sweep",)

    def _init_panels(self, lazy: bool) -> None:
        """Called at the end of MainWindow.__init__, once the actions and menus exist."""
        self._lazy_panels = lazy
        self._panels_loaded = False
        self._panels_queued = False
        self._built: set[str] = set()
        self._when_opened: set[str] = set()   # BUILT_WHEN_OPENED, waiting for their tab
        self.background_imports = BackgroundImports()   # start-up imports (lazy_panels)
        self.live = self.unit_heatmaps = self.unit_menu = None   # build_insight
        self.health = None   # training health warnings (load_panels)
        if lazy:
            self._build_panel("palette")   # light, and what a user looks for first
        else:
            self.load_panels()

    # docks ---------------------------------------------------------------------------------------
    def _dock(self, key: str, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{key}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[key] = dock
        self.panels[key] = widget
        return dock

    def _build_docks(self) -> None:
        """Docks with placeholders; `load_panels` puts the real widgets in."""
        first = None
        for key, title, _module, _cls, area in self.PANELS:
            dock = self._dock(key, title, placeholder(f"{title}…"), AREAS[area])
            if area == "bottom":
                if first is None:
                    first = dock
                else:
                    self.tabifyDockWidget(first, dock)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setObjectName("log")
        self.tabifyDockWidget(first, self._dock("log", "Log", self.log, AREAS["bottom"]))
        self.resizeDocks([self.docks["palette"], self.docks["inspector"]], [230, 370],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([first], [290], Qt.Orientation.Vertical)
        first.raise_()

    # the canvas's training insight ----------------------------------------------------------------
    def build_insight(self) -> None:
        """Live activation thumbnails and gradient tints, unit heatmaps, and What Activates a
        Unit… (the node menu and the Model menu). Once; `load_panels` needs them."""
        if self.live is not None:
            return
        from .canvas.live_overlay import LiveOverlay
        from .canvas.unit_heatmaps import UnitHeatmaps
        from .teaching.unit_view import UnitMenu

        self.live = LiveOverlay(self.scene, self.view)
        self.unit_heatmaps = UnitHeatmaps(self.scene, self.view)
        if not self.act["unit_heatmaps"].isChecked():   # turned off before they were built
            self.unit_heatmaps.set_enabled(False)
        self.unit_menu = UnitMenu(self)   # wraps the canvas menu TransferActions set
        self.model_menu.addSeparator()
        self.model_menu.addAction(self._action(
            UnitMenu.LABEL, self.unit_menu.open_selected,
            tip="What drives one unit of the selected layer highest"))

    def _set_unit_heatmaps(self, on: bool) -> None:
        if self.unit_heatmaps is not None:
            self.unit_heatmaps.set_enabled(on)

    # panels --------------------------------------------------------------------------------------
    def load_panels(self, keys: tuple[str, ...] | None = None) -> None:
        """Build the palette, inspector and bottom panels (each optional) and wire them;
        `keys` limits which are built (the others keep their placeholder)."""
        if self._panels_loaded:
            return
        self._panels_loaded = True
        self.build_insight()
        for key, *_rest in self.PANELS:
            wanted = key in keys if keys is not None else key not in self._when_opened
            if wanted and key not in self._built:
                self._build_panel(key)
        problems = self.panels.get("problems")
        if hasattr(problems, "node_activated"):
            problems.node_activated.connect(self.focus_node)
        training = self.panels.get("training")
        if hasattr(training, "node_highlight"):
            training.node_highlight.connect(self.focus_node)
        if hasattr(training, "running_changed"):
            training.running_changed.connect(
                lambda on: on and self.ensure_training_room())
            training.running_changed.connect(lambda on: on and self.live.clear())
            training.running_changed.connect(lambda on: self._log_run(training, on))
        if hasattr(training, "extra_callbacks"):
            self.unit_heatmaps.attach(training)
        if hasattr(training, "activations"):
            training.activations.connect(self.live.show_activation)
        if hasattr(training, "grad_norms"):
            training.grad_norms.connect(self.live.show_grad_norms)
        from .teaching.health_view import install as install_health

        self.health = install_health(self, training, problems)
        self.docks["training"].visibilityChanged.connect(self._training_tab_shown)
        if "sweep" in self.docks:  # the sweep's table and charts want the same room
            self.docks["sweep"].visibilityChanged.connect(self._sweep_tab_shown)
        style_plots(self)
        for name in ("start_training", "start", "train"):
            if callable(getattr(training, name, None)):
                self.train_requested.connect(getattr(training, name))
                break

    def _build_panel(self, key: str) -> None:
        module, cls = next(p[2:4] for p in self.PANELS if p[0] == key)
        widget = load_widget(module, cls, self if key == "palette" else self.document)
        self._install_panel(key, widget)

    def _install_panel(self, key: str, widget: QWidget | None) -> None:
        if widget is None:
            title = next(p[1] for p in self.PANELS if p[0] == key)
            widget = placeholder(f"{title} panel is not available")
        self.docks[key].setWidget(widget)
        self.panels[key] = widget
        self._built.add(key)
        if key == "palette" and hasattr(widget, "layer_activated"):
            widget.layer_activated.connect(self.editor.add_layer_at_cursor)
        if key == "palette" and hasattr(widget, "set_document"):
            widget.set_document(self.document)

    def _build_panel_in_steps(self, key: str):
        """A start-up step (a generator, see AfterFirstPaint): builds the panel one part per
        event-loop turn if its class can (an `in_steps` argument), else at once; it goes in
        its dock when complete. A part that fails leaves the placeholder: `load_panels`
        tries once more."""
        if key in self._built:
            return
        module, cls = next(p[2:4] for p in self.PANELS if p[0] == key)
        try:
            klass = getattr(importlib.import_module(module), cls)
            stepped = "in_steps" in inspect.signature(klass).parameters
        except Exception:  # noqa: BLE001 (load_widget reports it)
            stepped = False
        if not stepped:
            self._build_panel(key)
            return
        widget = None
        try:   # made in its dock, so its parts are styled once, as each goes in
            widget = klass(self.document, parent=self.docks[key], in_steps=True)
            for part in widget.build_steps:
                yield part
                if key in self._built:   # built at once meanwhile
                    widget.deleteLater()
                    return
        except Exception:  # noqa: BLE001 - a broken panel must not stop the start-up
            traceback.print_exc()
            if widget is not None:
                widget.deleteLater()
            return
        self._install_hidden(key, widget)

    def _install_hidden(self, key: str, widget: QWidget) -> None:
        """Put a panel built during start-up in its dock, its contents shown once the dock
        is: a dock behind another's tab counts as visible to Qt (and setWidget shows what it
        is given), and showing the contents there would style and lay out all of them, and
        make their plots, in one turn nobody sees."""
        dock = self.docks[key]
        contents = [c for c in widget.findChildren(
            QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly) if not c.isHidden()]
        for child in contents:
            child.hide()

        def show_contents() -> None:
            for child in contents:
                child.show()

        self._install_panel(key, widget)
        if not dock.visibleRegion().isEmpty():
            QTimer.singleShot(0, show_contents)
            return

        def shown(visible: bool) -> None:
            if visible:
                dock.visibilityChanged.disconnect(shown)
                show_contents()
        dock.visibilityChanged.connect(shown)

    def _queue_deferred_parts(self) -> None:
        """On the first show with `lazy_panels`: once the window has painted, the modules of
        the insight and the panels are imported on a thread; then, each waiting for its
        modules, the training insight, each panel (in parts if it can), then the wiring (the
        app queues opening the document before these)."""
        if not self._lazy_panels or self._panels_loaded or self._panels_queued:
            return
        self._panels_queued = True
        imports = self.background_imports
        modules = (*self.LATER_IMPORTS, *(p[2] for p in self.PANELS))
        self.after_paint.add(lambda: imports.request(modules), "import the panels (thread)")
        self.after_paint.add(lambda: imports.wait(self.LATER_IMPORTS[:4]),
                             "wait for the insight's imports")
        self.after_paint.add(lambda: self._panels_loaded or self.build_insight(),
                             "build the canvas's training insight")
        for key, _title, module, _cls, _area in self.PANELS:
            if key == "training":   # the big ones: while no other thread wants the GIL
                self.after_paint.add(self._while_data_profiled, "wait for the data profile")
            self.after_paint.add(lambda m=module: imports.wait([m]), f"wait for {module}")
            if key in self.BUILT_WHEN_OPENED:
                self.after_paint.add(lambda k=key: self._build_when_opened(k),
                                     f"build the {key} panel when its tab is opened")
                continue
            self.after_paint.add(lambda k=key: self._build_panel_in_steps(k),
                                 f"build the {key} panel")
        self.after_paint.add(lambda: imports.wait(), "wait for the last imports")
        self.after_paint.add(self.load_panels, "wire the panels")
        self.after_paint.arm()

    def _build_when_opened(self, key: str) -> None:
        """A start-up step: build the panel now if its dock is in view, else once its tab
        is first opened (then in parts, ahead of the start-up steps still queued)."""
        dock = self.docks[key]
        if key in self._built:
            return
        if not dock.visibleRegion().isEmpty():
            self.after_paint.add(lambda: self._build_panel_in_steps(key),
                                 f"build the {key} panel", first=True)
            return
        self._when_opened.add(key)
        module = next(p[2] for p in self.PANELS if p[0] == key)

        def build():
            yield from self.background_imports.wait([module])   # if opened that early
            yield from self._build_panel_in_steps(key)

        def shown(visible: bool) -> None:
            if visible:   # its tab opened (a dock behind a tab is hidden to this signal)
                dock.visibilityChanged.disconnect(shown)
                self._when_opened.discard(key)
                self.after_paint.add(build, f"build the {key} panel (its tab opened)",
                                     first=True)
        dock.visibilityChanged.connect(shown)

    def _while_data_profiled(self, limit_s: float = 3.0):
        """A start-up step: waits (the event loop idles) while the document's dataset is
        profiled on a thread, at most `limit_s`. A GUI turn that runs beside a busy Python
        thread takes about twice its CPU time: the two share the GIL."""
        end = time.monotonic() + limit_s
        while getattr(self.document, "data_pending", False) and time.monotonic() < end:
            yield 20

    # dock sizes ----------------------------------------------------------------------------------
    def fit_docks_to_window(self) -> None:
        """Default dock sizes for the window's size: the side panels and the bottom tabs take
        a share of it, so the canvas keeps most of a small window (a saved layout wins)."""
        w, h = self.width(), self.height()
        clamp = lambda v, lo, hi: int(max(lo, min(hi, v)))
        self.resizeDocks([self.docks["palette"], self.docks["inspector"]],
                         [clamp(0.16 * w, 170, 240), clamp(0.25 * w, 300, 380)],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["summary"]], [clamp(0.3 * h, 190, 320)],
                         Qt.Orientation.Vertical)
        for key in ("training", "sweep"):  # a shown plot tab keeps its room
            self.ensure_training_room(key)

    def ensure_training_room(self, key: str = "training") -> None:
        """Grow the bottom dock to at least TRAINING_SHARE of the window height."""
        dock = self.docks.get(key)
        if dock is None or dock.isFloating() or dock.visibleRegion().isEmpty():
            return  # floating, or behind another tab
        want = int(self.height() * self.TRAINING_SHARE)
        if dock.height() < want:
            self.resizeDocks([dock], [want], Qt.Orientation.Vertical)

    def _sweep_tab_shown(self, visible: bool) -> None:
        if visible and not self._had_saved_layout:
            QTimer.singleShot(0, self, lambda: self.ensure_training_room("sweep"))

    def _training_tab_shown(self, visible: bool) -> None:
        # a layout the user saved is kept; only the first-run default grows
        if visible and not self._had_saved_layout:
            QTimer.singleShot(0, self, self.ensure_training_room)

    def show_tab(self, key: str) -> None:
        dock = self.docks.get(key)
        if dock is not None:
            dock.show()
            dock.raise_()
