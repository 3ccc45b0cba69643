"""The adversarial recipe: a GAN's discriminator and generator (the parts of the graph after
and before its Generated node, engine/gan.py) trained in alternation with optimisers of their
own. Each batch of real samples is one discriminator step; every `d_steps`-th batch is also
followed by one generator step (k:1).

  bce (non-saturating):  L_D = BCE(D(x), 1 − s) + BCE(D(G(z)), 0),   L_G = BCE(D(G(z)), 1)
  hinge:                 L_D = mean relu(1 − D(x)) + mean relu(1 + D(G(z))),  L_G = −mean D(G(z))

(s: one-sided label smoothing; D outputs a logit). The reported training loss is L_D; the
epoch's GanSnapshot adds L_G, the mean D(x) and D(G(z)) (as probabilities), the samples of a
fixed noise batch and a mode-collapse hint.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

COLLAPSE_RATIO = 0.35   # samples this much less spread than real data: a mode-collapse hint


@dataclass
class GanState:
    generator: Any            # compiled generator graph, sharing the model's modules
    discriminator: Any
    g_optimizer: Any
    d_optimizer: Any
    noise_shape: tuple
    loss: str
    d_steps: int
    smoothing: float
    fixed_noise: Any          # the noise of the per-epoch sample grid
    real_spread: float        # mean distance between real samples (the collapse yardstick)
    d_params: list = field(default_factory=list)
    g_params: list = field(default_factory=list)
    steps: int = 0
    sums: dict = field(default_factory=dict)

    def add(self, **values) -> None:
        for k, v in values.items():
            total, n = self.sums.get(k, (0.0, 0))
            self.sums[k] = (total + v, n + 1)

    def means(self) -> dict:
        out = {k: total / max(n, 1) for k, (total, n) in self.sums.items()}
        self.sums = {}
        return out


def data_type(graph, report):
    """The real samples' type for a GAN (the Generated node's output), else None."""
    from ..gan import generated_node

    nid = generated_node(graph)
    return report.out_types[nid][0] if nid is not None else None


def attach(model, graph, config: dict, train_x, device) -> GanState | None:
    """The GAN's two halves and their optimisers, or None for other models."""
    import torch

    from ..compile import compile_graph
    from ..gan import discriminator_graph, generated_node, generator_graph
    from ..generative import share_modules
    from .optim import build_optimizer

    nid = generated_node(graph)
    if nid is None:
        return None
    p = graph.nodes[nid].params
    with torch.random.fork_rng(devices=[]):  # the halves' own init must not move the seed
        gen = compile_graph(generator_graph(graph), load_weights=False).to(device)
        disc = compile_graph(discriminator_graph(graph), load_weights=False).to(device)
    share_modules(gen, model)
    share_modules(disc, model)
    g_params = [q for q in gen.parameters() if q.requires_grad]
    d_params = [q for q in disc.parameters() if q.requires_grad]
    noise = next(n for n in graph.nodes.values() if n.spec.role == "input")
    shape = tuple(noise.params["shape"])
    gen_noise = torch.Generator().manual_seed(config["seed"] + 1)
    fixed = torch.randn(64, *shape, generator=gen_noise).to(device)
    real = train_x[:256].flatten(1).float()
    return GanState(
        gen, disc, build_optimizer(g_params, {**config["optimizer"], "lr": p["g_lr"]}),
        build_optimizer(d_params, {**config["optimizer"], "lr": p["d_lr"]}), shape,
        p["loss"], p["d_steps"], p["label_smoothing"], fixed,
        float(torch.cdist(real, real).mean()), d_params, g_params)


def d_loss(gan: GanState, real_logit, fake_logit):
    import torch
    import torch.nn.functional as F

    if gan.loss == "hinge":
        return F.relu(1 - real_logit).mean() + F.relu(1 + fake_logit).mean()
    real_target = torch.full_like(real_logit, 1.0 - gan.smoothing)
    return F.binary_cross_entropy_with_logits(real_logit, real_target) + \
        F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit))


def g_loss(gan: GanState, fake_logit):
    import torch
    import torch.nn.functional as F

    if gan.loss == "hinge":
        return -fake_logit.mean()
    return F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))


def noise(gan: GanState, n: int, device):
    import torch

    return torch.randn(n, *gan.noise_shape, device=device)


def adversarial_step(gan: GanState, xb):
    """One discriminator step on real batch `xb` (and as many fakes); a generator step after
    every `d_steps`-th. Returns the discriminator's loss (a float)."""
    value = d_step(gan, xb)
    gan.steps += 1
    if gan.steps % gan.d_steps == 0:
        g_step(gan, len(xb), xb.device)
    return value


def d_step(gan: GanState, xb) -> float:
    """Update the discriminator (only its optimiser steps): real `xb` against fakes."""
    import torch

    fake = gan.generator(noise(gan, len(xb), xb.device))
    real_logit, fake_logit = gan.discriminator(xb), gan.discriminator(fake.detach())
    loss_d = d_loss(gan, real_logit, fake_logit)
    gan.d_optimizer.zero_grad(set_to_none=True)
    loss_d.backward()
    gan.d_optimizer.step()
    with torch.no_grad():
        gan.add(d_loss=loss_d.item(), d_real=torch.sigmoid(real_logit).mean().item(),
                d_fake=torch.sigmoid(fake_logit).mean().item())
    return loss_d.item()


def g_step(gan: GanState, n: int, device) -> float:
    """Update the generator (only its optimiser steps) to fool the discriminator."""
    fake = gan.generator(noise(gan, n, device))
    loss_g = g_loss(gan, gan.discriminator(fake))
    gan.g_optimizer.zero_grad(set_to_none=True)
    loss_g.backward()
    gan.g_optimizer.step()
    gan.add(g_loss=loss_g.item())
    return loss_g.item()


def eval_loss(gan: GanState, xb):
    """The discriminator's loss on real `xb` against the samples of the fixed noise (as many,
    up to its 64)."""
    fake = gan.generator(gan.fixed_noise[:len(xb)])
    return d_loss(gan, gan.discriminator(xb), gan.discriminator(fake))


def snapshot(gan: GanState, model, epoch: int):
    """The epoch's GanSnapshot: mean losses and D outputs, the fixed-noise samples."""
    import torch

    from ..generative import as_tiles
    from .events import GanSnapshot

    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            samples = gan.generator(gan.fixed_noise)
    finally:
        model.train(was)
    samples = samples[0] if isinstance(samples, tuple) else samples
    flat = samples.flatten(1).float()
    spread = float(torch.cdist(flat, flat).mean()) / max(gan.real_spread, 1e-12)
    m = gan.means()
    return GanSnapshot(epoch, m.get("d_loss", float("nan")), m.get("g_loss", float("nan")),
                       m.get("d_real", float("nan")), m.get("d_fake", float("nan")),
                       as_tiles(samples.float().cpu().numpy()), spread,
                       spread < COLLAPSE_RATIO)


def samples(graph, n: int = 64, seed: int | None = None) -> np.ndarray:
    """`n` samples of a trained GAN's generator (graph.weights) as (n, h, w) tiles."""
    import torch

    from ..compile import compile_graph
    from ..gan import generator_graph
    from ..generative import as_tiles

    gen = compile_graph(generator_graph(graph)).eval()
    shape = tuple(next(n_ for n_ in graph.nodes.values()
                       if n_.spec.role == "input").params["shape"])
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    with torch.no_grad():
        out = gen(torch.randn(n, *shape, generator=g))
    return as_tiles((out[0] if isinstance(out, tuple) else out).numpy())


def confident_share(samples, classifier, threshold: float = 0.9) -> tuple[float, list[int]]:
    """How a classifier of real data sees generated `samples` (a tensor batch): the share it
    gives one class with probability >= `threshold`, and how many samples go to each class."""
    import torch

    with torch.no_grad():
        probs = torch.softmax(classifier(samples), dim=1)
    counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).tolist()
    return float((probs.max(1).values >= threshold).float().mean()), counts


def checkpoint_state(gan: GanState) -> tuple[dict, dict]:
    """(tensors, JSON-able rest) of what a resumed GAN run needs beyond the model's weights:
    both optimisers' states and the step counter that schedules the k:1 generator steps."""
    from .resume import split_optimizer_state

    tensors, meta = {}, {"steps": gan.steps}
    for part, optimizer in (("g", gan.g_optimizer), ("d", gan.d_optimizer)):
        t, meta[part] = split_optimizer_state(optimizer.state_dict())
        tensors.update({f"gan/{part}/{k}": v for k, v in t.items()})
    return tensors, meta


def restore_state(gan: GanState, tensors: dict, meta: dict) -> None:
    """Undo checkpoint_state: the optimisers continue where they were, as does k:1."""
    from .resume import join_optimizer_state

    for part, optimizer in (("g", gan.g_optimizer), ("d", gan.d_optimizer)):
        prefix = f"gan/{part}/"
        own = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        optimizer.load_state_dict(join_optimizer_state(own, meta[part]))
    gan.steps = int(meta["steps"])


def attach_gan(state, graph, config: dict) -> None:
    """Give a GAN's TrainState its GanState, the fixed noise as the snapshot sample, and the
    per-epoch GanSnapshot."""
    import torch

    x = torch.as_tensor(np.ascontiguousarray(state.splits.train.x[:256])).to(state.device)
    gan = attach(state.model, graph, config, x, state.device)
    state.gan = gan
    state.sample_x = gan.fixed_noise[:8]
    state.epoch_views = [lambda epoch: snapshot(gan, state.model, epoch)]


def gan_step(state, config: dict, xb, ys):
    """The loop's step for a GAN: (the discriminator's loss, no outputs)."""
    import math

    from .steps import NonFiniteLoss

    value = adversarial_step(state.gan, xb)
    if not math.isfinite(value):
        raise NonFiniteLoss(value)
    return value, ()
