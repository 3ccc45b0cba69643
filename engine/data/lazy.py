"""Samples that stay on disk: a dataset larger than its memory budget is read batch by batch.

A source (`NpySamples`, `ImageSamples`, `CsvSamples`) reads raw samples by index, in
whichever process asks (DataLoader workers get a copy of it); `LazyView` is what a split
holds instead of an array: which samples (the split's indices), their shape, dtype and
normalization. Indexing a view (`view[:8]`, `view[idx]`) reads those samples and returns a
normalized numpy array, the same values the in-memory path would hold. Torch-free.

A source may carry a `cache` (engine.data.stream.SampleCache): decoded samples kept in
shared memory up to the dataset's memory budget, filled by whichever process reads first.
"""
from __future__ import annotations

import math
import mmap
import os
from pathlib import Path

import numpy as np

from ..guard.text import quote
from .base import DataError


class LazySamples:
    """Raw samples read by index. Subclasses set n, sample_shape, dtype (of `read`'s result)
    and implement `_read(indices)`."""

    n: int = 0
    sample_shape: tuple[int, ...] = ()
    dtype: np.dtype = np.dtype(np.float32)
    cache = None  # a SampleCache, attached by the trainer
    cacheable = True  # worth keeping decoded in memory (decoding or parsing costs time)

    @property
    def sample_bytes(self) -> int:
        return int(np.prod(self.sample_shape, dtype=np.int64)) * self.dtype.itemsize

    def read(self, indices: np.ndarray) -> np.ndarray:
        """Samples `indices` (n,) -> (n, *sample_shape), in the source's dtype."""
        indices = np.asarray(indices, dtype=np.int64)
        if self.cache is not None:
            return self.cache.read(indices, self._read)
        return self._read(indices)

    def _read(self, indices: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def name_of(self, index: int) -> str:
        """How an error names sample `index`."""
        return f"sample {index}"

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_handle", None)  # open files and maps are per process
        return state


class NpySamples(LazySamples):
    """A .npy file read through a memory map; the pages read are released after each read,
    so the process holds only the batch it asked for."""

    cacheable = False  # the OS page cache already keeps the file's pages

    def __init__(self, path: Path):
        self.path = Path(path)
        arr = self._map()
        if arr.ndim < 1 or len(arr) == 0:
            raise DataError(f"{self.path.name} has no samples (shape {arr.shape})")
        if arr.dtype.kind not in "biuf":
            raise DataError(f"{self.path.name} holds values of type {arr.dtype}; expected "
                            "numbers")
        self.n = len(arr)
        self.sample_shape = tuple(arr.shape[1:]) or (1,)
        self.dtype = np.dtype(np.float32)

    def _map(self) -> np.ndarray:
        handle = self.__dict__.get("_handle")
        if handle is None or handle[0] != os.getpid():
            try:
                arr = np.load(self.path, mmap_mode="r", allow_pickle=False)
            except (ValueError, OSError, EOFError) as exc:
                raise DataError(f"{self.path.name} could not be read as a NumPy array "
                                f"({exc})") from None
            handle = self._handle = (os.getpid(), arr)
        return handle[1]

    def _read(self, indices):
        arr = self._map()
        order = np.argsort(indices, kind="stable")
        rows = indices[order]
        out = np.empty((len(indices), *self.sample_shape), np.float32)
        flat = out.reshape(len(indices), -1)
        for i in range(0, len(rows), RELEASE_EVERY):
            chunk = rows[i:i + RELEASE_EVERY]
            flat[order[i:i + RELEASE_EVERY]] = np.asarray(arr[chunk], np.float32).reshape(
                len(chunk), -1)
            _release(arr, int(chunk[0]), int(chunk[-1]) + 1)
        bad = ~np.isfinite(flat).all(axis=1)
        if bad.any():
            raise DataError(f"{self.path.name}: sample {int(indices[np.argmax(bad)])} "
                            "contains NaN or infinite values")
        return out


RELEASE_EVERY = 32   # rows read between releases: the kernel maps ~64 KB around each row read


def _release(arr, first: int, end: int) -> None:
    """Drop the mapped pages of rows first..end-1 from this process (they stay in the OS page
    cache), so that reading a file far larger than memory never adds up in this process."""
    mm = getattr(arr, "_mmap", None)
    if mm is None or not hasattr(mm, "madvise"):
        return
    row = arr.strides[0] if arr.ndim else arr.itemsize
    base = arr.offset % mmap.ALLOCATIONGRANULARITY   # where the data starts in the map
    lo = base + first * row
    hi = min(len(mm), base + end * row)
    lo -= lo % mmap.PAGESIZE
    try:
        mm.madvise(mmap.MADV_DONTNEED, lo, max(0, hi - lo))
    except (OSError, ValueError):
        pass


class ImageSamples(LazySamples):
    """Image files decoded (and resized, cropped) when read; stored as uint8 (C, H, W)."""

    def __init__(self, root: Path, files: list[Path], prep):
        self.root, self.files, self.prep = Path(root), list(files), prep
        self.n = len(self.files)
        self.sample_shape = (prep.channels, *prep.size)
        self.dtype = np.dtype(np.uint8)

    def _read(self, indices):
        from .images import decode

        out = np.empty((len(indices), *self.sample_shape), np.uint8)
        for k, i in enumerate(indices):
            out[k] = decode(self.root, self.files[int(i)], self.prep)
        return out

    def name_of(self, index: int) -> str:
        return f"image {quote(self.files[index].relative_to(self.root).as_posix())}"


class CsvSamples(LazySamples):
    """Rows of a CSV file read by their byte offsets (one record per line); the feature
    columns are parsed when read."""

    def __init__(self, path: Path, offsets: np.ndarray, lines: np.ndarray, columns: list[int],
                 names: list[str], delimiter: str):
        self.path, self.offsets, self.lines = Path(path), offsets, lines
        self.columns, self.names, self.delimiter = columns, names, delimiter
        self.n = len(offsets)
        self.sample_shape = (len(columns),)
        self.dtype = np.dtype(np.float32)

    def _read(self, indices):
        import csv

        from .csv_file import _number

        handle = self.__dict__.get("_handle")
        if handle is None or handle[0] != os.getpid():
            handle = self._handle = (os.getpid(), open(self.path, "rb"))  # noqa: SIM115
        f = handle[1]
        out = np.empty((len(indices), len(self.columns)), np.float32)
        for k, i in enumerate(indices):
            f.seek(int(self.offsets[i]))
            text = f.readline().decode("utf-8-sig")
            cells = next(csv.reader([text], delimiter=self.delimiter))
            for c, col in enumerate(self.columns):
                if col >= len(cells):
                    raise DataError(f"{self.path.name}, row {int(self.lines[i])} has "
                                    f"{len(cells)} cells")
                out[k, c] = _number(cells[col], self.path.name, int(self.lines[i]),
                                    self.names[c])
        return out


class LazyView:
    """A split's inputs without loading them: samples `index` of `source`, reshaped to
    `shape`, cast ('float'/'long') and normalized with `stats` when read."""

    def __init__(self, source: LazySamples, index: np.ndarray | None = None,
                 shape: tuple[int, ...] | None = None, stats: dict | None = None,
                 kind: str = "float"):
        self.source = source
        self.index = np.arange(source.n) if index is None else np.asarray(index, np.int64)
        self.sample_shape = tuple(shape or source.sample_shape)
        self.stats = stats
        self.kind = kind

    def _copy(self, **changes) -> LazyView:
        view = LazyView(self.source, self.index, self.sample_shape, self.stats, self.kind)
        view.__dict__.update(changes)
        return view

    # array-like ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.index)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.index), *self.sample_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.sample_shape)

    @property
    def size(self) -> int:
        return len(self.index) * math.prod(self.sample_shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.int64 if self.kind == "long" else np.float32)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __getitem__(self, key) -> np.ndarray:
        """Read samples (an int, a slice or an index array) as normalized values."""
        from .prep import normalize_inputs

        x = self.raw(key)
        return normalize_inputs(x, self.stats) if self.kind == "float" else x

    def raw(self, key) -> np.ndarray:
        """Read samples before normalization (for augmentation and previews)."""
        single = isinstance(key, (int, np.integer))
        idx = self.index[[key] if single else key]
        x = self.source.read(np.atleast_1d(idx)).reshape(len(np.atleast_1d(idx)),
                                                         *self.sample_shape)
        if self.kind == "long":
            if not np.all(np.equal(np.round(x), x)):
                raise DataError(f"{self.source.name_of(int(idx[0]))}: fractional values; "
                                "the Input node expects integer token ids (dtype long)")
            x = x.astype(np.int64)
        elif x.dtype != np.float32:
            x = x.astype(np.float32)
        return x[0] if single else x

    def __array__(self, dtype=None, copy=None):
        raise DataError("this dataset is streamed from disk (it is larger than its memory "
                        "budget) and cannot be loaded whole")

    # views ----------------------------------------------------------------------------------
    def take(self, indices) -> LazyView:
        return self._copy(index=self.index[np.asarray(indices, np.int64)])

    def reshaped(self, shape: tuple[int, ...]) -> LazyView:
        return self._copy(sample_shape=tuple(shape))

    def normalized(self, stats: dict | None) -> LazyView:
        return self._copy(stats=stats)

    def as_kind(self, kind: str) -> LazyView:
        return self._copy(kind=kind)


def is_lazy(x) -> bool:
    return isinstance(x, LazyView)


__all__ = ["CsvSamples", "ImageSamples", "LazySamples", "LazyView", "NpySamples", "is_lazy"]
