"""ONNX, TorchScript and safetensors exports of every bundled example, and `studio export`."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from safetensors.torch import load_file

import engine
from engine.cli import main as cli_main
from engine.examples import copy_example, example_paths
from engine.export import ExportError, export_project
from engine.export.common import build_model, example_inputs
from engine.export.onnx import export_onnx
from engine.export.torchscript import export_torchscript

EXAMPLES = list(example_paths())


def _graph(name: str) -> engine.Graph:
    graph = engine.load_project(example_paths()[name]).graph
    torch.manual_seed(1)
    graph.weights = engine.node_state(engine.compile_graph(graph))
    return graph


def _torch_outputs(graph, args):
    with torch.no_grad():
        outs = build_model(graph)(*args)
    return [o.numpy() for o in (outs if isinstance(outs, tuple) else (outs,))]


@pytest.mark.parametrize("name", EXAMPLES)
def test_onnx_of_every_example_matches_pytorch(name, tmp_path):
    """Legacy exporter here (fast); the default dynamo path is checked below on a sample."""
    graph = _graph(name)
    check = export_onnx(graph, tmp_path / "m.onnx", exporter="legacy")
    assert check.max_abs_diff <= 1e-5
    model = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(model, full_check=True)
    batch_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param and not batch_dim.dim_value  # dynamic batch axis
    session = ort.InferenceSession(str(tmp_path / "m.onnx"),
                                   providers=["CPUExecutionProvider"])
    args = example_inputs(graph, batch=5, seed=7)
    got = session.run(None, {i.name: a.numpy() for i, a in zip(session.get_inputs(), args)})
    for g, e in zip(got, _torch_outputs(graph, args), strict=True):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, atol=1e-5)


def test_onnx_default_dynamo_exporter(tmp_path):
    check = export_onnx(_graph("digits_cnn"), tmp_path / "m.onnx")
    assert check.exporter == "dynamo"
    assert check.max_abs_diff <= 1e-5
    assert check.batch_sizes == (1, 3)


def test_onnx_falls_back_when_dynamo_cannot_export(tmp_path):
    # torch.export trips over a submodule named 'code' (it shadows GraphModule.code)
    check = export_onnx(_graph("autoencoder"), tmp_path / "m.onnx")
    assert check.exporter == "legacy" and check.max_abs_diff <= 1e-5


def test_onnx_cannot_express_is_a_clear_error(tmp_path, monkeypatch):
    graph = _graph("xor_mlp")

    def refuse(*args, **kwargs):
        raise RuntimeError("Exporting the operator 'aten::fancy' to ONNX opset 18 is not "
                           "supported")

    monkeypatch.setattr(torch.onnx, "export", refuse)
    with pytest.raises(ExportError, match="ONNX cannot express this model.*aten::fancy"):
        export_onnx(graph, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("name", EXAMPLES)
def test_torchscript_matches_eager(name, tmp_path):
    graph = _graph(name)
    export_torchscript(graph, tmp_path / "m.pt")
    loaded = torch.jit.load(str(tmp_path / "m.pt"))  # our own archive, just written
    args = example_inputs(graph, batch=4, seed=3)
    with torch.no_grad():
        got = loaded(*args)
    got = [o.numpy() for o in (got if isinstance(got, tuple) else (got,))]
    for g, e in zip(got, _torch_outputs(graph, args), strict=True):
        np.testing.assert_allclose(g, e, atol=1e-6)


def test_weights_export_is_the_state_dict(tmp_path):
    graph = _graph("residual_cnn")
    export_project(engine.Project(graph), "weights", tmp_path / "w.safetensors")
    tensors = load_file(tmp_path / "w.safetensors")
    state = build_model(graph).state_dict()
    assert set(tensors) == set(state)
    for key, value in state.items():
        assert torch.equal(tensors[key], value), key


def test_cli_exports_every_format(tmp_path, capsys):
    path = copy_example("digits_cnn", tmp_path / "digits.nnproj")
    project = engine.load_project(path)
    torch.manual_seed(2)
    project.graph.weights = engine.node_state(engine.compile_graph(project.graph))
    engine.save_project(project, path)
    for fmt, out in (("python", "m.py"), ("onnx", "m.onnx"), ("torchscript", "m.pt"),
                     ("weights", "m.safetensors")):
        argv = ["export", str(path), "--format", fmt, "-o", str(tmp_path / out)]
        if fmt == "onnx":
            argv += ["--onnx-exporter", "legacy"]
        assert cli_main(argv) == 0
        assert (tmp_path / out).stat().st_size > 0
    printed = capsys.readouterr().out
    assert "onnx.checker ok" in printed and "max |diff|" in printed
    saved = load_file(tmp_path / "m.safetensors")
    expected = engine.compile_graph(project.graph).state_dict()
    assert torch.equal(saved["conv1.weight"], expected["conv1.weight"])


def test_cli_export_uses_a_runs_weights(tmp_path, capsys):
    path = copy_example("xor_mlp", tmp_path / "xor.nnproj")
    project = engine.load_project(path)
    run = project.runs_dir() / "run-1"
    run.mkdir(parents=True)
    torch.manual_seed(4)
    weights = engine.node_state(engine.compile_graph(project.graph))
    from engine.project import save_weights

    save_weights(run / "best.safetensors", weights)
    assert cli_main(["export", str(path), "--format", "weights", "--run", "run-1",
                     "-o", str(tmp_path / "w.safetensors")]) == 0
    saved = load_file(tmp_path / "w.safetensors")
    model = engine.compile_graph(project.graph)
    attr = model.studio_code.attrs["n2"]
    assert torch.equal(saved[f"{attr}.weight"], torch.as_tensor(weights["n2"]["weight"]))
    assert cli_main(["export", str(path), "--format", "weights", "--run", "nope",
                     "-o", str(tmp_path / "x.safetensors")]) == 1
    assert "run 'nope'" in capsys.readouterr().err


def test_cli_export_reports_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.nnproj"
    bad.write_text("{not json")
    assert cli_main(["export", str(bad), "-o", str(tmp_path / "m.py")]) == 1
    assert "bad.nnproj" in capsys.readouterr().err
    path = copy_example("xor_mlp", tmp_path / "xor.nnproj")
    project = engine.load_project(path)
    project.dataset = {}
    engine.save_project(project, path)
    assert cli_main(["export", str(path), "-o", str(tmp_path / "m.py")]) == 1
    assert "no dataset" in capsys.readouterr().err
