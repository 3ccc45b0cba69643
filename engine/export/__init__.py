"""Export a project: a standalone Python training script, ONNX, TorchScript, weights, or a
hand-off bundle (one zip with all of them, the project and an HTML report).

    export_project(project, "python", "model.py")

Importing this package does not import torch; each format's module imports it when used.
"""
from __future__ import annotations

from pathlib import Path

from ..guard.text import quote
from ..project import Project
from .common import ExportError

FORMATS = ("python", "onnx", "torchscript", "weights", "bundle")
SUFFIXES = {"python": ".py", "onnx": ".onnx", "torchscript": ".pt", "weights": ".safetensors",
            "bundle": ".zip"}


def export_project(project: Project, fmt: str, out: str | Path, run: str | None = None,
                   overwrite: bool = True):
    """Write `project` in format `fmt` to `out`. `run` picks a training run's weights (a run
    name in the project's runs folder, a run folder or a .safetensors file); by default the
    project's own weights are used, if any. Returns what the format's exporter returns
    (the ONNX check for 'onnx', a BundleResult for 'bundle', the path otherwise). A bundle
    never replaces an existing file unless `overwrite`. Raises ExportError."""
    from .common import project_weights

    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {quote(fmt)} (choose from {', '.join(FORMATS)})")
    if fmt == "python":
        import os

        from .common import run_weights_path
        from .script import export_script

        hint = None
        if run is not None:
            found = run_weights_path(project, run).resolve()
            hint = os.path.relpath(found, Path(out).resolve().parent)
        return export_script(project, out, weights_hint=hint)
    if fmt == "bundle":
        from .bundle import export_bundle
        return export_bundle(project, out, run, overwrite=overwrite)
    weights = project_weights(project, run)
    if fmt == "onnx":
        from .onnx import export_onnx
        return export_onnx(project.graph, out, weights)
    if fmt == "torchscript":
        from .torchscript import export_torchscript
        return export_torchscript(project.graph, out, weights)
    from .weights import export_weights
    return export_weights(project.graph, out, weights)


__all__ = ["FORMATS", "SUFFIXES", "ExportError", "export_project"]
