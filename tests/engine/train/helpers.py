"""Tiny projects and synthetic data for trainer tests."""
from __future__ import annotations

import numpy as np

from engine.data.base import DataSplits, Split
from engine.graph import Graph
from engine.project import Project


def chain(layers, in_shape=(4,), dtype="float", trainable=None) -> Graph:
    """Input -> layers (type, params, name) -> Output."""
    g = Graph()
    prev = g.add_node("io.Input", {"shape": list(in_shape), "dtype": dtype}, name="x",
                      node_id="in")
    for i, (kind, params, name) in enumerate(layers):
        node = g.add_node(kind, params, name=name, node_id=name,
                          trainable=(trainable or {}).get(name, True))
        g.connect(prev.id, "out", node.id, "in")
        prev = node
    out = g.add_node("io.Output", {}, name="y", node_id="out")
    g.connect(prev.id, "out", out.id, "in")
    return g


def mlp_graph(in_dim=4, hidden=8, out=3, dropout=None, trainable=None) -> Graph:
    layers = [("core.Linear", {"out_features": hidden}, "fc1"), ("act.Tanh", {}, "act")]
    if dropout:
        layers.append(("core.Dropout", {"p": dropout}, "drop"))
    layers.append(("core.Linear", {"out_features": out}, "fc2"))
    return chain(layers, (in_dim,), trainable=trainable)


def blobs(n=120, in_dim=4, classes=3, seed=0, val=30, test=30) -> DataSplits:
    """Separable Gaussian blobs: classification with `classes` classes."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (classes, in_dim))
    y = rng.integers(0, classes, n + val + test)
    x = (centers[y] + rng.normal(0, 0.7, (len(y), in_dim))).astype(np.float32)
    y = y.astype(np.int64)

    def split(a, b):
        return Split(x[a:b], [y[a:b]])

    return DataSplits(split(0, n), split(n, n + val), split(n + val, n + val + test),
                      tasks=["classification"], num_classes=[classes],
                      class_names=[None])


def regression(n=100, in_dim=3, out_dim=2, seed=0) -> DataSplits:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(in_dim, out_dim))
    x = rng.normal(size=(n + 40, in_dim)).astype(np.float32)
    y = (x @ w + 0.05 * rng.normal(size=(n + 40, out_dim))).astype(np.float32)
    return DataSplits(Split(x[:n], [y[:n]]), Split(x[n:n + 20], [y[n:n + 20]]),
                      Split(x[n + 20:], [y[n + 20:]]), tasks=["regression"],
                      num_classes=[None], class_names=[None])


def project(graph: Graph, tmp_path=None, name="tiny", dataset=None, **training) -> Project:
    training.setdefault("epochs", 3)
    training.setdefault("batch_size", 16)
    training.setdefault("optimizer", {"name": "adam", "lr": 0.01})
    path = (tmp_path / f"{name}.nnproj") if tmp_path is not None else None
    return Project(graph, dataset or {}, training, {}, {"name": name}, path)
