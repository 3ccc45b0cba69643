"""Keras SimpleRNN, LSTM, GRU and Bidirectional as Studio recurrent layers.

Keras keeps kernel (F, G·H), recurrent_kernel (H, G·H) and one bias (G·H) per direction;
PyTorch keeps weight_ih (G·H, F), weight_hh (G·H, H), bias_ih and bias_hh. LSTM gates are
i, f, c, o in both; Keras GRU's z, r, h become PyTorch's r, z, n, and only reset_after=True
(bias (2, 3H): input and recurrent bias) computes what PyTorch's GRU computes.
return_sequences=False becomes the 'hidden' output: the last step's output forward and, for
Bidirectional, the backward direction's output after the whole sequence (as Keras returns).
"""
from __future__ import annotations

import numpy as np

from .keras_import import KerasImporter, KValue
from .keras_rules import _act_name

_KIND = {"SimpleRNN": ("rnn.RNN", 1), "LSTM": ("rnn.LSTM", 4), "GRU": ("rnn.GRU", 3)}


def _check(imp: KerasImporter, cls: str, cfg: dict) -> None:
    for flag in ("return_state", "go_backwards", "stateful"):
        if cfg.get(flag):
            raise imp.error(f"{flag}=True has no Studio equivalent")
    if cls != "SimpleRNN" and _act_name(cfg.get("recurrent_activation", "sigmoid")) != "sigmoid":
        raise imp.error(f"recurrent_activation={_act_name(cfg['recurrent_activation'])!r}: "
                        "PyTorch's gates use the sigmoid")
    act = _act_name(cfg.get("activation", "tanh"))
    if act != "tanh" and not (cls == "SimpleRNN" and act == "relu"):
        raise imp.error(f"activation={act!r}: PyTorch's {cls} uses tanh")
    if cls == "GRU" and not cfg.get("reset_after", True):
        raise imp.error("a GRU with reset_after=False applies the reset gate before the "
                        "recurrent weights, which PyTorch's GRU cannot (save it with "
                        "reset_after=True, the Keras 2.3+/3 default)")
    if cls == "LSTM" and cfg.get("use_cudnn") not in (None, "auto", True, False):
        raise imp.error("unknown use_cudnn setting")


def _direction(cls: str, cfg: dict, arrays: list, units: int, sfx: str) -> dict:
    gates = _KIND[cls][1]
    kernel, recurrent = arrays[0], arrays[1]
    bias = arrays[2] if cfg.get("use_bias", True) else None
    order = [1, 0, 2] if cls == "GRU" else list(range(gates))

    def reorder(m):  # m: (..., gates·H) -> PyTorch's gate order, rows first
        blocks = [m[..., i * units:(i + 1) * units] for i in range(gates)]
        return np.concatenate([blocks[i] for i in order], axis=-1)

    out = {f"weight_ih{sfx}": np.ascontiguousarray(reorder(kernel).T),
           f"weight_hh{sfx}": np.ascontiguousarray(reorder(recurrent).T)}
    if bias is not None:
        if cls == "GRU":
            b = bias.reshape(2, gates * units)
            out[f"bias_ih{sfx}"], out[f"bias_hh{sfx}"] = reorder(b[0]), reorder(b[1])
        else:
            out[f"bias_ih{sfx}"] = reorder(bias)
            out[f"bias_hh{sfx}"] = np.zeros(gates * units, np.float32)
    return out


def _layer(imp: KerasImporter, cls: str, cfg: dict, x, arrays: list, bidirectional: bool,
           backward: dict | None = None):
    _check(imp, cls, cfg)
    if backward is not None:
        _check(imp, cls, {**backward, "go_backwards": False})
    units = int(cfg["units"])
    per = 3 if cfg.get("use_bias", True) else 2
    want = per * (2 if bidirectional else 1)
    if len(arrays) != want:
        raise imp.error(f"expected {want} weight arrays, the file has {len(arrays)}")
    weights = _direction(cls, cfg, arrays[:per], units, "_l0")
    if bidirectional:
        weights.update(_direction(cls, cfg, arrays[per:], units, "_l0_reverse"))
    spec = _KIND[cls][0]
    params = {"hidden_size": units, "bidirectional": bidirectional,
              "bias": bool(cfg.get("use_bias", True)),
              "output": "sequence" if cfg.get("return_sequences") else "hidden"}
    if spec == "rnn.RNN":
        params["nonlinearity"] = _act_name(cfg.get("activation", "tanh"))
    if cfg.get("dropout"):  # Keras drops the layer's inputs while training
        x = imp.add("core.Dropout", {"p": float(cfg["dropout"])}, [x], suffix="_dropout")
    return KValue(imp.add(spec, params, [x], weights=weights))


def recurrent(cls: str):
    def rule(imp, cfg, ins, weights):
        return _layer(imp, cls, cfg, imp.keras_layout(ins[0]), weights, False)
    return rule


def bidirectional(imp, cfg, ins, weights):
    if cfg.get("merge_mode", "concat") != "concat":
        raise imp.error(f"merge_mode={cfg.get('merge_mode')!r}: Studio's bidirectional layers "
                        "concatenate")
    inner = cfg.get("layer") or {}
    cls = inner.get("class_name")
    if cls not in _KIND:
        raise imp.error(f"Bidirectional({cls}) has no Studio layer")
    back = cfg.get("backward_layer")
    back_cfg = (back or {}).get("config") if back else None
    return _layer(imp, cls, inner.get("config", {}), imp.keras_layout(ins[0]), weights, True,
                  back_cfg)


RECURRENT_RULES = {"SimpleRNN": recurrent("SimpleRNN"), "LSTM": recurrent("LSTM"),
                   "GRU": recurrent("GRU"), "Bidirectional": bidirectional}
