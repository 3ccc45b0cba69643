""".npy and .npz files: plain numeric arrays only (opened with allow_pickle=False); each
declared shape and dtype is checked against the file's size and the memory budget before
anything is read. A .npy input larger than the budget stays on disk (engine.data.lazy)."""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from ..guard.files import npy_bytes, npy_header, zip_declared_bytes
from ..guard.text import quote
from .base import DataError, RawData, stream_mode
from .files import _same_length, infer_target, open_data
from .idx import check_budget


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
