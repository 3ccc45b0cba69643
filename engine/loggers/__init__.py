"""Loggers people already use, as training callbacks: TensorBoard event files in every run
folder (training.tensorboard, on by default; needs the `tensorboard` package) and MLflow
tracking (when `mlflow` is installed and MLFLOW_TRACKING_URI is set).

`attach_run_loggers(trainer)` adds the wanted loggers to a Trainer that writes a run folder
and returns notes for the user (e.g. why TensorBoard logs are off)."""
from __future__ import annotations

TENSORBOARD_MISSING = ("TensorBoard logs are off: the tensorboard package is not installed "
                       "(pip install 'nn-studio[tensorboard]')")
MLFLOW_MISSING = ("MLFLOW_TRACKING_URI is set but mlflow is not installed (pip install "
                  "mlflow): the run is not tracked in MLflow")


def attach_run_loggers(trainer) -> list[str]:
    """Add the TensorBoard/MLflow callbacks `trainer` should have; returns notes."""
    from . import mlflow as mlf
    from . import tensorboard as tb

    notes = []
    if trainer.config.get("tensorboard"):
        if tb.available():
            trainer.add_callback(tb.TensorBoardLogger(trainer))
        else:
            notes.append(TENSORBOARD_MISSING)
    if mlf.wanted():
        if mlf.available():
            trainer.add_callback(mlf.MLflowLogger(trainer))
        else:
            notes.append(MLFLOW_MISSING)
    return notes
