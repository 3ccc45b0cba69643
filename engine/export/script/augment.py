"""The script's `augment(x, seed)`: the dataset's "augment" option written out
(engine.data.augment.BatchTransform's augmentation, step by step, with only the steps the
project uses). Every random number is drawn from a generator seeded per batch, in the
engine's order, so a batch is augmented exactly as in Studio."""
from __future__ import annotations

from .text import block, function, lit

SHIFT = block('''
    def shift(x, dy, dx):
        """Each image moved by (dy[i], dx[i]) whole pixels (down, right); 0 comes in."""
        pad = int(max(dy.abs().max().item(), dx.abs().max().item(), 0))
        if pad == 0:
            return x
        n, _, h, w = x.shape
        rows = (pad - dy).view(n, 1, 1) + torch.arange(h).view(1, h, 1)
        cols = (pad - dx).view(n, 1, 1) + torch.arange(w).view(1, 1, w)
        padded = F.pad(x, (pad, pad, pad, pad)).permute(0, 2, 3, 1)
        return padded[torch.arange(n).view(n, 1, 1), rows, cols].permute(0, 3, 1, 2).contiguous()
    ''')

CROP = block('''
    def crop(x, top, left, size):
        """The (height, width) = size window at (top[i], left[i]) of each image."""
        n, (ch, cw) = len(x), size
        rows = top.view(n, 1, 1) + torch.arange(ch).view(1, ch, 1)
        cols = left.view(n, 1, 1) + torch.arange(cw).view(1, 1, cw)
        window = x.permute(0, 2, 3, 1)[torch.arange(n).view(n, 1, 1), rows, cols]
        return window.permute(0, 3, 1, 2).contiguous()
    ''')

ROTATE = block('''
    def rotate(x, degrees):
        """Each image turned counter-clockwise by degrees[i] about its centre (bilinear)."""
        theta = degrees * (math.pi / 180)
        cos, sin, zero = torch.cos(theta), torch.sin(theta), torch.zeros_like(theta)
        h, w = x.shape[2:]
        matrix = torch.stack([torch.stack([cos, -sin * h / w, zero], 1),
                              torch.stack([sin * w / h, cos, zero], 1)], 1)
        grid = F.affine_grid(matrix, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    ''')

JITTER = block('''
    def factors(n, amount, generator):
        """A random factor in [1 - amount, 1 + amount] per image."""
        r = torch.rand(n, generator=generator)
        return (1 + (r * 2 - 1) * amount).view(n, 1, 1, 1).clamp_min(0)
    ''')

GREY = block('''
    def grey(x):
        """The luma of RGB images (n, 1, H, W)."""
        return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    ''')

HUE = block('''
    def turn_hue(x, angle):
        """The colours of each image turned by angle[i] (radians) in YIQ's chroma plane."""
        yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322],
                            [0.211, -0.523, 0.312]])
        turn = torch.zeros(len(x), 3, 3)
        turn[:, 0, 0] = 1
        turn[:, 1, 1], turn[:, 1, 2] = torch.cos(angle), -torch.sin(angle)
        turn[:, 2, 1], turn[:, 2, 2] = torch.sin(angle), torch.cos(angle)
        return torch.einsum("nij,njhw->nihw", torch.linalg.inv(yiq) @ turn @ yiq, x)
    ''')


def augment_code(config: dict, value_range: float) -> list[list[str]]:
    """The helpers and the `augment(x, seed)` function for the "augment" option `config`."""
    helpers, body = [], ["generator = torch.Generator().manual_seed(seed)", "n = len(x)"]
    scaled = value_range != 1.0
    if scaled:
        body.append(f"x = x / {lit(value_range)}  # in 0..1")
    flip = config.get("flip")
    if flip:
        dims = {"horizontal": [3], "vertical": [2], "both": [3, 2], True: [3]}[flip]
        for dim in dims:
            side = "left-right" if dim == 3 else "upside down"
            body += [f"flip = torch.rand(n, generator=generator) < 0.5  # {side}, p 0.5",
                     f"x = torch.where(flip.view(n, 1, 1, 1), x.flip({dim}), x)"]
    if config.get("shift"):
        s = int(config["shift"])
        helpers.append(SHIFT)
        body += [f"dy = torch.randint({-s}, {s + 1}, (n,), generator=generator)",
                 f"dx = torch.randint({-s}, {s + 1}, (n,), generator=generator)",
                 f"x = shift(x, dy, dx)  # up to {s} pixels"]
    if config.get("crop"):
        ch, cw = config["crop"]["size"]
        pad = int(config["crop"].get("padding", 0))
        helpers.append(CROP)
        if pad:
            body.append(f"x = F.pad(x, ({pad}, {pad}, {pad}, {pad}))")
        body += ["h, w = x.shape[2:]",
                 f"top = torch.randint(0, h - {ch - 1}, (n,), generator=generator)",
                 f"left = torch.randint(0, w - {cw - 1}, (n,), generator=generator)",
                 f"x = crop(x, top, left, ({ch}, {cw}))  # a random {ch}x{cw} window"]
    if config.get("rotate"):
        helpers.append(ROTATE)
        body.append(f"x = rotate(x, (torch.rand(n, generator=generator) * 2 - 1) * "
                    f"{lit(float(config['rotate']))})")
    jitter = {k: float(v) for k, v in (config.get("color_jitter") or {}).items() if v}
    if jitter:
        helpers.append(JITTER)
        if {"contrast", "saturation"} & set(jitter):
            helpers.append(GREY)
        if "brightness" in jitter:
            body.append(f"x = (x * factors(n, {lit(jitter['brightness'])}, generator))"
                        ".clamp(0, 1)  # brightness")
        if "contrast" in jitter:
            body += ["mean = grey(x).mean(dim=(1, 2, 3), keepdim=True)",
                     (f"x = ((x - mean) * factors(n, {lit(jitter['contrast'])}, generator) + "
                      "mean).clamp(0, 1)")]
        if "saturation" in jitter:
            body += ["g = grey(x)", (f"x = ((x - g) * factors(n, {lit(jitter['saturation'])}, "
                                     "generator) + g).clamp(0, 1)")]
        if "hue" in jitter:
            helpers.append(HUE)
            body += [(f"turn = (torch.rand(n, generator=generator) * 2 - 1) * "
                      f"{lit(jitter['hue'])} * 2 * math.pi"),
                     "x = turn_hue(x, turn).clamp(0, 1)"]
    if config.get("noise"):
        body.append(f"x = x + torch.randn(x.shape, generator=generator) * "
                    f"{lit(float(config['noise']))}  # noise")
    body.append(f"return x * {lit(value_range)}" if scaled else "return x")
    what = _describe(config)
    doc = (f"A training batch of raw inputs (float) augmented as in Studio: {what}; the "
           "random numbers come from a generator seeded with `seed` (one seed per batch).")
    return [*helpers, function("augment(x, seed)", doc, body)]


def _describe(config: dict) -> str:
    parts = []
    if config.get("flip"):
        flip = "horizontal" if config["flip"] is True else config["flip"]
        parts.append(f"{flip} flips")
    if config.get("shift"):
        parts.append(f"shifts of up to {config['shift']} px")
    if config.get("crop"):
        h, w = config["crop"]["size"]
        parts.append(f"random {h}x{w} crops")
    if config.get("rotate"):
        parts.append(f"rotations of up to {config['rotate']:g} degrees")
    if any((config.get("color_jitter") or {}).values()):
        parts.append("colour jitter")
    if config.get("noise"):
        parts.append(f"noise (std {config['noise']:g})")
    return ", ".join(parts)
