"""Text: tokenization, a vocabulary, and a small built-in corpus of movie-review sentences.

The corpus is generated from templates with clear synonym groups (SYNONYM_GROUPS) so that
trained word embeddings can be checked: synonyms share their contexts. Token id 0 is padding
and id 1 stands for unknown words.
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from ..guard.text import quote
from .base import DataError, RawData, Target

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1

SYNONYM_GROUPS: dict[str, list[str]] = {
    "good": ["good", "great", "excellent", "wonderful"],
    "bad": ["bad", "terrible", "awful", "horrible"],
    "liked": ["loved", "enjoyed", "liked", "adored"],
    "disliked": ["hated", "disliked", "loathed", "despised"],
    "movie": ["movie", "film", "picture", "flick"],
    "story": ["plot", "story", "script", "storyline"],
    "very": ["very", "really", "truly", "extremely"],
}

# {adj}/{verb} take the sentence's sentiment; the others any synonym of their group
_TEMPLATES = (
    "the {movie} was {adj} and {adj}",
    "i {verb} this {adj} {movie}",
    "{adj} , {adj} {story}",
    "what a {adj} , {adj} {movie}",
    "we {verb} the {adj} {story}",
    "they {verb} and {verb} it , {very} {adj}",
    "the {story} was {very} {adj} , {adj} even",
    "i {verb} , {verb} the {adj} {movie}",
)

_TOKEN = re.compile(r"[a-z0-9']+|[^\sa-z0-9']")


def tokenize(text: str) -> list[str]:
    """Lower-case words and single punctuation marks."""
    return _TOKEN.findall(text.lower())


class Vocabulary:
    """Words <-> ids. Id 0 is padding, id 1 unknown; then words by frequency, then a-z."""

    def __init__(self, words: list[str]):
        self.words = [PAD, UNK, *[w for w in words if w not in (PAD, UNK)]]
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, texts, max_size: int | None = None, min_count: int = 1) -> Vocabulary:
        """A vocabulary of the words in `texts` seen at least min_count times, the
        max_size - 2 most frequent ones when max_size is given."""
        counts = Counter(tok for t in texts for tok in tokenize(t))
        ranked = sorted((w for w, c in counts.items() if c >= min_count),
                        key=lambda w: (-counts[w], w))
        if max_size is not None:
            ranked = ranked[:max(0, max_size - 2)]
        return cls(ranked)

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, text: str, max_len: int | None = None) -> list[int]:
        """Token ids of `text`, unknown words as 1; truncated/padded with 0 to max_len."""
        ids = [self.index.get(tok, UNK_ID) for tok in tokenize(text)]
        if max_len is not None:
            ids = ids[:max_len] + [PAD_ID] * max(0, max_len - len(ids))
        return ids

    def encode_batch(self, texts, max_len: int) -> np.ndarray:
        return np.array([self.encode(t, max_len) for t in texts], dtype=np.int64).reshape(
            len(texts), max_len)

    def decode(self, ids) -> str:
        return " ".join(self.words[i] for i in ids if i != PAD_ID)


def toy_corpus(samples: int = 800, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """`samples` sentences (half positive) and their labels (1 positive, 0 negative)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(samples) % 2
    rng.shuffle(labels)
    sentences = []
    for positive in labels:
        template = _TEMPLATES[rng.integers(len(_TEMPLATES))]
        groups = {"adj": SYNONYM_GROUPS["good" if positive else "bad"],
                  "verb": SYNONYM_GROUPS["liked" if positive else "disliked"],
                  **{k: SYNONYM_GROUPS[k] for k in ("movie", "story", "very")}}
        sentences.append(_fill(template, groups, rng))
    return sentences, labels.astype(np.int64)


def _fill(template: str, groups: dict, rng: np.random.Generator) -> str:
    words = [groups[w[1:-1]][rng.integers(4)] if w.startswith("{") else w
             for w in template.split()]
    return " ".join(words)


def skipgram_pairs(ids: np.ndarray, window: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(center, context) id pairs from padded sentences (n, max_len); padding is skipped."""
    centers, contexts = [], []
    for row in np.asarray(ids):
        words = row[row != PAD_ID]
        for i, c in enumerate(words):
            for j in range(max(0, i - window), min(len(words), i + window + 1)):
                if j != i:
                    centers.append(c)
                    contexts.append(words[j])
    return np.array(centers, dtype=np.int64), np.array(contexts, dtype=np.int64)


def cbow_pairs(ids: np.ndarray, window: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(context ids (n, 2*window), center id (n,)); contexts are padded with 0 at the ends."""
    contexts, centers = [], []
    for row in np.asarray(ids):
        words = row[row != PAD_ID]
        padded = np.concatenate([np.zeros(window, np.int64), words, np.zeros(window, np.int64)])
        for i, c in enumerate(words):
            around = np.concatenate([padded[i:i + window], padded[i + window + 1:i + 2 * window + 1]])
            contexts.append(around)
            centers.append(c)
    return (np.array(contexts, dtype=np.int64).reshape(-1, 2 * window),
            np.array(centers, dtype=np.int64))


def load_text(config: dict) -> RawData:
    """The toy review corpus. mode 'classify' (default): x = token ids (max_len,), label
    negative/positive. mode 'skipgram': x = center id (1,), label = a context word id.
    mode 'cbow': x = context ids (2*window,), label = the center word id.
    Options: samples (800), max_len (12), mode, window (2), seed."""
    samples = _int(config, "samples", 800, 2)
    max_len = _int(config, "max_len", 12, 1)
    window = _int(config, "window", 2, 1)
    mode = config.get("mode", "classify")
    sentences, labels = toy_corpus(samples, _int(config, "seed", 0, 0))
    vocab = Vocabulary.build(sentences)
    ids = vocab.encode_batch(sentences, max_len)
    n_vocab = len(vocab)
    if mode == "classify":
        target = Target(labels, "classification", 2, ["negative", "positive"])
        return RawData(ids, {"label": target}, vocab=vocab.words,
                       description=f"Toy reviews: {samples} sentences, {n_vocab} words, "
                                   f"max_len {max_len}")
    if mode == "skipgram":
        x, y = skipgram_pairs(ids, window)
        x = x[:, None]
    elif mode == "cbow":
        x, y = cbow_pairs(ids, window)
    else:
        raise DataError(f"text mode must be 'classify', 'skipgram' or 'cbow', found {quote(mode)}")
    target = Target(y, "classification", n_vocab, list(vocab.words))
    return RawData(x, {"label": target}, vocab=vocab.words,
                   description=f"Toy reviews as {mode} pairs: {len(x)} pairs, {n_vocab} "
                               f"words, window {window}")


def _int(config: dict, key: str, default: int, low: int) -> int:
    v = config.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer() \
            or v < low:
        raise DataError(f"dataset option {quote(key)} must be an integer of at least {low}, "
                        f"found {quote(v)}")
    return int(v)
