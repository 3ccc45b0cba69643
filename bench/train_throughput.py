"""Training samples/s of the Trainer (what `studio train` runs) vs. a hand-written PyTorch loop.

Same model (the example's compiled graph, same seed), same data (the example's training split,
on the device), same batch size and shuffling; rounds alternate A (Trainer.fit) and B (the
hand-written loop) so machine noise hits both alike. The Trainer does its usual per-epoch work
(train metrics, events) but writes no run folder and has no validation split, so both sides do
only training. Target: ratio A/B >= 0.97.
Run: python -m bench.train_throughput [--example digits_cnn] [--rounds 6] [--epochs 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from bench.common import print_table, write_json
from engine import compile_graph
from engine.examples import example_path
from engine.project import load_project
from engine.train.trainer import Trainer


def load(example: str):
    project = load_project(example_path(example), weights=False)
    project.dataset.update({"val_split": 0.0, "test_split": 0.0})
    return project


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start) -> tuple[float, float]:
    wall, cpu = clocks()
    return wall - start[0], cpu - start[1]


def run_trainer(project, data, epochs: int) -> tuple[tuple[float, float], int]:
    trainer = Trainer(project, "cpu", data=data, run_dir=False, epochs=epochs)
    trainer.setup()
    t0 = clocks()
    result = trainer.fit()
    elapsed = since(t0)
    assert result.status == "completed", result.error
    return elapsed, len(trainer.state.train_data) * epochs


def run_hand(project, data, epochs: int) -> tuple[tuple[float, float], int]:
    """The loop a PyTorch user writes: shuffle, slice, forward, loss, backward, step."""
    cfg = project.training
    torch.manual_seed(cfg.get("seed", 0))
    model = compile_graph(project.graph, load_weights=False)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["optimizer"]["lr"])
    x = torch.as_tensor(data.train.x).float()
    y = torch.as_tensor(data.train.y[0]).long()
    gen = torch.Generator().manual_seed(cfg.get("seed", 0))
    bs = cfg["batch_size"]
    loss_fn = torch.nn.functional.cross_entropy
    t0 = clocks()
    model.train()
    for _ in range(epochs):
        total = 0.0
        for idx in torch.randperm(len(x), generator=gen).split(bs):
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
    return since(t0), len(x) * epochs


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--example", default="digits_cnn")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    project = load(args.example)
    if project.training.get("loss", "cross_entropy") != "cross_entropy":
        raise SystemExit("the hand-written loop covers cross-entropy classifiers")
    from engine.data import load_dataset
    from engine.validate import validate

    report = validate(project.graph)
    in_id = next(n for n in report.order if project.graph.nodes[n].spec.role == "input")
    t = report.out_types[in_id][0]
    data = load_dataset(project.dataset, project.folder, tuple(t.shape), t.dtype)
    run_trainer(project, data, 1)  # warm-up both paths
    run_hand(project, data, 1)
    rows = []
    for r in range(args.rounds):
        runs = [("trainer", run_trainer), ("hand", run_hand)]
        if r % 2:
            runs.reverse()  # alternate which side goes first
        got = {name: fn(project, data, args.epochs) for name, fn in runs}
        (wa, ca), na = got["trainer"]
        (wb, cb), nb = got["hand"]
        rows.append({"round": r + 1, "trainer_samples_s": na / wa, "hand_samples_s": nb / wb,
                     "ratio_wall": (na / wa) / (nb / wb),
                     "ratio_cpu": (na / ca) / (nb / cb), "cpu_a": ca / na, "cpu_b": cb / nb})
    print(f"{args.example}: {len(data.train)} training samples, batch "
          f"{project.training['batch_size']}, {args.epochs} epochs per round, "
          f"{args.threads} thread(s)\n")
    print_table(rows, ["round", "trainer_samples_s", "hand_samples_s", "ratio_wall",
                       "ratio_cpu"])
    med = {k: statistics.median(r[k] for r in rows)
           for k in ("trainer_samples_s", "hand_samples_s", "ratio_wall", "ratio_cpu")}
    best = max(r["trainer_samples_s"] for r in rows) / max(r["hand_samples_s"] for r in rows)
    best_cpu = min(r["cpu_b"] for r in rows) / min(r["cpu_a"] for r in rows)
    print(f"\nratio Trainer / hand-written (target >= 0.97):\n"
          f"  median of rounds, wall clock   {med['ratio_wall']:.3f}\n"
          f"  median of rounds, CPU time     {med['ratio_cpu']:.3f}\n"
          f"  best round each, wall clock    {best:.3f}\n"
          f"  best round each, CPU time      {best_cpu:.3f}  (least sensitive to other load)")
    write_json("train_throughput", {"example": args.example, "rounds": rows,
                                    "median_ratio_wall": med["ratio_wall"],
                                    "median_ratio_cpu": med["ratio_cpu"],
                                    "best_of_rounds_ratio_wall": best,
                                    "best_of_rounds_ratio_cpu": best_cpu,
                                    "trainer_samples_s": med["trainer_samples_s"],
                                    "hand_samples_s": med["hand_samples_s"],
                                    "epochs": args.epochs, "threads": args.threads,
                                    "batch_size": project.training["batch_size"]})


if __name__ == "__main__":
    main()
