"""TensorBoard and MLflow loggers: real event files read back with TensorBoard's own reader;
MLflow through a stand-in module (the package is optional and heavy)."""
import json
import sys
import types

import pytest

from engine.loggers import TENSORBOARD_MISSING
from engine.train.trainer import Trainer

from .train.helpers import blobs, mlp_graph, project


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def fit(proj, **kw):
    events = []
    result = Trainer(proj, "cpu", [events.append], data=blobs(), event_interval=0.0,
                     **kw).fit()
    assert result.status == "completed", result.error
    return result, events


def test_tensorboard_event_files_read_back(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result, events = fit(project(mlp_graph(), tmp_path, epochs=3))
    logdir = result.run_dir / "tensorboard"
    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    tags = acc.Tags()
    rows = [json.loads(ln) for ln in (result.run_dir / "metrics.jsonl").read_text()
            .splitlines()]
    for key in ("loss", "val_loss", "val_accuracy", "accuracy", "lr"):
        got = [(e.step, e.value) for e in acc.Scalars(f"epoch/{key}")]
        assert got == [(r["epoch"], pytest.approx(r[key])) for r in rows]
    steps = acc.Scalars("step/loss")
    batches = [e for e in events if e.kind == "batch"]
    assert [s.step for s in steps] == [b.global_step for b in batches]
    assert steps[-1].value == pytest.approx(batches[-1].loss)
    assert {"weights/fc1.weight", "weights/fc2.weight"} <= set(tags["histograms"])
    hist_steps = [h.step for h in acc.Histograms("weights/fc1.weight")]
    assert hist_steps[0] == 1 and hist_steps[-1] == 3  # the first and last epoch; those
    assert set(hist_steps) <= {1, 2, 3}                # between while they cost little
    assert tags["graph"] is True
    assert not [e for e in events if e.kind == "started"][0].notes


def test_tensorboard_can_be_turned_off(tmp_path):
    result, _ = fit(project(mlp_graph(), tmp_path, epochs=1, tensorboard=False))
    assert not (result.run_dir / "tensorboard").exists()


def test_missing_tensorboard_is_said_and_training_goes_on(tmp_path, monkeypatch):
    from engine.loggers import tensorboard

    monkeypatch.setattr(tensorboard, "available", lambda: False)
    result, events = fit(project(mlp_graph(), tmp_path, epochs=1))
    assert events[0].notes == (TENSORBOARD_MISSING,)
    assert not (result.run_dir / "tensorboard").exists()


def test_a_broken_logger_does_not_fail_the_run(tmp_path, monkeypatch):
    from engine.loggers import tensorboard

    def boom(self, d):
        raise OSError("disk full")
    monkeypatch.setattr(tensorboard.TensorBoardLogger, "_on_epoch", boom)
    with pytest.warns(RuntimeWarning, match="stopped logging: OSError: disk full"):
        fit(project(mlp_graph(), tmp_path, epochs=2))


def test_mlflow_run_mirrors_the_training_run(tmp_path, monkeypatch):
    calls = []
    fake = types.SimpleNamespace(
        set_experiment=lambda name: calls.append(("experiment", name)),
        start_run=lambda run_name=None: calls.append(("start", run_name)) or object(),
        log_params=lambda p: calls.append(("params", dict(p))),
        log_metrics=lambda m, step: calls.append(("metrics", step, dict(m))),
        log_artifact=lambda path: calls.append(("artifact", path.rsplit("/", 1)[-1])),
        end_run=lambda status: calls.append(("end", status)))
    monkeypatch.setitem(sys.modules, "mlflow", fake)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    proj = project(mlp_graph(), tmp_path, epochs=2)
    result, _ = fit(proj)
    assert calls[0] == ("experiment", proj.name)
    assert calls[1] == ("start", result.run_dir.name)
    params = {k: v for c in calls if c[0] == "params" for k, v in c[1].items()}
    assert params["training.optimizer.lr"] == str(proj.training.get("optimizer", {})
                                                  .get("lr", 0.001))
    metrics = [c for c in calls if c[0] == "metrics"]
    assert [m[1] for m in metrics] == [1, 2] and "val_loss" in metrics[0][2]
    assert ("artifact", "config.json") in calls and ("artifact", "best.safetensors") in calls
    assert calls[-1] == ("end", "FINISHED")


def test_mlflow_wanted_but_missing_is_said(tmp_path, monkeypatch):
    from engine.loggers import MLFLOW_MISSING

    monkeypatch.setitem(sys.modules, "mlflow", None)     # import fails
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    _, events = fit(project(mlp_graph(), tmp_path, epochs=1))
    assert MLFLOW_MISSING in events[0].notes
