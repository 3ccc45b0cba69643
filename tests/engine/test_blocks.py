"""Block types: shapes, parameter counts and outputs through blocks equal PyTorch's; make
block / ungroup keep the computation and the weights; errors carry their path."""
import json

import pytest
import torch
from torch import nn

from engine import compile_graph, generate, validate
from engine.blockedit import apply_plan, plan_make_block, plan_ungroup
from engine.blocks import BlockType, make_arg
from engine.compile import node_state
from engine.graph import Graph, GraphError
from engine.project import Project, dumps_project, loads_project

from .helpers import chain


def bottleneck_type(name: str = "Bottleneck") -> BlockType:
    """conv1x1 -> bn -> relu -> conv3x3(stride) -> bn -> relu -> conv1x1(planes*4) -> bn,
    plus a projection shortcut, added, relu (torchvision's Bottleneck with downsample)."""
    body = Graph()
    bt = BlockType(name, body, [make_arg("planes", "int", 64, min=1),
                                make_arg("stride", "int", 1, min=1)])
    x = body.add_node("io.Input", {"shape": [16, 8, 8]}, name="x")
    prev = x
    for i, (ks, expr) in enumerate([(1, "planes"), (3, "planes"), (1, "planes * 4")], 1):
        conv = body.add_node("conv.Conv2d", {"kernel_size": ks, "padding": ks // 2,
                                             "bias": False}, name=f"conv{i}")
        conv.exprs["out_channels"] = expr
        if i == 2:
            conv.exprs["stride"] = "stride"
        bn = body.add_node("norm.BatchNorm2d", {}, name=f"bn{i}")
        body.connect(prev.id, "out", conv.id, "in")
        body.connect(conv.id, "out", bn.id, "in")
        prev = bn
        if i < 3:
            relu = body.add_node("act.ReLU", {}, name=f"relu{i}")
            body.connect(bn.id, "out", relu.id, "in")
            prev = relu
    down = body.add_node("conv.Conv2d", {"kernel_size": 1, "bias": False}, name="down_conv")
    down.exprs.update({"out_channels": "planes * 4", "stride": "stride"})
    dbn = body.add_node("norm.BatchNorm2d", {}, name="down_bn")
    body.connect(x.id, "out", down.id, "in")
    body.connect(down.id, "out", dbn.id, "in")
    add = body.add_node("merge.Add", {}, name="add")
    body.connect(prev.id, "out", add.id, "in1")
    body.connect(dbn.id, "out", add.id, "in2")
    relu = body.add_node("act.ReLU", {}, name="relu")
    body.connect(add.id, "out", relu.id, "in")
    out = body.add_node("io.Output", {}, name="out")
    body.connect(relu.id, "out", out.id, "in")
    return bt


class TorchBottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False),
                                        nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.downsample(x))


def model_with(bt: BlockType, params: dict, shape=(16, 8, 8)) -> tuple[Graph, str]:
    g = Graph()
    g.add_block_type(bt)
    x = g.add_node("io.Input", {"shape": list(shape)}, name="image")
    inst = g.add_node(f"block:{bt.name}", params, name="layer1")
    y = g.add_node("io.Output", {}, name="y")
    g.connect(x.id, "out", inst.id, "x")
    g.connect(inst.id, "out", y.id, "in")
    return g, inst.id


def randomize_bn(model: nn.Module) -> None:
    torch.manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


def test_shapes_and_param_counts_through_a_block_equal_pytorch():
    g, iid = model_with(bottleneck_type(), {"planes": 4, "stride": 2, "repeat": 1})
    report = validate(g)
    assert report.ok, report.text()
    ref = TorchBottleneck(16, 4, stride=2)
    assert report.param_counts[iid] == sum(p.numel() for p in ref.parameters())
    out = ref(torch.randn(1, 16, 8, 8))
    assert report.out_types[iid][0].shape == tuple(out.shape[1:])


def test_generated_class_reads_like_pytorch_and_keys_are_hierarchical():
    g, iid = model_with(bottleneck_type(), {"planes": 4, "stride": 2, "repeat": 3})
    src = generate(g).source
    assert "class Bottleneck(nn.Module):" in src
    assert "def __init__(self, in_channels, planes=64, stride=1):" in src
    assert "self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)" in src
    assert "self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, "\
        "bias=False)" in src
    assert "Bottleneck(16, planes=4, stride=2)," in src and "Bottleneck(16, planes=4, " \
        "stride=2)" in src.split("self.layer1 = nn.Sequential(")[1]
    assert src.count("class Bottleneck") == 1  # every repeat shares the class
    model = compile_graph(g)
    keys = list(model.state_dict())
    assert "layer1.0.conv1.weight" in keys and "layer1.2.down_bn.running_var" in keys
    x = torch.randn(2, 16, 8, 8)
    assert model(x).shape == (2, 16, 1, 1)


def test_compiled_block_equals_pytorch_module_with_the_same_weights():
    g, iid = model_with(bottleneck_type(), {"planes": 4, "stride": 2})
    model = compile_graph(g).eval()
    ref = TorchBottleneck(16, 4, stride=2).eval()
    randomize_bn(ref)
    mine = model.layer1
    names = {"downsample.0": "down_conv", "downsample.1": "down_bn"}
    state = {}
    for k, v in ref.state_dict().items():
        for a, b in names.items():
            k = k.replace(a, b)
        state[k] = v
    mine.load_state_dict(state)
    x = torch.randn(3, 16, 8, 8)
    torch.testing.assert_close(model(x), ref(x))


def flat_resnet_stage() -> tuple[Graph, list]:
    return chain([
        ("io.Input", {"shape": [3, 8, 8]}, "image"),
        ("conv.Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}, "conv1"),
        ("norm.BatchNorm2d", {}, "bn1"),
        ("act.ReLU", {}, "relu1"),
        ("conv.Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}, "conv2"),
        ("norm.BatchNorm2d", {}, "bn2"),
        ("act.ReLU", {}, "relu2"),
        ("core.Flatten", {}, "flatten"),
        ("core.Linear", {"out_features": 5}, "fc"),
        ("io.Output", {}, "y"),
    ])


def test_make_block_keeps_outputs_and_weights_and_ungroup_restores_them():
    g, nodes = flat_resnet_stage()
    flat = compile_graph(g).eval()
    randomize_bn(flat)
    g.weights = node_state(flat)
    x = torch.randn(4, 3, 8, 8)
    expected = flat(x)
    ids = [n.id for n in nodes[4:7]]
    plan = plan_make_block(g, ids, "ConvBNReLU")
    apply_plan(g, plan)
    assert len(g.nodes) == 8 and "ConvBNReLU" in g.blocks
    blocked = compile_graph(g).eval()
    assert "convbnrelu.conv2.weight" in blocked.state_dict()
    torch.testing.assert_close(blocked(x), expected)
    before = json.loads(json.dumps(g.to_dict()))
    apply_plan(g, plan_ungroup(g, plan.instance_id))
    assert len(g.nodes) == 10 and not any(n.is_block for n in g.nodes.values())
    torch.testing.assert_close(compile_graph(g).eval()(x), expected)
    assert before["blocks"] == g.to_dict()["blocks"]  # the type stays in the project


def test_ungroup_expands_every_repeat_with_its_weights():
    g, iid = model_with(bottleneck_type(), {"planes": 4, "stride": 1, "repeat": 2})
    model = compile_graph(g).eval()
    randomize_bn(model)
    g.weights = node_state(model)
    x = torch.randn(2, 16, 8, 8)
    expected = model(x)
    apply_plan(g, plan_ungroup(g, iid))
    report = validate(g)
    assert report.ok, report.text()
    assert sum(1 for n in g.nodes.values() if n.type == "conv.Conv2d") == 8
    torch.testing.assert_close(compile_graph(g).eval()(x), expected)


def test_a_problem_inside_shows_on_the_instance_with_its_path():
    bt = bottleneck_type()
    g, iid = model_with(bt, {"planes": 4, "repeat": 2})
    conv2 = bt.graph.by_name("conv2")
    bt.graph.set_param(conv2.id, "padding", 0)  # 8x8 -> 6x6: the shortcut no longer fits
    report = validate(g)
    msg = report.issues_for(iid)[0].message
    assert msg.startswith("layer1[0]/add: "), msg


def test_an_edit_inside_a_type_updates_every_instance_incrementally():
    from engine.validate import Validator
    bt = bottleneck_type()
    g, iid = model_with(bt, {"planes": 4, "repeat": 2})
    v = Validator(g)
    assert v.validate().out_types[iid][0].shape == (16, 8, 8)
    conv3 = bt.graph.by_name("conv3")
    bt.graph.set_expr(conv3.id, "out_channels", "planes * 2")
    bt.graph.set_expr(bt.graph.by_name("down_conv").id, "out_channels", "planes * 2")
    assert v.validate().out_types[iid][0].shape == (8, 8, 8)
    assert v.validate().param_counts == validate(g).param_counts


def test_project_round_trip_stores_the_type_once():
    g, iid = model_with(bottleneck_type(), {"planes": 4, "repeat": 3})
    text = dumps_project(Project(g))
    data = json.loads(text)
    assert data["format_version"] == 2
    assert list(data["graph"]["blocks"]) == ["Bottleneck"]
    assert data["graph"]["blocks"]["Bottleneck"]["graph"]["nodes"][1]["expr"] == \
        {"out_channels": "planes"}
    again = loads_project(text)
    assert dumps_project(again) == text
    assert validate(again.graph).param_counts == validate(g).param_counts


def test_a_block_cannot_contain_itself():
    bt = bottleneck_type()
    g, _ = model_with(bt, {})
    with pytest.raises(GraphError, match="cannot contain"):
        bt.graph.add_node("block:Bottleneck", {})


@pytest.mark.parametrize("expr", ["__import__('os')", "planes.real", "[1]", "planes()",
                                  "lambda: 1", "x" * 300])
def test_expressions_are_checked_never_executed(expr):
    from engine.argexpr import ExprError, evaluate
    with pytest.raises(ExprError):
        evaluate(expr, {"planes": 4})


def test_every_bundled_example_migrates_from_version_1_to_2():
    from pathlib import Path
    examples = sorted(Path("resources/examples").glob("*.nnproj"))
    assert len(examples) >= 14
    for path in examples:
        v1 = json.loads(path.read_text())
        if v1["graph"].get("blocks"):
            continue  # made with blocks: there is no version-1 form of it
        v1["format_version"] = 1
        v2 = json.loads(dumps_project(loads_project(json.dumps(v1), path)))
        assert v2["format_version"] == 2, path
        for key in ("nodes", "edges"):
            assert v2["graph"][key] == v1["graph"][key], path
        for key in ("dataset", "training", "view", "meta"):
            assert v2[key] == v1.get(key, {}), path
        assert validate(loads_project(json.dumps(v2)).graph).ok, path
