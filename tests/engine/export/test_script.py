"""The exported training script: runs with only torch + numpy + the dataset's extra, passes
ruff, and reproduces the in-app Trainer's loss curve on the CPU."""
from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import engine
from engine.examples import copy_example
from engine.export import ExportError, export_project
from engine.export.script import export_script
from engine.train.trainer import Trainer

from ..helpers import scriptable_examples

EXAMPLES = scriptable_examples()  # every bundled example's script runs like the app


def _export(name: str, folder: Path, max_samples: int | None = None
            ) -> tuple[engine.Project, Path]:
    """Copy an example to `folder` (optionally capping its dataset, as a user could with
    dataset.max_samples, to keep the test fast) and export its script."""
    path = copy_example(name, folder / f"{name}.nnproj")
    project = engine.load_project(path)
    if max_samples:
        project.dataset["max_samples"] = max_samples
        engine.save_project(project, path)
    return project, export_script(project, folder / f"{name}.py")


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["OMP_NUM_THREADS"] = "1"
    return env


def _start(py: Path, script: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([str(py), script.name, "--device", "cpu", *args], cwd=script.parent,
                            env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _in_app(project: engine.Project, epochs: int) -> list[dict]:
    result = Trainer(project, device="cpu", run_dir=False, epochs=epochs).fit()
    assert result.status == "completed", result.error
    return result.history


def _history(path: Path) -> list[dict]:
    return [row for row in map(json.loads, path.read_text().splitlines()) if "loss" in row]


def _assert_same_curve(app: list[dict], script: list[dict], name: str) -> None:
    assert len(script) == len(app), name
    for a, s in zip(app, script):
        for key in ("loss", "val_loss"):
            if key in a:
                assert abs(a[key] - s[key]) <= 1e-6, (name, key, a[key], s[key])


# Runs each script as __main__ in one interpreter of the clean environment (torch is imported
# once instead of once per script); prints one JSON status line per script.
RUNNER = """
import json, os, runpy, sys, traceback
for folder, script, *args in json.loads(sys.argv[1]):
    os.chdir(folder)
    sys.argv = [script, *args]
    status = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        status = exc.code or 0
    except BaseException:
        status = traceback.format_exc()
    print("STATUS " + json.dumps([script, status]), flush=True)
"""


@pytest.mark.slow
def test_every_example_trains_in_a_clean_env_like_the_app(clean_python, tmp_path):
    """The issue's check: each bundled example's script, run where only torch, numpy and
    scikit-learn are installed, exits 0 and its loss curve equals the in-app run's (one
    epoch each; three for xor_mlp)."""
    projects, jobs = {}, []
    for name in EXAMPLES:
        folder = tmp_path / name
        folder.mkdir()
        projects[name], script = _export(name, folder, max_samples=300)
        epochs = 3 if name == "xor_mlp" else 1
        jobs.append([str(folder), script.name, "--device", "cpu", "--epochs", str(epochs),
                     "--history", "h.jsonl"])
    proc = subprocess.Popen([str(clean_python), "-c", RUNNER, json.dumps(jobs)],
                            cwd=tmp_path, env=_clean_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    apps = {name: _in_app(projects[name], 3 if name == "xor_mlp" else 1)
            for name in EXAMPLES}
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    statuses = dict(json.loads(line[7:]) for line in out.splitlines()
                    if line.startswith("STATUS "))
    for name in EXAMPLES:
        assert statuses.get(f"{name}.py") == 0, (name, statuses.get(f"{name}.py"))
        rows = _history(tmp_path / name / "h.jsonl")
        _assert_same_curve(apps[name], rows, name)
    xor = _history(tmp_path / "xor_mlp" / "h.jsonl")
    assert xor[0]["loss"] != xor[-1]["loss"]  # it really trained
    assert out.count("test_loss") == len(EXAMPLES)


def test_a_script_runs_as_a_program(clean_python, tmp_path):
    _, script = _export("xor_mlp", tmp_path)
    proc = _start(clean_python, script, "--epochs", "1")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert re.search(r"^epoch 1  loss \S+  binary_accuracy", out, re.MULTILINE)
    assert "test_loss" in out


def test_exported_scripts_pass_ruff(tmp_path, monkeypatch):
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    for name in EXAMPLES:
        _export(name, tmp_path)
    for source in ("csv", "image_folder"):  # file sources copy more of engine.data
        folder = tmp_path / source
        folder.mkdir()
        project = engine.load_project(copy_example("digits_cnn", folder / "p.nnproj"))
        project.dataset = _write_file_dataset(source, folder)
        export_script(project, folder / f"model_{source}.py")

    def offline(name, config=None):
        raise engine.data.DataError("no network connection")

    monkeypatch.setattr("engine.data.download.fetch", offline)
    project = engine.load_project(copy_example("digits_cnn", tmp_path / "mnist.nnproj"))
    project.dataset = {"source": "download", "name": "mnist"}
    project.graph.set_param("n1", "shape", [1, 28, 28])
    text = export_script(project, tmp_path / "model_mnist.py").read_text()
    assert "def fetch(" in text and "t10k-images-idx3-ubyte.gz" in text  # downloads MNIST
    out = subprocess.run([ruff, "check", "--isolated", "--no-cache", "."], cwd=tmp_path,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout[-3000:]


def test_script_contains_the_apps_model_source(tmp_path):
    project, script = _export("digits_cnn", tmp_path)
    text = script.read_text()
    init = engine.generate(project.graph).source.split("    def __init__", 1)[1]
    assert "    def __init__" + init in text
    assert "# conv1 (Conv2d): N×16×8×8" in text
    assert "load_digits" in text and "import engine" not in text


def _run_in_process(script: Path, monkeypatch, *args: str) -> None:
    """Run an exported script's main() in this interpreter (no start-up cost)."""
    monkeypatch.chdir(script.parent)
    namespace = runpy.run_path(str(script), run_name="exported_script")
    namespace["main"](["--device", "cpu", *args])


def test_weights_and_predict_match_the_compiled_model(tmp_path, monkeypatch, capsys):
    path = copy_example("digits_mlp", tmp_path / "digits.nnproj")
    project = engine.load_project(path)
    torch.manual_seed(3)
    model = engine.compile_graph(project.graph).eval()
    project.graph.weights = engine.node_state(model)
    engine.save_project(project, path)
    script = export_script(project, tmp_path / "digits.py")
    from sklearn.datasets import load_digits

    raw = load_digits().data[:6].astype(np.float32)
    np.save(tmp_path / "x.npy", raw)
    _run_in_process(script, monkeypatch, "--weights", "digits.safetensors", "--predict",
                    "x.npy")
    out = capsys.readouterr().out
    printed = [int(m) for m in re.findall(r"^\s+\d+: (\d+)$", out, re.MULTILINE)]
    splits = engine.data.load_dataset(project.dataset, tmp_path, (64,), "float")
    x = engine.data.normalize_inputs(raw, splits.normalization)
    with torch.no_grad():
        expected = model(torch.as_tensor(x)).argmax(1).tolist()
    assert printed == expected


def _expected_predictions(project: engine.Project, model, x: np.ndarray) -> str:
    """What --predict prints: per Output node (a header when there are several) one line per
    input: the class, the 0/1 decision or the values."""
    from engine.export.script.plan import build_plan

    with torch.no_grad():
        outs = model(torch.as_tensor(x))
    outs = outs if isinstance(outs, tuple) else (outs,)
    lines = []
    for o, out in zip(build_plan(project, "model.py", None).outputs, outs, strict=True):
        lines += [f"{o.name}:"] if len(outs) > 1 else []
        for i, row in enumerate(out.flatten(1).tolist()):
            if o.loss == "cross_entropy":
                value = row.index(max(row))
            elif o.loss in ("mse", "mae", "huber"):
                value = [round(v, 6) for v in row]
            else:
                value = int(row[0] > (0.5 if o.loss == "bce" else 0))
            lines.append(f"  {i}: {value}")
    return "\n".join(lines)


@pytest.mark.parametrize("name", ["multitask_two_heads", "autoencoder"])
def test_predict_prints_each_outputs_predictions(name, tmp_path, monkeypatch, capsys):
    path = copy_example(name, tmp_path / f"{name}.nnproj")
    project = engine.load_project(path)
    torch.manual_seed(3)
    model = engine.compile_graph(project.graph).eval()
    project.graph.weights = engine.node_state(model)
    engine.save_project(project, path)
    script = export_script(project, tmp_path / f"{name}.py")
    from sklearn.datasets import load_digits

    raw = load_digits().data[:4].astype(np.float32)
    np.save(tmp_path / "x.npy", raw)
    _run_in_process(script, monkeypatch, "--weights", f"{name}.safetensors", "--predict",
                    "x.npy")
    splits = engine.data.load_dataset(project.dataset, tmp_path, (64,), "float")
    x = engine.data.normalize_inputs(raw, splits.normalization)
    assert capsys.readouterr().out.strip("\n") == _expected_predictions(project, model, x)


def test_weights_export_loads_into_the_scripts_model(tmp_path, monkeypatch):
    project, script = _export("two_branch_concat", tmp_path)
    torch.manual_seed(5)
    project.graph.weights = engine.node_state(engine.compile_graph(project.graph))
    export_project(project, "weights", tmp_path / "w.safetensors")
    _run_in_process(script, monkeypatch, "--weights", "w.safetensors", "--epochs", "0",
                    "--save", "state.pt")
    saved = torch.load(tmp_path / "state.pt", weights_only=True)
    model = engine.compile_graph(project.graph)
    for key, value in model.state_dict().items():
        assert torch.equal(saved[key], value), key


@pytest.mark.slow
def test_torchrun_trains_with_ddp_on_cpu(tmp_path):
    project, script = _export("xor_mlp", tmp_path)
    import socket

    with socket.socket() as sock:  # a free port: another run of this test may hold a fixed one
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(port), script.name, "--epochs", "2", "--device", "cpu",
           "--history", "h.jsonl"]
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env=_clean_env(), check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = _history(tmp_path / "h.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2]  # rank 0 alone writes
    app = _in_app(project, 2)
    # each rank takes half of every batch and DDP averages the gradients: same curve up to
    # the rounding of averaging half-batch means
    for a, s in zip(app, rows):
        assert s["loss"] == pytest.approx(a["loss"], rel=1e-3)


def _write_file_dataset(source: str, folder: Path) -> dict:
    """A small dataset of `source` in `folder/data`; returns the project's dataset config."""
    rng = np.random.default_rng(0)
    data = folder / "data"
    data.mkdir()
    if source == "image_folder":
        from PIL import Image

        for label in ("dark", "light"):
            (data / label).mkdir()
            for i in range(12):
                base = 40 if label == "dark" else 200
                pixels = (base + rng.integers(-30, 30, size=(8, 8))).astype(np.uint8)
                Image.fromarray(pixels, "L").save(data / label / f"{i}.png")
        return {"source": "image_folder", "path": "data", "image_size": [8, 8],
                "color": "L", "val_split": 0.25, "test_split": 0.0, "seed": 1}
    x = rng.normal(size=(80, 64)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    if source == "csv":
        rows = [",".join([*(f"{v:.5f}" for v in row), str(t)]) for row, t in zip(x, y)]
        header = ",".join([*(f"f{i}" for i in range(64)), "label"])
        (data / "d.csv").write_text("\n".join([header, *rows]) + "\n")
        return {"source": "csv", "path": "data/d.csv", "target": "label", "val_split": 0.2,
                "test_split": 0.1, "seed": 0}
    np.save(data / "x.npy", x)
    np.save(data / "y.npy", y)
    return {"source": "npy", "path": "data/x.npy", "y_path": "data/y.npy", "val_split": 0.2,
            "test_split": 0.1, "seed": 0}


@pytest.mark.parametrize("source", ["csv", "npy", "image_folder"])
def test_file_datasets_match_the_trainer(source, tmp_path, monkeypatch):
    """The script reads the project's data files (relative to the project folder, from a
    script written elsewhere) exactly as Studio does."""
    example = "digits_cnn" if source == "image_folder" else "digits_mlp"
    path = copy_example(example, tmp_path / "proj.nnproj")
    project = engine.load_project(path)
    project.dataset = _write_file_dataset(source, tmp_path)
    engine.save_project(project, path)
    (tmp_path / "out").mkdir()
    script = export_script(project, tmp_path / "out" / "model.py")
    _run_in_process(script, monkeypatch, "--epochs", "2", "--history", "h.jsonl")
    _assert_same_curve(_in_app(project, 2), _history(script.parent / "h.jsonl"), source)


def test_unsupported_dataset_is_a_clear_error(tmp_path):
    project = engine.load_project(copy_example("xor_mlp", tmp_path / "p.nnproj"))
    project.dataset = {"source": "synthetic", "name": "moons"}
    with pytest.raises(ExportError, match="synthetic dataset 'moons'"):
        export_script(project, tmp_path / "p.py")
    project.dataset = {}
    with pytest.raises(ExportError, match="no dataset"):
        export_script(project, tmp_path / "p.py")


def test_user_text_cannot_add_code_to_the_script(tmp_path, monkeypatch):
    """File names, CSV headers and node names reach the script's docstrings, comments and
    strings: none of them can end a string or a comment and run."""
    import ast

    marker = tmp_path / "ran"
    call = f'open({str(marker)!r}, "w")'
    data = tmp_path / 'we"""ird'
    data.mkdir()
    header = ["a", "b", f'lab\nel"""\n{call}\n"""']
    rows = [[str(i % 3), str(i), str(i % 2)] for i in range(30)]
    with open(data / 'x"""y.csv', "w", newline="", encoding="utf-8") as f:
        import csv

        csv.writer(f).writerows([header, *rows])
    path = copy_example("xor_mlp", tmp_path / "p.nnproj")
    project = engine.load_project(path)
    project.dataset = {"source": "csv", "path": 'we"""ird/x"""y.csv', "task": "binary"}
    project.graph.rename(project.graph.by_name("y").id, f'y """ {call} #')
    engine.save_project(project, path)
    text = export_script(engine.load_project(path), tmp_path / "model.py").read_text()
    calls = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id == "open"
             and any(isinstance(a, ast.Constant) and a.value == str(marker) for a in n.args)]
    assert calls == []
    monkeypatch.chdir(tmp_path)
    splits = runpy.run_path(str(tmp_path / "model.py"), run_name="exported")["load_data"]()[0]
    assert len(splits["train"][0]) + len(splits["val"][0]) + len(splits["test"][0]) == 30
    assert not marker.exists()
