"""Binary image formats: IDX (MNIST's format, raw or gzip) and CIFAR-10's binary batches.

IDX layout: two zero bytes, a type code, the number of dimensions, then each dimension as a
big-endian uint32, then the values in big-endian order.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..guard.files import NotRegularFile, memory_budget_mb, open_regular
from .base import DataError

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(v).newbyteorder("=").str[1:]: k for k, v in IDX_TYPES.items()}
CIFAR_RECORD = 1 + 3 * 32 * 32
GZIP_MAGIC = b"\x1f\x8b"


def _open(path: Path):
    """The file's content stream (gunzipped when it starts with the gzip magic); only a
    regular file is opened (a FIFO would block, a device never ends)."""
    try:
        f = open_regular(path, what=path.name)
    except NotRegularFile as exc:
        raise DataError(f"{exc}; expected an IDX file") from None
    if f.read(2) == GZIP_MAGIC:
        f.seek(0)
        return gzip.GzipFile(fileobj=f, mode="rb")
    f.seek(0)
    return f


def read_idx(path, budget_mb: float | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into a numpy array in native byte order.

    Raises DataError naming the file when the magic number, type, sizes or length are wrong.
    """
    path = Path(path)
    name = path.name
    try:
        with _open(path) as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[:2] != b"\0\0":
                raise DataError(f"{name} is not an IDX file (bad magic number "
                                f"{magic.hex() or 'empty'})")
            code, ndim = magic[2], magic[3]
            if code not in IDX_TYPES:
                raise DataError(f"{name}: unknown IDX value type 0x{code:02x}")
            if ndim == 0:
                raise DataError(f"{name}: an IDX file needs at least one dimension")
            head = f.read(4 * ndim)
            if len(head) < 4 * ndim:
                raise DataError(f"{name} is truncated: the header ends after {len(head)} of "
                                f"{4 * ndim} size bytes")
            shape = struct.unpack(f">{ndim}I", head)
            dtype = np.dtype(IDX_TYPES[code])
            count = int(np.prod(shape, dtype=np.int64))
            need = count * dtype.itemsize
            check_budget(count * 4, budget_mb or memory_budget_mb(), f"{name} ({' x '.join(map(str, shape))})")
            data = f.read(need)
            if len(data) < need:
                raise DataError(f"{name} is truncated: expected {need} bytes of data for shape "
                                f"{shape}, found {len(data)}")
            extra = len(f.read(1))
    except EOFError:
        raise DataError(f"{name} is truncated: the compressed data ends early") from None
    except (OSError, zlib.error) as exc:
        raise DataError(f"{name} could not be read: {exc}") from None
    if extra:
        raise DataError(f"{name} has more data than its header's shape {shape} describes")
    return np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("="),
                                                   copy=True).reshape(shape)


def write_idx(path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write `array` as an IDX file (gzip when compress, or when the name ends in .gz)."""
    path = Path(path)
    arr = np.asarray(array)
    key = arr.dtype.newbyteorder("=").str[1:]
    if key not in _CODES:
        raise DataError(f"IDX cannot store values of type {arr.dtype}")
    header = bytes([0, 0, _CODES[key], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    body = header + arr.astype(IDX_TYPES[_CODES[key]]).tobytes()
    if compress or (compress is None and path.suffix == ".gz"):
        body = gzip.compress(body, mtime=0)
    path.write_bytes(body)


def parse_cifar_batch(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 binary batch bytes -> images uint8 (n, 3, 32, 32) and labels int64 (n,)."""
    if not data or len(data) % CIFAR_RECORD:
        raise DataError(f"{name} is not a CIFAR-10 binary batch: {len(data)} bytes is not a "
                        f"multiple of the {CIFAR_RECORD}-byte record")
    rec = np.frombuffer(data, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    labels = rec[:, 0].astype(np.int64)
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise DataError(f"{name}: record {bad} has label {labels[bad]}; CIFAR-10 labels are "
                        "0..9")
    return rec[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


def write_cifar_batch(path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write images uint8 (n, 3, 32, 32) and labels as a CIFAR-10 binary batch."""
    images = np.asarray(images, dtype=np.uint8).reshape(len(images), -1)
    rec = np.concatenate([np.asarray(labels, np.uint8)[:, None], images], axis=1)
    Path(path).write_bytes(rec.tobytes())


def check_budget(nbytes: int, budget_mb: float, what: str) -> None:
    """Refuse to load `what` when it would need more than budget_mb megabytes in memory."""
    if nbytes > budget_mb * 2**20:
        raise DataError(f"{what} needs about {_mb(nbytes / 2**20)} MB in memory, more than "
                        f"the memory budget of {_mb(budget_mb)} MB; raise the dataset option "
                        "'memory_budget_mb' or use less data (CSV files, .npy files and "
                        "image folders can stream from disk: dataset option 'stream')")


def _mb(v: float) -> str:
    return f"{v:,.0f}" if v >= 10 else f"{v:.1f}"


def file_size(path) -> int:
    return os.stat(path).st_size
