"""Trainer behaviour on tiny models: learning, events, reproducibility, resume, faults."""
import json
import threading

import numpy as np
import pytest
import torch

from engine.data.base import DataSplits, Split
from engine.train.events import (
    KINDS,
    ActivationSnapshot,
    BatchEnded,
    CheckpointSaved,
    EpochEnded,
    GradNorms,
    RunFailed,
    RunFinished,
    RunStarted,
)
from engine.train.trainer import Trainer

from .helpers import blobs, chain, mlp_graph, project, regression


def fit(proj, data=None, **kw):
    events = []
    trainer = Trainer(proj, "cpu", [events.append], data=data or blobs(), **kw)
    return trainer, trainer.fit(), events


def test_fit_learns_and_reports(tmp_path):
    trainer, result, events = fit(project(mlp_graph(), tmp_path, epochs=6))
    assert result.status == "completed", result.error
    assert result.losses[-1] < result.losses[0] * 0.5
    assert result.history[-1]["val_accuracy"] > 0.9
    kinds = [e.kind for e in events]
    assert set(kinds) <= set(KINDS)
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("epoch") == 6
    started = events[0]
    assert isinstance(started, RunStarted) and started.run_dir == str(result.run_dir)
    assert (started.epochs, started.train_size, started.val_size) == (6, 120, 30)
    assert started.steps_per_epoch == 8 and started.device == "cpu"  # 120 samples, batch 16
    assert started.config["epochs"] == 6 and started.metrics == ("accuracy",)
    epoch = next(e for e in events if isinstance(e, EpochEnded))
    assert epoch.epoch == 1 and epoch.metrics == result.history[0]
    for key in ("epoch", "loss", "val_loss", "lr", "elapsed_s", "samples_per_s",
                "val_accuracy", "accuracy"):
        assert key in epoch.metrics
    batch = next(e for e in events if isinstance(e, BatchEnded))
    assert (batch.epoch, batch.step, batch.global_step) == (1, 1, 1)
    assert batch.loss > 0 and batch.lr == started.config["optimizer"]["lr"]
    assert batch.steps_per_epoch == 8
    norms = next(e for e in events if isinstance(e, GradNorms)).norms
    assert set(norms) == {"fc1", "fc2"} and all(v > 0 for v in norms.values())
    fin = events[-1]
    assert isinstance(fin, RunFinished)
    assert fin.reason == "completed" and fin.epochs_run == 6
    test = trainer.evaluate("test")
    assert test["accuracy"] > 0.9 and test["loss"] < result.losses[0]
    extra = trainer.evaluate("test", ["confusion_matrix", "f1"])
    cm = np.array(extra["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == 30 and "accuracy" not in extra
    assert np.trace(cm) / 30 == pytest.approx(test["accuracy"])
    with pytest.raises(ValueError, match="unknown metric"):
        trainer.evaluate("test", ["auc"])
    out = trainer.predict(blobs().test.x)
    assert out.shape == (30, 3)
    assert (out.argmax(1) == blobs().test.y[0]).mean() == pytest.approx(test["accuracy"])


def test_run_folder_contents(tmp_path):
    _, result, events = fit(project(mlp_graph(), tmp_path, epochs=2))
    run = result.run_dir
    assert run.parent == tmp_path / "tiny.runs" and run.name == "run-1"
    for name in ("config.json", "metrics.csv", "metrics.jsonl", "last.safetensors",
                 "last.state.safetensors", "last.json", "best.safetensors", "best.json"):
        assert (run / name).exists(), name
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert (run / "metrics.csv").read_text().splitlines()[0].startswith("epoch,loss")
    assert json.loads((run / "config.json").read_text())["training"]["epochs"] == 2
    ck = [e for e in events if isinstance(e, CheckpointSaved)]
    assert {c.which for c in ck} == {"best", "last"}
    assert {c.path for c in ck if c.epoch == 2} >= {str(run / "last.safetensors")}
    for path in run.rglob("*"):  # no pickle anywhere (TensorBoard's folder included)
        assert path.is_dir() or not path.read_bytes().startswith(b"\x80"), path
    _, again, _ = fit(project(mlp_graph(), tmp_path, epochs=1))
    assert again.run_dir.name == "run-2"


def test_same_seed_gives_bit_identical_curves():
    g = mlp_graph(dropout=0.3)
    runs = [fit(project(g, epochs=3, seed=5), run_dir=False)[1].history for _ in range(2)]
    assert [r["loss"] for r in runs[0]] == [r["loss"] for r in runs[1]]
    assert [r["val_loss"] for r in runs[0]] == [r["val_loss"] for r in runs[1]]
    other = fit(project(g, epochs=3, seed=6), run_dir=False)[1].history
    assert [r["loss"] for r in other] != [r["loss"] for r in runs[0]]


def test_resume_continues_the_curve(tmp_path):
    g = mlp_graph(dropout=0.2)
    kw = {"schedule": {"name": "step", "step_size": 2, "gamma": 0.5}, "optimizer": {"name": "adam", "lr": 0.02}}
    full = fit(project(g, tmp_path, "full", epochs=5, **kw))[1]
    part = fit(project(g, tmp_path, "part", epochs=2, **kw))[1]
    assert part.status == "completed"
    _, rest, events = fit(project(g, tmp_path, "part", epochs=5, **kw),
                          resume_from=part.run_dir)
    assert rest.status == "completed", rest.error
    assert [r["epoch"] for r in rest.history] == [1, 2, 3, 4, 5]
    assert rest.losses == full.losses
    assert [r["lr"] for r in rest.history] == [r["lr"] for r in full.history]
    assert [e.epoch for e in events if isinstance(e, EpochEnded)] == [3, 4, 5]
    rows = (part.run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in rows] == [1, 2, 3, 4, 5]


def test_nan_loss_stops_with_the_step():
    data = blobs()
    data.train.x[37] = np.nan  # sample 37 poisons the batch it lands in
    _, result, events = fit(project(mlp_graph(), epochs=3), data, run_dir=False)
    assert result.status == "failed"
    failed = events[-1]
    assert isinstance(failed, RunFailed) and failed.cause == "nan"
    step = failed.global_step
    assert f"loss became NaN at step {step} (epoch 1)" in failed.message
    assert 1 <= step <= 8


def test_exploding_lr_gives_nan_or_inf_message():
    _, result, _ = fit(project(mlp_graph(), epochs=30, optimizer={"name": "sgd", "lr": 1e6}),
                       regression(in_dim=4, out_dim=3), run_dir=False, loss="mse")
    assert result.status == "failed" and result.error.kind == "nan"
    assert "loss became" in str(result.error) and "at step" in str(result.error)


def test_forward_exception_names_the_node():
    trainer = Trainer(project(mlp_graph(), epochs=2), "cpu", data=blobs(), run_dir=False)
    events = []
    trainer.add_callback(events.append)
    trainer.setup()
    calls = {"n": 0}

    def boom(module, args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("kaboom")
    trainer.model.fc2.register_forward_pre_hook(boom)
    result = trainer.fit()
    assert result.status == "failed"
    ev = events[-1]
    assert ev.kind == "failed" and ev.cause == "forward" and ev.node_id == "fc2"
    assert "node 'fc2'" in ev.message and "step 3" in ev.message
    assert "kaboom" in ev.traceback


def test_forward_exception_names_a_node_with_spaces_and_parentheses():
    graph = chain([("core.Linear", {"out_features": 8}, "head"), ("act.Tanh", {}, "act"),
                   ("core.Linear", {"out_features": 3}, "aux")])
    graph.nodes["aux"].name = "head (aux)"  # the old comment parser read this as "head"
    trainer = Trainer(project(graph, epochs=2), "cpu", data=blobs(), run_dir=False)
    events = []
    trainer.add_callback(events.append)
    trainer.setup()

    def boom(module, args):
        raise RuntimeError("kaboom")
    attr = trainer.model.studio_code.attrs["aux"]
    getattr(trainer.model, attr).register_forward_pre_hook(boom)
    result = trainer.fit()
    assert result.status == "failed" and result.error.node_id == "aux"
    assert "in node 'head (aux)'" in events[-1].message


def test_stop_within_one_batch():
    trainer = Trainer(project(mlp_graph(), epochs=50, batch_size=4), "cpu", data=blobs(),
                      run_dir=False)
    steps = []

    def on_event(ev):
        if ev.kind == "batch":
            steps.append(ev.global_step)
            trainer.stop()
    trainer.add_callback(on_event)
    result = trainer.fit()
    assert result.status == "stopped"
    assert trainer.global_step == steps[0] == 1


def test_pause_and_resume_from_another_thread():
    trainer = Trainer(project(mlp_graph(), epochs=3, batch_size=8), "cpu", data=blobs(),
                      run_dir=False, event_interval=0.0)
    kinds = []
    paused_at = {}

    def on_event(ev):
        kinds.append(ev.kind)
        if ev.kind == "batch" and ev.global_step == 2 and not paused_at:
            trainer.pause()
        if ev.kind == "paused":
            paused_at["step"] = ev.global_step
            threading.Timer(0.2, trainer.resume).start()
    trainer.add_callback(on_event)
    result = trainer.fit()
    assert result.status == "completed"
    assert paused_at["step"] == 2
    assert kinds.index("paused") < kinds.index("resumed")
    assert kinds[kinds.index("paused") - 1] != "paused"


def test_data_file_missing_is_a_data_failure(tmp_path):
    proj = project(mlp_graph(in_dim=4), tmp_path,
                   dataset={"source": "npy", "path": "gone.npz"}, epochs=1)
    events = []
    result = Trainer(proj, "cpu", [events.append]).fit()
    assert result.status == "failed"
    assert events[-1].kind == "failed" and events[-1].cause == "data"
    assert "gone.npz" in events[-1].message


def test_data_file_deleted_mid_run_does_not_break_the_run(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    path = tmp_path / "data.npz"
    np.savez(path, x=x, y=y)
    proj = project(mlp_graph(out=2), tmp_path, dataset={"source": "npz", "path": "data.npz"},
                   epochs=3)

    def delete(ev):
        if ev.kind == "epoch" and ev.epoch == 1:
            path.unlink()
    result = Trainer(proj, "cpu", [delete]).fit()
    assert not path.exists()
    assert result.status == "completed", result.error
    assert (result.run_dir / "last.safetensors").exists()


def test_watch_emits_activations_of_the_fixed_sample():
    trainer = Trainer(project(mlp_graph(), epochs=2), "cpu", data=blobs(), run_dir=False)
    trainer.watch(["fc1", "act"])
    events = []
    trainer.add_callback(events.append)
    trainer.fit()
    acts = [e for e in events if isinstance(e, ActivationSnapshot)]
    assert {a.node_id for a in acts} == {"fc1", "act"}
    fc1 = [a for a in acts if a.node_id == "fc1"][-1]
    sample = torch.as_tensor(blobs().val.x[:8])
    assert np.allclose(fc1.array, trainer.model.fc1(sample).detach().numpy(), atol=1e-6)


def test_a_snapshots_filters_are_the_weights_at_its_step():
    """The filters an ActivationSnapshot carries are the conv weights when it was taken,
    not a view of the live weights that goes on changing while the GUI draws it."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 1, 5, 5)).astype(np.float32)
    y = rng.integers(0, 3, 48)
    data = DataSplits(Split(x[:32], [y[:32]]), Split(x[32:], [y[32:]]), Split(x[:0], [y[:0]]),
                      tasks=["classification"], num_classes=[3], class_names=[None])
    graph = chain([("conv.Conv2d", {"out_channels": 2, "kernel_size": 3}, "conv"),
                   ("core.Flatten", {}, "flat"), ("core.Linear", {"out_features": 3}, "fc")],
                  (1, 5, 5))
    trainer = Trainer(project(graph, epochs=2, activation_interval=0), "cpu", data=data,
                      run_dir=False)
    trainer.watch(["conv"])
    seen = []   # (snapshot, the weights as they were when it was emitted)
    trainer.add_callback(lambda e: isinstance(e, ActivationSnapshot) and seen.append(
        (e, trainer.state.node_modules["conv"].weight.detach().clone().numpy())))
    assert trainer.fit().status == "completed"
    assert len(seen) > 2
    for snap, then in seen:
        assert np.array_equal(snap.weights, then)
    assert not np.array_equal(seen[0][0].weights, seen[-1][0].weights)   # they were trained


def test_activation_snapshots_are_throttled_but_the_last_epoch_is_shown():
    trainer = Trainer(project(mlp_graph(), epochs=4, activation_interval=3600), "cpu",
                      data=blobs(), run_dir=False)
    trainer.watch(["fc1"])
    events = []
    trainer.add_callback(events.append)
    trainer.fit()
    steps = [e.global_step for e in events if isinstance(e, ActivationSnapshot)]
    assert steps == [1, trainer.global_step]     # the first batch, then the end of the run


def test_frozen_layers_do_not_change():
    g = mlp_graph(trainable={"fc1": False})
    trainer = Trainer(project(g, epochs=2), "cpu", data=blobs(), run_dir=False)
    trainer.setup()
    before = trainer.model.fc1.weight.detach().clone()
    before2 = trainer.model.fc2.weight.detach().clone()
    assert trainer.fit().status == "completed"
    assert torch.equal(trainer.model.fc1.weight, before)
    assert not torch.equal(trainer.model.fc2.weight, before2)
    assert trainer.state.frozen == ["fc1"]


def test_early_stopping_restores_best():
    proj = project(mlp_graph(), epochs=60, optimizer={"name": "adam", "lr": 0.05},
                   early_stopping={"monitor": "val_loss", "patience": 2, "min_delta": 0.01})
    trainer, result, events = fit(proj, run_dir=False)
    assert result.status == "early_stopping"
    assert len(result.history) < 60
    best = result.best
    assert result.history[best["epoch"] - 1] == best
    assert len(result.history) == best["epoch"] + 3  # patience 2: the third bad epoch stops
    assert result.history[-1]["val_loss"] != best["val_loss"]
    assert trainer.evaluate("val")["loss"] == pytest.approx(best["val_loss"], rel=1e-5)
    assert events[-1].reason == "early_stopping"


def test_streaming_matches_on_device():
    g = mlp_graph(dropout=0.2)
    a = fit(project(g, epochs=2, data_on_device=True), run_dir=False)[1].losses
    b = fit(project(g, epochs=2, data_on_device=False), run_dir=False)[1].losses
    assert a == b


def test_regression_and_multi_output_weighted_losses():
    from engine.graph import Graph

    g = Graph()
    x = g.add_node("io.Input", {"shape": [3]}, name="x", node_id="in")
    h = g.add_node("core.Linear", {"out_features": 8}, name="h", node_id="h")
    a = g.add_node("core.Linear", {"out_features": 2}, name="a", node_id="a")
    b = g.add_node("core.Linear", {"out_features": 2}, name="b", node_id="b")
    oa = g.add_node("io.Output", {"loss_weight": 1.0}, name="out_a", node_id="oa")
    ob = g.add_node("io.Output", {"loss_weight": 0.25}, name="out_b", node_id="ob")
    for s, d in ((x, h), (h, a), (h, b), (a, oa), (b, ob)):
        g.connect(s.id, "out", d.id, "in")
    data = regression()
    for s in (data.train, data.val, data.test):
        s.y = [s.y[0], -s.y[0]]
    data.tasks = ["regression", "regression"]
    trainer = Trainer(project(g, epochs=3, loss=["mse", "mae"]), "cpu", data=data,
                      run_dir=False)
    result = trainer.fit()
    assert result.status == "completed" and result.losses[-1] < result.losses[0]
    trainer.model.eval()
    xs = torch.as_tensor(data.val.x)
    with torch.no_grad():
        pa, pb = trainer.model(xs)
    ya = torch.as_tensor(data.val.y[0])
    expected = torch.nn.functional.mse_loss(pa, ya) + 0.25 * torch.nn.functional.l1_loss(pb, -ya)
    assert trainer.evaluate("val")["loss"] == pytest.approx(float(expected), rel=1e-5)
    assert "out_a_mae" in result.history[-1] and "val_out_b_mae" in result.history[-1]


def test_l1_l2_penalties_join_the_loss():
    reg = {"l1": {"fc1": 0.01}, "l2": {"fc2": 0.1}}
    trainer = Trainer(project(mlp_graph(), epochs=1, regularization=reg), "cpu", data=blobs(),
                      run_dir=False)
    trainer.setup()
    m = trainer.model
    expected = 0.01 * m.fc1.weight.abs().sum() + 0.1 * (m.fc2.weight ** 2).sum()
    assert float(trainer.state.penalty().detach()) == \
        pytest.approx(float(expected.detach()), rel=1e-6)
    plain = Trainer(project(mlp_graph(), epochs=1), "cpu", data=blobs(), run_dir=False)
    assert trainer.evaluate("val")["loss"] == pytest.approx(
        plain.evaluate("val")["loss"] + float(expected.detach()), rel=1e-5)
    bad = Trainer(project(mlp_graph(), epochs=1, regularization={"l2": {"nope": 1.0}}),
                  "cpu", data=blobs(), run_dir=False)
    result = bad.fit()
    assert result.status == "failed" and "no node named 'nope'" in str(result.error)


@pytest.mark.parametrize("clip", [{"norm": 0.01}, {"value": 0.001}])
def test_gradient_clipping(clip):
    trainer = Trainer(project(mlp_graph(), epochs=1, batch_size=200, grad_clip=clip,
                              optimizer={"name": "sgd", "lr": 1.0}),
                      "cpu", data=blobs(), run_dir=False)
    trainer.setup()
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.fit()
    deltas = [(p.detach() - b) for p, b in zip(trainer.model.parameters(), before)]
    if "norm" in clip:
        total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(d)
                                                      for d in deltas]))
        assert float(total) == pytest.approx(0.01, rel=1e-4)
    else:
        assert max(float(d.abs().max()) for d in deltas) == pytest.approx(0.001, rel=1e-4)


def test_init_weights_fine_tuning(tmp_path):
    src = Trainer(project(mlp_graph(out=5), epochs=1), "cpu", data=blobs(classes=5),
                  run_dir=False)
    src.fit()
    from engine.project import save_weights

    save_weights(tmp_path / "w.safetensors", src.node_state())
    torch.save(src.model.state_dict(), tmp_path / "w.pt")
    for path in (tmp_path / "w.safetensors", tmp_path / "w.pt"):
        t = Trainer(project(mlp_graph(out=3), epochs=1), "cpu", data=blobs(), run_dir=False,
                    init_weights=path)
        t.setup()
        assert torch.equal(t.model.fc1.weight, src.model.fc1.weight)
        assert any("fc2" in s and "(3, 8)" in s and "(5, 8)" in s
                   for s in t.state.init_report.skipped), t.state.init_report.skipped
    (tmp_path / "junk.pt").write_bytes(b"not a state dict")
    bad = Trainer(project(mlp_graph(), epochs=1), "cpu", data=blobs(), run_dir=False,
                  init_weights=tmp_path / "junk.pt")
    result = bad.fit()
    assert result.status == "failed" and "junk.pt" in str(result.error)


def test_torch_compile_switch_trains():
    proj = project(mlp_graph(), epochs=2, compile="eager")
    _, result, _ = fit(proj, run_dir=False)
    assert result.status == "completed" and result.losses[-1] < result.losses[0]


def test_out_of_memory_says_so():
    trainer = Trainer(project(mlp_graph(), epochs=1, batch_size=16), "cpu", data=blobs(),
                      run_dir=False)
    trainer.setup()

    def oom(module, args):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    trainer.model.fc1.register_forward_pre_hook(oom)
    result = trainer.fit()
    assert result.error.kind == "oom"
    assert "out of memory at step 1 (epoch 1): reduce the batch size (now 16)" in \
        str(result.error)


def test_exception_while_loading_a_batch_is_a_data_failure():
    trainer = Trainer(project(mlp_graph(), epochs=2, data_on_device=False), "cpu",
                      data=blobs(), run_dir=False)
    events = []
    trainer.add_callback(events.append)
    trainer.setup()
    real = trainer.state.train_data.batches

    def flaky(*args, **kw):
        for i, batch in enumerate(real(*args, **kw)):
            if i == 2:
                raise OSError("read error in shard 3")
            yield batch
    trainer.state.train_data.batches = flaky
    result = trainer.fit()
    assert result.status == "failed"
    ev = events[-1]
    assert ev.kind == "failed" and ev.cause == "data"
    assert "loading data failed at step 3 (epoch 1)" in ev.message
    assert "read error in shard 3" in ev.traceback


def test_schedule_and_warmup_drive_the_optimizer():
    lrs = []
    proj = project(mlp_graph(), epochs=3, batch_size=40,
                   optimizer={"name": "sgd", "lr": 0.1},
                   schedule={"name": "step", "step_size": 1, "gamma": 0.5,
                             "warmup_epochs": 1})
    trainer = Trainer(proj, "cpu", data=blobs(), run_dir=False, event_interval=0.0)
    trainer.add_callback(lambda ev: ev.kind == "batch" and lrs.append(ev.lr))
    result = trainer.fit()
    # 3 steps per epoch; warm-up over the first epoch, then halved every epoch
    assert lrs == pytest.approx([0.1 / 3, 0.2 / 3, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025])
    assert [r["lr"] for r in result.history] == pytest.approx([0.1, 0.05, 0.025])
    assert trainer.state.optimizer.param_groups[0]["lr"] == pytest.approx(0.025)


def test_a_failing_callback_fails_the_run_without_raising():
    seen = []

    def bad(ev):
        seen.append(ev.kind)
        if ev.kind in ("epoch", "failed"):
            raise KeyError("oops")
    result = Trainer(project(mlp_graph(), epochs=2), "cpu", [bad], data=blobs(),
                     run_dir=False).fit()
    assert result.status == "failed" and result.error.kind == "error"
    assert "a training callback failed on the 'epoch' event: KeyError" in str(result.error)
    assert seen[-1] == "failed"
