"""The pieces MobileNetV2, MobileNetV3 and EfficientNet share, as Studio block types with
torchvision's child names: convolution + batch norm + activation (`0`, `1`, `2`, torchvision's
Conv2dNormActivation), squeeze-and-excitation (`fc1`, `fc2`) and the inverted residual block
(its layers in a numbered chain `conv` or `block`, the input added back when shapes allow).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .build import Body, arg

CONV = {"bias": False}


@dataclass(frozen=True)
class Style:
    """How one network family writes its inverted residual blocks."""

    layers_attr: str                 # "conv" (MobileNetV2) or "block"
    bn: dict = field(default_factory=dict)   # BatchNorm2d params (eps, momentum)
    flat_project: bool = False       # V2: project conv and BN directly in the chain
    drop_path: bool = False          # EfficientNet: stochastic depth before the residual add
    se_act: str = "act.ReLU"         # activation between the SE's two 1x1 convolutions
    se_gate: str = "act.Hardsigmoid"


def conv_bn_act(b: Body, act: str | None, bn: dict) -> str:
    """The block type 'ConvBN<Act>': a convolution without bias ('same' padding for odd
    kernels), batch norm and the activation (none for 'ConvBN'), numbered 0, 1, 2."""
    name = "ConvBN" + (act.split(".")[1] if act else "")
    if b.has_type(name):
        return name
    body = b.block_type(name, [arg("channels", 32, "Output channels."),
                               arg("kernel", 3, "Kernel size (odd; padded to keep the size)."),
                               arg("stride", 1, "Stride (2 halves height and width)."),
                               arg("groups", 1, "Channel groups (= channels: depthwise).")],
                        "Convolution, batch norm" + (f" and {act.split('.')[1]}." if act
                                                     else " (no activation)."))
    items = [("conv.Conv2d", dict(CONV), {"out_channels": "channels", "kernel_size": "kernel",
                                          "stride": "stride", "padding": "(kernel - 1) // 2",
                                          "groups": "groups"}),
             ("norm.BatchNorm2d", dict(bn))]
    if act:
        items.append((act, {}))
    body.output(body.chain(body.input(), items))
    return name


def squeeze_excitation(b: Body, style: Style) -> str:
    name = "SqueezeExcitation"
    if b.has_type(name):
        return name
    gate = style.se_gate.split(".")[1]
    body = b.block_type(name, [arg("channels", 64, "Channels of the input (and the gate)."),
                               arg("squeeze", 16, "Channels of the bottleneck.")],
                        f"Squeeze-and-excitation: average each channel, two 1x1 convolutions "
                        f"give a {gate} gate per channel that scales the input.")
    x = body.input()
    y = body.add("pool.AdaptiveAvgPool2d", x, "avgpool", output_size=1)
    y = body.add("conv.Conv2d", y, "fc1", {"out_channels": "squeeze"}, kernel_size=1)
    y = body.add(style.se_act, y, "activation")
    y = body.add("conv.Conv2d", y, "fc2", {"out_channels": "channels"}, kernel_size=1)
    y = body.add(style.se_gate, y, "scale_activation")
    body.output(body.add("merge.Multiply", [y, x], "scale"))
    return name


def inverted_residual(b: Body, style: Style, act: str, expand: bool, se: bool,
                      residual: bool) -> str:
    """The block type of one inverted residual variant: [1x1 expand], depthwise kxk, [SE],
    1x1 project without activation; the input added back when `residual`."""
    act_name = act.split(".")[1]
    variant = f"{act_name}{'' if expand else 'NoExpand'}{'SE' if se else ''}"
    name = f"InvertedResidual{variant}{'Add' if residual else ''}"
    if b.has_type(name):
        return name
    layers = _layers(b, style, act, expand, se, variant)
    args = [arg("expanded", 96, "Channels of the expanded (depthwise) part."),
            arg("channels", 24, "Output channels."), arg("kernel", 3, "Depthwise kernel size."),
            arg("stride", 1, "Depthwise stride.")]
    if se:
        args.append(arg("squeeze", 8, "Channels of the squeeze-and-excitation bottleneck."))
    if residual and style.drop_path:
        args.append(arg("drop", 0.0, "Probability of skipping the block in training "
                        "(stochastic depth)."))
    body = b.block_type(name, args, "Inverted residual: a cheap 1x1 expansion, a depthwise "
                        "convolution, a linear 1x1 projection" +
                        (", the input added back." if residual else "."))
    x = body.input()
    expr = {a: a for a in ("expanded", "channels", "kernel", "stride") +
            (("squeeze",) if se else ())}
    y = body.block(layers, x, style.layers_attr, expr)
    if residual:
        if style.drop_path:
            y = body.add("core.DropPath", y, "stochastic_depth", {"p": "drop"})
        y = body.add("merge.Add", [y, x], "add")
    body.output(y)
    return name


def _layers(b: Body, style: Style, act: str, expand: bool, se: bool, variant: str) -> str:
    """The numbered chain of the block's layers (torchvision's `conv` / `block` Sequential)."""
    name = f"MBLayers{variant}"
    if b.has_type(name):
        return name
    cba = conv_bn_act(b, act, style.bn)
    items = []
    if expand:
        items.append((f"block:{cba}", {"kernel": 1}, {"channels": "expanded"}))
    items.append((f"block:{cba}", {}, {"channels": "expanded", "kernel": "kernel",
                                       "stride": "stride", "groups": "expanded"}))
    if se:
        items.append((f"block:{squeeze_excitation(b, style)}", {},
                      {"channels": "expanded", "squeeze": "squeeze"}))
    if style.flat_project:
        items += [("conv.Conv2d", dict(CONV, kernel_size=1), {"out_channels": "channels"}),
                  ("norm.BatchNorm2d", dict(style.bn))]
    else:
        items.append((f"block:{conv_bn_act(b, None, style.bn)}", {"kernel": 1},
                      {"channels": "channels"}))
    args = [arg("expanded", 96, "Channels of the expanded part."),
            arg("channels", 24, "Output channels."), arg("kernel", 3, "Depthwise kernel size."),
            arg("stride", 1, "Depthwise stride.")]
    if se:
        args.append(arg("squeeze", 8, "Squeeze-and-excitation bottleneck channels."))
    body = b.block_type(name, args, "The layers of an inverted residual block, in order.")
    body.output(body.chain(body.input(), items))
    return name


def make_divisible(value: float, divisor: int = 8) -> int:
    """Channels rounded to a multiple of `divisor`, never more than 10 % below `value` (the
    rounding the MobileNet papers use)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def dropout_head(num_classes: int) -> list[tuple]:
    """The classifier of MobileNetV2 and EfficientNet: dropout, one output per class."""
    return [("core.Dropout", {"p": 0.2}), ("core.Linear", {"out_features": num_classes})]


def finish(b: Body, items: list[tuple], doc: str, image_size: int, channels: int,
           head: list[tuple], head_doc: str):
    """The model graph: the numbered `features` chain of `items` (its last one gives
    `channels`), global average pooling and the `classifier` chain of `head`."""
    feats = b.block_type("Features", [], doc)
    feats.output(feats.chain(feats.input(), items))
    y = b.block("Features", b.input((3, image_size, image_size), "image"), "features")
    cls = b.block_type("Classifier", [], head_doc)
    cls.output(cls.chain(cls.input((channels,)), head))
    y = b.add("pool.AdaptiveAvgPool2d", y, "avgpool", output_size=1)
    y = b.add("core.Flatten", y, "flatten")
    b.output(b.block("Classifier", y, "classifier"), "logits")
    return b.finish()


__all__ = ["Style", "conv_bn_act", "dropout_head", "finish", "inverted_residual",
           "make_divisible", "squeeze_excitation"]
