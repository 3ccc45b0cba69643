"""The VAE's KL term: each Sampling node's module stores its weighted KL divergence on every
forward (engine/layers/generative.py); the loss of a batch adds them, in graph order."""
from __future__ import annotations

import numpy as np

from ..layers.generative import SAMPLING_TYPE


def sampling_modules(model, graph) -> list:
    """The modules of the graph's Sampling nodes, in the model's node order."""
    return [getattr(model, attr) for nid, attr in model.studio_code.attrs.items()
            if nid in graph.nodes and graph.nodes[nid].type == SAMPLING_TYPE]


def kl_term(modules: list):
    """Σ β·KL of the last forward of each Sampling module (a tensor)."""
    total = modules[0].kl
    for m in modules[1:]:
        total = total + m.kl
    return total


def latent_views(project, model, graph, splits, device, limit: int = 500) -> list:
    """[epoch -> LatentSnapshot] for a model with one Sampling node and an Input, else []."""
    import torch

    from ..generative import GenerativeError, LatentView
    from .events import LatentSnapshot

    if len(sampling_modules(model, graph)) != 1:
        return []
    split = splits.val if splits.val is not None and len(splits.val) else splits.train
    x = torch.as_tensor(np.ascontiguousarray(split.x[:limit])).float().to(device)
    labels, names = _labels(project, splits, split, limit)
    try:
        with torch.random.fork_rng(devices=[]):  # building the decoder must not move the
            view = LatentView(model, graph, x)     # seed's stream (the script has none)
    except GenerativeError:
        return []

    def snapshot(epoch: int) -> LatentSnapshot:
        codes, tiles = view.compute()
        return LatentSnapshot(epoch, codes, labels, tiles, names)
    return [snapshot]


def _labels(project, splits, split, limit: int):
    """Class ids of the shown samples: the split's own classification target, or, for an
    autoencoder (target: input), the dataset's labels loaded beside it; (None, ()) if none."""
    for i, task in enumerate(splits.tasks):
        if task == "classification":
            names = splits.class_names[i] if splits.class_names else None
            return np.asarray(split.y[i][:limit]).reshape(-1), tuple(names or ())
    if not project.dataset or project.dataset.get("target") != "input":
        return None, ()
    from ..data import load_dataset

    try:
        labelled = load_dataset({**project.dataset, "target": "label"}, project.folder,
                                tuple(split.x.shape[1:]), "float", project.allow_outside_data)
    except Exception:  # noqa: BLE001 - a dataset without labels: codes shown uncoloured
        return None, ()
    same = labelled.val if split is splits.val else labelled.train
    if same is None or len(same) != len(split) or labelled.tasks[0] != "classification":
        return None, ()
    names = labelled.class_names[0] if labelled.class_names else None
    return np.asarray(same.y[0][:limit]).reshape(-1), tuple(names or ())
