"""The per-step path of the Trainer: it computes exactly what a hand-written PyTorch loop
computes (same seed -> bit-identical losses), keeps the loss on the device between batch
events where a sync is not free, and its gradient norms are the plain L2 norms."""
import math

import numpy as np
import pytest
import torch

from engine.compile import compile_graph
from engine.train import steps
from engine.train.events import BatchEnded, GradNorms, RunFailed
from engine.train.metrics import LossMeter
from engine.train.steps import NonFiniteLoss
from engine.train.trainer import Trainer
from engine.train.weights import grad_norms

from .helpers import blobs, mlp_graph, project


def hand_written(graph, data, epochs, batch_size, lr, seed):
    """The loop a PyTorch user writes, following the determinism protocol of config.py:
    (mean loss, training accuracy of the train-mode outputs) per epoch."""
    torch.manual_seed(seed)
    model = compile_graph(graph, load_weights=False)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(data.train.x).float()
    y = torch.as_tensor(data.train.y[0]).long()
    losses, accuracies = [], []
    model.train()
    for _ in range(epochs):
        total, correct = 0.0, 0
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            out = model(x[idx])
            loss = torch.nn.functional.cross_entropy(out, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += (out.detach().argmax(dim=1) == y[idx]).sum().item()
        losses.append(total / len(x))
        accuracies.append(correct / len(x))
    return losses, accuracies


def hand_written_losses(graph, data, epochs, batch_size, lr, seed):
    return hand_written(graph, data, epochs, batch_size, lr, seed)[0]


def fit(proj, data, **kw):
    events = []
    trainer = Trainer(proj, "cpu", [events.append], data=data, run_dir=False, **kw)
    return trainer, trainer.fit(), events


@pytest.fixture
def deferred(monkeypatch):
    """Run the accelerator path on the CPU: losses stay tensors until a batch event."""
    monkeypatch.setattr(steps, "SYNC_EACH_STEP", frozenset())


def test_the_plain_step_equals_the_general_step(monkeypatch):
    """The common case's lean step (and its learning rate set once per epoch) trains exactly
    as the general step, which sets the rate before every batch."""
    g, data = mlp_graph(dropout=0.2), blobs(n=150)
    proj = project(g, epochs=3, batch_size=16, seed=3, schedule={"name": "cosine"})
    plain, first, _ = fit(proj, data)
    assert steps.is_plain(plain.state)
    monkeypatch.setattr(steps, "is_plain", lambda state: False)
    monkeypatch.setattr(type(plain.state.schedule), "per_step", property(lambda self: True))
    general, second, _ = fit(proj, data)
    assert first.losses == second.losses
    assert [r["lr"] for r in first.history] == [r["lr"] for r in second.history]
    assert len({r["lr"] for r in first.history}) == 3   # the cosine schedule moved
    for a, b in zip(plain.model.state_dict().values(), general.model.state_dict().values()):
        assert torch.equal(a, b)


def test_trainer_losses_equal_a_hand_written_loop():
    g, data = mlp_graph(dropout=0.2), blobs(n=150)
    _, result, _ = fit(project(g, epochs=3, batch_size=16, seed=3), data)
    assert result.losses == hand_written_losses(g, data, 3, 16, 0.01, 3)


def test_deferred_loss_sync_gives_the_same_losses_and_events(deferred):
    g, data = mlp_graph(dropout=0.2), blobs(n=150)
    _, result, events = fit(project(g, epochs=3, batch_size=16, seed=3), data,
                            event_interval=0.0)
    assert result.losses == hand_written_losses(g, data, 3, 16, 0.01, 3)
    batches = [e for e in events if isinstance(e, BatchEnded)]
    assert len(batches) == 30 and all(isinstance(b.loss, float) for b in batches)


def test_deferred_nan_names_the_step_it_happened_at(monkeypatch):
    data = blobs()
    data.train.x[37] = np.nan  # sample 37 poisons the batch it lands in
    _, _, eager = fit(project(mlp_graph(), epochs=3), data)
    monkeypatch.setattr(steps, "SYNC_EACH_STEP", frozenset())
    _, result, events = fit(project(mlp_graph(), epochs=3), data, event_interval=3600)
    assert result.status == "failed" and result.error.kind == "nan"
    failed = events[-1]
    assert isinstance(failed, RunFailed) and failed.cause == "nan"
    assert failed.global_step == eager[-1].global_step  # found later, named the same
    assert f"loss became NaN at step {failed.global_step} (epoch 1)" in failed.message


def test_loss_meter_sums_floats_and_tensors_alike():
    values = [0.5, 1.25, 0.1, 3.0]
    a, b = LossMeter(), LossMeter()
    for i, v in enumerate(values):
        a.add(float(torch.tensor(v)), 10 + i, i + 1)
        b.add(torch.tensor(v), 10 + i, i + 1)
    assert a.sum() == b.sum() and a.seen == b.seen == 46
    b.add(torch.tensor(float("inf")), 3, 5)
    with pytest.raises(NonFiniteLoss) as err:
        b.sum()
    assert err.value.step == 5 and math.isinf(err.value.value)


def test_grad_norms_are_the_l2_norms_of_each_nodes_gradients():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)
    b(a(torch.randn(5, 4))).pow(2).sum().backward()
    norms = grad_norms({"a": list(a.parameters()), "b": [b.weight], "none": []})
    assert set(norms) == {"a", "b"}
    want_a = torch.cat([p.grad.flatten() for p in a.parameters()]).norm().item()
    assert norms["a"] == pytest.approx(want_a, rel=1e-6)
    assert norms["b"] == pytest.approx(b.weight.grad.norm().item(), rel=1e-6)


def test_grad_norm_events_name_every_trained_node():
    _, _, events = fit(project(mlp_graph(), epochs=1), blobs(), event_interval=0.0)
    norms = [e for e in events if isinstance(e, GradNorms)]
    assert norms and set(norms[-1].norms) == {"fc1", "fc2"}
    assert all(v > 0 and math.isfinite(v) for v in norms[-1].norms.values())


def test_batch_events_are_spaced_by_the_trainers_clock():
    """Events come once per event_interval of Trainer.clock (wall time by default); a clock
    that reads 1 s per step spaces them by steps, whatever the machine's speed."""
    proj = project(mlp_graph(), epochs=2, batch_size=8)   # 15 steps per epoch
    events = []
    trainer = Trainer(proj, "cpu", [events.append], data=blobs(), run_dir=False,
                      event_interval=4.0)
    trainer.clock = lambda: float(trainer.progress.global_step)
    assert trainer.fit().status == "completed"
    steps = [e.global_step for e in events if isinstance(e, BatchEnded)]
    assert steps == [1, 5, 9, 13, 17, 21, 25, 29]
    assert sum(isinstance(e, GradNorms) for e in events) == len(steps)


def test_training_accuracy_equals_pytorch_over_each_epoch():
    """The per-epoch training accuracy (outputs kept per step, scored once per epoch) is the
    share of the epoch's train-mode outputs whose argmax is the label, as PyTorch counts it
    in a hand-written loop (same seed: the same outputs)."""
    g, data = mlp_graph(dropout=0.2, out=4), blobs(n=150, classes=4, seed=2)
    _, result, _ = fit(project(g, epochs=3, batch_size=16, seed=3, metrics=["accuracy"],
                               optimizer={"name": "adam", "lr": 0.003}), data)
    want = hand_written(g, data, 3, 16, 0.003, 3)[1]
    assert [row["accuracy"] for row in result.history] == want
    assert len(set(want)) > 1   # the accuracy moved: outputs of the right epoch are scored
