"""Data larger than the memory budget streams from disk: the same splits, values and
normalization as in memory; batches through a DataLoader with workers equal the in-memory
batches; decoded samples are cached up to the budget; augmentation is seeded per batch."""
import csv
from functools import partial

import numpy as np
import pytest
import torch
from PIL import Image

from engine.data import DataError
from engine.data import load_dataset as _load_dataset
from engine.data.augment import BatchTransform
from engine.data.lazy import LazyView
from engine.data.stream import DiskData, SampleCache, attach_cache

TINY_BUDGET = 0.01  # MB: everything below streams
load_dataset = partial(_load_dataset, allow_outside=True)  # the files are in tmp_path


def _same_splits(a, b):
    for name in ("train", "val", "test"):
        sa, sb = getattr(a, name), getattr(b, name)
        assert isinstance(sb.x, LazyView) and not isinstance(sa.x, LazyView)
        np.testing.assert_array_equal(sa.x, sb.x[:])
        for ya, yb in zip(sa.y, sb.y):
            np.testing.assert_array_equal(ya, yb)
    for key in ("offset", "scale"):
        np.testing.assert_array_equal(a.normalization[key], b.normalization[key])


@pytest.fixture
def npy(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.normal(size=(240, 2, 6, 6)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, 240))
    return {"source": "npy", "path": str(tmp_path / "x.npy"),
            "y_path": str(tmp_path / "y.npy"), "normalize": "standard"}


def test_npy_memmap_streams_the_same_splits(npy):
    _same_splits(load_dataset(npy), load_dataset({**npy, "memory_budget_mb": TINY_BUDGET}))


def test_a_streamed_view_is_never_loaded_whole(npy):
    splits = load_dataset({**npy, "memory_budget_mb": TINY_BUDGET})
    with pytest.raises(DataError, match="streamed from disk"):
        np.asarray(splits.train.x)
    assert splits.train.x.shape == (168, 2, 6, 6) and splits.train.x[3].shape == (2, 6, 6)


def test_streamed_npy_reshapes_to_the_input_and_names_a_bad_sample(tmp_path, npy):
    cfg = {**npy, "memory_budget_mb": TINY_BUDGET}
    splits = load_dataset(cfg, input_shape=(72,))
    assert splits.train.x[:2].shape == (2, 72)
    with pytest.raises(DataError, match=r"Input node expects \(5,\)"):
        load_dataset(cfg, input_shape=(5,))
    bad = np.ones((2000, 16), np.float32)
    bad[1700, 2] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    np.save(tmp_path / "bad_y.npy", np.zeros(2000, int))
    view = load_dataset({"source": "npy", "path": str(tmp_path / "bad.npy"),
                         "y_path": str(tmp_path / "bad_y.npy"),
                         "memory_budget_mb": 0.08, "normalize": "none",
                         "val_split": 0.0, "test_split": 0.0}).train.x
    with pytest.raises(DataError, match="bad.npy: sample 1700 contains NaN"):
        view[:]


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(1)
    for c in ("circle", "square", "stripes"):
        (tmp_path / "photos" / c).mkdir(parents=True)
        for i in range(12):
            h, w = (int(v) for v in rng.integers(18, 40, 2))
            Image.fromarray(rng.integers(0, 255, (h, w, 3)).astype(np.uint8)).save(
                tmp_path / "photos" / c / f"{i}.png")
    return {"source": "image_folder", "path": str(tmp_path / "photos"),
            "image_size": [16, 16], "resize": 20, "normalize": "fixed",
            "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def test_image_folder_streams_the_same_splits(photos):
    a = load_dataset(photos)
    _same_splits(a, load_dataset({**photos, "memory_budget_mb": TINY_BUDGET}))
    assert "streamed from disk" in load_dataset({**photos, "memory_budget_mb":
                                                 TINY_BUDGET}).description


def test_imagenet_preprocessing_resize_crop_and_fixed_normalization(photos, tmp_path):
    path = tmp_path / "photos" / "circle" / "0.png"
    with Image.open(path) as im:
        w, h = im.size
        short = 20
        size = (short, int(short * h / w)) if w <= h else (int(short * w / h), short)
        im = im.convert("RGB").resize(size, Image.Resampling.BILINEAR)
        left, top = round((size[0] - 16) / 2), round((size[1] - 16) / 2)
        want = np.asarray(im.crop((left, top, left + 16, top + 16)), np.float32)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    want = ((want / 255 - mean) / std).transpose(2, 0, 1)
    splits = load_dataset({**photos, "val_split": 0.0, "test_split": 0.0})
    order = np.random.default_rng(0).permutation(36)
    row = int(np.flatnonzero(order == 0)[0])  # where image 0 of class 0 went
    np.testing.assert_allclose(splits.train.x[row], want, atol=1e-5)


def test_csv_streams_the_same_splits_and_names_a_bad_cell(tmp_path):
    path = tmp_path / "t.csv"
    rows = [[i * 0.5, -i % 11, ["cat", "dog", "eel"][i % 3]] for i in range(120)]
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([["a", "b", "label"], *rows])
    cfg = {"source": "csv", "path": str(path), "normalize": "standard"}
    streamed = load_dataset({**cfg, "memory_budget_mb": TINY_BUDGET})
    _same_splits(load_dataset(cfg), streamed)
    assert streamed.class_names[0] == ["cat", "dog", "eel"]
    with open(path, "a", newline="") as f:
        csv.writer(f).writerow(["oops", 1, "cat"])
    with pytest.raises(DataError, match=r"t\.csv, row 122, column 'a': 'oops' is not"):
        streamed = load_dataset({**cfg, "memory_budget_mb": TINY_BUDGET})
        for s in (streamed.train, streamed.val, streamed.test):  # or when its split is read
            s.x[:]


def _order(n, seed=3):
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def test_dataloader_batches_with_workers_equal_the_in_memory_batches(npy):
    mem = load_dataset(npy).train
    disk = load_dataset({**npy, "memory_budget_mb": TINY_BUDGET}).train
    ys = [torch.as_tensor(disk.y[0])]
    order = _order(len(mem))
    expected = [(mem.x[i.numpy()], mem.y[0][i.numpy()]) for i in order.split(32)]
    for workers in (0, 2):
        got = list(DiskData(disk.x, ys, "cpu", num_workers=workers).batches(order, 32))
        assert len(got) == len(expected)
        for (x, y), (ex, ey) in zip(got, expected):
            np.testing.assert_array_equal(x.numpy(), ex)
            np.testing.assert_array_equal(y[0].numpy(), ey)


def test_augmented_batches_do_not_depend_on_the_worker_count(photos):
    split = load_dataset({**photos, "memory_budget_mb": TINY_BUDGET}).train
    ys = [torch.as_tensor(split.y[0])]
    aug = {"flip": "horizontal", "rotate": 15,
           "color_jitter": {"brightness": 0.3, "contrast": 0.3, "saturation": 0.3,
                            "hue": 0.05}}
    transform = BatchTransform(aug, None, 255.0)
    order, seeds = _order(len(split)), [11, 12, 13, 14]

    def batches(workers):
        data = DiskData(split.x, ys, "cpu", num_workers=workers)
        data.augment(transform, 0)
        return list(data.batches(order, 10, seeds=seeds))

    runs = [batches(w) for w in (0, 2)]
    for (a, _), (b, _) in zip(*runs):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    raw = torch.from_numpy(split.x.raw(order[:10].numpy())).float()
    assert not torch.equal(runs[0][0][0], raw)  # augmented


class _Counting:
    def __init__(self):
        self.calls = []

    def __call__(self, idx):
        self.calls.append(np.array(idx))
        return np.stack([np.full((2, 2), i, np.float32) for i in idx])


def test_sample_cache_holds_what_fits_the_budget_and_is_used():
    source = type("S", (), {"n": 10, "sample_shape": (2, 2), "sample_bytes": 16,
                            "dtype": np.dtype(np.float32)})()
    cache = SampleCache(source, capacity_bytes=4 * 16)
    assert cache.slots == 4 and cache.nbytes == 64
    reader = _Counting()
    first = cache.read(np.array([7, 1, 3]), reader)
    assert [list(c) for c in reader.calls] == [[7, 1, 3]]
    again = cache.read(np.array([3, 1, 9]), reader)
    assert [list(c) for c in reader.calls[1:]] == [[9]]      # 1 and 3 from the cache
    np.testing.assert_array_equal(first[:, 0, 0], [7, 1, 3])
    np.testing.assert_array_equal(again[:, 0, 0], [3, 1, 9])


def test_attach_cache_shares_decoded_images_with_the_workers(photos):
    split = load_dataset({**photos, "memory_budget_mb": TINY_BUDGET}).train
    cache = attach_cache(split.x, budget_mb=0.002)            # room for a few images
    assert cache.slots == int(0.002 * 2**20 // (3 * 16 * 16)) and cache.data.dtype == torch.uint8
    data = DiskData(split.x, [torch.as_tensor(split.y[0])], "cpu", num_workers=2)
    list(data.batches(_order(len(split)), 8))
    filled = cache.filled.numpy().astype(bool)
    assert filled.all()                    # the first training samples, filled by the workers
    cached = split.x.index[:cache.slots]   # the training split's first samples
    np.testing.assert_array_equal(cache.data.numpy(), split.x.source._read(cached))
