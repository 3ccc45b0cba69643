"""Bundled and synthetic datasets, splitting, normalization, targets and the Input shape."""
import numpy as np
import pytest
import sklearn.datasets as skd

from engine.data import (
    CATALOGUE,
    DataError,
    dataset_names,
    default_config,
    load_dataset,
    preview,
    split_indices,
)


@pytest.mark.parametrize("name, loader", [("digits", skd.load_digits), ("iris", skd.load_iris),
                                          ("wine", skd.load_wine),
                                          ("breast_cancer", skd.load_breast_cancer)])
def test_bundled_matches_scikit_learn(name, loader):
    ref = loader()
    s = load_dataset({"source": "bundled", "name": name, "normalize": "none",
                      "val_split": 0.2, "test_split": 0.1, "seed": 3})
    n = len(ref.data)
    assert len(s.train) + len(s.val) + len(s.test) == n
    assert s.sample_shape == ref.data.shape[1:] == CATALOGUE[name].sample_shape
    assert s.train.x.dtype == np.float32 and s.train.y[0].dtype == np.int64
    assert s.num_classes == [len(ref.target_names)] and s.tasks == ["classification"]
    # the splits are a permutation of scikit-learn's samples with their labels
    order = np.random.default_rng(3).permutation(n)
    n_test, n_val = round(n * 0.1), round(n * 0.2)
    np.testing.assert_array_equal(s.test.x, ref.data[order[:n_test]].astype(np.float32))
    np.testing.assert_array_equal(s.train.y[0], ref.target[order[n_test + n_val:]])
    counts = np.bincount(np.concatenate([s.train.y[0], s.val.y[0], s.test.y[0]]))
    np.testing.assert_array_equal(counts, np.bincount(ref.target))


def test_digits_values_and_cnn_shape():
    s = load_dataset({"name": "digits", "normalize": "none"}, input_shape=(1, 8, 8))
    assert s.train.x.shape[1:] == (1, 8, 8)
    assert s.train.x.min() == 0 and s.train.x.max() == 16
    assert s.num_classes == [10] and len(s.class_names[0]) == 10


def test_reshape_mismatch_is_a_clear_error():
    with pytest.raises(DataError, match=r"dataset 'digits' has samples of 64 values; the Input "
                                        r"node expects \(3, 32, 32\) = 3072"):
        load_dataset({"source": "bundled", "name": "digits"}, input_shape=(3, 32, 32))


def test_split_is_deterministic_and_seeded():
    a = load_dataset({"name": "iris", "seed": 5})
    b = load_dataset({"name": "iris", "seed": 5})
    c = load_dataset({"name": "iris", "seed": 6})
    np.testing.assert_array_equal(a.train.x, b.train.x)
    np.testing.assert_array_equal(a.val.y[0], b.val.y[0])
    assert not np.array_equal(a.train.x, c.train.x)
    tr, va, te = split_indices(10, 0.2, 0.1, 0)
    assert sorted(np.concatenate([tr, va, te])) == list(range(10))
    assert (len(tr), len(va), len(te)) == (7, 2, 1)


def test_bad_split_fractions():
    with pytest.raises(DataError, match="leaves nothing to train on"):
        load_dataset({"name": "iris", "val_split": 0.6, "test_split": 0.4})
    with pytest.raises(DataError, match="val_split must be a fraction"):
        load_dataset({"name": "iris", "val_split": 1.5})


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_normalization_uses_train_statistics_only(kind):
    raw = load_dataset({"name": "wine", "normalize": "none", "seed": 1})
    s = load_dataset({"name": "wine", "normalize": kind, "seed": 1})
    tr = raw.train.x.astype(np.float64)
    if kind == "standard":
        mu, sd = tr.mean(0), tr.std(0)
        np.testing.assert_allclose(s.val.x, (raw.val.x - mu) / sd, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(s.train.x.mean(0), 0, atol=1e-5)
        assert abs(s.val.x.mean(0)).max() > 1e-3      # val stats were not used
    else:
        lo, hi = tr.min(0), tr.max(0)
        np.testing.assert_allclose(s.test.x, (raw.test.x - lo) / (hi - lo), rtol=1e-4,
                                   atol=1e-5)
        assert s.train.x.min() == 0 and np.isclose(s.train.x.max(), 1)
    assert s.normalization["kind"] == kind


def test_global_minmax_for_digits_handles_constant_pixels():
    s = load_dataset({"name": "digits"})       # catalogue default: minmax over all pixels
    assert s.normalization["axis"] == "global"
    assert s.train.x.min() == 0 and s.train.x.max() == 1
    assert np.all(np.isfinite(s.val.x))


def test_autoencoder_and_multi_target():
    s = load_dataset({"name": "digits", "target": "input"})
    assert s.tasks == ["reconstruction"]
    np.testing.assert_array_equal(s.train.y[0], s.train.x)
    m = load_dataset({"name": "digits", "targets": ["label", "input"]}, input_shape=(1, 8, 8))
    assert m.tasks == ["classification", "reconstruction"]
    assert m.train.y[0].shape == (len(m.train),) and m.train.y[1].shape == m.train.x.shape
    with pytest.raises(DataError, match="has no target 'price'; available: input, label, ge5"):
        load_dataset({"name": "digits", "target": "price"})
    two = load_dataset({"name": "digits", "targets": ["label", "ge5"]})
    assert two.tasks == ["classification", "binary"]
    np.testing.assert_array_equal(two.val.y[1][:, 0], two.val.y[0] >= 5)


def test_task_override_and_one_hot():
    b = load_dataset({"name": "breast_cancer", "task": "binary"})
    assert b.tasks == ["binary"] and b.train.y[0].dtype == np.float32
    assert b.train.y[0].shape == (len(b.train), 1)
    oh = load_dataset({"name": "iris", "one_hot": True})
    assert oh.train.y[0].shape == (len(oh.train), 3)
    np.testing.assert_array_equal(oh.train.y[0].sum(1), 1)
    with pytest.raises(DataError, match="needs exactly 2"):
        load_dataset({"name": "iris", "task": "binary"})


def test_xor_is_separable_and_binary():
    s = load_dataset({"source": "synthetic", "name": "xor", "samples": 400, "noise": 0.05,
                      "val_split": 0.25})
    assert s.tasks == ["binary"] and s.train.y[0].shape == (len(s.train), 1)
    x = np.concatenate([s.train.x, s.val.x, s.test.x])
    y = np.concatenate([s.train.y[0], s.val.y[0], s.test.y[0]])[:, 0]
    rule = (x[:, 0] > 0.5) ^ (x[:, 1] > 0.5)
    assert (rule == y.astype(bool)).mean() == 1.0
    assert 0.4 < y.mean() < 0.6


def test_spirals_two_balanced_classes():
    s = load_dataset({"name": "spirals", "samples": 300})
    y = np.concatenate([s.train.y[0], s.val.y[0], s.test.y[0]])
    assert y.sum() == 150 and s.sample_shape == (2,)


def test_sine_regression_and_classification():
    r = load_dataset({"name": "sine", "window": 16, "samples": 200, "noise": 0.0})
    assert r.sample_shape == (16, 1) and r.train.y[0].shape == (len(r.train), 1)
    # noise-free sine: the next value follows from the last three (x[t+1] = 2cos(w)x[t] - x[t-1])
    x, y = r.train.x[:, :, 0], r.train.y[0][:, 0]
    two_cos = (x[:, -1] + x[:, -3]) / x[:, -2]
    ok = np.abs(x[:, -2]) > 0.2
    np.testing.assert_allclose((two_cos * x[:, -1] - x[:, -2])[ok], y[ok], atol=1e-3)
    c = load_dataset({"name": "sine", "task": "classification", "num_classes": 4})
    assert c.tasks == ["classification"] and c.num_classes == [4]
    assert set(np.unique(c.train.y[0])) == {0, 1, 2, 3}


def test_ratings_for_the_rbm():
    s = load_dataset({"name": "ratings", "users": 100, "movies": 12, "unrated": 0.25})
    x = s.train.x
    assert s.tasks == ["reconstruction"] and s.normalization is None
    assert set(np.unique(x)) == {-1.0, 0.0, 1.0}
    assert 0.15 < (x == -1).mean() < 0.35
    np.testing.assert_array_equal(s.train.y[0], x)
    assert load_dataset({"name": "ratings", "target": "label"}).tasks == ["reconstruction"]
    g = load_dataset({"name": "ratings", "target": "genres"})
    assert g.tasks == ["multilabel"] and g.train.y[0].shape[1] == 3


def test_synthetic_options_are_validated():
    with pytest.raises(DataError, match="'noise' must be a number"):
        load_dataset({"name": "xor", "noise": "loud"})
    with pytest.raises(DataError, match="unknown synthetic dataset 'moons'"):
        load_dataset({"source": "synthetic", "name": "moons"})
    with pytest.raises(DataError, match="the synthetic dataset 'sine' with these options needs "
                                        "about .* MB in memory, more than the memory budget"):
        load_dataset({"name": "sine", "samples": 10_000_000, "window": 1000})
    with pytest.raises(DataError, match="unknown dataset source 'ftp'"):
        load_dataset({"source": "ftp", "name": "x"})


def test_catalogue_and_preview():
    names = dataset_names()
    assert {"digits", "iris", "wine", "breast_cancer", "xor", "spirals", "sine", "text",
            "ratings", "mnist", "fashion_mnist", "cifar10"} <= set(names)
    for name in ("digits", "xor", "sine", "text", "ratings", "iris"):
        s = load_dataset(default_config(name))
        assert s.sample_shape == CATALOGUE[name].sample_shape, name
        assert s.input_dtype == CATALOGUE[name].input_dtype, name
        assert s.tasks[0] == CATALOGUE[name].task, name
    x, y = preview({"name": "digits"}, n=5)
    assert x.shape == (5, 64) and y.shape == (5,)
    assert x.max() <= 16 and x.max() > 1          # shown as stored, not normalized


def test_max_samples_and_long_inputs():
    s = load_dataset({"name": "digits", "max_samples": 100})
    assert len(s.train) + len(s.val) + len(s.test) == 100
    with pytest.raises(DataError, match="fractional values; the Input node expects integer"):
        load_dataset({"name": "iris"}, input_dtype="long")
    t = load_dataset({"name": "text"}, input_dtype="float")
    assert t.train.x.dtype == np.float32


def test_loaders_do_not_import_torch():
    import subprocess
    import sys
    code = ("import sys, engine.data as d; d.load_dataset({'name': 'digits'}); "
            "d.load_dataset({'name': 'text'}); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
