"""ResNet-18/34/50 as Studio blocks, with torchvision's module names (`layer1.0.conv1`,
`layer2.0.downsample.0`), so a torchvision state_dict loads by name.

Each stage (`layer1`..`layer4`) is an instance of a chain block type holding its residual
blocks as "0", "1", ...; the first block of a stage that changes size has the projection
shortcut (`downsample`: a 1x1 convolution and batch norm).
"""
from __future__ import annotations

from .build import Body, arg

CONV = {"bias": False}


def _downsample(b: Body) -> None:
    if b.has_type("Downsample"):
        return
    body = b.block_type("Downsample", [arg("channels", 128, "Output channels."),
                                       arg("stride", 2, "Stride of the 1x1 convolution.")],
                        "Projection shortcut: a strided 1x1 convolution and batch norm, so "
                        "the input can be added to a block's output of another size.")
    x = body.input()
    y = body.chain(x, [("conv.Conv2d", dict(kernel_size=1, **CONV),
                        {"out_channels": "channels", "stride": "stride"}),
                       ("norm.BatchNorm2d", {})])
    body.output(y)


def _residual(b: Body, bottleneck: bool, down: bool) -> str:
    """The block type BasicBlock / Bottleneck (+ "Down": with stride and shortcut)."""
    name = ("Bottleneck" if bottleneck else "BasicBlock") + ("Down" if down else "")
    if b.has_type(name):
        return name
    if down:
        _downsample(b)
    args = [arg("planes", 64, "Channels of the 3x3 convolution" +
                (" (the output has 4x as many)." if bottleneck else " and of the output."))]
    if down:
        args.append(arg("stride", 2, "Stride of the 3x3 convolution and the shortcut."))
    doc = ("ResNet bottleneck: 1x1 reduce, 3x3, 1x1 expand (x4), the input added back"
           if bottleneck else "ResNet basic block: two 3x3 convolutions, the input added back")
    body = b.block_type(name, args, doc + (" through a projection shortcut." if down else "."))
    x = body.input()
    stride = {"stride": "stride"} if down else {}
    if bottleneck:
        y = body.add("conv.Conv2d", x, "conv1", {"out_channels": "planes"}, kernel_size=1,
                     **CONV)
        y = body.add("norm.BatchNorm2d", y, "bn1")
        y = body.add("act.ReLU", y, "relu1")
        y = body.add("conv.Conv2d", y, "conv2", {"out_channels": "planes", **stride},
                     kernel_size=3, padding=1, **CONV)
        y = body.add("norm.BatchNorm2d", y, "bn2")
        y = body.add("act.ReLU", y, "relu2")
        y = body.add("conv.Conv2d", y, "conv3", {"out_channels": "planes * 4"},
                     kernel_size=1, **CONV)
        y = body.add("norm.BatchNorm2d", y, "bn3")
    else:
        y = body.add("conv.Conv2d", x, "conv1", {"out_channels": "planes", **stride},
                     kernel_size=3, padding=1, **CONV)
        y = body.add("norm.BatchNorm2d", y, "bn1")
        y = body.add("act.ReLU", y, "relu1")
        y = body.add("conv.Conv2d", y, "conv2", {"out_channels": "planes"}, kernel_size=3,
                     padding=1, **CONV)
        y = body.add("norm.BatchNorm2d", y, "bn2")
    shortcut = x
    if down:
        out = "planes * 4" if bottleneck else "planes"
        shortcut = body.block("Downsample", x, "downsample",
                              {"channels": out, "stride": "stride"})
    y = body.add("merge.Add", [y, shortcut], "add")
    body.output(body.add("act.ReLU", y, "relu"))
    return name


def _stage(b: Body, bottleneck: bool, down: bool, blocks: int) -> str:
    """A chain type: the stage's first block (with the shortcut when `down`), then the
    rest, named 0, 1, 2, ... like torchvision's nn.Sequential."""
    name = f"{'Bottleneck' if bottleneck else 'Basic'}Stage{'Down' if down else ''}{blocks}"
    if b.has_type(name):
        return name
    first, rest = _residual(b, bottleneck, down), _residual(b, bottleneck, False)
    args = [arg("planes", 64, "Channels of the stage's blocks.")]
    if down:
        args.append(arg("stride", 2, "Stride of the first block (2 halves height and width)."))
    body = b.block_type(name, args, f"A ResNet stage of {blocks} {'bottleneck' if bottleneck else 'basic'} blocks.")
    x = body.input()
    items = [(f"block:{first}", {}, {"planes": "planes", **({"stride": "stride"} if down
                                                               else {})})]
    items += [(f"block:{rest}", {}, {"planes": "planes"})] * (blocks - 1)
    body.output(body.chain(x, items))
    return name


def resnet(layers: tuple[int, ...], bottleneck: bool, num_classes: int = 1000,
           image_size: int = 224):
    """The model graph: stem, four stages, global average pooling, the `fc` classifier."""
    b = Body.model()
    x = b.input((3, image_size, image_size), "image")
    y = b.add("conv.Conv2d", x, "conv1", out_channels=64, kernel_size=7, stride=2, padding=3,
              **CONV)
    y = b.add("norm.BatchNorm2d", y, "bn1")
    y = b.add("act.ReLU", y, "relu")
    y = b.add("pool.MaxPool2d", y, "maxpool", kernel_size=3, stride=2, padding=1)
    expansion = 4 if bottleneck else 1
    in_planes = 64
    for i, (blocks, planes) in enumerate(zip(layers, (64, 128, 256, 512)), start=1):
        stride = 1 if i == 1 else 2
        down = stride != 1 or in_planes != planes * expansion
        stage = _stage(b, bottleneck, down, blocks)
        y = b.block(stage, y, f"layer{i}", planes=planes, **({"stride": stride} if down else {}))
        in_planes = planes * expansion
    y = b.add("pool.AdaptiveAvgPool2d", y, "avgpool", output_size=1)
    y = b.add("core.Flatten", y, "flatten")
    y = b.add("core.Linear", y, "fc", out_features=num_classes)
    b.output(y, "logits")
    return b.finish()


def resnet18(num_classes: int = 1000, image_size: int = 224):
    return resnet((2, 2, 2, 2), False, num_classes, image_size)


def resnet34(num_classes: int = 1000, image_size: int = 224):
    return resnet((3, 4, 6, 3), False, num_classes, image_size)


def resnet50(num_classes: int = 1000, image_size: int = 224):
    return resnet((3, 4, 6, 3), True, num_classes, image_size)


__all__ = ["resnet18", "resnet34", "resnet50"]
