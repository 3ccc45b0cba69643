"""Famous architectures built as graphs give PyTorch's parameter counts and outputs exactly.

The references are written by hand here (torchvision is not a dependency), with the same
module names as torchvision so that the weights copy across by name.
"""
from __future__ import annotations

import torch
from torch import nn

from engine import Graph, compile_graph, validate


class Builder:
    """Builds a graph programmatically: each `add` wires the previous node (or the given
    sources) into the new node and lays nodes out left to right."""

    def __init__(self, shape: list[int]):
        self.graph = Graph()
        self.x = 0
        self.last = self._node("io.Input", {"shape": shape}, "image")

    def _node(self, layer: str, params: dict, name: str) -> str:
        node = self.graph.add_node(layer, params, name=name, pos=(self.x, 0))
        self.x += 190
        return node.id

    def add(self, layer: str, name: str, src: str | list[str] | None = None, **params) -> str:
        nid = self._node(layer, params, name)
        sources = [self.last] if src is None else [src] if isinstance(src, str) else src
        for port, s in zip(self.graph.nodes[nid].input_ports(), sources, strict=True):
            self.graph.connect(s, "out", nid, port)
        self.last = nid
        return nid

    def done(self) -> Graph:
        self.add("io.Output", "logits")
        return self.graph


def copy_by_name(reference: nn.Module, compiled: nn.Module) -> None:
    """reference 'layer1.0.conv1.weight' -> compiled 'layer1_0_conv1.weight' (node names)."""
    target = compiled.state_dict()
    mapped = {}
    for key, value in reference.state_dict().items():
        module, _, tensor = key.rpartition(".")
        name = f"{module.replace('.', '_')}.{tensor}"
        assert target[name].shape == value.shape, name
        mapped[name] = value
    assert sorted(mapped) == sorted(target)
    compiled.load_state_dict(mapped)


def randomize_batchnorm(model: nn.Module) -> None:
    """Give batch-norm layers non-trivial statistics so eval-mode outputs test them."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


# LeNet-5 -----------------------------------------------------------------------------------
# The common modern rendition of LeCun et al. (1998): 32×32 input, tanh, average pooling with
# no trainable coefficients, a fully connected C3 (all 6 maps feed every one of the 16) and a
# 10-way linear output in place of the RBF layer: 61,706 parameters.

def lenet5_graph() -> Graph:
    b = Builder([1, 32, 32])
    b.add("conv.Conv2d", "c1", out_channels=6, kernel_size=5)
    b.add("act.Tanh", "tanh1")
    b.add("pool.AvgPool2d", "s2", kernel_size=2)
    b.add("conv.Conv2d", "c3", out_channels=16, kernel_size=5)
    b.add("act.Tanh", "tanh2")
    b.add("pool.AvgPool2d", "s4", kernel_size=2)
    b.add("core.Flatten", "flatten")
    b.add("core.Linear", "c5", out_features=120)
    b.add("act.Tanh", "tanh3")
    b.add("core.Linear", "f6", out_features=84)
    b.add("act.Tanh", "tanh4")
    b.add("core.Linear", "output", out_features=10)
    return b.done()


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5)
        self.s2 = nn.AvgPool2d(2)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.s4 = nn.AvgPool2d(2)
        self.c5 = nn.Linear(400, 120)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, 10)

    def forward(self, x):
        x = self.s2(torch.tanh(self.c1(x)))
        x = self.s4(torch.tanh(self.c3(x))).flatten(1)
        return self.output(torch.tanh(self.f6(torch.tanh(self.c5(x)))))


def test_lenet5_parameter_count_and_output_match_pytorch():
    graph = lenet5_graph()
    report = validate(graph)
    assert report.ok, report.text()
    reference = LeNet5()
    assert report.total_params == sum(p.numel() for p in reference.parameters()) == 61_706
    assert report.in_types[graph.outputs()[0].id][0].shape == (10,)

    model = compile_graph(graph)
    copy_by_name(reference, model)
    x = torch.randn(4, 1, 32, 32)
    assert (model(x) - reference(x)).abs().max().item() <= 1e-6


# ResNet-18 ---------------------------------------------------------------------------------

def resnet18_graph(size: int = 224) -> Graph:
    b = Builder([3, size, size])
    b.add("conv.Conv2d", "conv1", out_channels=64, kernel_size=7, stride=2, padding=3,
          bias=False)
    b.add("norm.BatchNorm2d", "bn1")
    b.add("act.ReLU", "relu")
    b.add("pool.MaxPool2d", "maxpool", kernel_size=3, stride=2, padding=1)
    channels = 64
    for stage, width in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            p = f"layer{stage}_{block}_"
            entry = b.last
            b.add("conv.Conv2d", p + "conv1", out_channels=width, kernel_size=3, stride=stride,
                  padding=1, bias=False)
            b.add("norm.BatchNorm2d", p + "bn1")
            b.add("act.ReLU", p + "relu1")
            b.add("conv.Conv2d", p + "conv2", out_channels=width, kernel_size=3, padding=1,
                  bias=False)
            main = b.add("norm.BatchNorm2d", p + "bn2")
            shortcut = entry
            if stride != 1 or channels != width:
                b.add("conv.Conv2d", p + "downsample_0", src=entry, out_channels=width,
                      kernel_size=1, stride=stride, bias=False)
                shortcut = b.add("norm.BatchNorm2d", p + "downsample_1")
            b.add("merge.Add", p + "add", src=[main, shortcut])
            b.add("act.ReLU", p + "relu2")
            channels = width
    b.add("pool.AdaptiveAvgPool2d", "avgpool", output_size=1)
    b.add("core.Flatten", "flatten")
    b.add("core.Linear", "fc", out_features=1000)
    return b.done()


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + identity)


class ResNet18(nn.Module):
    """He et al. (2016), laid out and named as torchvision's resnet18."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for stage, width in enumerate((64, 128, 256, 512), start=1):
            stride = 1 if stage == 1 else 2
            setattr(self, f"layer{stage}", nn.Sequential(BasicBlock(cin, width, stride),
                                                         BasicBlock(width, width, 1)))
            cin = width
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def test_resnet18_parameter_count_and_output_shape():
    graph = resnet18_graph(224)
    report = validate(graph)
    assert report.ok, report.text()
    assert report.total_params == 11_689_512
    assert report.in_types[graph.outputs()[0].id][0].shape == (1000,)
    fc = graph.by_name("fc").id
    assert report.in_types[fc][0].shape == (512,)
    assert report.out_types[graph.by_name("layer4_1_relu2").id][0].shape == (512, 7, 7)


def test_resnet18_compiled_output_matches_hand_written_pytorch():
    torch.manual_seed(0)
    reference = ResNet18()
    assert sum(p.numel() for p in reference.parameters()) == 11_689_512
    randomize_batchnorm(reference)
    model = compile_graph(resnet18_graph(64))
    copy_by_name(reference, model)
    reference.eval()
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = reference(x), model(x)
    assert got.shape == (2, 1000)
    assert (got - expected).abs().max().item() <= 1e-6


# node-level error wording -----------------------------------------------------------------

def test_missing_flatten_is_reported_at_the_linear_with_a_hint():
    b = Builder([3, 16, 16])
    b.add("conv.Conv2d", "conv1", out_channels=32, kernel_size=3, padding=1)
    b.add("pool.MaxPool2d", "pool1", kernel_size=2)
    b.add("pool.MaxPool2d", "pool2", kernel_size=2)
    fc1 = b.add("core.Linear", "fc1", out_features=10)
    graph = b.done()
    report = validate(graph)
    assert [(i.node_id, i.port, i.kind) for i in report.errors] == [(fc1, "in", "shape")]
    assert report.errors[0].message == ("Linear 'fc1': expected input (N, 512), received "
                                        "N×32×4×4: add a Flatten before it")
