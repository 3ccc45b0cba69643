import numpy as np
import pytest
import torch

from engine.train.embeddings import most_similar


def test_most_similar_by_cosine():
    vocab = ["king", "queen", "apple", "pear", "car"]
    m = np.array([[1, 1, 0], [1, 0.9, 0.1], [0, 0.1, 1], [0, 0.2, 0.9], [-1, 0, 0]], float)
    top = most_similar(m, vocab, "apple", k=2)
    assert [w for w, _ in top] == ["pear", "queen"]
    unit = m / np.linalg.norm(m, axis=1, keepdims=True)
    assert top[0][1] == pytest.approx(unit[2] @ unit[3])
    emb = torch.nn.Embedding(5, 3)
    with torch.no_grad():
        emb.weight.copy_(torch.as_tensor(m))
    model = torch.nn.Sequential(emb)
    assert most_similar(model, vocab, "king", k=1)[0][0] == "queen"
    with pytest.raises(KeyError, match="'plum' is not in the vocabulary"):
        most_similar(m, vocab, "plum")
