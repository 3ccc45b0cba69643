"""What maximally activates a unit: for one unit of a hidden layer (a feature of a dense layer's
(n, F) output, a channel of a conv layer's (n, C, ...) output, averaged over its positions),
the input pattern that drives it highest, and the training samples that drive it most.

- The first layer's weights into the unit, shaped like the input, when the layer reads the
  input directly (through Flatten or Reshape only): for a dense layer on images this is the
  picture the unit looks for; for a convolution, its kernel.
- Gradient ascent on the input: from a random input, steps along the gradient of the unit's
  activation, kept within the typical distance of the data from its mean (a norm
  constraint) and the data's range, so the pattern stays comparable to real inputs.
- The top-k training samples by the unit's activation.

Any node of the graph works, also one without a module of its own: the graph is compiled
with one more Output tapping it (like probe.py)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .health import unit_axis
from .probe import tapped_model

SHAPE_ONLY = ("io.Input", "core.Flatten", "core.Reshape", "core.Identity")
WEIGHTED = ("core.Linear", "conv.Conv1d", "conv.Conv2d", "conv.Conv3d")


@dataclass
class Ascent:
    pattern: np.ndarray       # the input found (the sample's shape)
    value: float              # the unit's activation for it
    random_values: np.ndarray  # its activation for random inputs under the same constraint


class UnitProbe:
    """The compiled graph tapped at `node_id` (the graph's weights, or a fresh initialisation
    seeded with `seed`), in eval mode."""

    def __init__(self, graph, node_id: str, seed: int = 0):
        self.graph, self.node_id = graph, node_id
        node = graph.nodes[node_id]
        self.model, self.index = tapped_model(graph, node_id, node.output_ports()[0], seed)
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    def _tap(self, xt):
        outs = self.model(xt)
        out = outs[self.index] if isinstance(outs, tuple) else outs
        while isinstance(out, (tuple, list)):
            out = out[0]
        return out

    def unit_values(self, xt):
        """(n, units) tensor: each unit's activation per sample (mean over positions)."""
        out = self._tap(xt)
        if out.dim() < 2:
            raise ValueError(f"{self.graph.nodes[self.node_id].name}'s output has no units")
        axis = unit_axis(out.dim())
        out = out.movedim(axis, 1).float()
        return out.reshape(out.shape[0], out.shape[1], -1).mean(dim=2)

    def activations(self, x: np.ndarray, batch: int = 256) -> np.ndarray:
        """(n, units) as numpy for inputs `x` (batch first)."""
        import torch

        parts = []
        with torch.no_grad():
            for i in range(0, len(x), batch):
                parts.append(self.unit_values(torch.as_tensor(x[i:i + batch])).numpy())
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)

    def _best_of(self, data, unit: int, limit: int = 2048):
        """The sample of (the first `limit` of) `data` that activates `unit` most, (1, ...)."""
        values = self.activations(data[:limit].numpy())[:, unit]
        return data[int(np.argmax(values))][None]

    def top(self, x: np.ndarray, unit: int, k: int = 9) -> tuple[np.ndarray, np.ndarray]:
        """The indices of the k samples of `x` that activate `unit` most (highest first) and
        their activations."""
        values = self.activations(x)[:, unit]
        order = np.argsort(-values, kind="stable")[:k]
        return order, values[order]

    def ascend(self, unit: int, data: np.ndarray, steps: int = 64, step_size: float = 0.1,
               seed: int = 0, randoms: int = 64) -> Ascent:
        """Gradient ascent on the input for `unit`: the input stays within the median
        distance of `data`'s samples from their mean and within their value range."""
        import torch

        if data.dtype.kind not in "f":
            raise ValueError("gradient ascent needs a float input (this model reads token "
                             "ids): see the training samples instead")
        data = torch.as_tensor(np.asarray(data, np.float32))
        center = data.mean(dim=0, keepdim=True)
        radius = float((data - center).flatten(1).norm(dim=1).median()) or 1.0
        lo, hi = float(data.min()), float(data.max())
        gen = torch.Generator().manual_seed(seed)

        def constrain(delta):
            norms = delta.flatten(1).norm(dim=1).clamp_min(1e-12)
            scale = (radius / norms).clamp(max=1.0).view(-1, *[1] * (delta.dim() - 1))
            return (center + delta * scale).clamp(lo, hi) - center

        def random_inputs(n: int):
            d = torch.randn((n, *center.shape[1:]), generator=gen)
            d = d / d.flatten(1).norm(dim=1).view(-1, *[1] * (d.dim() - 1)) * radius
            return center + constrain(d)

        with torch.no_grad():
            candidates = torch.cat([random_inputs(randoms), self._best_of(data, unit)])
            values = self.unit_values(candidates)[:, unit]
        random_values = values[:randoms].numpy()
        # start from the candidate the unit likes best (a ReLU unit that is 0 at a random
        # input has no gradient to follow); the steps soon leave it behind
        delta = constrain(candidates[int(values.argmax()):][:1] - center)
        for _ in range(steps):
            delta.requires_grad_(True)
            value = self.unit_values(center + delta)[0, unit]
            (grad,) = torch.autograd.grad(value, delta)
            with torch.no_grad():
                delta = constrain(delta + step_size * radius * grad / grad.norm().clamp_min(
                    1e-12))
        with torch.no_grad():
            x = center + delta
            value = float(self.unit_values(x)[0, unit])
        return Ascent(x[0].numpy(), value, random_values)


def weight_layer(graph, node_id: str):
    """The Linear or convolution whose units `node_id` shows: itself, or the one an
    activation right after it reads. None for other nodes."""
    node = graph.nodes[node_id]
    if node.type in WEIGHTED:
        return node
    if node.type.startswith("act."):
        sources = [graph.nodes[e.src] for e in graph.edges if e.dst == node_id]
        if len(sources) == 1 and sources[0].type in WEIGHTED:
            return sources[0]
    return None


def reads_the_input(graph, node) -> bool:
    """True when `node`'s input comes from an Input through shape-only layers."""
    while True:
        sources = [graph.nodes[e.src] for e in graph.edges if e.dst == node.id]
        if len(sources) != 1 or sources[0].type not in SHAPE_ONLY:
            return False
        if sources[0].type == "io.Input":
            return True
        node = sources[0]


def first_layer_weights(probe: UnitProbe, unit: int, sample_shape: tuple) -> np.ndarray | None:
    """The weights into `unit` shaped like one input sample (a dense layer that reads the
    input directly), or the unit's kernel (a convolution that does); None otherwise."""
    from ..insight.compute import module_for

    layer = weight_layer(probe.graph, probe.node_id)
    if layer is None or not reads_the_input(probe.graph, layer):
        return None
    module = module_for(probe.model, layer.id)
    weight = getattr(module, "weight", None)
    if weight is None:
        return None
    w = weight.detach().float().cpu().numpy()[unit]
    if layer.type == "core.Linear" and w.size == int(np.prod(sample_shape)):
        return w.reshape(sample_shape)
    return w if layer.type != "core.Linear" else None


@dataclass
class UnitPictures:
    """Everything the view shows for one unit."""

    node_id: str
    unit: int
    units: int
    weights: np.ndarray | None          # first_layer_weights
    ascent: Ascent | None               # None for token-id inputs
    top_indices: np.ndarray
    top_values: np.ndarray
    top_samples: np.ndarray
    note: str = ""                      # why a picture is missing


def unit_pictures(graph, node_id: str, unit: int, train_x: np.ndarray, seed: int = 0,
                  k: int = 9, steps: int = 64) -> UnitPictures:
    """All three pictures of `unit` of `node_id` from the training inputs `train_x`."""
    probe = UnitProbe(graph, node_id, seed)
    acts = probe.activations(train_x)
    units = acts.shape[1]
    if not 0 <= unit < units:
        raise ValueError(f"{graph.nodes[node_id].name} has {units} units (0 to {units - 1}), "
                         f"not unit {unit}")
    order = np.argsort(-acts[:, unit], kind="stable")[:k]
    note, ascent = "", None
    try:
        ascent = probe.ascend(unit, train_x, steps=steps, seed=seed)
    except ValueError as exc:
        note = str(exc)
    weights = first_layer_weights(probe, unit, tuple(train_x.shape[1:]))
    return UnitPictures(node_id, unit, units, weights, ascent, order, acts[order, unit],
                        train_x[order], note)
