"""Downloaders: offline failure, the real download path against a local server, CIFAR files.

Nothing here touches the internet: URLs point at 127.0.0.1.
"""
import functools
import hashlib
import http.server
import io
import tarfile
import threading

import numpy as np
import pytest

from engine.data import DataError, load_dataset
from engine.data import download as dl
from engine.data.idx import parse_cifar_batch, write_cifar_batch, write_idx

from ...mnist_cache import offline_mirror


def test_offline_download_fails_fast_with_a_clear_message(tmp_path, monkeypatch):
    url = offline_mirror()
    monkeypatch.setenv(dl.CACHE_ENV, str(tmp_path))
    with pytest.raises(DataError) as info:
        load_dataset({"source": "download", "name": "mnist", "mirror": url})
    msg = str(info.value)
    assert msg.startswith(f"could not download MNIST from {url}train-images-idx3-ubyte.gz: "
                          "no network connection")
    assert f"Download the files by hand into {tmp_path / 'mnist'}" in msg
    assert "t10k-labels-idx1-ubyte.gz" in msg
    assert not list((tmp_path / "mnist").glob("*"))            # no half-written file


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_mnist_download_checksum_and_cache(server, tmp_path, monkeypatch):
    root, url = server
    rng = np.random.default_rng(0)
    files = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
             "train-labels-idx1-ubyte.gz": (np.arange(40) % 10).astype(np.uint8),
             "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
             "t10k-labels-idx1-ubyte.gz": np.arange(10, dtype=np.uint8)}
    for name, arr in files.items():
        write_idx(root / name, arr)
    sums = {name: _md5((root / name).read_bytes()) for name in files}
    monkeypatch.setitem(dl.RESOURCES["mnist"], "files", sums)
    cache = tmp_path / "cache"
    monkeypatch.setenv(dl.CACHE_ENV, str(cache))
    cfg = {"source": "download", "name": "mnist", "mirror": url}
    s = load_dataset(cfg, input_shape=(1, 28, 28))
    assert len(s.test) == 10 and len(s.train) + len(s.val) == 40
    assert s.sample_shape == (1, 28, 28) and s.num_classes == [10]
    assert 0 <= s.train.x.min() and s.train.x.max() <= 1      # minmax over all pixels
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(files)
    # cached: loads again with the server gone
    cfg["mirror"] = offline_mirror()
    again = load_dataset(cfg, input_shape=(1, 28, 28))
    np.testing.assert_array_equal(again.test.x, s.test.x)


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    root, url = server
    (root / "f.bin").write_bytes(b"not what was promised")
    target = tmp_path / "cache" / "f.bin"
    with pytest.raises(DataError, match="the checksum does not match"):
        dl.download_file(url + "f.bin", target, md5="0" * 32)
    assert not target.exists() and not list(target.parent.glob("*.part"))
    with pytest.raises(DataError, match="the server answered 404"):
        dl.download_file(url + "missing.bin", target, md5=None)
    dl.download_file(url + "f.bin", target, md5=_md5(b"not what was promised"))
    assert target.read_bytes() == b"not what was promised"


def _cifar_archive(path, rng):
    buf = {}
    for name, n in [("data_batch_1.bin", 6), ("data_batch_2.bin", 4), ("test_batch.bin", 5)]:
        images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, n)
        write_cifar_batch(path.parent / name, images, labels)
        buf[name] = (images, labels)
    with tarfile.open(path, "w:gz") as tar:
        for name in buf:
            tar.add(path.parent / name, arcname=f"cifar-10-batches-bin/{name}")
    return buf


def test_cifar_binary_batches(server, tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    root, url = server
    batches = _cifar_archive(root / "cifar-10-binary.tar.gz", rng)
    images, labels = parse_cifar_batch((root / "test_batch.bin").read_bytes(), "test_batch.bin")
    np.testing.assert_array_equal(images, batches["test_batch.bin"][0])
    np.testing.assert_array_equal(labels, batches["test_batch.bin"][1])
    monkeypatch.setitem(dl.RESOURCES["cifar10"], "files", {
        "cifar-10-binary.tar.gz": _md5((root / "cifar-10-binary.tar.gz").read_bytes())})
    monkeypatch.setenv(dl.CACHE_ENV, str(tmp_path / "c"))
    s = load_dataset({"source": "download", "name": "cifar10", "mirror": url,
                      "normalize": "none", "val_split": 0.2})
    assert s.sample_shape == (3, 32, 32) and len(s.test) == 5 and len(s.train) == 8
    assert s.class_names[0][0] == "airplane"
    np.testing.assert_array_equal(s.test.x, batches["test_batch.bin"][0].astype(np.float32))


def test_cifar_bad_batch():
    with pytest.raises(DataError, match="not a multiple of the 3073-byte record"):
        parse_cifar_batch(b"\0" * 3000, "x.bin")
    rec = bytearray(3073)
    rec[0] = 12
    with pytest.raises(DataError, match="record 0 has label 12"):
        parse_cifar_batch(bytes(rec), "x.bin")
    with pytest.raises(DataError, match="is not a multiple"):
        parse_cifar_batch(io.BytesIO().getvalue(), "empty.bin")
