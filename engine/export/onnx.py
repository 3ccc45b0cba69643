"""`--format onnx`: the compiled model as ONNX with a dynamic batch axis (extra `onnx`).

Exports with torch's dynamo-based exporter (needs `onnxscript`), falling back to the legacy
TorchScript-based exporter when that is not installed or cannot handle the model. The result is
checked with `onnx.checker` and, when onnxruntime is installed, compared with PyTorch.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_path
from ..codegen import generate
from ..graph import Graph, python_name
from .common import ExportError, as_tuple, bake_parametrizations, build_model, example_inputs

OPSET = 18
# onnxruntime (1.32 on Linux) otherwise writes a device id and a telemetry database into the
# user's ~/.cache/Microsoft on the first session: Studio writes nothing it was not asked to
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


@dataclass
class OnnxCheck:
    """Result of comparing onnxruntime with PyTorch on random inputs."""

    max_abs_diff: float
    batch_sizes: tuple[int, ...]
    exporter: str


def _names(graph: Graph) -> tuple[list[str], list[str]]:
    code = generate(graph)
    ins = [code.variables[i] for i in code.input_ids]
    taken = {*ins, *code.attrs.values()}  # torch.export trips over names shared with modules
    outs = []
    for nid in code.output_ids:
        name = python_name(graph.nodes[nid].name)
        outs.append(name if name not in taken and name not in outs else f"{name}_out{len(outs)}")
    return ins, outs


@contextlib.contextmanager
def _quiet():
    """The exporters log about optional packages (torchvision) and deprecations: hide it."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    for line in text.splitlines():
        if line.strip() and not line.startswith(("Traceback", "  ")):
            return line.strip()[:300]
    return type(exc).__name__


def _export_dynamo(model, args, ins, outs, dest: Path) -> None:
    import torch

    batch = torch.export.Dim("batch", min=1)
    program = torch.onnx.export(model, args, dynamo=True, input_names=ins, output_names=outs,
                                dynamic_shapes=tuple({0: batch} for _ in args),
                                opset_version=OPSET, external_data=False, verbose=False)
    program.save(str(dest), external_data=False)   # serialised into the file, not to bytes


def _export_legacy(model, args, ins, outs, dest: Path) -> None:
    import torch

    axes = {name: {0: "batch"} for name in [*ins, *outs]}
    torch.onnx.export(model, args, str(dest), dynamo=False, input_names=ins, output_names=outs,
                      dynamic_axes=axes, opset_version=OPSET)


EXPORTERS = ("auto", "dynamo", "legacy")


def onnx_bytes(graph: Graph, model, exporter: str = "auto") -> tuple[bytes, str]:
    """The serialized ONNX model of `model` (the compiled `graph`) and the exporter that made
    it (see write_onnx). Raises ExportError."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="studio-onnx-") as tmp:
        dest = Path(tmp) / "model.onnx"
        name = write_onnx(graph, model, dest, exporter)
        return dest.read_bytes(), name


def write_onnx(graph: Graph, model, dest: Path, exporter: str = "auto") -> str:
    """Write the ONNX model of `model` (the compiled `graph`) to the file `dest`, checked,
    and return the exporter that made it. exporter: 'dynamo' (torch.export based, needs
    onnxscript), 'legacy' (TorchScript based, faster, deprecated by PyTorch) or 'auto'
    (dynamo, then legacy if dynamo is not installed or fails). The model is written and
    checked as a file, never held as bytes and a parsed copy besides (a VGG-16's 528 MB
    would be held three times). Raises ExportError when ONNX cannot express the model."""
    if exporter not in EXPORTERS:
        raise ExportError(f"unknown ONNX exporter {exporter!r} (choose {', '.join(EXPORTERS)})")
    bake_parametrizations(model)  # weight/spectral norm: the weight they give, as a constant
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ExportError("ONNX export needs the 'onnx' extra: pip install "
                          "'nn-studio[onnx]'") from None
    args = example_inputs(graph, batch=2)
    ins, outs = _names(graph)
    errors = []
    for name, fn in (("dynamo", _export_dynamo), ("legacy", _export_legacy)):
        if exporter not in ("auto", name):
            continue
        if name == "dynamo":
            try:
                import onnxscript  # noqa: F401
            except ImportError:
                errors.append("dynamo exporter: needs onnxscript (pip install onnxscript)")
                continue
        try:
            with _quiet():
                fn(model, args, ins, outs, dest)
            check_model(dest)
            return name
        except ExportError:
            raise
        except Exception as exc:  # noqa: BLE001 (exporter failures come in many types)
            errors.append(f"{name} exporter: {_first_line(exc)}")
    raise ExportError("ONNX cannot express this model (" + "; ".join(errors) + ")")


def check_model(model: bytes | Path) -> None:
    """onnx.checker on serialized bytes or a file; raises ExportError on an invalid model."""
    import onnx

    try:
        target = str(model) if isinstance(model, Path) else onnx.load_from_string(model)
        onnx.checker.check_model(target, full_check=True)
    except Exception as exc:  # noqa: BLE001 (the checker raises several types)
        raise ExportError(f"the exported ONNX model is invalid: {_first_line(exc)}") from None


def compare_with_torch(graph: Graph, model, data: bytes | Path,
                       batch_sizes: tuple[int, ...] = (1, 3), exporter: str = "") -> OnnxCheck:
    """Run the ONNX model in onnxruntime and PyTorch on the same random inputs (several batch
    sizes, proving the batch axis is dynamic); returns the largest absolute difference."""
    import numpy as np
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()   # no second, pre-packed copy of the weights
    options.add_session_config_entry("session.disable_prepacking", "1")
    session = ort.InferenceSession(str(data) if isinstance(data, Path) else data, options,
                                   providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    worst = 0.0
    for b in batch_sizes:
        args = example_inputs(graph, batch=b, seed=b)
        with torch.no_grad():
            expected = [t.numpy() for t in as_tuple(model(*args))]
        got = session.run(None, {n: a.numpy() for n, a in zip(names, args)})
        for e, g in zip(expected, got):
            if e.shape != g.shape:
                raise ExportError(f"ONNX output shape {g.shape} differs from PyTorch's "
                                  f"{e.shape} at batch size {b}")
            worst = max(worst, float(np.max(np.abs(e - g))) if e.size else 0.0)
    return OnnxCheck(worst, tuple(batch_sizes), exporter)


def export_onnx(graph: Graph, out: str | Path, weights: dict | None = None,
                verify: bool = True, exporter: str = "auto") -> OnnxCheck | None:
    """Write the ONNX model to `out`. With `verify` (and onnxruntime installed), compare it
    with PyTorch and return the comparison. `exporter`: see onnx_bytes."""
    model = build_model(graph, weights)
    out = Path(out)
    with atomic_path(out) as tmp:   # the old file stays until the new one is checked
        exporter = write_onnx(graph, model, tmp, exporter)
    if not verify:
        return None
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    return compare_with_torch(graph, model, out, exporter=exporter)
