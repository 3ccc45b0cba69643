"""Tokenization, vocabulary and the toy corpus (classification and embedding pairs)."""
import numpy as np
import pytest

from engine.data import DataError, load_dataset
from engine.data.text import (
    PAD_ID,
    SYNONYM_GROUPS,
    UNK_ID,
    Vocabulary,
    cbow_pairs,
    skipgram_pairs,
    tokenize,
    toy_corpus,
)


def test_tokenize_and_vocabulary():
    assert tokenize("The film, truly GREAT!") == ["the", "film", ",", "truly", "great", "!"]
    v = Vocabulary.build(["a b b c", "b c"])
    assert v.words[:2] == ["<pad>", "<unk>"] and v.words[2:] == ["b", "c", "a"]
    assert v.encode("b a zebra", max_len=5) == [2, 4, UNK_ID, PAD_ID, PAD_ID]
    assert v.encode("c c c c c c", max_len=3) == [3, 3, 3]
    assert v.decode([2, 4, 0, 0]) == "b a"
    assert len(Vocabulary.build(["a b b c"], max_size=3)) == 3


def test_text_classification_dataset():
    s = load_dataset({"source": "synthetic", "name": "text", "max_len": 10, "samples": 200})
    assert s.input_dtype == "long" and s.sample_shape == (10,)
    assert s.class_names == [["negative", "positive"]] and s.normalization is None
    assert s.vocab[:2] == ["<pad>", "<unk>"]
    assert s.train.x.max() < len(s.vocab)
    # the sentiment words decide the label
    good = {s.vocab.index(w) for w in SYNONYM_GROUPS["good"] + SYNONYM_GROUPS["liked"]}
    has_good = np.array([bool(good & set(row)) for row in s.train.x])
    np.testing.assert_array_equal(has_good, s.train.y[0] == 1)


def test_skipgram_and_cbow_pairs():
    ids = np.array([[5, 6, 7, 0, 0]])
    c, x = skipgram_pairs(ids, window=1)
    assert list(zip(c, x)) == [(5, 6), (6, 5), (6, 7), (7, 6)]
    ctx, center = cbow_pairs(ids, window=1)
    np.testing.assert_array_equal(ctx, [[0, 6], [5, 7], [6, 0]])
    np.testing.assert_array_equal(center, [5, 6, 7])
    s = load_dataset({"name": "text", "mode": "skipgram", "window": 2})
    assert s.sample_shape == (1,) and s.num_classes == [len(s.vocab)]
    s = load_dataset({"name": "text", "mode": "cbow", "window": 2})
    assert s.sample_shape == (4,)
    with pytest.raises(DataError, match="text mode must be"):
        load_dataset({"name": "text", "mode": "poetry"})


def test_corpus_contexts_separate_the_synonym_groups():
    """PPMI + SVD word vectors of the corpus put each word's synonyms in its top 5: the
    corpus carries the signal an embedding model should learn."""
    sentences, labels = toy_corpus(800, 0)
    assert labels.mean() == 0.5
    v = Vocabulary.build(sentences)
    centers, contexts = skipgram_pairs(v.encode_batch(sentences, 12), 2)
    m = np.zeros((len(v), len(v)))
    np.add.at(m, (centers, contexts), 1)
    p = m / m.sum()
    with np.errstate(divide="ignore"):
        pmi = np.log(p / (p.sum(1, keepdims=True) * p.sum(0, keepdims=True) + 1e-30) + 1e-30)
    u, sv, _ = np.linalg.svd(np.maximum(pmi, 0))
    e = u[:, :12] * np.sqrt(sv[:12])
    e /= np.linalg.norm(e, axis=1, keepdims=True) + 1e-9
    sim = e @ e.T
    for words in SYNONYM_GROUPS.values():
        for w in words:
            i = v.index[w]
            top = [v.words[j] for j in np.argsort(-sim[i]) if j != i][:5]
            assert set(words) - {w} <= set(top), (w, top)
