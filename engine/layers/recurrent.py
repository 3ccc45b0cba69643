"""Recurrent layers: RNN, LSTM, GRU on batch-first sequences (N, L, F).

The output mode picks what the next layer sees: the whole sequence (N, L, H·dirs), the output
at the last time step (N, H·dirs), or the final hidden state of the last layer with both
directions concatenated (N, H·dirs).
"""
from __future__ import annotations

from .base import Explanation, LayerSpec, Param, ShapeError, TensorType, register
from .emit import call

_MODES = ("sequence", "last", "hidden")


class _Recurrent(LayerSpec):
    category = "Recurrent"
    gates = 1          # weight blocks per layer and direction: RNN 1, GRU 3, LSTM 4
    torch_name = ""
    extra_params: tuple[Param, ...] = ()

    @classmethod
    def _params(cls, extra: tuple[Param, ...] = ()) -> tuple[Param, ...]:
        return (
            Param("hidden_size", "int", 64, "Size H of the hidden state (features per time "
                  "step and direction).", min=1, max=100_000),
            Param("num_layers", "int", 1, "Number of stacked recurrent layers; each reads the "
                  "previous layer's output sequence.", min=1, max=64),
            Param("bidirectional", "bool", False, "Also run a second layer from the end of "
                  "the sequence to the start; outputs are concatenated (2·H)."),
            Param("dropout", "float", 0.0, "Dropout on the outputs of every layer except the "
                  "last (only has an effect when num_layers ≥ 2).", min=0.0, max=1.0),
            Param("bias", "bool", True, "Learn the bias vectors b_i and b_h."),
            *extra,
            Param("output", "choice", "sequence", "sequence: every time step (N, L, H·dirs); "
                  "last: the output at the last time step (N, H·dirs); hidden: the final "
                  "hidden state of the last layer, directions concatenated (N, H·dirs).",
                  choices=_MODES),
        )

    def _dirs(self, p) -> int:
        return 2 if p["bidirectional"] else 1

    def infer(self, p, ins):
        x = ins[0]
        if x.dtype != "float":
            raise ShapeError(f"expected a float sequence (N, L, F), received integer ids {x}: "
                             "add an Embedding first", "in")
        if x.rank != 2:
            hint = (" Add a Reshape to (L, F) (e.g. (L, 1) for a univariate series)."
                    if x.rank == 1 else "")
            raise ShapeError(f"expected a sequence (N, L, F), received {x}.{hint}", "in")
        width = p["hidden_size"] * self._dirs(p)
        if p["output"] == "sequence":
            return [TensorType((x.shape[0], width))]
        return [TensorType((width,))]

    def _layer_params(self, p, f_in: int) -> int:
        h, g = p["hidden_size"], self.gates
        return g * h * (f_in + h) + (2 * g * h if p["bias"] else 0)

    def param_count(self, p, ins):
        f, h, dirs = ins[0].shape[-1], p["hidden_size"], self._dirs(p)
        total = 0
        for layer in range(p["num_layers"]):
            total += dirs * self._layer_params(p, f if layer == 0 else h * dirs)
        return total

    def flops(self, p, ins, outs):
        return ins[0].shape[0] * self.param_count(p, ins)

    def explain(self, p, ins, outs):
        L, f = ins[0].shape
        h, dirs, n = p["hidden_size"], self._dirs(p), p["num_layers"]
        g = self.gates
        e = Explanation()
        mode = {"sequence": f"every one of the {L} time steps",
                "last": "the last time step only",
                "hidden": "the final hidden state of the last layer"}[p["output"]]
        e.shape.append(f"output {outs[0]}: {mode}, width H·dirs = {h}·{dirs} = {h * dirs}")
        b = f" + 2·{g}·H" if p["bias"] else ""
        e.params.append(f"per layer and direction: {g}·H·(F_in + H){b}")
        first = self._layer_params(p, f)
        e.params.append(f"layer 1: {dirs}·({g}·{h}·({f} + {h})"
                        f"{f' + 2·{g}·{h}' if p['bias'] else ''}) = {dirs * first}")
        if n > 1:
            rest = self._layer_params(p, h * dirs)
            which = "layer 2" if n == 2 else f"layers 2–{n}"
            e.params.append(f"{which}: F_in = {h * dirs}, each {dirs}·"
                            f"({g}·{h}·({h * dirs} + {h}){f' + 2·{g}·{h}' if p['bias'] else ''})"
                            f" = {dirs * rest}")
        e.params.append(f"params = {self.param_count(p, ins)}")
        if p["dropout"] and n == 1:
            e.params.append("note: dropout has no effect with a single layer")
        return e

    def module(self, p, ins):
        kw = [("num_layers", p["num_layers"], 1)]
        kw += self._extra_kwargs(p)
        kw += [("bias", p["bias"], True), ("batch_first", True, None)]
        if p["num_layers"] > 1:
            kw.append(("dropout", p["dropout"], 0.0))
        kw.append(("bidirectional", p["bidirectional"], False))
        return call(f"nn.{self.torch_name}", [ins[0].shape[-1], p["hidden_size"]], kw)

    def _extra_kwargs(self, p) -> list[tuple]:
        return []

    def forward(self, p, attr, args, outs):
        y, x = outs[0], args[0]
        mode = p["output"]
        if mode == "sequence":
            return [f"{y}, _ = self.{attr}({x})"]
        if mode == "last":
            return [f"{y}, _ = self.{attr}({x})", f"{y} = {y}[:, -1]"]
        state = f"({y}, _)" if self.torch_name == "LSTM" else y
        last = (f"torch.cat([{y}[-2], {y}[-1]], dim=1)" if p["bidirectional"] else f"{y}[-1]")
        return [f"_, {state} = self.{attr}({x})", f"{y} = {last}"]


@register
class RNN(_Recurrent):
    id = "rnn.RNN"
    name = "RNN"
    torch_name = "RNN"
    gates = 1
    doc = "Elman recurrent layer: a hidden state updated at every time step."
    formula = "h_t = tanh(W_ih·x_t + b_ih + W_hh·h_(t−1) + b_hh)"
    params = _Recurrent._params((
        Param("nonlinearity", "choice", "tanh", "Activation of the hidden state update.",
              choices=("tanh", "relu")),))

    def _extra_kwargs(self, p):
        return [("nonlinearity", p["nonlinearity"], "tanh")]


@register
class LSTM(_Recurrent):
    id = "rnn.LSTM"
    name = "LSTM"
    torch_name = "LSTM"
    gates = 4
    doc = "Long short-term memory: gated cell state that remembers over long sequences."
    formula = ("i = σ(W_ii·x_t + b_ii + W_hi·h_(t−1) + b_hi)\n"
               "f = σ(W_if·x_t + b_if + W_hf·h_(t−1) + b_hf)\n"
               "g = tanh(W_ig·x_t + b_ig + W_hg·h_(t−1) + b_hg)\n"
               "o = σ(W_io·x_t + b_io + W_ho·h_(t−1) + b_ho)\n"
               "c_t = f ⊙ c_(t−1) + i ⊙ g,   h_t = o ⊙ tanh(c_t)")
    params = _Recurrent._params()


@register
class GRU(_Recurrent):
    id = "rnn.GRU"
    name = "GRU"
    torch_name = "GRU"
    gates = 3
    doc = "Gated recurrent unit: an LSTM-like gated layer with fewer parameters."
    formula = ("r = σ(W_ir·x_t + b_ir + W_hr·h_(t−1) + b_hr)\n"
               "z = σ(W_iz·x_t + b_iz + W_hz·h_(t−1) + b_hz)\n"
               "n = tanh(W_in·x_t + b_in + r ⊙ (W_hn·h_(t−1) + b_hn))\n"
               "h_t = (1 − z) ⊙ n + z ⊙ h_(t−1)")
    params = _Recurrent._params()
