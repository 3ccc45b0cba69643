"""Training events: what a Trainer tells its callbacks (the GUI turns them into Qt signals).

A callback is any callable taking one event. Events are emitted on the training thread;
`BatchEnded` is coalesced to at most one per `event_interval` seconds (a training setting),
so a callback may do modest work without slowing training. Every event is a frozen dataclass below, with
`kind` (a class constant: 'started', 'batch', ...) and `time` (wall clock, seconds); tell
them apart with `isinstance` or `kind`:

    def on_event(event):
        if isinstance(event, EpochEnded):
            print(event.epoch, event.metrics["loss"], event.metrics.get("val_accuracy"))

`as_dict(event)` gives the plain fields (for logs).
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class TrainEvent:
    """The base of every training event."""

    kind: ClassVar[str] = ""
    time: float = field(default_factory=time.time, kw_only=True)


@dataclass(frozen=True)
class RunStarted(TrainEvent):
    """The data is loaded and the model built; the first batch comes next."""

    kind: ClassVar[str] = "started"
    run_dir: str | None          # the run folder (None: nothing is written)
    epochs: int                  # the configured number of epochs
    steps_per_epoch: int
    train_size: int
    val_size: int
    device: str
    config: dict                 # the resolved training config (config.py)
    start_epoch: int = 0         # > 0 when resuming a run
    world_size: int = 1          # processes of a distributed run
    frozen: tuple[str, ...] = ()     # node ids whose weights are not trained
    losses: tuple[str, ...] = ()     # the loss of each Output
    metrics: tuple[str, ...] = ()    # the metrics reported per epoch
    init_weights: str | None = None  # what fine-tuning weights were loaded, in words
    notes: tuple[str, ...] = ()      # sentences for the user, e.g. that TensorBoard logs are off


@dataclass(frozen=True)
class BatchEnded(TrainEvent):
    """A training step ended (coalesced: not every step is reported)."""

    kind: ClassVar[str] = "batch"
    epoch: int                   # 1-based
    step: int                    # 1-based within the epoch
    global_step: int
    loss: float                  # the epoch's running mean training loss so far
    lr: float
    samples_per_s: float
    eta_s: float                 # estimated seconds to the end of the run
    steps_per_epoch: int
    metrics: dict[str, float] = field(default_factory=dict)  # other per-step values


@dataclass(frozen=True)
class EpochEnded(TrainEvent):
    """An epoch ended. `metrics` is its row as in the history and metrics.jsonl: epoch,
    loss, lr, elapsed_s, samples_per_s, val_loss and val_<metric> (with validation data),
    <metric> (on the training data); with several outputs, metric names are prefixed with
    the Output's name."""

    kind: ClassVar[str] = "epoch"
    epoch: int
    metrics: dict[str, Any]

    @property
    def loss(self) -> float:
        return self.metrics["loss"]


@dataclass(frozen=True)
class GradNorms(TrainEvent):
    """The L2 norm of each node's gradients at a reported batch."""

    kind: ClassVar[str] = "grad_norms"
    global_step: int
    norms: dict[str, float]      # node id -> norm


@dataclass(frozen=True)
class ActivationSnapshot(TrainEvent):
    """A watched node's output on the fixed sample (`Trainer.watch`)."""

    kind: ClassVar[str] = "activations"
    global_step: int
    node_id: str
    array: Any                   # numpy array, first dim = sample
    weights: Any = None          # the node's filters (numpy) for conv and RBM layers


@dataclass(frozen=True)
class LatentSnapshot(TrainEvent):
    """A VAE's latent space after an epoch (vae.py): the codes μ of fixed validation samples,
    their class labels (when the dataset has them), and the decoder's outputs across the
    latent plane (an n×n grid at the prior's quantiles, row by row from the top)."""

    kind: ClassVar[str] = "latent"
    epoch: int
    codes: Any                   # numpy (n, latent)
    labels: Any                  # numpy (n,) class ids, or None
    tiles: Any                   # numpy (grid², h, w) decoded images
    class_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class GanSnapshot(TrainEvent):
    """A GAN after an epoch (gan.py): the epoch's mean discriminator and generator losses,
    mean D(x) and D(G(z)) as probabilities, the generator's samples of a fixed noise batch,
    and their spread relative to the real data's (low: the samples look alike, a hint of
    mode collapse)."""

    kind: ClassVar[str] = "gan"
    epoch: int
    d_loss: float
    g_loss: float
    d_real: float
    d_fake: float
    tiles: Any                   # numpy (64, h, w)
    spread: float
    collapse: bool


@dataclass(frozen=True)
class CheckpointSaved(TrainEvent):
    kind: ClassVar[str] = "checkpoint"
    path: str
    which: str                   # 'last' | 'best'
    epoch: int


@dataclass(frozen=True)
class Paused(TrainEvent):
    kind: ClassVar[str] = "paused"
    global_step: int


@dataclass(frozen=True)
class Resumed(TrainEvent):
    kind: ClassVar[str] = "resumed"
    global_step: int


@dataclass(frozen=True)
class RunFinished(TrainEvent):
    """The run ended without an error."""

    kind: ClassVar[str] = "finished"
    reason: str                  # 'completed' | 'stopped' | 'early_stopping'
    epochs_run: int
    best_epoch: int | None = None
    best: dict[str, Any] = field(default_factory=dict)  # the best epoch's metrics row
    run_dir: str | None = None


@dataclass(frozen=True)
class RunFailed(TrainEvent):
    """The run failed; `message` is one sentence naming the step, file or node."""

    kind: ClassVar[str] = "failed"
    message: str
    cause: str = "error"         # 'nan' | 'data' | 'forward' | 'oom' | 'error'
    node_id: str | None = None   # the graph node to blame, when known
    global_step: int | None = None
    traceback: str = ""
    run_dir: str | None = None


EVENT_TYPES: tuple[type[TrainEvent], ...] = (
    RunStarted, BatchEnded, EpochEnded, GradNorms, ActivationSnapshot, CheckpointSaved,
    Paused, Resumed, RunFinished, RunFailed)
KINDS = tuple(t.kind for t in EVENT_TYPES)

Callback = Callable[[TrainEvent], None]


def as_dict(event: TrainEvent) -> dict[str, Any]:
    """The event's fields and its kind, e.g. for a JSON log."""
    return {"kind": event.kind, **{f.name: getattr(event, f.name)
                                   for f in dataclasses.fields(event)}}


class Throttle:
    """True at most once per `interval` seconds of `clock` (the first call is always True).
    `next_at` is the reading of `clock` from which ready() is True again: a caller on a hot
    path compares `clock()` with it and calls ready() only then (no Python call per step)."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self.next_at = float("-inf")

    def ready(self) -> bool:
        now = self.clock()
        if now >= self.next_at:
            self.next_at = now + self.interval
            return True
        return False
