"""Undoable edits of the project's training/dataset/sweep settings (not part of the graph)."""
from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

_MISSING = object()
SECTIONS = ("training", "dataset", "sweep")


def get_setting(project, section: str, path: tuple[str, ...], default: Any = None) -> Any:
    """project.<section>[path[0]][path[1]]...; `default` when any level is missing."""
    node: Any = getattr(project, section)
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _set(root: dict, path: tuple[str, ...], value: Any) -> None:
    """Set root[path] (parents made as needed); removing the last key of a nested object
    removes the emptied object too, so that undo leaves no {} behind."""
    nodes = [root]
    for key in path[:-1]:
        if not isinstance(nodes[-1].get(key), dict):
            nodes[-1][key] = {}
        nodes.append(nodes[-1][key])
    if value is not _MISSING:
        nodes[-1][path[-1]] = copy.deepcopy(value)
        return
    nodes[-1].pop(path[-1], None)
    for parent, key, node in zip(nodes[-2::-1], path[-2::-1], nodes[:0:-1]):
        if node:
            break
        parent.pop(key, None)


def _copy(value: Any) -> Any:
    return value if value is _MISSING else copy.deepcopy(value)


class SetProjectSettingCommand(QUndoCommand):
    """Set `project.training` / `project.dataset` at a key path (`("optimizer", "lr")`) to a
    value; `None` removes the key. An empty path replaces the whole section. Consecutive edits
    of the same key merge into one undo step."""

    MERGE_ID = 0x7A1

    def __init__(self, document, section: str, path, value: Any, text: str | None = None):
        if section not in SECTIONS:
            raise ValueError(f"unknown settings section {section!r}")
        path = (path,) if isinstance(path, str) else tuple(path)
        super().__init__(text or f"Set {section}.{'.'.join(path) or '*'}")
        self.document, self.section, self.path = document, section, path
        old = get_setting(document.project, section, path, _MISSING)
        self.old = old if old is _MISSING else copy.deepcopy(old)
        self.new = _MISSING if value is None else copy.deepcopy(value)

    def _write(self, value: Any) -> None:
        project = self.document.project
        if not self.path:
            setattr(project, self.section, {} if value is _MISSING else _copy(value))
        else:
            _set(getattr(project, self.section), self.path, value)
        notify = getattr(self.document, "settings_changed", None)
        if notify is not None and hasattr(notify, "emit"):
            notify.emit(self.section)

    def redo(self) -> None:
        self._write(self.new)

    def undo(self) -> None:
        self._write(self.old)

    def id(self) -> int:
        return self.MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetProjectSettingCommand) or \
                (other.section, other.path) != (self.section, self.path):
            return False
        self.new = other.new
        return True
