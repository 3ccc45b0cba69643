"""TrainingWorker: trainer events on a background thread become coalesced Qt signals."""
import threading

from engine.project import Project
from studio.worker import FPS, TrainingWorker
from tests.studio.training_fakes import fake_factory

WAIT_MS = 120_000  # generous: under load a run can take long to start; no timing is asserted


def _worker(qtbot, **kw):
    factory = fake_factory(**kw)
    w = TrainingWorker(Project(), factory=factory)
    return w, factory


def test_all_batches_arrive_in_order_and_coalesced(qtbot):
    w, factory = _worker(qtbot, epochs=3, steps=20, step_time=0.001)
    got, emits, epochs = [], [], []
    w.batches.connect(lambda b: (got.extend(b), emits.append(len(b))))
    w.epoch_end.connect(epochs.append)
    with qtbot.waitSignal(w.done, timeout=WAIT_MS):
        w.start()
    reported = [e for e in factory.made[0].reported if e.kind == "batch"]
    assert got == reported                     # the events themselves, in order
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert len(emits) < len(reported)          # several batches per signal
    assert w.result.reason == "completed" and w.state == "idle"


def test_signals_emitted_on_gui_thread_and_rate_limited(qtbot):
    w, _ = _worker(qtbot, epochs=2, steps=50, step_time=0.002)
    threads, times = set(), []
    import time
    w.batches.connect(lambda b: (threads.add(threading.get_ident()),
                                 times.append(time.monotonic())))
    t0 = time.monotonic()
    with qtbot.waitSignal(w.done, timeout=WAIT_MS):
        w.start()
    assert threads == {threading.get_ident()}
    # at most one emission per timer tick (a late tick fires once, it does not catch up),
    # plus the final flush when the thread ends; under load there are only fewer
    assert len(times) <= (times[-1] - t0) * FPS * 1.1 + 2  # Qt coarse timers: +-5 %


def test_stop_pause_resume_forwarded(qtbot):
    w, factory = _worker(qtbot, epochs=100, steps=50, step_time=0.005)
    states = []
    w.state_changed.connect(states.append)
    w.start()
    qtbot.waitUntil(lambda: w.state == "running", timeout=WAIT_MS)
    with qtbot.waitSignal(w.paused, timeout=WAIT_MS):
        w.pause()
    assert w.state == "paused"
    step = factory.made[0].steps_done
    qtbot.wait(100)
    assert factory.made[0].steps_done <= step + 1
    with qtbot.waitSignal(w.resumed, timeout=WAIT_MS):
        w.resume()
    with qtbot.waitSignal(w.done, timeout=WAIT_MS):
        w.stop()
    assert w.result.reason == "stopped"
    assert states[-1] == "idle" and "paused" in states


def test_activations_latest_per_node_and_watch(qtbot):
    w, factory = _worker(qtbot, epochs=1, steps=30, step_time=0.002, channels=6)
    w.watch(["n2"])
    acts = []
    w.activations.connect(lambda nid, data: acts.append((nid, data)))
    with qtbot.waitSignal(w.done, timeout=WAIT_MS):
        w.start()
    assert factory.made[0].watched == ["n2"]
    assert acts and all(nid == "n2" for nid, _ in acts)
    assert len(acts) < 30
    assert acts[-1][1].shape == (1, 6, 4, 4)
    assert acts[-1][1][0, 0, 0, 0] == 30       # the last snapshot is delivered


def test_failed_event_and_crash_become_failed_signal(qtbot):
    w, _ = _worker(qtbot, epochs=1, steps=10, fail_at=3)
    with qtbot.waitSignal(w.failed, timeout=WAIT_MS) as sig:
        w.start()
    assert "NaN" in sig.args[0].message and sig.args[0].node_id == "n2"
    qtbot.waitUntil(lambda: w.state == "idle", timeout=WAIT_MS)

    def broken(*a, **k):
        raise FileNotFoundError("data/train.csv not found")

    w2 = TrainingWorker(Project(), factory=broken)
    with qtbot.waitSignal(w2.failed, timeout=WAIT_MS) as sig:
        w2.start()
    assert "train.csv" in sig.args[0].message
    assert sig.args[0].cause == "data"
    qtbot.waitUntil(lambda: w2.state == "idle", timeout=WAIT_MS)


def test_training_thread_settings_apply_during_the_run_and_are_restored(qtbot, monkeypatch):
    import gc
    import sys

    import torch

    import studio.worker as worker_module

    seen = {}
    inner = fake_factory(epochs=1, steps=2)

    def factory(project, device, callbacks, **overrides):
        seen["switch"] = sys.getswitchinterval()
        seen["threads"] = torch.get_num_threads()
        seen["frozen"] = gc.get_freeze_count()
        return inner(project, device, callbacks, **overrides)

    monkeypatch.setattr(worker_module, "TORCH_THREADS", 1)
    before = sys.getswitchinterval()
    w = TrainingWorker(Project(), factory=factory)
    with qtbot.waitSignal(w.done, timeout=WAIT_MS):
        w.start()
    assert seen["threads"] == 1
    assert seen["switch"] == min(before, worker_module.GIL_SWITCH_S) < 0.005
    assert sys.getswitchinterval() == before
    assert seen["frozen"] > 1000 and gc.get_freeze_count() == 0   # no GC scans of the app
