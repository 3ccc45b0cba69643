"""VGG-11/16 as Studio blocks with torchvision's names (`features.0`, `classifier.6`)."""
from __future__ import annotations

from .build import Body

CONFIGS = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"),
}


def vgg(config: tuple, num_classes: int = 1000, image_size: int = 224):
    """`features` (3x3 convolutions with ReLU, 2x2 max pooling between stages), adaptive
    average pooling to 7x7, and the `classifier` (two 4096-unit layers with dropout)."""
    b = Body.model()
    layers = []
    for v in config:
        if v == "M":
            layers.append(("pool.MaxPool2d", {"kernel_size": 2, "stride": 2}))
        else:
            layers += [("conv.Conv2d", {"out_channels": v, "kernel_size": 3, "padding": 1}),
                       ("act.ReLU", {})]
    feats = b.block_type("Features", [], f"VGG's convolutional part: {len(layers)} layers, "
                         "3x3 convolutions with ReLU and 2x2 max pooling.")
    feats.output(feats.chain(feats.input(), layers))
    head = b.block_type("Classifier", [], "VGG's classifier: two fully connected layers of "
                        "4096 units with ReLU and dropout, then one output per class.")
    head.output(head.chain(head.input((25088,)), [
        ("core.Linear", {"out_features": 4096}), ("act.ReLU", {}), ("core.Dropout", {}),
        ("core.Linear", {"out_features": 4096}), ("act.ReLU", {}), ("core.Dropout", {}),
        ("core.Linear", {"out_features": num_classes})]))
    y = b.block("Features", b.input((3, image_size, image_size), "image"), "features")
    y = b.add("pool.AdaptiveAvgPool2d", y, "avgpool", output_size=7)
    y = b.add("core.Flatten", y, "flatten")
    b.output(b.block("Classifier", y, "classifier"), "logits")
    return b.finish()


def vgg11(num_classes: int = 1000, image_size: int = 224):
    return vgg(CONFIGS["vgg11"], num_classes, image_size)


def vgg16(num_classes: int = 1000, image_size: int = 224):
    return vgg(CONFIGS["vgg16"], num_classes, image_size)


__all__ = ["vgg11", "vgg16"]
