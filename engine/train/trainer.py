"""The Trainer: fits a project's compiled graph to its dataset, headless.

    trainer = Trainer(project, device="auto", callbacks=[print], epochs=5)
    result = trainer.fit()            # FitResult: status, history, best epoch, run folder
    metrics = trainer.evaluate("test")
    outputs = trainer.predict(x)

Events go to the callbacks (see events.py). `stop()`, `pause()`, `resume()` and `watch()` may
be called from another thread; they take effect before the next batch. The training config
and the determinism protocol are documented in config.py.
"""
from __future__ import annotations

import math
import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..project import Project
from . import checkpoint as ckpt
from .config import ConfigError, resolve_config
from .events import (
    ActivationSnapshot,
    BatchEnded,
    Callback,
    CheckpointSaved,
    EpochEnded,
    GradNorms,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    Throttle,
    TrainEvent,
)
from .faults import TrainError, cause_of, describe
from .metrics import compute as compute_metrics


@dataclass
class FitResult:
    """How a fit() ended. status: 'completed' | 'stopped' | 'early_stopping' | 'failed'."""

    status: str
    history: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    best: dict = field(default_factory=dict)
    run_dir: Path | None = None
    error: TrainError | None = None

    @property
    def epochs_run(self) -> int:
        return len(self.history)

    @property
    def losses(self) -> list[float]:
        return [row["loss"] for row in self.history]


def _minimize(monitor: str) -> bool:
    return monitor.endswith(("loss", "mse", "mae", "rmse"))


class Trainer:
    """Train `project` (its graph, dataset and training sections).

    device: 'auto' (CUDA when available) | 'cpu' | 'cuda' | 'cuda:N'; 'auto' defers to the
    project's training.device. Keyword overrides replace training settings (epochs,
    batch_size, lr, seed, or any top-level key of the config). Extra keywords:
    data (a DataSplits to use instead of loading the project's dataset), run_dir (where to
    write the run; default a new run-N in project.runs_dir(), nothing for an unsaved
    project; False: write nothing),
    resume_from (a run folder to continue from its last checkpoint), init_weights (a
    safetensors / torch state-dict file to fine-tune from).
    """

    def __init__(self, project: Project, device: str = "auto", callbacks=(), *, data=None,
                 run_dir: str | Path | bool | None = None, resume_from: str | Path | None = None,
                 init_weights: str | Path | None = None, **overrides):
        if device and device != "auto":
            overrides["device"] = device
        self.project = project
        self.config = resolve_config(project.training, overrides)
        self.callbacks: list[Callback] = list(callbacks)
        self.event_interval = self.config["event_interval"]
        self._data = data
        self._run_dir_arg = run_dir
        self.resume_from = Path(resume_from) if resume_from else None
        self.init_weights = init_weights
        self.init_report = None
        self._stop_flag = threading.Event()
        self._pause_flag = threading.Event()
        self._wake = threading.Event()
        self._watch_lock = threading.Lock()
        self._watched: list[str] = []
        self._ready = False
        self.model = None
        self.run_dir: Path | None = None
        self.history: list[dict] = []
        self.global_step = 0
        self.start_epoch = 0
        self.rank, self.world = 0, 1
        self.notes: list[str] = []   # for the user, e.g. why TensorBoard logs are off
        self._loggers_attached = False

    # -- control (any thread) -------------------------------------------------------------------
    def stop(self) -> None:
        """Stop before the next batch (the run finishes with reason 'stopped')."""
        self._stop_flag.set()
        self._wake.set()

    def pause(self) -> None:
        self._pause_flag.set()

    def resume(self) -> None:
        """Continue a paused run (not to be confused with resume_from=RUN)."""
        self._pause_flag.clear()
        self._wake.set()

    def watch(self, node_ids) -> None:
        """Emit activation snapshots of these nodes on the fixed sample."""
        with self._watch_lock:
            self._watched = list(node_ids)

    def add_callback(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def _emit(self, event: TrainEvent, quiet: bool = False) -> None:
        """Call every callback. A callback that raises fails the run (kind 'error'), except
        while reporting a failure (quiet), where its error is dropped so fit() returns."""
        if self.rank != 0:
            return
        kind = event.kind
        for cb in list(self.callbacks):
            try:
                cb(event)
            except Exception as exc:
                if not quiet:
                    raise TrainError(f"a training callback failed on the '{kind}' event: "
                                     f"{type(exc).__name__}: {exc}", "error",
                                     tb=traceback.format_exc()) from exc

    # -- set-up ---------------------------------------------------------------------------------
    def setup(self) -> None:
        """Load the data, build the model, optimizer and schedule (fit() calls it)."""
        if self._ready:
            return
        from .setup import build

        build(self)
        self._ready = True

    # -- fit --------------------------------------------------------------------------------------
    def fit(self) -> FitResult:
        """Train for the configured epochs. Never raises for a failed run: the result's status
        is 'failed' and a 'failed' event carries the message and traceback."""
        try:
            self.setup()
            self._open_run()
            self._emit(self._started_event())
            status = self._loop()
            if status in ("completed", "early_stopping"):
                self._restore_best()
        except TrainError as exc:
            return self._fail(exc)
        except ConfigError as exc:
            return self._fail(TrainError(str(exc), "error", tb=traceback.format_exc()))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a failed event
            err = TrainError(f"{type(exc).__name__}: {exc}", cause_of(exc),
                             tb=traceback.format_exc())
            return self._fail(err)
        best = self.best_row or {}
        self._emit(RunFinished(status, len(self.history), best.get("epoch"), dict(best),
                               str(self.run_dir) if self.run_dir else None))
        return FitResult(status, list(self.history), best.get("epoch"), dict(best),
                         self.run_dir)

    def _fail(self, err: TrainError) -> FitResult:
        tb = err.traceback or traceback.format_exc()
        step = err.global_step if err.global_step is not None else self.global_step
        self._emit(RunFailed(str(err), err.kind, err.node_id, step, tb,
                             str(self.run_dir) if self.run_dir else None), quiet=True)
        best = getattr(self, "best_row", None) or {}
        return FitResult("failed", list(self.history), best.get("epoch"), dict(best),
                         self.run_dir, err)

    def _open_run(self) -> None:
        if self.resume_from is not None:
            self.run_dir = self.resume_from
            from .resume import load_resume

            load_resume(self)
        elif self._run_dir_arg is False or self.rank != 0 or (
                self._run_dir_arg is None and self.project.path is None):
            self.run_dir = None  # an unsaved project has no folder to put runs beside
        elif self._run_dir_arg:
            self.run_dir = Path(self._run_dir_arg)
            self.run_dir.mkdir(parents=True, exist_ok=True)
        else:
            self.run_dir = ckpt.new_run_dir(self.project.runs_dir())
        if self.run_dir is not None and self.rank == 0:
            self.metrics_log = ckpt.MetricsLog(self.run_dir)
            if self.resume_from is not None:
                self.metrics_log.truncate_after(self.start_epoch)
            ckpt.write_json(self.run_dir / "config.json", {
                "training": self.config, "dataset": self.project.dataset,
                "graph": self.project.graph.to_dict(), "project": self.project.name,
                "device": str(self.device), "world_size": self.world,
                "resumed_at_epoch": self.start_epoch if self.resume_from else None})
            if not self._loggers_attached:   # TensorBoard / MLflow (callbacks), once
                from ..loggers import attach_run_loggers

                self._loggers_attached = True
                self.notes += attach_run_loggers(self)

    def _started_event(self) -> RunStarted:
        return RunStarted(
            str(self.run_dir) if self.run_dir else None, self.config["epochs"],
            self.steps_per_epoch, len(self.train_data),
            len(self.val_data) if self.val_data else 0, str(self.device), self.config,
            self.start_epoch, self.world, tuple(self.frozen), tuple(self.losses),
            tuple(self.metric_names),
            self.init_report.summary() if self.init_report else None, tuple(self.notes))

    # -- the loop ---------------------------------------------------------------------------------
    def _loop(self) -> str:
        import torch

        resumed = self.history[-1].get("elapsed_s", 0.0) if self.history else 0.0
        self.fit_start = time.perf_counter() - resumed  # a resumed run continues the clock
        self.batch_throttle = Throttle(self.event_interval)
        self.act_throttle = Throttle(self.config["activation_interval"])
        for epoch in range(self.start_epoch, self.config["epochs"]):
            if self._stop_flag.is_set():
                return "stopped"
            perm = torch.randperm(len(self.train_data), generator=self.gen)
            stats = self._run_epoch(epoch, perm)
            if stats is None:
                return "stopped"
            row = self._end_epoch(epoch, *stats)
            if self._should_stop_early(row):
                return "early_stopping"
        return "completed"

    def _run_epoch(self, epoch: int, perm):
        """One pass over the training data; None when stopped. Returns (loss sum, samples,
        outputs, targets, seconds)."""
        cfg = self.config
        batches = self.train_data.batches(perm, cfg["batch_size"], self.rank, self.world)
        loss_sum, seen, t0 = 0.0, 0, time.perf_counter()
        keep = self.keep_train_outputs
        outs_acc: list[list] = [[] for _ in self.output_ids]
        tgts_acc: list[list] = [[] for _ in self.output_ids]
        step = 0
        self.net.train()
        while True:
            if self._stop_flag.is_set() or not self._maybe_pause():
                return None
            try:
                xb, ys = next(batches)
            except StopIteration:
                break
            except Exception as exc:
                raise describe(exc, "data", self.project.graph, self.global_step + 1,
                               epoch + 1, cfg["batch_size"]) from exc
            lr = self.schedule.lr_at(epoch, self.global_step)
            if lr != self.current_lr:
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                self.current_lr = lr
            try:
                loss_val, outs = self.step_fn(xb, ys, epoch)
            except TrainError:
                raise
            except Exception as exc:
                raise describe(exc, "forward", self.project.graph, self.global_step + 1,
                               epoch + 1, cfg["batch_size"], self.model.studio_code) from exc
            self.global_step += 1
            step += 1
            n = len(xb)
            loss_sum += loss_val * n
            seen += n
            if keep:
                for i, o in enumerate(outs):
                    outs_acc[i].append(o.detach())
                    tgts_acc[i].append(ys[i])
            if self.batch_throttle.ready():
                self._batch_event(epoch, step, loss_sum / seen, seen, t0)
            if self._watched and self.act_throttle.ready():
                self._snapshot()
        return loss_sum, seen, outs_acc, tgts_acc, time.perf_counter() - t0

    def train_step(self, xb, ys, epoch: int):
        """Forward, loss, backward, clip, optimizer step. Returns (loss value, outputs)."""
        if self.amp:
            with self.autocast():
                loss, outs = self._forward_loss(xb, ys)
        else:
            loss, outs = self._forward_loss(xb, ys)
        value = loss.item()
        if not math.isfinite(value):
            self._raise_nan(value, epoch)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            self._clip()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            if self.clipping:
                self._clip()
            self.optimizer.step()
        return value, outs

    def _forward_loss(self, xb, ys):
        outs = self.net(xb)
        if self.single_loss is not None:  # the common case: one output, weight 1
            loss = self.single_loss(outs, ys[0])
            outs = (outs,)
        else:
            if not isinstance(outs, tuple):
                outs = (outs,)
            loss = None
            for fn, w, out, y in zip(self.loss_fns, self.loss_weights, outs, ys):
                term = fn(out, y)
                term = term if w == 1.0 else w * term
                loss = term if loss is None else loss + term
        if self.penalty_terms:
            loss = loss + self.penalty()
        return loss, outs

    def rbm_step(self, xb, ys, epoch: int):
        """CD-k on the RBM node; the loss is the masked reconstruction error."""
        from .rbm import cd_loss

        surrogate, recon = cd_loss(self.rbm, xb, self.config["cd_k"] or self.rbm.k)
        if self.penalty_terms:
            surrogate = surrogate + self.penalty()
        value = recon.item()
        if not math.isfinite(value) or not math.isfinite(surrogate.item()):
            self._raise_nan(value, epoch)
        self.optimizer.zero_grad(set_to_none=True)
        surrogate.backward()
        if self.world > 1:  # CD bypasses the DDP forward, so average the gradients here
            self._all_reduce_grads()
        self._clip()
        self.optimizer.step()
        return value, ()

    def _all_reduce_grads(self) -> None:
        import torch.distributed as dist

        for p in self.trainable_params:
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= self.world

    def _raise_nan(self, value: float, epoch: int):
        what = "NaN" if math.isnan(value) else "infinite"
        raise TrainError(f"loss became {what} at step {self.global_step + 1} (epoch "
                         f"{epoch + 1}): lower the learning rate (now {self.current_lr:g}) or "
                         "check the data", "nan", None, self.global_step + 1,
                         "".join(traceback.format_stack(limit=4)))

    def _clip(self) -> None:
        clip = self.config["grad_clip"]
        if clip["value"] is not None or clip["norm"] is not None:
            import torch

            params = self.trainable_params
            if clip["value"] is not None:
                torch.nn.utils.clip_grad_value_(params, clip["value"])
            if clip["norm"] is not None:
                torch.nn.utils.clip_grad_norm_(params, clip["norm"])

    def _maybe_pause(self) -> bool:
        """Block while paused; False if stopped meanwhile."""
        if not self._pause_flag.is_set() or self.world > 1:
            return True
        self._emit(Paused(self.global_step))
        while self._pause_flag.is_set() and not self._stop_flag.is_set():
            self._wake.wait(0.05)
            self._wake.clear()
        if self._stop_flag.is_set():
            return False
        self._emit(Resumed(self.global_step))
        return True

    def _batch_event(self, epoch: int, step: int, loss: float, seen: int, t0: float) -> None:
        if self.rank != 0:
            return
        elapsed = max(time.perf_counter() - t0, 1e-9)
        rate = seen * self.world / elapsed
        done_epochs = epoch - self.start_epoch
        remaining = (self.config["epochs"] - epoch) * self.steps_per_epoch - step
        per_step = (time.perf_counter() - self.fit_start) / max(
            1, done_epochs * self.steps_per_epoch + step)
        self._emit(BatchEnded(epoch + 1, step, self.global_step, loss, self.current_lr, rate,
                              remaining * per_step, self.steps_per_epoch))
        if self.node_params:
            from .weights import grad_norms

            self._emit(GradNorms(self.global_step, grad_norms(self.node_params)))

    # -- end of epoch -----------------------------------------------------------------------------
    def _end_epoch(self, epoch: int, loss_sum: float, seen: int, outs, tgts, seconds) -> dict:
        loss_sum, seen_all = self._reduce(loss_sum, seen)
        row: dict[str, Any] = {"epoch": epoch + 1, "loss": loss_sum / max(seen_all, 1)}
        if self.keep_train_outputs:
            row.update(self._metrics([self._cat(o) for o in outs], [self._cat(t) for t in tgts]))
        if self.val_data is not None and len(self.val_data):
            val = self.evaluate_data(self.val_data)
            row.update({f"val_{k}": v for k, v in val.items()})
        row["lr"] = self.current_lr
        row["elapsed_s"] = time.perf_counter() - self.fit_start
        row["samples_per_s"] = seen_all / max(seconds, 1e-9)
        self.schedule.end_epoch(row.get("val_loss", row["loss"]))
        self.history.append(row)
        improved = self._track_best(row)
        self._emit(EpochEnded(row["epoch"], dict(row)))
        if self.rank == 0:
            self._write_epoch(row, improved)
        # short epochs must not snapshot more often than activation_interval; the last
        # epoch always does, so the final weights are what is shown
        last = row["epoch"] >= self.config["epochs"]
        if self._watched and (self.act_throttle.ready() or last):
            self._snapshot()
        return row

    @staticmethod
    def _cat(parts):
        import torch

        return torch.cat(parts) if parts else torch.empty(0)

    def _reduce(self, loss_sum: float, seen: int) -> tuple[float, int]:
        if self.world == 1:
            return loss_sum, seen
        import torch
        import torch.distributed as dist

        t = torch.tensor([loss_sum, float(seen)], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t[0]), int(t[1])

    def _metrics(self, outs: list, tgts: list, names: list[str] | None = None) -> dict:
        result = {}
        multi = len(self.output_ids) > 1
        for i, (out, tgt) in enumerate(zip(outs, tgts)):
            if not len(out):
                continue
            values = compute_metrics(self.metric_names if names is None else names,
                                     self.losses[i], out, tgt,
                                     self.config["top_k"])
            prefix = f"{self.output_names[i]}_" if multi else ""
            result.update({prefix + k: v for k, v in values.items()})
        return result

    def _track_best(self, row: dict) -> bool:
        monitor = self.monitor
        if monitor not in row:
            known = ", ".join(k for k in row if not isinstance(row[k], list))
            raise ConfigError(f"training.early_stopping.monitor: {monitor!r} is not reported "
                              f"(reported: {known})")
        value = row[monitor]
        delta = (self.config["early_stopping"] or {}).get("min_delta", 0.0)
        best = self.best_row.get(monitor) if self.best_row else None
        if best is None or not math.isfinite(best):
            better = math.isfinite(value)
        elif _minimize(monitor):
            better = value < best - delta
        else:
            better = value > best + delta
        if better:
            self.best_row = dict(row)
            self.bad_epochs = 0
            es = self.config["early_stopping"]
            if es and es["restore_best"]:
                self.best_state = {k: v.detach().clone()
                                   for k, v in self.model.state_dict().items()}
        else:
            self.bad_epochs += 1
        return better

    def _should_stop_early(self, row: dict) -> bool:
        es = self.config["early_stopping"]
        return bool(es) and self.bad_epochs > es["patience"]

    def _restore_best(self) -> None:
        if getattr(self, "best_state", None) is not None:
            self.model.load_state_dict(self.best_state)

    def _write_epoch(self, row: dict, improved: bool) -> None:
        if self.run_dir is None:
            return
        try:
            self.metrics_log.append(row)
        except OSError as exc:
            raise TrainError(f"could not write the metrics log in {self.run_dir}: "
                             f"{exc.strerror or exc}", "error", tb=traceback.format_exc()) \
                from exc
        from .resume import save_last

        try:
            if improved:
                path = ckpt.save_checkpoint(self.run_dir, "best", self.node_state(),
                                            {"epoch": row["epoch"], "metrics": row})
                self._emit(CheckpointSaved(str(path), "best", row["epoch"]))
            path = save_last(self, row["epoch"])
        except ckpt.CheckpointError as exc:  # e.g. a full disk: say which file, not "data"
            raise TrainError(str(exc), "error", tb=traceback.format_exc()) from exc
        self._emit(CheckpointSaved(str(path), "last", row["epoch"]))

    def node_state(self) -> dict:
        from ..compile import node_state

        return node_state(self.model)

    # -- activations ------------------------------------------------------------------------------
    def _snapshot(self) -> None:
        if self.rank != 0 or self.sample_x is None:
            return
        import torch

        with self._watch_lock:
            watched = list(self._watched)
        modules = self.node_modules
        captured: dict[str, Any] = {}
        hooks = []
        for nid in watched:
            module = modules.get(nid)
            if module is None:
                continue
            hooks.append(module.register_forward_hook(
                lambda m, args, out, nid=nid: captured.__setitem__(
                    nid, (out[0] if isinstance(out, tuple) else out).detach())))
        if not hooks:
            return
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                self.model(self.sample_x)
        finally:
            for h in hooks:
                h.remove()
            self.model.train(was_training)
        for nid in watched:
            if nid not in captured:
                continue
            self._emit(ActivationSnapshot(self.global_step, nid,
                                          captured[nid].float().cpu().numpy(),
                                          self._filter_weights(modules[nid])))

    @staticmethod
    def _filter_weights(module):
        w = getattr(module, "weight", None)
        if w is None:
            w = getattr(module, "W", None)
            if w is not None:  # RBM: one filter per hidden unit, (hidden, visible)
                return w.detach().t().float().cpu().numpy()
            return None
        if w.dim() >= 3:
            return w.detach().float().cpu().numpy()
        return None

    # -- evaluation ---------------------------------------------------------------------------------
    def evaluate_data(self, data, outputs: bool = False, metrics: list[str] | None = None):
        """{'loss': ..., metric: ...} of the model on a DeviceData/StreamData split."""
        import torch

        net = self.eval_net
        was = net.training
        net.eval()
        loss_sum, seen = 0.0, 0
        outs_acc: list[list] = [[] for _ in self.output_ids]
        tgts_acc: list[list] = [[] for _ in self.output_ids]
        bs = max(self.config["batch_size"], 256)
        try:
            with torch.no_grad(), self.autocast():
                for xb, ys in data.batches(None, bs):
                    loss, outs = self._eval_batch(net, xb, ys)
                    loss_sum += float(loss) * len(xb)
                    seen += len(xb)
                    for i, o in enumerate(outs):
                        outs_acc[i].append(o.float())
                        tgts_acc[i].append(ys[i] if i < len(ys) else xb)
                pen = self.penalty() if self.penalty_terms else None
        finally:
            net.train(was)
        result = {"loss": loss_sum / max(seen, 1) + (float(pen) if pen is not None else 0.0)}
        outs_cat = [self._cat(o) for o in outs_acc]
        result.update(self._metrics(outs_cat, [self._cat(t) for t in tgts_acc], metrics))
        return (result, outs_cat) if outputs else result

    def _eval_batch(self, net, xb, ys):
        if self.rbm is not None:
            from .rbm import reconstruction_error

            target = ys[0] if ys else xb
            loss, recon = reconstruction_error(self.rbm, xb, target)
            return loss, (recon,)
        outs = net(xb)
        if not isinstance(outs, tuple):
            outs = (outs,)
        loss = 0.0
        for fn, w, out, y in zip(self.loss_fns, self.loss_weights, outs, ys):
            loss = loss + w * fn(out.float(), y)
        return loss, outs

    def evaluate(self, split: str = "test", metrics: list[str] | None = None) -> dict:
        """Loss and metrics on 'test' | 'val' | 'train' (the config's metrics, or the names
        given, e.g. ["confusion_matrix"]). Raises ValueError if the dataset has no such
        split."""
        self.setup()
        data = {"test": self.test_data, "val": self.val_data, "train": self.train_data}.get(split)
        if split not in ("test", "val", "train"):
            raise ValueError(f"split must be test, val or train, got {split!r}")
        if data is None or not len(data):
            raise ValueError(f"the dataset has no {split} split (set dataset."
                             f"{'test' if split == 'test' else 'val'}_split)")
        if metrics is not None:
            from .config import METRICS

            unknown = [m for m in metrics if m not in METRICS]
            if unknown:
                raise ValueError(f"unknown metric(s) {', '.join(unknown)} (known: "
                                 f"{', '.join(METRICS)})")
        return self.evaluate_data(data, metrics=metrics)

    def predict(self, x, batch_size: int = 1024):
        """Model outputs for inputs `x` (numpy or tensor, with the batch dimension) as numpy
        arrays (a tuple when the model has several outputs)."""
        import numpy as np
        import torch

        self.setup()
        x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x)
        x = x.long() if self.input_dtype == "long" else x.float()
        net = self.eval_net
        was = net.training
        net.eval()
        parts: list[list] = []
        try:
            with torch.no_grad():
                for i in range(0, len(x), batch_size):
                    outs = net(x[i:i + batch_size].to(self.device))
                    outs = outs if isinstance(outs, tuple) else (outs,)
                    if not parts:
                        parts = [[] for _ in outs]
                    for j, o in enumerate(outs):
                        parts[j].append(o.float().cpu())
        finally:
            net.train(was)
        arrays = tuple(torch.cat(p).numpy() for p in parts)
        return arrays[0] if len(arrays) == 1 else arrays

    def load_checkpoint(self, run: str | Path, kind: str = "best") -> dict:
        """Load a run's best or last weights into the model; returns the checkpoint info."""
        from ..compile import apply_weights

        self.setup()
        run_dir = ckpt.find_run(self.project.runs_dir(), run)
        weights, _, info = ckpt.load_checkpoint(run_dir, kind)
        apply_weights(self.model, weights)
        return info

    def close(self) -> None:
        """Release the process group of a distributed run."""
        if self.world > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                # gloo aborts a rank whose group is torn down while another rank is still
                # evaluating or writing: wait for all ranks first, but not forever (a rank
                # that failed never arrives)
                from datetime import timedelta

                try:
                    if dist.get_backend() == "gloo":
                        dist.monitored_barrier(timeout=timedelta(seconds=60))
                    else:
                        dist.barrier()
                except RuntimeError:
                    pass
                dist.destroy_process_group()


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))
