"""Models written in the idioms of torchvision and text-classification code, exported with
torch.onnx (dynamic batch), import and compute what onnxruntime computes on the file."""
from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from engine import REGISTRY

from .onnx_helpers import run_both, types

needs_slice = pytest.mark.skipif("core.Slice" not in REGISTRY, reason="needs core.Slice")


def _export(tmp_path, model: nn.Module, example: torch.Tensor, name: str):
    path = tmp_path / f"{name}.onnx"
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), str(path), dynamo=False, opset_version=17,
                          input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    return path


class StackedBiLSTM(nn.Module):
    """Two bidirectional layers; the classifier reads the last layer's final states."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(20, 8)
        self.rnn = nn.LSTM(8, 6, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, text):
        _, (hidden, _) = self.rnn(self.embedding(text))
        return self.fc(torch.cat((hidden[-2], hidden[-1]), dim=1))


class GRULastState(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(5, 7, batch_first=True)
        self.fc = nn.Linear(7, 2)

    def forward(self, x):
        _, h = self.gru(x)
        return self.fc(h[-1])


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                  nn.BatchNorm2d(cout)) if stride != 1 or cin != cout else None

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (x if self.down is None else self.down(x)))


class SmallResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        self.layer1 = BasicBlock(8, 8, 1)
        self.layer2 = BasicBlock(8, 16, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _random_batchnorm(model: nn.Module) -> nn.Module:
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model


@needs_slice
def test_stacked_bidirectional_lstm_uses_sequence_and_final_state(tmp_path):
    torch.manual_seed(0)
    path = _export(tmp_path, StackedBiLSTM(), torch.randint(0, 20, (2, 7)), "bilstm")
    graph, diff = run_both(path)
    assert diff < 1e-5
    assert types(graph).count("rnn.LSTM") == 2


def test_gru_final_state_indexed_with_minus_one(tmp_path):
    torch.manual_seed(0)
    path = _export(tmp_path, GRULastState(), torch.randn(2, 6, 5), "gru")
    graph, diff = run_both(path)
    assert diff < 1e-5
    assert "core.Slice" not in types(graph)  # h[-1] of one layer's state needs no node


def test_resnet_style_cnn_with_batchnorm_statistics(tmp_path):
    torch.manual_seed(0)
    model = _random_batchnorm(SmallResNet())
    path = _export(tmp_path, model, torch.randn(2, 3, 16, 16), "resnet")
    graph, diff = run_both(path, batch=2)
    assert diff < 1e-5
    assert types(graph).count("conv.Conv2d") == 6
    # the exporter folded each BatchNorm into its Conv: every number in the file is kept
    import onnx
    from onnx import numpy_helper

    in_file = sum(numpy_helper.to_array(t).size for t in onnx.load(str(path)).graph.initializer
                  if t.data_type == onnx.TensorProto.FLOAT)
    assert sum(a.size for t in graph.weights.values() for a in t.values()) == in_file


class DenseConcat(nn.Module):
    """DenseNet's layer: the features so far joined with torch.cat, also of one tensor."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 3, 3, padding=1)
        self.conv2 = nn.Conv2d(7, 3, 3, padding=1)

    def forward(self, x):
        feats = [x]
        feats.append(self.conv1(torch.cat(feats[:1], 1)))
        feats.append(self.conv2(torch.cat(feats, 1)))
        return torch.cat(feats, 1)


class TinyViT(nn.Module):
    """Patch embedding, a class token expanded to the batch, a channels-last MLP (a Linear on
    every position) and the class token's features into the head."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, 4)
        self.cls_token = nn.Parameter(torch.randn(1, 1, 8))
        self.norm = nn.LayerNorm(8)
        self.mlp = nn.Linear(8, 8)
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + torch.relu(self.mlp(self.norm(x)))
        return self.head(x[:, 0])


def test_densenet_style_concat_of_one_tensor(tmp_path):
    torch.manual_seed(0)
    path = _export(tmp_path, DenseConcat(), torch.randn(2, 4, 6, 6), "dense")
    graph, diff = run_both(path)
    assert diff < 1e-5
    assert types(graph).count("merge.Concatenate") == 2


@pytest.mark.skipif(not {"core.Parameter", "core.Slice"} <= set(REGISTRY)
                    or "every_position" not in {p.name for p in REGISTRY["core.Linear"].params},
                    reason="needs core.Parameter, core.Slice and Linear every_position")
def test_class_token_and_linear_on_every_position(tmp_path):
    torch.manual_seed(0)
    model = TinyViT()
    path = _export(tmp_path, model, torch.randn(2, 3, 16, 16), "vit")
    graph, diff = run_both(path)
    assert diff < 1e-5
    (pid,) = [i for i, n in graph.nodes.items() if n.type == "core.Parameter"]
    assert (graph.weights[pid]["weight"] == model.cls_token[0].detach().numpy()).all()


class GatedChunks(nn.Module):
    """x.chunk(2, 1) (ONNX Split), as gated linear units and attention's q, k, v do."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 8)

    def forward(self, x):
        a, b = self.fc(x).chunk(2, dim=1)
        return a * torch.sigmoid(b)


@pytest.mark.skipif("core.Slice" not in REGISTRY, reason="needs core.Slice")
def test_split_into_chunks(tmp_path):
    torch.manual_seed(0)
    path = _export(tmp_path, GatedChunks(), torch.randn(2, 6), "chunks")
    graph, diff = run_both(path)
    assert diff < 1e-5
    assert types(graph).count("core.Slice") == 2
