"""Importing nn.Modules with torch.fx: round trips (import -> compile -> same outputs), weights
saved beside the project, clear errors for operations without a Studio layer."""
from __future__ import annotations

import inspect
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import engine
from engine.cli import main as cli_main
from engine.importers import ImportModelError, import_module


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.pool = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(torch.tanh(self.conv1(x)))
        x = F.max_pool2d(torch.tanh(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return F.log_softmax(self.fc3(x), dim=1)


class Block(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNetSmall(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU(inplace=True))
        self.layer1 = Block(8, 8, 1)
        self.layer2 = Block(8, 16, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class TwoBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.left = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Dropout(0.3))
        self.right = nn.Sequential(nn.Linear(12, 8), nn.Tanh())
        self.head = nn.Linear(24, 3)

    def forward(self, x):
        return self.head(torch.cat([self.left(x), self.right(x)], dim=1))


class WithCumsum(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        total = torch.cumsum(self.fc(x), 1)
        return total


class _Named(nn.Module):
    def __init__(self, name, module):
        super().__init__()
        self.add_module(name, module)
        self.name = name

    def forward(self, x):
        return getattr(self, self.name)(x)


def _round_trip(module: nn.Module, shape: tuple[int, ...], seed: int = 0,
                blocks: bool = True) -> engine.Graph:
    torch.manual_seed(seed)
    module.eval()
    graph = import_module(module, torch.randn(2, *shape[1:]), blocks=blocks)
    compiled = engine.compile_graph(graph).eval()
    x = torch.randn(*shape)
    with torch.no_grad():
        expected, got = module(x), compiled(x)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-6, rtol=0), (got - expected).abs().max()
    return graph


def _types(graph: engine.Graph) -> list[str]:
    return [n.type for n in graph.nodes.values()]


def test_lenet5_round_trip():
    graph = _round_trip(LeNet5(), (5, 1, 28, 28))
    types = _types(graph)
    assert types.count("conv.Conv2d") == 2 and types.count("core.Linear") == 3
    assert "pool.AvgPool2d" in types and "pool.MaxPool2d" in types
    assert "core.Flatten" in types and "act.LogSoftmax" in types
    assert graph.by_name("conv1").params["padding"] in (2, [2, 2])


def test_resnet_style_round_trip_keeps_batchnorm_statistics():
    module = ResNetSmall()
    with torch.no_grad():  # non-trivial running statistics, so eval mode uses them
        module.train()
        for _ in range(3):
            module(torch.randn(8, 3, 16, 16))
    _round_trip(module, (4, 3, 16, 16))  # with blocks (test_import_blocks), and flat:
    graph = _round_trip(module, (4, 3, 16, 16), blocks=False)
    types = _types(graph)
    assert types.count("merge.Add") == 2
    assert types.count("norm.BatchNorm2d") == 6
    bn = graph.by_name("layer2_bn1")
    assert torch.equal(torch.as_tensor(graph.weights[bn.id]["running_mean"]),
                       module.layer2.bn1.running_mean)


def test_two_branch_concat_round_trip_and_layout():
    graph = _round_trip(TwoBranch(), (3, 12), blocks=False)
    cat = next(n for n in graph.nodes.values() if n.type == "merge.Concatenate")
    assert cat.params["axis"] == 1
    xs = {n.name: n.pos[0] for n in graph.nodes.values()}
    ys = {n.name: n.pos[1] for n in graph.nodes.values()}
    for edge in graph.edges:  # left to right
        assert graph.nodes[edge.src].pos[0] < graph.nodes[edge.dst].pos[0]
    assert xs["left_0"] == xs["right_0"] and ys["left_0"] != ys["right_0"]
    assert engine.validate(graph).ok


def test_unsupported_op_names_the_node_and_the_op():
    with pytest.raises(ImportModelError) as err:
        import_module(WithCumsum(), torch.randn(2, 4))
    lines, first = inspect.getsourcelines(WithCumsum.forward)
    line = first + next(i for i, text in enumerate(lines) if "torch.cumsum" in text)
    assert str(err.value) == (f"cannot import node 'cumsum' (torch.cumsum, "
                              f"test_importer.py:{line}): no Studio layer for it")
    assert err.value.origin.location == f"test_importer.py:{line}"


def test_unsupported_module_and_configuration_are_named():
    with pytest.raises(ImportModelError,
                       match=r"node 'shuffle' \(nn.PixelShuffle, test_importer.py:\d+\)"):
        import_module(_Named("shuffle", nn.PixelShuffle(2)), torch.randn(1, 4, 2, 2))
    with pytest.raises(ImportModelError, match="padding_mode='reflect'"):
        import_module(_Named("conv", nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")),
                      torch.randn(1, 1, 5, 5))


def test_recurrent_output_modes():
    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 6)
            self.lstm = nn.LSTM(6, 5, batch_first=True)
            self.gru = nn.GRU(5, 4, batch_first=True, bidirectional=True)
            self.out = nn.Linear(8, 2)

        def forward(self, ids):
            seq, _ = self.lstm(self.emb(ids))
            out, _ = self.gru(seq)
            return self.out(out[:, -1])

    module = Seq().eval()
    ids = torch.randint(0, 20, (3, 7))
    graph = import_module(module, ids)
    assert graph.by_name("gru").params["output"] == "last"
    assert graph.by_name("lstm").params["output"] == "sequence"
    assert graph.inputs()[0].params["dtype"] == "long"
    with torch.no_grad():
        assert torch.allclose(engine.compile_graph(graph)(ids), module(ids), atol=1e-6)

    class Hidden(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 5, batch_first=True)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return h[-1]

    module = Hidden().eval()
    x = torch.randn(2, 6, 3)
    graph = import_module(module, x)
    assert graph.by_name("lstm").params["output"] == "hidden"
    with torch.no_grad():
        assert torch.allclose(engine.compile_graph(graph)(x), module(x), atol=1e-6)


def test_shared_weights_are_refused_but_shared_activations_are_fine():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.fc(self.act(self.fc(x))))

    with pytest.raises(ImportModelError, match="cannot share weights"):
        import_module(Shared(), torch.randn(2, 4))


def test_two_inputs_and_two_outputs():
    class TwoInTwoOut(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 4)
            self.b = nn.Linear(5, 4)

        def forward(self, x, y):
            s = self.a(x) * self.b(y)
            return s, torch.sigmoid(s)

    module = TwoInTwoOut().eval()
    x, y = torch.randn(2, 3), torch.randn(2, 5)
    graph = import_module(module, (x, y))
    assert len(graph.inputs()) == 2 and len(graph.outputs()) == 2
    got = engine.compile_graph(graph)(x, y)
    for g, e in zip(got, module(x, y), strict=True):
        assert torch.allclose(g, e, atol=1e-6)


def test_saved_project_writes_the_weights_beside_it(tmp_path):
    module = LeNet5().eval()
    graph = import_module(module, torch.randn(1, 1, 28, 28))
    path = engine.save_project(engine.Project(graph), tmp_path / "lenet.nnproj")
    assert path.with_suffix(".safetensors").exists()
    loaded = engine.load_project(path)
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(engine.compile_graph(loaded.graph).eval()(x), module(x),
                              atol=1e-6)


def test_import_module_is_public_and_lazy():
    assert engine.import_module(TwoBranch().eval(), torch.randn(2, 12)).outputs()


def test_cli_import(tmp_path, capsys):
    src = tmp_path / "models.py"
    src.write_text(textwrap.dedent('''
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3)
                self.fc = nn.Linear(4 * 30 * 30, 2)

            def forward(self, x):
                return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))

        class Bad(nn.Module):
            def forward(self, x):
                return torch.cumsum(x, 1)
    '''))
    out = tmp_path / "net.nnproj"
    assert cli_main(["import", f"{src}:Net", "--input-shape", "1,3,32,32", "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    project = engine.load_project(out)
    assert [n.type for n in project.graph.nodes.values()].count("conv.Conv2d") == 1
    assert project.graph.weights and out.with_suffix(".safetensors").exists()
    assert cli_main(["import", f"{src}:Bad", "--input-shape", "1,3", "-o",
                     str(tmp_path / "bad.nnproj")]) == 1
    assert "(torch.cumsum, models.py:16): no Studio layer for it" in capsys.readouterr().err
    assert not (tmp_path / "bad.nnproj").exists()
    assert cli_main(["import", f"{src}:Missing", "--input-shape", "1,3", "-o",
                     str(tmp_path / "m.nnproj")]) == 1
    assert "defines no 'Missing'" in capsys.readouterr().err
    assert cli_main(["import", f"{src}:Net", "--input-shape", "a,b", "-o",
                     str(tmp_path / "m.nnproj")]) == 1
    assert "--input-shape" in capsys.readouterr().err


def test_attention_and_transformer_layers_round_trip():
    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(30, 16)
            self.attn = nn.MultiheadAttention(16, 4, batch_first=True)
            self.enc = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True,
                                                  activation="gelu")
            self.fc = nn.Linear(16, 2)

        def forward(self, ids):
            x = self.emb(ids)
            a, _ = self.attn(x, x, x, need_weights=False)
            x = self.enc(x + a)
            return self.fc(x.transpose(1, 2).mean(2))

    module = Encoder().eval()
    ids = torch.randint(0, 30, (3, 7))
    graph = import_module(module, ids)
    types = _types(graph)
    assert "attn.MultiheadSelfAttention" in types and "attn.TransformerEncoderLayer" in types
    assert graph.by_name("enc").params["activation"] == "gelu"
    with torch.no_grad():
        assert torch.allclose(engine.compile_graph(graph).eval()(ids), module(ids), atol=1e-6)

    class CrossAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.attn(x, x * x, x)[0]

    with pytest.raises(ImportModelError,
                       match=r"node 'attn' \(nn.MultiheadAttention, test_importer.py:\d+\)"):
        import_module(CrossAttention(), torch.randn(2, 5, 8))


class _Zoo2d(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)
        self.gn = nn.GroupNorm(2, 4)
        self.act = nn.ELU(alpha=0.7)
        self.conv = nn.Conv2d(4, 6, (3, 5), stride=(1, 2), padding="valid", dilation=1,
                              groups=2)
        self.bn = nn.BatchNorm2d(6, momentum=0.3)
        self.pool = nn.AvgPool2d(2, stride=1, padding=1)
        self.upsample = nn.Upsample(scale_factor=2.0, mode="nearest")
        self.ada = nn.AdaptiveAvgPool2d((2, 3))

    def forward(self, x):
        x = self.act(self.gn(self.up(x)))
        x = F.leaky_relu(self.bn(self.conv(x)), 0.2)
        x = self.ada(self.upsample(self.pool(x)))
        return F.softmax(x.flatten(1), dim=-1)


class _Zoo1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 3, padding="same")
        self.bn = nn.BatchNorm1d(8)
        self.pool = nn.MaxPool1d(2)
        self.ada = nn.AdaptiveAvgPool1d(3)
        self.norm = nn.LayerNorm(3)
        self.gru = nn.GRU(3, 5, num_layers=2, batch_first=True)
        self.fc = nn.Linear(5, 4, bias=False)

    def forward(self, x):
        x = self.ada(self.pool(F.gelu(self.bn(self.conv(x)))))
        _, h = self.gru(self.norm(x))
        return F.softplus(self.fc(F.silu(h[-1])), beta=2.0)


class _Padded(nn.Module):
    """Padding modules (F.pad's last-axis-first order) and the activations ONNX/Keras need."""
    def __init__(self):
        super().__init__()
        self.zero = nn.ZeroPad2d((1, 2, 0, 3))
        self.reflect = nn.ReflectionPad2d(1)
        self.const = nn.ConstantPad1d((2, 0), -1.5)
        self.selu, self.softsign = nn.SELU(), nn.Softsign()

    def forward(self, x):
        x = self.reflect(self.selu(self.zero(x)))
        x = F.pad(x, (0, 1, 1, 0), mode="replicate")
        return self.softsign(self.const(x.flatten(2)))


@pytest.mark.parametrize(("module", "shape"), [(_Zoo2d(), (3, 3, 6, 6)),
                                               (_Zoo1d(), (3, 4, 10)),
                                               (_Padded(), (3, 2, 4, 5))])
def test_layer_zoo_round_trips(module, shape):
    with torch.no_grad():  # give the batch norms real statistics
        module.train()
        module(torch.randn(*shape))
    graph = _round_trip(module, shape)
    assert all(not n.type.startswith("core.Identity") for n in graph.nodes.values())


def test_forward_arguments_left_at_their_defaults():
    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x, mask=None):
            if mask is not None:
                x = x * mask
            return self.fc(x)

    module = Masked().eval()
    graph = _round_trip(module, (3, 4))
    assert len(graph.inputs()) == 1

    class Needs(nn.Module):
        def forward(self, x, y):
            return x + y

    with pytest.raises(ImportModelError, match=r"forward takes 2 inputs \(x, y\) but 1"):
        import_module(Needs(), torch.randn(2, 3))
