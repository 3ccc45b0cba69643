"""Per-unit pictures of a model with a 2-number input: each hidden unit of its Linear and
activation layers (up to MAX_UNITS units) as that unit's value over the input plane, all from
one batched forward over the plane's grid (forward hooks). UnitWatcher recomputes them while a
run trains, at the pace of the decision-boundary view's watcher."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .boundary import BoundaryWatcher, Plane

MAX_UNITS = 32          # wider layers are not drawn unit by unit
HEATMAP_SIZE = 40       # grid cells per side of a unit's picture


def unit_layer(node) -> bool:
    """A layer whose outputs are units worth one picture each: Linear or an activation."""
    return node.type == "core.Linear" or node.spec.category == "Activation"


def hidden_unit_nodes(graph) -> list[str]:
    """Ids of the Linear / activation nodes of `graph` that feed no Output (hidden layers;
    the output's own picture is the decision-boundary view)."""
    outputs = {n.id for n in graph.outputs()}
    return [nid for nid, node in graph.nodes.items() if unit_layer(node)
            and not any(e.dst in outputs for e in graph.out_edges(nid))]


@dataclass
class UnitMaps:
    """`maps[node_id]`: (units, size, size) float32, unit u's value at the plane's grid
    points (row i is y index i, as Plane.points). `step`: the training step (None: idle)."""

    plane: Plane
    maps: dict[str, np.ndarray]
    step: int | None = None

    def scale(self, node_id: str) -> float:
        """The largest |value| of a node's units (one colour scale for all of them)."""
        m = self.maps[node_id]
        finite = np.abs(m[np.isfinite(m)])
        return float(finite.max()) if finite.size else 0.0


def unit_maps(model, plane: Plane, node_ids: list[str], step: int | None = None) -> UnitMaps:
    """Run `model` on the plane's grid once (eval mode, restored) and keep, for each of
    `node_ids` whose output is (N, units) with 1..MAX_UNITS units, every unit's picture."""
    from ..insight import run_model

    n = plane.size
    _, acts = run_model(model, plane.points(), list(node_ids), batch=max(n * n, 1))
    maps = {}
    for nid, a in acts.items():
        if a.ndim == 2 and a.shape[0] == n * n and 1 <= a.shape[1] <= MAX_UNITS:
            maps[nid] = np.ascontiguousarray(a.T.reshape(-1, n, n), dtype=np.float32)
    return UnitMaps(plane, maps, step)


def project_unit_maps(graph, weights: dict | None, plane: Plane, seed: int = 0) -> UnitMaps:
    """The unit pictures of the model as the document holds it: its weights, or the seeded
    fresh initialisation training starts from."""
    from .plane_data import seeded_model

    return unit_maps(seeded_model(graph, weights, seed), plane, hidden_unit_nodes(graph))


class UnitWatcher(BoundaryWatcher):
    """A trainer callback sending `sink(UnitMaps)` of `node_ids` while a run trains, rate-
    and budget-capped like BoundaryWatcher (always at a pause and at the end)."""

    def __init__(self, model_of: Callable[[], object], plane: Plane, node_ids: list[str],
                 sink: Callable[[UnitMaps], None], interval_s: float = 0.5,
                 budget: float = 0.03):
        super().__init__(model_of, plane, "", sink, interval_s, budget)
        self.node_ids = list(node_ids)

    def compute(self, model, step: int | None) -> UnitMaps:
        return unit_maps(model, self.plane, self.node_ids, step)
