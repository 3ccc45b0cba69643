"""Build small ONNX files with onnx.helper and compare Studio's import with onnxruntime."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper

from engine.importers.onnx_import import import_onnx

RNG = np.random.default_rng(0)


def init(name: str, array) -> object:
    return numpy_helper.from_array(np.asarray(array), name)


def const(name: str, array) -> object:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(
        np.asarray(array), name + "_v"))


def vinfo(name: str, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def save(tmp_path, nodes, inputs, outputs, inits=(), opset: int = 17, name="m.onnx"):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset <= 18 else 10
    onnx.checker.check_model(model)
    path = tmp_path / name
    onnx.save(model, path)
    return path


def weights(*shape, scale=0.5):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


class _Reference:
    """onnx's reference evaluator with onnxruntime's interface (for ops ORT lacks)."""

    def __init__(self, path):
        from onnx.reference import ReferenceEvaluator

        self.model = onnx.load(str(path))
        self.ref = ReferenceEvaluator(self.model)

    def get_inputs(self):
        class I:
            def __init__(self, vi):
                self.name = vi.name
                self.shape = [d.dim_value or d.dim_param for d in vi.type.tensor_type.shape.dim]
                self.type = "int" if vi.type.tensor_type.elem_type == TensorProto.INT64 else "f"
        return [I(v) for v in self.model.graph.input]

    def run(self, names, feeds):
        return self.ref.run(names, feeds)


def run_both(path, batch: int = 3, input_shapes=None, reference: bool = False):
    """Import `path`, run Studio's compiled model and onnxruntime on the same random input;
    returns (graph, largest absolute difference)."""
    import torch

    from engine.export.common import build_model

    graph = import_onnx(path, input_shapes)
    model = build_model(graph, graph.weights).eval()
    sess = _Reference(path) if reference else \
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds, args = {}, []
    for i in sess.get_inputs():
        shp = [batch if not isinstance(d, int) else d for d in i.shape]
        if input_shapes and i.name in input_shapes:
            shp = list(input_shapes[i.name])
        if "int" in i.type:
            a = RNG.integers(0, 10, shp).astype(np.int64)
        else:
            a = RNG.standard_normal(shp).astype(np.float32)
        feeds[i.name] = a
        args.append(torch.from_numpy(a))
    expected = sess.run(None, feeds)
    with torch.no_grad():
        got = model(*args)
    got = got if isinstance(got, (tuple, list)) else [got]
    assert len(got) == len(expected)
    if len(got) > 1:  # Studio orders outputs topologically: match them by name
        from engine.graph import python_name

        order = [graph.nodes[i].name for i in model.studio_code.output_ids]
        got = [got[order.index(python_name(o.name))] for o in sess.get_outputs()]
    worst = 0.0
    for e, g in zip(expected, got):
        assert tuple(e.shape) == tuple(g.shape)
        worst = max(worst, float(np.abs(e - g.numpy()).max()))
    return graph, worst


def types(graph) -> list[str]:
    return [n.type for n in graph.nodes.values()]
