"""Generative models: the VAE's Sampling layer (Kingma & Welling, 2014).

Sampling takes the encoder's mean μ and log-variance log σ² and outputs a latent code z by the
reparameterisation trick, z = μ + σ·ε with ε ~ N(0, I), so gradients reach μ and σ; when
evaluating it outputs μ (deterministic). Each forward also stores its weighted KL divergence
from the prior N(0, I),
    kl = β · mean over the batch of  −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²),
which the trainer (and the exported script) adds to the loss: reconstruction + β·KL is the
negative evidence lower bound (ELBO) when β = 1 and the reconstruction loss is summed.
"""
from __future__ import annotations

from .base import Explanation, LayerSpec, Param, ShapeError, register

SAMPLING_TYPE = "gen.Sampling"

_SUPPORT = '''
class Sampling(nn.Module):
    """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) while training; mu when evaluating.
    Stores self.kl = beta * batch mean of KL(N(mu, sigma²) || N(0, I)) (summed over the
    latent units), the term the training loss adds."""

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = beta
        self.kl = torch.zeros(())

    def forward(self, mu, logvar):
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())
        self.kl = self.beta * kl.flatten(1).sum(1).mean()
        if not self.training:
            return mu
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
'''


@register
class Sampling(LayerSpec):
    id = SAMPLING_TYPE
    name = "Sampling"
    category = "Generative"
    doc = ("VAE latent sampling: z = μ + σ·ε from the encoder's mean and log-variance "
           "(μ when evaluating); adds β·KL(q(z|x) ‖ N(0, I)) to the loss.")
    formula = "z = μ + exp(½·log σ²)·ε,  ε ~ N(0, I);   KL = −½ Σ (1 + log σ² − μ² − σ²)"
    support = _SUPPORT
    params = (Param("beta", "float", 1.0, "Weight of the KL term added to the loss (β-VAE: "
                    "larger β = smoother, more disentangled latent space, blurrier "
                    "reconstructions; 0 = a plain noisy autoencoder).", min=0.0, max=1e6),)

    def input_ports(self, p):
        return ["mu", "logvar"]

    def infer(self, p, ins):
        mu, logvar = ins
        self.require_float(mu, "mu")
        self.require_float(logvar, "logvar")
        if mu.rank == 0:
            raise ShapeError(f"expected a latent mean (N, Z), received {mu}", "mu")
        if logvar.shape != mu.shape:
            raise ShapeError(f"mu is {mu} but logvar is {logvar}: give both encoder heads the "
                             "same size", "logvar")
        return [mu]

    def explain(self, p, ins, outs):
        z = ins[0].numel
        return Explanation(
            [f"output {outs[0]}: a {z}-number latent code sampled around μ (μ itself when "
             "evaluating)"],
            ["params = 0", f"adds {p['beta']:g}·KL to the loss"])

    def forward(self, p, attr, args, outs):
        return [f"{outs[0]} = self.{attr}({args[0]}, {args[1]})"]

    def module(self, p, ins):
        return f"Sampling(beta={p['beta']!r})" if p["beta"] != 1.0 else "Sampling()"


GENERATED_TYPE = "gen.Generated"


@register
class Generated(LayerSpec):
    """The meeting point of a GAN's two networks: everything before it (from the noise Input)
    is the generator, everything after it the discriminator, which also sees the real data
    here. Its params are the adversarial recipe's settings (engine/train/gan.py)."""

    id = GENERATED_TYPE
    name = "Generated"
    category = "Generative"
    doc = ("GAN: the generator's output (the layers before it) and the discriminator's input "
           "(the layers after it, ending in one logit); real data enters here when training.")
    formula = "D: max log D(x) + log(1 − D(G(z)));   G: max log D(G(z)) (non-saturating)"
    params = (
        Param("loss", "choice", "bce", "bce: the non-saturating logistic GAN loss; hinge: "
              "the hinge loss of SAGAN/BigGAN.", choices=("bce", "hinge")),
        Param("d_steps", "int", 1, "Discriminator steps per generator step (k in k:1).",
              min=1, max=100),
        Param("g_lr", "float", 0.001, "The generator's learning rate.", min=1e-7, max=10.0),
        Param("d_lr", "float", 0.001, "The discriminator's learning rate.", min=1e-7,
              max=10.0),
        Param("label_smoothing", "float", 0.0, "One-sided label smoothing: the "
              "discriminator's target for real data is 1 − this (bce only).", min=0.0,
              max=0.5),
    )

    def infer(self, p, ins):
        self.require_float(ins[0])
        return [ins[0]]

    def explain(self, p, ins, outs):
        return Explanation(
            [f"output {outs[0]} (same as input): generated samples, and real ones while "
             "the discriminator trains"],
            ["params = 0", f"{p['d_steps']} discriminator step(s) per generator step, "
             f"{p['loss']} loss, learning rates G {p['g_lr']:g} / D {p['d_lr']:g}"])

    def module(self, p, ins):
        return "nn.Identity()"
