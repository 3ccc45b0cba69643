"""The built-in block library: every block builds, validates with its example input, compiles
to code with one class per block type, runs, and counts its parameters as PyTorch does."""
import json

import pytest
import torch

from engine import compile_graph, validate
from engine.graph import Graph
from engine.library import BUILTIN_DIR, list_library, read_block_file, save_to_library
from engine.project import ProjectError

BLOCKS = sorted(p.stem for p in BUILTIN_DIR.glob("*.nnblock"))


def test_the_library_has_the_classic_blocks():
    for name in ("BasicBlock", "Bottleneck", "Inception", "InvertedResidual", "VGGStage",
                 "TransformerEncoder"):
        assert name in BLOCKS


@pytest.mark.parametrize("name", BLOCKS)
def test_library_block_compiles_and_counts_like_pytorch(name):
    entry = read_block_file(BUILTIN_DIR / f"{name}.nnblock", builtin=True)
    g = Graph.from_dict({"blocks": entry.types})
    body = g.blocks[name].graph
    shape = body.inputs()[0].params["shape"]
    x = g.add_node("io.Input", {"shape": shape}, name="x")
    inst = g.add_node(f"block:{name}", {"repeat": 2} if name not in (
        "Inception", "VGGStage", "BasicBlockDown", "BottleneckDown") else {}, name="b")
    y = g.add_node("io.Output", {}, name="y")
    g.connect(x.id, "out", inst.id, body.inputs()[0].name)
    g.connect(inst.id, body.outputs()[0].name, y.id, "in")
    report = validate(g)
    assert report.ok, report.text()
    model = compile_graph(g).eval()
    assert f"class {name}(nn.Module):" in model.studio_code.source
    assert report.total_params == sum(p.numel() for p in model.parameters())
    out = model(torch.randn(2, *shape))
    assert tuple(out.shape[1:]) == report.out_types[inst.id][0].shape


def test_save_a_project_block_to_the_user_library_and_read_it_back(tmp_path):
    entry = read_block_file(BUILTIN_DIR / "Bottleneck.nnblock")
    g = Graph.from_dict({"blocks": entry.types})
    path = save_to_library(g, "Bottleneck", tmp_path)
    with pytest.raises(ProjectError, match="already in the library"):
        save_to_library(g, "Bottleneck", tmp_path)
    blocks, problems = list_library([tmp_path])
    assert [b.name for b in blocks] == ["Bottleneck"] and not problems
    assert blocks[0].types == json.loads(path.read_text())["blocks"]


@pytest.mark.parametrize("content,why", [
    (b"\xff", "not a readable block file"),
    (b"[]", "not a Studio block file"),
    (json.dumps({"format": "studio-block", "format_version": 99}).encode(), "format_version"),
    (json.dumps({"format": "studio-block", "format_version": 2, "name": "A",
                 "blocks": {"A": {"graph": {"nodes": [{"id": "n", "type": "os.system",
                                                       "name": "x"}]}}}}).encode(),
     "cannot be built"),
])
def test_a_bad_block_file_is_named_and_skipped(tmp_path, content, why):
    (tmp_path / "Bad.nnblock").write_bytes(content)
    blocks, problems = list_library([tmp_path])
    assert not blocks and len(problems) == 1 and why in problems[0] and "Bad.nnblock" in \
        problems[0]
