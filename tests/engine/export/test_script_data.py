"""The exported script's `load_data()` gives the Trainer's training data exactly: for every
data source (bundled, synthetic, CSV, .npy, .npz, IDX, image folders, downloads) and the
dataset options (split, subset, normalization, targets, task, one-hot, windows), its tensors
equal the ones the app's Trainer trains, validates and tests on. No training: this is fast."""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import runpy
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

import engine
from engine.data.idx import write_idx
from engine.export.script import export_script
from engine.train.trainer import Trainer

from .conftest import assert_ruff_clean, assert_short_lines


def _project(folder: Path, dataset: dict, shape, heads=(("out", 10, None),), dtype="float",
             vocab=None, rbm=None, training=None) -> engine.Project:
    """Input(shape) -> [Embedding] -> Flatten -> Linear per head -> Output; saved in folder."""
    g = engine.Graph()
    x = g.add_node("io.Input", {"shape": list(shape), "dtype": dtype}, name="x")
    prev = x
    if vocab:
        prev = _link(g, prev, g.add_node("core.Embedding", {"num_embeddings": vocab,
                                                            "embedding_dim": 3}))
    if rbm:
        body = _link(g, prev, g.add_node("rbm.RBM", {"hidden": rbm}))
        _link(g, body, g.add_node("io.Output", {}, name="reconstruction"))
    else:
        flat = _link(g, prev, g.add_node("core.Flatten", {}))
        for name, units, _ in heads:
            head = _link(g, flat, g.add_node("core.Linear", {"out_features": units}))
            _link(g, head, g.add_node("io.Output", {}, name=name))
    project = engine.Project(graph=g, dataset=dataset, training=training or {},
                             path=folder / "project.nnproj")
    engine.save_project(project, project.path)
    return engine.load_project(project.path)


def _link(g, a, b):
    g.connect(a.id, "out", b.id, "in")
    return b


def _compare(project: engine.Project, tmp_path: Path, monkeypatch) -> str:
    """Assert the script's splits equal the Trainer's; returns the script's text."""
    out = tmp_path / "elsewhere" / "model.py"  # not the project folder: paths must resolve
    out.parent.mkdir(exist_ok=True)
    export_script(project, out)
    assert_ruff_clean(out)
    assert_short_lines(out.read_text())
    trainer = Trainer(project, "cpu", run_dir=False)
    trainer.setup()
    monkeypatch.chdir(tmp_path)
    loaded = runpy.run_path(str(out), run_name="exported")["load_data"]()
    splits, stats = loaded if isinstance(loaded, tuple) else (loaded, None)
    state = trainer.state
    expected = {"train": state.train_data, "val": state.val_data, "test": state.test_data}
    assert set(splits) == {k for k, v in expected.items() if v is not None}
    for name, (x, y) in splits.items():
        data = expected[name]
        ys = y if isinstance(y, list) else [y]
        assert x.dtype == data.x.dtype and torch.equal(x, data.x), name
        assert len(ys) == len(data.ys), name
        for a, b in zip(ys, data.ys):
            assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), name
    norm = trainer.splits.normalization
    assert (stats is None) == (norm is None)
    if stats is not None:  # --predict normalizes raw inputs with the same statistics
        raw = np.random.default_rng(0).uniform(0, 20, (3, *state.train_data.x.shape[1:]))
        offset, scale = stats
        assert np.array_equal((raw.astype(np.float32) - offset) / scale,
                              engine.data.normalize_inputs(raw, norm))
    return out.read_text()


BUNDLED = [
    ({"source": "bundled", "name": "digits"}, (64,), (("digit", 10, None),)),
    ({"source": "bundled", "name": "digits", "normalize": "standard", "max_samples": 500},
     (1, 8, 8), (("digit", 10, None),)),
    ({"source": "bundled", "name": "digits", "normalize": "minmax", "normalize_axis": "channel",
      "val_split": 0.0}, (1, 8, 8), (("digit", 10, None),)),
    ({"source": "bundled", "name": "digits", "normalize": "standard",
      "normalize_axis": "global", "test_split": 0.0}, (64,), (("digit", 10, None),)),
    ({"source": "bundled", "name": "iris", "seed": 3}, (4,), (("species", 3, None),)),
    ({"source": "bundled", "name": "wine", "normalize": "minmax", "normalize_axis": "feature",
      "val_split": 0, "test_split": 0}, (13,), (("cultivar", 3, None),)),
    ({"source": "bundled", "name": "breast_cancer", "task": "binary"}, (30,),
     (("malignant", 1, None),)),
    ({"source": "bundled", "name": "digits", "targets": ["label", "ge5", "even"]}, (64,),
     (("digit", 10, None), ("ge5", 1, None), ("even", 1, None))),
    ({"source": "bundled", "name": "digits", "targets": ["ge5"]}, (64,), (("ge5", 1, None),)),
    ({"source": "bundled", "name": "digits", "one_hot": True}, (64,), (("digit", 10, None),)),
    ({"source": "bundled", "name": "digits", "task": "regression"}, (64,),
     (("value", 1, None),)),
    ({"source": "bundled", "name": "digits", "target": "input"}, (1, 8, 8),
     (("image", 64, None),)),
]


@pytest.mark.parametrize("dataset, shape, heads", BUNDLED, ids=range(len(BUNDLED)))
def test_bundled(dataset, shape, heads, tmp_path, monkeypatch):
    text = _compare(_project(tmp_path, dataset, shape, heads), tmp_path, monkeypatch)
    assert f"load_{dataset['name']}(return_X_y=True)" in text


SYNTHETIC = [
    ({"source": "synthetic", "name": "xor", "val_split": 0.25}, (2,), (("y", 1, None),), {}),
    ({"source": "synthetic", "name": "spirals", "samples": 200, "noise": 0.1, "turns": 2,
      "test_split": 0, "seed": 4}, (2,), (("arm", 1, None),), {}),
    ({"source": "synthetic", "name": "xor", "samples": 40, "balanced": True, "noise": 0.1},
     (2,), (("y", 1, None),), {}),
    ({"source": "synthetic", "name": "circles", "samples": 120, "noise": 0.1, "factor": 0.3,
      "seed": 2}, (2,), (("disc", 1, None),), {}),
    ({"source": "synthetic", "name": "gaussians", "samples": 100, "noise": 0.7,
      "distance": 3}, (2,), (("cloud", 1, None),), {}),
    ({"source": "synthetic", "name": "sine", "window": 10, "samples": 300}, (10, 1),
     (("next", 1, None),), {}),
    ({"source": "synthetic", "name": "sine", "task": "classification", "num_classes": 4,
      "samples": 300, "normalize": "standard"}, (20, 1), (("frequency", 4, None),), {}),
    ({"source": "synthetic", "name": "ratings", "users": 60, "movies": 12}, (12,), (),
     {"rbm": 4, "training": {"loss": "cd"}}),
    ({"source": "synthetic", "name": "ratings", "users": 60, "target": "genres"}, (24,),
     (("genres", 3, None),), {}),
    ({"source": "synthetic", "name": "text", "samples": 100, "max_len": 8}, (8,),
     (("sentiment", 2, None),), {"dtype": "long", "vocab": 60}),
    ({"source": "synthetic", "name": "text", "samples": 60, "mode": "skipgram", "window": 1},
     (1,), (("context", 43, None),), {"dtype": "long", "vocab": 60}),
    ({"source": "synthetic", "name": "text", "samples": 60, "mode": "cbow"}, (4,),
     (("centre", 43, None),), {"dtype": "long", "vocab": 60}),
]


@pytest.mark.parametrize("dataset, shape, heads, extra", SYNTHETIC, ids=range(len(SYNTHETIC)))
def test_synthetic(dataset, shape, heads, extra, tmp_path, monkeypatch):
    if dataset["name"] == "text" and dataset.get("mode") in ("skipgram", "cbow"):
        from engine.data.text import load_text

        vocab = len(load_text(dataset).vocab)  # the classes: one per word
        heads = ((heads[0][0], vocab, None),)
    _compare(_project(tmp_path, dataset, shape, heads, **extra), tmp_path, monkeypatch)


# -- files ----------------------------------------------------------------------------------------

def _csv(path: Path, header, rows, delimiter=","):
    lines = ([delimiter.join(header)] if header else []) + \
        [delimiter.join(str(c) for c in row) for row in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


RNG = np.random.default_rng(7)
X = RNG.normal(size=(40, 4)).round(4)


def _csv_cases(folder: Path):
    data = folder / "data"
    labels = RNG.integers(0, 3, 40)
    _csv(data / "numeric.csv", ["a", "b", "c", "d", "label"],
         [[*x, y * 10] for x, y in zip(X, labels)])
    words = np.array(["cat", "dog", "bird"])[labels]
    _csv(data / "text.csv", ["a", "kind", "b", "c", "d"],
         [[x[0], w, *x[1:]] for x, w in zip(X, words)], delimiter=";")
    _csv(data / "reg.csv", ["a", "b", "c", "d", "price"],
         [[*x, round(float(x.sum()) * 3.3, 3)] for x in X])
    _csv(data / "noheader.csv", None, [[y, *x] for x, y in zip(X, labels)])
    with open(data / "reviews.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)  # quoted cells: the reviews hold commas
        writer.writerow(["review", "stars"])
        writer.writerows([f"a {'good' if y else 'bad'} film, very {'fine' if y % 2 else 'dull'}",
                          y] for y in labels)
    series = np.cumsum(RNG.normal(size=(60, 2)), axis=0).round(3)
    _csv(data / "series.csv", ["u", "v", "up"],
         [[*row, int(i % 3 == 0)] for i, row in enumerate(series.tolist())])
    return [
        ({"source": "csv", "path": "data/numeric.csv"}, (4,), (("label", 3, None),)),
        ({"source": "csv", "path": "data/text.csv", "target": "kind", "features": ["b", "d"],
          "delimiter": ";", "normalize": "minmax"}, (2,), (("kind", 3, None),)),
        ({"source": "csv", "path": "data/reg.csv", "target": "price", "test_split": 0},
         (4,), (("price", 1, None),)),
        ({"source": "csv", "path": "data/noheader.csv", "header": False, "target": 0},
         (4,), (("label", 3, None),)),
        ({"source": "csv", "path": "data/text.csv", "targets": ["kind", "d"],
          "features": ["a", "b", "c"], "delimiter": ";"}, (3,),
         (("kind", 3, None), ("d", 1, None))),
        ({"source": "csv", "path": "data/reviews.csv", "text_column": "review",
          "target": "stars", "max_len": 6}, (6,), (("stars", 3, None),),),
        ({"source": "csv", "path": "data/series.csv", "target": "up", "window": 5,
          "horizon": 2, "task": "binary"}, (5, 2), (("up", 1, None),)),
    ]


@pytest.mark.parametrize("case", range(7))
def test_csv(case, tmp_path, monkeypatch):
    dataset, shape, heads = _csv_cases(tmp_path)[case]
    extra = {"dtype": "long", "vocab": 20} if "text_column" in dataset else {}
    text = _compare(_project(tmp_path, dataset, shape, heads, **extra), tmp_path, monkeypatch)
    assert "csv.reader(" in text and "read_idx" not in text and "Image" not in text


def _numpy_cases(folder: Path):
    data = folder / "data"
    data.mkdir(exist_ok=True)
    np.save(data / "x1.npy", RNG.normal(size=50).astype(np.float32))
    np.save(data / "words.npy", np.array(["yes", "no"] * 25))
    np.save(data / "images.npy", RNG.integers(0, 255, (50, 1, 4, 4)).astype(np.uint8))
    np.save(data / "values.npy", RNG.normal(size=(50, 2)))
    np.save(data / "series.npy", np.cumsum(RNG.normal(size=(40, 2)), axis=0))
    np.savez(data / "arrays.npz", x=RNG.normal(size=(50, 3)), y=RNG.integers(0, 4, 50),
             aux=RNG.normal(size=50), other=np.arange(3))
    return [
        ({"source": "npy", "path": "data/x1.npy", "y_path": "data/words.npy"}, (1,),
         (("answer", 2, None),)),
        ({"source": "npy", "path": "data/images.npy", "y_path": "data/values.npy",
          "normalize": "standard", "normalize_axis": "channel"}, (1, 4, 4),
         (("values", 2, None),)),
        ({"source": "npz", "path": "data/arrays.npz", "targets": ["y", "aux"]}, (3,),
         (("y", 4, None), ("aux", 1, None))),
        ({"source": "npz", "path": "data/arrays.npz", "window": 4}, (4, 3),
         (("y", 4, None),)),
        ({"source": "npy", "path": "data/series.npy", "window": 6}, (6, 2),
         (("next", 2, None),)),
    ]


@pytest.mark.parametrize("case", range(5))
def test_numpy_files(case, tmp_path, monkeypatch):
    dataset, shape, heads = _numpy_cases(tmp_path)[case]
    text = _compare(_project(tmp_path, dataset, shape, heads), tmp_path, monkeypatch)
    assert "allow_pickle=False" in text


def test_idx_files_with_their_own_test_set(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    write_idx(data / "train-images", RNG.integers(0, 255, (30, 5, 5)).astype(np.uint8))
    write_idx(data / "train-labels.gz", RNG.integers(0, 4, 30).astype(np.uint8))
    write_idx(data / "test-images.gz", RNG.integers(0, 255, (12, 5, 5)).astype(np.uint8))
    write_idx(data / "test-labels", RNG.integers(0, 4, 12).astype(np.uint8))
    dataset = {"source": "idx", "path": "data/train-images", "labels_path":
               "data/train-labels.gz", "test_path": "data/test-images.gz",
               "test_labels_path": "data/test-labels"}
    text = _compare(_project(tmp_path, dataset, (1, 5, 5), (("digit", 4, None),)), tmp_path,
                    monkeypatch)
    assert "def read_idx(" in text


def _images(root: Path, mode: str, sizes) -> None:
    from PIL import Image

    for label in ("dark", "light"):
        (root / label).mkdir(parents=True)
        for i, size in enumerate(sizes):
            pixels = RNG.integers(0, 255, (*size, 3) if mode == "RGB" else size)
            Image.fromarray(pixels.astype(np.uint8), mode).save(root / label / f"{i}.png")


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_image_folders(mode, tmp_path, monkeypatch):
    root = tmp_path / "pictures"
    _images(root, mode, [(6, 6), (6, 6), (8, 5), (6, 6), (6, 6)])
    (root / "dark" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    (root / "light" / "notes.txt").write_text("not an image")
    dataset = {"source": "image_folder", "path": "pictures", "on_error": "skip",
               "val_split": 0.3, "test_split": 0.0}
    shape = (1, 6, 6) if mode == "L" else (3, 6, 6)
    text = _compare(_project(tmp_path, dataset, shape, (("shade", 2, None),)), tmp_path,
                    monkeypatch)
    assert "Image.open(" in text and "Image.Resampling.BILINEAR" in text


# -- downloads (a fake cache with the files' checksums patched in) -------------------------------

def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_mnist_from_the_download_cache(tmp_path, monkeypatch):
    from engine.data import download

    cache = tmp_path / "cache"
    (cache / "mnist").mkdir(parents=True)
    files = {}
    for name, array in (("train-images-idx3-ubyte.gz", RNG.integers(0, 255, (40, 28, 28))),
                        ("train-labels-idx1-ubyte.gz", RNG.integers(0, 10, 40)),
                        ("t10k-images-idx3-ubyte.gz", RNG.integers(0, 255, (10, 28, 28))),
                        ("t10k-labels-idx1-ubyte.gz", RNG.integers(0, 10, 10))):
        write_idx(cache / "mnist" / name, array.astype(np.uint8))
        files[name] = _md5((cache / "mnist" / name).read_bytes())
    monkeypatch.setitem(download.RESOURCES, "mnist", {**download.RESOURCES["mnist"],
                                                       "files": files})
    monkeypatch.setenv("STUDIO_DATA_DIR", str(cache))
    dataset = {"source": "download", "name": "mnist", "max_samples": 30}
    text = _compare(_project(tmp_path, dataset, (1, 28, 28), (("digit", 10, None),)),
                    tmp_path, monkeypatch)
    assert all(md5 in text for md5 in files.values())


def test_cifar10_from_the_download_cache(tmp_path, monkeypatch):
    from engine.data import download
    from engine.data.idx import CIFAR_RECORD

    cache = tmp_path / "cache"
    (cache / "cifar10").mkdir(parents=True)
    archive = cache / "cifar10" / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, n in (("data_batch_2.bin", 6), ("data_batch_1.bin", 8),
                        ("test_batch.bin", 5), ("batches.meta.txt", 0)):
            records = RNG.integers(0, 255, (n, CIFAR_RECORD)).astype(np.uint8)
            records[:, 0] %= 10
            data = records.tobytes() if n else b"airplane\n"
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    monkeypatch.setitem(download.RESOURCES, "cifar10", {
        **download.RESOURCES["cifar10"], "files": {archive.name: _md5(archive.read_bytes())}})
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))  # a project's cache_dir lies in it
    dataset = {"source": "download", "name": "cifar10", "cache_dir": "cache"}
    _compare(_project(tmp_path, dataset, (3, 32, 32), (("label", 10, None),)), tmp_path,
             monkeypatch)


def test_the_download_is_fetched_by_the_script(tmp_path, monkeypatch):
    """Not cached at export: the script downloads (here from a local mirror), checks the
    checksum, and reads the files."""
    from engine.data import download

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    files = {}
    for name, shape in (("train-images-idx3-ubyte.gz", (20, 28, 28)),
                        ("train-labels-idx1-ubyte.gz", (20,)),
                        ("t10k-images-idx3-ubyte.gz", (5, 28, 28)),
                        ("t10k-labels-idx1-ubyte.gz", (5,))):
        write_idx(mirror / name, RNG.integers(0, 10, shape).astype(np.uint8))
        files[name] = _md5((mirror / name).read_bytes())
    monkeypatch.setitem(download.RESOURCES, "fashion_mnist", {
        **download.RESOURCES["fashion_mnist"], "files": files, "mirrors": [
            "http://127.0.0.1:9/nothing/", mirror.as_uri() + "/"]})
    dataset = {"source": "download", "name": "fashion_mnist", "cache_dir": str(tmp_path / "c")}
    project = _project(tmp_path, dataset, (1, 28, 28), (("item", 10, None),))
    monkeypatch.setattr(download, "fetch", lambda *a, **k: (_ for _ in ()).throw(
        engine.data.DataError("offline")))
    out = export_script(project, tmp_path / "model.py")
    monkeypatch.undo()
    loaded = runpy.run_path(str(out), run_name="exported")["load_data"]()
    splits = loaded[0]
    assert splits["train"][0].shape[1:] == (1, 28, 28) and len(splits["test"][0]) == 5
    assert sorted(p.name for p in (tmp_path / "c" / "fashion_mnist").iterdir()) == sorted(files)
    with gzip.open(tmp_path / "c" / "fashion_mnist" / "t10k-labels-idx1-ubyte.gz") as f:
        assert f.read()[:4] == b"\x00\x00\x08\x01"


@pytest.mark.parametrize("option, words", [
    ({"augment": {"flip": "horizontal"}}, "augmentation needs image inputs"),
    ({"source": "csv", "path": "rows.csv", "stream": True}, "CSV file streams from disk")])
def test_dataset_options_the_script_cannot_repeat_are_refused(option, words, tmp_path):
    from engine.export import ExportError

    (tmp_path / "rows.csv").write_text("a,b,label\n" + "".join(
        f"{i},{i % 3},{i % 2}\n" for i in range(20)))
    np.save(tmp_path / "x.npy", RNG.normal(size=(20, 4)).astype(np.float32))
    dataset = {"source": "npy", "path": "x.npy", **option}
    shape = (2,) if option.get("source") == "csv" else (4,)
    project = _project(tmp_path, dataset, shape, (("out", 2, None),))
    with pytest.raises(ExportError, match=words):
        export_script(project, tmp_path / "model.py")
    assert not (tmp_path / "model.py").exists()
