"""`--format bundle`: one zip to hand a model off.

    <name>-bundle/
      README.txt            what each file is and how to use it
      <name>.py             the standalone training/prediction script
      <name>.onnx           the model for onnxruntime (when ONNX can express it)
      weights.safetensors   the state dict (PyTorch names) of the chosen weights
      <name>.nnproj         the project (+ <name>.safetensors: its weights, for Studio)
      report.html           graph, layers, settings, learning curves, confusion matrix,
                            metrics of the chosen run
The zip is written next to its final name and renamed into place; an existing file is kept
unless `overwrite`.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..project import Project, dumps_project, load_weights, save_weights
from .common import ExportError

README = """{name}: a model handed off from Studio
{rule}

{name}.py
    Standalone PyTorch script (needs torch and numpy{extra}).
    Train and evaluate:  python {name}.py --epochs N
    Predict:             python {name}.py --weights weights.safetensors --predict x.npy
    (a dataset read from files: put its files beside the script, at the same paths)
{onnx_line}
weights.safetensors
    The trained weights as a PyTorch state dict:
    model.load_state_dict(safetensors.torch.load_file("weights.safetensors"))

{name}.nnproj{project_weights}
    The Studio project: studio {name}.nnproj

report.html
    The report: the graph, layers, settings, learning curves, confusion matrix, metrics.

Weights: {weights}.
"""


@dataclass
class BundleResult:
    path: Path
    files: list[str] = field(default_factory=list)
    run_dir: Path | None = None
    notes: list[str] = field(default_factory=list)


def _run_dir(project: Project, run: str | None) -> Path | None:
    from ..train.run_folder import find_run
    from .report import latest_run

    if run is None:
        return latest_run(project)
    try:
        return find_run(project.runs_dir(), run)
    except FileNotFoundError as exc:
        raise ExportError(str(exc)) from None


def _weights(project: Project, run_dir: Path | None) -> dict:
    if run_dir is None:
        return project.graph.weights
    from ..train.run_folder import CheckpointError, load_checkpoint

    try:
        weights, _, _ = load_checkpoint(run_dir, "best")
    except (FileNotFoundError, CheckpointError) as exc:
        raise ExportError(f"run {run_dir.name}: {exc}") from None
    return {nid: t for nid, t in weights.items() if nid in project.graph.nodes}


def export_bundle(project: Project, out: str | Path, run: str | None = None,
                  overwrite: bool = False) -> BundleResult:
    """Write the hand-off zip of `project` with the weights of `run` (a run name, 'last' or
    a folder; default: the newest run with a best checkpoint, else the project's weights)."""
    from .onnx import onnx_bytes
    from .report import gather, render_html
    from .script import script_source
    from .weights import state_dict_tensors

    out = Path(out)
    if out.exists() and not overwrite:
        raise ExportError(f"{out} exists: choose another name or overwrite it (--force)")
    run_dir = _run_dir(project, run)
    weights = _weights(project, run_dir)
    name = _stem(project)
    files: dict[str, bytes] = {}
    notes: list[str] = []
    # data paths in the script are relative to the script (file datasets: put the data beside)
    files[f"{name}.py"] = script_source(project, "weights.safetensors",
                                        str(project.folder / f"{name}.py")).encode("utf-8")
    from safetensors.torch import save

    files["weights.safetensors"] = save(state_dict_tensors(project.graph, weights),
                                        metadata={"format": "pt", "producer": "studio"})
    checked = "onnx.checker"
    try:
        from .common import build_model

        model = build_model(project.graph, weights)
        data, exporter = onnx_bytes(project.graph, model)   # checked
        files[f"{name}.onnx"] = data
        checked += _runtime_check(project, model, data, exporter)
    except ExportError as exc:
        notes.append(f"No ONNX file: {exc}")
    record = None   # the shipped project names the shipped weights (a checksum-matched pair)
    if weights:
        files[f"{name}.safetensors"] = _node_weights_bytes(weights)
        record = {"sha256": hashlib.sha256(files[f"{name}.safetensors"]).hexdigest()}
    files[f"{name}.nnproj"] = dumps_project(_without_path(project), record).encode("utf-8")
    report = gather(project, run_dir, weights)
    report.notes += notes
    report.files = sorted([*files, "README.txt", "report.html"])
    files["report.html"] = render_html(report).encode("utf-8")
    extra = _script_needs(project)
    onnx_line = (f"\n{name}.onnx\n    The model in ONNX (dynamic batch axis), checked with "
                 f"{checked}.\n") if f"{name}.onnx" in files else \
        f"\n(no ONNX file: {notes[0]})\n"
    files["README.txt"] = README.format(
        name=name, rule="=" * (len(name) + 33), extra=extra, onnx_line=onnx_line,
        project_weights=f" (+ {name}.safetensors, its weights)" if weights else "",
        weights=report.weights_from).encode("utf-8")
    _write_zip(out, name, files)
    return BundleResult(out, sorted(files), run_dir, notes)


def _runtime_check(project: Project, model, data: bytes, exporter: str) -> str:
    """' and onnxruntime (max |diff| ...)' when onnxruntime is installed; raises ExportError
    when the ONNX model disagrees with PyTorch."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return ""
    from .onnx import compare_with_torch

    check = compare_with_torch(project.graph, model, data, exporter=exporter)
    if check.max_abs_diff > 1e-3:
        raise ExportError(f"onnxruntime differs from PyTorch by {check.max_abs_diff:.2g}")
    return f" and onnxruntime (max |diff| from PyTorch {check.max_abs_diff:.1e})"


def _stem(project: Project) -> str:
    from ..graph import python_name

    return python_name(project.path.stem if project.path else project.name)


def _without_path(project: Project) -> Project:
    from ..sweep.space import copy_project

    copy = copy_project(project)
    copy.graph.weights = {}
    return copy


def _node_weights_bytes(weights: dict) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.safetensors"
        save_weights(path, weights)
        load_weights(path)   # a file the loader refuses is never shipped
        return path.read_bytes()


def _script_needs(project: Project) -> str:
    source = (project.dataset or {}).get("source")
    if source in ("bundled", "synthetic", None):
        return ", scikit-learn for the bundled datasets"
    if source == "images":
        return ", Pillow for image folders"
    return ""


def _write_zip(out: Path, name: str, files: dict[str, bytes]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for fname in sorted(files):
            z.writestr(f"{name}-bundle/{fname}", files[fname])
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buf.getvalue())
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
