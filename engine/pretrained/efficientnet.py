"""EfficientNet-B0 as Studio blocks with torchvision's names (`features.2.0.block.1.0`,
`features.2.0.block.2.fc1`, `classifier.1`), so its files load by name.

`features` is a numbered chain: a strided 3x3 convolution, seven stages of inverted residual
blocks with squeeze-and-excitation and SiLU (each stage a numbered chain of blocks), a 1x1
convolution to 1280 channels. Residual blocks skip their layers with a probability growing
linearly with depth to 0.2 while training (stochastic depth).
"""
from __future__ import annotations

from .build import Body
from .mbconv import Style, conv_bn_act, dropout_head, finish, inverted_residual, make_divisible

STYLE = Style(layers_attr="block", drop_path=True, se_act="act.SiLU", se_gate="act.Sigmoid")
# (expansion, kernel, first stride, input channels, output channels, blocks) for B0
B0_SETTING = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
              (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
              (6, 3, 1, 192, 320, 1))
STOCHASTIC_DEPTH = 0.2


def efficientnet_b0(num_classes: int = 1000, image_size: int = 224):
    b = Body.model()
    stem = conv_bn_act(b, "act.SiLU", {})
    items: list[tuple] = [(f"block:{stem}", {"channels": 32, "stride": 2})]
    total = sum(s[-1] for s in B0_SETTING)
    block_id = 0
    for number, (t, k, s, cin, cout, n) in enumerate(B0_SETTING, start=1):
        blocks = []
        for i in range(n):
            channels, stride = (cin, s) if i == 0 else (cout, 1)
            expanded = make_divisible(channels * t)
            residual = stride == 1 and channels == cout
            kind = inverted_residual(b, STYLE, "act.SiLU", expanded != channels, True,
                                     residual)
            params = {"expanded": expanded, "channels": cout, "kernel": k, "stride": stride,
                      "squeeze": max(1, channels // 4)}
            if residual:
                params["drop"] = round(STOCHASTIC_DEPTH * block_id / total, 6)
            blocks.append((f"block:{kind}", params))
            block_id += 1
        stage = b.block_type(f"Stage{number}", [], f"EfficientNet stage {number}: {n} inverted "
                             f"residual block{'s' if n > 1 else ''}, {k}x{k} depthwise, "
                             f"{cout} output channels.")
        stage.output(stage.chain(stage.input(), blocks))
        items.append((f"block:Stage{number}", {}))
    items.append((f"block:{stem}", {"channels": 1280, "kernel": 1}))
    return finish(b, items, "EfficientNet-B0's convolutional part: a strided 3x3 convolution, "
                  "seven stages of inverted residual blocks, a 1x1 convolution to 1280 "
                  "channels.", image_size, 1280, dropout_head(num_classes),
                  "Dropout, then one output per class.")


__all__ = ["efficientnet_b0"]
