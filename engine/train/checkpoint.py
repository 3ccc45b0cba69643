"""Run folders and checkpoints: never pickle.

A run folder (`<project>.runs/run-N/`) holds:
  config.json          snapshot of the training config, dataset config and graph
  metrics.csv          one row per epoch
  metrics.jsonl        the same rows as JSON objects
  last.safetensors     the model's tensors per node id (engine.project.save_weights format)
  last.state.safetensors  optimizer tensors and random-generator states
  last.json            epoch, global step, optimizer hyper-parameters, schedule and
                       early-stopping state, the history so far
  best.safetensors / best.json   the best epoch's weights and metrics
  tensorboard/         if enabled and TensorBoard is installed
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Any

from ..project import atomic_write, load_weights, save_weights

RUN_PATTERN = re.compile(r"^run-(\d+)$")


def new_run_dir(runs_dir: Path) -> Path:
    """Create and return the next free `run-N` folder under `runs_dir`."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    used = [int(m.group(1)) for p in runs_dir.iterdir() if (m := RUN_PATTERN.match(p.name))]
    n = max(used, default=0) + 1
    while True:
        path = runs_dir / f"run-{n}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1


def find_run(runs_dir: Path, run: str | Path) -> Path:
    """A run folder from a path or a name under `runs_dir` ('run-3', '3' or 'last')."""
    p = Path(run)
    if p.is_dir():
        return p
    if str(run) == "last":
        runs = sorted((q for q in runs_dir.glob("run-*") if RUN_PATTERN.match(q.name)),
                      key=lambda q: int(q.name[4:]))
        if runs:
            return runs[-1]
    for cand in (runs_dir / str(run), runs_dir / f"run-{run}"):
        if cand.is_dir():
            return cand
    raise FileNotFoundError(f"no run {str(run)!r} in {runs_dir}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return _jsonable(value.item())
    return value


def write_json(path: Path, data: dict) -> None:
    atomic_write(path, (json.dumps(_jsonable(data), indent=1, sort_keys=True) + "\n")
                 .encode("utf-8"))


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text("utf-8"))


# -- optimizer state <-> (tensors, JSON) -------------------------------------------------------

def split_optimizer_state(state: dict) -> tuple[dict, dict]:
    """torch optimizer state_dict -> ({'optim/<param>/<key>': tensor}, JSON-able rest)."""
    import torch

    tensors, meta = {}, {"param_groups": state["param_groups"], "state": {}}
    for pid, entries in state["state"].items():
        row = meta["state"][str(pid)] = {}
        for key, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"optim/{pid}/{key}"] = value.detach().cpu().contiguous()
                row[key] = {"__tensor__": True}
            else:
                row[key] = value
    return tensors, meta


def join_optimizer_state(tensors: dict, meta: dict) -> dict:
    state = {}
    for pid, entries in meta["state"].items():
        state[int(pid)] = {k: tensors[f"optim/{pid}/{k}"] if isinstance(v, dict) else v
                           for k, v in entries.items()}
    return {"state": state, "param_groups": meta["param_groups"]}


# -- checkpoints -------------------------------------------------------------------------------

def save_checkpoint(run_dir: Path, kind: str, weights: dict, info: dict,
                    state_tensors: dict | None = None) -> Path:
    """Write `<kind>.safetensors` (weights per node), `<kind>.state.safetensors` (optimizer
    and RNG tensors, if given) and `<kind>.json` (the rest). Returns the weights path."""
    from safetensors.torch import save

    path = run_dir / f"{kind}.safetensors"
    save_weights(path, weights)
    if state_tensors is not None:
        atomic_write(run_dir / f"{kind}.state.safetensors", save(state_tensors))
    write_json(run_dir / f"{kind}.json", info)
    return path


def load_checkpoint(run_dir: Path, kind: str = "last") -> tuple[dict, dict, dict]:
    """(weights {node: {name: array}}, state tensors {name: tensor}, info) of a checkpoint."""
    from safetensors.torch import load

    run_dir = Path(run_dir)
    wpath = run_dir / f"{kind}.safetensors"
    if not wpath.exists():
        raise FileNotFoundError(f"{run_dir} has no {kind} checkpoint ({wpath.name})")
    weights = load_weights(wpath)
    spath = run_dir / f"{kind}.state.safetensors"
    state = load(spath.read_bytes()) if spath.exists() else {}
    return weights, state, read_json(run_dir / f"{kind}.json")


# -- metrics logs ------------------------------------------------------------------------------

class MetricsLog:
    """Appends one row per epoch to metrics.csv and metrics.jsonl (flushed each epoch)."""

    def __init__(self, run_dir: Path):
        self.csv_path = run_dir / "metrics.csv"
        self.jsonl_path = run_dir / "metrics.jsonl"

    def append(self, row: dict) -> None:
        flat = {k: v for k, v in row.items() if not isinstance(v, (list, dict))}
        with open(self.jsonl_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(_jsonable(row), sort_keys=True) + "\n")
        header = None
        if self.csv_path.exists() and self.csv_path.stat().st_size:
            with open(self.csv_path, encoding="utf-8") as f:
                header = next(csv.reader(f), None)
        buf = io.StringIO()
        writer = csv.writer(buf)
        if header is None:
            header = list(flat)
            writer.writerow(header)
        writer.writerow(["" if flat.get(k) is None else flat.get(k) for k in header])
        with open(self.csv_path, "a", encoding="utf-8", newline="") as f:
            f.write(buf.getvalue())

    def truncate_after(self, epoch: int) -> None:
        """Drop rows of epochs after `epoch` (a resumed run rewrites them)."""
        if self.jsonl_path.exists():
            rows = [json.loads(line) for line in self.jsonl_path.read_text("utf-8").splitlines()
                    if line.strip()]
            keep = [r for r in rows if r.get("epoch", 0) <= epoch]
            self.jsonl_path.write_text("".join(json.dumps(r, sort_keys=True) + "\n"
                                               for r in keep), "utf-8")
        if self.csv_path.exists():
            lines = self.csv_path.read_text("utf-8").splitlines(True)
            if lines:
                head, body = lines[0], lines[1:]
                idx = next(csv.reader([head])).index("epoch") if "epoch" in head else None
                if idx is not None:
                    body = [ln for ln in body if int(next(csv.reader([ln]))[idx]) <= epoch]
                self.csv_path.write_text(head + "".join(body), "utf-8")
