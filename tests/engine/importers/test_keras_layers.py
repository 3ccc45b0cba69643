"""Keras layers beyond the course models, Keras 2's legacy HDF5 layout written by hand, and
what a model file may not contain (Lambda, custom objects) or be (corrupt, a zip bomb)."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from engine.importers import ImportModelError, ModelFileError, import_keras

from .keras_helpers import check, keras, layers, randomize_batchnorm, sample, studio_outputs


def _types(graph):
    return [n.type for n in graph.nodes.values()]


@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_image_layers(tmp_path, fmt):
    inp = keras.Input((9, 8, 3))
    x = layers.ZeroPadding2D(((1, 0), (2, 1)))(inp)
    x = layers.Conv2D(4, 3, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(negative_slope=0.1)(x)
    x = layers.UpSampling2D(2)(x)
    x = layers.Conv2DTranspose(3, 4, strides=2, padding="same", activation="elu")(x)
    x = layers.AveragePooling2D(2)(x)
    y = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    a = layers.GlobalAveragePooling2D()(y)
    b = layers.GlobalMaxPooling2D()(y)
    out = layers.Dense(2, activation="selu")(layers.Concatenate()([a, b]))
    model = keras.Model(inp, [out, layers.Activation("gelu")(y)])
    randomize_batchnorm(model)
    graph = check(model, tmp_path, "image", fmt)
    assert {"core.Pad", "pool.Upsample", "conv.ConvTranspose2d"} <= set(_types(graph))


@pytest.mark.skipif("core.Slice" not in __import__("engine").REGISTRY, reason="needs core.Slice")
def test_conv_transpose_same_with_odd_kernel_crops_at_the_end(tmp_path):
    model = keras.Sequential([keras.Input((5, 4, 2)),
                              layers.Conv2DTranspose(3, 3, strides=2, padding="same")])
    check(model, tmp_path, "ct", "keras")


def test_sequence_layers(tmp_path):
    inp = keras.Input((7, 4))
    x = layers.Conv1D(6, 3, padding="causal", activation="swish")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling1D(2, padding="same")(x)
    x = layers.Bidirectional(layers.LSTM(5, return_sequences=True))(x)
    x = layers.LayerNormalization()(x)
    x = layers.Bidirectional(layers.GRU(3, return_sequences=True))(x)
    x = layers.SimpleRNN(4, activation="relu", return_sequences=True)(x)
    x = layers.Permute((2, 1))(x)
    x = layers.Reshape((2, 8))(x)
    y = layers.Bidirectional(layers.GRU(3))(x)
    z = layers.Dense(3, activation="softsign")(layers.Flatten()(x))
    model = keras.Model(inp, [y, layers.Maximum()([z, layers.Average()([z, z])])])
    randomize_batchnorm(model)
    check(model, tmp_path, "seq", "keras")


def test_activations(tmp_path):
    acts = ["relu", "sigmoid", "tanh", "softplus", "softsign", "selu", "elu", "gelu", "silu",
            "leaky_relu", "log_softmax", "softmax", "linear", "exponential"]
    from engine import REGISTRY

    acts += [a for a in ("relu6", "hard_sigmoid", "hard_silu", "mish")
             if {"relu6": "act.ReLU6", "hard_sigmoid": "act.Hardsigmoid",
                 "hard_silu": "act.Hardswish", "mish": "act.Mish"}[a] in REGISTRY]
    if "math.Unary" not in REGISTRY:
        acts.remove("exponential")
    inp = keras.Input((5,))
    outs = [layers.Dense(3, activation=a, name=f"d_{a}")(inp) for a in acts]
    check(keras.Model(inp, outs), tmp_path, "acts", "keras")


def _legacy_h5(path, config: dict, weights: dict[str, list[tuple[str, np.ndarray]]]):
    """An HDF5 file in Keras 2's layout: model_config and model_weights/<layer>."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.13.1"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode()
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [n.encode() for n in weights]
        for layer, arrays in weights.items():
            lg = g.create_group(layer)
            lg.attrs["weight_names"] = [n.encode() for n, _ in arrays]
            for n, a in arrays:
                lg.create_dataset(n, data=a)


def test_keras2_functional_hdf5_written_by_hand(tmp_path):
    ref = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(3, 3, padding="same"),
                            layers.BatchNormalization(), layers.MaxPooling2D(2),
                            layers.Flatten(), layers.Dense(4, activation="softmax")])
    randomize_batchnorm(ref)
    conv, bn, _, _, dense = ref.layers
    k2 = lambda name, cls, cfg, src: {"class_name": cls, "name": name,
                                      "config": {"name": name, **cfg},
                                      "inbound_nodes": [[[src, 0, 0, {}]]]}
    config = {"class_name": "Functional", "config": {"name": "model", "layers": [
        {"class_name": "InputLayer", "name": "img", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 6, 6, 2], "dtype": "float32", "name": "img"}},
        k2("conv", "Conv2D", {"filters": 3, "kernel_size": [3, 3], "strides": [1, 1],
                              "padding": "same", "activation": "linear", "use_bias": True},
           "img"),
        k2("bn", "BatchNormalization", {"axis": [3], "momentum": 0.99, "epsilon": 0.001,
                                        "center": True, "scale": True}, "conv"),
        k2("pool", "MaxPooling2D", {"pool_size": [2, 2], "strides": [2, 2],
                                    "padding": "valid"}, "bn"),
        k2("flat", "Flatten", {}, "pool"),
        k2("out", "Dense", {"units": 4, "activation": "softmax", "use_bias": True}, "flat")],
        "input_layers": [["img", 0, 0]], "output_layers": [["out", 0, 0]]}}
    names = {"conv": ["kernel:0", "bias:0"],
             "bn": ["gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"],
             "out": ["kernel:0", "bias:0"]}
    weights = {"img": [], "conv": [], "bn": [], "pool": [], "flat": [], "out": []}
    for name, layer in (("conv", conv), ("bn", bn), ("out", dense)):
        weights[name] = [(f"{name}/{n}", w) for n, w in zip(names[name], layer.get_weights())]
    path = tmp_path / "keras2.h5"
    _legacy_h5(path, config, weights)
    graph = import_keras(path)
    xs = sample(ref)
    got = studio_outputs(graph, xs)[0]
    assert np.abs(got - ref.predict(xs[0], verbose=0)).max() < 1e-5


def test_keras2_sequential_hdf5_without_input_layer(tmp_path):
    ref = keras.Sequential([keras.Input((5, 3)), layers.LSTM(4), layers.Dense(2)])
    lstm, dense = ref.layers
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "LSTM", "config": {"name": "lstm", "batch_input_shape": [None, 5, 3],
                                          "units": 4, "activation": "tanh",
                                          "recurrent_activation": "sigmoid", "use_bias": True,
                                          "return_sequences": False}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "linear",
                                           "use_bias": True}}]}}
    cell = ["lstm/lstm_cell/kernel:0", "lstm/lstm_cell/recurrent_kernel:0",
            "lstm/lstm_cell/bias:0"]
    path = tmp_path / "seq2.h5"
    _legacy_h5(path, config, {"lstm": list(zip(cell, lstm.get_weights())),
                              "dense": list(zip(["dense/kernel:0", "dense/bias:0"],
                                                dense.get_weights()))})
    xs = sample(ref)
    got = studio_outputs(import_keras(path), xs)[0]
    assert np.abs(got - ref.predict(xs[0], verbose=0)).max() < 1e-5


def test_lambda_layer_is_refused_by_name_and_never_runs(tmp_path):
    marker = tmp_path / "ran"

    def side_effect(x):
        marker.write_text("ran")
        return x * 2

    model = keras.Sequential([keras.Input((3,)), layers.Dense(2),
                              layers.Lambda(side_effect, name="double_it")])
    path = tmp_path / "lam.keras"
    model.save(path)
    marker.unlink(missing_ok=True)
    with pytest.raises(ModelFileError, match="lam.keras.*Lambda layer 'double_it'.*code"):
        import_keras(path)
    assert not marker.exists()


def test_custom_object_is_refused(tmp_path):
    path = tmp_path / "custom.keras"
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer",
         "config": {"batch_shape": [None, 3], "name": "in"}},
        {"module": "my_package.layers", "class_name": "Fancy", "registered_name": "Custom>Fancy",
         "config": {"name": "fancy"}}]}}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("metadata.json", "{}")
    with pytest.raises(ModelFileError, match="Fancy 'fancy' is a custom object"):
        import_keras(path)


def test_unsupported_layer_names_layer_and_class(tmp_path):
    model = keras.Sequential([keras.Input((4, 4, 1)), layers.Conv2D(2, 2, name="c"),
                              layers.Cropping2D(1, name="crop_me")])
    model.save(tmp_path / "crop.keras")
    with pytest.raises(ImportModelError, match="crop_me.*Cropping2D.*crop.keras"):
        import_keras(tmp_path / "crop.keras")


def test_corrupt_truncated_and_bomb_files(tmp_path, monkeypatch):
    good = tmp_path / "good.keras"
    keras.Sequential([keras.Input((3,)), layers.Dense(2)]).save(good)
    data = good.read_bytes()
    cases = {"trunc.keras": data[: len(data) // 2], "junk.h5": b"\x89HDF\r\n\x1a\n" + b"x" * 99,
             "empty.keras": b"", "text.h5": b"hello"}
    for name, blob in cases.items():
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(ImportModelError, match=name.replace(".", r"\.")) as info:
            import_keras(tmp_path / name)
        assert "\n" not in str(info.value)
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"\x00" * (20 * 2**20))
    monkeypatch.setenv("STUDIO_MEMORY_BUDGET_MB", "5")
    with pytest.raises(ModelFileError, match="bomb.keras: the zip's contents declares"):
        import_keras(bomb)


def test_cli_and_file_dispatch(tmp_path, capsys):
    from engine import load_project
    from studio.cli import main

    path = tmp_path / "m.keras"
    keras.Sequential([keras.Input((3,)), layers.Dense(2, name="fc")]).save(path)
    out = tmp_path / "m.nnproj"
    assert main(["import", str(path), "-o", str(out)]) == 0
    project = load_project(out)
    assert "fc" in {n.name for n in project.graph.nodes.values()}
    assert "Keras" in project.meta["description"]
    bad = tmp_path / "m.txt"
    bad.write_text("x")
    assert main(["import", str(bad), "-o", str(tmp_path / "x.nnproj")]) == 1
    assert "Traceback" not in capsys.readouterr().err
