"""Preprocessing helpers: encodings, windows, normalization axes."""
import numpy as np
import pytest

from engine.data import (
    DataError,
    denormalize_inputs,
    fit_normalization,
    label_encode,
    normalize_inputs,
    one_hot,
    windows,
)


def test_label_encode_and_one_hot():
    idx, names = label_encode(["b", "a", "c", "a"])
    assert idx.tolist() == [1, 0, 2, 0] and names == ["a", "b", "c"]
    idx, names = label_encode(np.array([3.0, 7.0, 3.0]))
    assert idx.tolist() == [0, 1, 0] and names == ["3", "7"]
    np.testing.assert_array_equal(one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(DataError, match="labels must lie in 0..1"):
        one_hot([0, 2], 2)


def test_windows():
    x, y = windows(np.arange(10), 3)
    assert x.shape == (7, 3, 1) and y.shape == (7, 1)
    np.testing.assert_array_equal(x[2, :, 0], [2, 3, 4])
    assert y[2, 0] == 5
    x, y = windows(np.arange(20).reshape(10, 2), 4, horizon=2, step=3)
    np.testing.assert_array_equal(x[1], [[6, 7], [8, 9], [10, 11], [12, 13]])
    np.testing.assert_array_equal(y[1], [16, 17])
    with pytest.raises(DataError, match="too short"):
        windows(np.arange(3), 5)


def test_channel_normalization_matches_numpy():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(50, 3, 4, 4)) * [[[2.0]], [[5.0]], [[0.5]]] + 3).astype(np.float32)
    stats = fit_normalization(x, "standard", "channel")
    assert stats["offset"].shape == (3, 1, 1)
    np.testing.assert_allclose(stats["offset"][:, 0, 0], x.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(stats["scale"][:, 0, 0], x.std(axis=(0, 2, 3)), rtol=1e-4)
    z = normalize_inputs(x, stats)
    np.testing.assert_allclose(z.std(axis=(0, 2, 3)), 1, rtol=1e-4)
    np.testing.assert_allclose(denormalize_inputs(z, stats), x, rtol=1e-5, atol=1e-5)
    with pytest.raises(DataError, match="normalize must be"):
        fit_normalization(x, "zscore")
