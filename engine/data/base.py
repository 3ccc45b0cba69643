"""What every dataset loader returns: numpy arrays split into train/val/test, plus task info.

Loaders never import torch (the trainer moves arrays to the device once). Targets are a list,
one array per target, matched in order to the project's Output nodes (most datasets have one).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..guard.files import memory_budget_mb
from ..guard.text import clip_message, quote

if TYPE_CHECKING:   # numpy is imported where arrays are made: the catalogue needs none
    import numpy as np


class DataError(ValueError):
    """A dataset could not be loaded; the message names the file, column or sample."""

    def __init__(self, message: str = ""):
        super().__init__(clip_message(message))


class OutsideData(DataError):
    """A data path leads outside the project folder and the user has not confirmed reading
    there. `path` is the real location (what the app asks about)."""

    def __init__(self, message: str, path=None):
        super().__init__(message)
        self.path = path


@dataclass
class Split:
    x: np.ndarray                  # (n, *sample_shape); float32, or int64 token ids; a
                                   # LazyView when the data is streamed from disk
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
    # how inputs were normalized (train statistics): {"kind", "axis", "offset", "scale"};
    # apply to new inputs with engine.data.normalize_inputs(x, splits.normalization)
    normalization: dict | None = None
    warnings: list[str] = field(default_factory=list)   # e.g. skipped corrupt images
    name: str = ""
    value_range: float = 1.0    # the largest raw input value (255 for 8-bit images)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.train.x.shape[1:])

    @property
    def input_dtype(self) -> str:
        import numpy as np

        return "long" if np.issubdtype(self.train.x.dtype, np.integer) else "float"


# -- additions used by the loaders ------------------------------------------------------------

def dataset_budget_mb(config: dict | None = None) -> float:
    """The memory a dataset may take: its "memory_budget_mb" option, else the user's
    $STUDIO_MEMORY_BUDGET_MB (2 GB by default); never more than this computer's memory (a
    project file cannot switch the size checks off by naming a huge budget)."""
    import os

    value = (config or {}).get("memory_budget_mb")
    if value is None:
        value = memory_budget_mb()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise DataError(f"dataset option 'memory_budget_mb' must be a positive number, found "
                        f"{quote(value)}")
    try:
        machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (AttributeError, OSError, ValueError):
        machine = 0
    return float(min(value, machine) if machine else value)


STREAM_MODES = ("auto", True, False)


def stream_mode(config: dict | None, nbytes: float, budget_mb: float) -> bool:
    """Whether a file dataset of `nbytes` (as held in memory) is streamed from disk: its
    "stream" option true or false, or "auto" (the default): when it exceeds the budget."""
    value = (config or {}).get("stream", "auto")
    if value not in STREAM_MODES or (value == 1 and value is not True) or \
            (value == 0 and value is not False):
        raise DataError(f"dataset option 'stream' must be true, false or 'auto', found "
                        f"{quote(value)}")
    if value == "auto":
        return nbytes > budget_mb * 2**20
    return bool(value)


@dataclass
class Target:
    """One named target a source can provide, before splitting (e.g. 'label', a CSV column)."""

    values: np.ndarray
    task: str                       # see DataSplits.tasks
    num_classes: int | None = None
    class_names: list[str] | None = None


@dataclass
class RawData:
    """What a source returns: all samples (unsplit) plus the targets it knows by name.

    `test` holds a source's own test set (MNIST's t10k files); then only validation is
    split off the training samples.
    """

    x: np.ndarray                   # or a LazyView (engine.data.lazy): read from disk
    targets: dict[str, Target]
    default_target: str = "label"
    vocab: list[str] | None = None
    description: str = ""
    test: RawData | None = None
    warnings: list[str] = field(default_factory=list)
    value_range: float = 1.0    # the largest raw value (255 for 8-bit images): "fixed"
                                # normalization's mean and std are fractions of it


@dataclass
class DatasetInfo:
    """A catalogue entry for the GUI's dataset picker."""

    name: str
    source: str
    title: str
    description: str
    task: str
    sample_shape: tuple[int, ...] | None      # None when it depends on options (files)
    input_dtype: str = "float"
    num_classes: int | None = None
    normalize: str = "standard"               # default normalization
    normalize_axis: str = "feature"           # 'feature' | 'global' | 'channel'
    options: dict = field(default_factory=dict)   # per-source option -> default value
    image_shape: tuple[int, ...] | None = None   # (C, H, W) a CNN can reshape samples to
