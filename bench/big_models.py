"""Peak memory of big projects: a VGG-16 and a ResNet-50 (the pretrained gallery's
torchvision-size definitions, random weights saved beside the project) opened, validated,
summarised and exported.

Each stage runs in a fresh Python process. The process imports what it needs first (torch and
the engine), then resets its peak-RSS counter (/proc/self/clear_refs), runs the stage and reads
the peak back (VmHWM): "growth" is what the stage itself added to memory, "peak" the whole
process's high-water mark (ru_maxrss). The weights file's size says what eager loading would
cost; a stage that needs no weights should grow by far less.

Stages: open (load_project as the app opens a file: weights paired and loaded), open_lazy
(load_project(weights="lazy"): the weights file's header checked, tensors read on first
use), validate, summary, export_python (`studio validate|summary|export -f python`),
export_onnx (`studio export -f onnx`: needs every weight, checked in onnxruntime).
Run: python -m bench.big_models [--models vgg16,resnet50] [--stages ...] [--no-onnx]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import print_table, write_json

MODELS = "vgg16,resnet50"
STAGES = ("open", "open_lazy", "validate", "summary", "export_python", "export_onnx")


def make_project(name: str, folder: Path) -> Path:
    """The gallery network `name` for a 2-class image folder (6 small PNGs) as a saved
    project with random weights (a pair)."""
    import numpy as np
    import torch
    from PIL import Image

    from engine.compile import compile_graph, node_state
    from engine.pretrained import new_project
    from engine.project import save_project

    data = folder / "photos"
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (data / cls).mkdir(parents=True, exist_ok=True)
        for i in range(3):
            pixels = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(data / cls / f"{i}.png")
    path = folder / f"{name}.nnproj"
    project = new_project(name, weights=None, data=data, project_path=path)
    torch.manual_seed(0)
    project.graph.weights = node_state(compile_graph(project.graph, load_weights=False))
    save_project(project, path)
    return path


def _vm(field: str) -> int:
    """A /proc/self/status memory figure in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _stage(stage: str, path: str, out_dir: str) -> None:
    from engine.cli import main

    if stage == "open":
        from engine.project import load_project
        load_project(path)
    elif stage == "open_lazy":
        from engine.project import load_project
        load_project(path, weights="lazy")
    elif stage in ("validate", "summary"):
        assert main([stage, path]) == 0
    elif stage == "export_python":
        assert main(["export", path, "-f", "python", "-o", f"{out_dir}/m.py", "--force"]) == 0
    elif stage == "export_onnx":
        assert main(["export", path, "-f", "onnx", "-o", f"{out_dir}/m.onnx", "--force"]) == 0
    else:
        raise SystemExit(f"unknown stage {stage}")


def child(stage: str, path: str, out_dir: str) -> None:
    import torch  # noqa: F401  (the floor every stage shares)

    import engine.cli
    import engine.project  # noqa: F401
    floor = _vm("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")   # reset the peak (VmHWM) to now
    wall, cpu = time.perf_counter(), time.process_time()
    _stage(stage, path, out_dir)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("RESULT " + json.dumps({"floor": floor, "hwm": _vm("VmHWM"), "peak": peak,
                                  "wall_s": wall, "cpu_s": cpu}))


def run_stage(stage: str, path: Path, out_dir: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "bench.big_models", "--child", stage,
                           str(path), out_dir], check=False, capture_output=True, text=True,
                          cwd=ROOT, env=env)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"{stage} on {path.name} failed:\n{done.stdout[-1500:]}"
                         f"\n{done.stderr[-1500:]}")
    r = json.loads(lines[-1][7:])
    mb = 2 ** 20
    return {"stage": stage, "growth_mb": (r["hwm"] - r["floor"]) / mb,
            "peak_mb": r["peak"] / mb, "floor_mb": r["floor"] / mb, "wall_s": r["wall_s"],
            "cpu_s": r["cpu_s"]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=MODELS)
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--no-onnx", action="store_true", help="skip export_onnx (slow)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(*args.child)
    stages = [s for s in args.stages.split(",") if not (args.no_onnx and s == "export_onnx")]
    out: dict = {"stages": stages, "load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench-big-") as tmp:
        for name in args.models.split(","):
            code = ("import sys; from pathlib import Path; from bench.big_models import "
                    f"make_project; print(make_project({name!r}, Path(sys.argv[1])))")
            made = subprocess.run([sys.executable, "-c", code, tmp], check=False,
                                  capture_output=True, text=True, cwd=ROOT,
                                  env=dict(os.environ, PYTHONPATH=str(ROOT)))
            if made.returncode:
                raise SystemExit(made.stderr[-2000:])
            path = Path(made.stdout.strip().splitlines()[-1])
            weights_mb = path.with_suffix(".safetensors").stat().st_size / 2 ** 20
            rows = [run_stage(stage, path, tmp) for stage in stages]
            print(f"\n{name}: weights file {weights_mb:.1f} MB; memory in MB (growth: what "
                  f"the stage added after imports; peak: the process's maximum RSS)")
            print_table(rows, ["stage", "growth_mb", "peak_mb", "floor_mb", "wall_s", "cpu_s"])
            out[name] = {"weights_file_mb": weights_mb, "rows": rows}
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    write_json("big_models", out)


if __name__ == "__main__":
    main()
