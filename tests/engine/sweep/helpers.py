"""Small sweepable projects (the xor example with a searched learning rate and width)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine.examples import copy_example
from engine.project import load_project, save_project

LR = "training.optimizer.lr"
WIDTH = "node.n2.out_features"
ROOT = Path(__file__).resolve().parents[3]


def xor_project(folder: Path, epochs: int = 6, **sweep):
    path = copy_example("xor_mlp", folder / "xor.nnproj")
    project = load_project(path)
    project.training["epochs"] = epochs
    project.sweep = {"space": {LR: {"low": 0.003, "high": 0.3, "log": True},
                               WIDTH: {"low": 2, "high": 32, "log": True}},
                     "sampler": "random", **sweep}
    save_project(project, path)
    return load_project(path)


def studio(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    """Run `python -m engine.cli ARGS` with this checkout on the path."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "engine.cli", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)


def spawn(*args, cwd=None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "engine.cli", *map(str, args)], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
