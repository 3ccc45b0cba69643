"""One optimisation step on a batch: forward, loss, backward, clipping, optimizer step.

`make_step(state, config)` returns the step function of a run: `step(xb, ys) -> (loss value,
outputs)`, by backpropagation, or by contrastive divergence for an RBM. On the CPU the loss
value is a float and a step whose loss is not finite raises NonFiniteLoss before any weight
changes. On an accelerator it is the detached loss tensor: reading it would stall the device
every step, so the loop's LossMeter (metrics.py) syncs and checks the losses once per batch
event (NonFiniteLoss then names the step, a few steps late).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

from .state import TrainState
from .vae import kl_term

# device types whose step reads its loss at once (a sync there is free)
SYNC_EACH_STEP = frozenset({"cpu"})


class NonFiniteLoss(ArithmeticError):
    """The loss of a batch is NaN or infinite; `value` is it, `step` its global step when
    found after the fact (None: the step that raised it)."""

    def __init__(self, value: float, step: int | None = None):
        super().__init__(f"loss {value}")
        self.value = value
        self.step = step


def loss_value(state: TrainState, loss):
    """The step's loss for the loop: a checked float where a sync is free, else the detached
    tensor (LossMeter checks it later)."""
    if state.device.type not in SYNC_EACH_STEP:
        return loss.detach()
    value = loss.item()
    if not math.isfinite(value):
        raise NonFiniteLoss(value)
    return value


def make_step(state: TrainState, config: dict) -> Callable:
    if state.gan is not None:  # a GAN: the adversarial recipe (gan.py)
        from .gan import gan_step
        return partial(gan_step, state, config)
    if state.rbm is not None:
        return partial(cd_step, state, config)
    if is_plain(state):
        return plain_step(state)
    return partial(backprop_step, state, config)


def is_plain(state: TrainState) -> bool:
    """The common case: one loss of weight 1, no mixed precision, regularization penalty, KL
    term or clipping, on a device where reading the loss is free."""
    return (state.single_loss is not None and not state.amp and state.scaler is None and
            not state.kl_modules and not state.penalty_terms and not state.clipping and
            state.device.type in SYNC_EACH_STEP)


def plain_step(state: TrainState) -> Callable:
    """backprop_step for the common case (is_plain), doing exactly what a hand-written loop
    does: the pieces are looked up once, not on every step."""
    net, loss_fn, optimizer = state.net, state.single_loss, state.optimizer

    def step(xb, ys):
        out = net(xb)
        loss = loss_fn(out, ys[0])
        value = loss.item()
        if not math.isfinite(value):
            raise NonFiniteLoss(value)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return value, (out,)

    return step


def backprop_step(state: TrainState, config: dict, xb, ys):
    """Forward, loss, backward, clip, optimizer step. Returns (loss value, outputs)."""
    if state.amp:
        with state.autocast():
            loss, outs = forward_loss(state, xb, ys)
    else:
        loss, outs = forward_loss(state, xb, ys)
    value = loss_value(state, loss)
    optimizer = state.optimizer
    optimizer.zero_grad(set_to_none=True)
    if state.scaler is not None:
        state.scaler.scale(loss).backward()
        state.scaler.unscale_(optimizer)
        clip(state, config)
        state.scaler.step(optimizer)
        state.scaler.update()
    else:
        loss.backward()
        if state.clipping:
            clip(state, config)
        optimizer.step()
    return value, outs


def forward_loss(state: TrainState, xb, ys):
    """(total loss, outputs as a tuple) of a batch: each output's loss times its weight, plus
    the regularization penalty."""
    outs = state.net(xb)
    if state.single_loss is not None:  # the common case: one output, weight 1
        loss = state.single_loss(outs, ys[0])
        outs = (outs,)
    else:
        if not isinstance(outs, tuple):
            outs = (outs,)
        loss = None
        for fn, w, out, y in zip(state.loss_fns, state.loss_weights, outs, ys):
            term = fn(out, y)
            term = term if w == 1.0 else w * term
            loss = term if loss is None else loss + term
    if state.kl_modules:
        loss = loss + kl_term(state.kl_modules)
    if state.penalty_terms:
        loss = loss + state.penalty()
    return loss, outs


def cd_step(state: TrainState, config: dict, xb, ys):
    """CD-k on the RBM node; the loss is the masked reconstruction error (`ys` unused: the
    RBM reconstructs its input)."""
    from .rbm import cd_loss

    surrogate, recon = cd_loss(state.rbm, xb, config["cd_k"] or state.rbm.k)
    if state.penalty_terms:
        surrogate = surrogate + state.penalty()
    value = recon.item()
    if not math.isfinite(value) or not math.isfinite(surrogate.item()):
        raise NonFiniteLoss(value)
    state.optimizer.zero_grad(set_to_none=True)
    surrogate.backward()
    if state.world > 1:  # CD bypasses the DDP forward, so average the gradients here
        from .distributed import average_grads

        average_grads(state.trainable_params, state.world)
    clip(state, config)
    state.optimizer.step()
    return value, ()


def clip(state: TrainState, config: dict) -> None:
    clip_cfg = config["grad_clip"]
    if clip_cfg["value"] is not None or clip_cfg["norm"] is not None:
        import torch

        params = state.trainable_params
        if clip_cfg["value"] is not None:
            torch.nn.utils.clip_grad_value_(params, clip_cfg["value"])
        if clip_cfg["norm"] is not None:
            torch.nn.utils.clip_grad_norm_(params, clip_cfg["norm"])
