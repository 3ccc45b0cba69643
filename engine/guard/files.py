"""The size-checked reader: only regular files, and never more than a budget.

Every file Studio reads goes through `open_regular` (or `read_regular`): a FIFO would block
forever, /dev/zero never ends, a device or a symlink to one is no data file. The size on disk
is checked before reading, and the sizes a file *declares* (zip members, .npy headers,
safetensors tensor tables) are checked by `check_declared` before anything is unpacked.
"""
from __future__ import annotations

import json
import os
import stat
import struct
from typing import BinaryIO

from .text import quote

BUDGET_ENV = "STUDIO_MEMORY_BUDGET_MB"
DEFAULT_BUDGET_MB = 2048


class NotRegularFile(ValueError):
    """A FIFO, device, socket or folder where a file was expected."""


class TooLarge(ValueError):
    """A file, or what it declares it holds, is larger than allowed."""


def memory_budget_mb() -> float:
    """How much memory one file may make Studio allocate: $STUDIO_MEMORY_BUDGET_MB or 2 GB
    (a dataset's own 'memory_budget_mb' option overrides it for its files)."""
    try:
        value = float(os.environ.get(BUDGET_ENV, DEFAULT_BUDGET_MB))
    except ValueError:
        return DEFAULT_BUDGET_MB
    return value if value > 0 else DEFAULT_BUDGET_MB


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def mb(nbytes: float) -> str:
    value = nbytes / 2**20
    return f"{value:,.0f} MB" if value >= 10 else f"{value:.1f} MB"


def open_regular(path: str | os.PathLike, max_bytes: float | None = None,
                 what: str | None = None) -> BinaryIO:
    """Open `path` for reading in binary mode if it is a regular file of at most `max_bytes`.
    Never blocks on a FIFO (it is opened non-blocking and refused). Raises NotRegularFile,
    TooLarge, or OSError (missing, no permission)."""
    what = what or quote(str(path))
    nonblock = getattr(os, "O_NONBLOCK", 0)  # Windows has no FIFOs to block on
    fd = os.open(path, os.O_RDONLY | nonblock | getattr(os, "O_CLOEXEC", 0) |
                 getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"{what} is {_kind(st.st_mode)}, not a regular file")
        if max_bytes is not None and st.st_size > max_bytes:
            raise TooLarge(f"{what} is {mb(st.st_size)}, more than the {mb(max_bytes)} "
                           "allowed")
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, max_bytes: float | None = None,
                 what: str | None = None) -> bytes:
    """The bytes of a regular file of at most `max_bytes` (see open_regular). Reads at most
    `max_bytes` + 1 even if the file grows meanwhile."""
    with open_regular(path, max_bytes, what) as f:
        data = f.read() if max_bytes is None else f.read(int(max_bytes) + 1)
    if max_bytes is not None and len(data) > max_bytes:
        raise TooLarge(f"{what or quote(str(path))} grew beyond {mb(max_bytes)} while being "
                       "read")
    return data


def check_regular(path: str | os.PathLike, what: str | None = None) -> os.stat_result:
    """stat() of `path` (symlinks followed), refusing anything but a regular file."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(f"{what or quote(str(path))} is {_kind(st.st_mode)}, not a "
                             "regular file")
    return st


def check_declared(nbytes: int, budget_bytes: float, what: str) -> None:
    """Refuse `what` when it declares more than `budget_bytes` of content."""
    if nbytes > budget_bytes:
        raise TooLarge(f"{what} would need {mb(nbytes)} in memory, more than the memory "
                       f"budget of {mb(budget_bytes)}")


# -- declared sizes ------------------------------------------------------------------------

def zip_declared_bytes(zf) -> int:
    """The total uncompressed size a zip archive's central directory declares."""
    return sum(max(0, info.file_size) for info in zf.infolist())


def npy_header(f: BinaryIO) -> tuple[tuple[int, ...], object]:
    """(shape, dtype) from the header of a .npy stream positioned at its start."""
    import numpy as np

    version = np.lib.format.read_magic(f)
    read = {(1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read is None:  # 3.0: utf-8 field names; same layout as 2.0
        read = np.lib.format.read_array_header_2_0
    shape, _fortran, dtype = read(f, max_header_size=10_000)
    return tuple(int(d) for d in shape), dtype


def npy_bytes(shape, dtype) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n * max(1, int(getattr(dtype, "itemsize", 1)))


SAFETENSORS_ITEMSIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2,
                        "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8,
                        "I64": 8, "U64": 8}
MAX_SAFETENSORS_HEADER = 100 * 2**20


def safetensors_declared_bytes(head: bytes, what: str) -> int:
    """Bytes of tensor data a safetensors file declares (from its first bytes: an 8-byte
    little-endian header length and a JSON table). Raises ValueError when it is not one."""
    if len(head) < 8:
        raise ValueError(f"{what} is not a safetensors file (it is {len(head)} bytes long)")
    (n,) = struct.unpack("<Q", head[:8])
    if n > MAX_SAFETENSORS_HEADER or len(head) < 8 + n:
        raise ValueError(f"{what} is not a valid safetensors file (its header length "
                         f"{n:,} does not fit the file)")
    try:
        table = json.loads(head[8:8 + n])
    except (ValueError, RecursionError):
        raise ValueError(f"{what} is not a valid safetensors file (its header is not "
                         "JSON)") from None
    if not isinstance(table, dict):
        raise ValueError(f"{what} is not a valid safetensors file")  # noqa: TRY004
    total = 0
    for name, entry in table.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("shape"), list):
            raise ValueError(f"{what} is not a valid safetensors file (tensor "  # noqa: TRY004
                             f"{quote(name)} has no shape)")
        count = 1
        for d in entry["shape"]:
            if not isinstance(d, int) or d < 0:
                raise ValueError(f"{what}: tensor {quote(name)} has a bad shape")
            count *= d
        total += count * SAFETENSORS_ITEMSIZE.get(entry.get("dtype"), 8)
    return total

