"""Image augmentation on batches, as torch ops (the only torch module in engine.data).

Every function takes a batch x (N, C, H, W) and a `torch.Generator` so runs are reproducible;
random numbers are drawn on the generator's device and moved to x's device. Each sample gets
its own random flip/shift/angle. `build_augment(config)` turns a config dict such as
{"flip": "horizontal", "shift": 2, "rotate": 10, "noise": 0.05} into one function.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _rand(n: int, generator: torch.Generator, x: torch.Tensor) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=generator.device).to(x.device)


def _randint(low: int, high: int, n: int, generator: torch.Generator, x: torch.Tensor):
    return torch.randint(low, high, (n,), generator=generator,
                         device=generator.device).to(x.device)


def _check(x: torch.Tensor) -> None:
    if x.dim() != 4:
        raise ValueError(f"augmentation expects a batch of images (N, C, H, W), got shape "
                         f"{tuple(x.shape)}")


def random_flip(x: torch.Tensor, generator: torch.Generator, p: float = 0.5,
                direction: str = "horizontal") -> torch.Tensor:
    """Mirror each image with probability p ('horizontal' left-right, 'vertical' up-down,
    'both' each independently)."""
    _check(x)
    if direction == "both":
        x = random_flip(x, generator, p, "horizontal")
        return random_flip(x, generator, p, "vertical")
    if direction not in ("horizontal", "vertical"):
        raise ValueError(f"flip direction must be horizontal, vertical or both: {direction!r}")
    dim = 3 if direction == "horizontal" else 2
    mask = (_rand(len(x), generator, x) < p).view(-1, 1, 1, 1)
    return torch.where(mask, x.flip(dim), x)


def shift(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, fill: float = 0.0
          ) -> torch.Tensor:
    """Translate each image by (dy[i], dx[i]) whole pixels (down/right positive); the pixels
    that come in are `fill`."""
    _check(x)
    n, _, h, w = x.shape
    pad = int(max(dy.abs().max().item(), dx.abs().max().item(), 0))
    if pad == 0:
        return x
    padded = F.pad(x, (pad, pad, pad, pad), value=fill)
    rows = (pad - dy.long()).view(n, 1) + torch.arange(h, device=x.device).view(1, h)
    cols = (pad - dx.long()).view(n, 1) + torch.arange(w, device=x.device).view(1, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    out = padded.permute(0, 2, 3, 1)[batch, rows.view(n, h, 1), cols.view(n, 1, w)]
    return out.permute(0, 3, 1, 2).contiguous()


def random_shift(x: torch.Tensor, generator: torch.Generator, max_shift: int = 2,
                 fill: float = 0.0) -> torch.Tensor:
    """Translate each image by a random whole number of pixels in -max_shift..max_shift."""
    if max_shift <= 0:
        return x
    dy = _randint(-max_shift, max_shift + 1, len(x), generator, x)
    dx = _randint(-max_shift, max_shift + 1, len(x), generator, x)
    return shift(x, dy, dx, fill)


def random_crop(x: torch.Tensor, generator: torch.Generator, size: tuple[int, int],
                padding: int = 0, fill: float = 0.0) -> torch.Tensor:
    """Pad by `padding`, then cut a random (H, W) = size window out of each image."""
    _check(x)
    if padding:
        x = F.pad(x, (padding,) * 4, value=fill)
    n, _, h, w = x.shape
    ch, cw = size
    if ch > h or cw > w:
        raise ValueError(f"crop size {size} is larger than the (padded) image {h}x{w}")
    top = _randint(0, h - ch + 1, n, generator, x)
    left = _randint(0, w - cw + 1, n, generator, x)
    rows = top.view(n, 1) + torch.arange(ch, device=x.device).view(1, ch)
    cols = left.view(n, 1) + torch.arange(cw, device=x.device).view(1, cw)
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    out = x.permute(0, 2, 3, 1)[batch, rows.view(n, ch, 1), cols.view(n, 1, cw)]
    return out.permute(0, 3, 1, 2).contiguous()


def rotate(x: torch.Tensor, degrees: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Rotate each image counter-clockwise by degrees[i] about its centre; corners that come
    in are 0."""
    _check(x)
    theta = degrees.to(x.device, torch.float32) * (math.pi / 180)
    cos, sin = torch.cos(theta), torch.sin(theta)
    zero = torch.zeros_like(cos)
    h, w = x.shape[2:]
    # affine_grid works in [-1, 1] coordinates; scale so that rotation is in pixel space
    mat = torch.stack([torch.stack([cos, -sin * h / w, zero], 1),
                       torch.stack([sin * w / h, cos, zero], 1)], 1)
    grid = F.affine_grid(mat.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)


def random_rotation(x: torch.Tensor, generator: torch.Generator, max_degrees: float = 10.0
                    ) -> torch.Tensor:
    """Rotate each image by a random angle in -max_degrees..max_degrees."""
    if max_degrees <= 0:
        return x
    angles = (_rand(len(x), generator, x) * 2 - 1) * max_degrees
    return rotate(x, angles)


def gaussian_noise(x: torch.Tensor, generator: torch.Generator, std: float = 0.05
                   ) -> torch.Tensor:
    """Add N(0, std^2) noise to every value."""
    noise = torch.randn(x.shape, generator=generator, device=generator.device,
                        dtype=torch.float32).to(x.device, x.dtype)
    return x + noise * std


AUGMENT_KEYS = ("flip", "shift", "crop", "rotate", "noise")


def build_augment(config: dict | None):
    """A function f(x, generator) -> x applying, in order: flip ('horizontal' | 'vertical' |
    'both'), shift (max pixels), crop ({"size": [H, W], "padding": p}), rotate (max degrees),
    noise (std). Returns None when the config asks for nothing."""
    config = dict(config or {})
    unknown = set(config) - set(AUGMENT_KEYS)
    if unknown:
        raise ValueError(f"unknown augmentation {min(unknown)!r}; choose from "
                         f"{', '.join(AUGMENT_KEYS)}")
    steps = []
    if config.get("flip"):
        direction = "horizontal" if config["flip"] is True else config["flip"]
        steps.append(lambda x, g: random_flip(x, g, 0.5, direction))
    if config.get("shift"):
        steps.append(lambda x, g: random_shift(x, g, int(config["shift"])))
    if config.get("crop"):
        crop = config["crop"]
        steps.append(lambda x, g: random_crop(x, g, tuple(crop["size"]),
                                              int(crop.get("padding", 0))))
    if config.get("rotate"):
        steps.append(lambda x, g: random_rotation(x, g, float(config["rotate"])))
    if config.get("noise"):
        steps.append(lambda x, g: gaussian_noise(x, g, float(config["noise"])))
    if not steps:
        return None

    def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for step in steps:
            x = step(x, generator)
        return x

    return augment
