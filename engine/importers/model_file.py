"""Reading a model file someone else made, defensively: ONNX protobufs and Keras zips/HDF5.

Every check happens before the bytes are read or unpacked: the file must be a regular file no
larger than the memory budget ($STUDIO_MEMORY_BUDGET_MB, 2 GB by default), a zip's members
may not declare more than the budget (zip bombs), a tensor may not declare more than it
either, and ONNX external data must stay in the model's folder. Every problem is a
`ModelFileError`: one sentence naming the file. Nothing in a file is executed or unpickled.
"""
from __future__ import annotations

import math
import os
import stat
from contextlib import contextmanager
from pathlib import Path

from .builder import ImportModelError

BUDGET_ENV = "STUDIO_MEMORY_BUDGET_MB"
DEFAULT_BUDGET_MB = 2048


class ModelFileError(ImportModelError):
    """The model file cannot be read: missing, not a regular file, corrupt, too large or
    hostile. The message names the file."""


@contextmanager
def malformed_is_an_error(path: Path, what: str):
    """A file whose structure is not what its format promises (a string where a list
    belongs, a missing key, nesting too deep) is one ModelFileError naming the file."""
    try:
        yield
    except ImportModelError:
        raise
    except (KeyError, TypeError, IndexError, AttributeError, ValueError, RecursionError,
            OverflowError) as exc:
        detail = str(exc).replace("\n", " ")[:100]
        raise ModelFileError(f"{path}: the {what} is malformed ({type(exc).__name__}: "
                             f"{detail})") from None


def budget_bytes() -> int:
    """How much one model file may make Studio read or allocate."""
    try:
        mb = float(os.environ.get(BUDGET_ENV, DEFAULT_BUDGET_MB))
    except ValueError:
        mb = DEFAULT_BUDGET_MB
    return int((mb if mb > 0 else DEFAULT_BUDGET_MB) * 2**20)


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB" if n >= 10 * 2**20 else f"{n / 2**20:.1f} MB"


def check_regular(path: Path, what: str = "model file") -> int:
    """The size of `path` if it is a regular file within the budget."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the {what} ({exc.strerror or exc})") \
            from None
    if not stat.S_ISREG(st.st_mode):
        raise ModelFileError(f"{path}: not a regular file")
    if st.st_size > budget_bytes():
        raise ModelFileError(f"{path}: the {what} is {_mb(st.st_size)}, more than the "
                             f"{_mb(budget_bytes())} Studio may read (set {BUDGET_ENV} to "
                             "allow more)")
    return st.st_size


def read_bytes(path: Path, what: str = "model file") -> bytes:
    check_regular(path, what)
    try:
        with open(path, "rb") as f:
            return f.read(budget_bytes() + 1)
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the {what} ({exc.strerror or exc})") \
            from None


def check_declared(path: Path, nbytes: float, what: str) -> None:
    """Refuse `what` declaring more bytes than the budget (before allocating it)."""
    if nbytes > budget_bytes():
        raise ModelFileError(f"{path}: {what} declares {_mb(nbytes)}, more than the "
                             f"{_mb(budget_bytes())} Studio may allocate")


# -- ONNX ---------------------------------------------------------------------------------

def load_onnx(path: str | os.PathLike):
    """The ModelProto of `path` with every initializer's data in memory (external data read
    from files inside the model's folder only). Raises ModelFileError."""
    try:
        import onnx
        from google.protobuf.message import DecodeError
    except ImportError:
        raise ModelFileError("importing ONNX needs the 'onnx' extra: pip install "
                             "'nn-studio[onnx]'") from None
    path = Path(path)
    data = read_bytes(path, "ONNX file")
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError, TypeError):
        raise ModelFileError(f"{path}: not an ONNX model (the file is corrupt or "
                             "truncated)") from None
    if not model.graph.output or not model.opset_import:
        raise ModelFileError(f"{path}: not an ONNX model (no graph outputs or no opset; "
                             "the file is corrupt or truncated)")
    total = 0
    for t in model.graph.initializer:
        total += _check_tensor(path, t)
    check_declared(path, total, "the model's weights")
    return model


def _check_tensor(path: Path, t) -> int:
    """The declared size of initializer `t` in bytes; external data is read in (checked)."""
    import onnx
    from onnx import helper

    try:
        itemsize = helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
    except Exception:  # noqa: BLE001 (an unknown or undefined data type)
        raise ModelFileError(f"{path}: tensor {t.name!r} has an unknown data type "
                             f"{t.data_type}") from None
    if any(d < 0 for d in t.dims):
        raise ModelFileError(f"{path}: tensor {t.name!r} has a negative size {list(t.dims)}")
    nbytes = math.prod(t.dims) * itemsize
    check_declared(path, nbytes, f"tensor {t.name!r} ({list(t.dims)})")
    if t.data_location == onnx.TensorProto.EXTERNAL:
        _read_external(path, t, nbytes)
    elif t.raw_data and len(t.raw_data) != nbytes:
        raise ModelFileError(f"{path}: tensor {t.name!r} holds {len(t.raw_data)} bytes, its "
                             f"shape {list(t.dims)} needs {nbytes} (the file is corrupt)")
    return nbytes


def _read_external(path: Path, t, nbytes: int) -> None:
    import onnx

    info = {e.key: e.value for e in t.external_data}
    location = info.get("location", "")
    folder = path.resolve().parent
    target = (folder / location).resolve()
    if not location or Path(location).is_absolute() or not target.is_relative_to(folder):
        raise ModelFileError(f"{path}: tensor {t.name!r} points to data outside the model's "
                             f"folder ({location!r}); Studio reads external data only from "
                             "files beside the model")
    try:
        offset = int(info.get("offset", 0))
        length = int(info.get("length", nbytes))
    except ValueError:
        raise ModelFileError(f"{path}: tensor {t.name!r} has a malformed offset or length") \
            from None
    size = check_regular(target, "external data file")
    if length != nbytes or offset < 0 or offset + length > size:
        raise ModelFileError(f"{path}: tensor {t.name!r} needs {nbytes} bytes at offset "
                             f"{offset} of {target.name}, which holds {size} (corrupt or "
                             "truncated)")
    with open(target, "rb") as f:
        f.seek(offset)
        t.raw_data = f.read(length)
    del t.external_data[:]
    t.data_location = onnx.TensorProto.DEFAULT
