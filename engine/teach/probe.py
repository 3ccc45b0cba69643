"""Probe a wire: the tensor that flows along it for some inputs, and what a student wants to
know about it (shape, min / mean / max, share of zeros and of units that are zero for every
sample, a histogram, a 2-D picture). Any wire works, also after layers that have no module
(Add, Flatten, ...): the graph is compiled with one more Output tapping the wire's source
port."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PROBE_NAME = "probe"


def dataset_inputs(project, split: str = "val", limit: int | None = None
                   ) -> tuple[np.ndarray, str]:
    """The first `limit` inputs of the project's dataset `split` ('val' or 'train'), shaped
    for the model's Input, and the split's name ('validation' or 'training'): the training
    samples when there is no validation split."""
    from ..data import load_dataset

    inputs = [n for n in project.graph.nodes.values() if n.type == "io.Input"]
    shape = tuple(inputs[0].params.get("shape", ())) if len(inputs) == 1 else None
    dtype = inputs[0].params.get("dtype") if len(inputs) == 1 else None
    splits = load_dataset(project.dataset, project.folder, input_shape=shape or None,
                          input_dtype=dtype, allow_outside=project.allow_outside_data)
    use_val = split == "val" and splits.val is not None and len(splits.val)
    chosen, which = (splits.val, "validation") if use_val else (splits.train, "training")
    return chosen.x[:limit], which


def tapped_model(graph, src: str, src_port: str, seed: int = 0):
    """(model, index): the graph compiled with one more Output tapping `src`.`src_port`, and
    that output's index among the model's outputs. The graph's weights are loaded; without
    weights, a fresh initialisation seeded with `seed` (the one training starts from)."""
    from ..compile import compile_graph
    from .plane_data import seeded

    tapped = graph.copy()
    tap = tapped.add_node("io.Output", {}, name=tapped.unique_name(PROBE_NAME))
    tapped.connect(src, src_port, tap.id, "in")
    with seeded(seed):      # not while another view seeds torch's shared generator
        model = compile_graph(tapped)
    return model, model.studio_code.output_ids.index(tap.id)


def probe_wire(graph, src: str, src_port: str, x: np.ndarray, seed: int = 0) -> np.ndarray:
    """The tensor on the wire leaving `src`.`src_port` for inputs `x` (with the batch
    dimension), in eval mode, as numpy (weights as in tapped_model)."""
    import torch

    model, index = tapped_model(graph, src, src_port, seed)
    model.eval()
    xt = torch.as_tensor(np.asarray(x))
    with torch.no_grad():
        outs = model(xt)
    out = outs[index] if isinstance(outs, tuple) else outs
    while isinstance(out, (tuple, list)):
        out = out[0]
    return out.detach().float().cpu().numpy()


@dataclass
class WireStats:
    shape: tuple[int, ...]
    minimum: float
    mean: float
    maximum: float
    std: float
    zeros: float              # share of exact zeros (after a ReLU: inactive units)
    dead_units: float         # share of units (features / channels) zero for every sample
    counts: np.ndarray        # histogram
    edges: np.ndarray


def wire_stats(a: np.ndarray, bins: int = 40) -> WireStats:
    """Statistics of a probed tensor (n, ...) with the batch first."""
    a = np.asarray(a, np.float64)
    finite = a[np.isfinite(a)]
    if not finite.size:
        finite = np.zeros(1)
    counts, edges = np.histogram(finite, bins=bins)
    if a.ndim >= 2:
        # a unit: a feature of (n, F), a channel of (n, C, ...) or (n, T, F)'s last axis
        axis = 1 if a.ndim != 3 else 2
        per_unit = np.moveaxis(a, axis, 0).reshape(a.shape[axis], -1)
        dead = float((per_unit == 0).all(axis=1).mean())
    else:
        dead = 0.0
    return WireStats(tuple(a.shape), float(finite.min()), float(finite.mean()),
                     float(finite.max()), float(finite.std()), float((a == 0).mean()), dead,
                     counts, edges)


def heatmap(a: np.ndarray, sample: int = 0) -> np.ndarray:
    """A 2-D picture of a probed tensor: (n, F) as samples × units; (n, T, F) and
    (n, H, W) as one sample's grid; (n, C, H, W) as one sample's channels tiled in a square
    grid (a blank line between tiles); deeper tensors are flattened per channel."""
    a = np.asarray(a, np.float32)
    if a.ndim <= 1:
        return a.reshape(-1, 1)
    if a.ndim == 2:
        return a
    s = a[min(max(sample, 0), len(a) - 1)]
    if s.ndim == 2:
        return s
    if s.ndim > 3:
        s = s.reshape(s.shape[0], s.shape[1], -1)
    c, h, w = s.shape
    cols = int(np.ceil(np.sqrt(c)))
    rows = int(np.ceil(c / cols))
    grid = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan, np.float32)
    for k in range(c):
        r, q = divmod(k, cols)
        grid[r * (h + 1):r * (h + 1) + h, q * (w + 1):q * (w + 1) + w] = s[k]
    return grid
