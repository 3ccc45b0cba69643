"""What the decision-boundary view draws besides the regions: the project's training and
validation points in the model's input space (after the dataset's normalization), their
labels, and how the model's first output is read (its loss)."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .boundary import Plane, Regions, decision_regions, plane_for


@dataclass
class PlaneData:
    train_x: np.ndarray                  # (n, 2) as the model sees them
    train_y: np.ndarray | None           # (n,) class per point (None: regression)
    val_x: np.ndarray
    val_y: np.ndarray | None
    class_names: list[str] | None
    loss: str                            # how the first output is read (as_regions)
    plane: Plane


def _labels(split, task: str) -> np.ndarray | None:
    if split is None or not split.y or task not in ("classification", "binary"):
        return None
    y = np.asarray(split.y[0])
    return (y.reshape(len(y), -1)[:, 0] if task == "binary" else y.reshape(-1)).astype(int)


def first_loss(project, tasks: list[str]) -> str:
    """The loss the trainer will use for the model's first Output."""
    from ..train.config import losses_for, resolve_config

    n_outputs = max(1, len(project.graph.outputs()))
    return losses_for(resolve_config(project.training), tasks, n_outputs)[0]


def load_plane_data(project, size: int = 64, limit: int = 2000) -> PlaneData:
    """Load the project's dataset (raises engine.data.DataError) and lay the plane over its
    points. At most `limit` points of each split are kept for drawing."""
    from ..data import load_dataset

    splits = load_dataset(project.dataset, project.folder,
                          allow_outside=project.allow_outside_data)
    if splits.sample_shape != (2,):
        raise ValueError(f"the dataset's samples hold {splits.sample_shape} values, not a "
                         "pair of numbers (x1, x2)")
    task = splits.tasks[0] if splits.tasks else "regression"
    val = splits.val if splits.val is not None and len(splits.val) else None
    train_x = splits.train.x[:limit]
    val_x = val.x[:limit] if val is not None else np.zeros((0, 2), np.float32)
    names = splits.class_names[0] if splits.class_names else None
    return PlaneData(train_x, _labels(splits.train, task)[:limit] if task in (
        "classification", "binary") else None, val_x,
        _labels(val, task)[:limit] if val is not None and task in (
            "classification", "binary") else None,
        names, first_loss(project, splits.tasks),
        plane_for(np.concatenate([train_x, val_x]), size=size))


_SEEDING = threading.Lock()   # torch's generator is global: one seeded build at a time


@contextmanager
def seeded(seed: int):
    """Draw from torch's global generator seeded with `seed`, one thread at a time, and leave
    it as it was: two views building seeded models at once get the same numbers as alone."""
    import torch

    with _SEEDING, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def seeded_model(graph, weights: dict | None, seed: int = 0):
    """The model as the document holds it: its weights, or a fresh initialisation seeded with
    `seed` when it has none yet (what training starts from). Safe to call from several
    threads at once (see seeded)."""
    from ..insight import build_model

    with seeded(seed):
        return build_model(graph, weights or None)


def project_regions(graph, weights: dict | None, plane: Plane, loss: str,
                    seed: int = 0) -> Regions:
    """The regions of the model as the document holds it (see seeded_model)."""
    return decision_regions(seeded_model(graph, weights, seed), plane, loss)
