"""`load_dataset`: a project's dataset config -> train/val/test numpy splits.

Steps: load the source (RawData) -> reshape/cast to the Input node -> seeded split ->
normalization fitted on the train split -> targets chosen by name ('input' for autoencoders).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..guard.text import quote
from .base import DataError, DataSplits, RawData, Split, Target, dataset_budget_mb
from .catalogue import CATALOGUE, FILE_DEFAULTS, SOURCES
from .lazy import is_lazy
from .prep import (
    denormalize_inputs,
    fit_normalization,
    fixed_normalization,
    normalize_inputs,
    one_hot,
    split_indices,
)

SOURCE_NAMES = ("bundled", "synthetic", "download", *SOURCES)


def load_dataset(config: dict, project_folder: Path | None = None,
                 input_shape: tuple | None = None, input_dtype: str | None = None,
                 allow_outside: bool = False) -> DataSplits:
    """Load the dataset a project's "dataset" dict describes and split it.

    config: {"source", "name", "path", per-source options, "val_split" (0.2),
    "test_split" (0.1), "seed" (0), "normalize" ('minmax'|'standard'|'none'; default per
    dataset), "normalize_axis" ('feature'|'global'|'channel'), "target" / "targets",
    "task", "one_hot", "max_samples", "memory_budget_mb"}.
    project_folder: relative "path"s resolve against it; real paths outside it are refused
    (OutsideData) unless `allow_outside` (the user confirmed it).
    input_shape / input_dtype: the Input node's shape (without batch) and dtype; samples are
    reshaped to it, and a size mismatch raises DataError.
    Raises DataError with one clear sentence for every bad config, file or sample.
    """
    if not isinstance(config, dict):
        raise DataError(f"the dataset config must be an object, found {type(config).__name__}")
    raw = load_raw(config, project_folder, allow_outside)
    return prepare(raw, config, input_shape, input_dtype)


def preview(config: dict, n: int = 8, project_folder: Path | None = None,
            allow_outside: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The first n training samples as stored in the source (not normalized) and their
    first target, for the GUI's dataset preview."""
    splits = load_dataset(config, project_folder, allow_outside=allow_outside)
    x = denormalize_inputs(splits.train.x[:n], splits.normalization)
    y = splits.train.y[0][:n] if splits.train.y else np.zeros((0,))
    return x, y


def dataset_label(config: dict) -> str:
    """How error messages name the dataset: its name, or its file."""
    return str(config.get("name") or config.get("path") or config.get("source") or "?")


# -- source dispatch --------------------------------------------------------------------------

def load_raw(config: dict, project_folder: Path | None = None,
             allow_outside: bool = False) -> RawData:
    """Load all samples of the configured source, unsplit; every input value and target is
    checked to be finite (the error names the file and the sample)."""
    raw = _load_source(config, project_folder, allow_outside)
    check_finite(raw, dataset_label(config))
    return raw


def _load_source(config: dict, project_folder: Path | None, allow_outside: bool) -> RawData:
    source = config.get("source")
    name = config.get("name")
    if source is None and name in CATALOGUE:
        source = CATALOGUE[name].source
    if source == "bundled":
        from .bundled import load_bundled
        return load_bundled(name, config)
    if source == "synthetic":
        return _synthetic(name, config)
    if source == "download":
        from .download import load_download
        return load_download(name, config)
    if source in SOURCES:
        from .files import load_file_source
        return load_file_source(source, config, project_folder, allow_outside)
    raise DataError(f"unknown dataset source {quote(source)}; choose one of "
                    f"{', '.join(SOURCE_NAMES)}")


def check_finite(raw: RawData, label: str, part: str = "") -> None:
    """Refuse NaN or infinite inputs or targets, naming the file and the first bad sample
    (a NaN input trains silently into NaN weights, later blamed on the learning rate)."""
    parts = [("input", raw.x)] + [(f"target {quote(name)}", t.values)
                                  for name, t in raw.targets.items()]
    for what, arr in parts:
        if is_lazy(arr):
            continue        # streamed samples are checked as they are read
        arr = np.asarray(arr)
        if arr.dtype.kind != "f" or not len(arr):
            continue
        flat = arr.reshape(len(arr), -1)
        step = max(1, (1 << 22) // max(1, flat.shape[1]))   # no full-size temporary
        for start in range(0, len(flat), step):
            ok = np.isfinite(flat[start:start + step]).all(axis=1)
            if not ok.all():
                bad = start + int(np.argmin(ok))
                raise DataError(f"dataset {quote(label)}{part}: the {what} of sample {bad} "
                                "contains NaN or infinite values")
    if raw.test is not None:
        check_finite(raw.test, label, " (its test set)")


def _synthetic(name: str, config: dict) -> RawData:
    from . import synthetic
    from .idx import check_budget

    check_budget(_synthetic_bytes(name, config), dataset_budget_mb(config),
                 f"the synthetic dataset '{name}' with these options")
    if name == "text":
        from .text import load_text
        return load_text(config)
    makers = {"xor": synthetic.make_xor, "spirals": synthetic.make_spirals,
              "circles": synthetic.make_circles, "gaussians": synthetic.make_gaussians,
              "sine": synthetic.make_sine, "ratings": synthetic.make_ratings}
    if name not in makers:
        raise DataError(f"unknown synthetic dataset {quote(name)}; choose one of "
                        f"{', '.join([*makers, 'text'])}")
    return makers[name](config)


def _synthetic_bytes(name: str, config: dict) -> int:
    """A generous estimate of the memory a synthetic generator needs (float64 temporaries)."""
    def num(key, default):
        v = config.get(key, default)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else default

    if name == "sine":
        return int(num("samples", 1000) * (num("window", 20) + 1) * 8 * 4)
    if name == "ratings":
        return int(num("users", 300) * num("movies", 24) * 8 * 4)
    if name == "text":
        pairs = 1 if config.get("mode", "classify") == "classify" else 4 * num("window", 2)
        return int(num("samples", 800) * num("max_len", 12) * pairs * 8 * 4)
    return int(num("samples", 400) * 2 * 8 * 4)


# -- preparation ------------------------------------------------------------------------------

def prepare(raw: RawData, config: dict, input_shape=None, input_dtype=None) -> DataSplits:
    """Reshape, split, normalize and select targets (see load_dataset)."""
    label = dataset_label(config)
    raw = _subsample(raw, config)
    x = _to_input(raw.x, label, input_shape, input_dtype)
    test_x = _to_input(raw.test.x, label, input_shape, input_dtype) if raw.test else None
    seed = _int(config, "seed", 0)
    val = _frac(config, "val_split", 0.2)
    test = 0.0 if raw.test is not None else _frac(config, "test_split", 0.1)
    tr, va, te = split_indices(len(x), val, test, seed)

    kind, axis = _normalization(config)
    if np.issubdtype(x.dtype, np.integer):
        stats = None
    elif kind == "fixed":
        stats = fixed_normalization(config.get("mean"), config.get("std"), raw.value_range,
                                    x.shape[1:])
    else:
        stats = fit_normalization(_take(x, tr), kind, axis)
    x = x.normalized(stats) if is_lazy(x) else normalize_inputs(x, stats)
    if test_x is not None:
        test_x = normalize_inputs(test_x, stats)

    names = _target_names(raw, config)
    chosen = [_target(raw, n, x, label) for n in names]
    chosen = [_convert(t, config, label) for t in chosen]
    test_chosen = None
    if raw.test is not None:
        test_chosen = [_convert(_target(raw.test, n, test_x, label), config, label)
                       for n in names]

    def take(idx):
        return Split(_take(x, idx), [t.values[idx] for t in chosen]) if len(idx) else None

    test_split = Split(test_x, [t.values for t in test_chosen]) if raw.test else take(te)
    return DataSplits(
        train=take(tr), val=take(va), test=test_split,
        tasks=[t.task for t in chosen], num_classes=[t.num_classes for t in chosen],
        class_names=[t.class_names for t in chosen], vocab=raw.vocab,
        description=raw.description, normalization=stats, warnings=list(raw.warnings),
        name=label, value_range=raw.value_range)


def _subsample(raw: RawData, config: dict) -> RawData:
    if config.get("max_samples") is None:
        return raw
    limit = _int(config, "max_samples", 0)
    if limit < 2:
        raise DataError(f"max_samples must be at least 2, found {limit}")
    if limit >= len(raw.x):
        return raw
    keep = np.sort(np.random.default_rng(_int(config, "seed", 0) + 1).permutation(
        len(raw.x))[:limit])
    targets = {k: Target(t.values[keep], t.task, t.num_classes, t.class_names)
               for k, t in raw.targets.items()}
    return RawData(_take(raw.x, keep), targets, raw.default_target, raw.vocab,
                   raw.description, raw.test, raw.warnings, raw.value_range)


def _take(x, idx):
    """Rows `idx` of an array, or the view of them of a LazyView (nothing read)."""
    return x.take(idx) if is_lazy(x) else x[idx]


def _to_input(x: np.ndarray, label: str, input_shape, input_dtype) -> np.ndarray:
    if is_lazy(x):
        return _lazy_input(x, label, input_shape, input_dtype)
    if input_shape is not None:
        shape = tuple(int(d) for d in input_shape)
        per_sample = int(np.prod(x.shape[1:], dtype=np.int64))
        want = math.prod(shape)
        if per_sample != want:
            have = (f"{per_sample} values" if x.ndim == 2 else
                    f"shape {tuple(x.shape[1:])} = {per_sample} values")
            raise DataError(f"dataset '{label}' has samples of {have}; the Input node "
                            f"expects {shape} = {want}")
        x = x.reshape((len(x), *shape))
    if input_dtype == "long" and not np.issubdtype(x.dtype, np.integer):
        if not np.all(np.isfinite(x)) or not np.all(np.equal(np.round(x), x)):
            raise DataError(f"dataset '{label}' has fractional values; the Input node expects "
                            "integer token ids (dtype long)")
        x = x.astype(np.int64)
    elif input_dtype == "float" and np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32)
    elif input_dtype not in (None, "long", "float"):
        raise DataError(f"input dtype must be 'float' or 'long', found {quote(input_dtype)}")
    return x


def _lazy_input(x, label: str, input_shape, input_dtype):
    """The shape and dtype checks of `_to_input` for data read later (values are checked
    when read)."""
    if input_shape is not None:
        shape = tuple(int(d) for d in input_shape)
        if math.prod(shape) != math.prod(x.shape[1:]):
            raise DataError(f"dataset '{label}' has samples of shape {tuple(x.shape[1:])} = "
                            f"{math.prod(x.shape[1:])} values; the Input node expects "
                            f"{shape} = {math.prod(shape)}")
        x = x.reshaped(shape)
    if input_dtype not in (None, "long", "float"):
        raise DataError(f"input dtype must be 'float' or 'long', found {quote(input_dtype)}")
    return x.as_kind(input_dtype or "float")


def _normalization(config: dict) -> tuple[str, str]:
    info = CATALOGUE.get(config.get("name"))
    src = config.get("source")
    if info is not None and src in (None, info.source):
        kind, axis = info.normalize, info.normalize_axis
    else:
        kind, axis = FILE_DEFAULTS.get(src, ("none", "feature"))
    return config.get("normalize", kind), config.get("normalize_axis", axis)


def _target_names(raw: RawData, config: dict) -> list[str]:
    if "targets" in config:
        names = config["targets"]
        if not isinstance(names, list) or not names or \
                not all(isinstance(n, str) for n in names):
            raise DataError("dataset 'targets' must be a non-empty list of target names")
        return names
    name = config.get("target", raw.default_target)
    return [name if isinstance(name, str) else raw.default_target]


def _target(raw: RawData, name: str, x: np.ndarray, label: str) -> Target:
    if name == "label" and name not in raw.targets:
        name = raw.default_target          # 'label' means the source's own default target
    if name == "input":
        if is_lazy(x):
            raise DataError(f"dataset '{label}' is streamed from disk (larger than its memory "
                            "budget); reconstructing the input needs it in memory")
        return Target(np.array(x, dtype=np.float32), "reconstruction")
    if name not in raw.targets:
        have = ", ".join(["input", *raw.targets])
        raise DataError(f"dataset '{label}' has no target {quote(name)}; available: {have}")
    return raw.targets[name]


def _convert(t: Target, config: dict, label: str) -> Target:
    """Apply a "task" override ('binary' <-> 'classification') and "one_hot"."""
    want = config.get("task")
    if config.get("name") == "sine" or want in (None, "auto", t.task):
        pass
    elif want == "binary" and t.task == "classification":
        if t.num_classes != 2:
            raise DataError(f"dataset '{label}' has {t.num_classes} classes; task 'binary' "
                            "needs exactly 2")
        t = Target(t.values.reshape(-1, 1).astype(np.float32), "binary", 2, t.class_names)
    elif want == "classification" and t.task == "binary":
        t = Target(t.values.reshape(-1).astype(np.int64), "classification", 2, t.class_names)
    elif want in ("regression",) and t.task in ("classification", "binary"):
        t = Target(t.values.reshape(len(t.values), -1).astype(np.float32), "regression")
    elif want == "multilabel" and t.task in ("regression", "binary"):
        values = t.values.reshape(len(t.values), -1).astype(np.float32)
        if not np.isin(values, (0, 1)).all():
            raise DataError(f"dataset '{label}': task 'multilabel' needs targets of 0 and 1")
        t = Target(values, "multilabel", values.shape[1], t.class_names)
    elif want not in ("classification", "binary", "regression", "multilabel",
                      "reconstruction"):
        raise DataError(f"unknown task {quote(want)}; choose classification, binary, regression, "
                        "multilabel or reconstruction")
    if config.get("one_hot") and t.task == "classification":
        t = Target(one_hot(t.values, t.num_classes, dataset_budget_mb(config)), "classification",
                   t.num_classes,
                   t.class_names)
    return t


def _int(config: dict, key: str, default: int) -> int:
    v = config.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer():
        raise DataError(f"dataset option {quote(key)} must be an integer, found {quote(v)}")
    return int(v)


def _frac(config: dict, key: str, default: float) -> float:
    v = config.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise DataError(f"dataset option {quote(key)} must be a fraction, found {quote(v)}")
    return float(v)
