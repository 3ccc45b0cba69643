"""The 2-D synthetic sets for the decision-boundary lessons: circles and two Gaussians."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from engine.data import CATALOGUE, DataError, default_config, load_dataset


def _all(splits):
    x = np.concatenate([s.x for s in (splits.train, splits.val, splits.test) if s])
    y = np.concatenate([s.y[0] for s in (splits.train, splits.val, splits.test) if s])[:, 0]
    return x, y


def _linear_accuracy(x, y) -> float:
    return LogisticRegression().fit(x, y).score(x, y)


def test_circles_disc_inside_ring():
    x, y = _all(load_dataset({**default_config("circles"), "noise": 0.0}))
    r = np.hypot(x[:, 0], x[:, 1])
    assert r[y == 1].max() <= 0.5 + 1e-6          # the disc (factor 0.5)
    assert r[y == 0].min() >= 0.85 - 1e-6         # the ring starts at (1 + 0.5) / 2 + 0.1
    assert y.mean() == 0.5
    assert _linear_accuracy(x, y) < 0.7            # no straight line separates them


def test_gaussians_separable_unless_noisy():
    clean = _all(load_dataset({**default_config("gaussians"), "noise": 0.2}))
    assert _linear_accuracy(*clean) == 1.0
    noisy = _all(load_dataset({**default_config("gaussians"), "noise": 2.0}))
    assert _linear_accuracy(*noisy) < 0.8
    x, y = clean
    assert np.allclose(x[y == 1].mean(axis=0), [1, 1], atol=0.1)
    assert np.allclose(x[y == 0].mean(axis=0), [-1, -1], atol=0.1)


@pytest.mark.parametrize("name", ["circles", "gaussians", "xor", "spirals"])
def test_noise_moves_the_points_and_the_seed_fixes_them(name):
    base = default_config(name)
    a, b = (load_dataset({**base, "noise": 0.1}).train.x for _ in range(2))
    np.testing.assert_array_equal(a, b)
    c = load_dataset({**base, "noise": 0.3}).train.x
    assert not np.allclose(a, c)
    info = CATALOGUE[name]
    assert info.sample_shape == (2,) and info.task == "binary"


def test_bad_options_are_named():
    with pytest.raises(DataError, match="'factor'"):
        load_dataset({"source": "synthetic", "name": "circles", "factor": 3})
    with pytest.raises(DataError, match="'noise'"):
        load_dataset({"source": "synthetic", "name": "gaussians", "noise": -1})


def test_balanced_xor_with_four_samples_is_the_truth_table():
    x, y = _all(load_dataset({**default_config("xor"), "samples": 4, "noise": 0.0,
                              "balanced": True, "val_split": 0, "test_split": 0}))
    rows = sorted(zip(map(tuple, x.astype(int).tolist()), y.astype(int).tolist()))
    assert rows == [((0, 0), 0), ((0, 1), 1), ((1, 0), 1), ((1, 1), 0)]
    x, _ = _all(load_dataset({**default_config("xor"), "samples": 400, "balanced": True}))
    corners = np.round(x).astype(int)
    assert all(((corners == c).all(axis=1)).sum() == 100 for c in ([0, 0], [0, 1], [1, 0], [1, 1]))
    with pytest.raises(DataError, match="'balanced'"):
        load_dataset({**default_config("xor"), "balanced": "yes"})
