"""The main window's file commands: New, New from Example, Open, Save, Save As, the recent
files, and the offer to restore unsaved work after a crash. A failure is one message box
naming the file; the open document is kept."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from engine.project import ProjectError

from .lazy_widgets import load_widget

MAX_RECENT = 8
FILE_FILTER = "Studio projects (*.nnproj);;All files (*)"


class FileActions:
    """Mixed into MainWindow: uses its `document`, `settings`, `panels`, `recent_menu`,
    `log_event` and `show_message`."""

    def confirm_discard(self) -> bool:
        """Ask to stop an active training run, then to save unsaved changes (the run's
        weights among them). True if the caller may go on."""
        self.finish_saving()   # its outcome first: the file on disk, a failure's message
        training = self.panels.get("training")
        if callable(getattr(training, "is_running", None)) and training.is_running():
            answer = QMessageBox.question(
                self, "Training is running",
                f"Stop the training run of '{self.document.name}'? What it has learned so "
                f"far stays in the model (Ctrl+Z takes it back).",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return False
            training.stop_and_wait()
        if not self.document.modified:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes",
            f"Save the changes to '{self.document.name}' before closing it?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save(wait=True)
        return answer == QMessageBox.StandardButton.Discard

    def new_file(self) -> None:
        if self.confirm_discard():
            self.document.discard_recovery()
            self.document.new()

    def new_from_example(self) -> None:
        if not self.confirm_discard():
            return
        dialog = load_widget("studio.ui.dialogs.gallery", "ExampleGallery", self)
        if dialog is None:
            self.show_message("The example gallery is not available")
            return
        result = dialog.exec()
        path = result if isinstance(result, (str, Path)) else \
            (dialog.chosen_path() if result and hasattr(dialog, "chosen_path") else None)
        if path:
            try:
                self.document.open_example(path)
            except ProjectError as exc:
                QMessageBox.critical(self, "Cannot open the example", str(exc))

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        start = str(self.document.path.parent) if self.document.path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open project", start, FILE_FILTER)
        if path:
            self.open_file(path, ask_unsaved=False)

    def open_file(self, path: str | Path, ask_unsaved: bool = True) -> bool:
        """Open a project; on failure show the ProjectError and keep the current document."""
        if ask_unsaved and not self.confirm_discard():
            return False
        try:
            self.document.open(path)
        except ProjectError as exc:
            QMessageBox.critical(self, "Cannot open the project", str(exc))
            self.log_event(f"Open failed: {exc}")
            return False
        self._add_recent(str(Path(path).resolve()))
        self.log_event(f"Opened {path}")
        return True

    def save(self, wait: bool = False) -> bool:
        """Save (Save As for a new project) off the GUI thread, progress in the status bar.
        True when the save started (`wait`: when it ended well)."""
        if not self.document.path:
            return self.save_as_dialog(wait)
        return self._save_to(self.document.path, wait)

    def save_as_dialog(self, wait: bool = False) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save project as",
                                              f"{self.document.name}.nnproj", FILE_FILTER)
        return bool(path) and self._save_to(path, wait)

    def _save_to(self, path, wait: bool = False) -> bool:
        """Start saving to `path` (one save at a time: a second is refused with a sentence).
        A failure is one message naming the file; the document is kept as it is."""
        saver, outcome = self.document.saver, []

        def done(saved: Path) -> None:
            outcome.append(True)
            self._add_recent(str(saved.resolve()))
            self.log_event(f"Saved {saved}")

        def failed(message: str, weights_unreadable: bool) -> None:
            if weights_unreadable:   # the weights file was damaged or replaced since the open
                outcome.append(self._save_without_weights(message)
                               and self._save_to(path, wait=True))
                return
            outcome.append(False)
            QMessageBox.critical(self, "Cannot save the project", message)
            self.log_event(f"Save failed: {message}")

        if not saver.start(path, done, failed):
            self.show_message(saver.busy_message())
            return False
        if wait:
            saver.wait()
            return bool(outcome and outcome[-1])
        return True

    def finish_saving(self) -> None:
        """Wait for a save under way (closing the project or the window)."""
        if self.document.saver.busy:
            self.show_message("Finishing the save…")
            self.document.saver.wait()

    def _save_without_weights(self, problem: str) -> bool:
        """The weights of a project opened lazily cannot be read any more: save the rest
        without them only if the user says so (undoable; the weights file is left alone)."""
        answer = QMessageBox.question(
            self, "Cannot save the weights",
            f"{problem}\n\nSave the project without its weights? The weights file is left "
            "as it is; Undo brings the weights back into the model.",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Save:
            return False
        return self.document.drop_weights()

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: str) -> None:
        files = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent_files", files[:MAX_RECENT])

    def _fill_recent(self) -> None:
        menu: QMenu = self.recent_menu
        menu.clear()
        files = [p for p in self.recent_files() if Path(p).exists()]
        for p in files:
            menu.addAction(Path(p).name, lambda p=p: self.open_file(p)).setToolTip(p)
        if not files:
            menu.addAction("(none)").setEnabled(False)

    def offer_recovery(self, path: str | Path | None) -> bool:
        """If an autosave newer than the saved file exists, offer to restore it."""
        rec = self.document.pending_recovery(path)
        if rec is None:
            return False
        answer = QMessageBox.question(
            self, "Restore unsaved work?",
            f"Studio found unsaved changes to '{Path(path).name if path else 'untitled'}' "
            "from a session that did not close normally. Restore them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes)
        if answer != QMessageBox.StandardButton.Yes:
            rec.unlink(missing_ok=True)
            return False
        try:
            self.document.restore_recovery(rec, path)
        except ProjectError as exc:
            QMessageBox.warning(self, "Cannot restore", str(exc))
            return False
        self.log_event("Restored unsaved changes from the recovery file")
        return True
