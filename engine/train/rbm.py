"""Contrastive divergence (CD-k) for an RBM node, with unrated entries masked.

Visible entries < 0 are "unrated" (the collaborative-filtering convention: -1): they are set to
0 in the data, held at 0 through the Gibbs chain, and left out of the reconstruction error.
The update is the gradient of  mean F(v0) - mean F(v_k)  (F = free energy, v_k detached),
which equals  ΔW = (v0ᵀ p(h|v0) - v_kᵀ p(h|v_k)) / N,  Δa = mean(v0 - v_k),
Δb = mean(p(h|v0) - p(h|v_k)); the configured optimizer applies it (SGD: W += lr·ΔW).
The reported loss is the reconstruction error: mean |v0 - v_k| over rated entries.
"""
from __future__ import annotations

RBM_TYPE = "rbm.RBM"


def find_rbm(model, graph):
    """(node_id, module) of the graph's RBM node, or (None, None)."""
    for nid, attr in model.studio_code.attrs.items():
        node = graph.nodes.get(nid)
        if node is not None and node.type == RBM_TYPE:
            return nid, getattr(model, attr)
    return None, None


def negative_phase(rbm, v0, mask, k: int):
    """v_k after k Gibbs steps from v0, unrated entries held at 0."""
    import torch

    with torch.no_grad():
        _, h = rbm.sample_h(v0)
        v = v0
        for _ in range(k):
            _, v = rbm.sample_v(h)
            v = torch.where(mask, v, torch.zeros_like(v))
            _, h = rbm.sample_h(v)
    return v


def cd_loss(rbm, x, k: int):
    """(surrogate loss to backpropagate, reconstruction error) for a batch of visible rows."""
    import torch

    mask = x >= 0
    v0 = torch.where(mask, x, torch.zeros_like(x))
    vk = negative_phase(rbm, v0, mask, k)
    surrogate = rbm.free_energy(v0).mean() - rbm.free_energy(vk).mean()
    return surrogate, masked_mae(vk, v0, mask)


def masked_mae(pred, target, mask):
    import torch

    count = mask.sum().clamp(min=1)
    return torch.where(mask, (pred - target).abs(), torch.zeros_like(pred)).sum() / count


def reconstruction_error(rbm, x, target):
    """Evaluation: mean |target - p(v|p(h|x))| over the entries rated in `target`."""
    import torch

    v0 = torch.where(x >= 0, x, torch.zeros_like(x))
    recon = rbm(v0)
    return masked_mae(recon, target, target >= 0), recon
