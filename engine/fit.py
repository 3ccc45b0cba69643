"""Does the model fit its data? Checks the graph against the project's dataset before training.

`profile_dataset(config, folder)` describes a dataset cheaply enough to keep around: sample
shape and dtype, one `TargetInfo` per target (task, classes, per-sample shape) and the largest
token id. Profiles are cached by the config and the data files' size and time, and a download
dataset is never fetched for a profile (the catalogue knows its shape and classes).

`check_fit(graph, report, profile, loss)` turns mismatches into ordinary validation issues
(kind "data") that name the numbers and carry a one-parameter `Fix`:

- an Input whose shape does not hold one sample ("set shape to 4"),
- a classifier whose last layer has 10 units on a 3-class dataset ("set out_features to 3"),
- a regression or reconstruction head of the wrong width,
- token ids beyond an Embedding's vocabulary ("set num_embeddings to 42"),
- more Output nodes than the dataset has targets.

`DataFit` is the check object a `Validator` runs after every validation.
"""
from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .graph import Graph, Node
from .layers.generative import GENERATED_TYPE
from .validate import Fix, Issue, Report, label

CLASS_LOSSES = ("cross_entropy",)
MATCHING_LOSSES = ("mse", "mae", "huber", "bce_with_logits", "bce", "multilabel_bce", "hinge")
PATH_KEYS = ("path", "y_path", "labels_path", "test_path", "test_labels_path")
CACHE_SIZE = 16


@dataclass(frozen=True)
class TargetInfo:
    """One training target: task ('classification', 'binary', 'regression', ...), number of
    classes when known, per-sample shape, and whether its values are floats (one-hot)."""

    task: str
    num_classes: int | None
    shape: tuple[int, ...]
    float_values: bool = False


@dataclass(frozen=True)
class DataProfile:
    """What the checks need to know about a dataset. `error` says why it could not be read."""

    name: str
    sample_shape: tuple[int, ...] = ()
    input_dtype: str = "float"
    integral: bool = False               # every input value is a whole number
    image_shape: tuple[int, ...] | None = None
    targets: tuple[TargetInfo, ...] = ()
    max_token: int | None = None         # largest input value, for integer token ids
    error: str | None = None

    @property
    def sample_size(self) -> int:
        return math.prod(self.sample_shape)


# -- profiles ---------------------------------------------------------------------------------

def profile_from_splits(splits, image_shape=None) -> DataProfile:
    """The profile of loaded `DataSplits`."""
    import numpy as np

    x = splits.train.x
    shape = tuple(int(d) for d in x.shape[1:])
    if not isinstance(x, np.ndarray):   # streamed from disk: judge by its first samples
        x = x[:256]
    integer = np.issubdtype(x.dtype, np.integer)
    integral = bool(integer or (x.size and np.all(np.isfinite(x)) and np.all(np.round(x) == x)))
    targets = []
    for i, y in enumerate(splits.train.y):
        y = np.asarray(y)
        targets.append(TargetInfo(
            splits.tasks[i] if i < len(splits.tasks) else "regression",
            splits.num_classes[i] if i < len(splits.num_classes) else None,
            tuple(int(d) for d in y.shape[1:]), bool(np.issubdtype(y.dtype, np.floating))))
    max_token = int(x.max()) if integer and x.size else None
    return DataProfile(splits.name or "", shape,
                       "long" if integer else "float", integral,
                       tuple(image_shape) if image_shape else None, tuple(targets), max_token)


def _catalogue_profile(config: dict) -> DataProfile:
    """A download dataset's profile from the catalogue (no file is read or fetched)."""
    from .data import CATALOGUE

    info = CATALOGUE[config["name"]]
    shape = tuple(info.sample_shape or ())
    if config.get("target") == "input":
        target = TargetInfo("reconstruction", None, shape, True)
    else:
        target = TargetInfo(info.task, info.num_classes, (), bool(config.get("one_hot")))
    return DataProfile(info.name, shape, info.input_dtype, info.input_dtype == "long",
                       info.image_shape, (target,))


def _file_stamp(config: dict, folder: Path | None) -> list:
    """Size and modification time of the files a config names (a changed file re-profiles)."""
    stamps = []
    for key in PATH_KEYS:
        value = config.get(key)
        if not isinstance(value, str) or not value:
            continue
        p = Path(value).expanduser()
        if not p.is_absolute() and folder is not None:
            p = Path(folder) / p
        try:
            st = p.stat()
            stamps.append([key, st.st_size, st.st_mtime_ns])
            if p.is_dir():
                with os.scandir(p) as entries:
                    stamps.extend([e.name, e.stat().st_mtime_ns] for e in entries
                                  if e.is_dir())
        except OSError:
            stamps.append([key, None])
    return stamps


_cache: dict[str, DataProfile] = {}
_lock = threading.Lock()


def profile_key(config: dict, folder: Path | None) -> str:
    """The cache key of a dataset config in a project folder (includes file stamps)."""
    return json.dumps([config, str(folder or ""), _file_stamp(config, folder)],
                      sort_keys=True, default=str)


def profile_dataset(config: dict | None, folder: Path | None = None) -> DataProfile | None:
    """The profile of a project's dataset (None when no dataset is configured). A dataset
    that cannot be loaded gives a profile whose `error` says why; this never raises."""
    if not isinstance(config, dict) or not (config.get("name") or config.get("source")):
        return None
    key = profile_key(config, folder)
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    profile = _load_profile(config, folder)
    with _lock:
        if len(_cache) >= CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = profile
    return profile


def _load_profile(config: dict, folder: Path | None) -> DataProfile:
    from .data import CATALOGUE, load_dataset
    from .data.loader import dataset_label

    name = dataset_label(config)
    info = CATALOGUE.get(config.get("name"))
    try:
        if info is not None and info.source == "download" and \
                config.get("source", "download") == "download":
            return _catalogue_profile(config)
        splits = load_dataset(config, folder)
    except Exception as exc:  # noqa: BLE001 - any failure is reported, never raised
        return DataProfile(name, error=str(exc) or type(exc).__name__)
    return profile_from_splits(splits, info.image_shape if info else None)


def suggest_input_shape(profile: DataProfile, current: list | tuple | None) -> list[int]:
    """The Input shape for the data: the sample shape, or the dataset's image shape (C,H,W)
    when the Input is image-shaped (rank 3) and the sizes agree."""
    shape = list(profile.sample_shape)
    img = profile.image_shape
    if img and current is not None and len(current) == 3 and \
            math.prod(img) == profile.sample_size:
        return list(img)
    return shape


# -- checks -----------------------------------------------------------------------------------

def check_fit(graph: Graph, report: Report, profile: DataProfile | None,
              loss: Any = None) -> list[Issue]:
    """Issues where the graph does not fit the data profile. `loss` is the project's
    training.loss setting (None: each target's default)."""
    if profile is None:
        return []
    if profile.error:
        return [Issue("data", f"the dataset '{profile.name}' cannot be checked against the "
                      f"model: {profile.error}", severity="warning")]
    gan = next((n for n in graph.nodes.values() if n.type == GENERATED_TYPE), None)
    if gan is not None:  # a GAN's input is noise; its data are the real samples
        return _check_gan(report, gan, profile)
    issues = _check_inputs(graph, profile)
    issues += _check_embeddings(graph, report, profile)
    issues += _check_outputs(graph, report, profile, loss)
    return issues


def _check_gan(report: Report, node: Node, profile: DataProfile) -> list[Issue]:
    """The generator's samples must be shaped like the dataset's (the discriminator sees
    both)."""
    made = report.out_types.get(node.id)
    if not made or made[0].numel == profile.sample_size:
        return []
    return [Issue("data", f"{label(node)}: the generator makes samples of {made[0]} but the "
                  f"dataset '{profile.name}' has samples of {_tuple(profile.sample_shape)}: the "
                  "discriminator sees both, so they must match", node.id)]


def _check_inputs(graph: Graph, profile: DataProfile) -> list[Issue]:
    inputs = graph.inputs()
    if len(inputs) != 1:
        return []  # the trainer names this itself; several inputs cannot take one dataset
    node = inputs[0]
    shape = list(node.params.get("shape", []))
    out: list[Issue] = []
    if math.prod(shape) != profile.sample_size:
        want = suggest_input_shape(profile, shape)
        out.append(Issue(
            "data", f"{label(node)} has shape {_tuple(shape)} = {math.prod(shape)} values per "
            f"sample, but the samples of dataset '{profile.name}' have shape "
            f"{_tuple(profile.sample_shape)} = {profile.sample_size} values: set shape to "
            f"{_tuple(want)}", node.id,
            fix=Fix(node.id, "shape", tuple(want), f"set shape to {_tuple(want)}")))
    if node.params.get("dtype") == "long" and not profile.integral:
        out.append(Issue(
            "data", f"{label(node)} expects integer token ids (dtype long), but dataset "
            f"'{profile.name}' has fractional values: set dtype to float", node.id,
            fix=Fix(node.id, "dtype", "float", "set dtype to float")))
    return out


def _check_embeddings(graph: Graph, report: Report, profile: DataProfile) -> list[Issue]:
    if profile.max_token is None:
        return []
    out = []
    for node in graph.nodes.values():
        ins = report.in_types.get(node.id)
        if node.type != "core.Embedding" or not ins or ins[0].dtype != "long":
            continue
        size = int(node.params.get("num_embeddings", 0))
        if profile.max_token >= size:
            need = profile.max_token + 1
            out.append(Issue(
                "data", f"{label(node)}: the token ids of dataset '{profile.name}' go up to "
                f"{profile.max_token}, but num_embeddings is {size} (ids 0 to {size - 1}): "
                f"set num_embeddings to {need}", node.id,
                fix=Fix(node.id, "num_embeddings", need, f"set num_embeddings to {need}")))
    return out


def output_ids(graph: Graph, report: Report) -> list[str]:
    """Output nodes in the order the compiled model returns them (and targets are matched)."""
    return [nid for nid in report.order if graph.nodes[nid].spec.role == "output"]


def _losses(loss: Any, profile: DataProfile, n: int) -> list[str] | None:
    from .train.config import ConfigError, losses_for

    try:
        return losses_for({"loss": loss}, [t.task for t in profile.targets], n)
    except ConfigError:
        return None  # the settings form reports a loss list of the wrong length


def _check_outputs(graph: Graph, report: Report, profile: DataProfile,
                   loss: Any) -> list[Issue]:
    outs = output_ids(graph, report)
    if not outs:
        return []
    losses = _losses(loss, profile, len(outs))
    if losses is None or "cd" in losses:
        return []  # an RBM reconstructs its input by contrastive divergence
    if len(profile.targets) < len(outs):
        return [Issue("data", f"the model has {len(outs)} Output nodes but dataset "
                      f"'{profile.name}' provides {len(profile.targets)} target(s): choose "
                      "one target per Output in the dataset settings")]
    issues = []
    for nid, loss_name, target in zip(outs, losses, profile.targets):
        ins = report.in_types.get(nid)
        if ins:
            issue = _check_output(graph, report, graph.nodes[nid], ins[0].shape, loss_name,
                                  target, profile.name)
            if issue is not None:
                issues.append(issue)
    return issues


def _check_output(graph: Graph, report: Report, out: Node, got: tuple[int, ...], loss: str,
                  target: TargetInfo, data: str) -> Issue | None:
    classes = target.num_classes if target.task in ("classification", "binary") else None
    multiclass_hinge = loss == "hinge" and len(got) == 1 and got[0] > 1 and classes
    labels_only = not target.float_values or target.task == "binary"  # not one-hot
    if (loss in CLASS_LOSSES or multiclass_hinge) and labels_only:
        if not classes:
            return None
        labels = target.shape if target.task != "binary" else target.shape[:-1] \
            if target.shape[-1:] == (1,) else target.shape
        want = (classes, *labels)
        what = f"dataset '{data}' has {classes} classes"
    elif loss in CLASS_LOSSES or loss in MATCHING_LOSSES:
        want = target.shape
        n = f"{math.prod(want)} value{'s' * (math.prod(want) != 1)} per sample"
        what = {"reconstruction": f"the reconstruction target (the input) has {n}",
                "regression": f"the targets of dataset '{data}' have {n}"}.get(
            target.task, f"the {target.task} targets of dataset '{data}' have {n}")
        if math.prod(got) == math.prod(want):
            return None  # the trainer reshapes targets to the output
    else:
        return None
    if tuple(got) == tuple(want):
        return None
    return _mismatch(graph, report, out, got, want, what, loss)


def _mismatch(graph: Graph, report: Report, out: Node, got, want, what: str,
              loss: str) -> Issue:
    width = math.prod(want) if len(want) <= 1 else None
    head = _width_node(graph, report, out) if len(got) == 1 and width else None
    if head is not None:
        node, param = head
        return Issue("data", f"{label(node)} gives {got[0]} value{'s' * (got[0] != 1)} per "
                     f"sample to Output '{out.name}', but {what}: set {param} to {width}",
                     node.id, fix=Fix(node.id, param, width, f"set {param} to {width}"))
    shown = "×".join(["N", *map(str, want)])
    return Issue("data", f"Output '{out.name}' receives {'×'.join(['N', *map(str, got)])}, "
                 f"but {what}: the '{loss}' loss needs {shown}", out.id)


def _width_node(graph: Graph, report: Report, out: Node) -> tuple[Node, str] | None:
    """The layer whose parameter sets the width reaching `out` (a Linear's out_features),
    looking through layers that keep the shape (activations, dropout, normalization)."""
    edge = graph.edge_into(out.id, "in")
    seen = set()
    while edge is not None and edge.src not in seen:
        seen.add(edge.src)
        node = graph.nodes[edge.src]
        if node.type == "core.Linear":
            return node, "out_features"
        ins, outs = report.in_types.get(node.id), report.out_types.get(node.id)
        ports = node.input_ports()
        if len(ports) != 1 or not ins or not outs or len(outs) != 1 or ins[0] != outs[0]:
            return None
        edge = graph.edge_into(node.id, ports[0])
    return None


def _tuple(shape) -> str:
    shape = list(shape)
    return f"({shape[0]},)" if len(shape) == 1 else f"({', '.join(map(str, shape))})"


class DataFit:
    """A Validator check: `DataFit(profile, loss)`; change `profile`/`loss` and re-validate."""

    def __init__(self, profile: DataProfile | None = None, loss: Any = None):
        self.profile, self.loss = profile, loss

    def __call__(self, graph: Graph, report: Report) -> list[Issue]:
        return check_fit(graph, report, self.profile, self.loss)


def fit_issues(project) -> list[Issue]:
    """The data issues of a project (loads its dataset profile; for the command line)."""
    from .validate import validate

    profile = profile_dataset(project.dataset, project.folder)
    return check_fit(project.graph, validate(project.graph), profile,
                     (project.training or {}).get("loss"))


__all__ = ["DataFit", "DataProfile", "TargetInfo", "check_fit", "fit_issues", "output_ids",
           "profile_dataset", "profile_from_splits", "profile_key", "suggest_input_shape"]
