"""ONNX files written the way other exporters write them (onnx.helper): TF/Keras-style NHWC
transposes, Gemm with transB=0, shape-computation chains, recurrent layers in ONNX gate order;
Studio's import must compute what onnxruntime computes."""
from __future__ import annotations

import numpy as np
import pytest

from engine import REGISTRY

from .onnx_helpers import TensorProto, const, helper, init, run_both, save, types, vinfo, weights

needs = lambda spec: pytest.mark.skipif(spec not in REGISTRY,
                                        reason=f"needs the {spec} layer")


def test_tf_style_nhwc_convnet_gets_permutes_only_where_needed(tmp_path):
    """NHWC input, a transpose pair around every conv/pool (tf2onnx style), SAME padding
    with stride 2 (asymmetric), flatten by a Shape->Gather->Unsqueeze->Concat->Reshape
    chain and a Gemm with transB=0, alpha and beta."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["t0"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["t0", "w1", "b1"], ["c1"], kernel_shape=[3, 3],
                         strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Transpose", ["r1"], ["t1"], perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["t1"], ["t2"], perm=[0, 3, 1, 2]),
        helper.make_node("MaxPool", ["t2"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Transpose", ["p1"], ["t3"], perm=[0, 2, 3, 1]),
        helper.make_node("Shape", ["t3"], ["s"]),
        const("zero", np.array(0, np.int64)),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        const("ax", np.array([0], np.int64)),
        helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]),
        const("minus1", np.array([-1], np.int64)),
        helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["t3", "shape"], ["flat"]),
        helper.make_node("Gemm", ["flat", "wd", "bd"], ["logits"], alpha=0.5, beta=2.0),
        helper.make_node("Softmax", ["logits"], ["y"], axis=-1),
    ]
    inits = [init("w1", weights(4, 3, 3, 3)), init("b1", weights(4)),
             init("wd", weights(4 * 2 * 2, 5)), init("bd", weights(5))]
    path = save(tmp_path, nodes, [vinfo("x", ["N", 8, 8, 3])], [vinfo("y", ["N", 5])], inits)
    graph, diff = run_both(path)
    assert diff < 1e-5
    assert types(graph).count("core.Permute") == 2  # at the input and before the flatten
    assert graph.inputs()[0].params["shape"] == [8, 8, 3]


def _lstm_model(tmp_path, direction: str, use_state: bool, layout: int = 0):
    hidden, feats, length = 5, 3, 4
    dirs = 2 if direction == "bidirectional" else 1
    inits = [init("W", weights(dirs, 4 * hidden, feats)), init("R", weights(dirs, 4 * hidden,
                                                                            hidden)),
             init("B", weights(dirs, 8 * hidden))]
    outs = ["", "Y_h"] if use_state else ["Y"]
    x_in = "x"
    nodes = []
    if layout == 0:
        nodes.append(helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]))
        x_in = "xt"
    nodes.append(helper.make_node("LSTM", [x_in, "W", "R", "B"], outs, hidden_size=hidden,
                                  direction=direction, layout=layout))
    if use_state:  # (dirs, N, H) -> (N, dirs*H)
        nodes += [helper.make_node("Transpose", ["Y_h"], ["ht"], perm=[1, 0, 2]),
                  helper.make_node("Flatten", ["ht"], ["y"], axis=1)]
        out = vinfo("y", ["N", dirs * hidden])
    elif layout == 0:  # (L, dirs, N, H) -> (N, L, dirs*H)
        nodes += [helper.make_node("Transpose", ["Y"], ["yt"], perm=[2, 0, 1, 3]),
                  const("shp", np.array([0, 0, -1], np.int64)),
                  helper.make_node("Reshape", ["yt", "shp"], ["y"])]
        out = vinfo("y", ["N", length, dirs * hidden])
    else:
        nodes += [const("shp", np.array([0, 0, -1], np.int64)),
                  helper.make_node("Reshape", ["Y", "shp"], ["y"])]
        out = vinfo("y", ["N", length, dirs * hidden])
    return save(tmp_path, nodes, [vinfo("x", ["N", length, feats])], [out], inits,
                opset=14)


@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
@pytest.mark.parametrize("use_state", [False, True])
def test_lstm_in_onnx_gate_order(tmp_path, direction, use_state):
    graph, diff = run_both(_lstm_model(tmp_path, direction, use_state))
    assert diff < 1e-5
    lstm = next(n for n in graph.nodes.values() if n.type == "rnn.LSTM")
    assert lstm.params["output"] == ("hidden" if use_state else "sequence")
    assert "core.Permute" not in types(graph)


def test_lstm_batch_first_layout(tmp_path):  # onnxruntime has no layout=1: onnx's reference
    path = _lstm_model(tmp_path, "bidirectional", False, layout=1)
    assert run_both(path, reference=True)[1] < 1e-5


@pytest.mark.parametrize("kind", ["GRU", "RNN"])
def test_gru_and_rnn_in_onnx_gate_order(tmp_path, kind):
    hidden, feats, gates = 4, 3, {"GRU": 3, "RNN": 1}[kind]
    extra = {"linear_before_reset": 1} if kind == "GRU" else {"activations": ["Relu"]}
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
             helper.make_node(kind, ["xt", "W", "R", "B"], ["Y"], hidden_size=hidden, **extra),
             const("ax", np.array([1], np.int64)),
             helper.make_node("Squeeze", ["Y", "ax"], ["ys"]),
             helper.make_node("Transpose", ["ys"], ["y"], perm=[1, 0, 2])]
    inits = [init("W", weights(1, gates * hidden, feats)),
             init("R", weights(1, gates * hidden, hidden)),
             init("B", weights(1, 2 * gates * hidden))]
    path = save(tmp_path, nodes, [vinfo("x", ["N", 6, feats])], [vinfo("y", ["N", 6, hidden])],
                inits)
    assert run_both(path)[1] < 1e-5


def test_gru_without_linear_before_reset_is_refused(tmp_path):
    from engine.importers import ImportModelError

    nodes = [helper.make_node("GRU", ["x", "W", "R"], ["Y"], hidden_size=2, name="gru7")]
    inits = [init("W", weights(1, 6, 3)), init("R", weights(1, 6, 2))]
    path = save(tmp_path, nodes, [vinfo("x", [5, "N", 3])], [vinfo("Y", [5, 1, "N", 2])], inits)
    with pytest.raises(ImportModelError, match="gru7.*GRU.*linear_before_reset"):
        run_both(path)


def test_matmul_add_becomes_linear_and_embedding_gather(tmp_path):
    nodes = [helper.make_node("Gather", ["table", "ids"], ["e"]),
             helper.make_node("MatMul", ["e", "w"], ["m"]),
             helper.make_node("Add", ["m", "b"], ["a"]),
             helper.make_node("Tanh", ["a"], ["t"]),
             helper.make_node("ReduceMean", ["t"], ["y"], axes=[1], keepdims=0)]
    inits = [init("table", weights(10, 6)), init("w", weights(6, 4)), init("b", weights(4))]
    path = save(tmp_path, nodes, [vinfo("ids", ["N", 7], TensorProto.INT64)],
                [vinfo("y", ["N", 4])], inits, opset=13)
    if "math.Reduce" not in REGISTRY:
        pytest.skip("needs math.Reduce")
    graph, diff = run_both(path)
    assert diff < 1e-5
    assert types(graph).count("core.Linear") == 1 and "core.Embedding" in types(graph)


def test_conv_family_norms_pools_pad_resize(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], kernel_shape=[3, 3], pads=[1, 0, 1, 2],
                         dilations=[1, 1], group=1),
        helper.make_node("BatchNormalization", ["c1", "s", "bb", "m", "v"], ["bn"],
                         epsilon=1e-3, momentum=0.99),
        helper.make_node("LeakyRelu", ["bn"], ["l1"], alpha=0.2),
        helper.make_node("Conv", ["l1", "wg", "bg"], ["c2"], kernel_shape=[3, 3],
                         pads=[2, 2, 2, 2], dilations=[2, 2], group=2),
        helper.make_node("InstanceNormalization", ["c2", "is", "ib"], ["in1"], epsilon=1e-5),
        helper.make_node("Elu", ["in1"], ["e1"], alpha=0.7),
        helper.make_node("AveragePool", ["e1"], ["ap"], kernel_shape=[3, 3], strides=[2, 2],
                         pads=[1, 1, 1, 1], count_include_pad=1),
        helper.make_node("Pad", ["ap", "pads"], ["pd"], mode="reflect"),
        helper.make_node("Resize", ["pd", "", "scales"], ["up"], mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        helper.make_node("ConvTranspose", ["up", "wt", "bt"], ["ct"], kernel_shape=[3, 3],
                         strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]),
        helper.make_node("Resize", ["ct", "", "scales"], ["lin"], mode="linear",
                         coordinate_transformation_mode="half_pixel"),
        helper.make_node("GlobalMaxPool", ["lin"], ["g"]),
        helper.make_node("Flatten", ["g"], ["y"]),
    ]
    c = 4
    inits = [init("w1", weights(c, 2, 3, 3)), init("s", weights(c) + 1), init("bb", weights(c)),
             init("m", weights(c)), init("v", np.abs(weights(c)) + 0.5),
             init("wg", weights(c, 2, 3, 3)), init("bg", weights(c)),
             init("is", weights(c) + 1), init("ib", weights(c)),
             init("pads", np.array([0, 0, 1, 2, 0, 0, 1, 0], np.int64)),
             init("scales", np.array([1, 1, 2, 2], np.float32)),
             init("wt", weights(c, 3, 3, 3)), init("bt", weights(3))]
    path = save(tmp_path, nodes, [vinfo("x", ["N", 2, 9, 8])], [vinfo("y", ["N", 3])], inits)
    graph, diff = run_both(path)
    assert diff < 1e-5
    assert {"core.Pad", "norm.GroupNorm", "conv.ConvTranspose2d", "pool.Upsample",
            "norm.BatchNorm2d"} <= set(types(graph))


def test_layernorm_concat_squeeze_unsqueeze_dropout_identity(tmp_path):
    nodes = [
        const("ax0", np.array([1], np.int64)),
        helper.make_node("Unsqueeze", ["x", "ax0"], ["u"]),      # N,1,5,6
        helper.make_node("Squeeze", ["u", "ax0"], ["s"]),        # N,5,6
        helper.make_node("Identity", ["s"], ["i"]),
        helper.make_node("Dropout", ["i"], ["d"]),
        helper.make_node("LayerNormalization", ["d", "g", "b"], ["ln"], axis=-1, epsilon=1e-5),
        helper.make_node("Sigmoid", ["ln"], ["sg"]),
        helper.make_node("Concat", ["ln", "sg"], ["cat"], axis=2),
        helper.make_node("Transpose", ["cat"], ["tr"], perm=[0, 2, 1]),
        helper.make_node("Concat", ["tr", "tr"], ["y"], axis=1),
    ]
    inits = [init("g", weights(6) + 1), init("b", weights(6))]
    path = save(tmp_path, nodes, [vinfo("x", ["N", 5, 6])], [vinfo("y", ["N", 24, 5])], inits)
    assert run_both(path)[1] < 1e-5


@pytest.mark.parametrize("opset", range(13, 22))
def test_opsets_13_to_21(tmp_path, opset):
    reduce = (helper.make_node("ReduceMean", ["r", "axes"], ["m"], keepdims=1) if opset >= 18
              else helper.make_node("ReduceMean", ["r"], ["m"], axes=[2, 3], keepdims=1))
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]), reduce,
             const("ax", np.array([2, 3], np.int64)),
             helper.make_node("Squeeze", ["m", "ax"], ["sq"]),
             helper.make_node("Gemm", ["sq", "wd"], ["y"], transB=1)]
    inits = [init("w", weights(4, 1, 3, 3)), init("wd", weights(2, 4)),
             init("axes", np.array([2, 3], np.int64))]
    path = save(tmp_path, nodes, [vinfo("x", ["N", 1, 6, 6])], [vinfo("y", ["N", 2])], inits,
                opset=opset)
    assert run_both(path)[1] < 1e-5


def test_static_batch_and_fixed_reshape(tmp_path):
    nodes = [const("shape", np.array([1, -1], np.int64)),
             helper.make_node("Reshape", ["x", "shape"], ["f"]),
             helper.make_node("Gemm", ["f", "w", "b"], ["y"], transB=1)]
    inits = [init("w", weights(3, 8)), init("b", weights(3))]
    path = save(tmp_path, nodes, [vinfo("x", [1, 2, 4])], [vinfo("y", [1, 3])], inits)
    graph, diff = run_both(path, batch=1)
    assert diff < 1e-5 and graph.inputs()[0].params["shape"] == [2, 4]


@needs("core.Parameter")
def test_broadcasting_with_constants(tmp_path):
    nodes = [helper.make_node("Sub", ["x", "mean"], ["a"]),
             helper.make_node("Div", ["a", "std"], ["b"]),
             helper.make_node("Mul", ["b", "two"], ["c"]),
             helper.make_node("Add", ["one", "c"], ["d"]),
             helper.make_node("Transpose", ["d"], ["t"], perm=[0, 2, 3, 1]),
             helper.make_node("Mul", ["t", "gain"], ["y"])]
    inits = [init("mean", weights(3, 1, 1)), init("std", np.abs(weights(1, 3, 1, 1)) + 1),
             init("two", np.array(2.0, np.float32)), init("one", np.array([1.0], np.float32)),
             init("gain", weights(3))]
    path = save(tmp_path, nodes, [vinfo("x", ["N", 3, 4, 5])], [vinfo("y", ["N", 4, 5, 3])],
                inits)
    assert run_both(path)[1] < 1e-5


@needs("act.ReLU6")
def test_clip_hardsigmoid_hardswish(tmp_path):
    nodes = [const("lo", np.array(0.0, np.float32)), const("hi", np.array(6.0, np.float32)),
             helper.make_node("Clip", ["x", "lo", "hi"], ["c"]),
             helper.make_node("HardSigmoid", ["c"], ["h"], alpha=1 / 6, beta=0.5),
             helper.make_node("HardSwish", ["h"], ["y"])]
    path = save(tmp_path, nodes, [vinfo("x", ["N", 7])], [vinfo("y", ["N", 7])], opset=14)
    assert run_both(path)[1] < 1e-5


@pytest.mark.skipif("ceil_mode" not in {p.name for p in REGISTRY["pool.MaxPool2d"].params},
                    reason="needs pooling with ceil_mode")
def test_pooling_with_ceil_mode_and_pads(tmp_path):
    nodes = [helper.make_node("MaxPool", ["x"], ["m"], kernel_shape=[3, 3], strides=[2, 2],
                              pads=[1, 1, 1, 1], ceil_mode=1),
             helper.make_node("AveragePool", ["m"], ["y"], kernel_shape=[2, 2],
                              strides=[2, 2], ceil_mode=1, count_include_pad=1)]
    path = save(tmp_path, nodes, [vinfo("x", ["N", 2, 10, 9])], [vinfo("y", ["N", 2, 3, 3])])
    assert run_both(path)[1] < 1e-5
