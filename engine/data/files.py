"""File sources: CSV (engine.data.csv_file), .npy and .npz (engine.data.npy_files), IDX and
image folders. Paths resolve against the project; helpers the readers share live here.

Nothing here unpickles: numpy files are opened with allow_pickle=False.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..guard.files import NotRegularFile, TooLarge, open_regular
from ..guard.paths import BadPath, OutsideProject, resolve_user_path
from ..guard.text import quote
from .base import DataError, OutsideData, RawData, Target, dataset_budget_mb
from .idx import check_budget, read_idx
from .lazy import is_lazy
from .prep import label_encode, windows

MAX_CLASSES = 100_000      # class indices beyond this are no labels (names would fill memory)


PATH_KEYS = ("path", "y_path", "labels_path", "test_path", "test_labels_path")


def load_file_source(source: str, config: dict, project_folder: Path | None,
                     allow_outside: bool = False) -> RawData:
    """Dispatch to the loader of a file source ('csv', 'npy', 'npz', 'idx', 'image_folder').
    Paths resolve against `project_folder` and must stay inside it unless `allow_outside`
    (the user confirmed reading data outside the project folder)."""
    folder = source == "image_folder"
    path = resolve_path(config.get("path"), project_folder, "path", folder, allow_outside)
    budget = dataset_budget_mb(config)
    if source in ("csv", "npy", "npz"):
        from .csv_file import load_csv
        from .npy_files import load_npy, load_npz

        if source == "csv":
            raw = load_csv(path, config, budget)
        elif source == "npy":
            y_rel = config.get("y_path")
            y_path = resolve_path(y_rel, project_folder, "y_path", False, allow_outside) \
                if y_rel else None
            raw = load_npy(path, y_path, config, budget)
        else:
            raw = load_npz(path, config, budget)
        if config.get("window") and is_lazy(raw.x):
            raise DataError(f"{path.name} is larger than the memory budget: time-series "
                            "windows need it in memory (raise 'memory_budget_mb')")
        return series_windows(raw, config, budget) if config.get("window") else raw
    if source == "idx":
        return load_idx_files(path, config, project_folder, budget, allow_outside)
    from .images import load_image_folder
    return load_image_folder(path, config, budget, project_folder, allow_outside)


def outside_paths(config: dict, project_folder: Path | None) -> list[Path]:
    """The real paths of a file dataset's paths that lie outside the project folder (what
    the user is asked to confirm, and what is shown when reading them); for an image folder
    inside the project, also the class folders and images that are links to elsewhere."""
    out = []
    for key in PATH_KEYS if config.get("source") in _FILE_SOURCES else ():
        rel = config.get(key)
        if not isinstance(rel, str) or not rel.strip():
            continue
        try:
            path = resolve_user_path(rel, project_folder, key=key)
        except OutsideProject as exc:
            out.append(exc.path)
            continue
        except BadPath:
            continue
        if config.get("source") == "image_folder" and key == "path" and path.is_dir():
            from .images import linked_outside
            out += linked_outside(path, project_folder)
    return out


_FILE_SOURCES = ("csv", "npy", "npz", "idx", "image_folder")


def resolve_path(rel, project_folder: Path | None, key: str = "path",
                 folder: bool = False, allow_outside: bool = False) -> Path:
    """The real path of dataset option `key` (see engine.guard.paths): relative to the
    project folder, and inside it unless `allow_outside`. Raises DataError when it is no
    path or missing, OutsideData when it leads outside the folder."""
    if not isinstance(rel, str) or not rel.strip():
        raise DataError(f"dataset option {quote(key)} must name a "
                        f"{'folder' if folder else 'file'}, found {quote(rel)}")
    try:
        path = resolve_user_path(rel, project_folder, allow_outside=allow_outside,
                                 key=f"dataset option {quote(key)}")
    except OutsideProject as exc:
        raise OutsideData(str(exc), exc.path) from None
    except BadPath as exc:
        raise DataError(str(exc)) from None
    if folder and not path.is_dir():
        raise DataError(f"data folder {quote(rel)} not found (looked for {quote(str(path))})")
    if not folder and not path.exists():
        raise DataError(f"data file {quote(rel)} not found (looked for {quote(str(path))})")
    return path


def open_data(path: Path, what: str, max_bytes: float | None = None):
    """A data file opened for reading: only a regular file (a FIFO or a device is refused,
    never waited on) of at most `max_bytes`. Raises DataError naming the file."""
    try:
        return open_regular(path, max_bytes, what)
    except NotRegularFile as exc:
        raise DataError(f"{exc}; expected a data file") from None
    except TooLarge as exc:
        raise DataError(f"{exc} by the memory budget; raise the dataset option "
                        "'memory_budget_mb' or use less data") from None
    except OSError as exc:
        raise DataError(f"{what} could not be read: {exc.strerror or exc}") from None


def infer_target(values: np.ndarray, task: str | None, integers_are_labels: bool) -> Target:
    """A Target for an array of labels or values: text labels and (when integers_are_labels,
    or task 'classification') integer values become classes; others regression."""
    arr = np.asarray(values)
    if arr.dtype.kind in "USO" or (task in ("classification", "binary") and arr.ndim == 1):
        idx, names = label_encode(arr.astype(str) if arr.dtype.kind in "USO" else arr)
        return Target(idx, "classification", len(names), names)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    integral = arr.dtype.kind in "iu" or bool(np.all(np.mod(arr, 1) == 0))
    if task in (None, "auto") and arr.ndim == 1 and integral and integers_are_labels:
        idx, names = label_encode(arr)
        return Target(idx, "classification", len(names), names)
    values = arr.astype(np.float32).reshape(len(arr), -1)
    return Target(values, "regression")


def series_windows(raw: RawData, config: dict, budget: float) -> RawData:
    """Treat the rows as a time series (in file order) and cut them into windows:
    x (n, window, features); every target takes its value `horizon` steps after the window,
    and the target 'next' is the feature row there (the default when there was no label)."""
    length = config.get("window")
    horizon = config.get("horizon", 1)
    for key, v in (("window", length), ("horizon", horizon)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise DataError(f"dataset option {quote(key)} must be a whole number of steps (at least "
                            f"1), found {quote(v)}")
    x = raw.x.reshape(len(raw.x), -1)
    check_budget(len(x) * length * x.shape[1] * 4, budget, f"windows of {length} steps")
    windows_x, next_x = windows(x, length, horizon)
    last = np.arange(len(windows_x)) + length + horizon - 1
    targets = {k: Target(t.values[last], t.task, t.num_classes, t.class_names)
               for k, t in raw.targets.items()}
    targets["next"] = Target(next_x, "regression")
    default = "next" if raw.default_target == "input" else raw.default_target
    return RawData(windows_x, targets, default, raw.vocab,
                   raw.description + f", windows of {length} steps", raw.test, raw.warnings)


def _same_length(x, y, xname: str, yname: str) -> None:
    if len(y) != len(x):
        raise DataError(f"{yname} has {len(y)} labels for the {len(x)} samples of {xname}")


# -- IDX --------------------------------------------------------------------------------------

def load_idx_files(path: Path, config: dict, project_folder, budget: float,
                   allow_outside: bool = False) -> RawData:
    """Images from "path", labels from "labels_path"; an optional own test set from
    "test_path" and "test_labels_path"."""
    def other(key: str) -> Path | None:
        rel = config.get(key)
        return resolve_path(rel, project_folder, key, False, allow_outside) if rel else None

    raw = idx_raw(path, other("labels_path"), budget)
    if config.get("test_path"):
        raw.test = idx_raw(other("test_path"), other("test_labels_path"), budget)
    return raw


def idx_raw(images: Path, labels: Path | None, budget: float,
            class_names: list[str] | None = None) -> RawData:
    """RawData from an IDX image file (n, H, W) -> (n, 1, H, W) and an IDX label file."""
    x = read_idx(images, budget)
    if x.ndim == 3:
        x = x[:, None]
    x = x.astype(np.float32)
    targets = {}
    if labels is not None:
        y = read_idx(labels, budget)
        if y.ndim != 1:
            raise DataError(f"{labels.name} holds an array of shape {y.shape}; an IDX label "
                            "file is one-dimensional")
        _same_length(x, y, images.name, labels.name)
        if y.dtype.kind == "f" and not (np.all(np.isfinite(y)) and np.all(np.mod(y, 1) == 0)):
            bad = int(np.argmax(~np.isfinite(y) | (np.nan_to_num(np.mod(y, 1)) != 0)))
            raise DataError(f"{labels.name}: the label of sample {bad} is {y[bad]}, not a "
                            "class number")
        y = y.astype(np.int64)
        k = int(y.max()) + 1 if y.size else 0
        if y.size and y.min() < 0:
            raise DataError(f"{labels.name} has a negative label {int(y.min())}")
        if k > MAX_CLASSES:
            raise DataError(f"{labels.name} has label {k - 1}: that would be {k:,} classes, "
                            f"more than the {MAX_CLASSES:,} Studio handles")
        if class_names and k > len(class_names):
            raise DataError(f"{labels.name} has label {k - 1}; this dataset has "
                            f"{len(class_names)} classes")
        names = class_names or [str(i) for i in range(k)]
        targets["label"] = Target(y, "classification", len(names), names)
    return RawData(x, targets, default_target="label" if targets else "input",
                   description=f"{images.name}: {len(x)} samples of shape {x.shape[1:]}",
                   value_range=255.0)
