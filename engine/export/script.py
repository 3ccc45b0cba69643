"""`--format python`: one standalone training script (torch + numpy + the dataset's extra).

The model class is the source `engine.codegen.generate` makes for the app (what you train is
what you export). Data preparation, losses, metrics, optimizers and schedules are not written a
second time: the engine's own code is copied into the script (script_sources.py), so the
script reproduces the in-app loss curve (same seed protocol, see engine/train/config.py).
"""
from __future__ import annotations

import json
from pathlib import Path

from ..codegen import generate
from ..graph import python_name
from ..project import Project
from ..validate import validate
from .common import ExportError
from .script_sources import (
    check_unique_names,
    constant,
    data_sources,
    import_block,
    training_sources,
)
from .script_template import HEADER, MAIN, section


def _dataset_summary(project: Project, in_type):
    """The project's DataSplits (tasks, class names, has a validation split). A dataset that
    is downloaded and not yet cached is described from the catalogue instead: the script
    downloads it itself."""
    from types import SimpleNamespace

    from ..data import DataError, dataset_info, load_dataset

    try:
        return load_dataset(project.dataset, project.folder, tuple(in_type.shape),
                            in_type.dtype)
    except DataError:
        info = dataset_info(project.dataset.get("name"))
        if project.dataset.get("source") != "download" or info is None:
            raise
        return SimpleNamespace(tasks=[info.task], class_names=[None],
                               val=project.dataset.get("val_split", 0.2) > 0)


def _settings(project: Project, code, report) -> dict:
    """Everything the script needs to know about the project, as plain JSON-able values."""
    from ..train.config import losses_for, metrics_for, resolve_config

    graph = project.graph
    if len(code.input_ids) != 1:
        raise ExportError(f"the training script needs exactly one Input node, the graph has "
                          f"{len(code.input_ids)}")
    in_type = report.out_types[code.input_ids[0]][0]
    cfg = resolve_config(project.training)
    splits = _dataset_summary(project, in_type)
    losses = losses_for(cfg, splits.tasks, len(code.output_ids))
    rbm_attr = next((code.attrs[nid] for nid in report.order
                     if graph.nodes[nid].type == "rbm.RBM"), None)
    if "cd" in losses and rbm_attr is None:
        raise ExportError("training.loss 'cd' needs an RBM node in the graph")
    by_name = {n.name: nid for nid, n in graph.nodes.items()}
    penalties = []
    for kind in ("l1", "l2"):
        for name, coef in cfg["regularization"].get(kind, {}).items():
            if coef:
                if by_name.get(name) not in code.attrs:
                    raise ExportError(f"training.regularization.{kind}: no node named "
                                      f"{name!r} with weights")
                penalties.append([kind, float(coef), code.attrs[by_name[name]]])
    es = cfg["early_stopping"]
    return {
        "input_shape": list(in_type.shape), "input_dtype": in_type.dtype,
        "out_shapes": [list(report.in_types[o][0].shape) for o in code.output_ids],
        "output_names": [graph.nodes[o].name for o in code.output_ids],
        "loss_weights": [float(graph.nodes[o].params.get("loss_weight", 1.0))
                         for o in code.output_ids],
        "losses": losses, "metrics": metrics_for(cfg, losses),
        "class_names": splits.class_names, "rbm_attr": rbm_attr if "cd" in losses else None,
        "frozen": [code.attrs[nid] for nid in code.attrs if not graph.nodes[nid].trainable],
        "penalties": penalties,
        "monitor": es["monitor"] if es else ("val_loss" if splits.val else "loss"),
        "config": {k: cfg[k] for k in ("epochs", "batch_size", "seed", "device", "optimizer",
                                       "schedule", "top_k", "early_stopping", "grad_clip",
                                       "cd_k")},
        "node_attrs": dict(code.attrs),
    }


# -- the script ---------------------------------------------------------------------------------

def _model_source(code) -> str:
    """The generated module without its import lines (the script imports at the top)."""
    lines = code.source.splitlines()
    body = [ln for ln in lines if not ln.startswith(("import ", "from "))]
    return "\n".join(body).strip() + "\n"


def script_source(project: Project, weights_hint: str | None = None,
                  filename: str = "model.py") -> str:
    """The text of the standalone training script for `project`. Raises ExportError."""
    graph = project.graph
    report = validate(graph)
    code = generate(graph, report, docstring=f"{_one_line(project.name)}, exported from Studio.")
    if not project.dataset:
        raise ExportError("the project has no dataset: choose one (the training script loads "
                          "it) before exporting a Python script")
    data_blocks, extra, data_imports = data_sources(project.dataset,
                                                     _data_folder(project, filename))
    s = _settings(project, code, report)
    train_blocks, train_imports = training_sources()
    model = _model_source(code)
    needs = "torch, numpy" + (f" and {extra}" if extra else "")
    pip = "torch numpy" + (f" {extra}" if extra else "")
    stem = project.path.stem if project.path else python_name(project.name)
    weights_line = f"--weights {weights_hint}" if weights_hint else f"--weights {stem}.safetensors"
    header = HEADER.format(name=_docstring_text(project.name), needs=_docstring_text(needs),
                           pip=_docstring_text(pip), weights=_docstring_text(weights_line),
                           file=_docstring_text(Path(filename).name))
    constants = "".join([
        constant("DATASET", json.loads(json.dumps(project.dataset))),
        f"INPUT_SHAPE = {tuple(s['input_shape'])!r}\n",
        constant("INPUT_DTYPE", s["input_dtype"]),
        constant("OUTPUT_NAMES", s["output_names"]),
        constant("OUT_SHAPES", [tuple(x) for x in s["out_shapes"]]),
        constant("LOSSES", s["losses"]),
        constant("LOSS_WEIGHTS", s["loss_weights"]),
        constant("METRICS", s["metrics"]),
        constant("CLASS_NAMES", s["class_names"]),
        constant("MONITOR", s["monitor"]),
        constant("FROZEN", s["frozen"]),
        constant("PENALTIES", [tuple(p) for p in s["penalties"]]),
        constant("RBM_ATTR", s["rbm_attr"]),
        constant("NODE_ATTRS", s["node_attrs"]),
        constant("CONFIG", json.loads(json.dumps(s["config"]))),
    ])
    imports = import_block(model, data_imports + train_imports)
    parts = [header, imports, "\n", section("Model"), "\n", model, "\n\n",
             section("Settings (from the project file)"), constants, "\n\n",
             section("Data (the same code Studio uses)"),
             "\n\n".join(data_blocks), "\n\n",
             section("Losses, metrics, optimizer, schedule (the same code Studio uses)"),
             "\n\n".join(train_blocks), "\n\n", MAIN]
    text = "".join(parts)
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    check_unique_names(text)
    return text


def _one_line(text: str) -> str:
    """User text with control, line-break and lone surrogate characters made spaces."""
    import unicodedata

    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") else c
                   for c in str(text))


def _docstring_text(text: str) -> str:
    """User text (project name, file names) made inert inside the script's docstring: one
    line, backslashes and quotes escaped, so it can neither end the docstring nor form an
    escape sequence."""
    return _one_line(text).replace("\\", "\\\\").replace('"', '\\"')


def export_script(project: Project, out: str | Path, weights_hint: str | None = None) -> Path:
    """Write the standalone training script for `project` to `out`."""
    from ..project import atomic_write

    out = Path(out)
    atomic_write(out, script_source(project, weights_hint, str(out)).encode("utf-8"))
    return out


def _data_folder(project: Project, filename: str) -> str:
    """The project folder relative to where the script is written (data paths resolve there)."""
    import os

    if project.path is None:
        return "."
    out_dir = Path(filename).resolve().parent
    return Path(os.path.relpath(project.folder.resolve(), out_dir)).as_posix()
