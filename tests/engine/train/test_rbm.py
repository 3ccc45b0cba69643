"""RBM training by contrastive divergence: one CD-1 update checked by hand in numpy."""
import numpy as np
import pytest
import torch

from engine.data.base import DataSplits, Split
from engine.train.trainer import Trainer

from .helpers import chain, project


def rbm_graph(visible=6, hidden=3, k=1):
    return chain([("rbm.RBM", {"hidden": hidden, "k": k}, "rbm")], (visible,))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_cd1_update_matches_the_numpy_rule():
    x = np.array([[1, 0, 1, -1, 0, 1],
                  [0, 1, -1, 1, 1, 0],
                  [1, 1, 0, 0, -1, -1],
                  [0, 0, 1, 1, 0, 1],
                  [1, -1, 1, 0, 1, 0]], dtype=np.float32)
    data = DataSplits(Split(x, [x]), tasks=["reconstruction"])
    lr = 0.5
    trainer = Trainer(project(rbm_graph(), epochs=1, batch_size=5, loss="cd", metrics=[],
                              optimizer={"name": "sgd", "lr": lr}),
                      "cpu", data=data, run_dir=False)
    trainer.setup()
    rbm = trainer.state.rbm
    with torch.no_grad():
        rbm.W.copy_(torch.randn(6, 3) * 0.5)
        rbm.v_bias.copy_(torch.randn(6) * 0.1)
        rbm.h_bias.copy_(torch.randn(3) * 0.1)
    W, a, b = (t.detach().double().numpy().copy() for t in (rbm.W, rbm.v_bias, rbm.h_bias))
    samples = {"h": [], "v": []}
    orig_h, orig_v = rbm.sample_h, rbm.sample_v

    def spy_h(v):
        p, s = orig_h(v)
        samples["h"].append(s.double().numpy())
        return p, s

    def spy_v(h):
        p, s = orig_v(h)
        samples["v"].append((p.double().numpy(), s.double().numpy()))
        return p, s
    rbm.sample_h, rbm.sample_v = spy_h, spy_v
    result = trainer.fit()
    assert result.status == "completed", result.error

    # the batch is the training set in the protocol's shuffled order (config.py)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0)).numpy()
    xb = x[perm]
    mask = xb >= 0
    v0 = np.where(mask, xb, 0).astype(np.float64)
    ph0 = sigmoid(v0 @ W + b)
    h0 = samples["h"][0]
    pv1, v1_raw = samples["v"][0]
    np.testing.assert_allclose(pv1, sigmoid(h0 @ W.T + a), rtol=1e-5)
    v1 = np.where(mask, v1_raw, 0)  # unrated entries stay out of the chain
    ph1 = sigmoid(v1 @ W + b)
    n = len(x)
    W_new = W + lr * (v0.T @ ph0 - v1.T @ ph1) / n
    a_new = a + lr * (v0 - v1).mean(axis=0)
    b_new = b + lr * (ph0 - ph1).mean(axis=0)
    np.testing.assert_allclose(rbm.W.detach().numpy(), W_new, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rbm.v_bias.detach().numpy(), a_new, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rbm.h_bias.detach().numpy(), b_new, rtol=1e-5, atol=1e-6)
    recon = np.abs(v0 - v1)[mask].mean()
    assert result.losses[0] == pytest.approx(recon, rel=1e-6)


def test_rbm_learns_ratings_and_shows_filters():
    dataset = {"source": "synthetic", "name": "ratings", "users": 200, "movies": 12,
               "seed": 0}
    trainer = Trainer(project(rbm_graph(visible=12, hidden=6), epochs=12, batch_size=10,
                              loss="cd", optimizer={"name": "sgd", "lr": 1.0},
                              dataset=dataset), "cpu", run_dir=False)
    trainer.watch(["rbm"])
    events = []
    trainer.add_callback(events.append)
    result = trainer.fit()
    assert result.status == "completed", result.error
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"] * 0.8
    acts = [e for e in events if e.kind == "activations"]
    assert acts and acts[-1].weights.shape == (6, 12)


def test_cd_loss_needs_an_rbm():
    from .helpers import blobs, mlp_graph

    result = Trainer(project(mlp_graph(), loss="cd"), "cpu", data=blobs(),
                     run_dir=False).fit()
    assert result.status == "failed" and "needs an RBM node" in str(result.error)
