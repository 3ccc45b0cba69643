"""The RBM support class: energy, conditionals, free energy and the CD-k gradient identity."""
from __future__ import annotations

import itertools

import torch

from engine import compile_graph
from engine.layers import get_spec

from .test_registry import build


def make_rbm(visible=3, hidden=2, k=1):
    graph, node = build("rbm.RBM", {"hidden": hidden, "k": k}, [((visible,), "float")])
    model = compile_graph(graph)
    rbm = getattr(model, model.studio_code.attrs[node.id])
    torch.manual_seed(0)
    with torch.no_grad():
        rbm.W.normal_(0, 0.7)
        rbm.v_bias.normal_(0, 0.5)
        rbm.h_bias.normal_(0, 0.5)
    return model, rbm


def energy(rbm, v, h):
    return -(v @ rbm.v_bias) - (h @ rbm.h_bias) - ((v @ rbm.W) * h).sum(-1)


def test_formula_names_the_energy():
    assert get_spec("rbm.RBM").formula.startswith("E(v, h) = −aᵀv − bᵀh − vᵀWh")


def test_free_energy_and_conditionals_match_brute_force():
    _, rbm = make_rbm()
    vs = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)))
    hs = torch.tensor(list(itertools.product([0.0, 1.0], repeat=2)))
    with torch.no_grad():
        e = torch.stack([energy(rbm, vs, h.expand(len(vs), -1)) for h in hs], dim=1)  # (8, 4)
        assert torch.allclose(rbm.free_energy(vs), -torch.logsumexp(-e, dim=1), atol=1e-5)
        # p(h_j = 1 | v) from the joint distribution
        p_h = torch.softmax(-e, dim=1) @ hs
        assert torch.allclose(rbm.prob_h(vs), p_h, atol=1e-5)
        assert torch.allclose(rbm.prob_v(hs), torch.sigmoid(hs @ rbm.W.t() + rbm.v_bias))


def test_forward_is_one_deterministic_up_down_pass():
    model, rbm = make_rbm(visible=6, hidden=4)
    v = torch.bernoulli(torch.full((5, 6), 0.5))
    out = model(v)
    assert out.shape == (5, 6)
    assert torch.equal(out, rbm.prob_v(rbm.prob_h(v)))


def test_sampling_and_gibbs_chain():
    _, rbm = make_rbm(visible=6, hidden=4, k=3)
    assert rbm.k == 3
    v = torch.bernoulli(torch.full((50, 6), 0.5))
    p, h = rbm.sample_h(v)
    assert h.shape == (50, 4) and set(h.unique().tolist()) <= {0.0, 1.0}
    p, s = rbm.sample_v(h)
    assert s.shape == (50, 6) and set(s.unique().tolist()) <= {0.0, 1.0}
    vk, phk = rbm.gibbs(v)
    assert vk.shape == v.shape and set(vk.unique().tolist()) <= {0.0, 1.0}
    assert torch.allclose(phk, rbm.prob_h(vk))


def test_free_energy_difference_gives_the_cd_update():
    _, rbm = make_rbm(visible=6, hidden=4)
    v0 = torch.bernoulli(torch.full((8, 6), 0.5))
    vk, _ = rbm.gibbs(v0, 1)
    vk = vk.detach()
    loss = rbm.free_energy(v0).mean() - rbm.free_energy(vk).mean()
    loss.backward()
    with torch.no_grad():
        ph0, phk = rbm.prob_h(v0), rbm.prob_h(vk)
        dW = (v0.t() @ ph0 - vk.t() @ phk) / len(v0)
        assert torch.allclose(-rbm.W.grad, dW, atol=1e-6)
        assert torch.allclose(-rbm.v_bias.grad, (v0 - vk).mean(0), atol=1e-6)
        assert torch.allclose(-rbm.h_bias.grad, (ph0 - phk).mean(0), atol=1e-6)
