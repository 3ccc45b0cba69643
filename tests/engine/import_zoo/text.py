"""Text classifiers written the usual way: Kim's CNN with `F.max_pool1d(x, x.size(2))`,
bidirectional LSTM/GRU classifiers with `torch.cat([h[-2], h[-1]], 1)`, an LSTM with an
explicit zero initial state, Transformer-encoder classifiers with `forward(x, mask=None)`,
learned and sinusoidal position encodings."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

VOCAB = 50


class KimCNN(nn.Module):
    def __init__(self, vocab=VOCAB, dim=8, filters=4, sizes=(2, 3, 4), classes=3):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.convs = nn.ModuleList([nn.Conv2d(1, filters, (k, dim)) for k in sizes])
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(len(sizes) * filters, classes)

    def forward(self, text):
        embedded = self.embedding(text).unsqueeze(1)          # (N, 1, L, E)
        conved = [F.relu(conv(embedded)).squeeze(3) for conv in self.convs]
        pooled = [F.max_pool1d(c, c.size(2)).squeeze(2) for c in conved]
        cat = self.dropout(torch.cat(pooled, dim=1))
        return self.fc(cat)


class TextCNN1d(nn.Module):
    def __init__(self, vocab=VOCAB, dim=8, filters=6, classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.conv3 = nn.Conv1d(dim, filters, 3, padding=1)
        self.conv5 = nn.Conv1d(dim, filters, 5, padding=2)
        self.fc = nn.Linear(2 * filters, classes)

    def forward(self, x):
        x = self.embedding(x).permute(0, 2, 1)
        a = torch.max(F.relu(self.conv3(x)), dim=2)[0]
        b, _ = F.relu(self.conv5(x)).max(dim=-1)
        return self.fc(torch.cat([a, b], 1))


class BiLSTMClassifier(nn.Module):
    def __init__(self, vocab=VOCAB, dim=8, hidden=6, layers=2, classes=3):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.rnn = nn.LSTM(dim, hidden, num_layers=layers, bidirectional=True, dropout=0.2,
                           batch_first=True)
        self.fc = nn.Linear(hidden * 2, classes)
        self.dropout = nn.Dropout(0.3)

    def forward(self, text):
        embedded = self.dropout(self.embedding(text))
        output, (hidden, cell) = self.rnn(embedded)
        hidden = self.dropout(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
        return self.fc(hidden)


class GRUClassifier(nn.Module):
    def __init__(self, vocab=VOCAB, dim=8, hidden=6, classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        _, h = self.gru(self.embedding(x))
        return self.fc(h[-1])


class BiGRUBoth(nn.Module):
    """Uses the sequence (mean over time) and the final state of a bidirectional GRU."""

    def __init__(self, vocab=VOCAB, dim=8, hidden=5, classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.gru = nn.GRU(dim, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(4 * hidden, classes)

    def forward(self, x):
        out, h = self.gru(self.embedding(x))
        state = torch.cat([h[-2], h[-1]], dim=1)
        return self.fc(torch.cat([out.mean(1), state], dim=1))


class LSTMZeroState(nn.Module):
    """The tutorial idiom: an explicit zero initial state, the last step of the output."""

    def __init__(self, features=3, hidden=6, layers=2, classes=4):
        super().__init__()
        self.hidden, self.layers = hidden, layers
        self.lstm = nn.LSTM(features, hidden, layers, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        h0 = torch.zeros(self.layers, x.size(0), self.hidden).to(x.device)
        c0 = torch.zeros(self.layers, x.size(0), self.hidden).to(x.device)
        out, _ = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1, :])


class SeqFirstLSTM(nn.Module):
    """batch_first=False, the model permutes its batch-first input itself."""

    def __init__(self, vocab=VOCAB, dim=8, hidden=6, classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden)
        self.fc = nn.Linear(hidden, classes)
        self.fc_state = nn.Linear(hidden, classes)

    def forward(self, x):
        emb = self.embedding(x).permute(1, 0, 2)   # (L, N, E)
        out, (h, c) = self.lstm(emb)
        return self.fc(out[-1]) + self.fc_state(h.squeeze(0))


class TransformerClassifier(nn.Module):
    def __init__(self, vocab=VOCAB, d_model=16, nhead=2, layers=2, max_len=32, classes=3):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d_model, padding_idx=0)
        self.pos = nn.Parameter(torch.zeros(1, max_len, d_model).normal_(std=0.02))
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=32, dropout=0.1,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.fc = nn.Linear(d_model, classes)

    def forward(self, x, mask=None):
        h = self.embedding(x) * math.sqrt(self.embedding.embedding_dim)
        h = h + self.pos[:, :x.size(1)]
        h = self.encoder(h, src_key_padding_mask=mask)
        return self.fc(h.mean(dim=1))


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=64):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        x = x + self.pe[:, :x.size(1)]
        return self.dropout(x)


class SinusoidalTransformer(nn.Module):
    def __init__(self, vocab=VOCAB, d_model=16, classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d_model)
        self.pos_encoder = PositionalEncoding(d_model)
        self.layer = nn.TransformerEncoderLayer(d_model, 4, 32, batch_first=True,
                                                norm_first=True, activation="gelu")
        self.norm = nn.LayerNorm(d_model)
        self.classifier = nn.Linear(d_model, classes)

    def forward(self, src, src_mask=None):
        x = self.pos_encoder(self.embedding(src))
        x = self.norm(self.layer(x, src_key_padding_mask=src_mask))
        return F.log_softmax(self.classifier(x[:, 0]), dim=-1)
