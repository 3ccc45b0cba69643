"""Asking once per project before reading data outside the project folder.

A project file can name any path (an absolute one, `~/..`, a symlink): a file from a stranger
could make Studio read /etc/passwd as data. Such paths are read only after the user says so;
the answer is remembered per project file and per set of outside paths (a project edited to
point elsewhere asks again). A path the user picks or types in the dataset panel is their
own choice and needs no question.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox, QWidget

from engine.data.files import outside_paths

SETTINGS_GROUP = "outside_data"
SHOWN = 8


def approval_key(project, paths: list[Path]) -> str:
    where = str(project.path.resolve()) if project.path else "untitled"
    text = "\n".join([where, *sorted(map(str, paths))])
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()[:32]


def confirm_outside_data(parent: QWidget | None, project,
                         settings: QSettings | None = None) -> bool:
    """True when `project` may load its data: it reads nothing outside its folder, or the
    user allowed it (now, or earlier for the same file and paths). Sets
    project.allow_outside_data accordingly."""
    if project.allow_outside_data:
        return True
    paths = outside_paths(project.dataset, project.folder)
    if not paths:
        return True
    settings = settings or QSettings()
    key = f"{SETTINGS_GROUP}/{approval_key(project, paths)}"
    if settings.value(key, False, type=bool):
        project.allow_outside_data = True
        return True
    shown = "\n".join(f"  {p}" for p in paths[:SHOWN])
    more = f"\n  … and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    box = QMessageBox(QMessageBox.Icon.Warning, "Data outside the project folder",
                      f"This project reads data outside its folder:\n\n{shown}{more}\n\n"
                      "A project file can name any file on this computer. Allow it only "
                      "for projects you trust.", parent=parent)
    allow = box.addButton("Allow for this project", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    if box.clickedButton() is not allow:
        return False
    project.allow_outside_data = True
    settings.setValue(key, True)
    return True
