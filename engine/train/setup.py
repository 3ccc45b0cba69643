"""Trainer set-up: device, process group, data on the device, model, losses, optimizer.

`build(project, config)` returns the TrainState of a run (state.py). The order of the steps is
part of the determinism protocol (config.py): the model is built right after
`torch.manual_seed(seed)`, and nothing draws random numbers in between.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from functools import partial

from ..layers.generative import GENERATED_TYPE
from ..validate import validate
from . import distributed
from .config import ConfigError, losses_for, metrics_for
from .faults import TrainError
from .gan import attach_gan
from .gan import data_type as gan_data_type
from .state import TrainState
from .vae import latent_views, sampling_modules


def resolve_device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"training.device is {name!r} but no CUDA device is available")
    return torch.device(name)


def _input_node(graph, report):
    inputs = [nid for nid in report.order if graph.nodes[nid].spec.role == "input"]
    if len(inputs) != 1:
        raise TrainError(f"training needs exactly one Input node, the graph has "
                         f"{len(inputs)}", "error")
    return inputs[0]


def _load_data(project, shape, dtype):
    from ..data import load_dataset

    try:
        return load_dataset(project.dataset, project.folder, shape, dtype,
                            project.allow_outside_data)
    except Exception as exc:
        import traceback

        raise TrainError(f"dataset: {exc}", "data", tb=traceback.format_exc()) from exc


def build(project, config: dict, data=None, init_weights=None) -> TrainState:
    """Everything a run needs, from `project` and the resolved `config`. `data`: a DataSplits
    to use instead of loading the project's dataset; `init_weights`: a weights file to start
    from (fine-tuning)."""
    import torch

    graph = project.graph
    report = validate(graph)
    if not report.ok:
        raise TrainError("the graph is not valid: " +
                         "; ".join(i.message for i in report.errors[:3]), "error",
                         report.errors[0].node_id)
    device, rank, world = distributed.join(resolve_device(config["device"]))
    if config["deterministic"]:
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    in_id = _input_node(graph, report)
    in_type = report.out_types[in_id][0]
    data_type = gan_data_type(graph, report) or in_type  # a GAN's data: its real samples
    splits = data if data is not None else _load_data(project, tuple(data_type.shape),
                                                      data_type.dtype)

    from ..compile import compile_graph

    torch.manual_seed(config["seed"])
    model = compile_graph(graph, report, load_weights=False)
    gen = torch.Generator().manual_seed(config["seed"])
    m = _build_model(model, graph, report, config, splits, device, world, init_weights)
    try:
        d = _build_data(splits, config, device, in_type.dtype, m,
                        _cache_mb(project) if data is None else 0.0,
                        (project.dataset or {}).get("augment"))
    except TrainError as exc:
        if exc.kind != "data" or exc.node_id is None:
            raise
        raise TrainError(f"{_data_file(project)}{exc}", exc.kind, exc.node_id) from exc
    o = _build_optimizer(model, graph, config, d)
    state = TrainState(
        device=device, rank=rank, world=world, splits=splits, input_dtype=in_type.dtype,
        train_data=d.train, val_data=d.val, test_data=d.test, data_on_device=d.on_device,
        sample_x=d.sample_x, gen=gen, model=model, net=m.net, eval_net=m.eval_net,
        node_modules=m.node_modules, node_params=m.node_params, frozen=m.frozen,
        init_report=m.init_report, channels_last=m.channels_last, output_ids=m.output_ids,
        output_names=m.output_names, out_shapes=m.out_shapes, losses=m.losses,
        loss_fns=m.loss_fns, loss_weights=m.loss_weights,
        single_loss=(m.loss_fns[0] if len(m.loss_fns) == 1 and m.loss_weights[0] == 1.0
                     else None),
        metric_names=m.metric_names, keep_train_outputs=d.keep_train_outputs, rbm=m.rbm,
        trainable_params=o.trainable_params, optimizer=o.optimizer, schedule=o.schedule,
        steps_per_epoch=o.steps_per_epoch, penalty_terms=o.penalty_terms,
        clipping=_clipping(config), monitor=o.monitor, autocast=m.autocast, scaler=m.scaler,
        fine_tune=o.fine_tune, kl_modules=sampling_modules(model, graph),
        epoch_views=latent_views(project, model, graph, splits, device))
    if m.gan:
        attach_gan(state, graph, config)
    return state


def _cache_mb(project) -> float:
    """How much of a streamed dataset is kept decoded in memory: its memory budget."""
    from ..data.base import dataset_budget_mb

    return dataset_budget_mb(project.dataset or {})


def _clipping(config: dict) -> bool:
    clip = config["grad_clip"]
    return clip["norm"] is not None or clip["value"] is not None


@dataclass
class _Model:
    net: object
    eval_net: object
    node_modules: dict
    node_params: dict
    frozen: list
    init_report: object
    channels_last: bool
    output_ids: list
    output_names: list
    out_shapes: list
    losses: list
    loss_fns: list
    loss_weights: list
    metric_names: list
    rbm: object
    gan: bool
    autocast: object
    scaler: object


def _build_model(model, graph, report, cfg, splits, device, world, init_weights) -> _Model:
    import torch

    from .losses import loss_fn
    from .rbm import find_rbm
    from .weights import freeze, load_init_weights, node_modules, node_parameters

    frozen = freeze(model, graph)
    if cfg["start_from"] == "weights" and graph.weights:  # pretrained: the project's weights
        from ..compile import WeightsError, apply_weights
        from ..project import ProjectError

        try:
            apply_weights(model, graph.weights)
        except WeightsError as exc:
            raise TrainError(f"the project's weights: {exc}", "error") from exc
        except ProjectError as exc:   # read on first use: the file was damaged since; it names it
            raise TrainError(str(exc), "data") from exc
    init_report = None
    if init_weights:
        try:
            init_report = load_init_weights(model, graph, init_weights)
        except (OSError, ValueError) as exc:
            raise TrainError(str(exc), "error") from exc
    cuda = device.type == "cuda"
    model.to(device)
    channels_last = cuda and cfg["channels_last"]
    if channels_last:
        model.to(memory_format=torch.channels_last)
    node_params = {nid: [p for p in ps if p.requires_grad]
                   for nid, ps in node_parameters(model, graph).items()}
    output_ids = list(model.studio_code.output_ids)
    losses = losses_for(cfg, splits.tasks, len(output_ids))
    _, rbm = find_rbm(model, graph)
    if "cd" in losses and rbm is None:
        raise ConfigError("training.loss 'cd' (contrastive divergence) needs an RBM node in "
                          "the graph")
    net = eval_net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        net = DDP(model, device_ids=[device.index] if cuda else None)
    if cfg["compile"]:
        backend = cfg["compile"] if isinstance(cfg["compile"], str) else "inductor"
        net = torch.compile(net, backend=backend)
        eval_net = net if world == 1 else model
    amp = cfg["mixed_precision"]
    autocast, scaler = contextlib.nullcontext, None
    if cuda and amp != "off":
        dtype = torch.bfloat16 if amp == "bf16" else torch.float16
        autocast = partial(torch.autocast, "cuda", dtype=dtype)
        scaler = torch.amp.GradScaler("cuda") if amp == "fp16" else None
    return _Model(
        net=net, eval_net=eval_net, node_modules=node_modules(model, graph),
        node_params={k: v for k, v in node_params.items() if v}, frozen=frozen,
        init_report=init_report, channels_last=channels_last, output_ids=output_ids,
        output_names=[graph.nodes[o].name for o in output_ids],
        out_shapes=[tuple(report.in_types[o][0].shape) for o in output_ids], losses=losses,
        loss_fns=[loss_fn(name) if name != "cd" else None for name in losses],
        loss_weights=[float(graph.nodes[o].params.get("loss_weight", 1.0))
                      for o in output_ids],
        metric_names=metrics_for(cfg, losses), rbm=rbm if "cd" in losses else None,
        gan=any(n.type == GENERATED_TYPE for n in graph.nodes.values()),
        autocast=autocast, scaler=scaler)


def _data_file(project) -> str:
    """"'labels.idx': " (the file the targets come from, when they come from a file) or ""."""
    from ..guard.text import quote

    dataset = project.dataset or {}
    path = dataset.get("labels_path") or dataset.get("y_path") or dataset.get("path")
    return f"{quote(str(path))}: " if isinstance(path, str) and path else ""


def _targets(m: _Model, split, x_tensor):
    """Prepared target tensors of a split, one per output (RBM: the split's first target or
    its input)."""
    from .losses import prepare_target

    ys = list(split.y)
    if m.rbm is not None or m.gan:  # the RBM reconstructs its input; a GAN has no targets
        import torch

        return [torch.as_tensor(ys[0]).float() if ys else x_tensor]
    if len(ys) < len(m.output_ids):
        raise TrainError(f"the dataset provides {len(ys)} target(s) but the model has "
                         f"{len(m.output_ids)} Output nodes", "data")
    out = []
    for i, (loss, shape) in enumerate(zip(m.losses, m.out_shapes)):
        try:
            out.append(prepare_target(loss, ys[i], shape))
        except ValueError as exc:
            raise TrainError(f"Output '{m.output_names[i]}': {exc}", "data",
                             m.output_ids[i]) from exc
    return out


@dataclass
class _Data:
    train: object
    val: object
    test: object
    on_device: bool
    sample_x: object
    keep_train_outputs: bool


def _build_data(splits, cfg, device, input_dtype, m: _Model, cache_mb: float = 0.0,
                augment: dict | None = None) -> _Data:
    import numpy as np
    import torch

    from ..data.lazy import is_lazy
    from .batches import make_data

    nbytes = sum(s.x.nbytes + sum(np.asarray(y).nbytes for y in s.y)
                 for s in (splits.train, splits.val, splits.test) if s is not None)
    on_device = cfg["data_on_device"]
    if on_device == "auto":
        on_device = nbytes <= cfg["device_data_limit_mb"] * 2 ** 20
    on_device = bool(on_device)

    def make(split):
        if split is None or not len(split):
            return None
        if is_lazy(split.x):
            return _disk_data(split, cfg, device, m, cache_mb)
        x = torch.as_tensor(np.ascontiguousarray(split.x))
        x = x.long() if input_dtype == "long" else x.float()
        return make_data(x, _targets(m, split, x), device, on_device, m.channels_last,
                         cfg["num_workers"])

    train = make(splits.train)
    if train is None:
        raise TrainError("the dataset's training split is empty", "data")
    train = _augmented(train, splits, augment, cfg["seed"], input_dtype)
    val, test = make(splits.val), make(splits.test)
    sample_src = val or train
    return _Data(train, val, test, on_device and not is_lazy(splits.train.x),
                 sample_src.head(8) if len(sample_src) else None,
                 bool(m.metric_names) and m.rbm is None and not m.gan)


def _augmented(train, splits, augment: dict | None, seed: int, input_dtype: str):
    """The training batches with the dataset's "augment" option applied (in the DataLoader
    workers when the data streams from disk)."""
    if not augment:
        return train
    from ..data.augment import BatchTransform

    if input_dtype == "long" or len(splits.sample_shape) != 3:
        raise TrainError(f"dataset: augmentation needs image inputs (channels, height, "
                         f"width); the Input node takes {tuple(splits.sample_shape)}", "data")
    try:
        transform = BatchTransform(augment, splits.normalization, splits.value_range)
    except ValueError as exc:
        raise TrainError(f"dataset: {exc}", "data") from None
    if getattr(train, "from_disk", False):
        train.augment(transform, seed)
        return train
    from .batches import Augmented

    return Augmented(train, transform, seed)


def _disk_data(split, cfg, device, m: _Model, cache_mb: float):
    """A split streamed from disk (engine.data.stream); the training split's decoded
    samples are cached in shared memory up to the dataset's memory budget."""
    from ..data.stream import DiskData, attach_cache

    if m.rbm is not None and not split.y:
        raise TrainError("an RBM trained on its own input needs the dataset in memory; it is "
                         "streamed from disk (raise the dataset's memory budget)", "data")
    attach_cache(split.x, cache_mb)   # the first split to ask (train) is the one cached
    return DiskData(split.x, _targets(m, split, None), device, m.channels_last,
                    cfg["num_workers"])


@dataclass
class _Optimization:
    trainable_params: list
    optimizer: object
    schedule: object
    steps_per_epoch: int
    penalty_terms: list
    monitor: str
    fine_tune: object


def _build_optimizer(model, graph, cfg, d: _Data) -> _Optimization:
    from .finetune import fine_tune, param_groups
    from .optim import Schedule, build_optimizer
    from .weights import penalty_terms

    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise TrainError("nothing to train: every layer is frozen (trainable: false)", "error")
    optimizer = build_optimizer(param_groups(model, graph, cfg), cfg["optimizer"])
    steps_per_epoch = math.ceil(len(d.train) / cfg["batch_size"])
    schedule = Schedule(cfg["schedule"], cfg["optimizer"]["lr"], cfg["epochs"],
                        steps_per_epoch)
    try:
        terms = penalty_terms(model, graph, cfg["regularization"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    es = cfg["early_stopping"]
    monitor = es["monitor"] if es else ("val_loss" if d.val is not None else "loss")
    return _Optimization(trainable, optimizer, schedule, steps_per_epoch, terms, monitor,
                         fine_tune(model, graph, cfg))
