"""Helpers shared by the exporters: the compiled model with its weights, example inputs."""
from __future__ import annotations

from pathlib import Path

from ..compile import compile_graph
from ..graph import Graph
from ..guard.text import quote
from ..project import Project, ProjectError, load_weights
from ..train.run_folder import weights_file
from ..validate import validate


class ExportError(ValueError):
    """An export could not be produced; the message says which node or format is to blame."""


def run_weights_path(project: Project, run: str) -> Path:
    """The safetensors file of a training run: `run` is a file, a run folder, or the name of a
    folder in the project's runs directory (best weights preferred over the last ones)."""
    candidates = [Path(run)]
    if project.path is not None and project.runs_dir() / run != Path(run):
        candidates.append(project.runs_dir() / run)
    for cand in candidates:
        if cand.is_file():
            return cand
        if cand.is_dir():
            found = weights_file(cand)  # a run folder: its best, else its last weights
            if found is not None:
                return found
            found = sorted(cand.glob("*.safetensors"))[:1]  # its own files (never a tree)
            if found:
                return found[0]
    raise ExportError(f"run {quote(run)}: no weights (.safetensors) found in "
                      + " or ".join(str(c) for c in candidates))


def project_weights(project: Project, run: str | None = None) -> dict:
    """Per-node weights to export: those of `run` if given, else the project's own."""
    if run is None:
        return project.graph.weights
    path = run_weights_path(project, run)
    try:
        return load_weights(path, project.graph)
    except ProjectError as exc:
        raise ExportError(str(exc)) from None


def build_model(graph: Graph, weights: dict | None = None):
    """The graph compiled to an nn.Module in eval mode, with `weights` (or the graph's) loaded.
    When the weights hold every tensor of the model, the model is built on the meta device
    and the weights' arrays become its tensors, shared, not copied: a VGG-16 exports with
    one copy of its weights in memory instead of three (the arrays, the initialised model,
    the loaded model). The exporters only read the tensors."""
    from ..compile import apply_weights

    weights = graph.weights if weights is None else weights
    if weights:
        model = _sharing_weights(graph, weights)
        if model is not None:
            return model.eval()
    model = compile_graph(graph, load_weights=False)
    if weights:
        apply_weights(model, weights)
    return model.eval()


def _sharing_weights(graph: Graph, weights: dict):
    """The model built on the meta device with `weights` assigned; None when some tensor
    would stay without data (weights missing for a node, a buffer made at construction)."""
    import torch

    from ..compile import apply_weights

    try:
        with torch.device("meta"):
            model = compile_graph(graph, load_weights=False)
    except Exception:  # noqa: BLE001 - a layer that cannot be built without data: as usual
        return None
    apply_weights(model, weights, assign=True)   # a misfit raises WeightsError, as usual
    for module in model.modules():
        tensors = [*module.parameters(recurse=False), *module.buffers(recurse=False),
                   *(v for v in vars(module).values() if isinstance(v, torch.Tensor))]
        if any(t.is_meta for t in tensors):
            return None
    return model


def bake_parametrizations(model):
    """Replace each weight_norm / spectral_norm parametrization by the weight it gives now
    (in eval mode: no power iteration), as deployment wants it: ONNX has no operator for
    spectral norm's vdot, and the baked weight computes the same outputs."""
    from torch.nn.utils import parametrize

    for module in model.modules():
        if parametrize.is_parametrized(module):
            for name in list(module.parametrizations):
                parametrize.remove_parametrizations(module, name, leave_parametrized=True)
    return model


def example_inputs(graph: Graph, batch: int = 2, seed: int = 0) -> tuple:
    """Random inputs, one per Input node in the model's argument order (ids are valid for any
    Embedding: token inputs are 0 or 1)."""
    import torch

    report = validate(graph)
    check_activation_memory(report, batch)
    gen = torch.Generator().manual_seed(seed)
    from ..codegen import generate

    out = []
    for nid in generate(graph, report).input_ids:
        t = report.out_types[nid][0]
        if t.dtype == "long":
            out.append(torch.randint(0, 2, (batch, *t.shape), generator=gen))
        else:
            out.append(torch.randn((batch, *t.shape), generator=gen))
    return tuple(out)


def check_activation_memory(report, batch: int) -> None:
    """Refuse to run the model on an example batch whose activations would not fit the
    memory budget (an Input of shape [1e9] would allocate gigabytes first)."""
    from ..guard.files import mb, memory_budget_mb

    need = batch * 4 * sum(t.numel for types in report.out_types.values() for t in types)
    budget = memory_budget_mb() * 2**20
    if need > budget:
        raise ExportError(f"running the model on an example batch of {batch} needs "
                          f"{mb(need)} of activations, more than the memory budget of "
                          f"{mb(budget)} ($STUDIO_MEMORY_BUDGET_MB)")


def as_tuple(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)
