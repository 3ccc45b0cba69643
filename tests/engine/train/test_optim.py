"""Optimizers against their update rules in numpy; schedules against torch's schedulers."""
import math

import numpy as np
import pytest
import torch

from engine.train.config import resolve_config
from engine.train.optim import Schedule, build_optimizer

A = np.array([1.0, 2.0, 0.5, 3.0])
B = np.array([0.3, -0.2, 0.1, 0.5])
P0 = np.array([1.0, -1.0, 2.0, 0.5])


def grad(p):
    return A * p + B


def numpy_steps(name, lr, wd, steps, mu=0.9, b1=0.9, b2=0.999, eps=1e-8, rho=0.9,
                alpha=0.99):
    p = P0.copy()
    v = np.zeros_like(p)
    s = np.zeros_like(p)
    u = np.zeros_like(p)
    for t in range(1, steps + 1):
        g = grad(p)
        if name != "adamw":
            g = g + wd * p
        if name == "sgd":
            p = p - lr * g
        elif name in ("momentum", "nesterov"):
            v = g if t == 1 else mu * v + g
            p = p - lr * (g + mu * v if name == "nesterov" else v)
        elif name == "adagrad":
            s = s + g * g
            p = p - lr * g / (np.sqrt(s) + 1e-10)
        elif name == "adadelta":
            s = rho * s + (1 - rho) * g * g
            delta = np.sqrt(u + eps) / np.sqrt(s + eps) * g
            u = rho * u + (1 - rho) * delta * delta
            p = p - lr * delta
        elif name == "rmsprop":
            s = alpha * s + (1 - alpha) * g * g
            p = p - lr * g / (np.sqrt(s) + eps)
        else:  # adam / adamw
            if name == "adamw":
                p = p * (1 - lr * wd)
            v = b1 * v + (1 - b1) * g
            s = b2 * s + (1 - b2) * g * g
            p = p - lr * (v / (1 - b1 ** t)) / (np.sqrt(s / (1 - b2 ** t)) + eps)
    return p


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "adadelta",
                                  "rmsprop", "adam", "adamw"])
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_optimizer_matches_update_rule(name, wd):
    opt_cfg = resolve_config({"optimizer": {"name": name, "lr": 0.05, "weight_decay": wd,
                                            "eps": 1e-10 if name == "adagrad" else 1e-8}})
    p = torch.tensor(P0, dtype=torch.float64, requires_grad=True)
    opt = build_optimizer([p], opt_cfg["optimizer"])
    a, b = torch.tensor(A), torch.tensor(B)
    for _ in range(4):
        opt.zero_grad()
        (0.5 * (a * p * p).sum() + (b * p).sum()).backward()
        opt.step()
    expected = numpy_steps(name, 0.05, wd, 4)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-9, atol=1e-12)
    assert not np.allclose(expected, P0)


def _schedule(name, epochs=8, steps=5, lr=0.1, **kw):
    cfg = resolve_config({"epochs": epochs, "schedule": {"name": name, **kw},
                          "optimizer": {"lr": lr}})
    return Schedule(cfg["schedule"], lr, epochs, steps)


def _torch_opt(lr=0.1):
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)


def _epoch_lrs(torch_sched, opt, epochs):
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        torch_sched.step()
    return out


@pytest.mark.parametrize("name, kw, make", [
    ("constant", {}, lambda o: torch.optim.lr_scheduler.ConstantLR(o, factor=1.0)),
    ("step", {"step_size": 3, "gamma": 0.5},
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    ("exponential", {"gamma": 0.8},
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.8)),
    ("cosine", {"min_lr": 0.001},
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=8, eta_min=0.001)),
])
def test_epoch_schedules_match_torch(name, kw, make):
    sched = _schedule(name, **kw)
    ours = [sched.lr_at(e, e * 5) for e in range(8)]
    opt = _torch_opt()
    theirs = _epoch_lrs(make(opt), opt, 8)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    # constant within an epoch
    assert sched.lr_at(2, 10) == sched.lr_at(2, 14)


def test_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.9, 0.91, 0.95, 0.8, 0.85, 0.86, 0.87, 0.9, 0.9, 0.9]
    sched = _schedule("plateau", epochs=12, factor=0.5, patience=2, min_lr=0.02)
    opt = _torch_opt()
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2,
                                                     min_lr=0.02)
    ours, theirs = [], []
    for m in metrics:
        ours.append(sched.lr_at(0, 0))
        theirs.append(opt.param_groups[0]["lr"])
        sched.end_epoch(m)
        ref.step(m)
    assert ours == pytest.approx(theirs)
    assert min(ours) < 0.1  # it did reduce


def test_onecycle_matches_torch():
    sched = _schedule("onecycle", epochs=4, steps=5, lr=0.01, max_lr=0.2, pct_start=0.25)
    opt = _torch_opt(0.01)
    ref = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=20,
                                              pct_start=0.25, cycle_momentum=False)
    theirs = []
    for _ in range(20):
        theirs.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step()
    ours = [sched.lr_at(s // 5, s) for s in range(20)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def test_linear_warmup_matches_torch_linear_lr():
    sched = _schedule("constant", steps=4, warmup_epochs=1)
    opt = _torch_opt()
    ref = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
    theirs = []
    for _ in range(8):
        theirs.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step()
    ours = [sched.lr_at(s // 4, s) for s in range(8)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def test_warmup_combines_with_cosine():
    sched = _schedule("cosine", epochs=4, steps=2, warmup_epochs=1)
    assert sched.lr_at(0, 0) == pytest.approx(0.05)
    assert sched.lr_at(1, 2) == pytest.approx(0.1 * (1 + math.cos(math.pi / 4)) / 2)
