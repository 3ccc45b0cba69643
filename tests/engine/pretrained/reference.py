"""Reference networks written the way torchvision writes them (module names, nesting,
channel arithmetic), so the tests can compare Studio's gallery with them: same state_dict
keys and shapes, same outputs for the same weights.

torchvision does not install beside this CPU torch, so these are our own definitions of its
public architectures; the published parameter counts (PUBLISHED) pin them to the originals.
"""
from __future__ import annotations

from functools import partial

import torch
from torch import nn

from ..import_zoo import convnets as zoo
from . import reference_mobile

# torchvision's model metadata ("num_params"), 1000 ImageNet classes
PUBLISHED = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
             "vgg11": 132_863_336, "vgg16": 138_357_544, "densenet121": 7_978_856,
             "mobilenet_v2": 3_504_872, "mobilenet_v3_small": 2_542_856,
             "efficientnet_b0": 5_288_548}


# The import zoo's ResNet, VGG and DenseNet are written in torchvision's idioms; at torchvision's
# sizes they are its networks.
VGG_CONFIGS = {"vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
               "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                         512, 512, 512, "M"]}


def make(name: str, num_classes: int = 1000) -> nn.Module:
    builders = {
        "resnet18": partial(zoo.ResNet, zoo.BasicBlock, (2, 2, 2, 2), width=64),
        "resnet34": partial(zoo.ResNet, zoo.BasicBlock, (3, 4, 6, 3), width=64),
        "resnet50": partial(zoo.ResNet, zoo.Bottleneck, (3, 4, 6, 3), width=64),
        "vgg11": partial(zoo.VGG, VGG_CONFIGS["vgg11"], batch_norm=False, hidden=4096),
        "vgg16": partial(zoo.VGG, VGG_CONFIGS["vgg16"], batch_norm=False, hidden=4096),
        "densenet121": partial(zoo.DenseNet, growth=32, blocks=(6, 12, 24, 16), init=64,
                               bn_size=4, drop_rate=0.0),
        **reference_mobile.BUILDERS,
    }
    return builders[name](num_classes=num_classes)


def randomized_state(model: nn.Module, seed: int = 0) -> dict:
    """The model's state_dict with every tensor random, batch-norm statistics included (so a
    mixed-up running_mean/var shows in the outputs)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, t in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            out[key] = torch.tensor(7)
        elif key.endswith("running_var"):
            out[key] = torch.rand(t.shape, generator=g) + 0.5
        elif key.endswith(("running_mean", "bias")):
            out[key] = torch.randn(t.shape, generator=g) * 0.1
        elif key.endswith("weight") and t.dim() == 1:
            out[key] = torch.rand(t.shape, generator=g) + 0.5
        else:
            fan_in = max(1, t[0].numel())
            out[key] = torch.randn(t.shape, generator=g) * (2.0 / fan_in) ** 0.5
    return out
