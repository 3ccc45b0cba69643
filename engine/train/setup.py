"""Trainer set-up: device, process group, data on the device, model, losses, optimizer."""
from __future__ import annotations

import contextlib
import math
import os

from ..validate import validate
from .config import ConfigError, losses_for, metrics_for
from .faults import TrainError


def resolve_device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"training.device is {name!r} but no CUDA device is available")
    return torch.device(name)


def _init_distributed(t, device):
    """Join the torchrun process group (gloo on CPU, nccl on CUDA) when WORLD_SIZE > 1."""
    import torch

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return device, 0, 1
    import torch.distributed as dist

    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device(f"cuda:{local}")
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device, dist.get_rank(), dist.get_world_size()


def _input_node(graph, report):
    inputs = [nid for nid in report.order if graph.nodes[nid].spec.role == "input"]
    if len(inputs) != 1:
        raise TrainError(f"training needs exactly one Input node, the graph has "
                         f"{len(inputs)}", "error")
    return inputs[0]


def _load_data(t, shape, dtype):
    if t._data is not None:
        return t._data
    from ..data import load_dataset

    try:
        return load_dataset(t.project.dataset, t.project.folder, shape, dtype)
    except Exception as exc:
        import traceback

        raise TrainError(f"dataset: {exc}", "data", tb=traceback.format_exc()) from exc


def build(t) -> None:
    """Fill in every attribute the Trainer's loop uses."""
    import torch

    cfg = t.config
    graph = t.project.graph
    report = validate(graph)
    if not report.ok:
        raise TrainError("the graph is not valid: " +
                         "; ".join(i.message for i in report.errors[:3]), "error",
                         report.errors[0].node_id)
    device = resolve_device(cfg["device"])
    t.device, t.rank, t.world = _init_distributed(t, device)
    if cfg["deterministic"]:
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    in_id = _input_node(graph, report)
    in_type = report.out_types[in_id][0]
    t.input_dtype = in_type.dtype
    splits = _load_data(t, tuple(in_type.shape), in_type.dtype)
    t.splits = splits

    from ..compile import compile_graph

    torch.manual_seed(cfg["seed"])
    model = compile_graph(graph, report, load_weights=False)
    t.gen = torch.Generator().manual_seed(cfg["seed"])
    _build_model(t, model, graph, report)
    _build_data(t, splits, report)
    _build_optimizer(t)


def _build_model(t, model, graph, report) -> None:
    import torch

    from .rbm import find_rbm
    from .weights import freeze, load_init_weights, node_modules, node_parameters

    cfg = t.config
    t.frozen = freeze(model, graph)
    if t.init_weights:
        try:
            t.init_report = load_init_weights(model, graph, t.init_weights)
        except (OSError, ValueError) as exc:
            raise TrainError(str(exc), "error") from exc
    cuda = t.device.type == "cuda"
    model.to(t.device)
    t.channels_last = cuda and cfg["channels_last"]
    if t.channels_last:
        model.to(memory_format=torch.channels_last)
    t.model = model
    t.node_modules = node_modules(model, graph)
    t.node_params = {nid: [p for p in ps if p.requires_grad]
                     for nid, ps in node_parameters(model, graph).items()}
    t.node_params = {k: v for k, v in t.node_params.items() if v}
    code = model.studio_code
    t.output_ids = list(code.output_ids)
    t.output_names = [graph.nodes[o].name for o in t.output_ids]
    t.out_shapes = [tuple(report.in_types[o][0].shape) for o in t.output_ids]
    t.loss_weights = [float(graph.nodes[o].params.get("loss_weight", 1.0))
                      for o in t.output_ids]
    t.losses = losses_for(cfg, t.splits.tasks, len(t.output_ids))
    from .losses import loss_fn

    t.loss_fns = [loss_fn(name) if name != "cd" else None for name in t.losses]
    _, rbm = find_rbm(model, graph)
    t.rbm = rbm if "cd" in t.losses else None
    if "cd" in t.losses and rbm is None:
        raise ConfigError("training.loss 'cd' (contrastive divergence) needs an RBM node in "
                          "the graph")
    t.metric_names = metrics_for(cfg, t.losses)
    net = model
    if t.world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        net = DDP(model, device_ids=[t.device.index] if cuda else None)
    t.eval_net = model
    if cfg["compile"]:
        backend = cfg["compile"] if isinstance(cfg["compile"], str) else "inductor"
        net = torch.compile(net, backend=backend)
        t.eval_net = net if t.world == 1 else model
    t.net = net
    amp = cfg["mixed_precision"]
    if cuda and amp != "off":
        dtype = torch.bfloat16 if amp == "bf16" else torch.float16
        t.autocast = lambda: torch.autocast("cuda", dtype=dtype)
        t.scaler = torch.amp.GradScaler("cuda") if amp == "fp16" else None
    else:
        t.autocast = contextlib.nullcontext
        t.scaler = None
    t.amp = t.autocast is not contextlib.nullcontext
    t.single_loss = (t.loss_fns[0] if len(t.loss_fns) == 1 and t.loss_weights[0] == 1.0
                     else None)
    clip = cfg["grad_clip"]
    t.clipping = clip["norm"] is not None or clip["value"] is not None
    t.step_fn = t.rbm_step if t.rbm is not None else t.train_step


def _targets(t, split, x_tensor):
    """Prepared target tensors of a split, one per output (RBM: the split's first target or
    its input)."""
    from .losses import prepare_target

    ys = list(split.y)
    if t.rbm is not None:
        import torch

        return [torch.as_tensor(ys[0]).float() if ys else x_tensor]
    if len(ys) < len(t.output_ids):
        raise TrainError(f"the dataset provides {len(ys)} target(s) but the model has "
                         f"{len(t.output_ids)} Output nodes", "data")
    out = []
    for i, (loss, shape) in enumerate(zip(t.losses, t.out_shapes)):
        try:
            out.append(prepare_target(loss, ys[i], shape))
        except ValueError as exc:
            raise TrainError(f"Output '{t.output_names[i]}': {exc}", "data",
                             t.output_ids[i]) from exc
    return out


def _build_data(t, splits, report) -> None:
    import numpy as np
    import torch

    from .batches import make_data

    cfg = t.config
    nbytes = sum(s.x.nbytes + sum(np.asarray(y).nbytes for y in s.y)
                 for s in (splits.train, splits.val, splits.test) if s is not None)
    on_device = cfg["data_on_device"]
    if on_device == "auto":
        on_device = nbytes <= cfg["device_data_limit_mb"] * 2 ** 20
    t.data_on_device = bool(on_device)

    def tensors(split):
        x = torch.as_tensor(np.ascontiguousarray(split.x))
        x = x.long() if t.input_dtype == "long" else x.float()
        return x, _targets(t, split, x)

    def make(split):
        if split is None or not len(split):
            return None
        x, ys = tensors(split)
        return make_data(x, ys, t.device, t.data_on_device, t.channels_last,
                         cfg["num_workers"])

    t.train_data = make(splits.train)
    if t.train_data is None:
        raise TrainError("the dataset's training split is empty", "data")
    t.val_data = make(splits.val)
    t.test_data = make(splits.test)
    sample_src = t.val_data or t.train_data
    t.sample_x = sample_src.x[:8].to(t.device) if len(sample_src) else None
    t.keep_train_outputs = bool(t.metric_names) and t.rbm is None


def _build_optimizer(t) -> None:
    from .optim import Schedule, build_optimizer
    from .weights import penalty, penalty_terms

    cfg = t.config
    t.trainable_params = [p for p in t.model.parameters() if p.requires_grad]
    if not t.trainable_params:
        raise TrainError("nothing to train: every layer is frozen (trainable: false)", "error")
    t.optimizer = build_optimizer(t.trainable_params, cfg["optimizer"])
    t.current_lr = cfg["optimizer"]["lr"]
    t.steps_per_epoch = math.ceil(len(t.train_data) / cfg["batch_size"])
    t.schedule = Schedule(cfg["schedule"], cfg["optimizer"]["lr"], cfg["epochs"],
                          t.steps_per_epoch)
    try:
        terms = penalty_terms(t.model, t.project.graph, cfg["regularization"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    t.penalty_terms = terms
    t.penalty = lambda: penalty(terms)
    es = cfg["early_stopping"]
    has_val = t.val_data is not None
    t.monitor = es["monitor"] if es else ("val_loss" if has_val else "loss")
    t.best_row = None
    t.best_state = None
    t.bad_epochs = 0
