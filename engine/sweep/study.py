"""Optuna studies of a project: where they are stored, samplers, pruners, the metric.

Storage: by default a journal file beside the project's runs (`<project>.runs/sweeps.journal`).
`storage` may be a database URL (`postgresql+psycopg://user:pw@host/db`, `sqlite:///s.db`,
`mysql+pymysql://...`) or the path of a journal file on a disk every machine can reach:
processes and machines that open the same study in the same storage share its trials.
"""
from __future__ import annotations

import os
import socket
import warnings
import zlib
from contextlib import contextmanager, nullcontext
from pathlib import Path

from ..project import Project
from .space import Dimension, SweepError, settings

JOURNAL_NAME = "sweeps.journal"


def _optuna():
    try:
        import optuna
    except ImportError:
        raise SweepError("sweeps need Optuna: pip install 'nn-studio[sweep]'") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # Studio reports each trial
    return optuna


def default_storage(project: Project) -> str:
    if project.path is None:
        raise SweepError("save the project first: a sweep keeps its trials beside it")
    return str(project.runs_dir() / JOURNAL_NAME)


def default_study_name(project: Project) -> str:
    return project.path.stem if project.path else project.name


def is_url(storage: str) -> bool:
    return "://" in storage


def describe_storage(storage: str) -> str:
    """The storage without a password (for messages and run folders)."""
    if not is_url(storage):
        return storage
    scheme, _, rest = storage.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at:
        return storage
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else storage


def open_storage(storage: str):
    """An Optuna storage for a database URL or a journal file path."""
    optuna = _optuna()
    if is_url(storage):
        try:
            with warnings.catch_warnings():  # the heartbeat is marked experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(storage, heartbeat_interval=60,
                                                  grace_period=180)
        except ImportError as exc:
            raise SweepError(f"the storage {describe_storage(storage)} needs a database "
                             f"driver: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy's many error types
            raise SweepError(f"cannot open the storage {describe_storage(storage)}: "
                             f"{_first_line(exc)}") from None
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    path = Path(storage).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = JournalFileOpenLock(str(path))
        return optuna.storages.JournalStorage(JournalFileBackend(str(path), lock_obj=lock))
    except OSError as exc:
        raise SweepError(f"cannot open the journal file {path}: {exc.strerror or exc}") \
            from None


def setup_lock(storage: str):
    """A lock held while a process sets up a new study (its baseline trial), so that two
    processes starting together on one journal file enqueue the baseline once: Optuna's
    `skip_if_exists` checks, then adds. Database storages are not locked; there two
    processes that start at the same moment may both train the baseline."""
    if is_url(storage):
        return nullcontext()
    return _file_lock(str(Path(storage).expanduser()) + ".setup")


@contextmanager
def _file_lock(path: str):
    from optuna.storages.journal import JournalFileOpenLock

    lock = JournalFileOpenLock(path)
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def metric_of(project: Project) -> str:
    """The metric a sweep optimizes: sweep.metric, else the early-stopping monitor, else
    val_loss when the dataset has a validation split, else loss."""
    chosen = settings(project)["metric"]
    if chosen:
        return chosen
    es = (project.training or {}).get("early_stopping")
    if isinstance(es, dict) and es.get("monitor"):
        return es["monitor"]
    val = (project.dataset or {}).get("val_split", 0.2)
    return "val_loss" if not isinstance(val, (int, float)) or val > 0 else "loss"


def minimize(metric: str) -> bool:
    """Losses and errors go down; accuracies and scores go up (as the Trainer decides)."""
    return metric.endswith(("loss", "mse", "mae", "rmse"))


def process_seed(seed: int, worker: int, shared: bool) -> int:
    """The sampler seed of this process. Processes sharing a study need different seeds
    (equal seeds draw the same random points): those of a shared study mix in the host and
    the process id. A sweep run by one process alone is reproducible."""
    if not shared:
        return seed % (2**32)
    host = socket.gethostname()
    return zlib.crc32(f"{seed}:{worker}:{host}:{os.getpid()}".encode())


def make_sampler(kind: str, dims: list[Dimension], seed: int, grid_points: int):
    optuna = _optuna()
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "grid":
        grid = {d.key: _grid_values(d, grid_points) for d in dims}
        size = 1
        for values in grid.values():
            size *= len(values)
        from .space import MAX_GRID

        if size > MAX_GRID:
            raise SweepError(f"the grid has {size:,} points (at most {MAX_GRID:,}): use fewer "
                             "choices or sweep.grid_points, or a random/tpe sampler")
        return optuna.samplers.GridSampler(grid, seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(2, len(dims) * 3)))


def make_pruner(kind: str):
    optuna = _optuna()
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
    return optuna.pruners.NopPruner()


def _grid_values(d: Dimension, points: int) -> list:
    from .trial_values import to_optuna

    return [to_optuna(d, v) for v in d.grid(points)]


def load_study(storage: str, name: str, project: Project | None = None, *, sampler=None,
               pruner=None, create: bool = False):
    """Open study `name` in `storage` (creating it, with the project's direction, when
    `create`). Raises SweepError when it does not exist and may not be created."""
    optuna = _optuna()
    store = open_storage(storage)
    if create:
        direction = "minimize" if minimize(metric_of(project)) else "maximize"
        try:
            return optuna.create_study(storage=store, study_name=name, sampler=sampler,
                                       pruner=pruner, direction=direction,
                                       load_if_exists=True)
        except Exception as exc:  # noqa: BLE001 - storage errors
            raise SweepError(f"cannot open study {name!r} in {describe_storage(storage)}: "
                             f"{_first_line(exc)}") from None
    try:
        return optuna.load_study(study_name=name, storage=store, sampler=sampler,
                                 pruner=pruner)
    except KeyError:
        raise SweepError(f"no study {name!r} in {describe_storage(storage)}") from None
