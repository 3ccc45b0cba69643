"""What every dataset loader returns: numpy arrays split into train/val/test, plus task info.

Loaders never import torch (the trainer moves arrays to the device once). Targets are a list,
one array per target, matched in order to the project's Output nodes (most datasets have one).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class DataError(ValueError):
    """A dataset could not be loaded; the message names the file, column or sample."""


@dataclass
class Split:
    x: np.ndarray                  # (n, *sample_shape); float32, or int64 token ids
    y: list[np.ndarray]            # one array per target, first dim n

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class DataSplits:
    train: Split
    val: Split | None = None
    test: Split | None = None
    # per target: 'classification' | 'binary' | 'multilabel' | 'regression' | 'reconstruction'
    tasks: list[str] = field(default_factory=list)
    num_classes: list[int | None] = field(default_factory=list)
    class_names: list[list[str] | None] = field(default_factory=list)
    vocab: list[str] | None = None     # token id -> word, for text datasets
    description: str = ""

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.train.x.shape[1:])

    @property
    def input_dtype(self) -> str:
        return "long" if np.issubdtype(self.train.x.dtype, np.integer) else "float"
