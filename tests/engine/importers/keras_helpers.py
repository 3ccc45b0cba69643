"""Build Keras 3 models on the torch backend, save them, import them, compare outputs."""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("h5py")
if keras.backend.backend() != "torch":
    pytest.skip("the Keras tests need KERAS_BACKEND=torch", allow_module_level=True)
from keras import layers

from engine.importers import import_keras

RNG = np.random.default_rng(1)


def randomize_batchnorm(model) -> None:
    """Give every BatchNormalization random statistics, so a miscopied one shows."""
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.set_weights([RNG.uniform(0.5, 1.5, w.shape).astype("float32")
                               for w in layer.get_weights()])


def sample(model, batch: int = 3, ids: int | None = None):
    xs = []
    for t in model.inputs:
        shape = (batch, *t.shape[1:])
        if ids is not None or "int" in str(t.dtype):
            xs.append(RNG.integers(0, ids or 10, shape).astype("int64"))
        else:
            xs.append(RNG.standard_normal(shape).astype("float32"))
    return xs


def studio_outputs(graph, xs, names: list[str] | None = None):
    """The compiled graph's outputs on `xs`, in the order of the Output nodes `names`."""
    import torch

    from engine.export.common import build_model
    from engine.graph import python_name

    model = build_model(graph, graph.weights).eval()
    with torch.no_grad():
        out = model(*[torch.from_numpy(x) for x in xs])
    out = [o.numpy() for o in (out if isinstance(out, (tuple, list)) else [out])]
    if names is None or len(names) == 1:
        return out
    order = [graph.nodes[i].name for i in model.studio_code.output_ids]
    return [out[order.index(python_name(f"{n}_output"))] for n in names]


def weight_count(graph) -> int:
    """Numbers carried from the file (PyTorch's second, zero recurrent bias of LSTM/RNN and
    BatchNorm's batch counter are not in Keras)."""
    total = 0
    for nid, tensors in graph.weights.items():
        kind = graph.nodes[nid].type
        for key, a in tensors.items():
            if key == "num_batches_tracked" or (key.startswith("bias_hh")
                                                and kind in ("rnn.LSTM", "rnn.RNN")):
                continue
            total += a.size
    return total


def check(model, tmp_path, name: str, fmt: str, ids: int | None = None, tol: float = 1e-5):
    """Save `model` as .keras or .h5, import it, compare with predict and count_params."""
    path = tmp_path / f"{name}.{fmt}"
    model.save(path)
    graph = import_keras(path)
    xs = sample(model, ids=ids)
    expected = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    got = studio_outputs(graph, xs, list(model.output_names)
                         if len(model.outputs) > 1 else None)
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        assert e.shape == g.shape
        assert float(np.abs(e - g).max()) < tol
    assert weight_count(graph) == model.count_params()
    return graph
