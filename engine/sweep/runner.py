"""Run a sweep's trials in this process: each trial trains a copy of the project with the
sampled values into a normal run folder, reports its per-epoch metric to the pruner, and is
told to the study as complete, pruned or failed.

    run_trials(project, trials=12, on_trial=print)

Several processes (and machines) running this on the same storage and study share the
study's budget of `trials`: each asks for a new trial only while fewer exist.
"""
from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..project import Project
from ..train.events import EpochEnded
from . import study as st
from .space import SweepError, apply_values, current_values, fits, graph_cost, settings, space
from .trial_values import suggest, to_optuna

TRIAL_FILE = "trial.json"


@dataclass
class TrialOutcome:
    """What one trial of this process did (also passed to `on_trial`)."""

    number: int
    state: str                      # complete | pruned | failed | skipped
    values: dict[str, Any]
    value: float | None = None
    run_dir: Path | None = None
    epochs: int = 0
    seconds: float = 0.0
    message: str = ""


@dataclass
class SweepOptions:
    trials: int | None = None       # the study's total (default: sweep.trials)
    storage: str | None = None      # default: the journal file beside the project's runs
    study: str | None = None        # default: the project's file name
    epochs: int | None = None       # per trial (default: sweep.epochs, else training.epochs)
    device: str = "auto"
    worker: int = 0                 # this process's index among local workers
    shared: bool = False            # other machines may join (seeds differ by host)
    trainer_kwargs: dict = field(default_factory=dict)   # tests: data=..., event_interval=...


def _budget_reached(study, total: int) -> bool:
    """True when the study holds `total` trials (queued ones, not started yet, excepted)."""
    from optuna.trial import TrialState

    waiting = TrialState.WAITING
    return sum(t.state != waiting for t in study.get_trials(deepcopy=False)) >= total


def prepare(project: Project, options: SweepOptions):
    """(study, dims, settings) ready to run: the space checked, the study opened or created,
    the baseline enqueued for a new study."""
    conf = settings(project)
    dims = space(project)
    if not dims:
        raise SweepError("nothing is searched: mark a training setting or a layer parameter "
                         "as searched (sweep.space)")
    storage = options.storage or st.default_storage(project)
    name = options.study or st.default_study_name(project)
    seed = st.process_seed(conf["seed"], options.worker, options.shared)
    sampler = st.make_sampler(conf["sampler"], dims, seed, conf["grid_points"])
    pruner = st.make_pruner(conf["pruner"])
    study = st.load_study(storage, name, project, sampler=sampler, pruner=pruner, create=True)
    metric = st.metric_of(project)
    if not study.user_attrs.get("metric"):
        study.set_user_attr("metric", metric)
        study.set_user_attr("project", project.name)
    elif study.user_attrs["metric"] != metric:
        raise SweepError(f"study {name!r} optimizes {study.user_attrs['metric']}, the project "
                         f"now {metric}: use another study name")
    space_text = {d.key: d.describe() for d in dims}
    if study.user_attrs.get("space") != space_text:   # what the latest trials search
        study.set_user_attr("space", space_text)
    if conf["baseline"] and conf["sampler"] != "grid":
        with st.setup_lock(storage):
            _enqueue_baseline(study, project, dims)
    return study, dims, conf


def _enqueue_baseline(study, project: Project, dims) -> None:
    """The project's own values as the first trial of a new study (when they fit the space)."""
    if study.get_trials(deepcopy=False):
        return
    base = current_values(project, dims)
    if all(fits(d, base[d.key]) for d in dims):
        study.enqueue_trial({d.key: to_optuna(d, base[d.key]) for d in dims},
                            user_attrs={"baseline": True}, skip_if_exists=True)


class SweepControl:
    """Stop a sweep from another thread or a signal handler: the running trial stops after
    its current batch (and is told to the study as failed: stopped) and no new one starts."""

    def __init__(self):
        self.stopped = False
        self.trainer = None

    def stop(self) -> None:
        self.stopped = True
        if self.trainer is not None:
            self.trainer.stop()


class _Failed(Exception):
    """A trial that failed (its message is in the trial's 'error' attribute)."""


def run_trials(project: Project, options: SweepOptions | None = None,
               on_trial: Callable[[TrialOutcome], None] | None = None,
               on_event: Callable | None = None, control: SweepControl | None = None
               ) -> list[TrialOutcome]:
    """Run trials until the study has `trials` trials, the grid is done, or `control` is
    stopped. Returns this process's outcomes. `on_event` gets every training event of
    every trial."""
    import optuna

    options = options or SweepOptions()
    control = control or SweepControl()
    study, dims, conf = prepare(project, options)
    total = options.trials or conf["trials"]
    epochs = options.epochs or conf["epochs"]
    metric = study.user_attrs.get("metric") or st.metric_of(project)
    outcomes: dict[int, TrialOutcome] = {}
    exhausted = getattr(study.sampler, "is_exhausted", None)   # a grid fully tried
    if control.stopped or _budget_reached(study, total) or (exhausted and exhausted(study)):
        return []

    def objective(trial):
        if trial.number >= total:  # another process asked at the same moment
            trial.set_user_attr("skipped", "over the study's budget of trials")
            outcomes[trial.number] = TrialOutcome(trial.number, "skipped", {})
            raise _Failed("over budget")
        outcome = run_one(project, trial, dims, metric, epochs, options, on_event, control)
        outcomes[trial.number] = outcome
        if outcome.state == "pruned":
            raise optuna.TrialPruned(outcome.message)
        if outcome.state == "failed":
            raise _Failed(outcome.message)
        return outcome.value

    def after(study, frozen) -> None:
        outcome = outcomes.get(frozen.number)
        if outcome is not None and outcome.state != "skipped" and on_trial:
            on_trial(outcome)
        if control.stopped or _budget_reached(study, total) or \
                (outcome is not None and outcome.state == "skipped"):
            study.stop()

    # optimize (not ask/tell): the grid sampler stops the study itself when it is done
    study.optimize(objective, callbacks=[after], catch=(_Failed,), gc_after_trial=False)
    return [outcomes[n] for n in sorted(outcomes)]


def run_one(project, trial, dims, metric: str, epochs: int | None,
            options: SweepOptions, on_event=None, control: SweepControl | None = None
            ) -> TrialOutcome:
    """Train one trial; its outcome says how it ended (the study is told by the caller)."""
    t0 = time.perf_counter()
    values = {}
    try:
        values = {d.key: suggest(trial, d) for d in dims}
        candidate = apply_values(project, values)
    except SweepError as exc:
        return _fail(trial, values, f"refused values: {exc}", t0)
    n_params, macs = graph_cost(candidate.graph)
    if n_params is None:
        return _fail(trial, values, "the graph is invalid with these values", t0)
    trial.set_user_attr("params", n_params)
    trial.set_user_attr("macs", macs)
    trial.set_user_attr("host", socket.gethostname())
    pruning = _Pruning(trial, metric)
    from ..train.trainer import Trainer

    callbacks = [pruning] + ([on_event] if on_event else [])
    kwargs = dict(options.trainer_kwargs)
    if epochs:
        kwargs["epochs"] = epochs
    trainer = Trainer(candidate, options.device, callbacks, **kwargs)
    pruning.trainer = trainer
    if control is not None:
        control.trainer = trainer
        if control.stopped:
            trainer.stop()
    result = trainer.fit()
    if control is not None:
        control.trainer = None
    seconds = time.perf_counter() - t0
    run_dir = result.run_dir
    if run_dir is not None:
        trial.set_user_attr("run", _run_name(project, run_dir))
        _write_trial_file(run_dir, trial, values)
    trial.set_user_attr("train_seconds", round(seconds, 3))
    trial.set_user_attr("epochs", result.epochs_run)
    if result.status == "failed":
        return _fail(trial, values, str(result.error), t0, run_dir)
    if result.status == "stopped" and not pruning.pruned:
        return _fail(trial, values, f"stopped after {result.epochs_run} epoch(s)", t0,
                     run_dir)
    if pruning.pruned:
        return TrialOutcome(trial.number, "pruned", values, pruning.last, run_dir,
                            result.epochs_run, seconds, f"pruned after epoch "
                                                        f"{result.epochs_run}")
    value = best_value(result.history, metric)
    if value is None:
        return _fail(trial, values, f"the run reported no finite {metric} "
                     f"(reported: {', '.join(result.history[-1]) if result.history else '-'})",
                     t0, run_dir)
    return TrialOutcome(trial.number, "complete", values, value, run_dir, result.epochs_run,
                        seconds)


def best_value(history: list[dict], metric: str) -> float | None:
    scores = [row[metric] for row in history
              if isinstance(row.get(metric), (int, float)) and math.isfinite(row[metric])]
    if not scores:
        return None
    return min(scores) if st.minimize(metric) else max(scores)


def _fail(trial, values, message, t0, run_dir=None) -> TrialOutcome:
    trial.set_user_attr("error", message[:500])
    return TrialOutcome(trial.number, "failed", values, None, run_dir, 0,
                        time.perf_counter() - t0, message)


def _run_name(project: Project, run_dir: Path) -> str:
    try:
        return Path(run_dir).resolve().relative_to(project.runs_dir().resolve()).as_posix()
    except ValueError:
        return str(run_dir)


def _write_trial_file(run_dir: Path, trial, values: dict) -> None:
    from ..train.run_folder import write_json

    try:
        write_json(Path(run_dir) / TRIAL_FILE, {"study": trial.study.study_name,
                                                 "trial": trial.number, "values": values,
                                                 "pid": os.getpid()})
    except OSError:
        pass  # the study still has the trial; the run folder lacks only this note


class _Pruning:
    """A training callback: reports the metric each epoch; stops the run when pruned."""

    def __init__(self, trial, metric: str):
        self.trial, self.metric = trial, metric
        self.trainer = None
        self.pruned = False
        self.last: float | None = None

    def __call__(self, event) -> None:
        if not isinstance(event, EpochEnded) or self.pruned:
            return
        value = event.metrics.get(self.metric)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return
        self.last = float(value)
        self.trial.report(float(value), event.epoch)
        if self.trial.should_prune():
            self.pruned = True
            if self.trainer is not None:
                self.trainer.stop()
