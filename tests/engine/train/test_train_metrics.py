"""The Trainer's training loss and metrics per epoch equal a hand computation in plain
PyTorch over the same train-mode outputs (same seed: the same training)."""
import pytest
import torch

from engine.compile import compile_graph

from .helpers import blobs, mlp_graph, project, regression
from .test_hot_path import fit


def hand_epochs(graph, data, epochs, batch_size, lr, seed, loss_fn, score):
    """The loop a PyTorch user writes: per epoch the mean loss and `score(outputs,
    targets)` of the epoch's train-mode outputs."""
    torch.manual_seed(seed)
    model = compile_graph(graph, load_weights=False)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(data.train.x).float()
    y = torch.as_tensor(data.train.y[0])
    rows = []
    model.train()
    for _ in range(epochs):
        total, outs, tgts = 0.0, [], []
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            out = model(x[idx])
            loss = loss_fn(out, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            outs.append(out.detach())
            tgts.append(y[idx])
        rows.append((total / len(x), score(torch.cat(outs), torch.cat(tgts))))
    return rows


def test_training_loss_and_accuracy_per_epoch_equal_plain_pytorch():
    g, data = mlp_graph(out=4), blobs(n=100, classes=4, seed=4)   # 100 = 6 x 16 + 4
    _, result, _ = fit(project(g, epochs=4, batch_size=16, seed=1, metrics=["accuracy"],
                               optimizer={"name": "adam", "lr": 0.01}), data)
    want = hand_epochs(g, data, 4, 16, 0.01, 1, torch.nn.functional.cross_entropy,
                       lambda o, t: (o.argmax(dim=1) == t).sum().item() / len(t))
    assert [(r["loss"], r["accuracy"]) for r in result.history] == want
    assert len({w[1] for w in want}) > 1


def test_training_mae_per_epoch_equals_plain_pytorch():
    g, data = mlp_graph(in_dim=3, out=2), regression(n=90)
    _, result, _ = fit(project(g, epochs=3, batch_size=16, seed=2, loss="mse",
                               metrics=["mae"], optimizer={"name": "adam", "lr": 0.01}),
                       data)
    want = hand_epochs(g, data, 3, 16, 0.01, 2, torch.nn.functional.mse_loss,
                       lambda o, t: (o.double() - t.double()).abs().mean().item())
    assert [r["loss"] for r in result.history] == [w[0] for w in want]
    assert [r["mae"] for r in result.history] == pytest.approx([w[1] for w in want],
                                                               rel=1e-12)
    assert len({w[1] for w in want}) == 3
