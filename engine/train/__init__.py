"""Training: the Trainer, its config schema, events, metrics and utilities.

Importing this package does not import torch; `Trainer` and the rest load on first use.
"""
from __future__ import annotations

from importlib import import_module

_LAZY = {
    "Trainer": "trainer", "FitResult": "trainer", "TrainError": "faults",
    "ConfigError": "config", "resolve_config": "config", "DEFAULTS": "config",
    "TrainEvent": "events", "KINDS": "events", "most_similar": "embeddings",
}

__all__ = sorted(_LAZY)  # noqa: PLE0605


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
