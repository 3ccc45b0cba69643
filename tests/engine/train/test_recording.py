"""Checkpoints are written while they cost at most a small share of the run's time; the ones
kept for later are snapshots of their epoch, written however the run ends, and a run resumed
from them continues the uninterrupted curve exactly."""
import numpy as np
import pytest

from engine.train import checkpoint as ckpt
from engine.train import recording
from engine.train.config import ConfigError, resolve_config
from engine.train.events import CheckpointSaved, EpochEnded
from engine.train.recording import CostBudget
from engine.train.trainer import Trainer

from .helpers import blobs, mlp_graph, project

KW = {"schedule": {"name": "step", "step_size": 2, "gamma": 0.5},
      "optimizer": {"name": "adam", "lr": 0.02}}


def fit(proj, **kw):
    events = []
    trainer = Trainer(proj, "cpu", [events.append], data=blobs(), **kw)
    return trainer, trainer.fit(), events


def saved(events, which):
    return [e.epoch for e in events if isinstance(e, CheckpointSaved) and e.which == which]


def test_the_first_and_the_last_epoch_are_written_the_rest_while_due(tmp_path):
    g = mlp_graph(dropout=0.2)
    _, result, events = fit(project(g, tmp_path, epochs=5, checkpoint_interval=3600, **KW))
    assert result.status == "completed"
    assert saved(events, "last") == [1, 5]
    assert ckpt.read_json(result.run_dir / "last.json")["epoch"] == 5
    _, every, events = fit(project(g, tmp_path, epochs=5, checkpoint_interval=0, **KW))
    assert saved(events, "last") == [1, 2, 3, 4, 5]
    assert every.losses == result.losses


def test_a_stopped_run_writes_its_last_complete_epoch_and_resumes_exactly(tmp_path):
    g = mlp_graph(dropout=0.2)
    full = fit(project(g, tmp_path, "full", epochs=6, **KW))[1]
    proj = project(g, tmp_path, "part", epochs=6, checkpoint_interval=3600, **KW)
    trainer = Trainer(proj, "cpu", data=blobs(), event_interval=0.0)

    def stop_in_epoch_4(ev):
        if ev.kind == "batch" and ev.epoch == 4 and ev.step == 2:
            trainer.stop()   # weights have moved on from epoch 3 by now
    events = []
    trainer.add_callback(stop_in_epoch_4)
    trainer.add_callback(events.append)
    part = trainer.fit()
    assert part.status == "stopped"
    assert saved(events, "last") == [1, 3]   # epoch 3's snapshot, written at the stop
    _, rest, _ = fit(project(g, tmp_path, "part", epochs=6, **KW), resume_from=part.run_dir)
    assert rest.status == "completed", rest.error
    assert rest.losses == full.losses


def test_best_is_the_best_epochs_weights_even_when_written_later(tmp_path):
    g, fast = mlp_graph(), {"optimizer": {"name": "adam", "lr": 0.2}}  # best: epoch 4 of 8
    _, result, events = fit(project(g, tmp_path, epochs=8, checkpoint_interval=3600, **fast))
    # the same run with a checkpoint every epoch: its best file is the reference
    _, again, _ = fit(project(g, tmp_path, epochs=8, checkpoint_interval=0, **fast))
    best_epoch = again.best_epoch
    assert result.best_epoch == best_epoch and 1 < best_epoch < 8
    assert saved(events, "best") == [1, best_epoch]   # written at the end, from a snapshot
    late, _, info = ckpt.load_checkpoint(result.run_dir, "best")
    every, _, info_every = ckpt.load_checkpoint(again.run_dir, "best")
    assert info["epoch"] == info_every["epoch"] == best_epoch
    for nid, tensors in every.items():
        for name, t in tensors.items():
            assert np.array_equal(late[nid][name], t), (nid, name)


def test_an_early_stop_writes_its_epoch(tmp_path):
    stop_soon = {"early_stopping": {"patience": 0, "min_delta": 1e9}}  # stops after epoch 2
    _, result, events = fit(project(mlp_graph(), tmp_path, epochs=20,
                                    checkpoint_interval=3600, **stop_soon))
    assert result.status == "early_stopping"
    last_epoch = [e.epoch for e in events if isinstance(e, EpochEnded)][-1]
    assert saved(events, "last")[-1] == last_epoch == result.epochs_run


def test_cost_budget_spacing(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(recording.time, "monotonic", lambda: now[0])
    budget = CostBudget()
    assert budget.due()
    started = now[0]
    now[0] += 0.2                 # a write that took 0.2 s
    budget.spent(started)
    now[0] += 0.2 / CostBudget.SHARE - 0.01
    assert not budget.due()
    now[0] += 0.02
    assert budget.due()
    fixed = CostBudget(0)
    fixed.spent(now[0])
    assert fixed.due()


def test_checkpoint_interval_is_checked():
    assert resolve_config({})["checkpoint_interval"] == "auto"
    assert resolve_config({"checkpoint_interval": 30})["checkpoint_interval"] == 30
    with pytest.raises(ConfigError, match="checkpoint_interval"):
        resolve_config({"checkpoint_interval": -1})
    with pytest.raises(ConfigError, match="checkpoint_interval"):
        resolve_config({"checkpoint_interval": "often"})
