"""Pretrained weights: fetched once from torchvision's download address, checked, cached, and
loaded into a gallery network by name.

The cache folder is $STUDIO_WEIGHTS_DIR, else ~/.cache/studio/weights. A download goes to a
temporary file and is kept only when its SHA-256 starts with the hash in the file name
(`resnet18-f37072fd.pth`), as torch.hub checks it. $STUDIO_WEIGHTS_MIRROR (a base URL set by
the user) replaces download.pytorch.org/models/. Files are read with
`torch.load(weights_only=True)` or safetensors: nothing is unpickled beyond tensors.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from ..graph import Graph

WEIGHTS_ENV = "STUDIO_WEIGHTS_DIR"
MIRROR_ENV = "STUDIO_WEIGHTS_MIRROR"
HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,64})\.")
DEFAULT_TIMEOUT = 30.0
MAX_DOWNLOAD = 2 * 2**30


class PretrainedError(ValueError):
    """Weights could not be fetched or do not fit the network (one sentence, names the file)."""


def weights_dir() -> Path:
    """Where downloaded weights are kept: $STUDIO_WEIGHTS_DIR, else ~/.cache/studio/weights."""
    chosen = os.environ.get(WEIGHTS_ENV)
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "studio" / "weights"


def hash_prefix(file_name: str) -> str | None:
    """The SHA-256 prefix torchvision puts in a weights file's name, if any."""
    m = HASH_IN_NAME.search(file_name)
    return m.group(1) if m else None


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def fetch(url: str, title: str, timeout: float = DEFAULT_TIMEOUT,
          folder: Path | None = None) -> Path:
    """The cached copy of the weights at `url`, downloaded first if needed (the file name's
    hash checked). Raises PretrainedError; offline, its one sentence says which file to put
    where."""
    from ..data.base import DataError
    from ..data.download import download_file

    folder = folder or weights_dir()
    name = url.rsplit("/", 1)[-1]
    path = folder / name
    if path.is_file():
        return path
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        url = mirror.rstrip("/") + "/" + name
    unchecked = folder / (name + ".unchecked")
    try:
        download_file(url, unchecked, None, timeout, f"the {title} weights")
    except DataError as exc:
        if getattr(exc, "offline", False):
            raise PretrainedError(
                f"No network connection: to use the {title} weights, download {url} and put "
                f"it in {folder}{os.sep} (or choose a local weights file).") from None
        raise PretrainedError(f"{exc} Download it by hand and put it in {folder}{os.sep} (or "
                              "choose a local weights file).") from None
    except OSError as exc:
        raise PretrainedError(f"the weights folder {folder} cannot be written ({exc})") \
            from None
    want = hash_prefix(name)
    got = sha256(unchecked)
    if want and not got.startswith(want):
        unchecked.unlink(missing_ok=True)
        raise PretrainedError(f"the downloaded {name} does not match the checksum in its name "
                              f"(SHA-256 {got[:len(want)]}..., expected {want}...); it was "
                              "not kept")
    os.replace(unchecked, path)
    return path


def read_state(path: str | os.PathLike) -> dict[str, Any]:
    """A flat {key: tensor} state dict from a torchvision .pth (weights only) or a
    .safetensors file; a 'module.' prefix (DataParallel) is dropped. Raises PretrainedError."""
    from ..train.weights import read_state_file

    try:
        state = read_state_file(path)
    except (OSError, ValueError) as exc:
        detail = str(exc).removeprefix("init weights: ")
        raise PretrainedError(f"{Path(path).name}: {detail}") from None
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def expected_state(graph: Graph) -> dict[str, tuple[int, ...]]:
    """The state_dict keys and shapes of the model a graph compiles to (built on torch's
    meta device: no memory, no initialization)."""
    import torch

    from ..codegen import generate
    from ..compile import compile_source

    with torch.device("meta"):
        model = compile_source(generate(graph))
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def check_state(graph: Graph, state: dict, source: str) -> None:
    """PretrainedError unless `state` has exactly the model's keys and shapes (a missing
    batch-norm counter `num_batches_tracked`, absent from older files, is allowed)."""
    expected = expected_state(graph)
    missing = [k for k in expected if k not in state and
               not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} is {tuple(state[k].shape)}, the network needs {expected[k]}"
             for k in expected if k in state and tuple(state[k].shape) != expected[k]]
    problems = ([f"missing {_few(missing)}"] if missing else []) + \
        ([f"unexpected {_few(unexpected)}"] if unexpected else []) + wrong[:2]
    if problems:
        raise PretrainedError(f"{source} does not fit this network: {'; '.join(problems)}")


def _few(keys: list[str]) -> str:
    more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
    return ", ".join(keys[:3]) + more


def apply_state(graph: Graph, state: dict, source: str = "the weights") -> int:
    """Store a full state dict (torchvision's key names) as the graph's per-node weights,
    after `check_state`. Returns the number of tensors."""
    from ..codegen import generate

    check_state(graph, state, source)
    node_of = {attr: nid for nid, attr in generate(graph).attrs.items()}
    weights: dict[str, dict[str, Any]] = {}
    for key, value in state.items():
        attr, _, rest = key.partition(".")
        arr = value.detach().cpu().numpy() if hasattr(value, "detach") else value
        weights.setdefault(node_of[attr], {})[rest] = arr
    graph.weights = weights
    return len(state)


__all__ = ["PretrainedError", "apply_state", "check_state", "expected_state", "fetch",
           "hash_prefix", "read_state", "weights_dir"]
