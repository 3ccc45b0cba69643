"""A generated MNIST for machines without the real one (tests, the bench, screenshots).

The images are scikit-learn's 8x8 digits scaled up to MNIST's 28x28 (each pixel a 3x3 block,
a 2-pixel border; 0..16 becomes 0..255), written as MNIST's four gzipped IDX files. Their
checksums are not the published ones, so `install` also puts the generated files' MD5s in
place of the published ones, in this process only: the checks Studio runs on a real user's
cache (and the exported script's, which embeds the MD5s at export) stay as they are.
"""
from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import numpy as np

from engine.data import download
from engine.data.idx import write_idx

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def digits_28(start: int = 0, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scikit-learn's digits [start:start+count] as uint8 28x28 images, and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    stop = None if count is None else start + count
    small = digits.images[start:stop]
    big = np.kron(small, np.ones((3, 3)))                    # 24x24
    big = np.pad(big, ((0, 0), (2, 2), (2, 2)))              # 28x28, like MNIST's border
    images = np.clip(np.rint(big * 255 / 16), 0, 255).astype(np.uint8)
    return images, digits.target[start:stop].astype(np.uint8)


def write_cache(folder: Path, train: int = 160, test: int = 40) -> dict[str, str]:
    """Write `folder`/mnist/ (train + test images from the digits); {file: MD5}."""
    target = Path(folder) / "mnist"
    target.mkdir(parents=True, exist_ok=True)
    x, y = digits_28(0, train)
    tx, ty = digits_28(train, test)
    for name, array in zip(FILES, (x, y, tx, ty)):
        write_idx(target / name, array)
    return {name: hashlib.md5((target / name).read_bytes(), usedforsecurity=False).hexdigest()
            for name in FILES}


def install(folder: Path, sums: dict[str, str]) -> dict:
    """Point $STUDIO_DATA_DIR at `folder` and take `sums` as MNIST's checksums; returns what
    `restore` needs."""
    saved = {"env": os.environ.get(download.CACHE_ENV),
             "files": download.RESOURCES["mnist"]["files"]}
    os.environ[download.CACHE_ENV] = str(folder)
    download.RESOURCES["mnist"]["files"] = dict(sums)
    return saved


def restore(saved: dict) -> None:
    download.RESOURCES["mnist"]["files"] = saved["files"]
    if saved["env"] is None:
        os.environ.pop(download.CACHE_ENV, None)
    else:
        os.environ[download.CACHE_ENV] = saved["env"]


def offline_mirror() -> str:
    """An http URL where nothing listens (a download from it fails at once, as offline)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/"
