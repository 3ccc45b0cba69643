"""A ResNet-50-shaped project built from blocks, for the editor benchmarks: the stem, then
16 bottlenecks of one block type (the library's BottleneckDown: 1x1, 3x3, 1x1 and a
projection shortcut) as 8 nodes (each stage: its first block, then the rest as repeat ×N),
global pooling and the classifier. 3×224×224 in, 1000 classes out."""
from __future__ import annotations

from engine.graph import Graph
from engine.library import BUILTIN_DIR, read_block_file

STAGES = ((64, 1, 3), (128, 2, 4), (256, 2, 6), (512, 2, 3))  # planes, stride, blocks


def resnet50_blocks() -> Graph:
    g = Graph.from_dict({"blocks": read_block_file(BUILTIN_DIR / "BottleneckDown.nnblock")
                         .types})
    chain = [g.add_node("io.Input", {"shape": [3, 224, 224]}, name="image"),
             g.add_node("conv.Conv2d", {"out_channels": 64, "kernel_size": 7, "stride": 2,
                                        "padding": 3, "bias": False}, name="conv1"),
             g.add_node("norm.BatchNorm2d", {}, name="bn1"),
             g.add_node("act.ReLU", {}, name="relu"),
             g.add_node("pool.MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1},
                        name="maxpool")]
    for i, (planes, stride, blocks) in enumerate(STAGES, 1):
        chain.append(g.add_node("block:BottleneckDown", {"planes": planes, "stride": stride},
                                name=f"layer{i}"))
        chain.append(g.add_node("block:BottleneckDown", {"planes": planes, "stride": 1,
                                                         "repeat": blocks - 1},
                                name=f"layer{i}_rest"))
    chain += [g.add_node("pool.GlobalAvgPool", {}, name="avgpool"),
              g.add_node("core.Linear", {"out_features": 1000}, name="fc"),
              g.add_node("io.Output", {}, name="logits")]
    for a, b in zip(chain, chain[1:]):
        g.connect(a.id, a.output_ports()[0], b.id, b.input_ports()[0])
    for k, node in enumerate(chain):
        g.set_position(node.id, (k * 190.0, 0.0))
    return g


__all__ = ["resnet50_blocks"]
