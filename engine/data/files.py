"""File sources: CSV, .npy, .npz, IDX and image folders. Paths resolve against the project.

Nothing here unpickles: numpy files are opened with allow_pickle=False.
"""
from __future__ import annotations

import csv
import io
import math
import zipfile
from pathlib import Path

import numpy as np

from .base import DEFAULT_MEMORY_BUDGET_MB, DataError, RawData, Target
from .idx import check_budget, file_size, read_idx
from .prep import label_encode, windows

CSV_MEMORY_FACTOR = 10     # parsed CSV cells take roughly 10x the file's bytes while loading
MAX_AUTO_CLASSES = 20      # a numeric CSV target with at most this many integer values is a label


def load_file_source(source: str, config: dict, project_folder: Path | None) -> RawData:
    """Dispatch to the loader of a file source ('csv', 'npy', 'npz', 'idx', 'image_folder')."""
    path = resolve_path(config.get("path"), project_folder, "path", source == "image_folder")
    budget = memory_budget(config)
    if source in ("csv", "npy", "npz"):
        if source == "csv":
            raw = load_csv(path, config, budget)
        elif source == "npy":
            y_rel = config.get("y_path")
            y_path = resolve_path(y_rel, project_folder, "y_path") if y_rel else None
            raw = load_npy(path, y_path, config, budget)
        else:
            raw = load_npz(path, config, budget)
        return series_windows(raw, config, budget) if config.get("window") else raw
    if source == "idx":
        return load_idx_files(path, config, project_folder, budget)
    from .images import load_image_folder
    return load_image_folder(path, config, budget)


def memory_budget(config: dict) -> float:
    v = config.get("memory_budget_mb", DEFAULT_MEMORY_BUDGET_MB)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
        raise DataError(f"dataset option 'memory_budget_mb' must be a positive number, found "
                        f"{v!r}")
    return float(v)


def resolve_path(rel, project_folder: Path | None, key: str = "path",
                 folder: bool = False) -> Path:
    """Resolve a data path like Project.resolve_data_path: relative to the project folder,
    never climbing out of it. Raises DataError when it is missing or escapes."""
    from engine.project import Project, ProjectError

    if not isinstance(rel, str) or not rel.strip():
        raise DataError(f"dataset option {key!r} must name a "
                        f"{'folder' if folder else 'file'}, found {rel!r}")
    project = Project(path=Path(project_folder) / "project.nnproj") if project_folder \
        else Project()
    try:
        path = project.resolve_data_path(rel)
    except ProjectError:
        raise DataError(f"data path {rel!r} leaves the project folder; put the data inside "
                        "it or use an absolute path") from None
    if folder and not path.is_dir():
        raise DataError(f"data folder {rel!r} not found (looked for {path})")
    if not folder and not path.is_file():
        raise DataError(f"data file {rel!r} not found (looked for {path})")
    return path


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
            raise DataError(f"dataset option {key!r} must be a whole number of steps (at least "
                            f"1), found {v!r}")
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


# -- CSV --------------------------------------------------------------------------------------

def load_csv(path: Path, config: dict, budget: float) -> RawData:
    """Columns chosen by "features" (default: all but the targets) and "target" (default:
    the last column) or "targets". Headers are required unless "header": false (then the
    columns are named "0", "1", ...). Rows are counted as lines in the file (header = 1)."""
    check_budget(file_size(path) * CSV_MEMORY_FACTOR, budget, path.name)
    header, rows = _read_rows(path, config)
    target_cols = _csv_targets(header, config)
    if config.get("text_column") is not None:
        return _csv_text(path, header, rows, target_cols, config)
    feature_cols = _csv_columns(header, config.get("features"), path.name, "features") \
        if config.get("features") is not None else \
        [i for i in range(len(header)) if i not in target_cols]
    if not feature_cols:
        raise DataError(f"{path.name}: no feature columns are left besides the target")
    x = np.empty((len(rows), len(feature_cols)), dtype=np.float32)
    for r, (line, cells) in enumerate(rows):
        for c, col in enumerate(feature_cols):
            x[r, c] = _number(cells[col], path.name, line, header[col])
    targets = {header[col]: _csv_target(rows, col, header[col], path.name, config)
               for col in target_cols}
    desc = (f"{path.name}: {len(rows)} rows, {len(feature_cols)} features, target "
            f"{', '.join(repr(header[c]) for c in target_cols) or 'the input'}")
    default = header[target_cols[0]] if target_cols else "input"
    return RawData(x, targets, default_target=default, description=desc)


def _csv_text(path: Path, header, rows, target_cols, config: dict) -> RawData:
    """A text column tokenized to ids (n, max_len) with a vocabulary of the file's words:
    options text_column, max_len (32), vocab_size (10000, with padding and unknown),
    min_count (1)."""
    from .text import Vocabulary

    (col,) = _csv_columns(header, [config["text_column"]], path.name, "text_column")
    if col in target_cols:
        raise DataError(f"{path.name}: the text column {header[col]!r} is also the target; "
                        "set 'target' to the label column")
    max_len = _positive(config, "max_len", 32)
    texts = [cells[col] for _, cells in rows]
    vocab = Vocabulary.build(texts, _positive(config, "vocab_size", 10000),
                             _positive(config, "min_count", 1))
    x = vocab.encode_batch(texts, max_len)
    targets = {header[c]: _csv_target(rows, c, header[c], path.name, config)
               for c in target_cols}
    desc = (f"{path.name}: {len(rows)} texts from column {header[col]!r}, {len(vocab)} words, "
            f"max_len {max_len}")
    return RawData(x, targets, default_target=header[target_cols[0]], vocab=vocab.words,
                   description=desc)


def _positive(config: dict, key: str, default: int) -> int:
    v = config.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise DataError(f"dataset option {key!r} must be a whole number of at least 1, found "
                        f"{v!r}")
    return v


def _read_rows(path: Path, config: dict) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name} is not UTF-8 text (byte {exc.start} is invalid)") from None
    delimiter = config.get("delimiter") or _sniff(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = []
    header = None
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                if config.get("header", True):
                    header = [c.strip() for c in cells]
                    continue
                header = [str(i) for i in range(len(cells))]
            if len(cells) != len(header):
                raise DataError(f"{path.name}, row {reader.line_num} has {len(cells)} cells; "
                                f"the header has {len(header)}")
            rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise DataError(f"{path.name}, row {reader.line_num}: {exc}") from None
    if header is None or not rows:
        raise DataError(f"{path.name} has no data rows")
    return header, rows


def _sniff(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _csv_columns(header: list[str], wanted, fname: str, key: str) -> list[int]:
    if isinstance(wanted, (str, int)):
        wanted = [wanted]
    if not isinstance(wanted, list):
        raise DataError(f"dataset option {key!r} must be a list of column names")
    cols = []
    for w in wanted:
        if isinstance(w, int) and not isinstance(w, bool) and 0 <= w < len(header):
            cols.append(w)
        elif isinstance(w, str) and w in header:
            cols.append(header.index(w))
        else:
            raise DataError(f"{fname} has no column {w!r}; its columns are "
                            f"{', '.join(repr(h) for h in header)}")
    return cols


def _csv_targets(header: list[str], config: dict) -> list[int]:
    names = config.get("targets")
    if not isinstance(names, list):
        names = [config.get("target")]
    explicit = [n for n in names if n not in (None, "label", "input")]
    if explicit:
        return _csv_columns(header, explicit, "the CSV file", "target")
    if "input" in names and "label" not in names:
        return []                      # an autoencoder: every column is a feature
    return [len(header) - 1]


def _number(cell: str, fname: str, line: int, col: str) -> float:
    s = cell.strip()
    if not s:
        raise DataError(f"{fname}, row {line}, column {col!r} is empty")
    try:
        v = float(s)
    except ValueError:
        raise DataError(f"{fname}, row {line}, column {col!r}: {_clip(s)!r} is not a "
                        "number") from None
    if not math.isfinite(v):
        raise DataError(f"{fname}, row {line}, column {col!r}: {_clip(s)!r} is not a finite "
                        "number")
    return v


def _clip(s: str) -> str:
    return s if len(s) <= 40 else s[:37] + "..."


def _csv_target(rows, col: int, name: str, fname: str, config: dict) -> Target:
    cells = [cells[col].strip() for _, cells in rows]
    for (line, _), c in zip(rows, cells):
        if not c:
            raise DataError(f"{fname}, row {line}, column {name!r} is empty")
    try:
        values = np.array([float(c) for c in cells])
    except ValueError:        # text labels: label-encode them
        return infer_target(np.array(cells), "classification", True)
    if not np.all(np.isfinite(values)):
        line = rows[int(np.argmax(~np.isfinite(values)))][0]
        raise DataError(f"{fname}, row {line}, column {name!r} is not a finite number")
    few = len(np.unique(values)) <= MAX_AUTO_CLASSES
    return infer_target(values, config.get("task"), few)


# -- numpy files ------------------------------------------------------------------------------

def _numeric(arr_dtype: np.dtype, shape, what: str, budget: float, labels: bool = False):
    if arr_dtype.kind not in "biuf" and not (labels and arr_dtype.kind == "U"):
        raise DataError(f"{what} holds values of type {arr_dtype}; expected numbers")
    check_budget(int(np.prod(shape, dtype=np.int64)) * 4, budget, what)


def _load_npy_file(path: Path, what: str, budget: float, labels: bool = False) -> np.ndarray:
    _not_empty(path, what)
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, EOFError) as exc:
        raise DataError(f"{what} could not be read ({exc}); only plain numeric arrays are "
                        "supported") from None
    except OSError as exc:
        raise DataError(f"{what} is not a NumPy .npy file ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{what} is not a .npy array file")
    _numeric(arr.dtype, arr.shape, what, budget, labels)
    return np.array(arr)


def _not_empty(path: Path, what: str) -> None:
    """NumPy reports an empty file as a bare 'No data left in file': name the file."""
    try:
        empty = path.stat().st_size == 0
    except OSError:
        return  # np.load reports a missing or unreadable file itself
    if empty:
        raise DataError(f"{what} is empty (0 bytes); expected a NumPy array file")


def _features(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.ndim < 1 or len(arr) == 0:
        raise DataError(f"{what} has no samples (shape {arr.shape})")
    x = np.asarray(arr, dtype=np.float32)
    if arr.ndim == 1:
        x = x[:, None]
    if not np.all(np.isfinite(x)):
        bad = int(np.argmax(~np.isfinite(x.reshape(len(x), -1)).all(axis=1)))
        raise DataError(f"{what}: sample {bad} contains NaN or infinite values")
    return x


def load_npy(path: Path, y_path: Path | None, config: dict, budget: float) -> RawData:
    """x from `path` (n, ...); labels from "y_path" (n,) when given."""
    x = _features(_load_npy_file(path, path.name, budget), path.name)
    targets = {}
    if y_path is not None:
        y = _load_npy_file(y_path, y_path.name, budget, labels=True)
        _same_length(x, y, path.name, y_path.name)
        targets["label"] = infer_target(y, config.get("task"), True)
    return RawData(x, targets, default_target="label" if targets else "input",
                   description=f"{path.name}: {len(x)} samples of shape {x.shape[1:]}")


def load_npz(path: Path, config: dict, budget: float) -> RawData:
    """x from key "x_key" (default 'x'); the default target from "y_key" (default 'y');
    every other array with one entry per sample is a target by its key name."""
    x_key, y_key = config.get("x_key", "x"), config.get("y_key", "y")
    _not_empty(path, path.name)
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path.name} is not a NumPy .npz file ({exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(f"{path.name} is a .npy file, not a .npz archive; use source 'npy'")
    with npz:
        keys = list(npz.files)
        if x_key not in keys:
            raise DataError(f"{path.name} has no array {x_key!r}; its arrays are "
                            f"{', '.join(map(repr, keys)) or 'none'} (set 'x_key')")
        arrays = {}
        for key in keys:
            dtype, shape = _npz_header(npz, key, path.name)
            _numeric(dtype, shape, f"{path.name}[{key!r}]", budget, labels=key != x_key)
            arrays[key] = _read_member(npz, key, path.name)
    x = _features(arrays.pop(x_key), f"{path.name}[{x_key!r}]")
    if "y_key" in config and y_key not in arrays:
        raise DataError(f"{path.name} has no array {y_key!r}; its arrays are "
                        f"{', '.join(map(repr, keys))}")
    targets = {}
    for key, arr in arrays.items():
        if arr.ndim >= 1 and len(arr) == len(x):
            targets[key] = infer_target(arr, config.get("task") if key == y_key else None,
                                        True)
        elif key == y_key:
            _same_length(x, arr, f"{path.name}[{x_key!r}]", f"{path.name}[{y_key!r}]")
    default = y_key if y_key in targets else "input"
    return RawData(x, targets, default_target=default,
                   description=f"{path.name}: {len(x)} samples of shape {x.shape[1:]}")


def _npz_header(npz, key: str, fname: str):
    try:
        with npz.zip.open(key + ".npy") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, _, dtype = read(f)
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{fname}: array {key!r} could not be read ({exc})") from None
    return dtype, shape


def _read_member(npz, key: str, fname: str) -> np.ndarray:
    try:
        return np.asarray(npz[key])
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{fname}: array {key!r} could not be read ({exc})") from None


def _same_length(x, y, xname: str, yname: str) -> None:
    if len(y) != len(x):
        raise DataError(f"{yname} has {len(y)} labels for the {len(x)} samples of {xname}")


# -- IDX --------------------------------------------------------------------------------------

def load_idx_files(path: Path, config: dict, project_folder, budget: float) -> RawData:
    """Images from "path", labels from "labels_path"; an optional own test set from
    "test_path" and "test_labels_path"."""
    labels = config.get("labels_path")
    raw = idx_raw(path, resolve_path(labels, project_folder, "labels_path") if labels
                  else None, budget)
    if config.get("test_path"):
        t_labels = config.get("test_labels_path")
        raw.test = idx_raw(resolve_path(config["test_path"], project_folder, "test_path"),
                           resolve_path(t_labels, project_folder, "test_labels_path")
                           if t_labels else None, budget)
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
        y = y.astype(np.int64)
        k = int(y.max()) + 1 if y.size else 0
        if y.size and y.min() < 0:
            raise DataError(f"{labels.name} has a negative label {int(y.min())}")
        if class_names and k > len(class_names):
            raise DataError(f"{labels.name} has label {k - 1}; this dataset has "
                            f"{len(class_names)} classes")
        names = class_names or [str(i) for i in range(k)]
        targets["label"] = Target(y, "classification", len(names), names)
    return RawData(x, targets, default_target="label" if targets else "input",
                   description=f"{images.name}: {len(x)} samples of shape {x.shape[1:]}")
