"""Importing builds blocks: a ResNet and a Transformer written the way torchvision and
torch.nn write them come in as a few block types and a short top level, and the compiled
model's state_dict keys, shapes and outputs equal the source's."""
import torch
from torch import nn

from engine import compile_graph, import_module, validate


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1,
                     bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, layers=(3, 4, 6, 3), width=8, num_classes=10):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * Bottleneck.expansion, num_classes)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * Bottleneck.expansion,
                                               stride),
                                       nn.BatchNorm2d(planes * Bottleneck.expansion))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def randomize(module):
    torch.manual_seed(3)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    return module.eval()


def test_resnet50_imports_as_a_few_blocks_with_the_same_state_dict():
    source = randomize(ResNet())
    x = torch.randn(2, 3, 64, 64)
    graph = import_module(source, x)
    top = [n for n in graph.nodes.values()]
    assert len(top) <= 20, [n.name for n in top]
    assert {n.name for n in top if n.is_block} == {"layer1", "layer2", "layer3", "layer4"}
    names = set(graph.blocks)
    assert "Bottleneck" in names and len(names) <= 8, names
    assert validate(graph).ok
    model = compile_graph(graph).eval()
    want = source.state_dict()
    got = model.state_dict()
    assert sorted(got) == sorted(want)  # the same names (registration order may differ)
    assert all(got[k].shape == want[k].shape for k in want)
    model.load_state_dict(want)  # weights saved from the original load by name
    with torch.no_grad():
        torch.testing.assert_close(model(x), source(x), atol=1e-5, rtol=1e-4)
    src = model.studio_code.source
    assert "class Bottleneck(nn.Module):" in src


class EncoderLayer(nn.Module):
    """Post-norm encoder layer, written as torch.nn.TransformerEncoderLayer is."""

    def __init__(self, d_model, nhead, dim_feedforward, dropout=0.1):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout,
                                               batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x):
        x = self.norm1(x + self.dropout1(self.self_attn(x, x, x, need_weights=False)[0]))
        ff = self.linear2(self.dropout(torch.relu(self.linear1(x))))
        return self.norm2(x + self.dropout2(ff))


class Encoder(nn.Module):
    def __init__(self, num_layers=4, d_model=16, nhead=4, length=6, classes=3):
        super().__init__()
        self.layers = nn.ModuleList([EncoderLayer(d_model, nhead, 32)
                                     for _ in range(num_layers)])
        self.head = nn.Linear(length * d_model, classes)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.head(torch.flatten(x, 1))


def test_transformer_encoder_imports_as_one_layer_type_repeated():
    source = Encoder().eval()
    x = torch.randn(2, 6, 16)
    graph = import_module(source, x)
    assert sorted(n.name for n in graph.nodes.values()) == ["flatten", "head", "layers",
                                                             "output", "x"]
    assert "EncoderLayer" in graph.blocks and len(graph.blocks) == 2
    model = compile_graph(graph).eval()
    assert sorted(model.state_dict()) == sorted(source.state_dict())
    model.load_state_dict(source.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(model(x), source(x), atol=1e-5, rtol=1e-4)
    assert "class EncoderLayer(nn.Module):" in model.studio_code.source
