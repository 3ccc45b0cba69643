"""Checkpoints: a set of files (weights, optimizer and random-generator state, JSON) written
and read as one unit, inside a run folder (the folder's layout is in run_folder.py). Never
pickle.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..project import atomic_write, fsync_dir, load_weights, save_weights


def jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return jsonable(value.item())
    return value


def write_json(path: Path, data: dict) -> None:
    atomic_write(path, (json.dumps(jsonable(data), indent=1, sort_keys=True) + "\n")
                 .encode("utf-8"))


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text("utf-8"))


# -- checkpoints -------------------------------------------------------------------------------
#
# A checkpoint is a set of files (weights, optimizer/RNG state, JSON) that must stay one epoch.
# save_checkpoint writes the whole set into `<kind>.pending/` first, the JSON last with the
# SHA-256 of each other file, then moves the files over the run folder's, the JSON last, and
# removes the folder. A crash before the pending JSON exists leaves the previous set untouched;
# a crash while moving leaves a complete pending set that load_checkpoint reads (and the next
# save finishes moving). The JSON's checksums let loading refuse a mixed set.

class CheckpointError(ValueError):
    """A checkpoint could not be written, or its files do not belong together."""


def _pending_dir(run_dir: Path, kind: str) -> Path:
    return run_dir / f"{kind}.pending"


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(run_dir: Path, kind: str, weights: dict, info: dict,
                    state_tensors: dict | None = None) -> Path:
    """Write `<kind>.safetensors` (weights per node), `<kind>.state.safetensors` (optimizer
    and RNG tensors, if given) and `<kind>.json` (the rest, plus each file's SHA-256) as one
    unit: after a crash at any point, loading gives either the old or the new set, never a mix.
    Returns the weights path. Raises CheckpointError naming the file that could not be
    written (e.g. a full disk); the previous checkpoint then stays as it was."""
    run_dir = Path(run_dir)
    try:
        _finish_pending(run_dir, kind)  # an earlier save was interrupted: complete or drop it
    except OSError as exc:
        raise CheckpointError(f"could not complete the interrupted {kind} checkpoint in "
                              f"{run_dir}: {exc.strerror or exc}") from exc
    _write_pending(run_dir, kind, weights, info, state_tensors)
    try:
        _finish_pending(run_dir, kind, verify=False)
    except OSError as exc:  # the complete set stays in the pending folder, which loads
        raise CheckpointError(f"could not move the {kind} checkpoint into {run_dir}: "
                              f"{exc.strerror or exc}") from exc
    return run_dir / f"{kind}.safetensors"


def _write_pending(run_dir: Path, kind: str, weights: dict, info: dict,
                   state_tensors: dict | None) -> None:
    """The new set in `<kind>.pending/`, its JSON (with the checksums) written last."""
    from safetensors.torch import save

    pending = _pending_dir(run_dir, kind)
    names = [f"{kind}.safetensors"]
    current = run_dir / names[0]
    try:
        pending.mkdir()
        save_weights(pending / names[0], weights)
        if state_tensors is not None:
            names.append(f"{kind}.state.safetensors")
            current = run_dir / names[1]
            atomic_write(pending / names[1], save(state_tensors))
        current = run_dir / f"{kind}.json"
        write_json(pending / current.name,
                   {**info, "files": {name: _sha256(pending / name) for name in names}})
    except OSError as exc:
        _drop_pending(pending)
        raise CheckpointError(f"could not write checkpoint {current}: "
                              f"{exc.strerror or exc}") from exc


def _finish_pending(run_dir: Path, kind: str, verify: bool = True) -> None:
    """Move a complete pending set over the run folder's files (JSON last); drop a partial
    one (the run folder's set is then still the previous, complete one)."""
    import os

    pending = _pending_dir(run_dir, kind)
    if not os.path.lexists(pending):
        return
    manifest = pending / f"{kind}.json"
    if manifest.is_file() and not pending.is_symlink() and \
            (not verify or _verified_files(run_dir, kind, pending) is not None):
        for name in read_json(manifest).get("files", {}):
            if name in (f"{kind}.safetensors", f"{kind}.state.safetensors") and \
                    (pending / name).exists():
                os.replace(pending / name, run_dir / name)
        fsync_dir(run_dir)  # the data files are in place before the JSON that names them
        os.replace(manifest, run_dir / manifest.name)
        fsync_dir(run_dir)
    _drop_pending(pending)


def _drop_pending(pending: Path) -> None:
    import shutil

    if pending.is_symlink():
        pending.unlink()
    elif pending.is_dir():
        shutil.rmtree(pending, ignore_errors=True)


def _verified_files(run_dir: Path, kind: str, pending: Path | None) -> tuple | None:
    """(info without checksums, {file name: path}) of the set whose JSON is in `pending` (files
    not moved yet are there, the others already in the run folder) or, with None, in the run
    folder; None when a file is missing or its checksum differs. A JSON without checksums
    (older runs) names the files it always had."""
    folder = pending or run_dir
    try:
        info = read_json(folder / f"{kind}.json")
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict):
        return None
    sums = info.pop("files", None)
    if not isinstance(sums, dict):
        if pending:
            return None
        names = [n for n in (f"{kind}.safetensors", f"{kind}.state.safetensors")
                 if (run_dir / n).exists()]
        return (info, {n: run_dir / n for n in names}) if names else None
    if not set(sums) <= {f"{kind}.safetensors", f"{kind}.state.safetensors"}:
        return None  # a JSON naming other files is not one of ours
    paths = {}
    for name, digest in sums.items():
        path = folder / name if pending and (folder / name).exists() else run_dir / name
        try:
            if _sha256(path) != digest:
                return None
        except OSError:
            return None
        paths[name] = path
    return info, paths


def has_checkpoint(run_dir: Path, kind: str) -> bool:
    """True if `run_dir` holds a complete `kind` checkpoint."""
    run_dir = Path(run_dir)
    return any(_verified_files(run_dir, kind, folder) is not None
               for folder in (_pending_dir(run_dir, kind), None))


def load_checkpoint(run_dir: Path, kind: str = "last") -> tuple[dict, dict, dict]:
    """(weights {node: {name: array}}, state tensors {name: tensor}, info) of a checkpoint:
    the newest complete set of files (a save interrupted while moving its files is read from
    its pending folder). Raises FileNotFoundError when there is none, CheckpointError when
    the files do not match their JSON."""
    import time

    run_dir = Path(run_dir)
    tries = 3
    while True:
        try:
            return _load_set(run_dir, kind)
        except (OSError, CheckpointError):
            # a save in another thread or process may be moving its files right now
            tries -= 1
            if not tries or not _pending_dir(run_dir, kind).exists():
                raise
            time.sleep(0.05)


def _load_set(run_dir: Path, kind: str) -> tuple[dict, dict, dict]:
    from safetensors.torch import load

    found = _verified_files(run_dir, kind, _pending_dir(run_dir, kind)) or \
        _verified_files(run_dir, kind, None)
    if found is None:
        wpath = run_dir / f"{kind}.safetensors"
        if not wpath.exists():
            raise FileNotFoundError(f"{run_dir} has no {kind} checkpoint ({wpath.name})")
        raise CheckpointError(f"the {kind} checkpoint in {run_dir} is damaged: "
                              f"{kind}.json is missing or its files do not match it")
    info, paths = found
    wpath = paths.get(f"{kind}.safetensors")
    if wpath is None:
        raise CheckpointError(f"{run_dir / (kind + '.json')} names no weights file")
    weights = load_weights(wpath)
    spath = paths.get(f"{kind}.state.safetensors")
    state = load(spath.read_bytes()) if spath is not None else {}
    return weights, state, info
