"""`studio summary` prints shapes and counts without reading the weights file: a big model's
summary stays light (a VGG-sized project's weights are gigabytes)."""
from __future__ import annotations

import torch
from torch import nn

import engine
from engine.cli import main as cli_main
from engine.importers import import_module


def test_summary_does_not_read_the_weights(tmp_path, capsys):
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 5))
    graph = import_module(model.eval(), torch.randn(2, 3, 8, 8))
    path = engine.save_project(engine.Project(graph), tmp_path / "net.nnproj")
    weights = engine.load_project(path).weights_path()
    assert weights.exists()
    weights.write_bytes(b"not a safetensors file")  # reading it would fail
    assert cli_main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"total params: {sum(p.numel() for p in model.parameters()):,}" in out
    assert cli_main(["validate", str(path)]) != 0  # commands that need the weights read them
