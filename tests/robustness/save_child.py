"""Child process for the kill-during-save tests: saves two versions alternately, forever.

    python save_child.py project TARGET A.nnproj B.nnproj
    python save_child.py weights TARGET SEED_A SEED_B
    python save_child.py autosave HOME A.nnproj
    python save_child.py train PROJECT.nnproj RUN_DIR
    python save_child.py pair TARGET A.nnproj B.nnproj      (projects with their weights)
    python save_child.py export TARGET.py A.nnproj B.nnproj  (the Python script export)

It prints "go" once the first save has started looping; the parent kills it with SIGKILL.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def weights_version(seed: int, nodes: int = 150, size: int = 64) -> dict:
    """Deterministic per-node tensors (about 2.5 MB), different for each seed."""
    import numpy as np
    rng = np.random.default_rng(seed)
    return {f"n{i}": {"weight": rng.standard_normal((size, size), dtype=np.float32),
                      "bias": np.full((size,), seed, dtype=np.float32)}
            for i in range(nodes)}


def loop_project(target: str, a: str, b: str) -> None:
    from engine.project import load_project, save_project
    versions = [load_project(a), load_project(b)]
    print("go", flush=True)
    while True:
        for p in versions:
            save_project(p, target)


def loop_pair(target: str, a: str, b: str) -> None:
    """save_project of two projects that each have their own weights, alternately."""
    from engine.project import load_project, save_project
    versions = [load_project(a), load_project(b)]
    print("go", flush=True)
    while True:
        for p in versions:
            save_project(p, target)


def loop_export(target: str, a: str, b: str) -> None:
    from engine.export.script import export_script
    from engine.project import load_project
    versions = [load_project(a), load_project(b)]
    print("go", flush=True)
    while True:
        for p in versions:
            export_script(p, target)


def loop_weights(target: str, seed_a: str, seed_b: str) -> None:
    from engine.project import save_weights
    versions = [weights_version(int(seed_a)), weights_version(int(seed_b))]
    print("go", flush=True)
    while True:
        for w in versions:
            save_weights(target, w)


def loop_autosave(home: str, a: str) -> None:
    """The GUI's autosave: a Document (opened from A) with two edits; undo/redo alternate
    between them and each state is written to the recovery file. The graphs of both states
    are first written to HOME/state1.json and HOME/state2.json for the parent to compare."""
    import json
    import os
    os.environ["XDG_DATA_HOME"] = home
    os.environ["HOME"] = home
    from PySide6.QtCore import QCoreApplication

    from engine.project import load_project
    from studio.commands import MoveNodesCommand
    from studio.document import Document

    app = QCoreApplication(["studio-autosave-child"])  # noqa: F841  (QObjects need one)
    doc = Document(load_project(a), autosave_ms=0)
    first = next(iter(doc.graph.nodes))
    for step in (1, 2):
        old = doc.graph.nodes[first].pos
        doc.push(MoveNodesCommand(doc.graph, {first: (old, (step * 100.0, step * 50.0))}))
        Path(home, f"state{step}.json").write_text(json.dumps(doc.graph.to_dict()))
    doc.autosave()  # the recovery file exists (state 2) before the parent starts its clock
    print("go", str(doc.recovery_path()), flush=True)
    while True:
        doc.undo_stack.undo()
        doc.autosave()
        doc.undo_stack.redo()
        doc.autosave()


def loop_train(project_path: str, run_dir: str) -> None:
    """Train (forever, tiny epochs), resuming the run in `run_dir` when it has a checkpoint.
    Prints "go" after this process wrote its first checkpoint; prints the error and exits if
    the run cannot resume."""
    from engine.project import load_project
    from engine.train.trainer import Trainer

    run = Path(run_dir)
    resume = run if (run / "last.json").exists() else None
    said = []

    def on_event(ev):
        if ev.kind == "checkpoint" and not said:
            said.append(1)
            print("go", flush=True)

    trainer = Trainer(load_project(project_path), "cpu", [on_event], epochs=100_000,
                      resume_from=resume, run_dir=None if resume else run)
    result = trainer.fit()
    print(f"failed: {result.error}", flush=True)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"project": loop_project, "weights": loop_weights, "autosave": loop_autosave,
     "train": loop_train, "pair": loop_pair, "export": loop_export}[mode](*args)
