"""The main window: palette (left), canvas (centre), inspector (right), and Summary /
Problems / Training / Log tabs at the bottom; menus, shortcuts, files, recovery."""
from __future__ import annotations

import importlib
import math
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QPoint, QPointF, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QUndoView,
    QWidget,
)

from ..document import Document
from .canvas import GraphScene, GraphView
from .canvas.blocks import BlockEditor, Breadcrumb, canvas_with_breadcrumb
from .canvas.editor import CanvasEditor
from .file_actions import FileActions
from .lazy_widgets import AfterFirstPaint, load_widget
from .teaching.lesson_note import LessonNote
from .teaching.probe_menu import WireProbeMenu
from .theme import apply_theme, current_name, style_plots
from .transfer import TransferActions
from .window_panels import WindowPanels

ICON_PATH = Path(__file__).resolve().parents[2] / "resources" / "icons" / "studio.svg"


class MainWindow(FileActions, WindowPanels, QMainWindow):
    """Signals: selection_changed(list[str]) with the selected node ids; train_requested()
    on Ctrl+Enter / Model > Train (the training panel connects to it)."""

    selection_changed = Signal(list)
    train_requested = Signal()

    def __init__(self, document: Document | None = None, settings: QSettings | None = None,
                 lazy_panels: bool = False):
        super().__init__()
        self.document = document or Document(parent=self)
        self.settings = settings or QSettings()
        self.setObjectName("main_window")
        self.setWindowIcon(QIcon(str(ICON_PATH)))
        self.setDockOptions(QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AnimatedDocks)
        self.scene = GraphScene(self.document, self)
        self.view = GraphView(self.scene, self)
        self.editor = CanvasEditor(self.view)
        self.blocks = BlockEditor(self.view)
        self.transfer = TransferActions(self)
        central = canvas_with_breadcrumb(self.view, Breadcrumb(self.document, self.blocks))
        self.lesson_note = LessonNote(self.document)
        central.layout().insertWidget(0, self.lesson_note)
        self.probe_menu = WireProbeMenu(self.view, self.document)
        self.setCentralWidget(central)
        self.docks: dict[str, QDockWidget] = {}
        self.panels: dict[str, QWidget] = {}
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_status()
        self._connect()
        self._update_title()
        self._had_saved_layout = isinstance(self.settings.value("window/state"), QByteArray)
        self._shown_once = False
        self._default_geometry()
        self.restore_layout()
        self.after_paint = AfterFirstPaint(self)   # start-up work once the window is on screen
        self._init_panels(lazy_panels)

    # actions --------------------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, tip: str = "",
                canvas_only: bool = False) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            act.setShortcuts([QKeySequence(k) for k in keys])
        if tip:
            act.setStatusTip(tip)
        if canvas_only:  # single-key shortcuts must not fire while typing in a field
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.view.addAction(act)
        act.triggered.connect(lambda _checked=False: slot())
        return act

    def _build_actions(self) -> None:
        K, E, V = QKeySequence.StandardKey, self.editor, self.view
        stack = self.document.undo_stack
        self.act = a = {}
        a["new"] = self._action("&New", self.new_file, K.New)
        a["example"] = self._action("New from &Example…", self.new_from_example,
                                    "Ctrl+Shift+N")
        a["open"] = self._action("&Open…", self.open_dialog, K.Open)
        a["save"] = self._action("&Save", self.save, K.Save)
        a["save_as"] = self._action("Save &As…", self.save_as_dialog, "Ctrl+Shift+S")
        a["quit"] = self._action("&Quit", self.close, K.Quit)
        a["undo"] = stack.createUndoAction(self, "&Undo")
        a["undo"].setShortcut(K.Undo)
        a["redo"] = stack.createRedoAction(self, "&Redo")
        a["redo"].setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
        for key in ("undo", "redo"):   # the toolbar keeps its width ("Undo <edit>": menu)
            a[key].setIconText(a[key].text().split()[0].replace("&", ""))
        a["cut"] = self._action("Cu&t", E.cut, K.Cut, canvas_only=True)
        a["copy"] = self._action("&Copy", E.copy, K.Copy, canvas_only=True)
        a["paste"] = self._action("&Paste", E.paste, K.Paste, canvas_only=True)
        a["duplicate"] = self._action("&Duplicate", E.duplicate, "Ctrl+D", canvas_only=True)
        a["delete"] = self._action("De&lete", E.delete_selection, ["Del", "Backspace"],
                                   canvas_only=True)
        a["select_all"] = self._action("Select &All", E.select_all, K.SelectAll,
                                       canvas_only=True)
        a["rename"] = self._action("&Rename…", self._rename_selected, "F2", canvas_only=True)
        a["history"] = self._action("&History", self.show_history, "Ctrl+H")
        a["frame_all"] = self._action("Frame &All", V.frame_all, "A", canvas_only=True)
        a["frame_sel"] = self._action("&Frame Selection", V.frame_selection, "F",
                                      canvas_only=True)
        a["zoom_in"] = self._action("Zoom &In", lambda: V.zoom_by(1.2), ["Ctrl+=", "Ctrl++"])
        a["zoom_out"] = self._action("Zoom &Out", lambda: V.zoom_by(1 / 1.2), "Ctrl+-")
        a["zoom_reset"] = self._action("Actual Si&ze", lambda: V.set_zoom(1.0), "Ctrl+0")
        a["layout"] = self._action("&Auto Layout", E.auto_layout, "Ctrl+L")
        for axis, label, key in (("left", "Align &Left", "Ctrl+Shift+Left"),
                                 ("top", "Align &Top", "Ctrl+Shift+Up"),
                                 ("vcenter", "Align &Middles (row)", "Ctrl+Shift+H"),
                                 ("hcenter", "Align &Centres (column)", "Ctrl+Shift+V")):
            a[f"align_{axis}"] = self._action(label, lambda ax=axis: E.align(ax), key)
        a["snap"] = self._action("&Snap to Grid", lambda: None)
        a["snap"].setCheckable(True)
        a["snap"].setChecked(self.scene.snap_to_grid)
        a["snap"].toggled.connect(self.scene.set_snap)
        a["minimap"] = self._action("&Mini-map", lambda: None)
        a["minimap"].setCheckable(True)
        a["minimap"].setChecked(True)
        a["minimap"].toggled.connect(self.view.set_minimap_enabled)
        a["unit_heatmaps"] = self._action(
            "Unit &Heatmaps", lambda: None, tip="Inside the nodes of a model with a 2-number "
            "input: each hidden unit's value over the input plane")
        a["unit_heatmaps"].setCheckable(True)
        a["unit_heatmaps"].setChecked(True)
        a["unit_heatmaps"].toggled.connect(self._set_unit_heatmaps)
        a["quick_add"] = self._action("&Quick Add…", self.quick_add_at_cursor, "Tab",
                                      canvas_only=True)
        a["train"] = self._action("&Train", self._request_train,
                                  ["Ctrl+Return", "Ctrl+Enter"])
        B = self.blocks
        a["make_block"] = self._action("&Make Block", B.make_block, "Ctrl+G",
                                       "Turn the selected layers into a reusable block")
        a["ungroup"] = self._action("&Ungroup Block", B.ungroup, "Ctrl+Shift+G",
                                    "Replace the selected block by its layers")
        a["enter_block"] = self._action("&Open Block", B.enter, "Ctrl+Shift+Down",
                                        "Edit the selected block's type (every instance)")
        a["leave_block"] = self._action("&Back Out of Block", B.leave, "Ctrl+Shift+Up")
        a["bind_param"] = self._action("&Bind Parameter to Argument…", B.bind_parameter,
                                       tip="Inside a block: let a layer's parameter follow "
                                       "the block's arguments")
        a["save_block"] = self._action("&Save Block to Library", B.save_to_library,
                                       tip="Save the selected block type for other projects")
        a["shortcuts"] = self._action("&Keyboard Shortcuts", self.show_shortcuts, "F1")
        a["about"] = self._action("&About Studio", self.show_about)
        self.theme_group = QActionGroup(self)
        for name in ("light", "dark"):
            act = QAction(name.capitalize(), self, checkable=True)
            act.setChecked(current_name() == name)
            act.triggered.connect(lambda _c=False, n=name: self.set_theme(n))
            self.theme_group.addAction(act)
            a[f"theme_{name}"] = act

    def _build_menus(self) -> None:
        a, bar = self.act, self.menuBar()
        m = bar.addMenu("&File")
        a["pretrained"] = self._action("New from &Pretrained…", lambda: run("pretrained"),
                                       tip="Start from an ImageNet-pretrained network "
                                       "(ResNet, VGG, DenseNet, MobileNet, EfficientNet)")
        m.addActions([a["new"], a["example"], a["pretrained"], a["open"]])
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m.addSeparator()
        m.addActions([a["save"], a["save_as"]])
        m.addSeparator()
        run = lambda name: importlib.import_module(f"studio.ui.dialogs.{name}").run(self)
        a["import_model"] = self._action("&Import Model…", lambda: run("import_model"))
        a["export"] = self._action("&Export…", lambda: run("export"), "Ctrl+E")
        a["bundle"] = self._action("Export Hand-off &Bundle…", lambda: run("bundle"),
                                   tip="One zip with the script, ONNX, weights, the project "
                                   "and an HTML report")
        a["compare"] = self._action("Co&mpare with…", lambda: run("compare"),
                                    tip="Colour the canvas by what changed since another "
                                    "project file or run")
        m.addActions([a["import_model"], a["export"], a["bundle"]])
        m.addSeparator()
        m.addAction(a["compare"])
        m.addSeparator()
        m.addAction(a["quit"])
        m = bar.addMenu("&Edit")
        m.addActions([a["undo"], a["redo"]])
        m.addSeparator()
        m.addActions([a["cut"], a["copy"], a["paste"], a["duplicate"], a["delete"]])
        m.addSeparator()
        m.addActions([a["select_all"], a["rename"], a["history"]])
        m = bar.addMenu("&View")
        m.addActions([a["frame_all"], a["frame_sel"], a["zoom_in"], a["zoom_out"],
                      a["zoom_reset"]])
        m.addSeparator()
        m.addActions([a["minimap"], a["unit_heatmaps"]])
        panels = m.addMenu("&Panels")
        for dock in self.docks.values():
            panels.addAction(dock.toggleViewAction())
        theme = m.addMenu("&Theme")
        theme.addActions([a["theme_light"], a["theme_dark"]])
        m = bar.addMenu("&Arrange")
        m.addActions([a["layout"], a["align_left"], a["align_top"], a["align_vcenter"],
                      a["align_hcenter"]])
        m.addSeparator()
        m.addAction(a["snap"])
        self.model_menu = m = bar.addMenu("&Model")
        m.addActions([a["quick_add"], a["train"]])
        m.addSeparator()
        m.addActions([a["make_block"], a["ungroup"], a["enter_block"], a["leave_block"],
                      a["bind_param"], a["save_block"]])
        m.addSeparator()
        T = self.transfer
        m.addActions([T.replace_head_action, T.fine_tune_action, T.freeze_action,
                      T.unfreeze_action])   # build_insight adds What Activates a Unit…
        m = bar.addMenu("&Help")
        m.addActions([a["shortcuts"], a["about"]])
        tb = self.addToolBar("Main")
        tb.setObjectName("toolbar_main")
        tb.setMovable(False)
        tb.addActions([a["new"], a["open"], a["save"]])
        tb.addSeparator()
        tb.addActions([a["undo"], a["redo"]])
        tb.addSeparator()
        tb.addActions([a["layout"], a["frame_all"]])
        tb.addSeparator()
        tb.addAction(a["train"])

    def _build_status(self) -> None:
        self.validity = QLabel()
        self.zoom_label = QLabel("100%")
        self.statusBar().addPermanentWidget(self.validity)
        self.statusBar().addPermanentWidget(self.zoom_label)
        from .weights_progress import WeightsProgress
        self.weights_progress = WeightsProgress(self)   # weights read off the GUI thread

    def _connect(self) -> None:
        doc = self.document
        doc.path_changed.connect(lambda _p: self._update_title())
        doc.modified_changed.connect(lambda _m: self._update_title())
        doc.graph_replaced.connect(lambda _g: QTimer.singleShot(0, self.apply_saved_view))
        doc.validated.connect(self._show_validity)
        doc.error.connect(lambda text: self.log_event(f"Refused: {text}"))
        doc.selection_changed.connect(self.selection_changed.emit)
        self.view.status_message.connect(self.show_message)
        self.view.refused.connect(lambda text: self.log_event(f"Refused: {text}"))
        self.editor.status_message.connect(self.show_message)
        self.blocks.status_message.connect(self.show_message)
        self.transfer.status_message.connect(self.show_message)
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z:.0%}"))
        self.view.quick_add_requested.connect(self.quick_add)
        self._show_validity(doc.report())

    # status ------------------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        """A passing hint in the status bar ("Connected", "Copied 2 nodes")."""
        self.statusBar().showMessage(text, 8000)

    def log_event(self, text: str) -> None:
        """Something that happened (a file saved, a run ended, an error): the status bar and
        a time-stamped line in the Log tab."""
        self.statusBar().showMessage(text, 8000)
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    def _log_run(self, training, running: bool) -> None:
        if running:
            epochs = self.document.project.training.get("epochs", "?")
            self.log_event(f"Training started: {self.document.name} ({epochs} epochs)")
        else:
            self.log_event(f"Training ended: {training.status.text()}")

    def _show_validity(self, report) -> None:
        n = len(self.document.graph.nodes)
        errors = len(report.errors)
        if errors:
            self.validity.setText(f"⚠ {errors} problem{'s' if errors != 1 else ''}")
            style = "color: #d93b3b; font-weight: 600;"
        else:
            self.validity.setText(f"✓ {n} layers · {report.total_params:,} params")
            style = "color: #2f9e50;"
        if self.validity.styleSheet() != style:   # set again, it restyles and repaints
            self.validity.setStyleSheet(style)

    def _update_title(self) -> None:
        mark = "*" if self.document.modified else ""
        self.setWindowTitle(f"{self.document.name}{mark} — Studio")

    def apply_saved_view(self) -> None:
        """Zoom and centre from the project's `view` ({"zoom": z, "center": [x, y]}) when
        the file has them, else frame the graph at a readable zoom."""
        view = self.document.project.view if isinstance(self.document.project.view, dict) \
            else {}
        center, zoom = view.get("center"), view.get("zoom")
        if self.document.scope.levels:  # inside a block: the saved view is the model's
            center = None
        try:
            x, y = (float(v) for v in center)
            z = float(zoom)
            if not all(math.isfinite(v) and abs(v) < 1e9 for v in (x, y, z)) or z <= 0:
                raise ValueError("view out of range")
        except (TypeError, ValueError, OverflowError):  # e.g. float(10**400)
            self.view.frame_readable()
            return
        self.view.set_zoom(z)
        self.view.centerOn(x, y)

    def focus_node(self, node_id: str) -> None:
        item = self.scene.nodes.get(node_id)
        if item is None:
            return
        self.scene.select_ids([node_id])
        self.view.centerOn(item)

    def _rename_selected(self) -> None:
        ids = self.scene.selected_ids()
        if len(ids) == 1:
            self.editor.rename(ids[0])

    # quick add ---------------------------------------------------------------------------------
    def quick_add_at_cursor(self) -> None:
        pos = self.view.cursor_scene_pos()
        self.quick_add(self.view.mapToGlobal(self.view.mapFromScene(pos)), pos)

    def quick_add(self, global_pos: QPoint, scene_pos: QPointF) -> None:
        popup = load_widget("studio.ui.quick_add", "QuickAddPopup", self)
        if popup is None:
            self.show_message("Quick add is not available")
            return
        self._quick_add = popup
        selected = self.scene.selected_ids()
        popup.chosen.connect(lambda layer: self._quick_added(layer, scene_pos, selected))
        if hasattr(popup, "popup_at"):
            popup.popup_at(global_pos)
        else:
            popup.move(global_pos)
            popup.show()

    def _quick_added(self, layer: str, scene_pos: QPointF, selected: list[str]) -> None:
        """The chosen layer goes after the one selected node, wired to it; else at the
        cursor."""
        if len(selected) == 1 and self.editor.add_layer_after(layer, selected[0]):
            return
        self.editor.add_layer_at_cursor(layer, scene_pos)

    def _request_train(self) -> None:
        self.show_tab("training")
        self.train_requested.emit()

    # dialogs ------------------------------------------------------------------------------------
    def show_history(self) -> None:
        dock = self.docks.get("history")
        if dock is None:
            view = QUndoView(self.document.undo_stack)
            view.setEmptyLabel("<opened document>")
            dock = self._dock("history", "History", view, Qt.DockWidgetArea.RightDockWidgetArea)
        dock.show()
        dock.raise_()

    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", shortcuts_html())

    def show_about(self) -> None:
        QMessageBox.about(self, "About Studio", "<b>Studio</b> — build, train and export "
                          "neural networks visually.")

    def set_theme(self, name: str) -> None:
        apply_theme(QApplication.instance(), name)
        self.settings.setValue("theme", name)
        self.scene.restyle()
        if self.live is not None:
            self.live.redraw()
            self.unit_heatmaps.restyle()
        style_plots(self)
        self.view.viewport().update()
        self.view.minimap.update()

    # layout persistence ---------------------------------------------------------------------------
    def _default_geometry(self) -> None:
        """First run: 85% of the available screen, centred (a saved geometry overrides)."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            self.resize(1500, 950)
            return
        area = screen.availableGeometry()
        w, h = int(area.width() * 0.85), int(area.height() * 0.85)
        self.resize(max(w, 900), max(h, 600))
        self.move(area.x() + (area.width() - self.width()) // 2,
                  area.y() + (area.height() - self.height()) // 2)

    def restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._had_saved_layout and not self._shown_once:
            self._shown_once = True
            self.fit_docks_to_window()
            QTimer.singleShot(0, self.fit_docks_to_window)  # once the layout is realised
        self._queue_deferred_parts()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_discard():
            event.ignore()
            return
        self.save_layout()
        for panel in self.panels.values():  # e.g. the training panel stops its run
            if callable(getattr(panel, "shutdown", None)):
                panel.shutdown()
        if self.unit_heatmaps is not None:
            self.unit_heatmaps.wait()
        self.document.close()
        event.accept()


SHORTCUTS = [
    ("Ctrl+N", "New project"), ("Ctrl+Shift+N", "New from example"), ("Ctrl+O", "Open"),
    ("Ctrl+S", "Save"), ("Ctrl+Shift+S", "Save as"), ("Ctrl+Z", "Undo"),
    ("Ctrl+Y / Ctrl+Shift+Z", "Redo"), ("Ctrl+C / Ctrl+X / Ctrl+V", "Copy / cut / paste nodes"),
    ("Ctrl+D", "Duplicate selection"), ("Del / Backspace", "Delete selection"),
    ("F2 / double-click", "Rename node"), ("Tab / double-click empty canvas", "Quick add"),
    ("F", "Frame selection"), ("A", "Frame all"), ("Ctrl+= / Ctrl+- / wheel", "Zoom"),
    ("Ctrl+0", "Actual size"), ("Middle drag / Space+drag", "Pan"), ("Ctrl+L", "Auto layout"),
    ("Ctrl+Shift+Arrows/H/V", "Align"), ("Ctrl+H", "Edit history"),
    ("Ctrl+Enter", "Train"), ("F1", "This list"),
]


def shortcuts_html() -> str:
    rows = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS)
    return f"<table>{rows}</table>"
