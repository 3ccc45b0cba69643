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


def color_jitter(x: torch.Tensor, generator: torch.Generator, brightness: float = 0.0,
                 contrast: float = 0.0, saturation: float = 0.0, hue: float = 0.0,
                 value_range: float = 255.0) -> torch.Tensor:
    """Random brightness, contrast and saturation factors in [1 - v, 1 + v] and a hue turn
    of up to `hue` of a full circle, per image, in that order; values are kept in
    0..value_range. RGB images only."""
    _check(x)
    if x.shape[1] != 3:
        raise ValueError(f"colour jitter needs RGB images (3 channels), got {x.shape[1]}")
    n = len(x)

    def factors(v):
        return (1 + (_rand(n, generator, x) * 2 - 1) * v).view(n, 1, 1, 1).clamp_min(0)

    def grey(t):
        return (0.299 * t[:, 0:1] + 0.587 * t[:, 1:2] + 0.114 * t[:, 2:3])

    if brightness:
        x = (x * factors(brightness)).clamp(0, value_range)
    if contrast:
        mean = grey(x).mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - mean) * factors(contrast) + mean).clamp(0, value_range)
    if saturation:
        g = grey(x)
        x = ((x - g) * factors(saturation) + g).clamp(0, value_range)
    if hue:
        x = _turn_hue(x, (_rand(n, generator, x) * 2 - 1) * hue * 2 * math.pi)
        x = x.clamp(0, value_range)
    return x


_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322],
                            [0.211, -0.523, 0.312]])


def _turn_hue(x: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotate the chroma plane of YIQ by `angle` (radians) per image."""
    fwd = _RGB_TO_YIQ.to(x.device, x.dtype)
    inv = torch.linalg.inv(fwd)
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.zeros(len(x), 3, 3, dtype=x.dtype, device=x.device)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = cos, -sin, sin, cos
    mat = inv @ rot @ fwd                              # (n, 3, 3)
    return torch.einsum("nij,njhw->nihw", mat, x)


AUGMENT_KEYS = ("flip", "shift", "crop", "rotate", "color_jitter", "noise")
JITTER_KEYS = ("brightness", "contrast", "saturation", "hue")


def check_augment(config) -> dict:
    """The dataset's "augment" option, checked: ValueError names the bad key and value."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ValueError(  # noqa: TRY004 - a bad setting, reported like every other
            f"augment must be an object such as {{\"flip\": \"horizontal\"}}, "
            f"found {config!r}")
    unknown = set(config) - set(AUGMENT_KEYS)
    if unknown:
        raise ValueError(f"unknown augmentation {min(unknown)!r}; choose from "
                         f"{', '.join(AUGMENT_KEYS)}")

    def number(key, value, hi, integer=False):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
            0 <= value <= hi and (not integer or float(value).is_integer())
        if not ok:
            kind = "a whole number" if integer else "a number"
            raise ValueError(f"augment {key} must be {kind} from 0 to {hi}, found {value!r}")

    if config.get("flip") not in (None, False, True, "horizontal", "vertical", "both"):
        raise ValueError(f"augment flip must be horizontal, vertical, both or false, found "
                         f"{config['flip']!r}")
    for key, hi, integer in (("shift", 64, True), ("rotate", 180, False), ("noise", 1, False)):
        if config.get(key) is not None:
            number(key, config[key], hi, integer)
    crop = config.get("crop")
    if crop:
        size = crop.get("size") if isinstance(crop, dict) else None
        if not (isinstance(size, list) and len(size) == 2 and
                all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in size)):
            raise ValueError(f"augment crop must be {{\"size\": [H, W], \"padding\": p}}, "
                             f"found {crop!r}")
        number("crop padding", crop.get("padding", 0), 256, True)
    jitter = config.get("color_jitter")
    if jitter:
        if not isinstance(jitter, dict) or set(jitter) - set(JITTER_KEYS):
            raise ValueError(f"augment color_jitter must be an object with "
                             f"{', '.join(JITTER_KEYS)}, found {jitter!r}")
        for key, value in jitter.items():
            number(f"color_jitter {key}", value, 0.5 if key == "hue" else 1)
    return dict(config)


def build_augment(config: dict | None, value_range: float = 1.0):
    """A function f(x, generator) -> x applying, in order: flip ('horizontal' | 'vertical' |
    'both'), shift (max pixels), crop ({"size": [H, W], "padding": p}), rotate (max degrees),
    color_jitter ({"brightness", "contrast", "saturation", "hue"}), noise (std). Returns
    None when the config asks for nothing. ValueError names a bad key."""
    config = check_augment(config)
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
    if config.get("color_jitter"):
        jitter = config["color_jitter"]
        steps.append(lambda x, g: color_jitter(x, g, **{k: float(v) for k, v in
                                                        jitter.items()},
                                               value_range=value_range))
    if config.get("noise"):
        steps.append(lambda x, g: gaussian_noise(x, g, float(config["noise"])))
    if not steps:
        return None

    def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for step in steps:
            x = step(x, generator)
        return x

    return augment


class BatchTransform:
    """What a training batch goes through before the model: raw values (uint8 pixels or
    floats) -> augmentation in 0..1 units (pixels / value_range; a generator seeded per
    batch, so results do not depend on which process does it) -> normalization (the split's
    statistics). Noise std and colour jitter are therefore fractions of the value range."""

    def __init__(self, config: dict | None, stats: dict | None, value_range: float = 1.0):
        self.config, self.value_range = check_augment(config), float(value_range)
        self.offset = None if not stats else torch.as_tensor(stats["offset"])
        self.scale = None if not stats else torch.as_tensor(stats["scale"])
        self._augment = build_augment(self.config)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_augment"] = None  # closures are rebuilt in the worker
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._augment = build_augment(self.config)

    def augment(self, x: torch.Tensor, seed: int) -> torch.Tensor:
        """Raw values -> augmented raw values (float)."""
        x = x.float()
        if self._augment is not None:
            x = self._augment(x / self.value_range, torch.Generator().manual_seed(int(seed)))
            x = x * self.value_range
        return x

    def __call__(self, x: torch.Tensor, seed: int) -> torch.Tensor:
        x = self.augment(x, seed)
        if self.offset is not None:
            x = (x - self.offset.to(x.device)) / self.scale.to(x.device)
        return x

    def on_normalized(self, x: torch.Tensor, seed: int) -> torch.Tensor:
        """The same for a batch that is already normalized (data held in memory)."""
        if self.offset is not None:
            x = x * self.scale.to(x.device) + self.offset.to(x.device)
        return self(x, seed)
