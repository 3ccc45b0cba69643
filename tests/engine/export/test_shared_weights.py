"""The exporters' model takes the weights' arrays as its tensors (built on the meta device,
assigned, not copied) when they hold every tensor, and is built as before otherwise; either
way it computes what the model with its weights copied in computes, and exporting leaves the
arrays as they were."""
from __future__ import annotations

import numpy as np
import torch
from safetensors.torch import load_file

import engine
from engine.examples import example_paths
from engine.export.common import build_model, example_inputs
from engine.export.torchscript import export_torchscript
from engine.export.weights import export_weights


def _graph_and_arrays():
    """residual_cnn (BatchNorm) with random weights and running statistics, as numpy
    arrays (what a weights file gives)."""
    graph = engine.load_project(example_paths()["residual_cnn"]).graph
    torch.manual_seed(2)
    model = engine.compile_graph(graph)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    arrays = {nid: {k: v.detach().numpy().copy() for k, v in t.items()}
              for nid, t in engine.node_state(model).items()}
    return graph, arrays, model.eval()


def _outputs(model, args):
    with torch.no_grad():
        out = model(*args)
    return out.numpy() if isinstance(out, torch.Tensor) else [o.numpy() for o in out]


def test_the_model_shares_the_arrays_and_computes_the_same():
    graph, arrays, copied = _graph_and_arrays()
    model = build_model(graph, arrays)
    attrs = model.studio_code.attrs
    for nid, tensors in arrays.items():
        for key, arr in tensors.items():
            t = model.get_parameter(f"{attrs[nid]}.{key}") if "running" not in key and \
                "num_batches" not in key else model.get_buffer(f"{attrs[nid]}.{key}")
            assert not t.is_meta and np.shares_memory(t.detach().numpy(), arr)
    args = example_inputs(graph, batch=3, seed=4)
    np.testing.assert_array_equal(_outputs(model, args), _outputs(copied, args))


def test_weights_missing_for_a_node_build_the_model_as_before():
    graph, arrays, copied = _graph_and_arrays()
    nid = next(iter(arrays))
    partial = {n: t for n, t in arrays.items() if n != nid}
    model = build_model(graph, partial)
    assert not any(t.is_meta for t in [*model.parameters(), *model.buffers()])
    other = next(iter(partial))
    key = next(iter(partial[other]))
    got = model.state_dict()[f"{model.studio_code.attrs[other]}.{key}"]
    np.testing.assert_array_equal(got.numpy(), partial[other][key])
    assert not np.shares_memory(got.numpy(), partial[other][key])   # copied in, as before


def test_exports_leave_the_arrays_as_they_were(tmp_path):
    graph, arrays, copied = _graph_and_arrays()
    before = {nid: {k: a.copy() for k, a in t.items()} for nid, t in arrays.items()}
    export_torchscript(graph, tmp_path / "m.pt", arrays)
    out = export_weights(graph, tmp_path / "m.safetensors", arrays)
    for nid, tensors in before.items():
        for key, arr in tensors.items():
            np.testing.assert_array_equal(arrays[nid][key], arr)
    state = load_file(out)   # safetensors' own reader: PyTorch's names, the same tensors
    want = copied.state_dict()
    assert set(state) == set(want)
    for key, t in want.items():
        assert state[key].dtype == t.dtype and torch.equal(state[key], t)
    scripted = torch.jit.load(str(tmp_path / "m.pt"))
    args = example_inputs(graph, batch=2, seed=1)
    np.testing.assert_array_equal(_outputs(scripted, args), _outputs(copied, args))


def test_a_bfloat16_tensor_is_exported_as_safetensors_holds_it(tmp_path):
    from engine.weights_file import safetensors_stream

    t = torch.randn(3, 5).to(torch.bfloat16)
    _size, blocks = safetensors_stream({"w": t, "b": torch.arange(4)}, {"format": "pt"})
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"".join(blocks))
    back = load_file(path)
    assert back["w"].dtype == torch.bfloat16 and torch.equal(back["w"], t)
    assert torch.equal(back["b"], torch.arange(4))
