"""A safetensors weights file read in one pass, tensor by tensor, hashed as it is read.

safetensors' numpy loader takes the whole file as one `bytes` object and copies every tensor
out of it: a VGG-16's 528 MB file then needs twice that at the peak, plus a second pass to
check the pair's SHA-256. Here each tensor is read straight into its own array, the digest is
updated with the same bytes, and `progress(done, total)` is called between blocks (a reader
thread's progress for the GUI). The header is checked as safetensors checks it: a JSON table
of dtypes, shapes and offsets that tile the data exactly, each tensor's size matching its
shape. Nothing is unpickled or executed.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from typing import Any, NamedTuple

from .guard.files import (
    MAX_SAFETENSORS_HEADER,
    NotRegularFile,
    TooLarge,
    memory_budget_mb,
    open_regular,
)
from .guard.text import quote
from .project import ProjectError

Progress = Callable[[int, int], None]
BLOCK = 8 << 20

#: safetensors dtype -> numpy dtype (little-endian, as the format stores them)
DTYPES = {"BOOL": "?", "U8": "u1", "I8": "i1", "U16": "<u2", "I16": "<i2", "F16": "<f2",
          "U32": "<u4", "I32": "<i4", "F32": "<f4", "U64": "<u8", "I64": "<i8", "F64": "<f8"}


class Entry(NamedTuple):
    name: str
    dtype: str          # numpy
    shape: tuple[int, ...]
    nbytes: int


class Invalid(ValueError):
    """The file is not valid safetensors (the message says why)."""


def read_safetensors(path, progress: Progress | None = None,
                     what: str = "the weights file") -> tuple[dict[str, Any], str]:
    """({tensor name: numpy array}, the file's SHA-256 hex digest). A regular file within
    the memory budget; raises ProjectError naming `path`."""
    try:
        with open_regular(path, memory_budget_mb() * 2**20, what) as f:
            size = os.fstat(f.fileno()).st_size
            return _read(f, size, progress or (lambda _done, _total: None))
    except (NotRegularFile, TooLarge) as exc:
        raise ProjectError(str(exc), path) from None
    except Invalid as exc:
        raise ProjectError(f"{what} is not valid safetensors ({exc})", path) from None
    except OSError as exc:
        raise ProjectError(f"cannot read {what}: {exc.strerror or exc}", path) from None


def _read(f, size: int, progress: Progress) -> tuple[dict[str, Any], str]:
    import numpy as np

    digest = hashlib.sha256()
    head = _exactly(f, 8)
    n = int.from_bytes(head, "little")
    if n > MAX_SAFETENSORS_HEADER or 8 + n > size:
        raise Invalid(f"its header length {n:,} does not fit the file of {size:,} bytes")
    table = _exactly(f, n)
    digest.update(head)
    digest.update(table)
    entries = parse_header(table, size - 8 - n)
    done = 8 + n
    progress(done, size)
    tensors: dict[str, Any] = {}
    for entry in entries:
        arr = np.empty(entry.shape, entry.dtype)
        raw = memoryview(arr.reshape(-1).view(np.uint8))
        pos = 0
        while pos < entry.nbytes:
            got = f.readinto(raw[pos:pos + BLOCK])
            if not got:
                raise Invalid("the file ended early: it changed while it was read")
            digest.update(raw[pos:pos + got])
            pos += got
            done += got
            progress(done, size)
        tensors[entry.name] = arr
    return tensors, digest.hexdigest()


def _exactly(f, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise Invalid("the file ended early")
    return data


def parse_header(table: bytes, data_bytes: int) -> list[Entry]:
    """The tensors a safetensors header declares, in file order; their offsets must tile the
    `data_bytes` after the header exactly. Raises Invalid."""
    try:
        header = json.loads(table)
    except (ValueError, RecursionError):
        raise Invalid("its header is not JSON") from None
    if not isinstance(header, dict):
        raise Invalid("its header is not a table")
    placed = []
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        where = f"tensor {quote(name)}"
        if not isinstance(spec, dict) or spec.get("dtype") not in DTYPES:
            raise Invalid(f"{where} has no dtype numpy can hold")
        shape, offsets = spec.get("shape"), spec.get("data_offsets")
        if not (isinstance(shape, list) and all(_count(d) for d in shape)):
            raise Invalid(f"{where} has a bad shape")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_count, offsets))
                and offsets[0] <= offsets[1]):
            raise Invalid(f"{where} has bad offsets")
        dtype = DTYPES[spec["dtype"]]
        count = 1
        for d in shape:
            count *= d
        nbytes = count * int(dtype[-1]) if dtype != "?" else count
        if offsets[1] - offsets[0] != nbytes:
            raise Invalid(f"{where}: its shape needs {nbytes:,} bytes, its offsets give "
                          f"{offsets[1] - offsets[0]:,}")
        placed.append((offsets[0], offsets[1], Entry(name, dtype, tuple(shape), nbytes)))
    placed.sort(key=lambda p: (p[0], p[1]))
    end = 0
    for begin, stop, entry in placed:
        if begin != end:
            raise Invalid(f"tensor {quote(entry.name)} does not start where the previous "
                          "one ends")
        end = stop
    if end != data_bytes:
        raise Invalid(f"its tensors hold {end:,} bytes, the file {data_bytes:,}")
    return [entry for _b, _e, entry in placed]


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
