"""The hand-off bundle: the zip's script runs, its ONNX matches PyTorch in onnxruntime, its
weights are the run's, its HTML report is self-contained and renders the curves."""
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.examples import copy_example
from engine.export import ExportError, export_project
from engine.export.common import build_model
from engine.project import load_project, load_weights
from engine.train.checkpoint import load_checkpoint
from engine.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The xor example after a 4-epoch run, then a second run of a wider copy (a sweep's
    trial), which the bundle must not pick."""
    folder = tmp_path_factory.mktemp("bundle")
    path = copy_example("xor_mlp", folder / "xor.nnproj")
    project = load_project(path)
    project.training["epochs"] = 4
    result = Trainer(project, "cpu").fit()
    assert result.status == "completed"
    wider = load_project(path)
    wider.graph.set_param("n2", "out_features", 12)
    wider.training["epochs"] = 1
    assert Trainer(wider, "cpu").fit().status == "completed"
    return project, result.run_dir


def _unzip(zpath: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zpath) as z:
        z.extractall(dest)
    return dest / "xor-bundle"


def test_bundle_contents_weights_and_onnx(trained, tmp_path):
    project, run_dir = trained
    result = export_project(project, "bundle", tmp_path / "xor.zip", overwrite=False)
    assert result.run_dir == run_dir      # the run of this model, not the wider trial
    assert result.files == ["README.txt", "report.html", "weights.safetensors", "xor.nnproj",
                            "xor.onnx", "xor.py", "xor.safetensors"]
    out = _unzip(result.path, tmp_path / "x")
    best, _, _ = load_checkpoint(run_dir, "best")
    shipped = load_weights(out / "xor.safetensors")
    assert set(shipped) == set(best)
    for nid in best:
        for k in best[nid]:
            np.testing.assert_array_equal(shipped[nid][k], best[nid][k])
    reopened = load_project(out / "xor.nnproj")
    assert reopened.graph.to_dict() == project.graph.to_dict() and reopened.graph.weights
    model = build_model(project.graph, best)
    from safetensors.torch import load_file

    assert set(load_file(out / "weights.safetensors")) == set(model.state_dict())
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(out / "xor.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    readme = (out / "README.txt").read_text()
    assert "python xor.py --weights weights.safetensors --predict x.npy" in readme
    assert f"run {run_dir.name}" in readme


@pytest.mark.slow
def test_never_overwrites_without_force(trained, tmp_path):
    project, _ = trained
    target = tmp_path / "b.zip"
    target.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="exists"):
        export_project(project, "bundle", target, overwrite=False)
    assert target.read_bytes() == b"keep me"
    r = subprocess.run([sys.executable, "-m", "engine.cli", "export", str(project.path),
                        "--format", "bundle", "-o", str(target)], capture_output=True,
                       text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                       "OMP_NUM_THREADS": "1"}, check=False)
    assert r.returncode == 1 and "exists" in r.stderr and target.read_bytes() == b"keep me"
    r = subprocess.run([sys.executable, "-m", "engine.cli", "export", str(project.path),
                        "--format", "bundle", "-o", str(target), "--force", "--run",
                        "run-1"], capture_output=True, text=True, check=False,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                            "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert zipfile.is_zipfile(target) and "contains: README.txt" in r.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["b.zip"]     # no temp file left


@pytest.mark.slow
def test_bundled_script_trains_and_predicts_alone(trained, tmp_path, clean_python):
    project, run_dir = trained
    out = _unzip(export_project(project, "bundle", tmp_path / "xor.zip").path, tmp_path / "x")
    r = subprocess.run([str(clean_python), "xor.py", "--epochs", "1", "--device", "cpu"],
                       cwd=out, capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("epoch 1 ") and "test_binary_accuracy" in r.stdout
    x = np.array([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]], dtype=np.float32)
    np.save(out / "x.npy", x)
    r = subprocess.run([str(clean_python), "xor.py", "--weights", "weights.safetensors",
                        "--predict", "x.npy"], cwd=out, capture_output=True, text=True,
                       timeout=600, check=False)
    assert r.returncode == 0, r.stderr
    assert len([ln for ln in r.stdout.splitlines() if ln.strip()]) >= 3


def test_report_is_self_contained(trained, tmp_path):
    project, run_dir = trained
    out = _unzip(export_project(project, "bundle", tmp_path / "xor.zip").path, tmp_path / "x")
    html = (out / "report.html").read_text()
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    assert html.count('<svg class="graph"') == 1 and html.count('<svg class="chart"') >= 3
    for name in ("hidden", "tanh", "Linear", "N×8", "Confusion matrix", "Learning curves",
                 "optimizer.lr", "Metrics on the test split"):
        assert name in html
    rows = [json.loads(ln) for ln in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert f"{len(rows)}</b>" in html          # the epochs KPI
    assert "<td>same</td>" not in html and "<th>same</th>" in html   # class names


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.slow
def test_report_renders_the_curves_in_a_headless_browser(trained, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no headless browser (chromium) installed")
    project, _ = trained
    out = _unzip(export_project(project, "bundle", tmp_path / "xor.zip").path, tmp_path / "x")
    shot = tmp_path / "report.png"
    r = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--window-size=1200,1400",
                        f"--screenshot={shot}", (out / "report.html").as_uri()],
                       capture_output=True, text=True, timeout=180, check=False)
    if not shot.exists():
        pytest.skip(f"the browser took no screenshot: {r.stderr[-300:]}")
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    for colour in ((0x34, 0x78, 0xdc), (0xe6, 0x78, 0x1e)):     # train and validation
        near = (np.abs(img - np.array(colour)).sum(axis=2) < 40)
        assert near.sum() > 150, f"curve colour {colour} not drawn"
