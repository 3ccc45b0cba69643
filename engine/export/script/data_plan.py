"""The dataset facts the script's `load_data` is written from, resolved with the engine's own
loader (engine.data) so that the script makes the choices Studio made: the source's options,
the target columns and their encodings, the split and the normalization."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...data import DataError
from ...data.base import RawData, Target
from ..common import ExportError

SYNTHETIC = ("xor", "spirals", "circles", "gaussians", "sine", "ratings", "text")
FILE_SOURCES = ("csv", "npy", "npz", "idx", "image_folder")


@dataclass
class TargetPlan:
    """One target the model trains on: as the source provides it, and after conversion."""

    name: str                   # the source's name for it ('label', a column, 'input')
    raw: Target | None          # as loaded (None: the input itself)
    final: Target               # after the dataset's "task" and "one_hot" options
    var: str = "y"              # its array in load_data

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.final.values.shape[1:])


@dataclass
class DataPlan:
    config: dict
    source: str
    name: str | None
    folder: str                         # the project folder, relative to the script
    project_folder: Path | None
    raw: RawData                        # as loaded at export (a stand-in for a download)
    input_shape: tuple[int, ...]
    input_dtype: str
    normalize: tuple[str, str] | None   # (kind, axis); None: inputs are left as they are
    seed: int
    val: float
    test: float                         # 0 when the source has its own test set
    has_val: bool
    has_test: bool
    targets: list[TargetPlan] = field(default_factory=list)
    max_samples: int | None = None
    allow_outside: bool = False         # the user confirmed data outside the project folder
    streamed: bool = False              # read from disk batch by batch (engine.data.lazy)
    augment: dict = field(default_factory=dict)   # the "augment" option (training batches)
    value_range: float = 1.0            # the largest raw value (255 for 8-bit images)
    stats: dict | None = None           # the normalization Studio fitted (or fixed)

    @property
    def own_test(self) -> bool:
        return self.raw.test is not None

    @property
    def int_input(self) -> bool:
        return self.input_dtype == "long"

    def option(self, key: str, default=None):
        return self.config.get(key, default)


def data_plan(config: dict, project_folder: Path | None, folder: str,
              input_shape: tuple[int, ...], input_dtype: str,
              allow_outside: bool = False) -> DataPlan:
    """Load the dataset as Studio does and record what the script has to repeat. Raises
    ExportError for a source the script cannot load, DataError for a bad dataset."""
    from ...data.catalogue import CATALOGUE
    from ...data.lazy import is_lazy
    from ...data.loader import _frac, _int, _normalization, load_raw, prepare

    source, name = config.get("source"), config.get("name")
    if source is None and name in CATALOGUE:
        source = CATALOGUE[name].source
    _check_supported(source, name)
    try:
        raw = load_raw(config, project_folder, allow_outside)
    except DataError:
        if source != "download":
            raise
        raw = _download_stand_in(name)   # not cached yet: the script downloads it itself
    augment = _check_options(config, raw, tuple(input_shape), input_dtype)
    splits = prepare(raw, config, input_shape, input_dtype)
    own_test = raw.test is not None
    kind, axis = _normalization(config)
    integer = np.issubdtype(splits.train.x.dtype, np.integer)
    plan = DataPlan(config, source, name, folder, project_folder, raw, tuple(input_shape),
                    input_dtype, None if integer or kind in (None, "none") else (kind, axis),
                    _int(config, "seed", 0), _frac(config, "val_split", 0.2),
                    0.0 if own_test else _frac(config, "test_split", 0.1),
                    splits.val is not None, splits.test is not None,
                    max_samples=_int(config, "max_samples", 0)
                    if config.get("max_samples") is not None else None,
                    allow_outside=allow_outside, streamed=is_lazy(raw.x), augment=augment,
                    value_range=float(raw.value_range), stats=splits.normalization)
    if plan.normalize and kind == "fixed":
        plan.normalize = ("fixed", splits.normalization["axis"])
    plan.targets = _targets(raw, config, splits.train.x[:1])
    return plan


def _targets(raw: RawData, config: dict, x_sample: np.ndarray) -> list[TargetPlan]:
    from ...data.loader import _convert, _target, _target_names, dataset_label

    label = dataset_label(config)
    out = []
    for name in _target_names(raw, config):
        if name == "label" and name not in raw.targets:
            name = raw.default_target
        chosen = _target(raw, name, x_sample, label)
        one = Target(chosen.values[:1], chosen.task, chosen.num_classes, chosen.class_names)
        out.append(TargetPlan(name, None if name == "input" else raw.targets[name],
                              _convert(one, config, label)))
    names = [t.name for t in out]
    for t in out:
        t.var = "x" if t.name == "input" else "y" if len(set(names)) == 1 else \
            "y_" + _identifier(t.name)
    return out


def _identifier(name: str) -> str:
    from ...graph import python_name

    return python_name(name)


def _check_supported(source: str | None, name: str | None) -> None:
    from ...data.bundled import _LOADERS
    from ...data.download import RESOURCES

    ok = (source == "bundled" and name in _LOADERS) or \
        (source == "synthetic" and name in SYNTHETIC) or \
        (source == "download" and name in RESOURCES) or source in FILE_SOURCES
    if not ok:
        what = f"{source} dataset {name!r}" if name else f"'{source}' dataset"
        raise ExportError(f"the Python script export supports scikit-learn's bundled datasets, "
                          f"the synthetic {', '.join(SYNTHETIC)} sets, the file sources "
                          f"{', '.join(FILE_SOURCES)} and downloads; this project uses the "
                          f"{what}, which is not supported yet")


def _check_options(config: dict, raw: RawData, input_shape: tuple[int, ...],
                   input_dtype: str) -> dict:
    """The "augment" option, checked as the Trainer checks it; what the script cannot repeat
    is refused, never dropped (a script that prepares its data otherwise would train on
    other numbers)."""
    from ...data.augment import check_augment
    from ...data.lazy import CsvSamples, is_lazy

    if is_lazy(raw.x) and isinstance(raw.x.source, CsvSamples):
        raise ExportError("the CSV file streams from disk (it is larger than its memory "
                          "budget, or 'stream' is true) and the Python script export streams "
                          "image folders and .npy files only; raise 'memory_budget_mb', or "
                          "export the model (ONNX, TorchScript)")
    if not config.get("augment"):
        return {}
    if input_dtype == "long" or len(input_shape) != 3:
        raise ExportError(f"dataset: augmentation needs image inputs (channels, height, "
                          f"width); the Input node takes {input_shape}")
    try:
        return check_augment(config["augment"])
    except ValueError as exc:
        raise ExportError(f"dataset: {exc}") from None


def _download_stand_in(name: str) -> RawData:
    """A few blank samples shaped like the download (its facts come from the catalogue)."""
    from ...data.catalogue import CATALOGUE
    from ...data.download import RESOURCES

    classes = RESOURCES[name]["classes"]
    shape = CATALOGUE[name].sample_shape

    def part(n):
        labels = np.arange(n, dtype=np.int64) % len(classes)
        return RawData(np.zeros((n, *shape), np.float32),
                       {"label": Target(labels, "classification", len(classes), classes)})

    raw = part(20)
    raw.test = part(10)
    return raw
