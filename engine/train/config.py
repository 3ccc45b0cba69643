"""The training configuration: the project file's "training" section, with defaults and checks.

Schema (every key is optional; the defaults are shown):

    {
      "epochs": 20,                 # total epochs of the run (a resumed run continues to this)
      "batch_size": 64,             # global batch (split across processes under --nproc)
      "seed": 0,
      "device": "auto",             # "auto" | "cpu" | "cuda" | "cuda:N"
      "optimizer": {"name": "adam", "lr": 0.001, "weight_decay": 0.0,
                    "momentum": 0.9,          # momentum / nesterov / rmsprop (rmsprop: 0.0)
                    "betas": [0.9, 0.999],    # adam / adamw
                    "eps": 1e-8, "rho": 0.9,  # adadelta
                    "alpha": 0.99},           # rmsprop smoothing
        # name: sgd | momentum | nesterov | adagrad | adadelta | rmsprop | adam | adamw
      "schedule": {"name": "constant", "warmup_epochs": 0,
                   "step_size": 10, "gamma": 0.1,           # step (gamma also: exponential)
                   "min_lr": 0.0,                           # cosine, plateau
                   "factor": 0.1, "patience": 5,            # plateau (monitors val_loss)
                   "max_lr": null, "pct_start": 0.3,        # onecycle (max_lr: optimizer lr)
                   "div_factor": 25.0, "final_div_factor": 10000.0},
        # name: constant | step | exponential | cosine | plateau | onecycle
      "loss": null,                 # per the data's task when null; a name, or a list with one
                                    # name per Output node: cross_entropy | mse | mae | huber |
                                    # bce_with_logits | bce | hinge | multilabel_bce | cd (RBM)
      "metrics": null,              # per task when null: accuracy | binary_accuracy |
                                    # top_k_accuracy (k from "top_k") | precision | recall | f1 |
                                    # confusion_matrix | mse | mae | rmse | r2
      "top_k": 5,
      "regularization": {"l1": {}, "l2": {}},   # {node name: coefficient}, weights only
      "lr_scales": {},              # {node name: factor}: its own learning rate (param group)
      "fine_tune": null,            # or {"freeze_epochs": K}: all but the classifier frozen
                                    # for K epochs (see finetune.py)
      "start_from": "seed",         # "seed": fresh weights from the seed; "weights": the
                                    # project's stored weights where it has them (pretrained)
      "early_stopping": null,       # or {"monitor": "val_loss", "patience": 5,
                                    #     "min_delta": 0.0, "restore_best": true}
      "grad_clip": {"norm": null, "value": null},
      "cd_k": null,                 # Gibbs steps of RBM contrastive divergence (null: the
                                    # RBM node's k parameter)
      "mixed_precision": "off",     # "off" | "bf16" | "fp16"  (CUDA only; ignored on CPU)
      "compile": false,             # torch.compile: false | true | a backend name ("eager")
      "channels_last": true,        # CNNs on CUDA
      "deterministic": false,       # torch.use_deterministic_algorithms
      "data_on_device": "auto",     # "auto" | true | false (false: stream with a DataLoader)
      "device_data_limit_mb": 512,  # "auto": datasets smaller than this live on the device
      "num_workers": 0,             # DataLoader workers when streaming
      "event_interval": 0.1,        # seconds between batch events
      "activation_interval": 1.0,   # seconds between activation snapshots
      "checkpoint_interval": "auto",  # seconds between checkpoint writes; "auto": while
                                    # writing them costs <= 5% of the run's time (the last
                                    # epoch's are always written); 0: after every epoch
      "tensorboard": true           # TensorBoard event files in the run folder (if installed)
    }

Determinism protocol (the exported script reproduces it exactly):

1. `torch.manual_seed(seed)` immediately before the model is built (compile_graph), so the
   initial weights depend on the seed only; the optimizer is built next.
2. One `torch.Generator()` seeded with `manual_seed(seed)` is created before the first epoch;
   every epoch draws `perm = torch.randperm(n_train, generator=gen)` from it, and batch i is
   `perm[i*batch_size:(i+1)*batch_size]` (the last batch may be smaller; nothing is dropped).
3. The loss of a batch is the mean over its samples (reduction "mean"), summed over Output
   nodes with their `loss_weight`, plus the L1/L2 penalties; one optimizer step per batch.
   An epoch's reported loss is the sample-weighted mean of its batch losses.
4. Dropout and other random layers draw from torch's global generator in that same order.
On the CPU the same project, seed and data give a bit-identical loss curve.
"""
from __future__ import annotations

import copy
import math
import os
from typing import Any

from ..guard.text import clip_message, quote

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "step", "exponential", "cosine", "plateau", "onecycle")
LOSSES = ("cross_entropy", "mse", "mae", "huber", "bce_with_logits", "bce", "hinge",
          "multilabel_bce", "cd")
METRICS = ("accuracy", "binary_accuracy", "top_k_accuracy", "precision", "recall", "f1",
           "confusion_matrix", "mse", "mae", "rmse", "r2")
PRECISIONS = ("off", "bf16", "fp16")

DEFAULTS: dict[str, Any] = {
    "epochs": 20,
    "batch_size": 64,
    "seed": 0,
    "device": "auto",
    "optimizer": {"name": "adam", "lr": 1e-3, "weight_decay": 0.0, "momentum": None,
                  "betas": [0.9, 0.999], "eps": 1e-8, "rho": 0.9, "alpha": 0.99},
    "schedule": {"name": "constant", "warmup_epochs": 0, "step_size": 10, "gamma": 0.1,
                 "min_lr": 0.0, "factor": 0.1, "patience": 5, "max_lr": None,
                 "pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4},
    "loss": None,
    "metrics": None,
    "top_k": 5,
    "regularization": {"l1": {}, "l2": {}},
    "lr_scales": {},
    "fine_tune": None,
    "start_from": "seed",
    "early_stopping": None,
    "grad_clip": {"norm": None, "value": None},
    "cd_k": None,
    "mixed_precision": "off",
    "compile": False,
    "channels_last": True,
    "deterministic": False,
    "data_on_device": "auto",
    "device_data_limit_mb": 512,
    "num_workers": 0,
    "event_interval": 0.1,
    "activation_interval": 1.0,
    "checkpoint_interval": "auto",
    "tensorboard": True,
}

EARLY_STOPPING_DEFAULTS = {"monitor": "val_loss", "patience": 5, "min_delta": 0.0,
                           "restore_best": True}

# task of a dataset target -> default loss and metrics
TASK_DEFAULTS = {
    "classification": ("cross_entropy", ["accuracy"]),
    "binary": ("bce_with_logits", ["binary_accuracy"]),
    "multilabel": ("multilabel_bce", ["binary_accuracy"]),
    "regression": ("mse", ["mae"]),
    "reconstruction": ("mse", ["mse"]),
}


# Sane maxima (a setting beyond them is a typo or an attack, never a plan): key -> limit
LIMITS: dict[str, float] = {
    "epochs": 100_000, "batch_size": 2**24, "seed": 2**63 - 1, "top_k": 100_000,
    "cd_k": 1_000, "event_interval": 3_600, "activation_interval": 3_600, "checkpoint_interval": 86_400,
    "device_data_limit_mb": 2**24, "num_workers": 64, "lr": 1e6, "weight_decay": 1_000.0,
    "eps": 1.0, "rho": 1.0, "alpha": 1.0, "warmup_epochs": 100_000, "step_size": 1_000_000,
    "gamma": 10.0, "min_lr": 1e6, "patience": 1_000_000, "max_lr": 1e6,
    "div_factor": 1e12, "final_div_factor": 1e12, "min_delta": 1e12, "norm": 1e12,
    "value": 1e12,
}
LIMIT_REASONS = {"epochs": "a run that long never ends", "cd_k": "each batch would run "
                 "that many Gibbs steps", "lr": "larger steps only make the loss explode",
                 "num_workers": "each worker is a process"}
MAX_PENALTY = 1e6


class ConfigError(ValueError):
    """A training setting is invalid; the message names the key, e.g.
    "training.optimizer.lr must be > 0, got -1"."""

    def __init__(self, message: str = ""):
        super().__init__(clip_message(message))


def _merge(defaults: dict, given: dict, where: str) -> dict:
    out = copy.deepcopy(defaults)
    for key, value in given.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            raise ConfigError(f"{where}.{key} is not a known setting (known: {known})")
        if isinstance(defaults[key], dict) and key not in ("regularization", "lr_scales"):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}.{key} must be an object, got {quote(value)}")
            out[key] = _merge(defaults[key], value, f"{where}.{key}")
        else:
            out[key] = copy.deepcopy(value)
    return out


def _number(cfg: dict, key: str, where: str, *, positive=False, minimum=None, integer=False,
            optional=False, maximum=None) -> None:
    value = cfg[key]
    name = f"{where}.{key}"
    if value is None and optional:
        return
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        want = "an integer" if integer else "a number"
        raise ConfigError(f"{name} must be {want}, got {quote(value)}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer too large for a float (10**400)
        finite = False
    if not finite:
        raise ConfigError(f"{name} must be a finite number, got {quote(value)}")
    if positive and value <= 0:
        raise ConfigError(f"{name} must be > 0, got {quote(value)}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {quote(value)}")
    limit = LIMITS.get(key) if maximum is None else maximum
    if limit is not None and value > limit:
        raise ConfigError(f"{name} must be at most {limit:,}, got {quote(value)}"
                          + (f" ({LIMIT_REASONS[key]})" if key in LIMIT_REASONS else ""))


def _choice(value: Any, choices: tuple, name: str) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}, "
                          f"got {quote(value)}")


def resolve_config(training: dict | None, overrides: dict | None = None,
                   where: str = "training") -> dict:
    """The full training config: `training` (a project's section) over DEFAULTS, then
    `overrides` (flat keys epochs/batch_size/lr/seed/device or any top-level key). Raises
    ConfigError naming the bad key."""
    training = dict(training or {})
    if not isinstance(training, dict):
        raise ConfigError(f"{where} must be an object")
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if "lr" in overrides:
        opt = dict(training.get("optimizer") or {})
        opt["lr"] = overrides.pop("lr")
        training["optimizer"] = opt
    training.update(overrides)
    cfg = _merge(DEFAULTS, training, where)
    validate_config(cfg, where)
    return cfg


def validate_config(cfg: dict, where: str = "training") -> None:
    """Check every value of a merged config; raise ConfigError naming the first bad key."""
    _number(cfg, "epochs", where, integer=True, minimum=1)
    _number(cfg, "batch_size", where, integer=True, minimum=1)
    _number(cfg, "seed", where, integer=True, minimum=0)
    _number(cfg, "top_k", where, integer=True, minimum=1)
    _number(cfg, "cd_k", where, integer=True, minimum=1, optional=True)
    _number(cfg, "event_interval", where, minimum=0)
    _number(cfg, "activation_interval", where, minimum=0)
    if cfg["checkpoint_interval"] != "auto":
        _number(cfg, "checkpoint_interval", where, minimum=0)
    _number(cfg, "device_data_limit_mb", where, minimum=0)
    _number(cfg, "num_workers", where, integer=True, minimum=0,
            maximum=min(LIMITS["num_workers"], os.cpu_count() or 1))
    dev = cfg["device"]
    if not isinstance(dev, str) or not (dev in ("auto", "cpu", "cuda", "mps")
                                        or dev.startswith("cuda:")):
        raise ConfigError(f"{where}.device must be auto, cpu, cuda or cuda:N, got {quote(dev)}")
    _validate_optimizer(cfg["optimizer"], f"{where}.optimizer")
    _validate_schedule(cfg["schedule"], f"{where}.schedule")
    _validate_losses(cfg["loss"], f"{where}.loss")
    if cfg["metrics"] is not None:
        if not isinstance(cfg["metrics"], list):
            raise ConfigError(f"{where}.metrics must be a list, got {quote(cfg['metrics'])}")
        for i, m in enumerate(cfg["metrics"]):
            _choice(m, METRICS, f"{where}.metrics[{i}]")
    _validate_regularization(cfg["regularization"], f"{where}.regularization")
    from . import finetune

    finetune.validate(cfg, where)
    es = cfg["early_stopping"]
    if es is not None:
        if not isinstance(es, dict):
            raise ConfigError(f"{where}.early_stopping must be an object or null, got {quote(es)}")
        cfg["early_stopping"] = es = _merge(EARLY_STOPPING_DEFAULTS, es,
                                            f"{where}.early_stopping")
        if not isinstance(es["monitor"], str):
            raise ConfigError(f"{where}.early_stopping.monitor must be a metric name")
        _number(es, "patience", f"{where}.early_stopping", integer=True, minimum=0)
        _number(es, "min_delta", f"{where}.early_stopping", minimum=0)
    for key in ("norm", "value"):
        _number(cfg["grad_clip"], key, f"{where}.grad_clip", positive=True, optional=True)
    _choice(cfg["mixed_precision"], PRECISIONS, f"{where}.mixed_precision")
    _choice(cfg["start_from"], ("seed", "weights"), f"{where}.start_from")
    if not isinstance(cfg["compile"], (bool, str)):
        raise ConfigError(f"{where}.compile must be true, false or a backend name")
    _choice(cfg["data_on_device"], ("auto", True, False), f"{where}.data_on_device")
    for key in ("channels_last", "deterministic", "tensorboard"):
        if not isinstance(cfg[key], bool):
            raise ConfigError(f"{where}.{key} must be true or false, got {quote(cfg[key])}")


def _validate_optimizer(opt: dict, where: str) -> None:
    _choice(opt["name"], OPTIMIZERS, f"{where}.name")
    _number(opt, "lr", where, positive=True)
    _number(opt, "weight_decay", where, minimum=0)
    _number(opt, "momentum", where, minimum=0, optional=True)
    if opt["momentum"] is not None and opt["momentum"] >= 1:
        raise ConfigError(f"{where}.momentum must be < 1, got {quote(opt['momentum'])}")
    _number(opt, "eps", where, positive=True)
    for key in ("rho", "alpha"):
        _number(opt, key, where, minimum=0)
    betas = opt["betas"]
    if (not isinstance(betas, (list, tuple)) or len(betas) != 2 or
            not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)):
        raise ConfigError(f"{where}.betas must be two numbers in [0, 1), got {quote(betas)}")


def _validate_schedule(s: dict, where: str) -> None:
    _choice(s["name"], SCHEDULES, f"{where}.name")
    _number(s, "warmup_epochs", where, minimum=0)
    _number(s, "step_size", where, integer=True, minimum=1)
    _number(s, "gamma", where, positive=True)
    _number(s, "min_lr", where, minimum=0)
    _number(s, "factor", where, positive=True)
    if s["factor"] >= 1:
        raise ConfigError(f"{where}.factor must be < 1, got {quote(s['factor'])}")
    _number(s, "patience", where, integer=True, minimum=0)
    _number(s, "max_lr", where, positive=True, optional=True)
    _number(s, "pct_start", where, positive=True)
    if s["pct_start"] >= 1:
        raise ConfigError(f"{where}.pct_start must be < 1, got {quote(s['pct_start'])}")
    _number(s, "div_factor", where, positive=True)
    _number(s, "final_div_factor", where, positive=True)


def _validate_losses(loss: Any, where: str) -> None:
    if loss is None:
        return
    if isinstance(loss, list):
        if not loss:
            raise ConfigError(f"{where} must name at least one loss")
        for i, name in enumerate(loss):
            _choice(name, LOSSES, f"{where}[{i}]")
    else:
        _choice(loss, LOSSES, where)


def _validate_regularization(reg: Any, where: str) -> None:
    if not isinstance(reg, dict):
        raise ConfigError(f"{where} must be an object, got {quote(reg)}")
    for kind, coefs in reg.items():
        if kind not in ("l1", "l2"):
            raise ConfigError(f"{where}.{kind} is not a known setting (known: l1, l2)")
        if not isinstance(coefs, dict):
            raise ConfigError(f"{where}.{kind} must map node names to coefficients")
        for name in coefs:
            _number(coefs, name, f"{where}.{kind}", minimum=0, maximum=MAX_PENALTY)
    reg.setdefault("l1", {})
    reg.setdefault("l2", {})


def losses_for(cfg: dict, tasks: list[str], n_outputs: int) -> list[str]:
    """One loss name per Output node: the config's, else each target task's default."""
    loss = cfg["loss"]
    if isinstance(loss, list):
        if len(loss) != n_outputs:
            raise ConfigError(f"training.loss lists {len(loss)} losses but the model has "
                              f"{n_outputs} Output node(s)")
        return list(loss)
    if loss is not None:
        return [loss] * n_outputs
    out = []
    for i in range(n_outputs):
        task = tasks[i] if i < len(tasks) else "regression"
        out.append(TASK_DEFAULTS.get(task, TASK_DEFAULTS["regression"])[0])
    return out


def metrics_for(cfg: dict, losses: list[str]) -> list[str]:
    """The metric names to report (the config's, else from the first output's loss)."""
    if cfg["metrics"] is not None:
        return list(cfg["metrics"])
    by_loss = {"cross_entropy": ["accuracy"], "bce_with_logits": ["binary_accuracy"],
               "bce": ["binary_accuracy"], "hinge": ["binary_accuracy"],
               "multilabel_bce": ["binary_accuracy"], "mse": ["mae"], "mae": ["mae"],
               "huber": ["mae"], "cd": []}
    return by_loss.get(losses[0], []) if losses else []
