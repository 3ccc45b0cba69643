"""The hand-written PyTorch loops bench/train_throughput.py compares the Trainer with.

Both train the example's compiled graph (same seed) on the tensors the Trainer trains on
(already on the device), with the same batch size, shuffling, optimizer and learning-rate
schedule (digits_cnn: cosine, torch's CosineAnnealingLR stepped once per epoch):

  hand          shuffle, slice, forward, loss, backward, step; the epoch's mean loss.
  hand_metrics  the same, plus the training metrics the Trainer reports each epoch,
                computed as a careful PyTorch user would: accuracy counted on the device per
                step (argmax == label, summed; one sync per epoch); mae / r2 from the
                epoch's outputs and targets kept per step (detached), at the epoch's end.

Neither evaluates a validation split: the benchmark's projects have none, so the Trainer does
no evaluation pass either.
"""
from __future__ import annotations

import torch

from engine import compile_graph

LOSSES = {"cross_entropy": torch.nn.functional.cross_entropy,
          "mse": torch.nn.functional.mse_loss}
HAND_METRICS = ("accuracy", "mae", "r2")


def describe() -> str:
    return "\n\n".join(__doc__.split("\n\n")[1:4])


def _nothing():
    class Nothing:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False
    return Nothing()


def _setup(case, epochs: int):
    """(model, optimizer, shuffling generator, the schedule's per-epoch step)."""
    cfg = case.project.training
    torch.manual_seed(cfg.get("seed", 0))
    model = compile_graph(case.project.graph, load_weights=False)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["optimizer"]["lr"])
    gen = torch.Generator().manual_seed(cfg.get("seed", 0))
    schedule = (cfg.get("schedule") or {}).get("name", "constant")
    if schedule == "cosine":
        return model, opt, gen, torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs).step
    if schedule != "constant":
        raise SystemExit(f"{case.name}: the hand-written loop has no {schedule!r} schedule")
    return model, opt, gen, lambda: None


def run_hand(case, epochs: int, measure=None) -> int:
    """The loop a PyTorch user writes: shuffle, slice, forward, loss, backward, step."""
    model, opt, gen, next_epoch = _setup(case, epochs)
    x, y, bs, loss_fn = case.x, case.y, case.batch_size, LOSSES[case.loss]
    with measure or _nothing():
        model.train()
        for _ in range(epochs):
            total = 0.0
            for idx in torch.randperm(len(x), generator=gen).split(bs):
                loss = loss_fn(model(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            next_epoch()
    return len(x) * epochs


def metric_names(case) -> list[str]:
    names = case.metrics
    unknown = [m for m in names if m not in HAND_METRICS]
    if unknown:
        raise SystemExit(f"{case.name}: the hand-written loop computes {', '.join(HAND_METRICS)}"
                         f", not {', '.join(unknown)}")
    return names


def run_hand_metrics(case, epochs: int, measure=None) -> int:
    """run_hand plus the training metrics the Trainer reports (see the module's text)."""
    model, opt, gen, next_epoch = _setup(case, epochs)
    x, y, bs, loss_fn = case.x, case.y, case.batch_size, LOSSES[case.loss]
    names = metric_names(case)
    count = "accuracy" in names
    keep = any(m in names for m in ("mae", "r2"))
    rows = []
    with measure or _nothing():
        model.train()
        for _ in range(epochs):
            total, correct, outs, tgts = 0.0, torch.zeros((), dtype=torch.long), [], []
            for idx in torch.randperm(len(x), generator=gen).split(bs):
                out, target = model(x[idx]), y[idx]
                loss = loss_fn(out, target)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
                if count:
                    correct += (out.detach().argmax(dim=1) == target).sum()
                if keep:
                    outs.append(out.detach())
                    tgts.append(target)
            row = {"loss": total / len(x)}
            if count:
                row["accuracy"] = correct.item() / len(x)
            if keep:
                row.update(_regression(torch.cat(outs), torch.cat(tgts), names))
            rows.append(row)
            next_epoch()
    case.hand_rows = rows
    return len(x) * epochs


def _regression(out, target, names) -> dict:
    err = (out.double() - target.double()).reshape(len(out), -1)
    row = {}
    if "mae" in names:
        row["mae"] = err.abs().mean().item()
    if "r2" in names:
        t = target.double().reshape(len(out), -1)
        ss_res = (err ** 2).sum(dim=0)
        ss_tot = ((t - t.mean(dim=0)) ** 2).sum(dim=0)
        row["r2"] = (1 - ss_res / ss_tot).mean().item()
    return row
