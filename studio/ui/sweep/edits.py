"""Undoable sweep edits: mark a setting as searched (or not), apply a trial's values."""
from __future__ import annotations

from typing import Any

from engine.sweep.space import SweepError, apply_values, label_for, split_key

from ...commands import SetParamCommand
from ..training.commands import SetProjectSettingCommand


def searched(document) -> dict:
    """The project's searched settings: {target key: range or choices}."""
    sweep = document.project.sweep if isinstance(document.project.sweep, dict) else {}
    space = sweep.get("space")
    return space if isinstance(space, dict) else {}


def set_search(document, key: str, entry: dict | None) -> None:
    """Search `key` over `entry` ({low, high, log, step} or {choices}); None stops searching
    it. One undo step."""
    label = label_for(document.project, key)
    text = f"Search {label}" if entry is not None else f"Stop searching {label}"
    document.push(SetProjectSettingCommand(document, "sweep", ("space", key), entry, text))


def set_sweep_option(document, name: str, value: Any) -> None:
    document.push(SetProjectSettingCommand(document, "sweep", (name,), value,
                                           f"Set sweep {name}"))


def apply_values_edit(document, values: dict[str, Any], text: str) -> None:
    """Set every target to its value as ONE undoable edit. Raises SweepError (nothing is
    changed) when a value is refused."""
    apply_values(document.project, values)     # checks all values before anything changes
    stack = document.undo_stack
    stack.beginMacro(text)
    try:
        for key, value in values.items():
            where, path = split_key(key)
            if where == "node":
                node = document.graph.nodes[path[0]]
                if node.params.get(path[1]) == value:
                    continue
                document.push(SetParamCommand(document.graph, path[0], path[1], value))
            else:
                document.push(SetProjectSettingCommand(document, "training", path, value))
    except Exception as exc:
        stack.endMacro()
        stack.undo()          # roll the partial macro back
        raise SweepError(str(exc)) from None
    stack.endMacro()
