"""Explain one number of a layer's output on one sample of the user's own model: run the
model once with hooks on the layer (its input and output) and on the activation layer that
follows it, then write the arithmetic out with explain.py. Conv2d, MaxPool2d, AvgPool2d,
Softmax, and the logits of a classifier (the softmax its loss applies)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .explain import (
    ConvStep,
    PoolStep,
    SoftmaxStep,
    explain_conv,
    explain_pool,
    explain_softmax,
)

ALONG_A_DIM = ("act.Softmax", "act.LogSoftmax")   # the other act.* are element-wise


class ExplainError(ValueError):
    """This node / position cannot be written out (one sentence for the user)."""


@dataclass
class Explained:
    kind: str                     # "conv" | "maxpool" | "avgpool" | "softmax"
    node_name: str
    index: tuple[int, ...]        # the output position (channel, row, col) or (unit,)
    layer_input: np.ndarray       # the layer's input for this sample, without the batch dim
    step: ConvStep | PoolStep | SoftmaxStep
    module_value: float           # what the model itself computed at `index`
    activation: tuple[str, float] | None = None   # (name, value) of the following activation
    detail: str = ""              # stride / padding / dilation as a short text
    in_channels: tuple[int, int] = (0, 0)   # conv: the input channels [first, end) it sees


def explainable(node_type: str) -> bool:
    return node_type in ("conv.Conv2d", "pool.MaxPool2d", "pool.AvgPool2d", "act.Softmax")


def _next_activation(graph, node_id: str):
    """The node's only successor when it is an element-wise activation layer."""
    outs = [e for e in graph.edges if e.src == node_id]
    if len(outs) != 1:
        return None
    node = graph.nodes.get(outs[0].dst)
    elementwise = node is not None and node.type.startswith("act.") and \
        node.type not in ALONG_A_DIM
    return node if elementwise else None


def feeds_output(graph, node_id: str) -> bool:
    """True when the node's output goes straight to an Output node (a classifier's logits)."""
    outs = [e for e in graph.edges if e.src == node_id]
    return bool(outs) and all(graph.nodes[e.dst].type == "io.Output" for e in outs)


def _first(t):
    while isinstance(t, (tuple, list)):
        t = t[0]
    return t


def explain_at(model, graph, x: np.ndarray, node_id: str, index: tuple[int, ...],
               logits: bool = False) -> Explained:
    """Output `index` (no batch dim) of node `node_id` for one sample `x` (no batch dim) of
    the compiled `model` of `graph`. `logits`: explain the node's output vector as the
    logits of a softmax (a classifier trained with cross-entropy)."""
    import torch

    from ..insight.compute import module_for

    node = graph.nodes[node_id]
    if not explainable(node.type) and not logits:
        raise ExplainError(f"{node.name} ({node.type}) is not written out: click a pixel of a "
                           f"Conv2d, MaxPool2d or AvgPool2d layer, or a unit of a Softmax")
    module = module_for(model, node_id)
    if module is None:
        raise ExplainError(f"{node.name} has no module to look into")
    act_node = _next_activation(graph, node_id) if node.type != "act.Softmax" else None
    act_module = module_for(model, act_node.id) if act_node is not None else None
    got: dict[str, np.ndarray] = {}

    def keep(key):
        def hook(_m, args, out):
            got.setdefault(key + "_in", _first(args).detach().double().cpu().numpy())
            got.setdefault(key, _first(out).detach().double().cpu().numpy())
        return hook

    hooks = [module.register_forward_hook(keep("out"))]
    if act_module is not None:
        hooks.append(act_module.register_forward_hook(keep("act")))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.as_tensor(np.asarray(x)[None]))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    if "out" not in got:
        raise ExplainError(f"{node.name} did not run on this sample")
    inp, out = got["out_in"][0], got["out"][0]
    index = tuple(int(v) for v in index)
    if node.type == "act.Softmax" or logits:
        return _softmax(node, inp if node.type == "act.Softmax" else out, out, index, logits)
    if out.ndim != 3 or len(index) != 3:
        raise ExplainError(f"{node.name}: pick a pixel of a 2-D feature map")
    step, kind, detail, channels = _spatial(module, node, inp, index)
    activation = None
    if act_node is not None and "act" in got:
        activation = (act_node.name, float(got["act"][0][index]))
    return Explained(kind, node.name, index, inp, step, float(out[index]), activation, detail,
                     channels)


def _spatial(module, node, inp: np.ndarray, index):
    from torch import nn

    c, i, j = index
    if isinstance(module, nn.Conv2d):
        if module.padding_mode != "zeros":
            raise ExplainError(f"{node.name}: only zero padding is written out")
        padding = module.padding
        if isinstance(padding, str):            # 'same' / 'valid'
            left, right, top, bottom = module._reversed_padding_repeated_twice
            if left != right or top != bottom:
                raise ExplainError(f"{node.name}: uneven 'same' padding is not written out")
            padding = (top, left)
        weight = module.weight.detach().double().cpu().numpy()
        bias = None if module.bias is None else module.bias.detach().double().cpu().numpy()
        groups = module.groups
        per = weight.shape[0] // groups
        g = c // per
        cin = weight.shape[1]
        x = inp[g * cin:(g + 1) * cin]
        step = explain_conv(x, weight[g * per:(g + 1) * per], None if bias is None else
                            bias[g * per:(g + 1) * per], c - g * per, i, j, module.stride,
                            padding, module.dilation)
        detail = (f"stride {_txt(module.stride)}, padding {_txt(padding)}, "
                  f"dilation {_txt(module.dilation)}"
                  + (f", group {g + 1} of {groups} (input channels {g * cin + 1}-"
                     f"{(g + 1) * cin})" if groups > 1 else ""))
        return step, "conv", detail, (g * cin, (g + 1) * cin)
    if isinstance(module, nn.MaxPool2d):
        if _txt(module.dilation) != "1":
            raise ExplainError(f"{node.name}: dilated pooling is not written out")
        step = explain_pool(inp, "max", c, i, j, module.kernel_size, module.stride,
                            module.padding)
        return step, "maxpool", _pool_detail(module), (c, c + 1)
    if isinstance(module, nn.AvgPool2d):
        if module.divisor_override:
            raise ExplainError(f"{node.name}: a divisor override is not written out")
        step = explain_pool(inp, "avg", c, i, j, module.kernel_size, module.stride,
                            module.padding, module.count_include_pad)
        return step, "avgpool", _pool_detail(module), (c, c + 1)
    raise ExplainError(f"{node.name}: its module ({type(module).__name__}) is not written out")


def _softmax(node, logits_in: np.ndarray, out: np.ndarray, index, from_logits: bool
             ) -> Explained:
    if logits_in.ndim != 1:
        raise ExplainError(f"{node.name}: the softmax is written out for a vector of "
                           f"scores (this output is {'×'.join(map(str, out.shape))})")
    step = explain_softmax(logits_in)
    unit = int(index[-1])
    value = float(step.probs[unit]) if from_logits else float(out[unit])
    detail = ("the loss turns these scores (logits) into probabilities with a softmax"
              if from_logits else "")
    return Explained("softmax", node.name, (unit,), logits_in, step, value, None, detail)


def _pool_detail(module) -> str:
    return (f"kernel {_txt(module.kernel_size)}, stride {_txt(module.stride)}, padding "
            f"{_txt(module.padding)}")


def _txt(v) -> str:
    v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    return str(v[0]) if len(set(v)) == 1 else "×".join(map(str, v))
