"""The exported script's model class imports back: `studio import model.py:ClassName` on an
example's script gives a project whose model has the class's parameter names and shapes and
computes what the class computes, with the example's block types kept as block types."""
from __future__ import annotations

import re

import pytest
import torch

import engine
from engine.cli import main as cli_main
from engine.examples import copy_example
from engine.export.common import build_model, example_inputs
from engine.export.script import export_script
from engine.importers import ImportModelError
from engine.importers.python_file import load_class

from ..helpers import scriptable_examples


@pytest.mark.parametrize("name", scriptable_examples())
def test_the_scripts_model_imports_back(name, tmp_path, capsys):
    project = engine.load_project(copy_example(name, tmp_path / f"{name}.nnproj"))
    script = export_script(project, tmp_path / f"{name}.py")
    class_name = re.search(r"model = (\w+)\(\)\.to\(device\)", script.read_text()).group(1)
    inputs = example_inputs(project.graph)
    args = ["import", f"{script}:{class_name}", "-o", str(tmp_path / "back.nnproj")]
    for x in inputs:
        args += ["--input-shape", ",".join(map(str, x.shape)),
                 "--input-dtype", "long" if x.dtype == torch.long else "float"]
    if cli_main(args) != 0:
        raise ImportModelError(capsys.readouterr().err.strip())
    back = engine.load_project(tmp_path / "back.nnproj")
    assert set(project.graph.blocks) <= set(back.graph.blocks)
    imported = build_model(back.graph)
    original = load_class(script, class_name)().eval()
    original.load_state_dict(imported.state_dict())  # the same names and shapes
    with torch.no_grad():
        want, got = original(*inputs), imported(*inputs)
    want, got = (v if isinstance(v, tuple) else (v,) for v in (want, got))
    assert len(want) == len(got)
    for a, b in zip(want, got):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
