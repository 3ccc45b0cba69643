"""Step: a paused run trains exactly one batch per step() and pauses again."""
from __future__ import annotations

import threading

from engine.train.control import RunControl
from engine.train.trainer import Trainer

from .helpers import blobs, mlp_graph, project


def _stepped_run(steps: int, **settings):
    """Start paused, step `steps` times (each after the previous Paused), then resume.
    Returns (global_step of every Paused event, the run's result, the trainer)."""
    trainer = Trainer(project(mlp_graph(), epochs=2, batch_size=8, **settings), "cpu",
                      data=blobs(), run_dir=False, event_interval=0.0)
    paused_at: list[int] = []
    batches: list[int] = []

    def on_event(ev):
        if ev.kind == "batch":
            batches.append(ev.global_step)
        if ev.kind == "paused":
            paused_at.append(ev.global_step)
            # step from another thread, as the GUI does; resume after the last step
            act = trainer.step if len(paused_at) <= steps else trainer.resume
            threading.Timer(0.01, act).start()
    trainer.add_callback(on_event)
    trainer.pause()
    result = trainer.fit()
    return paused_at, batches, result, trainer


def test_each_step_trains_exactly_one_batch():
    paused_at, batches, result, trainer = _stepped_run(5)
    assert result.status == "completed"
    assert paused_at == [0, 1, 2, 3, 4, 5]        # paused before the first batch, then 1 by 1
    assert batches[:5] == [1, 2, 3, 4, 5]
    assert trainer.global_step == 2 * trainer.state.steps_per_epoch


def test_steps_cross_an_epoch_boundary():
    # blobs(): 120 training samples, batch 8 -> 15 steps per epoch; 17 steps reach epoch 2
    paused_at, _batches, result, _trainer = _stepped_run(17)
    assert paused_at == list(range(18))
    assert len(result.history) == 2


def test_step_while_running_pauses_after_one_more_batch():
    trainer = Trainer(project(mlp_graph(), epochs=3, batch_size=8), "cpu", data=blobs(),
                      run_dir=False, event_interval=0.0)
    seen = {}

    def on_event(ev):
        if ev.kind == "batch" and ev.global_step == 3 and "asked" not in seen:
            seen["asked"] = ev.global_step
            trainer.step()            # one more batch (step 4), then pause
        if ev.kind == "paused":
            seen.setdefault("paused", []).append(ev.global_step)
            if len(seen["paused"]) == 2:
                threading.Timer(0.01, trainer.resume).start()
    trainer.add_callback(on_event)
    assert trainer.fit().status == "completed"
    assert seen["paused"] == [3, 4]


def test_control_counts_steps_and_resume_forgets_them():
    control = RunControl()
    assert not control.take_step()
    control.step()
    control.step()
    assert control.paused
    assert control.wait_while_paused()          # a step is allowed: no waiting
    assert control.take_step() and control.take_step() and not control.take_step()
    control.step()
    control.resume()
    assert not control.paused and not control.take_step()
