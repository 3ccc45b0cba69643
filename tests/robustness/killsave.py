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


def make_pair_versions(folder: Path, nodes: int = 300) -> tuple[Path, Path]:
    """Two projects of different widths, each saved with its own weights (a mixed pair would
    not even load: the tensor shapes differ)."""
    import numpy as np

    from engine.compile import compile_graph, node_state
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, width in (("A", 8), ("B", 16)):
        graph = big_chain(nodes, width)
        graph.weights = {nid: {k: np.asarray(v.detach()) for k, v in t.items()}
                         for nid, t in node_state(compile_graph(graph)).items()}
        paths.append(save_project(Project(graph, meta={"name": name}),
                                  folder / f"{name}.nnproj"))
    return paths[0], paths[1]


def _same_pair(got: Project, want: Project) -> bool:
    import numpy as np
    if got.to_dict() != want.to_dict():
        return False
    gw, ww = got.graph.weights, want.graph.weights
    return gw.keys() == ww.keys() and all(
        gw[n].keys() == ww[n].keys() and all(np.array_equal(gw[n][k], ww[n][k]) for k in ww[n])
        for n in ww)


def kill_pair_saves(folder: Path, kills: int, rnd: random.Random) -> KillStats:
    """Kill save_project of projects with weights: the project file and its weights must
    always load as a matching pair, the old one or the new one."""
    a, b = make_pair_versions(folder / "pair-versions")
    expected = [load_project(a), load_project(b)]
    window = 3 * _save_seconds(a)
    target_dir = folder / "pair"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = save_project(load_project(a), target_dir / "work.nnproj")
    stats = KillStats("project+weights")
    for _ in range(kills):
        before = _temp_files(target_dir)
        _run_and_kill(["pair", str(target), str(a), str(b)], rnd.uniform(0, window), folder)
        stats.kills += 1
        stats.during_write += bool(_temp_files(target_dir) - before)
        try:
            got = load_project(target)
            if not any(_same_pair(got, want) for want in expected):
                raise ProjectError("not a matching pair of the old or the new version", target)
        except ProjectError as exc:
            stats.corrupted += 1
            stats.problems.append(str(exc)[:300])
    return stats


def kill_exports(folder: Path, kills: int, rnd: random.Random) -> KillStats:
    """Kill the Python script export: the script is always one of the two complete texts."""
    from engine.examples import copy_example
    from engine.export.script import export_script, script_source

    src = folder / "export-src"
    a = copy_example("xor_mlp", src / "a.nnproj")
    b = copy_example("digits_mlp", src / "b.nnproj")
    target_dir = folder / "export"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "model.py"
    texts = [script_source(load_project(p), None, str(target)) for p in (a, b)]
    start = time.perf_counter()
    export_script(load_project(a), target)
    window = 3 * (time.perf_counter() - start) + 0.5
    stats = KillStats("export")
    for _ in range(kills):
        before = _temp_files(target_dir)
        _run_and_kill(["export", str(target), str(a), str(b)], rnd.uniform(0, window), folder)
        stats.kills += 1
        stats.during_write += bool(_temp_files(target_dir) - before)
        if target.read_text("utf-8") not in texts:
            stats.corrupted += 1
            stats.problems.append(f"{target}: neither the old nor the new script")
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


def make_training_project(folder: Path) -> Path:
    """A tiny classifier on an .npz file (epochs of a few milliseconds), saved in `folder`."""
    import numpy as np

    from engine.graph import Graph

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 64)
    x = (rng.normal(0, 3, (3, 4))[y] + rng.normal(0, 0.7, (64, 4))).astype(np.float32)
    np.savez(folder / "data.npz", x=x, y=y.astype(np.int64))
    g = Graph()
    prev = g.add_node("io.Input", {"shape": [4]}, name="x")
    for kind, params, name in [("core.Linear", {"out_features": 16}, "fc1"),
                               ("act.Tanh", {}, "act"),
                               ("core.Linear", {"out_features": 3}, "fc2"),
                               ("io.Output", {}, "y")]:
        node = g.add_node(kind, params, name=name)
        g.connect(prev.id, "out", node.id, "in")
        prev = node
    project = Project(g, {"source": "npz", "path": "data.npz", "val_split": 0.25},
                      {"batch_size": 16, "optimizer": {"name": "adam", "lr": 0.01}},
                      meta={"name": "killed"})
    return save_project(project, folder / "killed.nnproj")


def kill_training(folder: Path, kills: int, rnd: random.Random) -> KillStats:
    """Kill a training process at random points; each time the next one resumes the run. The
    checkpoint files must always parse and the run must always resume."""
    from engine.train import checkpoint as ckpt

    project = make_training_project(folder / "train")
    run = folder / "train" / "run"
    stats = KillStats("training")
    for _ in range(kills):
        before = _temp_files(run) if run.exists() else set()
        try:
            _run_and_kill(["train", str(project), str(run)], rnd.uniform(0, 0.5), folder)
        except RuntimeError as exc:  # the child could not resume the run
            stats.corrupted += 1
            stats.problems.append(str(exc)[:300])
            continue
        stats.kills += 1
        stats.during_write += bool(_temp_files(run) - before)
        try:
            for kind in ("last", "best"):
                ckpt.load_checkpoint(run, kind)
            for line in (run / "metrics.jsonl").read_text("utf-8").splitlines():
                json.loads(line)
        except Exception as exc:  # noqa: BLE001  (anything unreadable is a corrupted run)
            stats.corrupted += 1
            stats.problems.append(f"{type(exc).__name__}: {exc}"[:300])
    return stats
