"""Weight normalisation and spectral normalisation: an option of Linear and the convolutions.

Both re-express a layer's weight through torch.nn.utils.parametrizations:
  weight_norm    w = g · v / ‖v‖ per output unit (Salimans & Kingma, 2016): the direction v
                 and the length g are learned separately, one extra parameter per unit;
  spectral_norm  w = v / σ(v), σ the largest singular value estimated by one power-iteration
                 step per training forward (Miyato et al., 2018): no extra parameter, the
                 layer is 1-Lipschitz (the usual GAN discriminator constraint).
The weight is then stored as parametrizations.weight.original0/original1 (weight_norm) or
parametrizations.weight.original (spectral_norm), as torch does.
"""
from __future__ import annotations

from .base import Param

CHOICES = ("none", "weight_norm", "spectral_norm")

WEIGHT_NORM = Param(
    "weight_norm", "choice", "none",
    "Reparameterise the weight: weight_norm learns each unit's direction and length "
    "separately (w = g·v/‖v‖, one extra parameter per unit); spectral_norm divides the "
    "weight by its largest singular value (keeps the layer 1-Lipschitz, as in GAN "
    "discriminators).", choices=CHOICES)


def wrap(module: str, choice: str, dim: int = 0) -> str:
    """The constructor expression `module` with the chosen parametrization applied."""
    if choice == "none":
        return module
    arg = f", dim={dim}" if dim else ""
    return f"nn.utils.parametrizations.{choice}({module}{arg})"


def extra_params(choice: str, units: int) -> int:
    """Parameters the parametrization adds: weight_norm's length g, one per unit."""
    return units if choice == "weight_norm" else 0


def explain(choice: str, units: int) -> list[str]:
    if choice == "weight_norm":
        return [f"weight_norm: w = g·v/‖v‖, + {units} lengths g (one per output unit)"]
    if choice == "spectral_norm":
        return ["spectral_norm: w = v/σ(v), σ estimated by power iteration (no parameters)"]
    return []
