"""MNIST, Fashion-MNIST and CIFAR-10: downloaded once into a cache folder, checksum verified.

The cache folder is the user's: $STUDIO_DATA_DIR, else $XDG_CACHE_HOME/studio/datasets (by
default ~/.cache/studio/datasets); each dataset gets a sub-folder. A project file may name a
sub-folder of it ("cache_dir"), never a folder elsewhere. Files are written to a temporary
`.part` name and renamed only after their MD5 matches the published one, so a cut connection
never leaves a half file behind (a killed download's `.part` file is removed by the next one).
A download stops at the file's known size. "mirror" (an http(s) base URL) replaces the
built-in download locations; $STUDIO_DATA_MIRROR, set by the user, overrides both and may be
any URL (e.g. file:// for a local copy). CIFAR-10 is read from its binary archive (never the
pickled "python" version).
"""
from __future__ import annotations

import hashlib
import os
import socket
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

from ..guard.text import quote
from .base import DataError, RawData, Target, dataset_budget_mb
from .files import idx_raw
from .idx import check_budget, parse_cifar_batch

CACHE_ENV = "STUDIO_DATA_DIR"
MIRROR_ENV = "STUDIO_DATA_MIRROR"
CHUNK = 1 << 20
DEFAULT_TIMEOUT = 15.0
MAX_TIMEOUT = 600.0
DEFAULT_MAX_BYTES = 256 * 2**20   # a file of unknown size may not be larger
STALE_PART_S = 120.0              # a .part file untouched this long belongs to a killed download

# the published sizes of the files (a download never takes more)
SIZES = {"mnist": {"train-images-idx3-ubyte.gz": 9912422, "train-labels-idx1-ubyte.gz": 28881,
                   "t10k-images-idx3-ubyte.gz": 1648877, "t10k-labels-idx1-ubyte.gz": 4542},
         "fashion_mnist": {"train-images-idx3-ubyte.gz": 26421880,
                           "train-labels-idx1-ubyte.gz": 29515,
                           "t10k-images-idx3-ubyte.gz": 4422102,
                           "t10k-labels-idx1-ubyte.gz": 5148},
         "cifar10": {"cifar-10-binary.tar.gz": 170052171}}

_MNIST_FILES = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
_FASHION_FILES = {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                  "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                  "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                  "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}
_FASHION_GITHUB = ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                   "data/fashion/")

RESOURCES: dict[str, dict] = {
    "mnist": {"title": "MNIST", "files": _MNIST_FILES,
              "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                          "http://yann.lecun.com/exdb/mnist/"],
              "classes": [str(i) for i in range(10)]},
    "fashion_mnist": {"title": "Fashion-MNIST", "files": _FASHION_FILES,
                      "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                                  _FASHION_GITHUB],
                      "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]},
    "cifar10": {"title": "CIFAR-10",
                "files": {"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"},
                "mirrors": ["https://www.cs.toronto.edu/~kriz/"],
                "classes": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                            "horse", "ship", "truck"]},
}


def user_cache_dir() -> Path:
    """The user's dataset cache: $STUDIO_DATA_DIR, else $XDG_CACHE_HOME/studio/datasets
    (~/.cache/studio/datasets)."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "studio" / "datasets"


def cache_dir(config: dict | None = None) -> Path:
    """Where downloaded datasets are kept: the user's cache folder, or the sub-folder of it
    the dataset option "cache_dir" names (a project file cannot make Studio create folders
    anywhere else). Raises DataError."""
    base = user_cache_dir()
    sub = (config or {}).get("cache_dir")
    if sub in (None, ""):
        return base
    if not isinstance(sub, str) or "\x00" in sub or len(sub) > 200:
        raise DataError(f"dataset option 'cache_dir' must be a folder name, found "
                        f"{quote(sub)}")
    real_base = Path(os.path.realpath(base))
    full = Path(os.path.realpath(real_base / sub))
    if Path(sub).is_absolute() or sub.startswith("~") or not (
            full == real_base or real_base in full.parents):
        raise DataError(f"dataset option 'cache_dir' {quote(sub)} leaves the cache folder "
                        f"{base}: a project may only name a sub-folder of it (set "
                        f"${CACHE_ENV} to move the cache)")
    return full


def mirrors(name: str, config: dict) -> list[str]:
    """Base URLs to try: the user's $STUDIO_DATA_MIRROR, else the dataset option "mirror"
    (http or https only: a project file cannot make Studio read local files), else the
    built-in ones."""
    user = os.environ.get(MIRROR_ENV)
    mirror = user or config.get("mirror")
    if not mirror:
        return list(RESOURCES[name]["mirrors"])
    if not isinstance(mirror, str) or len(mirror) > 2000:
        raise DataError(f"dataset option 'mirror' must be an http(s) URL, found "
                        f"{quote(mirror)}")
    if not user:
        parts = urllib.parse.urlsplit(mirror)
        if parts.scheme not in ("http", "https") or not parts.netloc or \
                any(c in mirror for c in "\x00\r\n "):
            raise DataError(f"dataset option 'mirror' must be an http:// or https:// URL, "
                            f"found {quote(mirror)} (set ${MIRROR_ENV} for a local copy)")
    return [mirror if mirror.endswith("/") else mirror + "/"]


def _timeout(config: dict) -> float:
    value = config.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not 0 < value <= MAX_TIMEOUT:
        raise DataError(f"dataset option 'timeout' must be a number of seconds in "
                        f"(0, {MAX_TIMEOUT:g}], found {quote(value)}")
    return float(value)


def load_download(name: str, config: dict) -> RawData:
    """Download (once) and read mnist, fashion_mnist or cifar10 with their own test sets."""
    if name not in RESOURCES:
        raise DataError(f"unknown downloadable dataset {quote(name)}; choose one of "
                        f"{', '.join(RESOURCES)}")
    paths = fetch(name, config)
    budget = dataset_budget_mb(config)
    classes = RESOURCES[name]["classes"]
    if name == "cifar10":
        return _cifar_raw(paths["cifar-10-binary.tar.gz"], classes, budget)
    raw = idx_raw(paths["train-images-idx3-ubyte.gz"], paths["train-labels-idx1-ubyte.gz"],
                  budget, classes)
    raw.test = idx_raw(paths["t10k-images-idx3-ubyte.gz"], paths["t10k-labels-idx1-ubyte.gz"],
                       budget, classes)
    title = RESOURCES[name]["title"]
    raw.description = f"{title}: {len(raw.x)} training and {len(raw.test.x)} test images"
    return raw


def missing_files(name: str, config: dict | None = None) -> list[str]:
    """The files of dataset `name` not yet in the cache (a cheap look: their checksums are
    checked when the dataset is read). Raises DataError for a bad "cache_dir"."""
    folder = cache_dir(config) / name
    return [f for f in RESOURCES[name]["files"] if not (folder / f).is_file()]


def download_size_mb(name: str) -> float:
    """The published size of all of a dataset's files, in MB."""
    return sum(SIZES.get(name, {}).values()) / 2**20


def fetch(name: str, config: dict | None = None) -> dict[str, Path]:
    """Make sure every file of dataset `name` is in the cache with the right checksum;
    download what is missing. Returns {file name: path}."""
    config = config or {}
    res = RESOURCES[name]
    folder = cache_dir(config) / name
    bases = mirrors(name, config)
    timeout = _timeout(config)
    paths = {}
    for fname, md5 in res["files"].items():
        path = folder / fname
        if not (path.is_file() and file_md5(path) == md5):
            size = SIZES.get(name, {}).get(fname, DEFAULT_MAX_BYTES)
            _download_any(res["title"], [m + fname for m in bases], path, md5, timeout,
                          folder, list(res["files"]), size)
        paths[fname] = path
    return paths


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_any(title, urls, path, md5, timeout, folder, names, max_bytes) -> None:
    first = None
    for url in urls:
        try:
            download_file(url, path, md5, timeout, title, max_bytes)
            return
        except DataError as exc:
            first = first or exc
            if getattr(exc, "offline", False):
                break                      # no network: the other mirrors will fail too
    by_hand = (f"Download the files by hand into {folder} ({', '.join(names)}; the source "
               f"is {urls[0].rsplit('/', 1)[0]}/)")
    raise DataError(f"{first} {by_hand}") from None


def download_file(url: str, path: Path, md5: str | None, timeout: float = DEFAULT_TIMEOUT,
                  what: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Download `url` to `path` atomically (temporary file, then rename) and check its MD5;
    at most `max_bytes` are read. Raises DataError ("could not download ... from <url>:
    <reason>.")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    digest = hashlib.md5(usedforsecurity=False)
    what = what or path.name
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            declared = resp.headers.get("Content-Length") if resp.headers else None
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise DataError(f"could not download {what} from {url}: the server offers "
                                f"{int(declared):,} bytes, more than the {max_bytes:,} the "
                                "file has.")
            got = 0
            for block in iter(lambda: resp.read(CHUNK), b""):
                got += len(block)
                if got > max_bytes:
                    raise DataError(f"could not download {what} from {url}: it sent more "
                                    f"than the {max_bytes:,} bytes the file has.")
                digest.update(block)
                out.write(block)
        if md5 is not None and digest.hexdigest() != md5:
            raise DataError(f"could not download {what} from {url}: the checksum does not "
                            f"match (MD5 {digest.hexdigest()}, expected {md5}).")
        os.replace(tmp, path)
    except DataError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        err = DataError(f"could not download {what} from {url}: {_reason(exc)}.")
        err.offline = _is_offline(exc)
        raise err from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove_stale_parts(folder: Path, older_than: float = STALE_PART_S) -> None:
    """Delete `.part` files of downloads killed earlier (not touched for `older_than` s; a
    younger one may belong to a download in progress). Best effort."""
    try:
        parts = list(folder.glob("*.part"))
    except OSError:
        return
    for part in parts:
        try:
            st = part.lstat()
            if time.time() - st.st_mtime >= older_than:
                part.unlink()
        except OSError:
            pass


def _reason(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"the server answered {exc.code} {exc.reason}"
    if isinstance(getattr(exc, "reason", exc), TimeoutError):
        return "no network connection (the connection timed out)"
    if _is_offline(exc):
        inner = getattr(exc, "reason", exc)
        return f"no network connection ({getattr(inner, 'strerror', None) or inner})"
    return str(getattr(exc, "reason", exc))


def _is_offline(exc: Exception) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return False
    inner = getattr(exc, "reason", exc)
    return isinstance(inner, (ConnectionError, socket.gaierror, TimeoutError)) or \
        getattr(inner, "errno", None) in (101, 113, 111)   # unreachable, no route, refused


def _cifar_raw(archive: Path, classes: list[str], budget: float) -> RawData:
    check_budget(60000 * 3072 * 4, budget, "CIFAR-10")
    parts: dict[str, tuple] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and (base.startswith("data_batch_") or
                                        base == "test_batch.bin"):
                    data = tar.extractfile(member).read()
                    parts[base] = parse_cifar_batch(data, base)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"{archive.name} could not be read: {exc}") from None
    train = [parts[k] for k in sorted(parts) if k.startswith("data_batch_")]
    if not train or "test_batch.bin" not in parts:
        raise DataError(f"{archive.name} does not hold the CIFAR-10 binary batches")
    return cifar_raw(train, parts["test_batch.bin"], classes)


def cifar_raw(train: list[tuple], test: tuple, classes: list[str]) -> RawData:
    """RawData from parsed CIFAR batches [(images, labels), ...] and the test batch."""
    x = np.concatenate([b[0] for b in train]).astype(np.float32)
    y = np.concatenate([b[1] for b in train])
    raw = RawData(x, {"label": Target(y, "classification", 10, classes)},
                  description=f"CIFAR-10: {len(x)} training and {len(test[0])} test images")
    raw.test = RawData(test[0].astype(np.float32),
                       {"label": Target(test[1], "classification", 10, classes)})
    return raw
