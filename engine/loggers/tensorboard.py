"""TensorBoard event files for a run, written by a training callback.

Into `<run folder>/tensorboard/`: per-step scalars (`step/loss`, `step/lr`; as often as the
Trainer emits batch events), per-epoch scalars (`epoch/loss`, `epoch/val_loss`,
`epoch/val_<metric>`, ...), a histogram of every weight tensor (`weights/...`; each epoch while
that costs at most ~5% of the run's time, and at the last epoch) and
the model's graph, so that `tensorboard --logdir model.runs` shows every run.
"""
from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

from ..train.events import BatchEnded, EpochEnded, RunStarted
from ..train.recording import CostBudget
from ..train.run_folder import tensorboard_dir
from .base import EventLogger


def available() -> bool:
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        return False
    return True


class TensorBoardLogger(EventLogger):
    """A Trainer callback; `trainer` gives it the model for histograms and the graph."""

    def __init__(self, trainer):
        super().__init__(trainer)
        self.writer = None
        self.logdir: Path | None = None
        self.histograms = CostBudget()   # at most ~5% of the run's time on histograms

    def _on_started(self, ev: RunStarted) -> None:
        if not ev.run_dir:
            return
        from torch.utils.tensorboard import SummaryWriter

        self.logdir = tensorboard_dir(ev.run_dir)
        self.writer = SummaryWriter(str(self.logdir))
        self.writer.add_text("config", "```\n" + json.dumps(ev.config, indent=1,
                                                            default=str) + "\n```")
        self._graph()

    def _graph(self) -> None:
        state = self.trainer.state
        model, sample = state.model, state.sample_x
        if sample is None:
            return
        try:  # tracing fails for some models (several inputs, data-dependent control flow)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.writer.add_graph(model, sample[:2])
        except Exception as exc:  # noqa: BLE001 - the graph is optional, the run goes on
            self.writer.add_text("graph", f"the graph could not be traced: "
                                 f"{type(exc).__name__}: {exc}"[:500])

    def _on_batch(self, ev: BatchEnded) -> None:
        if self.writer is not None:
            self.writer.add_scalar("step/loss", ev.loss, ev.global_step)
            self.writer.add_scalar("step/lr", ev.lr, ev.global_step)

    def _on_epoch(self, ev: EpochEnded) -> None:
        if self.writer is None:
            return
        epoch = ev.epoch
        for key, value in ev.metrics.items():
            if key != "epoch" and isinstance(value, (int, float)) and \
                    not isinstance(value, bool):
                self.writer.add_scalar(f"epoch/{key}", value, epoch)
        model = getattr(self.trainer, "model", None)
        last = epoch >= self.trainer.config["epochs"]
        if model is not None and (self.histograms.due() or last):
            started = time.monotonic()
            for name, tensor in model.state_dict().items():
                if tensor.is_floating_point() and tensor.numel() > 1:
                    self.writer.add_histogram(f"weights/{name}", tensor.detach().float().cpu(),
                                              epoch)
            self.histograms.spent(started)
        self.writer.flush()

    def _on_finished(self, ev) -> None:
        self.close()

    _on_failed = _on_finished

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
