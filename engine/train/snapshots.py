"""Activation snapshots: the outputs of watched nodes on the run's fixed sample."""
from __future__ import annotations

from typing import Any

from .events import ActivationSnapshot
from .state import TrainState


def snapshots(state: TrainState, watched: list[str], global_step: int
              ) -> list[ActivationSnapshot]:
    """One ActivationSnapshot per watched node (in eval mode, without gradients; the model's
    training mode is restored)."""
    if state.sample_x is None:
        return []
    import torch

    modules = state.node_modules
    captured: dict[str, Any] = {}
    hooks = []
    for nid in watched:
        module = modules.get(nid)
        if module is None:
            continue
        hooks.append(module.register_forward_hook(
            lambda m, args, out, nid=nid: captured.__setitem__(
                nid, (out[0] if isinstance(out, tuple) else out).detach())))
    if not hooks:
        return []
    model = state.model
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(state.sample_x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return [ActivationSnapshot(global_step, nid, captured[nid].float().cpu().numpy(),
                               filters(modules[nid]))
            for nid in watched if nid in captured]


def filters(module):
    """A copy of a layer's filters as numpy, for conv layers (out, in, k...) and RBMs (hidden,
    visible); None for other layers. A copy: a view of the live weights would change under
    the GUI thread drawing it as the optimizer steps on."""
    w = getattr(module, "weight", None)
    if w is None:
        w = getattr(module, "W", None)
        if w is not None:  # RBM: one filter per hidden unit, (hidden, visible)
            return w.detach().t().float().cpu().numpy().copy()
        return None
    if w.dim() >= 3:
        return w.detach().float().cpu().numpy().copy()
    return None
