"""Optimizers by name and learning-rate schedules (with linear warm-up).

The schedule is computed here rather than with torch.optim.lr_scheduler so that warm-up
combines with every schedule and its whole state is a small JSON dict (checkpoints never pickle).
Epoch-based schedules (step, exponential, cosine, plateau) keep the rate constant within an
epoch; one-cycle and warm-up change it every step.
"""
from __future__ import annotations

import math

from ..guard.text import quote


def build_optimizer(params, opt: dict):
    """A torch optimizer for `params` from the config's "optimizer" section."""
    import torch

    name, lr, wd = opt["name"], opt["lr"], opt["weight_decay"]
    momentum = opt.get("momentum")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum or 0.0, weight_decay=wd)
    if name in ("momentum", "nesterov"):
        mom = 0.9 if momentum is None else momentum
        if name == "nesterov" and mom <= 0:
            raise ValueError("training.optimizer.momentum must be > 0 for nesterov")
        return torch.optim.SGD(params, lr=lr, momentum=mom, nesterov=name == "nesterov",
                               weight_decay=wd)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=wd, eps=opt["eps"])
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, rho=opt["rho"], eps=opt["eps"],
                                    weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=opt["alpha"], eps=opt["eps"],
                                   momentum=momentum or 0.0, weight_decay=wd)
    betas = tuple(opt["betas"])
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, eps=opt["eps"], weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas, eps=opt["eps"], weight_decay=wd)
    raise ValueError(f"training.optimizer.name: unknown optimizer {quote(name)}")


class Schedule:
    """Learning rate as a function of (epoch, step within the run), plus plateau state.

    `lr_at(epoch, global_step)` gives the rate for the step about to run (epoch counts from 0);
    `end_epoch(monitored)` feeds reduce-on-plateau.
    """

    def __init__(self, cfg: dict, base_lr: float, epochs: int, steps_per_epoch: int):
        self.cfg = cfg
        self.name = cfg["name"]
        self.base_lr = base_lr
        self.epochs = epochs
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.warmup_steps = round(cfg["warmup_epochs"] * self.steps_per_epoch)
        # reduce-on-plateau state (same rules as torch's ReduceLROnPlateau, mode "min")
        self.plateau_lr = base_lr
        self.best = math.inf
        self.bad_epochs = 0

    @property
    def per_step(self) -> bool:
        """The rate can change within an epoch (one-cycle, warm-up); else it is set once per
        epoch."""
        return self.name == "onecycle" or self.warmup_steps > 0

    def lr_at(self, epoch: int, global_step: int) -> float:
        lr = self._schedule(epoch, global_step)
        if self.name != "onecycle" and self.warmup_steps and global_step < self.warmup_steps:
            lr *= (global_step + 1) / self.warmup_steps
        return lr

    def _schedule(self, epoch: int, step: int) -> float:
        c, lr0 = self.cfg, self.base_lr
        if self.name == "constant":
            return lr0
        if self.name == "step":
            return lr0 * c["gamma"] ** (epoch // c["step_size"])
        if self.name == "exponential":
            return lr0 * c["gamma"] ** epoch
        if self.name == "cosine":
            t = min(epoch, self.epochs)
            return c["min_lr"] + (lr0 - c["min_lr"]) * (1 + math.cos(math.pi * t / self.epochs)) / 2
        if self.name == "plateau":
            return self.plateau_lr
        return self._onecycle(step)

    def _onecycle(self, step: int) -> float:
        """torch.optim.lr_scheduler.OneCycleLR, cosine annealing, two phases."""
        c = self.cfg
        max_lr = c["max_lr"] or self.base_lr
        initial = max_lr / c["div_factor"]
        final = initial / c["final_div_factor"]
        total = self.epochs * self.steps_per_epoch
        up_end = float(c["pct_start"] * total) - 1
        down_end = float(total - 1)
        step = min(step, total - 1)
        if step <= up_end:
            return _cos_anneal(initial, max_lr, step / up_end if up_end > 0 else 1.0)
        return _cos_anneal(max_lr, final, (step - up_end) / (down_end - up_end))

    def end_epoch(self, monitored: float | None) -> None:
        """Reduce-on-plateau: after `patience` epochs without a relative improvement of 1e-4,
        multiply the rate by `factor` (never below min_lr)."""
        if self.name != "plateau" or monitored is None or not math.isfinite(monitored):
            return
        if monitored < self.best * (1 - 1e-4):
            self.best = monitored
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs > self.cfg["patience"]:
            new = max(self.plateau_lr * self.cfg["factor"], self.cfg["min_lr"])
            if self.plateau_lr - new > 1e-8:
                self.plateau_lr = new
            self.bad_epochs = 0

    def state_dict(self) -> dict:
        return {"plateau_lr": self.plateau_lr, "best": self.best if math.isfinite(self.best)
                else None, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.plateau_lr = state["plateau_lr"]
        self.best = math.inf if state["best"] is None else state["best"]
        self.bad_epochs = state["bad_epochs"]


def _cos_anneal(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def set_lr(optimizer, lr: float) -> None:
    """Every param group's rate: `lr` times the group's `lr_scale` (finetune.param_groups)."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
