"""Training steps/s of compiled graphs vs. the same networks written by hand in PyTorch.

Both models get the same weights and the same batches; rounds alternate A (compiled) and
B (hand-written) so machine noise hits both alike. Target: ratio >= 0.98.
Run: python -m bench.compile_overhead [--rounds 6] [--steps 30]"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from bench.common import print_table, write_json  # noqa: E402
from engine import Graph, compile_graph  # noqa: E402


def chain(specs) -> Graph:
    g, prev = Graph(), None
    for t, p in specs:
        n = g.add_node(t, p)
        if prev is not None:
            g.connect(prev.id, "out", n.id, "in")
        prev = n
    return g


def mlp():
    g = chain([("io.Input", {"shape": [784]}), ("core.Linear", {"out_features": 256}),
               ("act.ReLU", {}), ("core.Linear", {"out_features": 256}), ("act.ReLU", {}),
               ("core.Linear", {"out_features": 10}), ("io.Output", {})])
    ref = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                        nn.Linear(256, 10))
    return g, ref, (784,)


def cnn():
    g = chain([("io.Input", {"shape": [1, 28, 28]}),
               ("conv.Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}),
               ("act.ReLU", {}), ("pool.MaxPool2d", {"kernel_size": 2}),
               ("conv.Conv2d", {"out_channels": 32, "kernel_size": 3, "padding": 1}),
               ("act.ReLU", {}), ("pool.MaxPool2d", {"kernel_size": 2}), ("core.Flatten", {}),
               ("core.Linear", {"out_features": 10}), ("io.Output", {})])
    ref = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    return g, ref, (1, 28, 28)


class _ResidualRef(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.relu0 = nn.ReLU()
        self.c1 = nn.Conv2d(16, 16, 3, padding=1)
        self.r1 = nn.ReLU()
        self.c2 = nn.Conv2d(16, 16, 3, padding=1)
        self.r2 = nn.ReLU()
        self.flat = nn.Flatten()
        self.fc = nn.Linear(16 * 16 * 16, 10)

    def forward(self, x):
        x = self.relu0(self.stem(x))
        y = self.c2(self.r1(self.c1(x)))
        return self.fc(self.flat(self.r2(x + y)))


def residual_cnn():
    g = Graph()
    x = g.add_node("io.Input", {"shape": [3, 16, 16]})
    stem = g.add_node("conv.Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1})
    r0 = g.add_node("act.ReLU")
    c1 = g.add_node("conv.Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1})
    r1 = g.add_node("act.ReLU")
    c2 = g.add_node("conv.Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1})
    add = g.add_node("merge.Add")
    r2 = g.add_node("act.ReLU")
    flat = g.add_node("core.Flatten")
    fc = g.add_node("core.Linear", {"out_features": 10})
    out = g.add_node("io.Output")
    for a, b, port in [(x, stem, "in"), (stem, r0, "in"), (r0, c1, "in"), (c1, r1, "in"),
                       (r1, c2, "in"), (r0, add, "in1"), (c2, add, "in2"), (add, r2, "in"),
                       (r2, flat, "in"), (flat, fc, "in"), (fc, out, "in")]:
        g.connect(a.id, "out", b.id, port)
    return g, _ResidualRef(), (3, 16, 16)


class _LSTMRef(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 64, batch_first=True)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def lstm():
    from engine.layers import REGISTRY
    spec = REGISTRY.get("rnn.LSTM")
    if spec is None:
        return None
    mode = next(p for p in spec.params if p.kind == "choice" and "last" in p.choices)
    g = chain([("io.Input", {"shape": [32, 16]}),
               ("rnn.LSTM", {"hidden_size": 64, mode.name: "last"}),
               ("core.Linear", {"out_features": 10}), ("io.Output", {})])
    return g, _LSTMRef(), (32, 16)


def steps_per_second(model, x, y, steps: int) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
    return steps / (time.perf_counter() - t0)


def measure(name, build, rounds: int, steps: int, batch: int) -> dict | None:
    built = build()
    if built is None:
        return None
    graph, ref, shape = built
    torch.manual_seed(0)
    compiled = compile_graph(graph)
    ref.load_state_dict(dict(zip(ref.state_dict(), compiled.state_dict().values())))
    x, y = torch.randn(batch, *shape), torch.randint(0, 10, (batch,))
    torch.testing.assert_close(compiled(x), ref(x))  # same network, same weights
    steps_per_second(compiled, x, y, 3)
    steps_per_second(ref, x, y, 3)
    ratios, a_all, b_all = [], [], []
    for _ in range(rounds):
        a = steps_per_second(compiled, x, y, steps)
        b = steps_per_second(ref, x, y, steps)
        a_all.append(a)
        b_all.append(b)
        ratios.append(a / b)
    return {"model": name, "compiled_steps_s": statistics.median(a_all),
            "hand_steps_s": statistics.median(b_all), "ratio_median": statistics.median(ratios),
            "ratio_min": min(ratios), "ratio_max": max(ratios), "rounds": rounds}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (1 keeps noisy shared machines comparable)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name, build in [("MLP", mlp), ("CNN", cnn), ("residual CNN", residual_cnn),
                        ("LSTM", lstm)]:
        row = measure(name, build, args.rounds, args.steps, args.batch)
        if row is None:
            print(f"{name}: skipped (layer not registered)")
            continue
        rows.append(row)
    print_table(rows, ["model", "compiled_steps_s", "hand_steps_s", "ratio_median",
                       "ratio_min", "ratio_max"])
    write_json("compile_overhead", {"target_ratio": 0.98, "threads": args.threads,
                                    "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
