"""Attention on token sequences (N, L, E): multi-head self-attention, the Transformer encoder
layer, scaled dot-product attention and positional encodings."""
from __future__ import annotations

from .base import Explanation, LayerSpec, Param, ShapeError, TensorType, register
from .emit import call

_HEADS = Param("num_heads", "int", 4, "Number of attention heads; each attends with E/heads "
               "features, so it must divide the embedding size E.", min=1, max=1024)
_DROPOUT = Param("dropout", "float", 0.1, "Dropout on the attention weights while training.",
                 min=0.0, max=1.0)


def _tokens(spec: LayerSpec, x: TensorType) -> tuple[int, int]:
    """(L, E) of a token sequence input, or a ShapeError explaining what is expected."""
    if x.dtype != "float":
        raise ShapeError(f"expected embedded tokens (N, L, E), received integer ids {x}: add an "
                         "Embedding first", "in")
    if x.rank != 2:
        raise ShapeError(f"expected a sequence of vectors (N, L, E), received {x}", "in")
    return x.shape[0], x.shape[1]


def _check_heads(e: int, heads: int) -> None:
    if e % heads:
        options = ", ".join(str(h) for h in range(1, min(e, 16) + 1) if e % h == 0)
        raise ShapeError(f"num_heads={heads} must divide the embedding size E={e} "
                         f"(try {options})", "in")


def _mha_params(e: int, bias: bool) -> int:
    return 4 * e * e + (4 * e if bias else 0)


@register
class MultiheadSelfAttention(LayerSpec):
    id = "attn.MultiheadSelfAttention"
    name = "MultiheadSelfAttention"
    category = "Attention"
    doc = "Every token attends to every token: softmax(QKᵀ/√d)·V in several heads."
    formula = ("head_i = softmax(Q_i·K_iᵀ/√d)·V_i,  Q = x·W_Q, K = x·W_K, V = x·W_V,  "
               "d = E/heads;   y = [head_1 ‖ … ‖ head_h]·W_O")
    params = (
        _HEADS,
        _DROPOUT,
        Param("bias", "bool", True, "Learn biases in the Q/K/V and output projections."),
    )

    def infer(self, p, ins):
        _, e = _tokens(self, ins[0])
        _check_heads(e, p["num_heads"])
        return [ins[0]]

    def param_count(self, p, ins):
        return _mha_params(ins[0].shape[-1], p["bias"])

    def flops(self, p, ins, outs):
        length, e = ins[0].shape
        return 4 * length * e * e + 2 * length * length * e

    def explain(self, p, ins, outs):
        length, e = ins[0].shape
        h = p["num_heads"]
        ex = Explanation([f"output {outs[0]} (same as input): {h} heads of d = {e}/{h} = "
                          f"{e // h} features, each over {length}×{length} attention weights"])
        b = " + 4·E" if p["bias"] else ""
        ex.params.append(f"params = Q, K, V, O projections = 4·E²{b} = 4·{e}²"
                         f"{f' + 4·{e}' if p['bias'] else ''} = {self.param_count(p, ins)}")
        return ex

    def module(self, p, ins):
        return call("nn.MultiheadAttention", [ins[0].shape[-1], p["num_heads"]],
                    [("dropout", p["dropout"], 0.0), ("bias", p["bias"], True),
                     ("batch_first", True, None)])

    def forward(self, p, attr, args, outs):
        x = args[0]
        return [f"{outs[0]}, _ = self.{attr}({x}, {x}, {x}, need_weights=False)"]


@register
class TransformerEncoderLayer(LayerSpec):
    id = "attn.TransformerEncoderLayer"
    name = "TransformerEncoderLayer"
    category = "Attention"
    doc = "Self-attention then a position-wise feed-forward network, each with a residual "\
          "connection and LayerNorm (Vaswani et al., 2017)."
    formula = ("z = LayerNorm(x + SelfAttention(x)),  y = LayerNorm(z + W₂·act(W₁·z + b₁) + b₂)"
               "   (norm_first: z = x + SelfAttention(LayerNorm(x)), …)")
    params = (
        Param("nhead", "int", 4, "Number of attention heads; must divide d_model (the input's "
              "last dimension).", min=1, max=1024),
        Param("dim_feedforward", "int", 128, "Hidden width of the feed-forward network.",
              min=1, max=1_000_000),
        Param("dropout", "float", 0.1, "Dropout after attention and in the feed-forward "
              "network while training.", min=0.0, max=1.0),
        Param("activation", "choice", "relu", "Activation inside the feed-forward network.",
              choices=("relu", "gelu")),
        Param("norm_first", "bool", False, "Apply LayerNorm before attention and feed-forward "
              "(pre-norm; often trains more stably) instead of after."),
    )

    def infer(self, p, ins):
        _, e = _tokens(self, ins[0])
        _check_heads(e, p["nhead"])
        return [ins[0]]

    def param_count(self, p, ins):
        e, ff = ins[0].shape[-1], p["dim_feedforward"]
        return _mha_params(e, True) + (e * ff + ff) + (ff * e + e) + 4 * e

    def flops(self, p, ins, outs):
        length, e = ins[0].shape
        return 4 * length * e * e + 2 * length * length * e + 2 * length * e * p["dim_feedforward"]

    def explain(self, p, ins, outs):
        e, ff = ins[0].shape[-1], p["dim_feedforward"]
        ex = Explanation([f"output {outs[0]} (same as input): d_model = {e}, "
                          f"{p['nhead']} heads of {e // p['nhead']}"])
        ex.params += [
            f"attention: 4·E² + 4·E = 4·{e}² + 4·{e} = {_mha_params(e, True)}",
            f"feed-forward: E·FF + FF + FF·E + E = {e}·{ff} + {ff} + {ff}·{e} + {e} = "
            f"{2 * e * ff + ff + e}",
            f"two LayerNorms: 4·E = {4 * e}",
            f"params = {self.param_count(p, ins)}",
        ]
        return ex

    def module(self, p, ins):
        return call("nn.TransformerEncoderLayer", [ins[0].shape[-1], p["nhead"]],
                    [("dim_feedforward", p["dim_feedforward"], 2048),
                     ("dropout", p["dropout"], 0.1), ("activation", p["activation"], "relu"),
                     ("batch_first", True, None), ("norm_first", p["norm_first"], False)])


@register
class ScaledDotProductAttention(LayerSpec):
    id = "attn.ScaledDotProductAttention"
    name = "ScaledDotProductAttention"
    category = "Attention"
    doc = "softmax(Q·Kᵀ/√d)·V on given queries, keys and values (…, L, d): the core of " \
          "attention, without projections."
    formula = "y = softmax(Q·Kᵀ · scale + causal mask)·V,   scale = 1/√d by default"
    support = '''
class ScaledDotProductAttention(nn.Module):
    """softmax(Q·Kᵀ·scale)·V on (..., L, d) queries, keys and values (scale = 1/√d unless
    given), with dropout on the attention weights while training."""

    def __init__(self, dropout=0.0, is_causal=False, scale=None):
        super().__init__()
        self.dropout = dropout
        self.is_causal = is_causal
        self.scale = scale

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=self.is_causal,
                                              dropout_p=self.dropout if self.training else 0.0,
                                              scale=self.scale)
'''
    params = (
        Param("dropout", "float", 0.0, "Dropout on the attention weights while training.",
              min=0.0, max=1.0),
        Param("is_causal", "bool", False, "Each query sees only keys at or before its "
              "position (a decoder's mask)."),
        Param("scale", "float", None, "Factor on Q·Kᵀ; empty = 1/√d.", min=0.0, max=1e6,
              optional=True),
    )

    def input_ports(self, p):
        return ["q", "k", "v"]

    def infer(self, p, ins):
        q, k, v = ins
        for t, port in zip(ins, ("q", "k", "v")):
            self.require_float(t, port)
            if t.rank < 2:
                raise ShapeError(f"expected (N, …, L, d), received {t}", port)
        if not q.rank == k.rank == v.rank:
            raise ShapeError(f"q {q}, k {k} and v {v} need the same number of axes", "k")
        if q.shape[-1] != k.shape[-1] or q.shape[:-2] != k.shape[:-2]:
            raise ShapeError(f"q {q} and k {k} must match except in length", "k")
        if k.shape[:-1] != v.shape[:-1]:
            raise ShapeError(f"k {k} and v {v} must have the same length", "v")
        return [TensorType((*q.shape[:-1], v.shape[-1]))]

    def flops(self, p, ins, outs):
        q, k, v = ins
        return q.numel * k.shape[-2] + outs[0].numel * k.shape[-2]

    def explain(self, p, ins, outs):
        q, k, _ = ins
        return Explanation([f"each of {q.shape[-2]} queries attends over {k.shape[-2]} keys "
                            f"of size d = {q.shape[-1]}; output {outs[0]}"], ["params = 0"])

    def module(self, p, ins):
        kw = [("dropout", p["dropout"], 0.0), ("is_causal", p["is_causal"], False)]
        if p["scale"] is not None:
            kw.append(("scale", p["scale"], None))
        return call("ScaledDotProductAttention", [], kw)

    def forward(self, p, attr, args, outs):
        return [f"{outs[0]} = self.{attr}({', '.join(args)})"]


_PE_SUPPORT = '''
class PositionalEncoding(nn.Module):
    """Adds position information to token vectors (N, L, E).

    sinusoidal: PE[t, 2i] = sin(t / 10000^(2i/E)), PE[t, 2i+1] = cos(t / 10000^(2i/E)), fixed;
    learned: a trainable (max_len, E) table.
    """

    def __init__(self, embed_dim, max_len=512, learned=False, dropout=0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        if learned:
            self.pe = nn.Parameter(torch.randn(max_len, embed_dim) * 0.02)
        else:
            t = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
            freq = torch.exp(torch.arange(0, embed_dim, 2, dtype=torch.float32)
                             * (-torch.log(torch.tensor(10000.0)) / embed_dim))
            pe = torch.zeros(max_len, embed_dim)
            pe[:, 0::2] = torch.sin(t * freq)
            pe[:, 1::2] = torch.cos(t * freq[: embed_dim // 2])
            self.register_buffer("pe", pe, persistent=False)

    def forward(self, x):
        return self.dropout(x + self.pe[: x.shape[1]])
'''


@register
class PositionalEncoding(LayerSpec):
    id = "attn.PositionalEncoding"
    name = "PositionalEncoding"
    category = "Attention"
    doc = "Adds a position signal to each token vector, so attention can tell word order."
    formula = ("y_t = x_t + PE_t,   PE[t, 2i] = sin(t/10000^(2i/E)),  "
               "PE[t, 2i+1] = cos(t/10000^(2i/E))")
    support = _PE_SUPPORT
    params = (
        Param("mode", "choice", "sinusoidal", "sinusoidal: fixed sine/cosine waves (no "
              "parameters); learned: a trainable vector per position.",
              choices=("sinusoidal", "learned")),
        Param("max_len", "int", 512, "Longest sequence supported (positions in the table).",
              min=1, max=1_000_000),
        Param("dropout", "float", 0.0, "Dropout applied after adding the encoding.", min=0.0,
              max=1.0),
    )

    def infer(self, p, ins):
        length, _ = _tokens(self, ins[0])
        if length > p["max_len"]:
            raise ShapeError(f"the sequence has {length} positions but max_len="
                             f"{p['max_len']}: raise max_len", "in")
        return [ins[0]]

    def param_count(self, p, ins):
        return p["max_len"] * ins[0].shape[-1] if p["mode"] == "learned" else 0

    def explain(self, p, ins, outs):
        e = ins[0].shape[-1]
        ex = Explanation([f"output {outs[0]} (same as input): position t's vector is added to "
                          "token t"])
        if p["mode"] == "learned":
            ex.params.append(f"params = max_len·E = {p['max_len']}·{e} = {p['max_len'] * e}")
        else:
            ex.params.append("params = 0 (the sinusoidal table is fixed)")
        return ex

    def module(self, p, ins):
        return call("PositionalEncoding", [ins[0].shape[-1]],
                    [("max_len", p["max_len"], 512), ("learned", p["mode"] == "learned", False),
                     ("dropout", p["dropout"], 0.0)])
