"""MLflow tracking for a run, written by a training callback: active when the `mlflow`
package is installed and a tracking server is named (the MLFLOW_TRACKING_URI environment
variable). One MLflow run per Studio run, in an experiment named after the project: the
training settings as parameters, every epoch's numbers as metrics, and the run folder's
config, metrics and best weights as artifacts."""
from __future__ import annotations

import os
from pathlib import Path

from ..train.events import EpochEnded, RunFailed, RunFinished, RunStarted
from .base import EventLogger

MAX_PARAM = 500   # MLflow refuses longer parameter values


def wanted() -> bool:
    return bool(os.environ.get("MLFLOW_TRACKING_URI"))


def available() -> bool:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        return False
    return True


def _flat(d, prefix: str = "") -> dict:
    from ..diff import flatten

    return {f"{prefix}{k}": str(v)[:MAX_PARAM] for k, v in flatten(d or {}).items()}


class MLflowLogger(EventLogger):
    """A Trainer callback mirroring the run into MLflow."""

    def __init__(self, trainer):
        super().__init__(trainer)
        self.run = None
        self.run_dir: Path | None = None

    def _on_started(self, ev: RunStarted) -> None:
        import mlflow

        self.run_dir = Path(ev.run_dir) if ev.run_dir else None
        mlflow.set_experiment(self.trainer.project.name)
        self.run = mlflow.start_run(run_name=self.run_dir.name if self.run_dir else None)
        mlflow.log_params(_flat(ev.config, "training."))
        mlflow.log_params(_flat(self.trainer.project.dataset, "dataset."))

    def _on_epoch(self, ev: EpochEnded) -> None:
        if self.run is None:
            return
        import mlflow

        metrics = {k: float(v) for k, v in ev.metrics.items() if k != "epoch" and
                   isinstance(v, (int, float)) and not isinstance(v, bool)}
        mlflow.log_metrics(metrics, step=ev.epoch)

    def _on_finished(self, ev: RunFinished) -> None:
        self._end("FINISHED" if ev.reason != "stopped" else "KILLED")

    def _on_failed(self, ev: RunFailed) -> None:
        self._end("FAILED")

    def _end(self, status: str) -> None:
        if self.run is None:
            return
        import mlflow

        if self.run_dir is not None:
            from ..train.run_folder import artifacts

            for path in artifacts(self.run_dir):
                mlflow.log_artifact(str(path))
        mlflow.end_run(status=status)
        self.run = None
