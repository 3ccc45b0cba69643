"""The epochs of one fit(): shuffled batches through the step function, batch events,
end-of-epoch metrics and validation, best-epoch tracking, early stopping, checkpoints and
activation snapshots. Stop and pause requests (RunControl) take effect before the next batch.
"""
from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable
from typing import Any

from .config import ConfigError
from .control import RunControl
from .evaluation import cat, evaluate_data, metrics_of
from .events import BatchEnded, EpochEnded, GradNorms, Paused, Resumed, Throttle, TrainEvent
from .faults import TrainError, describe
from .metrics import LossMeter
from .optim import set_lr
from .recording import RunRecorder
from .snapshots import snapshots
from .state import RunProgress, TrainState
from .steps import NonFiniteLoss, make_step


def minimize(monitor: str) -> bool:
    """True when a lower value of `monitor` is better."""
    return monitor.endswith(("loss", "mse", "mae", "rmse"))


class TrainingLoop:
    """Runs the remaining epochs of a run on `state`, advancing `progress`."""

    def __init__(self, state: TrainState, progress: RunProgress, config: dict, graph,
                 control: RunControl, emit: Callable[[TrainEvent], None],
                 recorder: RunRecorder, clock: Callable[[], float] = time.monotonic):
        self.state, self.progress, self.config = state, progress, config
        self.graph, self.control, self.emit, self.recorder = graph, control, emit, recorder
        self.step = make_step(state, config)
        self.fit_start = 0.0
        # batch events and snapshots are spaced by `clock` (seconds; see Trainer.clock)
        self.batch_throttle = Throttle(config["event_interval"], clock)
        self.act_throttle = Throttle(config["activation_interval"], clock)

    def run(self) -> str:
        """Train to the configured number of epochs: 'completed', 'stopped' or
        'early_stopping'. Checkpoints kept for later are written however the run ends."""
        try:
            status = self._epochs()
        except BaseException:
            self._finish_recording(quiet=True)
            raise
        self._finish_recording()
        return status

    def _finish_recording(self, quiet: bool = False) -> None:
        if self.state.rank != 0:
            return
        try:
            self.recorder.finish(self.emit)
        except Exception:
            if not quiet:  # while failing, the first error is the one to report
                raise

    def _epochs(self) -> str:
        import torch

        p = self.progress
        resumed = p.history[-1].get("elapsed_s", 0.0) if p.history else 0.0
        self.fit_start = time.perf_counter() - resumed  # a resumed run continues the clock
        for epoch in range(p.start_epoch, self.config["epochs"]):
            if self.control.stopped:
                return "stopped"
            if self.state.fine_tune is not None:
                self.state.fine_tune.begin_epoch(epoch)
            perm = torch.randperm(len(self.state.train_data), generator=self.state.gen)
            stats = self.run_epoch(epoch, perm)
            if stats is None:
                return "stopped"
            self.end_epoch(epoch, *stats)
            if self.should_stop_early():
                return "early_stopping"
        return "completed"

    # -- batches -----------------------------------------------------------------------------
    def run_epoch(self, epoch: int, perm):
        """One pass over the training data; None when stopped. Returns (loss sum, samples,
        outputs, targets, seconds)."""
        s, p, cfg = self.state, self.progress, self.config
        batches = s.train_data.batches(perm, cfg["batch_size"], s.rank, s.world)
        meter, t0 = LossMeter(), time.perf_counter()
        keep = s.keep_train_outputs
        outs_acc: list[list] = [[] for _ in s.output_ids]
        tgts_acc: list[list] = [[] for _ in s.output_ids]
        step = 0
        s.net.train()
        control, per_step_lr = self.control, s.schedule.per_step
        if not per_step_lr:
            self._set_lr(epoch)
        # looked up once: the loop below runs for every batch, and makes no Python call of its
        # own on a step without an event (the throttle's deadline and the loss sum inlined)
        run_step, add_loss = self.step, meter.add
        throttle, clock = self.batch_throttle, self.batch_throttle.clock
        kept = list(zip(outs_acc, tgts_acc)) if keep else []
        single = kept[0] if len(kept) == 1 else None
        while True:   # the per-batch path: what a hand-written loop does, plus cheap checks
            if not control.idle and control.stopped:
                return None
            try:
                xb, ys = next(batches)
            except StopIteration:
                break
            except Exception as exc:
                raise describe(exc, "data", self.graph, p.global_step + 1, epoch + 1,
                               cfg["batch_size"]) from exc
            if not control.idle and not self._maybe_pause():  # after next(): a Step gets a batch
                return None
            if per_step_lr:
                self._set_lr(epoch)
            try:
                loss_val, outs = run_step(xb, ys)
            except TrainError:
                raise
            except NonFiniteLoss as exc:
                raise self._non_finite(exc, epoch) from exc
            except Exception as exc:
                raise describe(exc, "forward", self.graph, p.global_step + 1, epoch + 1,
                               cfg["batch_size"], s.model.studio_code) from exc
            p.global_step += 1
            step += 1
            n = xb.shape[0]
            if loss_val.__class__ is float:    # checked by the step: LossMeter.add, inlined
                meter.seen += n
                meter.total += loss_val * n
            else:
                add_loss(loss_val, n, p.global_step)
            if single is not None:             # one output: no zip per step
                single[0].append(outs[0].detach())
                single[1].append(ys[0])
            elif kept:
                for (out_list, tgt_list), out, y in zip(kept, outs, ys):
                    out_list.append(out.detach())
                    tgt_list.append(y)
            if clock() >= throttle.next_at and throttle.ready():
                self._batch_event(epoch, step, self._synced(meter, epoch) / meter.seen,
                                  meter.seen, t0)
            if not control.idle and control.watching and self.act_throttle.ready():
                self._snapshot()
        loss_sum = self._synced(meter, epoch)
        return loss_sum, meter.seen, outs_acc, tgts_acc, time.perf_counter() - t0

    def _set_lr(self, epoch: int) -> None:
        """The schedule's rate for the next step, given to the optimizer when it changed."""
        p = self.progress
        lr = self.state.schedule.lr_at(epoch, p.global_step)
        if lr != p.current_lr:
            set_lr(self.state.optimizer, lr)
            p.current_lr = lr

    def _synced(self, meter: LossMeter, epoch: int) -> float:
        """The epoch's loss sum so far (syncs the losses an accelerator step left there)."""
        try:
            return meter.sum()
        except NonFiniteLoss as exc:
            raise self._non_finite(exc, epoch) from exc

    def _non_finite(self, exc: NonFiniteLoss, epoch: int) -> TrainError:
        p = self.progress
        what = "NaN" if math.isnan(exc.value) else "infinite"
        step = exc.step if exc.step is not None else p.global_step + 1
        return TrainError(f"loss became {what} at step {step} (epoch "
                          f"{epoch + 1}): lower the learning rate (now {p.current_lr:g}) or "
                          "check the data", "nan", None, step,
                          "".join(traceback.format_exception(exc)))

    def _maybe_pause(self) -> bool:
        """Block while paused; False if stopped meanwhile (pause is ignored under torchrun)."""
        if not self.control.paused or self.state.world > 1:
            return True
        self.emit(Paused(self.progress.global_step))
        if not self.control.wait_while_paused():
            return False
        if not self.control.take_step():   # a Step runs one batch, then pauses again
            self.emit(Resumed(self.progress.global_step))
        return True

    def _batch_event(self, epoch: int, step: int, loss: float, seen: int, t0: float) -> None:
        s, p = self.state, self.progress
        if s.rank != 0:
            return
        elapsed = max(time.perf_counter() - t0, 1e-9)
        rate = seen * s.world / elapsed
        done_epochs = epoch - p.start_epoch
        remaining = (self.config["epochs"] - epoch) * s.steps_per_epoch - step
        per_step = (time.perf_counter() - self.fit_start) / max(
            1, done_epochs * s.steps_per_epoch + step)
        self.emit(BatchEnded(epoch + 1, step, p.global_step, loss, p.current_lr, rate,
                             remaining * per_step, s.steps_per_epoch))
        if s.node_params:
            from .weights import grad_norms

            self.emit(GradNorms(p.global_step, grad_norms(s.node_params)))

    def _snapshot(self) -> None:
        if self.state.rank != 0:
            return
        for event in snapshots(self.state, self.control.watched(), self.progress.global_step):
            self.emit(event)

    # -- end of epoch ------------------------------------------------------------------------
    def end_epoch(self, epoch: int, loss_sum: float, seen: int, outs, tgts, seconds) -> dict:
        s, p, cfg = self.state, self.progress, self.config
        loss_sum, seen_all = self._reduce(loss_sum, seen)
        row: dict[str, Any] = {"epoch": epoch + 1, "loss": loss_sum / max(seen_all, 1)}
        if s.keep_train_outputs:
            row.update(metrics_of(s, cfg, [cat(o) for o in outs], [cat(t) for t in tgts]))
        if s.val_data is not None and len(s.val_data):
            val = evaluate_data(s, cfg, s.val_data)
            row.update({f"val_{k}": v for k, v in val.items()})
        row["lr"] = p.current_lr
        row["elapsed_s"] = time.perf_counter() - self.fit_start
        row["samples_per_s"] = seen_all / max(seconds, 1e-9)
        s.schedule.end_epoch(row.get("val_loss", row["loss"]))
        p.history.append(row)
        improved = self._track_best(row)
        self.emit(EpochEnded(row["epoch"], dict(row)))
        for view in s.epoch_views if s.rank == 0 else ():  # a VAE's latent space (vae.py)
            self.emit(view(row["epoch"]))
        last = row["epoch"] >= cfg["epochs"]
        if s.rank == 0:
            self.recorder.record_epoch(row, improved, s, p, self.emit,
                                       final=last or self.should_stop_early())
        # short epochs must not snapshot more often than activation_interval; the last
        # epoch always does, so the final weights are what is shown
        if self.control.watching and (self.act_throttle.ready() or last):
            self._snapshot()
        return row

    def _reduce(self, loss_sum: float, seen: int) -> tuple[float, int]:
        """The epoch's loss sum and sample count over all processes."""
        if self.state.world == 1:
            return loss_sum, seen
        from .distributed import sum_over_ranks

        total, count = sum_over_ranks([loss_sum, float(seen)], self.state.device)
        return total, int(count)

    def _track_best(self, row: dict) -> bool:
        p, monitor = self.progress, self.state.monitor
        if monitor not in row:
            known = ", ".join(k for k in row if not isinstance(row[k], list))
            raise ConfigError(f"training.early_stopping.monitor: {monitor!r} is not reported "
                              f"(reported: {known})")
        value = row[monitor]
        es = self.config["early_stopping"]
        delta = (es or {}).get("min_delta", 0.0)
        best = p.best_row.get(monitor) if p.best_row else None
        if best is None or not math.isfinite(best):
            better = math.isfinite(value)
        elif minimize(monitor):
            better = value < best - delta
        else:
            better = value > best + delta
        if better:
            p.best_row = dict(row)
            p.bad_epochs = 0
            if es and es["restore_best"]:
                p.best_state = {k: v.detach().clone()
                                for k, v in self.state.model.state_dict().items()}
        else:
            p.bad_epochs += 1
        return better

    def should_stop_early(self) -> bool:
        es = self.config["early_stopping"]
        return bool(es) and self.progress.bad_epochs > es["patience"]
