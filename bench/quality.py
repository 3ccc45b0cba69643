"""Quality: train the bundled examples with their own training settings and check their targets.

  digits_cnn     test accuracy >= 0.97
  digits_mlp     test accuracy >= 0.95
  xor_mlp        test accuracy == 1.0
  iris           test accuracy >= 0.93   (the iris example, else a 4-16-3 MLP built here)
  autoencoder    test reconstruction MSE <= 0.025 (pixels scaled to [0, 1]; PCA with the
                 same 8-number code reaches 0.0244, the mean image 0.074)
  lstm_sequence  test MSE at least 5x below the constant (train-mean) baseline
  embeddings     every word of each synonym group has a synonym among its 5 nearest words
                 (the embeddings example, else a skip-gram model built here)

Slow (minutes): run on demand, not in CI.  Run: python -m bench.quality [--only NAME ...]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from bench.common import print_table, write_json
from engine.examples import example_paths
from engine.graph import Graph
from engine.project import Project, load_project
from engine.train.trainer import Trainer


def _chain(layers, in_shape, dtype="float") -> Graph:
    g = Graph()
    prev = g.add_node("io.Input", {"shape": list(in_shape), "dtype": dtype}, name="x")
    for kind, params, name in layers:
        node = g.add_node(kind, params, name=name)
        g.connect(prev.id, "out", node.id, "in")
        prev = node
    out = g.add_node("io.Output", {}, name="y")
    g.connect(prev.id, "out", out.id, "in")
    return g


def iris_project() -> Project:
    graph = _chain([("core.Linear", {"out_features": 16}, "hidden"), ("act.ReLU", {}, "relu"),
                    ("core.Linear", {"out_features": 3}, "logits")], (4,))
    return Project(graph, {"source": "bundled", "name": "iris", "normalize": "standard",
                           "val_split": 0.2, "test_split": 0.2, "seed": 0},
                   {"epochs": 300, "batch_size": 16, "loss": "cross_entropy",
                    "metrics": ["accuracy"], "optimizer": {"name": "adam", "lr": 0.003},
                    "early_stopping": {"monitor": "val_loss", "patience": 20}},
                   meta={"name": "iris"})


def embeddings_project() -> Project:
    from engine.data.text import toy_corpus  # noqa: F401  (the corpus the data engine builds)

    graph = _chain([("core.Embedding", {"num_embeddings": 64, "embedding_dim": 16}, "embed"),
                    ("core.Flatten", {}, "flat"),
                    ("core.Linear", {"out_features": 64}, "context")], (1,), "long")
    return Project(graph, {"source": "synthetic", "name": "text", "mode": "skipgram",
                           "window": 2, "samples": 800, "seed": 0, "val_split": 0.1,
                           "test_split": 0.0},
                   {"epochs": 15, "batch_size": 128, "loss": "cross_entropy", "metrics": [],
                    "optimizer": {"name": "adam", "lr": 0.01}}, meta={"name": "embeddings"})


ALIASES = {"iris": ("iris", "iris_mlp"), "embeddings": ("embeddings", "word_embeddings",
                                                          "skipgram", "word2vec")}


def example(name: str, fallback=None) -> Project:
    paths = example_paths()
    for candidate in ALIASES.get(name, (name,)):
        if candidate in paths:
            return load_project(paths[candidate], weights=False)
    if fallback is None:
        raise SystemExit(f"no example named {name}")
    return fallback()


def train(project: Project) -> Trainer:
    trainer = Trainer(project, "cpu", run_dir=False)
    result = trainer.fit()
    if result.status == "failed":
        raise RuntimeError(f"{project.name}: {result.error}")
    return trainer


def accuracy_check(name, target, fallback=None):
    def check():
        trainer = train(example(name, fallback))
        key = "accuracy" if "accuracy" in trainer.state.metric_names else "binary_accuracy"
        acc = trainer.evaluate("test")[key]
        return acc, acc >= target, f"test {key} >= {target}"
    return check


def autoencoder_check(bound=0.025):
    def check():
        trainer = train(example("autoencoder"))
        test = trainer.splits.test
        out = trainer.predict(test.x)
        mse = float(np.mean((out.reshape(len(out), -1) - test.y[0].reshape(len(out), -1))
                            ** 2))
        return mse, mse <= bound, f"test MSE <= {bound}"
    return check


def lstm_check():
    trainer = train(example("lstm_sequence"))
    s = trainer.splits
    pred = trainer.predict(s.test.x).reshape(len(s.test.x), -1)
    y = s.test.y[0].reshape(len(pred), -1)
    mse = float(np.mean((pred - y) ** 2))
    baseline = float(np.mean((s.train.y[0].reshape(len(s.train.x), -1).mean(axis=0) - y)
                             ** 2))
    ratio = baseline / mse
    return ratio, ratio >= 5, f"baseline MSE {baseline:.4f} / model {mse:.4f} >= 5"


def embeddings_check():
    from engine.data.text import SYNONYM_GROUPS
    from engine.train.embeddings import most_similar

    trainer = train(example("embeddings", embeddings_project))
    vocab = trainer.splits.vocab
    hits, words, misses = 0, 0, []
    for group in SYNONYM_GROUPS.values():
        for word in group:
            if word not in vocab:
                continue
            top = [w for w, _ in most_similar(trainer.model, vocab, word, k=5)]
            words += 1
            if any(w in top for w in group if w != word):
                hits += 1
            else:
                misses.append(word)
    frac = hits / max(words, 1)
    note = "every word has a synonym in its top-5" + (f" (missed: {misses})" if misses else "")
    return frac, frac == 1.0, note


CHECKS = {
    "digits_cnn": accuracy_check("digits_cnn", 0.97),
    "digits_mlp": accuracy_check("digits_mlp", 0.95),
    "xor_mlp": accuracy_check("xor_mlp", 1.0),
    "iris": accuracy_check("iris", 0.93, iris_project),
    "autoencoder": autoencoder_check(),
    "lstm_sequence": lstm_check,
    "embeddings": embeddings_check,
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=sorted(CHECKS))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.only or CHECKS:
        t0 = time.perf_counter()
        value, ok, target = CHECKS[name]()
        rows.append({"example": name, "value": round(float(value), 4), "target": target,
                     "pass": "yes" if ok else "NO", "seconds": round(time.perf_counter() - t0,
                                                                     1)})
        print(f"{name}: {value:.4f} ({target}) {'pass' if ok else 'FAIL'}", flush=True)
    print()
    print_table(rows, ["example", "value", "target", "pass", "seconds"])
    write_json("quality", {"results": rows})
    return 0 if all(r["pass"] == "yes" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
