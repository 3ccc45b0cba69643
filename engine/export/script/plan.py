"""What the exported script needs to know about a project, resolved once at export time.

The emitters (data.py, sources*.py, training.py, loop.py, entry.py) write code from a Plan
only: every setting the project fixes is a value here, written into the script as a literal.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...codegen import Namespace, generate
from ...layers.generative import GENERATED_TYPE, SAMPLING_TYPE
from ...project import Project
from ...validate import validate
from ..common import ExportError
from .data_plan import DataPlan, TargetPlan, data_plan
from .transfer import TransferPlan, transfer_plan

# names the script defines or uses as locals: project names must not shadow them
RESERVED = {"x", "y", "xb", "yb", "out", "outs", "outputs", "target", "targets", "loss",
            "model", "net", "data", "splits", "batch", "epoch", "row", "value", "total",
            "seen", "args", "rank", "world", "device", "log", "np", "torch", "nn", "F",
            "math", "json", "os", "csv", "gzip", "re", "Path", "Image", "classes", "order",
            "train", "val", "test", "err", "cm", "pred", "true", "step", "inputs", "i", "label"}


@dataclass
class OutputPlan:
    """One Output node: its loss, weight, metrics and the target it is trained on."""

    name: str                 # the node's name: metric prefix, predict header
    var: str                  # a Python name for its tensor in the script
    loss: str
    weight: float
    shape: tuple[int, ...]    # per sample
    metrics: list[str]        # the configured metrics that apply to this output
    target: TargetPlan
    classes: list[str] | None = None

    @property
    def long_target(self) -> bool:
        """Class indices (cross-entropy, multi-class hinge) rather than float targets."""
        one_hot = self.target.final.values.dtype.kind == "f"
        if self.loss == "cross_entropy":
            return not (one_hot and self.target.shape == self.shape)
        return self.loss == "hinge" and len(self.shape) == 1 and self.shape[0] > 1


@dataclass
class Plan:
    project_name: str
    file: str                           # the script's file name
    weights_hint: str                   # what the docstring suggests for --weights
    class_name: str
    model_source: str                   # the codegen class (and its support classes)
    input_var: str
    input_shape: tuple[int, ...]
    input_dtype: str                    # 'float' | 'long'
    outputs: list[OutputPlan]
    cfg: dict                           # the resolved training config
    data: DataPlan
    tensor_nodes: dict[str, str]        # node id -> attribute, nodes with tensors
    frozen: list[str] = field(default_factory=list)       # attributes
    penalties: list[tuple[str, float, list[str]]] = field(default_factory=list)
    rbm: tuple[str, int] | None = None  # (attribute, CD steps) when trained by CD-k
    kl: list[str] = field(default_factory=list)  # attributes of a VAE's Sampling nodes
    gan: Any = None                     # gan.GanPlan: a GAN's adversarial recipe
    monitor: str | None = None          # early stopping's metric
    transfer: TransferPlan = field(default_factory=TransferPlan)  # lr per layer, fine-tuning

    @property
    def multi(self) -> bool:
        return len(self.outputs) > 1

    @property
    def metrics(self) -> bool:
        """Whether any metric is reported (and outputs must be kept for it)."""
        return self.rbm is None and self.gan is None and any(o.metrics for o in self.outputs)


def build_plan(project: Project, filename: str, weights_hint: str | None) -> Plan:
    from ...train.config import ConfigError, losses_for, metrics_for, resolve_config
    from ...train.metrics import applies

    graph = project.graph
    report = validate(graph)
    class_name = _class_name(project.name)
    doc = f"{_one_line(project.name)}, exported from Studio."
    code = generate(graph, report, class_name=class_name, docstring=doc)
    support = {c.lower() for c in re.findall(r"^class (\w+)\(", code.source, re.MULTILINE)[:-1]}
    if class_name.lower() in support:  # RBM beside Rbm would read as a typo
        class_name += "Model"
        code = generate(graph, report, class_name=class_name, docstring=doc)
    if len(code.input_ids) != 1:
        raise ExportError(f"the training script needs exactly one Input node, the graph has "
                          f"{len(code.input_ids)}")
    if not project.dataset:
        raise ExportError("the project has no dataset: choose one (the training script loads "
                          "it) before exporting a Python script")
    try:
        cfg = resolve_config(project.training)
    except ConfigError as exc:
        raise ExportError(str(exc)) from None
    in_type = report.out_types[code.input_ids[0]][0]
    generated = next((n for n in graph.nodes.values() if n.type == GENERATED_TYPE), None)
    data_type = report.out_types[generated.id][0] if generated else in_type  # a GAN's: real
    data = data_plan(project.dataset, project.folder if project.path else None,
                     _data_folder(project, filename), tuple(data_type.shape), data_type.dtype,
                     project.allow_outside_data)
    out_ids = list(code.output_ids)
    try:
        losses = losses_for(cfg, [t.final.task for t in data.targets], len(out_ids))
    except ConfigError as exc:
        raise ExportError(str(exc)) from None
    names = metrics_for(cfg, losses)
    ns = Namespace(RESERVED | {class_name})
    outputs = []
    for i, (nid, loss) in enumerate(zip(out_ids, losses)):
        node = graph.nodes[nid]
        if loss != "cd" and i >= len(data.targets):
            raise ExportError(f"the dataset provides {len(data.targets)} target(s) but the "
                              f"model has {len(out_ids)} Output nodes")
        target = data.targets[min(i, len(data.targets) - 1)]
        shape = tuple(report.in_types[nid][0].shape)
        metrics = [m for m in names if applies(m, loss)
                   and not (m == "top_k_accuracy" and len(shape) != 1)]
        outputs.append(OutputPlan(node.name, ns.create(node.name), loss,
                                  float(node.params.get("loss_weight", 1.0)), shape, metrics,
                                  target, target.final.class_names))
    module = _meta_model(code)
    state = module.state_dict()
    plan = Plan(project.name, Path(filename).name, weights_hint or "", class_name,
                _model_source(code.source), code.variables[code.input_ids[0]],
                tuple(in_type.shape), in_type.dtype, outputs, cfg, data,
                {nid: a for nid, a in code.attrs.items() if any(
                    k.startswith(a + ".") for k in state)})
    plan.frozen = [a for nid, a in code.attrs.items() if not graph.nodes[nid].trainable
                   and any(True for _ in getattr(module, a).parameters())]
    if plan.frozen and all(not p.requires_grad for p in _frozen(module, plan.frozen)):
        raise ExportError("nothing to train: every layer is frozen (trainable: false)")
    try:
        plan.transfer = transfer_plan(module, graph, code.attrs, cfg)
    except ConfigError as exc:
        raise ExportError(str(exc)) from None
    plan.penalties = _penalties(cfg["regularization"], graph, module)
    plan.kl = [a for nid, a in code.attrs.items() if graph.nodes[nid].type == SAMPLING_TYPE]
    if generated is not None:
        from .gan import check, gan_plan

        check(cfg)
        plan.gan = gan_plan(graph, generated, class_name, code.attrs)
    if "cd" in losses:
        rbm = next((nid for nid in report.order if graph.nodes[nid].type == "rbm.RBM"), None)
        if rbm is None:
            raise ExportError("training.loss 'cd' (contrastive divergence) needs an RBM node "
                              "in the graph")
        plan.rbm = (code.attrs[rbm], int(cfg["cd_k"] or graph.nodes[rbm].params.get("k", 1)))
    if cfg["early_stopping"]:
        plan.monitor = cfg["early_stopping"]["monitor"]
        reported = row_keys(plan)
        if plan.monitor not in reported:
            raise ExportError(f"training.early_stopping.monitor: {plan.monitor!r} is not "
                              f"reported (reported: {', '.join(reported)})")
    return plan


def metric_keys(plan: Plan) -> list[str]:
    """The metric names as the script reports them (prefixed by output when several)."""
    if not plan.metrics:
        return []
    return [f"{o.name}_{m}" if plan.multi else m for o in plan.outputs for m in o.metrics]


def row_keys(plan: Plan) -> list[str]:
    """The keys of one epoch's row of the history (as the app's Trainer reports them)."""
    keys = ["loss", *metric_keys(plan)]
    if plan.data.has_val:
        keys += ["val_loss", *(f"val_{k}" for k in metric_keys(plan))]
    return keys


def _frozen(module, attrs):
    for attr in attrs:
        getattr(module, attr).requires_grad_(False)
    return list(module.parameters())


def _meta_model(code):
    """The model built on the meta device (no memory, no initialisation): its tensor names."""
    import torch

    from ...compile import compile_source

    with torch.device("meta"):
        return compile_source(code)


def _penalties(reg: dict, graph, module) -> list:
    """[(kind, coefficient, [parameter paths])]: engine.train.weights.penalty_terms (its
    terms, in its order), with each tensor named by its path in the model."""
    from ...train.weights import penalty_terms

    try:
        terms = penalty_terms(module, graph, reg)
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    names = {id(p): name for name, p in module.named_parameters()}
    return [(kind, coef, [names[id(w)] for w in weights]) for kind, coef, weights in terms]


def _model_source(source: str) -> str:
    """The generated module without its import lines (the script imports at the top), its
    long lines fitted to the script's line length."""
    from .reflow import reflow

    body = [ln for ln in source.splitlines() if not ln.startswith(("import ", "from "))]
    return reflow("\n".join(body).strip()) + "\n"


def _class_name(project_name: str) -> str:
    """The model class's name, from the project's name: 'digits_cnn' -> DigitsCnn."""
    words = re.findall(r"[A-Za-z0-9]+", str(project_name))
    name = "".join(w[:1].upper() + w[1:] for w in words)
    ok = name.isidentifier() and name.isascii() and not name[:1].isdigit()
    return name if ok and name not in RESERVED and len(name) <= 40 else "Model"


def _one_line(text: str) -> str:
    from .text import one_line

    return one_line(text)


def _data_folder(project: Project, filename: str) -> str:
    """The project folder relative to where the script is written (data paths resolve there)."""
    import os

    if project.path is None:
        return "."
    out_dir = Path(filename).resolve().parent
    return Path(os.path.relpath(project.folder.resolve(), out_dir)).as_posix()


