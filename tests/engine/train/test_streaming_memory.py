"""A dataset 4x its memory budget trains for an epoch while the process's peak resident memory
grows by less than the budget plus the model plus a fixed margin (measured in a fresh process,
stream_memory_probe.py). Loading such a dataset whole would need at least 4x the budget, so
the bound fails if anything holds the data in memory."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.project import save_project

from .helpers import chain, project

MARGIN_MB = 24          # DataLoader machinery, batches in flight, allocator slack
PROBE = Path(__file__).with_name("stream_memory_probe.py")


def _probe(path: Path, workers: int = 0) -> dict:
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, str(PROBE), str(path), str(workers)],
                         capture_output=True, text=True, timeout=600, cwd=root, check=False,
                         env={"PYTHONPATH": str(root), "OMP_NUM_THREADS": "1",
                              "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["status"] == "completed" and report["from_disk"]
    report["growth_mb"] = (report["after_kb"] - report["before_kb"]) / 1024
    print(f"\n{path.stem}: RSS {report['before_kb'] / 1024:.0f} MB before the run, peak "
          f"{report['after_kb'] / 1024:.0f} MB during it (+{report['growth_mb']:.1f} MB)")
    return report


def _bound_mb(budget_mb: float, report: dict) -> float:
    # parameters, their gradients and Adam's two moments
    return budget_mb + 4 * report["model_bytes"] / 2**20 + MARGIN_MB


@pytest.mark.slow
def test_npy_memmap_4x_the_budget_trains_within_the_budget(tmp_path):
    budget, n, width = 16, 16384, 1024                      # 64 MB of float32 samples
    rng = np.random.default_rng(0)
    x = np.lib.format.open_memmap(tmp_path / "x.npy", "w+", np.float32, (n, width))
    for i in range(0, n, 2048):
        x[i:i + 2048] = rng.normal(size=(min(2048, n - i), width))
    x.flush()
    del x
    np.save(tmp_path / "y.npy", rng.integers(0, 3, n))
    graph = chain([("core.Linear", {"out_features": 16}, "fc1"), ("act.ReLU", {}, "relu"),
                   ("core.Linear", {"out_features": 3}, "fc2")], (width,))
    proj = project(graph, tmp_path, name="npy", epochs=1, batch_size=256,
                   dataset={"source": "npy", "path": "x.npy", "y_path": "y.npy",
                            "memory_budget_mb": budget})
    save_project(proj)
    assert n * width * 4 == 4 * budget * 2**20
    report = _probe(tmp_path / "npy.nnproj")
    assert report["growth_mb"] < _bound_mb(budget, report) < 4 * budget


@pytest.mark.slow
def test_image_folder_4x_the_budget_trains_within_the_budget(tmp_path):
    budget, n, side = 6, 2736, 32         # 2736 RGB 32x32 images: 33.6 MB as float32
    rng = np.random.default_rng(1)
    for i in range(n):
        folder = tmp_path / "photos" / f"class{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).save(
            folder / f"{i}.png", compress_level=1)
    graph = chain([("conv.Conv2d", {"out_channels": 4, "kernel_size": 3, "stride": 2}, "conv"),
                   ("act.ReLU", {}, "relu"), ("core.Flatten", {}, "flat"),
                   ("core.Linear", {"out_features": 3}, "fc")], (3, side, side))
    proj = project(graph, tmp_path, name="photos", epochs=1, batch_size=32,
                   dataset={"source": "image_folder", "path": "photos", "color": "RGB",
                            "image_size": [side, side], "memory_budget_mb": budget})
    save_project(proj)
    data_mb = n * 3 * side * side * 4 / 2**20
    assert data_mb > 4 * budget
    report = _probe(tmp_path / "photos.nnproj")
    assert report["growth_mb"] < _bound_mb(budget, report) < data_mb
