"""Runs of a project that has no file yet: they are written to temporary folders and move
beside the project (`<project>.runs/run-N`) when it is saved, so they are kept with it."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from engine.train.run_folder import new_run_dir


class UnsavedRuns:
    """`new()` gives the folder of a run about to start; `ended()` when it is over;
    `move_to(runs_dir)` moves the ended runs into the project's runs folder, in order."""

    def __init__(self):
        self.ended_dirs: list[Path] = []
        self.active: Path | None = None

    def dirs(self) -> list[Path]:
        """The runs to list (the active one last), those still on disk."""
        runs = self.ended_dirs + ([self.active] if self.active else [])
        return [d for d in runs if d.is_dir()]

    def new(self) -> Path:
        self.active = Path(tempfile.mkdtemp(prefix="studio-run-"))
        return self.active

    def ended(self) -> None:
        if self.active is not None:
            self.ended_dirs.append(self.active)
            self.active = None

    def move_to(self, runs_dir: Path) -> list[Path]:
        """Move each ended run to the next free `run-N` under `runs_dir` (a run still active
        stays where it writes until it ends). Returns the new folders; a run that cannot be
        moved stays listed here."""
        moved, left = [], []
        for src in self.ended_dirs:
            if not src.is_dir():
                continue
            try:
                target = new_run_dir(runs_dir)
                for child in src.iterdir():
                    shutil.move(str(child), str(target / child.name))
                src.rmdir()
            except OSError:
                left.append(src)
                continue
            moved.append(target)
        self.ended_dirs = left
        return moved
