"""File sources: CSV, .npy, .npz, IDX and image folders. Paths resolve against the project.

Nothing here unpickles: numpy files are opened with allow_pickle=False.
"""
from __future__ import annotations

import csv
import io
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from ..guard.files import (
    NotRegularFile,
    TooLarge,
    npy_bytes,
    npy_header,
    open_regular,
    zip_declared_bytes,
)
from ..guard.paths import BadPath, OutsideProject, resolve_user_path
from ..guard.text import quote
from .base import (
    DataError,
    OutsideData,
    RawData,
    Target,
    dataset_budget_mb,
    stream_mode,
)
from .idx import check_budget, file_size, read_idx
from .lazy import is_lazy
from .prep import label_encode, windows

CSV_MEMORY_FACTOR = 10     # parsed CSV cells take roughly 10x the file's bytes while loading
MAX_AUTO_CLASSES = 20      # a numeric CSV target with at most this many integer values is a label
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


# -- CSV --------------------------------------------------------------------------------------

def load_csv(path: Path, config: dict, budget: float) -> RawData:
    """Columns chosen by "features" (default: all but the targets) and "target" (default:
    the last column) or "targets". Headers are required unless "header": false (then the
    columns are named "0", "1", ...). Rows are counted as lines in the file (header = 1)."""
    if stream_mode(config, file_size(path) * CSV_MEMORY_FACTOR, budget):
        from .csv_stream import streamed_csv
        return streamed_csv(path, config, budget)
    header, rows = _read_rows(path, config, budget)
    target_cols = _csv_targets(header, config, path.name)
    if config.get("text_column") is not None:
        return _csv_text(path, header, rows, target_cols, config, budget)
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


def _csv_text(path: Path, header, rows, target_cols, config: dict, budget: float) -> RawData:
    """A text column tokenized to ids (n, max_len) with a vocabulary of the file's words:
    options text_column, max_len (32), vocab_size (10000, with padding and unknown),
    min_count (1)."""
    from .text import Vocabulary

    (col,) = _csv_columns(header, [config["text_column"]], path.name, "text_column")
    if col in target_cols:
        raise DataError(f"{path.name}: the text column {quote(header[col])} is also the target; "
                        "set 'target' to the label column")
    max_len = _positive(config, "max_len", 32)
    check_budget(len(rows) * max_len * 8, budget,
                 f"{path.name}: {len(rows)} texts of max_len {max_len} token ids")
    texts = [cells[col] for _, cells in rows]
    vocab = Vocabulary.build(texts, _positive(config, "vocab_size", 10000),
                             _positive(config, "min_count", 1))
    x = vocab.encode_batch(texts, max_len)
    targets = {header[c]: _csv_target(rows, c, header[c], path.name, config)
               for c in target_cols}
    desc = (f"{path.name}: {len(rows)} texts from column {quote(header[col])}, {len(vocab)} words, "
            f"max_len {max_len}")
    return RawData(x, targets, default_target=header[target_cols[0]], vocab=vocab.words,
                   description=desc)


def _positive(config: dict, key: str, default: int) -> int:
    v = config.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise DataError(f"dataset option {quote(key)} must be a whole number of at least 1, found "
                        f"{quote(v)}")
    return v


def csv_delimiter(config: dict) -> str | None:
    """The dataset's 'delimiter' option (None: sniff it from the file)."""
    delimiter = config.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1 or
                                  delimiter in "\r\n\"" or delimiter.isalnum()):
        raise DataError(f"dataset option 'delimiter' must be one character such as ',' or "
                        f"';' (or 'auto'), found {quote(delimiter)}")
    return delimiter


def _read_rows(path: Path, config: dict, budget: float
               ) -> tuple[list[str], list[tuple[int, list[str]]]]:
    delimiter = csv_delimiter(config)
    # parsed cells take roughly CSV_MEMORY_FACTOR times the file's bytes
    with open_data(path, path.name, budget * 2**20 / CSV_MEMORY_FACTOR) as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name} is not UTF-8 text (byte {exc.start} is invalid)") from None
    del data
    reader = csv.reader(io.StringIO(text), delimiter=delimiter or _sniff(text))
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
    if text[:1] in ("\r", "\n") and not text.strip():
        return ","
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _csv_columns(header: list[str], wanted, fname: str, key: str) -> list[int]:
    if isinstance(wanted, (str, int)):
        wanted = [wanted]
    if not isinstance(wanted, list):
        raise DataError(f"dataset option {quote(key)} must be a list of column names")
    cols = []
    for w in wanted:
        if isinstance(w, int) and not isinstance(w, bool) and 0 <= w < len(header):
            cols.append(w)
        elif isinstance(w, str) and w in header:
            cols.append(header.index(w))
        else:
            names = ", ".join(quote(h, 40) for h in header[:20])
            more = f" and {len(header) - 20} more" if len(header) > 20 else ""
            raise DataError(f"{fname} has no column {quote(w)}; its columns are "
                            f"{names}{more}")
    return cols


def _csv_targets(header: list[str], config: dict, fname: str) -> list[int]:
    names = config.get("targets")
    if not isinstance(names, list):
        names = [config.get("target")]
    explicit = [n for n in names if n not in (None, "label", "input")]
    if explicit:
        return _csv_columns(header, explicit, fname, "target")
    if "input" in names and "label" not in names:
        return []                      # an autoencoder: every column is a feature
    return [len(header) - 1]


def _number(cell: str, fname: str, line: int, col: str) -> float:
    s = cell.strip()
    if not s:
        raise DataError(f"{fname}, row {line}, column {quote(col)} is empty")
    try:
        v = float(s)
    except ValueError:
        raise DataError(f"{fname}, row {line}, column {quote(col)}: {quote(_clip(s))} is not a "
                        "number") from None
    if not math.isfinite(v):
        raise DataError(f"{fname}, row {line}, column {quote(col)}: {quote(_clip(s))} is not a finite "
                        "number")
    return v


def _clip(s: str) -> str:
    return s if len(s) <= 40 else s[:37] + "..."


def _csv_target(rows, col: int, name: str, fname: str, config: dict) -> Target:
    cells = [cells[col].strip() for _, cells in rows]
    for (line, _), c in zip(rows, cells):
        if not c:
            raise DataError(f"{fname}, row {line}, column {quote(name)} is empty")
    try:
        values = np.array([float(c) for c in cells])
    except ValueError:        # text labels: label-encode them
        return infer_target(np.array(cells), "classification", True)
    if not np.all(np.isfinite(values)):
        line = rows[int(np.argmax(~np.isfinite(values)))][0]
        raise DataError(f"{fname}, row {line}, column {quote(name)} is not a finite number")
    few = len(np.unique(values)) <= MAX_AUTO_CLASSES
    return infer_target(values, config.get("task"), few)


# -- numpy files ------------------------------------------------------------------------------

def _numeric(arr_dtype: np.dtype, shape, what: str, budget: float, labels: bool = False
             ) -> int:
    """Check a declared array (dtype, shape) before reading it; returns the bytes it will
    take in memory: the array itself plus, for features, their float32 copy."""
    if arr_dtype.kind not in "biuf" and not (labels and arr_dtype.kind == "U"):
        raise DataError(f"{what} holds values of type {arr_dtype}; expected numbers")
    copy = not labels and arr_dtype != np.dtype("float32")
    need = npy_bytes(shape, arr_dtype) + (npy_bytes(shape, np.dtype("f4")) if copy else 0)
    check_budget(need, budget, what)
    return need


def _npy_declared(f, what: str, check=None) -> tuple[tuple[int, ...], np.dtype]:
    """A .npy file's declared shape and dtype, checked against the file's size (an empty,
    foreign or truncated file is refused before anything is read); `check(shape, dtype)`
    runs first (the memory budget)."""
    size = os.fstat(f.fileno()).st_size
    if size == 0:
        raise DataError(f"{what} is empty (0 bytes); expected a NumPy array file")
    try:
        shape, dtype = npy_header(f)
    except (ValueError, EOFError, SyntaxError) as exc:
        raise DataError(f"{what} is not a NumPy .npy file ({_first(exc)})") from None
    if check is not None:
        check(shape, dtype)
    if npy_bytes(shape, dtype) > size - f.tell():
        raise DataError(f"{what} is truncated: its header declares shape {shape} "
                        f"({npy_bytes(shape, dtype):,} bytes), the file holds "
                        f"{size - f.tell():,}")
    return shape, dtype


def _load_npy_file(path: Path, what: str, budget: float, labels: bool = False) -> np.ndarray:
    """A plain numeric .npy array; its header's shape and dtype are checked against the
    budget and the file's size before the data is read."""
    with open_data(path, what) as f:
        _npy_declared(f, what, lambda shape, dtype: _numeric(dtype, shape, what, budget,
                                                             labels))
        f.seek(0)
        try:
            return np.load(f, allow_pickle=False)
        except (ValueError, EOFError, OSError) as exc:
            raise DataError(f"{what} could not be read ({_first(exc)}); only plain numeric "
                            "arrays are supported") from None


STREAM_BYTES_PER_SAMPLE = 32   # a streamed sample's indices, split and label in memory


def _npy_inputs(path: Path, config: dict, budget: float):
    """The .npy file's samples as float32 in memory, or a LazyView over a memory map when
    they exceed the budget (or the dataset asks to stream)."""
    streamed = []

    def check(shape, dtype):
        if dtype.kind not in "biuf":
            raise DataError(f"{path.name} holds values of type {dtype}; expected numbers")
        if stream_mode(config, npy_bytes(shape, np.dtype("f4")), budget):
            n = shape[0] if shape else 1
            check_budget(n * STREAM_BYTES_PER_SAMPLE, budget, f"{path.name} streamed from "
                         f"disk ({n:,} samples: their indices and labels)")
            streamed.append(True)
        else:
            _numeric(dtype, shape, path.name, budget)

    with open_data(path, path.name) as f:
        _npy_declared(f, path.name, check)
    if not streamed:
        return _features(_load_npy_file(path, path.name, budget), path.name)
    from .lazy import LazyView, NpySamples

    return LazyView(NpySamples(path))


def _first(exc: BaseException) -> str:
    return quote(str(exc).split("\n")[0], 200)[1:-1]


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
    """x from `path` (n, ...); labels from "y_path" (n,) when given. An x larger than the
    memory budget stays on disk (read through a memory map, batch by batch)."""
    x = _npy_inputs(path, config, budget)
    targets = {}
    if y_path is not None:
        y = _load_npy_file(y_path, y_path.name, budget, labels=True)
        _same_length(x, y, path.name, y_path.name)
        targets["label"] = infer_target(y, config.get("task"), True)
    return RawData(x, targets, default_target="label" if targets else "input",
                   description=f"{path.name}: {len(x)} samples of shape {x.shape[1:]}")


def load_npz(path: Path, config: dict, budget: float) -> RawData:
    """x from key "x_key" (default 'x'); the default target from "y_key" (default 'y');
    every other array with one entry per sample is a target by its key name. The archive's
    declared sizes (zip directory and each array's header) are checked against the budget,
    all members together, before anything is unpacked."""
    x_key, y_key = config.get("x_key", "x"), config.get("y_key", "y")
    with open_data(path, path.name) as f:
        if os.fstat(f.fileno()).st_size == 0:
            raise DataError(f"{path.name} is empty (0 bytes); expected a NumPy .npz archive")
        try:
            zf = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
            if f.seek(0) == 0 and f.read(6) == b"\x93NUMPY":
                raise DataError(f"{path.name} is a .npy file, not a .npz archive; use "
                                "source 'npy'") from None
            raise DataError(f"{path.name} is not a NumPy .npz file ({_first(exc)})") from None
        with zf:
            arrays, keys = _npz_arrays(zf, path.name, x_key, budget)
    x = _features(arrays.pop(x_key), f"{path.name}[{quote(x_key)}]")
    if "y_key" in config and y_key not in arrays:
        raise DataError(f"{path.name} has no array {quote(y_key)}; its arrays are "
                        f"{', '.join(map(quote, keys))}")
    targets = {}
    for key, arr in arrays.items():
        if arr.ndim >= 1 and len(arr) == len(x):
            targets[key] = infer_target(arr, config.get("task") if key == y_key else None,
                                        True)
        elif key == y_key:
            _same_length(x, arr, f"{path.name}[{quote(x_key)}]",
                         f"{path.name}[{quote(y_key)}]")
    default = y_key if y_key in targets else "input"
    return RawData(x, targets, default_target=default,
                   description=f"{path.name}: {len(x)} samples of shape {x.shape[1:]}")


def _npz_arrays(zf, fname: str, x_key: str, budget: float) -> tuple[dict, list[str]]:
    """Read the .npy members of an open .npz archive after checking every declared size."""
    members = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
    keys = list(members)
    if x_key not in members:
        raise DataError(f"{fname} has no array {quote(x_key)}; its arrays are "
                        f"{', '.join(map(quote, keys[:20])) or 'none'} (set 'x_key')")
    check_budget(zip_declared_bytes(zf), budget, f"{fname} (unpacked)")
    total, headers = 0, {}
    for key, info in members.items():
        what = f"{fname}[{quote(key)}]"
        try:
            with zf.open(info) as member:
                headers[key] = npy_header(member)
        except (ValueError, EOFError, SyntaxError, OSError, zipfile.BadZipFile,
                NotImplementedError) as exc:
            raise DataError(f"{what} could not be read ({_first(exc)})") from None
        total += _numeric(headers[key][1], headers[key][0], what, budget,
                          labels=key != x_key)
        check_budget(total, budget, f"{fname} (all its arrays together)")
    arrays = {}
    for key, info in members.items():
        try:
            with zf.open(info) as member:
                arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
        except (ValueError, EOFError, OSError, zipfile.BadZipFile, NotImplementedError) \
                as exc:
            raise DataError(f"{fname}: array {quote(key)} could not be read "
                            f"({_first(exc)})") from None
    return arrays, keys


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
