"""`--format python`: one standalone training script (torch + numpy + the dataset's extra).

The model class is the source `engine.codegen.generate` makes for the app (what you train is
what you export). Data preparation, losses, metrics, optimizers and schedules are not written a
second time: the engine's own functions are copied into the script with `inspect.getsource`,
so the script reproduces the in-app loss curve (same seed protocol, see engine/train/config.py).
"""
from __future__ import annotations

import inspect
import json
import re
import textwrap
from pathlib import Path

from ..codegen import generate
from ..graph import python_name
from ..project import Project
from ..validate import validate
from .common import ExportError

SUPPORTED_SYNTHETIC = ("xor", "spirals", "sine", "ratings", "text")
FILE_SOURCES = ("csv", "npy", "npz", "idx", "image_folder")


# lint findings in copied engine code that are harmless in the script: pattern -> rule code
_NOQA = {"int(round(": "RUF046"}


_LOCAL_RELATIVE_IMPORT = re.compile(r"^[ \t]+from \.[\w.]* import [^\n(]*\n", re.MULTILINE)


def _without_relative_imports(text: str) -> str:
    """Drop function-level `from .module import name` lines: the script defines those names
    at its top level (the modules they come from are copied in too)."""
    return _LOCAL_RELATIVE_IMPORT.sub("", text)


def _source(obj) -> str:
    """The source of an engine function or class, ready to paste at the script's top level."""
    text = _without_relative_imports(textwrap.dedent(inspect.getsource(obj)))
    lines = text.rstrip().splitlines()
    for i, line in enumerate(lines):
        codes = [code for pattern, code in _NOQA.items() if pattern in line]
        if codes and "# noqa" not in line:
            lines[i] = f"{line}  # noqa: {', '.join(codes)}"
    return "\n".join(lines) + "\n"


def _module_body(module, renames: dict[str, str] | None = None, skip: tuple = ()
                 ) -> tuple[list[str], list[str]]:
    """(statements, import lines) of a module: every top-level statement except its docstring,
    its imports (returned separately, for the script's import block; relative ones dropped)
    and the definitions named in `skip`; names in `renames` are renamed (clashes)."""
    import ast

    text = _without_relative_imports(inspect.getsource(module))
    for old, new in (renames or {}).items():
        text = re.sub(rf"\b{old}\b", new, text)
    blocks, imports = [], []
    lines = text.splitlines()
    for i, node in enumerate(ast.parse(text).body):
        if isinstance(node, ast.Import):
            imports += [f"import {a.name}" + (f" as {a.asname}" if a.asname else "")
                        for a in node.names]
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module != "__future__":
                imports += [f"from {node.module} import {a.name}" for a in node.names]
            continue
        if (i == 0 and isinstance(node, ast.Expr)) or getattr(node, "name", None) in skip:
            continue
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        blocks.append("\n".join(lines[first - 1:node.end_lineno]).rstrip() + "\n")
    return blocks, imports


def _constant(name: str, value) -> str:
    import pprint

    text = pprint.pformat(value, width=96 - len(name), sort_dicts=False)
    return f"{name} = {text}\n".replace("\n", "\n" + " " * (len(name) + 3)).rstrip() + "\n"


# -- pieces of the engine copied into the script -------------------------------------------------

_RESOLVE_PATH = '''
def resolve_path(rel, project_folder: Path | None, key: str = "path",
                 folder: bool = False) -> Path:
    """A data path from the project file: relative to the project's folder."""
    if not isinstance(rel, str) or not rel.strip():
        raise DataError(f"dataset option {key!r} must name a "
                        f"{'folder' if folder else 'file'}, found {rel!r}")
    path = Path(rel).expanduser()
    if not path.is_absolute():
        path = Path(project_folder or ".") / path
    if folder and not path.is_dir():
        raise DataError(f"data folder {rel!r} not found (looked for {path})")
    if not folder and not path.is_file():
        raise DataError(f"data file {rel!r} not found (looked for {path})")
    return path
'''.lstrip()


def _data_sources(dataset: dict, data_folder: str) -> tuple[list[str], str, list[str]]:
    """(source blocks, the dataset's extra requirement, extra import lines) for the data
    section. `data_folder`: the project folder relative to the script."""
    from ..data import base, bundled, loader, prep, synthetic

    source = dataset.get("source")
    name = dataset.get("name")
    blocks = [_source(o) for o in (base.DataError, base.Target, base.RawData, base.Split,
                                   base.DataSplits)]
    blocks += [_source(o) for o in (prep._count, prep.split_indices, prep.fit_normalization,
                                    prep._is_int, prep.normalize_inputs, prep.one_hot)]
    kind, axis = loader._normalization(dataset)
    blocks.append(f"def _normalization(config: dict) -> tuple[str, str]:\n"
                  f"    return config.get(\"normalize\", {kind!r}), "
                  f"config.get(\"normalize_axis\", {axis!r})\n")
    blocks += [_source(o) for o in (loader.dataset_label, loader._int, loader._frac,
                                    loader._subsample, loader._to_input, loader._target_names,
                                    loader._target, loader._convert, loader.prepare)]
    if source == "bundled" or (source is None and name in bundled._LOADERS):
        if name not in bundled._LOADERS:
            raise ExportError(f"unknown bundled dataset {name!r}")
        blocks += [_constant("_LOADERS", bundled._LOADERS), _source(bundled.load_bundled)]
        blocks.append(f"def load_raw(config: dict) -> RawData:\n"
                      f"    return load_bundled({name!r}, config)\n")
        return blocks, "scikit-learn", []
    if source == "synthetic" and name == "text":
        from ..data import text

        body, imports = _module_body(text, {"_int": "_text_int"})
        blocks += body
        blocks.append("def load_raw(config: dict) -> RawData:\n    return load_text(config)\n")
        return blocks, "", imports
    if source == "synthetic" and name in SUPPORTED_SYNTHETIC:
        maker = getattr(synthetic, f"make_{name}")
        blocks += [_source(synthetic._opt), _source(synthetic._rng), _source(maker)]
        blocks.append(f"def load_raw(config: dict) -> RawData:\n"
                      f"    return {maker.__name__}(config)\n")
        return blocks, "", []
    if source in FILE_SOURCES or source == "download":
        from ..data import files, idx

        imports = ["from pathlib import Path"]
        blocks += [_constant("DEFAULT_MEMORY_BUDGET_MB", base.DEFAULT_MEMORY_BUDGET_MB),
                   _source(prep.label_encode), _source(prep._label_name), _source(prep.windows)]
        from ..data import images, text

        # files.py calls into images.py (image folders) and text.py (CSV text columns)
        for module, skip, renames in ((idx, (), None), (files, ("resolve_path",), None),
                                      (images, (), None), (text, (), {"_int": "_text_int"})):
            body, more = _module_body(module, renames, skip)
            blocks += body
            imports += more
        blocks.append(_RESOLVE_PATH)
        extra = "Pillow" if source == "image_folder" else ""
        if source == "download":
            from ..data import download

            body, more = _module_body(download)
            blocks += body
            imports += more
            blocks.append(f"def load_raw(config: dict) -> RawData:\n"
                          f"    return load_download({name!r}, config)\n")
            return blocks, extra, imports
        blocks.append(_constant("DATA_FOLDER", data_folder))
        blocks.append(f"def load_raw(config: dict) -> RawData:\n"
                      f"    folder = Path(__file__).resolve().parent / DATA_FOLDER\n"
                      f"    return load_file_source({source!r}, config, folder)\n")
        return blocks, extra, imports
    what = f"{source} dataset {name!r}" if name else f"'{source}' dataset"
    raise ExportError(f"the Python script export supports scikit-learn's bundled datasets, "
                      f"the synthetic {', '.join(SUPPORTED_SYNTHETIC)} sets and the file "
                      f"sources {', '.join(FILE_SOURCES)} and downloads; this project uses the {what}, "
                      "which is not supported yet")


def _training_sources() -> tuple[list[str], list[str]]:
    """(blocks, import lines): the engine's losses, metrics, optimizers/schedules and RBM
    modules whole (so helpers they add later come along), plus the L1/L2 penalty."""
    from ..train import losses, metrics, optim, weights
    from ..train import rbm as rbm_mod

    blocks, imports = [], []
    for module in (losses, metrics, optim, rbm_mod):
        body, more = _module_body(module)
        blocks += body
        imports += more
    blocks.append(_source(weights.penalty))
    return blocks, imports


# -- settings resolved at export time ------------------------------------------------------------

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
    code = generate(graph, report, docstring=f"{project.name}, exported from Studio.")
    if not project.dataset:
        raise ExportError("the project has no dataset: choose one (the training script loads "
                          "it) before exporting a Python script")
    data_blocks, extra, data_imports = _data_sources(project.dataset,
                                                     _data_folder(project, filename))
    s = _settings(project, code, report)
    train_blocks, train_imports = _training_sources()
    model = _model_source(code)
    needs = "torch, numpy" + (f" and {extra}" if extra else "")
    pip = "torch numpy" + (f" {extra}" if extra else "")
    stem = project.path.stem if project.path else python_name(project.name)
    weights_line = f"--weights {weights_hint}" if weights_hint else f"--weights {stem}.safetensors"
    header = HEADER.format(name=project.name, needs=needs, pip=pip, weights=weights_line,
                           file=Path(filename).name)
    constants = "".join([
        _constant("DATASET", json.loads(json.dumps(project.dataset))),
        f"INPUT_SHAPE = {tuple(s['input_shape'])!r}\n",
        _constant("INPUT_DTYPE", s["input_dtype"]),
        _constant("OUTPUT_NAMES", s["output_names"]),
        _constant("OUT_SHAPES", [tuple(x) for x in s["out_shapes"]]),
        _constant("LOSSES", s["losses"]),
        _constant("LOSS_WEIGHTS", s["loss_weights"]),
        _constant("METRICS", s["metrics"]),
        _constant("CLASS_NAMES", s["class_names"]),
        _constant("MONITOR", s["monitor"]),
        _constant("FROZEN", s["frozen"]),
        _constant("PENALTIES", [tuple(p) for p in s["penalties"]]),
        _constant("RBM_ATTR", s["rbm_attr"]),
        _constant("NODE_ATTRS", s["node_attrs"]),
        _constant("CONFIG", json.loads(json.dumps(s["config"]))),
    ])
    imports = _imports(model, data_imports + train_imports)
    parts = [header, imports, "\n", SECTION.format("Model"), "\n", model, "\n\n",
             SECTION.format("Settings (from the project file)"), constants, "\n\n",
             SECTION.format("Data (the same code Studio uses)"),
             "\n\n".join(data_blocks), "\n\n",
             SECTION.format("Losses, metrics, optimizer, schedule (the same code Studio uses)"),
             "\n\n".join(train_blocks), "\n\n", MAIN]
    text = "".join(parts)
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    _check_unique_names(text)
    return text


def _check_unique_names(text: str) -> None:
    """Copied engine modules must not define a top-level name twice (one would shadow the
    other silently)."""
    import ast

    seen: set[str] = set()
    for node in ast.parse(text).body:
        names = [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else \
            [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
        for name in names:
            if name in seen:
                raise ExportError(f"internal error: the script would define {name!r} twice")
            seen.add(name)


def export_script(project: Project, out: str | Path, weights_hint: str | None = None) -> Path:
    """Write the standalone training script for `project` to `out`."""
    from ..project import atomic_write

    out = Path(out)
    atomic_write(out, script_source(project, weights_hint, str(out)).encode("utf-8"))
    return out


def _imports(model: str, extra: list[str]) -> str:
    """The script's import block (standard library, then numpy/torch), sorted as ruff's isort
    rules expect: plain imports before from-imports, each alphabetical."""
    import sys

    plain = {"argparse", "json", "math", "os", "struct"}
    froms: dict[str, set[str]] = {"dataclasses": {"dataclass", "field"}}
    for line in extra:
        if line.startswith("import "):
            plain.add(line[len("import "):])
        else:
            module, _, name = line[len("from "):].partition(" import ")
            froms.setdefault(module, set()).add(name)
    std = [m for m in plain if m.split(".")[0] in sys.stdlib_module_names]
    lines = [f"import {m}" for m in sorted(std)]
    lines += [f"from {m} import {', '.join(sorted(names))}" for m, names in sorted(froms.items())]
    third = ["import numpy as np", "import torch"]
    if "F." in model:
        third.append("import torch.nn.functional as F")
    third.append("from torch import nn")
    return "\n".join(lines) + "\n\n" + "\n".join(third) + "\n"


def _data_folder(project: Project, filename: str) -> str:
    """The project folder relative to where the script is written (data paths resolve there)."""
    import os

    if project.path is None:
        return "."
    out_dir = Path(filename).resolve().parent
    return Path(os.path.relpath(project.folder.resolve(), out_dir)).as_posix()


SECTION = "# {} " + "-" * 60 + "\n\n"

HEADER = '''"""{name}: a model exported from Studio, with its data loading and training loop.

Needs only {needs} (pip install {pip}).

    python {file}                 train, then evaluate on the test split
    python {file} --epochs 5 --device cpu
    python {file} {weights} --predict x.npy
    torchrun --nproc_per_node 4 {file}    data-parallel training (DDP)

--weights loads trained weights (the .safetensors file Studio saves beside the project, the
file of a run, or a state dict from --save); with --predict it skips training and prints the
model's predictions for the inputs in a .npy file (raw values, normalized here like the
training data).
"""
from __future__ import annotations

'''


MAIN = '''

# Training ------------------------------------------------------------


def to_tensors(split):
    """A split as (inputs, [one prepared target per output]) on the CPU."""
    x = torch.as_tensor(np.ascontiguousarray(split.x))
    x = x.long() if INPUT_DTYPE == "long" else x.float()
    if RBM_ATTR is not None:
        return x, [torch.as_tensor(split.y[0]).float() if split.y else x]
    return x, [prepare_target(loss, y, shape) for loss, y, shape in zip(LOSSES, split.y, OUT_SHAPES)]


def batches(x, ys, order, batch_size, rank=0, world=1):
    """Batches of rows of `order` (None: in stored order); with DDP, this rank's shard."""
    if order is None:
        for i in range(0, len(x), batch_size):
            yield x[i:i + batch_size], [y[i:i + batch_size] for y in ys]
        return
    order = order.to(x.device)
    for idx in order.split(batch_size):
        if world > 1:
            idx = idx[rank::world]
        yield x[idx], [y[idx] for y in ys]


def as_tuple(outs):
    return outs if isinstance(outs, tuple) else (outs,)


def penalty_terms(model):
    return [(kind, coef, [p for n, p in getattr(model, attr).named_parameters() if "bias" not in n])
            for kind, coef, attr in PENALTIES]


def epoch_metrics(outs, tgts):
    result = {}
    for i, (out, tgt) in enumerate(zip(outs, tgts)):
        if not len(out):
            continue
        values = compute(METRICS, LOSSES[i], out, tgt, CONFIG["top_k"])
        prefix = f"{OUTPUT_NAMES[i]}_" if len(OUTPUT_NAMES) > 1 else ""
        result.update({prefix + k: v for k, v in values.items()})
    return result


def evaluate(model, x, ys, terms):
    """Loss and metrics of `model` on a whole split (eval mode, no gradients)."""
    was = model.training
    model.eval()
    loss_sum, seen = 0.0, 0
    outs_acc, tgts_acc = [[] for _ in OUTPUT_NAMES], [[] for _ in OUTPUT_NAMES]
    fns = [loss_fn(name) if name != "cd" else None for name in LOSSES]
    rbm = getattr(model, RBM_ATTR) if RBM_ATTR is not None else None
    with torch.no_grad():
        for xb, yb in batches(x, ys, None, max(CONFIG["batch_size"], 256)):
            if rbm is not None:
                loss, outs = reconstruction_error(rbm, xb, yb[0] if yb else xb)
                outs = (outs,)
            else:
                outs = as_tuple(model(xb))
                loss = 0.0
                for fn, w, out, y in zip(fns, LOSS_WEIGHTS, outs, yb):
                    loss = loss + w * fn(out.float(), y)
            loss_sum += float(loss) * len(xb)
            seen += len(xb)
            for i, o in enumerate(outs):
                outs_acc[i].append(o.float())
                tgts_acc[i].append(yb[i] if i < len(yb) else xb)
        pen = penalty(terms) if terms else None
    model.train(was)
    result = {"loss": loss_sum / max(seen, 1) + (float(pen) if pen is not None else 0.0)}
    result.update(epoch_metrics([torch.cat(o) if o else torch.empty(0) for o in outs_acc],
                                [torch.cat(t) if t else torch.empty(0) for t in tgts_acc]))
    return result


def train_step(net, model, optimizer, params, terms, fns, xb, yb):
    """One optimizer step; returns (loss value, outputs)."""
    if RBM_ATTR is not None:
        surrogate, recon = cd_loss(getattr(model, RBM_ATTR), xb, CONFIG["cd_k"])
        loss, value, outs = surrogate, None, ()
        if terms:
            loss = loss + penalty(terms)
        value = recon.item()
    else:
        outs = as_tuple(net(xb))
        loss = None
        for fn, w, out, y in zip(fns, LOSS_WEIGHTS, outs, yb):
            term = fn(out, y)
            term = term if w == 1.0 else w * term
            loss = term if loss is None else loss + term
        if terms:
            loss = loss + penalty(terms)
        value = loss.item()
    if not math.isfinite(value):
        raise FloatingPointError(f"the loss became {value}: lower the learning rate")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    clip = CONFIG["grad_clip"]
    if clip["value"] is not None:
        torch.nn.utils.clip_grad_value_(params, clip["value"])
    if clip["norm"] is not None:
        torch.nn.utils.clip_grad_norm_(params, clip["norm"])
    optimizer.step()
    return value, outs


def better(value, best):
    es = CONFIG["early_stopping"] or {}
    delta = es.get("min_delta", 0.0)
    if best is None or not math.isfinite(best):
        return math.isfinite(value)
    if MONITOR.endswith(("loss", "mse", "mae", "rmse")):
        return value < best - delta
    return value > best + delta


def fit(model, data, device, epochs, rank, world, log):
    """Train `model` (already on `device`) with Studio's protocol; returns the history."""
    train_x, train_ys = data["train"]
    val = data.get("val")
    for attr in FROZEN:
        for p in getattr(model, attr).parameters():
            p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt_cfg = CONFIG["optimizer"]
    optimizer = build_optimizer(params, opt_cfg)
    steps = math.ceil(len(train_x) / CONFIG["batch_size"])
    schedule = Schedule(CONFIG["schedule"], opt_cfg["lr"], epochs, steps)
    terms = penalty_terms(model)
    net = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    fns = [loss_fn(name) if name != "cd" else None for name in LOSSES]
    keep = bool(METRICS) and RBM_ATTR is None
    gen = torch.Generator().manual_seed(CONFIG["seed"])
    current_lr, global_step, history = opt_cfg["lr"], 0, []
    best, best_state, bad_epochs = None, None, 0
    for epoch in range(epochs):
        perm = torch.randperm(len(train_x), generator=gen)
        net.train()
        loss_sum, seen = 0.0, 0
        outs_acc, tgts_acc = [[] for _ in OUTPUT_NAMES], [[] for _ in OUTPUT_NAMES]
        for xb, yb in batches(train_x, train_ys, perm, CONFIG["batch_size"], rank, world):
            lr = schedule.lr_at(epoch, global_step)
            if lr != current_lr:
                for group in optimizer.param_groups:
                    group["lr"] = lr
                current_lr = lr
            value, outs = train_step(net, model, optimizer, params, terms, fns, xb, yb)
            global_step += 1
            loss_sum += value * len(xb)
            seen += len(xb)
            if keep:
                for i, o in enumerate(outs):
                    outs_acc[i].append(o.detach())
                    tgts_acc[i].append(yb[i])
        if world > 1:
            total = torch.tensor([loss_sum, float(seen)], dtype=torch.float64, device=device)
            torch.distributed.all_reduce(total)
            loss_sum, seen = float(total[0]), int(total[1])
        row = {"epoch": epoch + 1, "loss": loss_sum / max(seen, 1)}
        if keep:
            row.update(epoch_metrics([torch.cat(o) for o in outs_acc],
                                     [torch.cat(t) for t in tgts_acc]))
        if val is not None:
            row.update({f"val_{k}": v for k, v in evaluate(model, *val, terms).items()})
        row["lr"] = current_lr
        schedule.end_epoch(row.get("val_loss", row["loss"]))
        history.append(row)
        log(row)
        if better(row[MONITOR], best):
            best, bad_epochs = row[MONITOR], 0
            es = CONFIG["early_stopping"]
            if es and es["restore_best"]:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
        es = CONFIG["early_stopping"]
        if es and bad_epochs > es["patience"]:
            log({"early_stopping": epoch + 1})
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


# Weights, prediction, entry point --------------------------------------------------------


def read_safetensors(path):
    """{name: tensor} from a .safetensors file (the format is a JSON header + raw data)."""
    dtypes = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64,
              "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
    with open(path, "rb") as f:
        raw = f.read()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    data = memoryview(raw)[8 + size:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        arr = np.frombuffer(data[start:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def load_weights(model, path):
    """Load Studio's per-node weights ('node_id/tensor'), a state dict in safetensors, or a
    state dict saved with --save (read with weights_only=True)."""
    if str(path).endswith(".safetensors"):
        tensors = read_safetensors(path)
    else:
        tensors = torch.load(path, map_location="cpu", weights_only=True)
    state = {}
    for key, value in tensors.items():
        node, sep, tensor = key.partition("/")
        state[f"{NODE_ATTRS.get(node, node)}.{tensor}" if sep else key] = value
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected:
        raise SystemExit(f"{path}: tensors {unexpected[:3]} match no layer of this model")
    return missing


def predict(model, data, path, device):
    """Print the model's predictions for the raw inputs in a .npy file."""
    x = np.load(path, allow_pickle=False)
    x = x.reshape((len(x), *INPUT_SHAPE))
    x = normalize_inputs(x, data["stats"]) if INPUT_DTYPE == "float" else x.astype(np.int64)
    x = torch.as_tensor(x).to(device)
    x = x.long() if INPUT_DTYPE == "long" else x.float()
    model.eval()
    with torch.no_grad():
        outs = as_tuple(model(x))
    for k, (name, loss, out) in enumerate(zip(OUTPUT_NAMES, LOSSES, outs)):
        classes = CLASS_NAMES[k] if k < len(CLASS_NAMES) else None
        print(f"{name}:")
        if loss in ("cross_entropy", "bce_with_logits", "bce", "hinge"):
            for i, p in enumerate(predictions(loss, out.cpu()).reshape(len(out), -1).tolist()):
                label = [classes[j] if classes and loss == "cross_entropy" else j for j in p]
                print(f"  {i}: {label[0] if len(label) == 1 else label}")
        else:
            for i, row in enumerate(out.cpu().reshape(len(out), -1).tolist()):
                print(f"  {i}: {[round(v, 6) for v in row]}")


def load_data(device):
    splits = prepare(load_raw(DATASET), DATASET, INPUT_SHAPE, INPUT_DTYPE)
    data = {"stats": splits.normalization}
    for name in ("train", "val", "test"):
        split = getattr(splits, name)
        if split is not None and len(split):
            x, ys = to_tensors(split)
            data[name] = (x.to(device), [y.to(device) for y in ys])
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=CONFIG["epochs"])
    parser.add_argument("--device", default=CONFIG["device"], help="auto, cpu, cuda, cuda:N")
    parser.add_argument("--weights", help="weights to load (.safetensors or --save output)")
    parser.add_argument("--predict", metavar="X.npy", help="print predictions for these inputs")
    parser.add_argument("--save", metavar="PATH", help="save the trained state dict here")
    parser.add_argument("--history", metavar="PATH", help="write the epochs as JSON lines")
    args = parser.parse_args(argv)

    device = torch.device(args.device if args.device != "auto" else
                          ("cuda" if torch.cuda.is_available() else "cpu"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = 0
    if world > 1:
        if device.type == "cuda":
            device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
            torch.cuda.set_device(device)
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()

    data = load_data(device)
    torch.manual_seed(CONFIG["seed"])  # right before the model is built, as in Studio
    model = Model().to(device)
    if args.weights:
        load_weights(model, args.weights)
    history_file = open(args.history, "w") if args.history and rank == 0 else None  # noqa: SIM115

    def log(row):
        if rank == 0:
            print("  ".join(f"{k} {v:.6g}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in row.items() if not isinstance(v, list)), flush=True)
            if history_file is not None:
                history_file.write(json.dumps(row) + "\\n")
                history_file.flush()

    if not (args.predict and args.weights) and args.epochs > 0:
        fit(model, data, device, args.epochs, rank, world, log)
    if rank == 0:
        if args.predict:
            predict(model, data, args.predict, device)
        elif "test" in data:
            terms = penalty_terms(model)
            log({"test_" + k: v for k, v in evaluate(model, *data["test"], terms).items()})
        if args.save:
            torch.save(model.state_dict(), args.save)
    if history_file is not None:
        history_file.close()
    if world > 1:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
'''
