"""The main window: palette (left), canvas (centre), inspector (right), and Summary /
Problems / Training / Log tabs at the bottom; its status bar, view and layout. The menus and
actions are in `window_actions`, the file commands in `file_actions`, the docked panels in
`window_panels`."""
from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QPoint, QPointF, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
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
from .theme import apply_theme, style_plots
from .transfer import TransferActions
from .window_actions import WindowActions
from .window_panels import WindowPanels

ICON_PATH = Path(__file__).resolve().parents[2] / "resources" / "icons" / "studio.svg"


class MainWindow(WindowActions, FileActions, WindowPanels, QMainWindow):
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
