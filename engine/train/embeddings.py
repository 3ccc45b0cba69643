"""Embedding utilities: nearest words by cosine similarity."""
from __future__ import annotations

import numpy as np


def embedding_matrix(source, graph=None) -> np.ndarray:
    """The (vocab, dim) matrix of `source`: an array/tensor, an nn.Embedding, or a compiled
    model (its first Embedding submodule)."""
    if hasattr(source, "studio_code") or hasattr(source, "modules"):
        import torch

        for module in source.modules():
            if isinstance(module, torch.nn.Embedding):
                return module.weight.detach().cpu().float().numpy()
        raise ValueError("the model has no Embedding layer")
    if hasattr(source, "detach"):
        source = source.detach().cpu().numpy()
    matrix = np.asarray(source, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"expected a (vocab, dim) matrix, got shape {matrix.shape}")
    return matrix


def most_similar(source, vocab: list[str], word: str, k: int = 5) -> list[tuple[str, float]]:
    """The k words whose vectors have the highest cosine similarity to `word`'s (the word
    itself excluded), as (word, similarity), best first."""
    matrix = embedding_matrix(source).astype(np.float64)
    index = {w: i for i, w in enumerate(vocab)}
    if word not in index:
        raise KeyError(f"{word!r} is not in the vocabulary")
    if len(vocab) > len(matrix):
        raise ValueError(f"the vocabulary has {len(vocab)} words but the embedding only "
                         f"{len(matrix)} rows")
    norms = np.linalg.norm(matrix, axis=1)
    norms[norms == 0] = 1.0
    unit = matrix / norms[:, None]
    sims = unit[: len(vocab)] @ unit[index[word]]
    sims[index[word]] = -np.inf
    order = np.argsort(-sims, kind="stable")[:k]
    return [(vocab[i], float(sims[i])) for i in order if np.isfinite(sims[i])]
