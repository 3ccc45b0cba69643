"""Import an `nn.Module` class defined in a `.py` file: the one path the `studio import`
command and the app's File > Import PyTorch model… both take.

Loading the file runs it (that is what importing a model class means); the class is created
without arguments (under torch's seed 0, so a freshly initialised model imports with the
same weights every time) and traced with torch.fx on example inputs of the given shapes. Nothing is
unpickled.
"""
from __future__ import annotations

import hashlib
import importlib.util
import math
import re
import sys
from pathlib import Path

from ..guard.files import check_declared, check_regular, memory_budget_mb
from ..guard.text import quote

DTYPES = ("float", "long")
BYTES_PER_VALUE = 4  # an example input is float32 (or int64 ids: the budget is a bound)


def parse_shape(text: str, label: str = "input shape") -> tuple[int, ...]:
    """'1,3,32,32' (or '1x3x32x32') -> (1, 3, 32, 32); ValueError naming `label` otherwise,
    also when an example input of that shape would not fit in the memory budget."""
    parts = [p for p in text.replace("x", ",").replace(" ", "").split(",") if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:  # also a number too long to convert
        raise ValueError(f"{label} {quote(text)}: expected integers like 1,3,32,32") from None
    if len(shape) < 2 or any(d < 1 for d in shape):
        raise ValueError(f"{label} {quote(text)}: give the batch and at least one more "
                         "positive dimension")
    check_declared(math.prod(shape) * BYTES_PER_VALUE, memory_budget_mb() * 2**20,
                   f"an example input of {label} {quote(text)}")
    return shape


def load_class(path: str | Path, name: str):
    """The class `name` defined by the Python file `path` (runs the file)."""
    path = Path(path)
    if not name:
        raise ValueError("give the name of the nn.Module class")
    try:
        check_regular(path, str(path))  # a FIFO would block the import forever
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    mod_name = f"studio_import_{re.sub(r'[^0-9a-zA-Z_]', '_', path.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(spec)
    # registered like any imported module: dataclasses (with `from __future__ import
    # annotations`), pickling and inspect.getsource look the module up by name
    sys.modules[mod_name] = module
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 (the user's file may raise anything)
        sys.modules.pop(mod_name, None)
        raise ValueError(f"{path}: running the file failed: {type(exc).__name__}: {exc}") \
            from None
    finally:
        sys.path.pop(0)
    cls = getattr(module, name, None)
    if cls is None:
        raise ValueError(f"{path} defines no {name!r}")
    return cls


def import_python_class(path: str | Path, class_name: str, shapes: list[tuple[int, ...]],
                        dtypes: list[str] | None = None, name: str | None = None):
    """A new Project holding the graph (and weights) of `class_name()` from the file `path`,
    traced on one example input per shape (dtype 'float' or 'long', default float).
    Raises ValueError / TypeError / ImportModelError with the reason."""
    import torch

    from ..project import Project
    from . import import_module

    class_name = class_name.strip()
    if not shapes:
        raise ValueError("give the input shape, batch first, e.g. 1,3,32,32")
    dtypes = list(dtypes or [])
    dtypes += ["float"] * (len(shapes) - len(dtypes))
    bad = [d for d in dtypes if d not in DTYPES]
    if bad:
        raise ValueError(f"input dtype {bad[0]!r}: expected float or long")
    cls = load_class(path, class_name)
    torch.manual_seed(0)  # a freshly initialised model gets the same weights each time
    try:
        module = cls()
    except Exception as exc:  # noqa: BLE001 (the user's constructor may raise anything)
        raise ValueError(f"{class_name}() failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"{class_name} is not an nn.Module")
    module.eval()
    examples = [torch.randn(s) if d == "float" else torch.zeros(s, dtype=torch.long)
                for s, d in zip(shapes, dtypes)]
    graph = import_module(module, examples[0] if len(examples) == 1 else tuple(examples))
    return Project(graph, meta={"name": name or class_name, "description":
                                f"Imported from {Path(path).name} with torch.fx"})
