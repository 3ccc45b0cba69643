"""Run folders: the one module that knows their layout (checkpoint.py writes the checkpoint
sets inside them). Everything else (the Trainer, the CLI, export, the GUI's run list) reads and
writes runs through the functions here.

A project's runs live in `<project>.runs/run-N/`; a run folder holds:
  config.json          snapshot of the training config, dataset config and graph
  metrics.csv          one row per epoch
  metrics.jsonl        the same rows as JSON objects
  last.safetensors     the model's tensors per node id (engine.project.save_weights format)
  last.state.safetensors  optimizer tensors and random-generator states
  last.json            epoch, global step, optimizer hyper-parameters, schedule and
                       early-stopping state, the history so far, and the SHA-256 of the two
                       files above ("files"): the three are written as one unit
  best.safetensors / best.json   the best epoch's weights and metrics
  last.pending/, best.pending/   only while a checkpoint is written (or after a crash then)
  tensorboard/         TensorBoard event files (engine.loggers; unless disabled)
"""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from ..guard.text import quote
from .checkpoint import (  # noqa: F401  (re-exported: the run-folder API)
    CheckpointError,
    has_checkpoint,
    jsonable,
    load_checkpoint,
    read_json,
    save_checkpoint,
    write_json,
)

RUN_PATTERN = re.compile(r"^run-(\d+)$")
CONFIG = "config.json"
TENSORBOARD = "tensorboard"


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


def _run_order(p: Path):
    """run-2 before run-10; folders not ending in -N after them, by name."""
    tail = p.name.rsplit("-", 1)[-1]
    return (0, int(tail), "") if tail.isdigit() else (1, 0, p.name)


def list_runs(runs_dir: Path) -> list[Path]:
    """The run folders under `runs_dir` (those with a config.json), run-1, run-2, ... first."""
    if not runs_dir.is_dir():
        return []
    return sorted((p for p in runs_dir.iterdir() if p.is_dir() and (p / CONFIG).exists()),
                  key=_run_order)


def find_run(runs_dir: Path, run: str | Path) -> Path:
    """A run folder from a path or a name under `runs_dir` ('run-3', '3' or 'last')."""
    p = Path(run)
    if p.is_dir():
        return p
    if str(run) == "last":
        runs = sorted((q for q in runs_dir.glob("run-*") if RUN_PATTERN.match(q.name)),
                      key=_run_order)
        if runs:
            return runs[-1]
    for cand in (runs_dir / str(run), runs_dir / f"run-{run}"):
        if cand.is_dir():
            return cand
    raise FileNotFoundError(f"no run {quote(str(run))} in {runs_dir}")


def weights_file(run_dir: Path) -> Path | None:
    """The run's best weights file, else its last one; None when it has neither."""
    for kind in ("best", "last"):
        path = Path(run_dir) / f"{kind}.safetensors"
        if path.is_file():
            return path
    return None


def runs_with_weights(runs_dir: Path) -> list[Path]:
    """The `run-N` folders under `runs_dir` holding a best or last checkpoint, oldest first."""
    if not runs_dir.is_dir():
        return []
    return sorted((p for p in runs_dir.iterdir()
                   if p.is_dir() and RUN_PATTERN.match(p.name) and weights_file(p)),
                  key=_run_order)


def config_file(run_dir: Path) -> Path:
    """The run's config.json (the snapshot of its graph and settings)."""
    return Path(run_dir) / CONFIG


def write_config(run_dir: Path, config: dict) -> None:
    write_json(config_file(run_dir), config)


def read_config(run_dir: Path) -> dict:
    """The run's config.json ({} when it is missing or unreadable)."""
    try:
        data = json.loads((Path(run_dir) / CONFIG).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_metrics(run_dir: Path) -> list[dict]:
    """The epoch rows of a run (bad lines are skipped: a run killed mid-write)."""
    rows = []
    path = Path(run_dir) / MetricsLog.JSONL
    if not path.exists():
        return rows
    for line in path.read_text("utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def read_best_metrics(run_dir: Path) -> dict:
    """The metrics row of the run's best epoch ({} when there is none or it is unreadable)."""
    try:
        info = read_json(Path(run_dir) / "best.json")
    except (OSError, ValueError):
        return {}
    metrics = info.get("metrics") if isinstance(info, dict) else None
    return metrics if isinstance(metrics, dict) else {}


def artifacts(run_dir: Path) -> list[Path]:
    """The files that describe a finished run to someone else: its config, its metrics and
    its best weights (those that exist)."""
    run_dir = Path(run_dir)
    paths = [run_dir / CONFIG, run_dir / MetricsLog.CSV, run_dir / "best.safetensors"]
    return [p for p in paths if p.exists()]


def tensorboard_dir(run_dir: Path) -> Path:
    return Path(run_dir) / TENSORBOARD


class MetricsLog:
    """Appends one row per epoch to metrics.csv and metrics.jsonl (flushed each epoch)."""

    CSV, JSONL = "metrics.csv", "metrics.jsonl"

    def __init__(self, run_dir: Path):
        self.csv_path = Path(run_dir) / self.CSV
        self.jsonl_path = Path(run_dir) / self.JSONL

    def append(self, row: dict) -> None:
        flat = {k: v for k, v in row.items() if not isinstance(v, (list, dict))}
        with open(self.jsonl_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(jsonable(row), sort_keys=True) + "\n")
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
        """Drop rows of epochs after `epoch` (a resumed run rewrites them), and any line a
        killed run left half-written."""
        if self.jsonl_path.exists():
            keep = [r for r in read_metrics(self.jsonl_path.parent)
                    if _epoch_of(r.get("epoch")) <= epoch]
            self.jsonl_path.write_text("".join(json.dumps(r, sort_keys=True) + "\n"
                                               for r in keep), "utf-8")
        if self.csv_path.exists():
            lines = self.csv_path.read_text("utf-8", errors="replace").splitlines(True)
            if lines:
                head, body = lines[0], lines[1:]
                columns = next(csv.reader([head]), [])
                if "epoch" in columns:
                    idx = columns.index("epoch")
                    body = [ln for ln in body if ln.endswith("\n") and
                            _epoch_of(_field(ln, idx)) <= epoch]
                self.csv_path.write_text(head + "".join(body), "utf-8")


def _field(line: str, index: int) -> str | None:
    row = next(csv.reader([line]), [])
    return row[index] if index < len(row) else None


def _epoch_of(value) -> float:
    """A row's epoch number; infinity when it has none (so the row is dropped)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return float("inf")
