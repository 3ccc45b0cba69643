"""Kill a saving child process at random points and check what is left on disk.

Shared by test_atomic_save.py (a few kills) and bench/robustness.py (many kills).
"""
from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.project import Project, ProjectError, load_project, load_weights, save_project

from .graphs import big_chain
from .save_child import weights_version

CHILD = Path(__file__).with_name("save_child.py")


@dataclass
class KillStats:
    mode: str
    kills: int = 0
    during_write: int = 0      # a temp file was left behind: the kill hit the write itself
    corrupted: int = 0         # the file did not parse, or was neither version
    missing: int = 0           # no file yet (only possible for the first autosave)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "problems"} | \
            {"problems": self.problems[:10]}


def _temp_files(folder: Path) -> set[str]:
    return {p.name for p in folder.glob(".*.tmp")}


def _run_and_kill(args: list[str], delay: float, cwd: Path) -> str:
    """Start the child, wait for its "go" line, let it save for `delay` s, SIGKILL it."""
    proc = subprocess.Popen([sys.executable, str(CHILD), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd)
    try:
        line = proc.stdout.readline()
        if not line.startswith("go"):
            raise RuntimeError(f"save child failed: {line}{proc.stderr.read()[-2000:]}")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    return line.strip()


def make_versions(folder: Path, nodes: int = 2000) -> tuple[Path, Path]:
    """Two distinct projects of `nodes` nodes (different widths) saved in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    a = save_project(Project(big_chain(nodes, 8), meta={"name": "A"}), folder / "A.nnproj")
    b = save_project(Project(big_chain(nodes, 16), meta={"name": "B"}), folder / "B.nnproj")
    return a, b


def _save_seconds(path: Path) -> float:
    project = load_project(path)
    start = time.perf_counter()
    save_project(project, path.with_name("timing.nnproj"))
    return time.perf_counter() - start


def kill_project_saves(folder: Path, kills: int, rnd: random.Random,
                       versions: tuple[Path, Path] | None = None) -> KillStats:
    a, b = versions or make_versions(folder / "versions")
    expected = [load_project(a).to_dict(), load_project(b).to_dict()]
    window = 3 * _save_seconds(a)
    target_dir = folder / "project"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = save_project(load_project(a), target_dir / "work.nnproj")
    stats = KillStats("project")
    for _ in range(kills):
        before = _temp_files(target_dir)
        _run_and_kill(["project", str(target), str(a), str(b)], rnd.uniform(0, window), folder)
        stats.kills += 1
        stats.during_write += bool(_temp_files(target_dir) - before)
        try:
            got = load_project(target).to_dict()
            if got not in expected:
                raise ProjectError("neither the old nor the new version", target)
        except ProjectError as exc:
            stats.corrupted += 1
            stats.problems.append(str(exc)[:300])
    return stats


def kill_weight_saves(folder: Path, kills: int, rnd: random.Random) -> KillStats:
    import numpy as np

    from engine.project import save_weights

    target_dir = folder / "weights"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "work.safetensors"
    versions = [weights_version(1), weights_version(2)]
    start = time.perf_counter()
    save_weights(target, versions[0])
    window = 3 * (time.perf_counter() - start)
    stats = KillStats("weights")

    def same(got, want):
        return got.keys() == want.keys() and all(
            got[n].keys() == want[n].keys() and
            all(np.array_equal(got[n][k], want[n][k]) for k in want[n]) for n in want)

    for _ in range(kills):
        before = _temp_files(target_dir)
        _run_and_kill(["weights", str(target), "1", "2"], rnd.uniform(0, window), folder)
        stats.kills += 1
        stats.during_write += bool(_temp_files(target_dir) - before)
        try:
            got = load_weights(target)
            if not any(same(got, v) for v in versions):
                raise ProjectError("neither the old nor the new weights", target)
        except ProjectError as exc:
            stats.corrupted += 1
            stats.problems.append(str(exc)[:300])
    return stats


def kill_autosaves(folder: Path, kills: int, rnd: random.Random,
                   project: Path) -> tuple[KillStats, Path | None, list[dict]]:
    """Kill the GUI's autosave loop; returns the stats, the recovery file and both states."""
    from engine.project import loads_project

    home = folder / "home"
    home.mkdir(parents=True, exist_ok=True)
    window = 3 * _save_seconds(project)
    stats = KillStats("autosave")
    rec: Path | None = None
    states: list[dict] = []
    for _ in range(kills):
        rec_dir = Path(home, ".local", "share")
        before = {p.name for p in rec_dir.rglob(".*.tmp")} if rec_dir.exists() else set()
        go = _run_and_kill(["autosave", str(home), str(project)], rnd.uniform(0, window),
                           folder)
        rec = Path(go.split(" ", 1)[1])
        states = [json.loads(Path(home, f"state{i}.json").read_text()) for i in (1, 2)]
        stats.kills += 1
        stats.during_write += bool({p.name for p in rec.parent.glob(".*.tmp")} - before)
        if not rec.exists():
            stats.missing += 1
            continue
        try:
            got = loads_project(rec.read_text("utf-8"), rec).graph.to_dict()
            if got not in states:
                raise ProjectError("neither of the two autosaved states", rec)
        except (ProjectError, UnicodeDecodeError) as exc:
            stats.corrupted += 1
            stats.problems.append(str(exc)[:300])
    return stats, rec, states
