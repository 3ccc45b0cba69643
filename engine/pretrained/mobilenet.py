"""MobileNetV2 and MobileNetV3-Small as Studio blocks with torchvision's names
(`features.2.conv.1.0`, `features.4.block.2.fc1`, `classifier.3`), so its files load by name.

Both are a numbered `features` chain (a stem convolution, inverted residual blocks, a last 1x1
convolution), global average pooling and a `classifier` chain.
"""
from __future__ import annotations

from .build import Body
from .mbconv import Style, conv_bn_act, dropout_head, finish, inverted_residual, make_divisible

V2_STYLE = Style(layers_attr="conv", flat_project=True)
# (expansion t, output channels c, blocks n, first stride s), as in the MobileNetV2 paper
V2_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
              (6, 160, 3, 2), (6, 320, 1, 1))

V3_STYLE = Style(layers_attr="block", bn={"eps": 0.001, "momentum": 0.01})
# (input, kernel, expanded, output, squeeze-and-excitation, activation, stride)
V3_SMALL = ((16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2),
            (24, 3, 88, 24, False, "RE", 1), (24, 5, 96, 40, True, "HS", 2),
            (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
            (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1),
            (48, 5, 288, 96, True, "HS", 2), (96, 5, 576, 96, True, "HS", 1),
            (96, 5, 576, 96, True, "HS", 1))
V3_ACT = {"RE": "act.ReLU", "HS": "act.Hardswish"}


def mobilenet_v2(num_classes: int = 1000, image_size: int = 224):
    b = Body.model()
    stem = conv_bn_act(b, "act.ReLU6", {})
    items: list[tuple] = [(f"block:{stem}", {"channels": 32, "stride": 2})]
    channels = 32
    for t, c, n, s in V2_SETTING:
        for i in range(n):
            stride = s if i == 0 else 1
            kind = inverted_residual(b, V2_STYLE, "act.ReLU6", t != 1, False,
                                     stride == 1 and channels == c)
            items.append((f"block:{kind}", {"expanded": round(channels * t), "channels": c,
                                            "kernel": 3, "stride": stride}))
            channels = c
    items.append((f"block:{stem}", {"channels": 1280, "kernel": 1}))
    return finish(b, items, "MobileNetV2's convolutional part: a strided 3x3 convolution, 17 "
                  "inverted residual blocks, a 1x1 convolution to 1280 channels.", image_size,
                  1280, dropout_head(num_classes), "Dropout, then one output per class.")


def mobilenet_v3_small(num_classes: int = 1000, image_size: int = 224):
    b = Body.model()
    stem = conv_bn_act(b, "act.Hardswish", V3_STYLE.bn)
    items: list[tuple] = [(f"block:{stem}", {"channels": 16, "stride": 2})]
    for cin, k, exp, cout, se, act, stride in V3_SMALL:
        kind = inverted_residual(b, V3_STYLE, V3_ACT[act], exp != cin, se,
                                 stride == 1 and cin == cout)
        params = {"expanded": exp, "channels": cout, "kernel": k, "stride": stride}
        if se:
            params["squeeze"] = make_divisible(exp // 4)
        items.append((f"block:{kind}", params))
    items.append((f"block:{stem}", {"channels": 576, "kernel": 1}))
    head = [("core.Linear", {"out_features": 1024}), ("act.Hardswish", {}),
            ("core.Dropout", {"p": 0.2}), ("core.Linear", {"out_features": num_classes})]
    return finish(b, items, "MobileNetV3-Small's convolutional part: a strided 3x3 "
                  "convolution, 11 inverted residual blocks (most with squeeze-and-"
                  "excitation), a 1x1 convolution to 576 channels.", image_size, 576, head,
                  "A 1024-unit hidden layer with Hardswish and dropout, then one output per "
                  "class.")


__all__ = ["mobilenet_v2", "mobilenet_v3_small"]
