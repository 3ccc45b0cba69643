"""The course's Keras models, built with Keras 3 (torch backend), saved as .keras and as
legacy .h5, import with outputs equal to Keras' predict and the same parameters."""
from __future__ import annotations

import pytest

from .keras_helpers import check, keras, layers, randomize_batchnorm

FORMATS = ["keras", "h5"]


def mlp():
    return keras.Sequential([keras.Input((784,)), layers.Dense(32, activation="relu"),
                             layers.Dense(10, activation="softmax")])


def cnn():  # the two-conv-block image classifier, on small images
    return keras.Sequential([
        keras.Input((12, 12, 3)),
        layers.Conv2D(64, (3, 3), padding="same", activation="relu"),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)), layers.Dropout(0.25),
        layers.Conv2D(64, (3, 3), padding="same", activation="relu"),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)), layers.Dropout(0.25),
        layers.Flatten(), layers.Dense(1024, activation="relu"), layers.Dropout(0.5),
        layers.Dense(10, activation="softmax")])


def gru():
    return keras.Sequential([keras.Input((10, 8)), layers.GRU(128),
                             layers.Dense(4, activation="softmax")])


def lstm():
    return keras.Sequential([keras.Input((10,), dtype="int32"), layers.Embedding(50, 16),
                             layers.LSTM(128), layers.Dense(1, activation="sigmoid")])


def two_branch():
    inp = keras.Input((16,), name="features")
    a = layers.Dense(8, activation="relu", name="left")(inp)
    b = layers.Dense(8, activation="tanh", name="right")(inp)
    joined = layers.Concatenate()([a, b])
    mixed = layers.Add()([layers.Dense(8)(joined), layers.Multiply()([a, b])])
    return keras.Model(inp, layers.Dense(3, activation="softmax", name="head")(mixed))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("build", [mlp, cnn, gru, two_branch])
def test_course_model_imports_with_equal_outputs(tmp_path, build, fmt):
    model = build()
    randomize_batchnorm(model)
    graph = check(model, tmp_path, build.__name__, fmt)
    if build is cnn:  # channels-last: a Permute after the input and one before the Flatten
        assert [n.type for n in graph.nodes.values()].count("core.Permute") == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_lstm_text_classifier(tmp_path, fmt):
    graph = check(lstm(), tmp_path, "lstm", fmt, ids=50)
    assert graph.inputs()[0].params["dtype"] == "long"
