"""Bad and hostile ONNX files: one sentence naming the file, never a traceback, nothing read
beyond the budget or outside the model's folder."""
from __future__ import annotations

import numpy as np
import pytest

from engine.importers import ImportModelError, ModelFileError, import_onnx

from .onnx_helpers import helper, init, onnx, save, vinfo, weights


def _small(tmp_path, name="m.onnx"):
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)]
    return save(tmp_path, nodes, [vinfo("x", ["N", 4])], [vinfo("y", ["N", 3])],
                [init("w", weights(3, 4)), init("b", weights(3))], name=name)


def _refused(path, match):
    with pytest.raises(ImportModelError, match=match) as info:
        import_onnx(path)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_truncated_and_garbage_files(tmp_path):
    data = _small(tmp_path).read_bytes()
    for i, blob in enumerate([data[: len(data) // 2], b"\x00garbage" * 10, b""]):
        bad = tmp_path / f"bad{i}.onnx"
        bad.write_bytes(blob)
        assert f"bad{i}.onnx" in _refused(bad, "not an ONNX model|corrupt|truncated")


def test_missing_file_and_folder(tmp_path):
    _refused(tmp_path / "nope.onnx", "no such file")
    (tmp_path / "dir.onnx").mkdir()
    _refused(tmp_path / "dir.onnx", "not a regular file")


def test_absurd_declared_tensor_size_is_refused_before_allocating(tmp_path):
    t = onnx.TensorProto()
    t.name, t.data_type = "w", onnx.TensorProto.FLOAT
    t.dims.extend([100_000, 100_000, 1000])
    t.raw_data = b"\x00" * 16
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    graph = helper.make_graph(nodes, "g", [vinfo("x", ["N", 100_000])],
                              [vinfo("y", ["N", 1000])], [t])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "huge.onnx"
    path.write_bytes(model.SerializeToString())
    _refused(path, "huge.onnx: tensor 'w'.*declares")


def test_external_data_outside_the_folder_is_refused(tmp_path):
    path = _small(tmp_path)
    model = onnx.load(path)
    secret = tmp_path.parent / "secret.bin"
    secret.write_bytes(b"\x00" * 48)
    for t in model.graph.initializer:
        if t.name == "w":
            t.ClearField("raw_data")
            t.data_location = onnx.TensorProto.EXTERNAL
            for k, v in (("location", "../secret.bin"), ("offset", "0"), ("length", "48")):
                e = t.external_data.add()
                e.key, e.value = k, v
    sub = tmp_path / "model"
    sub.mkdir()
    bad = sub / "ext.onnx"
    bad.write_bytes(model.SerializeToString())
    _refused(bad, "outside the model's folder")


def test_external_data_beside_the_model_is_read(tmp_path):
    model = onnx.load(_small(tmp_path))
    w = model.graph.initializer[0]
    expected = onnx.numpy_helper.to_array(w)
    (tmp_path / "ext.data").write_bytes(b"\x01" * 8 + w.raw_data)
    w.ClearField("raw_data")
    w.data_location = onnx.TensorProto.EXTERNAL
    for k, v in (("location", "ext.data"), ("offset", "8"), ("length", str(expected.nbytes))):
        e = w.external_data.add()
        e.key, e.value = k, v
    (tmp_path / "ext.onnx").write_bytes(model.SerializeToString())
    graph = import_onnx(tmp_path / "ext.onnx")
    assert np.array_equal(next(iter(graph.weights.values()))["weight"], expected)
    (tmp_path / "ext.data").write_bytes(b"\x00" * 4)  # truncated
    _refused(tmp_path / "ext.onnx", "truncated")


def test_memory_budget_is_checked_before_reading(tmp_path, monkeypatch):
    path = _small(tmp_path)
    monkeypatch.setenv("STUDIO_MEMORY_BUDGET_MB", "0.0001")
    _refused(path, "more than the")


def test_unsupported_op_names_node_op_and_opset(tmp_path):
    nodes = [helper.make_node("Det", ["x"], ["y"], name="my_det")]
    path = save(tmp_path, nodes, [vinfo("x", ["N", 3, 3])], [vinfo("y", ["N"])], opset=19)
    msg = _refused(path, "my_det")
    assert "Det" in msg and "opset 19" in msg and "m.onnx" in msg


def test_unsupported_opset_and_foreign_domain(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    graph = helper.make_graph(nodes, "g", [vinfo("x", ["N", 3])], [vinfo("y", ["N", 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
    model.ir_version = 8
    path = tmp_path / "old.onnx"
    onnx.save(model, path)
    with pytest.raises(ModelFileError, match="old.onnx: ONNX opset 9 is not supported"):
        import_onnx(path)
    nodes = [helper.make_node("FusedConv", ["x"], ["y"], domain="com.microsoft", name="fc")]
    graph = helper.make_graph(nodes, "g", [vinfo("x", ["N", 3])], [vinfo("y", ["N", 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    path = tmp_path / "ms.onnx"
    onnx.save(model, path)
    _refused(path, "fc.*FusedConv.*com.microsoft")


def test_hostile_constant_of_shape_is_refused(tmp_path):
    from .onnx_helpers import const

    nodes = [const("s", np.array([10**6, 10**6], np.int64)),
             helper.make_node("ConstantOfShape", ["s"], ["z"]),
             helper.make_node("Add", ["x", "z"], ["y"])]
    path = save(tmp_path, nodes, [vinfo("x", ["N", 3])], [vinfo("y", ["N", 3])])
    _refused(path, "ConstantOfShape.*elements")


def test_cli_imports_an_onnx_file_and_refuses_a_bad_one(tmp_path, capsys):
    from engine import load_project
    from studio.cli import main

    path = _small(tmp_path)
    out = tmp_path / "net.nnproj"
    assert main(["import", str(path), "-o", str(out)]) == 0
    project = load_project(out)
    assert [n.type for n in project.graph.nodes.values()].count("core.Linear") == 1
    assert project.graph.weights
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"nonsense")
    assert main(["import", str(bad), "-o", str(tmp_path / "b.nnproj")]) == 1
    err = capsys.readouterr().err
    assert "bad.onnx" in err and "Traceback" not in err


@pytest.mark.parametrize("op, inputs", [
    ("Range", [np.array(0, np.int64), np.array(10**13, np.int64), np.array(1, np.int64)]),
    ("Tile", [np.ones((4, 4), np.float32), np.array([10**6, 10**6], np.int64)]),
    ("Expand", [np.ones((1, 1), np.float32), np.array([10**6, 10**6], np.int64)]),
])
def test_hostile_folds_are_refused_before_allocating(tmp_path, op, inputs):
    from .onnx_helpers import const

    names = [f"c{i}" for i in range(len(inputs))]
    nodes = [const(n, a) for n, a in zip(names, inputs)]
    nodes += [helper.make_node(op, names, ["big"], name="boom"),
              helper.make_node("Shape", ["big"], ["s"]),
              helper.make_node("Reshape", ["x", "s"], ["y"])]
    path = save(tmp_path, nodes, [vinfo("x", ["N", 3])], [vinfo("y", ["N", 3])])
    _refused(path, f"boom.*{op}.*elements")
