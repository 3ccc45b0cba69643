"""The main window's actions, menus and toolbar: every command a user can reach with the
mouse or a shortcut, the Help menu's shortcut list and About box."""
from __future__ import annotations

import importlib

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMessageBox

from .theme import current_name


class WindowActions:
    """Mixed into MainWindow: uses its `document`, `editor`, `view`, `scene`, `blocks`,
    `transfer`, `docks` and the commands the menus call (file commands, `show_history`,
    `set_theme`, ...). Makes `act` (name -> QAction), `theme_group`, `recent_menu` and
    `model_menu`."""

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

    def show_shortcuts(self) -> None:
        QMessageBox.information(self, "Keyboard shortcuts", shortcuts_html())

    def show_about(self) -> None:
        QMessageBox.about(self, "About Studio", "<b>Studio</b> — build, train and export "
                          "neural networks visually.")


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
