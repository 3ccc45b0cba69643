"""DenseNet-121 as Studio blocks with torchvision's names
(`features.denseblock1.denselayer1.conv1`, `features.transition1.conv`, `classifier`)."""
from __future__ import annotations

from .build import Body, arg

CONV = {"bias": False}


def _dense_layer(b: Body) -> None:
    body = b.block_type("DenseLayer", [arg("growth_rate", 32, "Channels the layer adds."),
                                       arg("bn_size", 4, "Bottleneck width, in multiples of "
                                           "growth_rate.")],
                        "DenseNet layer: BN-ReLU-1x1 conv, BN-ReLU-3x3 conv; its growth_rate "
                        "new channels are joined to its input.")
    x = body.input()
    y = body.add("norm.BatchNorm2d", x, "norm1")
    y = body.add("act.ReLU", y, "relu1")
    y = body.add("conv.Conv2d", y, "conv1", {"out_channels": "bn_size * growth_rate"},
                 kernel_size=1, **CONV)
    y = body.add("norm.BatchNorm2d", y, "norm2")
    y = body.add("act.ReLU", y, "relu2")
    y = body.add("conv.Conv2d", y, "conv2", {"out_channels": "growth_rate"}, kernel_size=3,
                 padding=1, **CONV)
    body.output(body.add("merge.Concatenate", [x, y], "concat"))


def _dense_block(b: Body, layers: int) -> str:
    name = f"DenseBlock{layers}"
    if not b.has_type(name):
        body = b.block_type(name, [arg("growth_rate", 32, "Channels each layer adds.")],
                            f"{layers} dense layers; each one's output is joined to its input, "
                            "so the block adds growth_rate channels per layer.")
        y = body.input()
        for i in range(1, layers + 1):
            y = body.block("DenseLayer", y, f"denselayer{i}", {"growth_rate": "growth_rate"})
        body.output(y)
    return name


def _transition(b: Body) -> None:
    body = b.block_type("Transition", [arg("channels", 128, "Output channels.")],
                        "Between dense blocks: BN-ReLU-1x1 convolution to fewer channels, "
                        "then 2x2 average pooling.")
    y = body.add("norm.BatchNorm2d", body.input(), "norm")
    y = body.add("act.ReLU", y, "relu")
    y = body.add("conv.Conv2d", y, "conv", {"out_channels": "channels"}, kernel_size=1, **CONV)
    body.output(body.add("pool.AvgPool2d", y, "pool", kernel_size=2, stride=2))


def densenet(block_config: tuple[int, ...], growth_rate: int = 32, init_features: int = 64,
             num_classes: int = 1000, image_size: int = 224):
    b = Body.model()
    _dense_layer(b)
    _transition(b)
    feats = b.block_type("Features", [], "DenseNet's convolutional part: stem, dense blocks "
                         "with transitions between them, final batch norm.")
    y = feats.add("conv.Conv2d", feats.input(), "conv0", out_channels=init_features,
                  kernel_size=7, stride=2, padding=3, **CONV)
    y = feats.add("norm.BatchNorm2d", y, "norm0")
    y = feats.add("act.ReLU", y, "relu0")
    y = feats.add("pool.MaxPool2d", y, "pool0", kernel_size=3, stride=2, padding=1)
    channels = init_features
    for i, layers in enumerate(block_config, start=1):
        y = feats.block(_dense_block(b, layers), y, f"denseblock{i}", growth_rate=growth_rate)
        channels += layers * growth_rate
        if i != len(block_config):
            channels //= 2
            y = feats.block("Transition", y, f"transition{i}", channels=channels)
    feats.output(feats.add("norm.BatchNorm2d", y, "norm5"))
    y = b.block("Features", b.input((3, image_size, image_size), "image"), "features")
    y = b.add("act.ReLU", y, "relu")
    y = b.add("pool.AdaptiveAvgPool2d", y, "avgpool", output_size=1)
    y = b.add("core.Flatten", y, "flatten")
    b.output(b.add("core.Linear", y, "classifier", out_features=num_classes), "logits")
    return b.finish()


def densenet121(num_classes: int = 1000, image_size: int = 224):
    return densenet((6, 12, 24, 16), num_classes=num_classes, image_size=image_size)


def remap_legacy_keys(state: dict) -> dict:
    """torchvision's DenseNet files name some tensors the old way ('denselayer1.norm.1.weight'
    for 'denselayer1.norm1.weight'); rename them as torchvision itself does when loading."""
    import re

    legacy = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\."
                        r"(?:weight|bias|running_mean|running_var))$")
    out = {}
    for key, value in state.items():
        m = legacy.match(key)
        out[m.group(1) + m.group(2) if m else key] = value
    return out


__all__ = ["densenet121", "remap_legacy_keys"]
