"""Streaming an image folder from disk vs holding it in memory: samples per second.

One generated image folder (JPEG photos of mixed sizes in a few classes, resized to one size
on load) is read through the Trainer's own data objects:
  memory        decoded once at set-up, batches indexed in memory (the in-memory path)
  stream_wN     streamed from disk through the DataLoader with N worker processes (0, 1, 2)
                that live across epochs (started by the first pass, reused by the next)
  stream_wN_new the same with new workers for every pass (how it was before: each pass
                starts N processes from the fork server)
each image decoded and resized when its batch is read; the memory budget is so small that
nothing is cached (every epoch decodes again). Each round starts every side afresh (its
workers stopped) and times two epochs: `first` (with the workers' start-up) and `later`.
Rounds are interleaved (the order of the sides alternates); medians with the min-max
spread, plus process CPU time per sample (this process and its finished worker processes).
--train adds a small CNN's training steps to each epoch (default: the data path alone).
Run: python -m bench.data_stream [--images 900] [--size 64] [--rounds 5] [--batch 64]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from bench.common import print_table, write_json
from engine.graph import Graph
from engine.project import Project
from engine.train.trainer import Trainer

CLASSES = ("red", "green", "blue")


def make_folder(root: Path, images: int, size: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(images):
        c = i % len(CLASSES)
        h, w = (int(v) for v in rng.integers(size, size * 3 // 2, 2))   # mixed sizes
        a = rng.integers(0, 150, (h, w, 3))
        a[..., c] += 100
        folder = root / CLASSES[c]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(a.astype(np.uint8)).save(folder / f"{i}.jpg", quality=90)


def small_cnn(size: int) -> Graph:
    g = Graph()
    prev = g.add_node("io.Input", {"shape": [3, size, size]}, name="x", node_id="in")
    for kind, params, name in (
            ("conv.Conv2d", {"out_channels": 8, "kernel_size": 3, "stride": 2}, "conv1"),
            ("act.ReLU", {}, "relu1"),
            ("conv.Conv2d", {"out_channels": 16, "kernel_size": 3, "stride": 2}, "conv2"),
            ("act.ReLU", {}, "relu2"), ("pool.AdaptiveAvgPool2d", {"output_size": 1}, "gap"),
            ("core.Flatten", {}, "flat"), ("core.Linear", {"out_features": 3}, "fc")):
        node = g.add_node(kind, params, name=name, node_id=name)
        g.connect(prev.id, "out", node.id, "in")
        prev = node
    out = g.add_node("io.Output", {}, name="y", node_id="out")
    g.connect(prev.id, "out", out.id, "in")
    return g


def trainer_for(folder: Path, size: int, batch: int, stream: bool, workers: int) -> Trainer:
    dataset = {"source": "image_folder", "path": folder.name, "image_size": [size, size],
               "color": "RGB", "val_split": 0.0, "test_split": 0.0,
               "stream": stream, "memory_budget_mb": 0.001 if stream else 4096}
    project = Project(small_cnn(size), dataset, {"epochs": 1, "batch_size": batch,
                                                 "optimizer": {"name": "sgd", "lr": 0.01},
                                                 "data_on_device": True},
                      {}, {"name": "bench"}, folder.parent / "bench.nnproj")
    trainer = Trainer(project, "cpu", run_dir=False, num_workers=workers)
    t0 = time.perf_counter()
    trainer.setup()
    trainer.setup_s = time.perf_counter() - t0
    return trainer


def cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def one_epoch(trainer: Trainer, batch: int, train: bool, seed: int) -> tuple[float, float]:
    """(samples/s, CPU ms per sample) of one pass over the training batches."""
    s = trainer.state
    perm = torch.randperm(len(s.train_data), generator=torch.Generator().manual_seed(seed))
    model, opt = s.model, s.optimizer
    n = 0
    c0, t0 = cpu_s(), time.perf_counter()
    for xb, ys in s.train_data.batches(perm, batch):
        if train:
            loss = torch.nn.functional.cross_entropy(model(xb), ys[0])
            opt.zero_grad()
            loss.backward()
            opt.step()
        n += len(xb)
    wall, cpu = time.perf_counter() - t0, cpu_s() - c0
    return n / wall, 1000 * cpu / n


def sides_for(folder: Path, args) -> dict[str, Trainer]:
    sides = {"memory": trainer_for(folder, args.size, args.batch, False, 0)}
    for w in (int(v) for v in args.workers.split(",")):
        sides[f"stream_w{w}"] = trainer_for(folder, args.size, args.batch, True, w)
        if w:
            fresh = trainer_for(folder, args.size, args.batch, True, w)
            fresh.state.train_data.persistent_workers = False
            sides[f"stream_w{w}_new"] = fresh
    assert not getattr(sides["memory"].state.train_data, "from_disk", False)
    return sides


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=900)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--workers", default="0,1,2")
    p.add_argument("--train", action="store_true", help="time training steps too")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        make_folder(folder, args.images, args.size)
        sides = sides_for(folder, args)
        samples: dict = {(name, m): ([], []) for name in sides for m in ("first", "later")}
        names = list(sides)
        for r in range(args.rounds):
            for name in (names if r % 2 == 0 else names[::-1]):
                data = sides[name].state.train_data
                if hasattr(data, "close"):
                    data.close()            # this round starts without workers
                for epoch in ("first", "later"):
                    rate, cpu = one_epoch(sides[name], args.batch, args.train, r)
                    samples[(name, epoch)][0].append(rate)
                    samples[(name, epoch)][1].append(cpu)
        for trainer in sides.values():
            if hasattr(trainer.state.train_data, "close"):
                trainer.state.train_data.close()
        rows = []
        base = {m: statistics.median(samples[("memory", m)][0]) for m in ("first", "later")}
        for (name, epoch), (rates, cpus) in samples.items():
            med = statistics.median(rates)
            rows.append({"epoch": epoch, "side": name, "samples_s": round(med, 1),
                         "spread": f"{min(rates):.0f}-{max(rates):.0f}",
                         "vs_memory": round(med / base[epoch], 3),
                         "cpu_ms_per_sample": round(statistics.median(cpus), 3),
                         "setup_s": round(sides[name].setup_s, 2)})
        rows.sort(key=lambda r: (r["epoch"], r["side"]))
        what = "training epochs" if args.train else "epochs of the data path alone"
        print(f"{args.images} JPEG photos (mixed sizes, resized to {args.size}x{args.size}), "
              f"batch {args.batch}, {what}, {args.rounds} interleaved rounds, torch threads 1\n")
        print_table(rows, ["epoch", "side", "samples_s", "spread", "vs_memory",
                           "cpu_ms_per_sample", "setup_s"])
        write_json("data_stream", {"images": args.images, "size": args.size,
                                   "batch": args.batch, "rounds": args.rounds,
                                   "train": args.train, "rows": rows,
                                   "raw": {f"{k[0]}/{k[1]}": v[0]
                                           for k, v in samples.items()}})


if __name__ == "__main__":
    main()
