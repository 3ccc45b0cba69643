"""Nearest words of an Embedding layer: type a word, see its closest words by cosine
similarity of the learned vectors."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QVBoxLayout,
    QWidget,
)

from engine.insight import nearest_words


class EmbeddingView(QWidget):
    EMPTY = "Train a model with an Embedding layer on a text dataset."

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.layer = QComboBox()
        self.word = QLineEdit()
        self.word.setPlaceholderText("a word of the vocabulary, e.g. good")
        self.word.returnPressed.connect(self.lookup)
        self.layer.activated.connect(lambda _i: self.lookup())
        self.result = QListWidget()
        self.info = QLabel(self.EMPTY)
        top = QHBoxLayout()
        top.addWidget(QLabel("Embedding"))
        top.addWidget(self.layer)
        top.addWidget(self.word, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.result, 1)
        lay.addWidget(self.info)
        self.vocab: list[str] | None = None
        self.tables: dict[str, np.ndarray] = {}

    def clear(self) -> None:
        """Back to empty (another project was opened)."""
        self.vocab, self.tables = None, {}
        self.layer.clear()
        self.word.clear()
        self.result.clear()
        self.info.setText(self.EMPTY)

    def set_embeddings(self, tables: dict[str, tuple[str, np.ndarray]],
                       vocab: list[str] | None) -> None:
        """tables: node_id -> (name, weight matrix (vocabulary, dim))."""
        self.vocab = vocab
        self.tables = {nid: w for nid, (_, w) in tables.items()}
        self.layer.clear()
        for nid, (name, _) in tables.items():
            self.layer.addItem(name, nid)
        if tables and vocab:
            self.info.setText(f"{len(vocab)} words; cosine similarity of the learned vectors")
            if not self.word.text():
                self.word.setText(vocab[min(2, len(vocab) - 1)])
            self.lookup()

    def lookup(self) -> None:
        self.result.clear()
        nid = self.layer.currentData()
        if nid is None or not self.vocab:
            return
        word = self.word.text().strip()
        try:
            near = nearest_words(self.tables[nid][:len(self.vocab)], self.vocab, word, k=10)
        except KeyError as exc:
            self.info.setText(str(exc).strip("'\""))
            return
        for w, sim in near:
            self.result.addItem(f"{w}    {sim:+.3f}")
        self.info.setText(f"nearest to {word!r}")
