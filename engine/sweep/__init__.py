"""Sweeps: Optuna studies over a project's training settings and layer parameters.

    from engine.sweep import run_trials, SweepOptions
    run_trials(project, SweepOptions(trials=12))

The searched settings live in the project's `sweep` section (space.py documents it); every
trial trains into a normal run folder; studies live in an Optuna storage (study.py) that
several processes and machines can share. Importing this package imports neither torch nor
Optuna.
"""
from __future__ import annotations

from importlib import import_module

_LAZY = {
    "SweepError": "space", "Dimension": "space", "space": "space", "settings": "space",
    "apply_values": "space", "node_key": "space", "training_key": "space",
    "SweepOptions": "runner", "TrialOutcome": "runner", "run_trials": "runner",
    "load_study": "study", "default_storage": "study", "default_study_name": "study",
    "records": "results", "StudyView": "results", "TrialRecord": "results",
}

__all__ = sorted(_LAZY)  # noqa: PLE0605


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
