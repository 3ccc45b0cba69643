"""The document's files: Save and Save As (off the GUI thread: studio.saving), the weights
that cannot be read any more, and the autosave/recovery file. A mixin of Document."""
from __future__ import annotations

import json
import time
from pathlib import Path

from engine.project import ProjectError, atomic_write, dumps_project, load_project
from engine.weights_lazy import unread


class DocumentFiles:
    """Mixed into Document: uses its `project`, `graph`, `saver`, `modified`, `_install`."""

    def unreadable_weights(self) -> ProjectError | None:
        """Read the weights of a project opened lazily now, if not yet: the error, naming
        the weights file, when it has since been damaged, replaced or removed (a save
        cannot carry them then). None when they are read or there are none."""
        weights = self.graph.weights
        if unread(weights):
            try:
                len(weights)
            except ProjectError as exc:
                return exc
        return None

    def drop_weights(self, text: str = "Drop the unreadable weights") -> bool:
        """The model has no weights any more (an undoable edit): for a weights file that
        cannot be read, so the rest of the project can be saved."""
        return self.set_weights({}, text)

    def save(self) -> Path:
        if not self.project.path:
            raise ProjectError("the project has no file name yet: use Save As")
        return self.save_as(self.project.path)

    def save_as(self, path: str | Path) -> Path:
        """Save now, on this thread (the window saves with `saver.start`). Raises
        ProjectError; refused while a background save runs."""
        return self.saver.save_now(path)

    def to_json(self) -> str:
        return dumps_project(self.project)

    # autosave / recovery -----------------------------------------------------------------
    def recovery_path(self) -> Path:
        from . import document  # looked up at call time: tests move the recovery folder

        return document.recovery_path_for(self.project.path)

    def autosave(self) -> Path | None:
        """Write the document to its recovery file if it changed since the last autosave."""
        if not self.modified or not self._autosave_due:
            return None
        rec = self.recovery_path()
        rec.parent.mkdir(parents=True, exist_ok=True)
        payload = json.loads(self.to_json())
        payload.setdefault("meta", {})
        payload["meta"] = dict(payload["meta"], recovery_of=str(self.project.path or ""),
                               recovery_time=time.time())
        atomic_write(rec, (json.dumps(payload, indent=1, sort_keys=True) + "\n").encode())
        self._autosave_due = False
        return rec

    def discard_recovery(self) -> None:
        try:
            self.recovery_path().unlink()
        except OSError:
            pass

    def pending_recovery(self, path: str | Path | None) -> Path | None:
        """A recovery file for `path` that is newer than the saved project, if any."""
        from . import document

        rec = document.recovery_path_for(path)
        if not rec.exists():
            return None
        if path and Path(path).exists() and rec.stat().st_mtime <= Path(path).stat().st_mtime:
            return None
        return rec

    def restore_recovery(self, rec: str | Path, path: str | Path | None) -> None:
        """Load a recovery file as the (modified, unsaved) content of `path`."""
        project = load_project(rec, weights=False)  # unreadable or damaged: ProjectError
        for key in ("recovery_of", "recovery_time"):
            project.meta.pop(key, None)
        project.path = Path(path) if path else None
        self._install(project)
        self._replaced_after_open = True
        self.modified_changed.emit(True)


__all__ = ["DocumentFiles"]
