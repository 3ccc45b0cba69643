"""Model insight computations: run a trained model on data and derive what the insight views
show (predictions, confusion matrix, activations, occlusion, PCA, nearest words). No Qt: the
GUI runs these on a background thread; everything returns numpy arrays."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Insight:
    """What the views need after (or during) a run, computed on the validation split."""

    x: np.ndarray                          # validation inputs (n, *shape)
    y: np.ndarray | None                   # first target (n,) labels or (n, ...) values
    task: str                              # 'classification' | 'binary' | 'regression' | ...
    outputs: np.ndarray                    # first Output's raw output (n, ...)
    probs: np.ndarray | None = None        # (n, classes) for classifiers
    pred: np.ndarray | None = None         # (n,) predicted class
    class_names: list[str] | None = None
    confusion: np.ndarray | None = None    # (classes, classes): rows true, columns predicted
    activations: dict[str, np.ndarray] = field(default_factory=dict)  # node_id -> (n, ...)
    weights: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    vocab: list[str] | None = None
    model: object = None                   # the evaluated model (for occlusion on demand)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """Counts with rows = true class, columns = predicted class."""
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def ranked_predictions(insight: Insight) -> np.ndarray:
    """Sample indices, worst mistakes first: wrong predictions by descending confidence, then
    right ones by ascending confidence (the shakiest correct answers next)."""
    if insight.probs is None or insight.y is None:
        return np.arange(len(insight.x))
    conf = insight.probs[np.arange(len(insight.pred)), insight.pred]
    wrong = insight.pred != insight.y
    key = np.where(wrong, -conf - 1.0, conf)   # wrong: -2..-1 (most confident first)
    return np.argsort(key, kind="stable")


def pca_2d(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project rows of `a` (n, features) onto their first two principal components; also the
    explained-variance ratio of each."""
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    a = a - a.mean(axis=0)
    _, s, vt = np.linalg.svd(a, full_matrices=False)
    k = min(2, vt.shape[0])
    pts = a @ vt[:k].T
    if k < 2:
        pts = np.column_stack([pts, np.zeros(len(a))])
    var = s ** 2
    ratio = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    return pts, ratio


def module_for(model, node_id: str):
    attr = model.studio_code.attrs.get(node_id)
    return getattr(model, attr, None) if attr else None


def _first_tensor(out) -> np.ndarray:
    """A module's output as numpy; recurrent/attention modules return tuples (output first)."""
    while isinstance(out, (tuple, list)):
        out = out[0]
    return out.detach().float().cpu().numpy()


def run_model(model, x: np.ndarray, node_ids: list[str] = (), batch: int = 512):
    """Forward `x` in eval mode; returns (first output, {node_id: activation}) as numpy."""
    import torch

    acts: dict[str, list] = {nid: [] for nid in node_ids}
    hooks = []
    for nid in node_ids:
        mod = module_for(model, nid)
        if mod is not None:
            hooks.append(mod.register_forward_hook(
                lambda _m, _i, out, nid=nid: acts[nid].append(_first_tensor(out))))
    was_training = model.training
    model.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    outs = []
    try:
        with torch.no_grad():
            for i in range(0, len(x), batch):
                xb = torch.as_tensor(x[i:i + batch]).to(device)
                out = model(xb)
                if isinstance(out, (tuple, list)):
                    out = out[0]
                outs.append(out.detach().float().cpu().numpy())
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return np.concatenate(outs) if outs else np.zeros((0,)), \
        {nid: np.concatenate(v) for nid, v in acts.items() if v}


def build_model(graph, weights: dict | None = None):
    """Compile the graph and load `weights` ({node_id: {name: array}}) into it."""
    from ..compile import apply_weights, compile_graph

    model = compile_graph(graph)
    if weights:
        apply_weights(model, weights)
    return model


def node_weights(model) -> dict[str, dict[str, np.ndarray]]:
    from ..compile import node_state
    return {nid: {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v))
                  for k, v in state.items()} for nid, state in node_state(model).items()}


STREAMED_INSIGHT_BYTES = 256 * 2**20   # validation samples read for insight when streamed


def compute_insight(model, splits, node_ids: list[str] = (), limit: int = 2000) -> Insight:
    """Predictions, confusion matrix and activations on the validation split (or train)."""
    split = splits.val if splits.val is not None and len(splits.val) else splits.train
    if not isinstance(split.x, np.ndarray):     # streamed from disk: read a bounded part
        per_sample = 4 * int(np.prod(split.x.shape[1:]))
        limit = min(limit, max(16, STREAMED_INSIGHT_BYTES // max(1, per_sample)))
    x = split.x[:limit]
    y = split.y[0][:limit] if split.y else None
    task = splits.tasks[0] if splits.tasks else "regression"
    outputs, acts = run_model(model, x, list(node_ids))
    ins = Insight(x=x, y=y, task=task, outputs=outputs, activations=acts,
                  weights=node_weights(model), vocab=splits.vocab, model=model,
                  class_names=splits.class_names[0] if splits.class_names else None)
    if task == "classification" and outputs.ndim == 2 and y is not None and y.ndim == 1:
        ins.probs = softmax(outputs)
        ins.pred = outputs.argmax(axis=1)
        n = max(outputs.shape[1], int(y.max()) + 1 if len(y) else 0)
        ins.confusion = confusion_matrix(y, ins.pred, n)
    elif task == "binary" and y is not None:
        logit = outputs.reshape(len(outputs), -1)[:, 0]
        p1 = 1 / (1 + np.exp(-logit)) if (logit.min() < 0 or logit.max() > 1) else logit
        ins.probs = np.column_stack([1 - p1, p1])
        ins.pred = (p1 >= 0.5).astype(int)
        ins.confusion = confusion_matrix(np.asarray(y).reshape(-1).astype(int), ins.pred, 2)
        ins.y = np.asarray(y).reshape(-1).astype(int)
    return ins


def occlusion_map(model, sample: np.ndarray, label: int, patch: int = 2,
                  stride: int = 1) -> np.ndarray:
    """Drop in the true class's probability when a patch (filled with the sample's mean) is
    slid over a (C, H, W) image: (H', W') map, larger = more important."""
    _c, h, w = sample.shape
    base, _ = run_model(model, sample[None])
    p0 = softmax(base)[0, label]
    coords = [(i, j) for i in range(0, h - patch + 1, stride)
              for j in range(0, w - patch + 1, stride)]
    batch = np.repeat(sample[None], len(coords), axis=0)
    for k, (i, j) in enumerate(coords):
        batch[k, :, i:i + patch, j:j + patch] = sample.mean()
    out, _ = run_model(model, batch)
    drop = p0 - softmax(out)[:, label]
    hh, ww = (h - patch) // stride + 1, (w - patch) // stride + 1
    return drop.reshape(hh, ww)


def nearest_words(embedding: np.ndarray, vocab: list[str], word: str, k: int = 5
                  ) -> list[tuple[str, float]]:
    """The k words whose embedding rows are most cosine-similar to `word`'s."""
    if word not in vocab:
        raise KeyError(f"{word!r} is not in the vocabulary")
    e = embedding / np.maximum(np.linalg.norm(embedding, axis=1, keepdims=True), 1e-12)
    i = vocab.index(word)
    sims = e @ e[i]
    sims[i] = -np.inf
    order = np.argsort(-sims)[:k]
    return [(vocab[j], float(sims[j])) for j in order if j < len(vocab)]
