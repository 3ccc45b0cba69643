"""What each speed default of Studio's Trainer gains over the loop a beginner writes.

Studio trains with: the dataset as tensors on the training device, indexed per batch (no
DataLoader); `zero_grad(set_to_none=True)`; no `torch.compile` (opt-in: training.compile).
Pinned memory, non-blocking copies, channels-last and AMP are on by default on CUDA only
(setup.py and batches.py check the device): this machine has no GPU, so they are not measured
here. Each side below is a hand-written loop on the example's compiled graph, with one default
undone (or, for compile, turned on); rounds interleave and rotate the order; CPU time per
sample (the machine is shared); gain = side's time / the defaults' time (> 1: the default
wins by that factor).
Run: python -m bench.train_defaults [--examples digits_mlp,digits_cnn] [--rounds 3]
     [--epochs 1] [--compile]
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from bench.common import print_table, write_json
from bench.train_throughput import LOSSES, Case, Timed
from engine import compile_graph


def loop(case: Case, epochs: int, measure, *, loader=False, set_to_none=True,
         compiled=False) -> int:
    cfg = case.project.training
    torch.manual_seed(cfg.get("seed", 0))
    model = compile_graph(case.project.graph, load_weights=False)
    net = torch.compile(model) if compiled else model
    opt = torch.optim.Adam(model.parameters(), lr=cfg["optimizer"]["lr"])
    gen = torch.Generator().manual_seed(cfg.get("seed", 0))
    x, y, bs, loss_fn = case.x, case.y, case.batch_size, LOSSES[case.loss]
    if loader:
        data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y),
                                           batch_size=bs, shuffle=True, generator=gen)
    with measure:
        model.train()
        for _ in range(epochs):
            batches = data if loader else (
                (x[i], y[i]) for i in torch.randperm(len(x), generator=gen).split(bs))
            for xb, yb in batches:
                loss = loss_fn(net(xb), yb)
                opt.zero_grad(set_to_none=set_to_none)
                loss.backward()
                opt.step()
                loss.item()
    return len(x) * epochs


SIDES = {
    "studio_defaults": {},
    "dataloader": {"loader": True},            # undo: data on the device, indexed per batch
    "zero_grad_fill": {"set_to_none": False},  # undo: zero_grad(set_to_none=True)
    "torch_compile": {"compiled": True},       # turn on: torch.compile (opt-in in Studio)
}


def rounds(case: Case, sides: list[str], n_rounds: int, epochs: int) -> list[dict]:
    for side in sides:   # warm-up (and torch.compile's compilation)
        loop(case, 1, Timed(), **SIDES[side])
    rows = []
    for r in range(n_rounds):
        row: dict = {"round": r + 1}
        for side in sides[r % len(sides):] + sides[:r % len(sides)]:
            t = Timed()
            n = loop(case, epochs, t, **SIDES[side])
            row[f"{side}_cpu_us"] = t.cpu / n * 1e6
        rows.append(row)
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", default="digits_mlp,digits_cnn")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--compile", action="store_true", help="also measure torch.compile "
                    "(needs a C++ compiler; compiling takes a while)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    sides = [s for s in SIDES if args.compile or s != "torch_compile"]
    out: dict = {"threads": args.threads, "epochs": args.epochs}
    table = []
    for ex in args.examples.split(","):
        case = Case(ex)
        rows = rounds(case, sides, args.rounds, args.epochs)
        base = [r["studio_defaults_cpu_us"] for r in rows]
        entry: dict = {"rounds": rows}
        for side in sides[1:]:
            gains = [r[f"{side}_cpu_us"] / b for r, b in zip(rows, base)]
            entry[side] = {"median_gain": statistics.median(gains), "min": min(gains),
                           "max": max(gains)}
            table.append({"example": ex, "default": side,
                          "defaults_cpu_us": statistics.median(base),
                          "without_cpu_us": statistics.median(r[f"{side}_cpu_us"]
                                                              for r in rows),
                          "gain_median": statistics.median(gains), "gain_min": min(gains),
                          "gain_max": max(gains)})
        out[ex] = entry
    print(f"\nCPU microseconds per sample, {args.rounds} interleaved rounds of {args.epochs} "
          f"epoch(s), {args.threads} thread(s); gain = without / with Studio's default")
    print_table(table, ["example", "default", "defaults_cpu_us", "without_cpu_us",
                        "gain_median", "gain_min", "gain_max"])
    print("CUDA-only defaults (pinned memory, non_blocking copies, channels_last, AMP): not "
          "measurable here (no GPU)")
    out["table"] = table
    write_json("train_defaults", out)


if __name__ == "__main__":
    main()
