"""Studio's own helper classes (TopK, DropPath, LearnedTensor, Sampling, ...) as an exported
script defines them: the torch.fx front end maps such a module back onto its layer, but only
when its class source is exactly the one Studio exports (a user's class of the same name is
traced through like any other module)."""
from __future__ import annotations

import inspect

from ..layers import REGISTRY


# Studio's own helper classes, as an exported script defines them: (spec, params from module)
def _studio_classes() -> dict:
    def learned(m):
        w = m.weight
        return "core.Parameter", {"shape": list(w.shape), "init": m.init,
                                  "value": float(m.value),
                                  "learnable": isinstance(w, __import__("torch").nn.Parameter)}

    def pe(m):
        learned_ = isinstance(m.pe, __import__("torch").nn.Parameter)
        return "attn.PositionalEncoding", {"mode": "learned" if learned_ else "sinusoidal",
                                           "max_len": int(m.pe.shape[0]),
                                           "dropout": float(m.dropout.p)}

    return {
        "TopK": ("sparse.TopK", lambda m: {"k": m.k}),
        "Step": ("act.HardThreshold", lambda m: {"threshold": float(m.threshold)}),
        "RBM": ("rbm.RBM", lambda m: {"hidden": int(m.W.shape[1]), "k": m.k}),
        "LearnedTensor": ("core.Parameter", lambda m: learned(m)[1]),
        "PositionalEncoding": ("attn.PositionalEncoding", lambda m: pe(m)[1]),
        "DropPath": ("core.DropPath", lambda m: {"p": float(m.p), "mode": m.mode}),
        "DropConnect": ("core.DropConnect", lambda m: {
            "out_features": m.out_features, "p": float(m.p), "bias": m.bias is not None}),
        "Noise": ("core.Noise", lambda m: {"kind": m.kind, "amount": float(m.amount)}),
        "Sampling": ("gen.Sampling", lambda m: {"beta": float(m.beta)}),
        "ScaledDotProductAttention": ("attn.ScaledDotProductAttention", lambda m: {
            "dropout": float(m.dropout), "is_causal": bool(m.is_causal), "scale": m.scale}),
    }


def _source(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())


def studio_class(module) -> tuple[str, object] | None:
    """(spec id, params function) if `module` is an instance of one of Studio's helper classes
    exactly as Studio exports it (compared by source), else None."""
    cls = type(module)
    entry = _studio_classes().get(cls.__name__)
    if entry is None:
        return None
    spec = REGISTRY[entry[0]]
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return None
    return entry if _source(source) in _source(spec.support) else None
