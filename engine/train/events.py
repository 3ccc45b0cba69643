"""Training events: what a Trainer tells its callbacks (the GUI turns them into Qt signals).

A callback is any callable taking one `TrainEvent`. Events are emitted on the training thread;
"batch" events are coalesced to at most one per `Trainer.event_interval` seconds, so a
callback may do modest work without slowing training.

Kinds and their `data` keys:
  started     run_dir, epochs, steps_per_epoch, train_size, val_size, device, config,
              notes (sentences for the user, e.g. that TensorBoard logs are off)
  batch       epoch, step, global_step, loss, lr, samples_per_s, eta_s, [metric names]
  epoch       epoch, loss, val_loss, lr, elapsed_s, samples_per_s, val_<metric> ...,
              <metric> (train) ...
  grad_norms  global_step, norms: {node_id: float}  (L2 norm of each node's gradients)
  activations global_step, node_id, array: numpy array of the node's output on the fixed
              sample(s) (first dim = sample), layer weights for first-layer filters in
              `weights` when available
  checkpoint  path, kind ('last' | 'best'), epoch
  paused / resumed   global_step
  finished    reason ('completed' | 'stopped' | 'early_stopping'), epochs_run, best_epoch,
              best (dict of the best epoch's metrics), run_dir
  failed      message (one sentence naming step/file/node), traceback (str), node_id
              (or None), global_step, kind ('nan' | 'data' | 'forward' | 'oom' | 'error')
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

KINDS = ("started", "batch", "epoch", "grad_norms", "activations", "checkpoint", "paused",
         "resumed", "finished", "failed")


@dataclass(frozen=True)
class TrainEvent:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


Callback = Callable[[TrainEvent], None]


class Throttle:
    """True at most once per `interval` seconds (the first call is always True)."""

    def __init__(self, interval: float):
        self.interval = interval
        self._last = float("-inf")

    def ready(self) -> bool:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            return True
        return False
