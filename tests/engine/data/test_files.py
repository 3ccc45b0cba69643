"""File sources: CSV, .npy/.npz, image folders and IDX, with their errors."""
import gzip

import numpy as np
import pytest
from PIL import Image

from engine.data import DataError, load_dataset
from engine.data.idx import read_idx, write_idx


def _csv(tmp_path, text, name="data.csv"):
    (tmp_path / name).write_text(text)
    return tmp_path


# -- CSV --------------------------------------------------------------------------------------

def test_csv_features_target_and_label_encoding(tmp_path):
    rows = "\n".join(f"{i},{i * 2.5},{'cat' if i % 3 else 'dog'},{i % 2}" for i in range(20))
    _csv(tmp_path, "age,height,animal,flag\n" + rows + "\n")
    s = load_dataset({"source": "csv", "path": "data.csv", "features": ["age", "height"],
                      "target": "animal", "normalize": "none", "val_split": 0, "test_split": 0},
                     project_folder=tmp_path)
    assert s.sample_shape == (2,) and s.tasks == ["classification"]
    assert s.class_names == [["cat", "dog"]] and s.train.y[0].dtype == np.int64
    x, y = s.train.x, s.train.y[0]
    np.testing.assert_allclose(x[:, 1], x[:, 0] * 2.5)
    np.testing.assert_array_equal(y, (x[:, 0] % 3 == 0).astype(int))


def test_csv_default_target_is_last_column_and_regression(tmp_path):
    rows = "\n".join(f"{i};{i * 0.37:.3f}" for i in range(40))
    _csv(tmp_path, "x;price\n" + rows)
    s = load_dataset({"source": "csv", "path": "data.csv"}, project_folder=tmp_path)
    assert s.sample_shape == (1,) and s.tasks == ["regression"]
    assert s.train.y[0].shape == (len(s.train), 1) and s.train.y[0].dtype == np.float32


def test_csv_text_cell_names_file_row_and_column(tmp_path):
    lines = ["age,income,label"] + [f"{20 + i},{1000 + i},{i % 2}" for i in range(15)]
    lines[11] = "abc,1010,1"            # line 12 of the file (the header is line 1)
    _csv(tmp_path, "\n".join(lines))
    with pytest.raises(DataError, match=r"^data.csv, row 12, column 'age': 'abc' is not a "
                                        r"number$"):
        load_dataset({"source": "csv", "path": "data.csv"}, project_folder=tmp_path)


def test_csv_other_errors(tmp_path):
    _csv(tmp_path, "a,b\n1,2\n3\n")
    with pytest.raises(DataError, match="data.csv, row 3 has 1 cells; the header has 2"):
        load_dataset({"source": "csv", "path": "data.csv"}, project_folder=tmp_path)
    _csv(tmp_path, "a,b\n1,2\n,4\n")
    with pytest.raises(DataError, match="data.csv, row 3, column 'a' is empty"):
        load_dataset({"source": "csv", "path": "data.csv"}, project_folder=tmp_path)
    _csv(tmp_path, "a,b\n1,2\n3,4\n")
    with pytest.raises(DataError, match="has no column 'c'; its columns are 'a', 'b'"):
        load_dataset({"source": "csv", "path": "data.csv", "target": "c"},
                     project_folder=tmp_path)
    with pytest.raises(DataError, match="data file 'missing.csv' not found"):
        load_dataset({"source": "csv", "path": "missing.csv"}, project_folder=tmp_path)


def test_data_path_may_not_leave_the_project(tmp_path):
    (tmp_path / "proj").mkdir()
    _csv(tmp_path, "a,b\n1,2\n")
    with pytest.raises(DataError, match="leaves the project folder"):
        load_dataset({"source": "csv", "path": "../data.csv"},
                     project_folder=tmp_path / "proj")


def test_csv_autoencoder_uses_every_column(tmp_path):
    _csv(tmp_path, "a,b,c\n" + "\n".join(f"{i},{i + 1},{i + 2}" for i in range(10)))
    s = load_dataset({"source": "csv", "path": "data.csv", "target": "input"},
                     project_folder=tmp_path)
    assert s.sample_shape == (3,) and s.tasks == ["reconstruction"]


def test_memory_budget_refuses_large_files_not_streamed(tmp_path):
    np.save(tmp_path / "big.npy", np.zeros((1000, 300), np.float32))     # ~1.1 MB as float32
    with pytest.raises(DataError, match=r"big.npy needs about 1.1 MB in memory, more than the "
                                        r"memory budget of 0.5 MB"):
        load_dataset({"source": "npy", "path": "big.npy", "memory_budget_mb": 0.5,
                      "stream": False}, project_folder=tmp_path)
    with pytest.raises(DataError, match=r"streamed from disk .* reconstructing the input"):
        load_dataset({"source": "npy", "path": "big.npy", "memory_budget_mb": 0.5,
                      "target": "input"}, project_folder=tmp_path)
    s = load_dataset({"source": "npy", "path": "big.npy", "target": "input"},
                     project_folder=tmp_path)
    assert s.sample_shape == (300,)


# -- numpy files ------------------------------------------------------------------------------

def test_npz_keys(tmp_path):
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(50, 3)).astype(np.float64)
    np.savez(tmp_path / "d.npz", features=feats, classes=rng.integers(0, 4, 50),
             value=feats.sum(1))
    s = load_dataset({"source": "npz", "path": "d.npz", "x_key": "features", "y_key": "classes",
                      "normalize": "none"}, project_folder=tmp_path)
    assert s.tasks == ["classification"] and s.num_classes == [4]
    m = load_dataset({"source": "npz", "path": "d.npz", "x_key": "features",
                      "targets": ["classes", "value"], "normalize": "none"},
                     project_folder=tmp_path)
    assert m.tasks == ["classification", "regression"]
    np.testing.assert_allclose(m.train.y[1][:, 0], m.train.x.sum(1), rtol=1e-5)
    with pytest.raises(DataError, match="d.npz has no array 'x'; its arrays are 'features', "
                                        "'classes', 'value'"):
        load_dataset({"source": "npz", "path": "d.npz"}, project_folder=tmp_path)


def test_npz_default_keys_and_length_mismatch(tmp_path):
    np.savez(tmp_path / "ok.npz", x=np.ones((10, 2)), y=np.arange(10) % 2)
    s = load_dataset({"source": "npz", "path": "ok.npz"}, project_folder=tmp_path)
    assert s.num_classes == [2]
    np.save(tmp_path / "x.npy", np.ones((10, 2)))
    np.save(tmp_path / "y.npy", np.arange(9))
    with pytest.raises(DataError, match="y.npy has 9 labels for the 10 samples of x.npy"):
        load_dataset({"source": "npy", "path": "x.npy", "y_path": "y.npy"},
                     project_folder=tmp_path)


def test_npy_refuses_pickled_objects(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="obj.npy holds values of type object; expected numbers"):
        load_dataset({"source": "npy", "path": "obj.npy"}, project_folder=tmp_path)


# -- image folders ----------------------------------------------------------------------------

def _image_folder(root):
    rng = np.random.default_rng(0)
    (root / "cats").mkdir(parents=True)
    (root / "dogs").mkdir()
    Image.fromarray(rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)).save(root / "cats/a.png")
    Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).save(root / "cats/b.jpg")
    Image.fromarray(rng.integers(0, 255, (10, 12, 4), dtype=np.uint8), "RGBA").save(
        root / "dogs/c.png")
    Image.fromarray(rng.integers(0, 255, (10, 12), dtype=np.uint8), "L").convert("P").save(
        root / "dogs/d.gif")
    (root / "dogs/notes.txt").write_text("not an image")
    good = root / "dogs/e.jpg"
    Image.fromarray(rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)).save(good)
    (root / "dogs/broken.jpg").write_bytes(good.read_bytes()[:200])     # truncated JPEG


def test_image_folder_corrupt_jpeg_is_named(tmp_path):
    _image_folder(tmp_path / "imgs")
    with pytest.raises(DataError, match=r"image 'dogs/broken.jpg' in folder 'imgs' could not "
                                        r"be read: .*set the dataset option 'on_error' to "
                                        r"'skip'"):
        load_dataset({"source": "image_folder", "path": "imgs"}, project_folder=tmp_path)


def test_image_folder_mixed_sizes_and_modes(tmp_path):
    _image_folder(tmp_path / "imgs")
    s = load_dataset({"source": "image_folder", "path": "imgs", "on_error": "skip",
                      "val_split": 0, "test_split": 0, "normalize": "none"},
                     project_folder=tmp_path)
    assert s.warnings and "dogs/broken.jpg" in s.warnings[0]
    assert s.sample_shape == (3, 10, 12)          # most common size, RGB since some are colour
    assert len(s.train) == 5 and s.class_names == [["cats", "dogs"]]
    assert sorted(np.bincount(s.train.y[0])) == [2, 3]
    grey = load_dataset({"source": "image_folder", "path": "imgs", "on_error": "skip",
                         "image_size": [8, 8], "color": "L", "normalize": "none"},
                        project_folder=tmp_path)
    assert grey.sample_shape == (1, 8, 8) and grey.train.x.max() <= 255
    # the resized grey image equals Pillow's own conversion
    ref = Image.open(tmp_path / "imgs/cats/b.jpg").convert("L").resize((8, 8),
                                                                        Image.Resampling.BILINEAR)
    all_x = np.concatenate([grey.train.x, grey.val.x, grey.test.x])
    assert any(np.array_equal(x[0], np.asarray(ref, np.float32)) for x in all_x)


def test_image_folder_without_class_folders(tmp_path):
    (tmp_path / "flat").mkdir()
    with pytest.raises(DataError, match="has no sub-folders"):
        load_dataset({"source": "image_folder", "path": "flat"}, project_folder=tmp_path)


# -- IDX --------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 7, 5), dtype=np.uint8)
    labels = rng.integers(0, 10, 30).astype(np.uint8)
    write_idx(tmp_path / f"imgs-idx3-ubyte{suffix}", images)
    write_idx(tmp_path / f"labels-idx1-ubyte{suffix}", labels)
    np.testing.assert_array_equal(read_idx(tmp_path / f"imgs-idx3-ubyte{suffix}"), images)
    for arr in (rng.normal(size=(4, 3)).astype(np.float32), np.arange(-5, 5, dtype=np.int32)):
        write_idx(tmp_path / "t.idx", arr)
        back = read_idx(tmp_path / "t.idx")
        assert back.dtype == arr.dtype
        np.testing.assert_array_equal(back, arr)
    s = load_dataset({"source": "idx", "path": f"imgs-idx3-ubyte{suffix}",
                      "labels_path": f"labels-idx1-ubyte{suffix}", "normalize": "none",
                      "test_path": f"imgs-idx3-ubyte{suffix}",
                      "test_labels_path": f"labels-idx1-ubyte{suffix}"},
                     project_folder=tmp_path)
    assert s.sample_shape == (1, 7, 5) and len(s.test) == 30      # its own test set
    assert len(s.train) + len(s.val) == 30
    np.testing.assert_array_equal(s.test.x[:, 0], images)
    np.testing.assert_array_equal(s.test.y[0], labels)


def test_idx_header_layout_matches_mnist(tmp_path):
    write_idx(tmp_path / "a", np.zeros((2, 28, 28), np.uint8))
    data = (tmp_path / "a").read_bytes()
    assert data[:16] == bytes.fromhex("00000803" "00000002" "0000001c" "0000001c")
    assert len(data) == 16 + 2 * 28 * 28


def test_idx_truncation_and_bad_magic(tmp_path):
    write_idx(tmp_path / "full", np.ones((10, 4, 4), np.uint8))
    data = (tmp_path / "full").read_bytes()
    (tmp_path / "cut").write_bytes(data[:100])
    with pytest.raises(DataError, match=r"cut is truncated: expected 160 bytes of data for "
                                        r"shape \(10, 4, 4\), found 84"):
        read_idx(tmp_path / "cut")
    noisy = gzip.compress(data[:16] + np.random.default_rng(0).bytes(160))
    (tmp_path / "cut.gz").write_bytes(noisy[:len(noisy) // 2])
    with pytest.raises(DataError, match="cut.gz is truncated"):
        read_idx(tmp_path / "cut.gz")
    (tmp_path / "head").write_bytes(data[:9])
    with pytest.raises(DataError, match="head is truncated: the header ends"):
        read_idx(tmp_path / "head")
    (tmp_path / "png").write_bytes(b"\x89PNG....")
    with pytest.raises(DataError, match="png is not an IDX file"):
        read_idx(tmp_path / "png")
    (tmp_path / "long").write_bytes(data + b"\0")
    with pytest.raises(DataError, match="more data than its header"):
        read_idx(tmp_path / "long")
    write_idx(tmp_path / "labels", np.zeros(9, np.uint8))
    with pytest.raises(DataError, match="labels has 9 labels for the 10 samples of full"):
        load_dataset({"source": "idx", "path": "full", "labels_path": "labels"},
                     project_folder=tmp_path)


def test_series_windows_from_a_file(tmp_path):
    series = np.sin(np.arange(50) * 0.3).astype(np.float32)
    np.save(tmp_path / "s.npy", series)
    s = load_dataset({"source": "npy", "path": "s.npy", "window": 8, "normalize": "none",
                      "val_split": 0, "test_split": 0, "seed": 0}, project_folder=tmp_path)
    assert s.sample_shape == (8, 1) and s.tasks == ["regression"] and len(s.train) == 42
    for x, y in zip(s.train.x, s.train.y[0]):
        start = int(np.argmin(np.abs(series[:43] - x[0, 0]) + np.abs(series[1:44] - x[1, 0])))
        np.testing.assert_array_equal(x[:, 0], series[start:start + 8])
        assert y[0] == series[start + 8]
    _csv(tmp_path, "t,temp,rain\n" + "\n".join(f"{i},{i * 0.5},{i % 2}" for i in range(30)))
    c = load_dataset({"source": "csv", "path": "data.csv", "features": ["temp"],
                      "target": "rain", "window": 5, "horizon": 2, "normalize": "none",
                      "val_split": 0, "test_split": 0}, project_folder=tmp_path)
    assert c.sample_shape == (5, 1) and len(c.train) == 30 - 5 - 2 + 1
    x, y = c.train.x, c.train.y[0]
    np.testing.assert_array_equal(y, ((x[:, -1, 0] / 0.5 + 2) % 2).astype(int))


def test_csv_text_column_for_text_classification(tmp_path):
    lines = ["review,stars"] + [f'"{"great fun, loved it" if i % 2 else "dull and slow"}",'
                                f'{"good" if i % 2 else "bad"}' for i in range(20)]
    _csv(tmp_path, "\n".join(lines))
    s = load_dataset({"source": "csv", "path": "data.csv", "text_column": "review",
                      "max_len": 6, "target": "stars"}, project_folder=tmp_path,
                     input_shape=(6,), input_dtype="long")
    assert s.input_dtype == "long" and s.sample_shape == (6,) and s.normalization is None
    assert s.vocab[:2] == ["<pad>", "<unk>"] and "loved" in s.vocab
    assert s.class_names == [["bad", "good"]]
    good = s.vocab.index("great")
    np.testing.assert_array_equal((s.train.x == good).any(1), s.train.y[0] == 1)
    with pytest.raises(DataError, match="the text column 'review' is also the target"):
        load_dataset({"source": "csv", "path": "data.csv", "text_column": "review",
                      "target": "review"}, project_folder=tmp_path)


def test_task_override_for_file_targets(tmp_path):
    _csv(tmp_path, "a,ok\n" + "\n".join(f"{i},{'yes' if i % 3 else 'no'}" for i in range(12)))
    s = load_dataset({"source": "csv", "path": "data.csv", "task": "binary"},
                     project_folder=tmp_path)
    assert s.tasks == ["binary"] and s.train.y[0].shape == (len(s.train), 1)
    assert s.class_names == [["no", "yes"]]
    np.savez(tmp_path / "m.npz", x=np.ones((10, 2)), y=np.eye(10, 4))
    m = load_dataset({"source": "npz", "path": "m.npz", "task": "multilabel"},
                     project_folder=tmp_path)
    assert m.tasks == ["multilabel"] and m.num_classes == [4]
    np.savez(tmp_path / "r.npz", x=np.ones((10, 2)), y=np.linspace(0, 1, 10))
    assert load_dataset({"source": "npz", "path": "r.npz"},
                        project_folder=tmp_path).tasks == ["regression"]
    with pytest.raises(DataError, match="task 'multilabel' needs targets of 0 and 1"):
        load_dataset({"source": "npz", "path": "r.npz", "task": "multilabel"},
                     project_folder=tmp_path)
