"""The gallery: ImageNet-pretrained networks Studio can build, with torchvision's published
figures for each (parameters, GMACs, top-1 accuracy, file size) and its input preprocessing.

The weights are torchvision's own files (`https://download.pytorch.org/models/...`); the
hexadecimal part of a file name is the start of its SHA-256, checked after every download.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BASE_URL = "https://download.pytorch.org/models/"


@dataclass(frozen=True)
class Preprocess:
    """How the network's training images were prepared: shorter side resized to `resize`,
    centre `crop`, values scaled to 0..1, then (x - mean) / std per channel."""

    resize: int = 256
    crop: int = 224
    interpolation: str = "bilinear"
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD

    def describe(self) -> str:
        mean = ", ".join(f"{m:g}" for m in self.mean)
        std = ", ".join(f"{s:g}" for s in self.std)
        return (f"resize {self.resize} ({self.interpolation}), centre crop {self.crop}, "
                f"mean ({mean}), std ({std})")

    def dataset_options(self) -> dict:
        """The image-folder dataset settings of this preprocessing: RGB, the shorter side
        resized to `resize`, the centre `crop` x `crop` cut out, then normalized with the
        fixed mean and std the network was trained with (not the data's own statistics)."""
        return {"image_size": [self.crop, self.crop], "color": "RGB", "resize": self.resize,
                "interpolation": self.interpolation, "normalize": "fixed",
                "mean": list(self.mean), "std": list(self.std)}


@dataclass(frozen=True)
class PretrainedNet:
    name: str                   # torchvision's function name: "resnet18"
    title: str                  # "ResNet-18"
    family: str
    file: str                   # the weights file on download.pytorch.org/models/
    params: int                 # parameters with 1000 classes (torchvision's count)
    gmacs: float                # multiply-accumulates per 224x224 image, in billions
    top1: float                 # ImageNet-1K validation accuracy (%)
    file_mb: float
    description: str
    builder: Callable = field(compare=False, repr=False)   # (num_classes, image_size) -> Graph
    preprocess: Preprocess = Preprocess()
    remap: Callable | None = field(default=None, compare=False, repr=False)

    @property
    def url(self) -> str:
        return BASE_URL + self.file

    def build(self, num_classes: int = 1000, image_size: int | None = None):
        return self.builder(num_classes, image_size or self.preprocess.crop)


def _gallery() -> dict[str, PretrainedNet]:
    from . import densenet, efficientnet, mobilenet, resnet, vgg

    nets = [
        PretrainedNet("resnet18", "ResNet-18", "ResNet", "resnet18-f37072fd.pth", 11_689_512,
                      1.814, 69.758, 44.7, "18 layers in 8 basic residual blocks; a good "
                      "first choice for fine-tuning.", resnet.resnet18),
        PretrainedNet("resnet34", "ResNet-34", "ResNet", "resnet34-b627a593.pth", 21_797_672,
                      3.664, 73.314, 83.3, "34 layers in 16 basic residual blocks.",
                      resnet.resnet34),
        PretrainedNet("resnet50", "ResNet-50", "ResNet", "resnet50-0676ba61.pth", 25_557_032,
                      4.089, 76.130, 97.8, "50 layers in 16 bottleneck blocks (1x1, 3x3, 1x1).",
                      resnet.resnet50),
        PretrainedNet("vgg11", "VGG-11", "VGG", "vgg11-8a719046.pth", 132_863_336, 7.609,
                      69.020, 506.8, "8 convolutions and 3 large fully connected layers; "
                      "simple but heavy.", vgg.vgg11),
        PretrainedNet("vgg16", "VGG-16", "VGG", "vgg16-397923af.pth", 138_357_544, 15.47,
                      71.592, 527.8, "13 convolutions and 3 large fully connected layers.",
                      vgg.vgg16),
        PretrainedNet("densenet121", "DenseNet-121", "DenseNet", "densenet121-a639ec97.pth",
                      7_978_856, 2.834, 74.434, 30.8, "4 dense blocks: each layer sees the "
                      "feature maps of all layers before it.", densenet.densenet121,
                      remap=densenet.remap_legacy_keys),
        PretrainedNet("mobilenet_v2", "MobileNetV2", "MobileNet", "mobilenet_v2-b0353104.pth",
                      3_504_872, 0.301, 71.878, 13.6, "17 inverted residual blocks with "
                      "depthwise convolutions; small and fast, for phones and CPUs.",
                      mobilenet.mobilenet_v2),
        PretrainedNet("mobilenet_v3_small", "MobileNetV3-Small", "MobileNet",
                      "mobilenet_v3_small-047dcff4.pth", 2_542_856, 0.057, 67.668, 9.8,
                      "11 inverted residual blocks with squeeze-and-excitation and Hardswish; "
                      "the lightest network here.", mobilenet.mobilenet_v3_small),
        PretrainedNet("efficientnet_b0", "EfficientNet-B0", "EfficientNet",
                      "efficientnet_b0_rwightman-7f5810bc.pth", 5_288_548, 0.386, 77.692, 20.5,
                      "16 inverted residual blocks with squeeze-and-excitation and SiLU; the "
                      "most accurate here for its size.", efficientnet.efficientnet_b0,
                      Preprocess(interpolation="bicubic")),
    ]
    return {n.name: n for n in nets}


GALLERY: dict[str, PretrainedNet] = _gallery()


def get(name: str) -> PretrainedNet:
    """A gallery entry by name ("resnet18") or title ("ResNet-18"); KeyError naming them."""
    key = name.strip().lower().replace("-", "").replace("_", "")
    for net in GALLERY.values():
        if key in (net.name.replace("_", ""), net.title.lower().replace("-", "")):
            return net
    raise KeyError(f"no pretrained network {name!r}; choose one of {', '.join(GALLERY)}")


__all__ = ["GALLERY", "IMAGENET_MEAN", "IMAGENET_STD", "Preprocess", "PretrainedNet", "get"]
