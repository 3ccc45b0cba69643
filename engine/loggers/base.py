"""The shape every logger shares: a Trainer callback dispatching each typed event
(engine/train/events.py) to its `_on_<kind>` method, which never fails the run (a logger that
raises warns once and stops logging)."""
from __future__ import annotations

import warnings


class EventLogger:
    broken = False

    def __init__(self, trainer):
        self.trainer = trainer

    def __call__(self, event) -> None:
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is None or self.broken:
            return
        try:
            handler(event)
        except Exception as exc:  # noqa: BLE001 - logging never fails a training run
            self.broken = True
            warnings.warn(f"{type(self).__name__} stopped logging: {type(exc).__name__}: "
                          f"{exc}", RuntimeWarning, stacklevel=2)
