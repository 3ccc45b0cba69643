"""Hostile cases, families 1 (overwrites), 2 (paths outside the project), 4 (hangs) and
7 (downloads directed by a project file)."""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np

from . import make
from .runner import Case

FORMATS = ("python", "onnx", "torchscript", "weights")


def _project_with_weights(folder: Path) -> Path:
    return make.project(folder, weights=True)


def _loads_with_weights(folder: Path, result) -> str | None:
    from engine.project import load_project
    try:
        if not load_project(folder / "p.nnproj").graph.weights:
            return "the project lost its weights"
    except Exception as exc:  # noqa: BLE001
        return f"the project no longer opens: {exc}"
    return None


def _train_worse(f: Path, lr: str) -> list[str]:
    """A project with trained weights, trained again with a learning rate that ruins them."""
    from .cases_training import _train
    path = make.project(f, training={"epochs": 30, "optimizer": {"name": "sgd", "lr": 0.1}})
    _train(path)
    return ["train", str(path), "--lr", lr, "--epochs", "1"]


def _kept_weights(folder: Path, result) -> str | None:
    if "kept the project's weights" not in result.err:
        return f"no note that the project's weights were kept: {result.err[-600:]!r}"
    return None


def _untrained_weights(folder: Path) -> Path:
    """A project whose saved weights are all zero (every class equally likely)."""
    from engine.project import load_project, save_project
    project = load_project(make.project(folder, weights=True))
    project.graph.weights = {n: {k: np.zeros_like(v) for k, v in t.items()}
                             for n, t in project.graph.weights.items()}
    return save_project(project)


def _replaced_weights(folder: Path, result) -> str | None:
    """The run's weights were saved, the random ones they replaced kept as the previous."""
    from engine.project import load_project, load_weights
    saved = load_project(folder / "p.nnproj").graph.weights
    previous = load_weights(folder / "p.previous.safetensors")
    if "saved weights" not in result.err:
        return f"the weights were not saved: {result.err[-400:]!r}"
    if all(np.array_equal(saved[n][k], previous[n][k]) for n in previous for k in previous[n]):
        return "the saved weights are the old ones"
    return None


def family1() -> list[Case]:
    cases = [Case(1, "export-weights-default-output", lambda f: [
        "export", str(_project_with_weights(f)), "--format", "weights"], expect="ok",
        outputs=("p.state_dict.safetensors", ".p.state_dict.safetensors.*"),
        check=_loads_with_weights)]
    for fmt in FORMATS:
        for target, words in (("p.nnproj", ("p.nnproj", "project file")),
                              ("p.safetensors", ("p.safetensors", "weights"))):
            for force in ([], ["--force"]):
                cases.append(Case(1, f"export-{fmt}-over-{target}{'-force' if force else ''}",
                                  lambda f, fmt=fmt, t=target, force=force: [
                                      "export", str(_project_with_weights(f)), "--format", fmt,
                                      "-o", str(f / t), *force], words=words))

    def existing(f: Path, force=()):
        (f / "model.py").write_text("# mine\n")
        return ["export", str(make.project(f)), "-o", str(f / "model.py"), *force]

    cases += [
        Case(1, "export-over-an-existing-file", existing, words=("model.py", "--force")),
        Case(1, "export-over-an-existing-file-force", lambda f: existing(f, ["--force"]),
             expect="ok", outputs=("model.py", ".model.py.*")),
        Case(1, "export-into-a-folder", lambda f: [
            "export", str(make.project(f)), "-o", str(f)], words=("folder",)),
        Case(1, "export-into-a-missing-folder", lambda f: [
            "export", str(make.project(f)), "-o", str(f / "no" / "model.py")],
            words=("does not exist",)),
        Case(1, "new-over-an-existing-project", lambda f: [
            "new", str(_project_with_weights(f))], words=("p.nnproj", "--force")),
        Case(1, "new-example-over-existing-weights", lambda f: [
            "new", "--example", "xor_mlp", str(_existing_weights_only(f))],
            words=("p.safetensors", "--force")),
        Case(1, "import-over-an-existing-project", lambda f: _import(f, "p.nnproj"),
             words=("p.nnproj", "--force")),
        Case(1, "import-beside-foreign-weights", lambda f: _import(f, "q.nnproj"),
             words=("q.safetensors", "--force")),
        Case(1, "train-worse-keeps-the-project-weights", lambda f: _train_worse(f, "30"),
             expect="ok", outputs=("p.runs/*",), check=_kept_weights),
        Case(1, "train-exploding-keeps-the-project-weights", lambda f: _train_worse(f, "1e8"),
             words=("p.nnproj",), outputs=("p.runs/*",)),
        Case(1, "train-better-replaces-and-keeps-the-previous", lambda f: [
            "train", str(_untrained_weights(f)), "--epochs", "3"], expect="ok",
            outputs=("p.runs/*", "p.nnproj", "p.safetensors", "p.previous.safetensors",
                     ".p.*"), check=_replaced_weights),
        Case(1, "train-worse-replace-weights", lambda f: [
            *_train_worse(f, "30"), "--replace-weights"], expect="ok",
            outputs=("p.runs/*", "p.nnproj", "p.safetensors", "p.previous.safetensors",
                     ".p.*")),
        Case(1, "train-log-over-an-existing-file", lambda f: [
            "train", str(make.project(f)), "--log-json", str(_file(f / "log.jsonl")),
            "--no-save"], words=("log.jsonl", "--force")),
    ]
    return cases


def _existing_weights_only(f: Path) -> Path:
    (f / "p.safetensors").write_bytes(b"someone else's weights")
    return f / "p.nnproj"


def _file(path: Path, text="keep me\n") -> Path:
    path.write_text(text)
    return path


NET = """from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)
"""


def _import(f: Path, target: str) -> list[str]:
    make.project(f, weights=True)
    (f / "q.safetensors").write_bytes(b"foreign")
    (f / "net.py").write_text(NET)
    return ["import", f"{f / 'net.py'}:Net", "--input-shape", "1,4", "-o", str(f / target)]


# -- family 2: data outside the project folder -------------------------------------------------

def _outside(f: Path) -> Path:
    out = f / "outside"
    out.mkdir(exist_ok=True)
    make.blobs(out)
    (out / "data.csv").write_text("a,b,label\n" + "".join(
        f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    return out


def _in_proj(f: Path, dataset: dict, command=("train",), extra=()) -> list[str]:
    proj = f / "proj"
    proj.mkdir(exist_ok=True)
    _outside(f)
    graph = make.mlp(in_dim=2 if dataset.get("source") == "csv" else 4,
                     out=2 if dataset.get("source") == "csv" else 3)
    path = make.project(proj, graph=graph, dataset={**dataset, "val_split": 0.25})
    return [*command, str(path), *extra]


def _link(f: Path, rel: str, target: Path) -> None:
    path = f / "proj" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)


def _images(root: Path, classes=("a", "b"), n=4) -> None:
    from PIL import Image
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray(np.full((8, 8), i * 20, np.uint8)).save(root / c / f"{i}.png")


def _image_case(f: Path, what: str) -> list[str]:
    proj = f / "proj"
    _images(proj / "imgs")
    _images(f / "outside" / "imgs", ("c",))
    if what == "class":
        os.symlink(f / "outside" / "imgs" / "c", proj / "imgs" / "c")
    else:
        os.symlink(f / "outside" / "imgs" / "c" / "0.png", proj / "imgs" / "a" / "evil.png")
    graph = make.mlp(in_dim=64, out=3)
    dataset = {"source": "image_folder", "path": "imgs", "image_size": [8, 8], "color": "L"}
    path = make.project(proj, graph=graph, dataset=dataset)
    return ["train", str(path)]


def family2() -> list[Case]:
    words = ("leaves the project folder",)
    npz = {"source": "npz"}
    cases = [
        Case(2, "tilde-dotdot", lambda f: _in_proj(f, {**npz, "path": "~/../outside/data.npz"}),
             words=("~/../outside/data.npz", *words)),
        Case(2, "dotdot", lambda f: _in_proj(f, {**npz, "path": "../outside/data.npz"}),
             words=("../outside/data.npz", *words)),
        Case(2, "absolute", lambda f: _in_proj(f, {**npz, "path": str(f / "outside/data.npz")}),
             words=words),
        Case(2, "etc-passwd-csv-train", lambda f: _in_proj(
            f, {"source": "csv", "path": "/etc/passwd", "header": False}), words=words),
        Case(2, "etc-passwd-python-export", lambda f: _in_proj(
            f, {"source": "csv", "path": "/etc/passwd", "header": False},
            ("export",), ["-o", str(f / "proj" / "m.py")]), words=words),
        Case(2, "symlinked-csv", lambda f: (_link(f, "d.csv", f / "outside" / "data.csv"),
                                            _in_proj(f, {"source": "csv", "path": "d.csv"}))[1],
             words=("d.csv", *words)),
        Case(2, "symlinked-folder-of-the-file", lambda f: (
            _link(f, "sub", f / "outside"),
            _in_proj(f, {**npz, "path": "sub/data.npz"}))[1], words=words),
        Case(2, "image-class-folder-symlink", lambda f: _image_case(f, "class"),
             words=("c", *words)),
        Case(2, "image-file-symlink", lambda f: _image_case(f, "file"),
             words=("evil.png", *words)),
        Case(2, "npy-y-path-outside", lambda f: _npy_outside_labels(f), words=("y_path", *words)),
        Case(2, "idx-labels-outside", lambda f: _idx_outside_labels(f),
             words=("labels_path", *words)),
        Case(2, "evaluate-outside", lambda f: _in_proj(f, {**npz, "path": "../outside/data.npz"},
                                                       ("evaluate",)), words=words),
        Case(2, "allowed-and-shown", lambda f: _in_proj(
            f, {**npz, "path": "../outside/data.npz"}, extra=["--allow-outside-data"]),
            expect="ok", outputs=("proj/*",), check=_shown),
    ]
    return cases


def _shown(folder: Path, result) -> str | None:
    if "reading data outside the project folder" not in result.err or \
            "outside/data.npz" not in result.err:
        return f"the outside path was not shown: {result.err[-400:]!r}"
    return None


def _npy_outside_labels(f: Path) -> list[str]:
    proj = f / "proj"
    proj.mkdir()
    np.save(proj / "x.npy", np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32))
    _outside(f)
    np.save(f / "outside" / "y.npy", np.arange(40) % 3)
    dataset = {"source": "npy", "path": "x.npy", "y_path": "../outside/y.npy"}
    return ["train", str(make.project(proj, dataset=dataset))]


def _idx_outside_labels(f: Path) -> list[str]:
    proj = f / "proj"
    proj.mkdir()
    make.idx_file(proj / "x.idx", np.zeros((40, 2, 2), np.uint8))
    _outside(f)
    make.idx_file(f / "outside" / "y.idx", (np.arange(40) % 3).astype(np.uint8))
    dataset = {"source": "idx", "path": "x.idx", "labels_path": str(f / "outside" / "y.idx")}
    return ["train", str(make.project(proj, graph=make.mlp(in_dim=4), dataset=dataset))]


# -- family 4: hangs -----------------------------------------------------------------------------

def _fifo_project(f: Path) -> Path:
    return make.fifo(f / "p.nnproj")


def _fifo_data(f: Path, source: str) -> list[str]:
    name = {"csv": "d.csv", "npy": "d.npy", "npz": "d.npz", "idx": "d.idx"}[source]
    make.fifo(f / name)
    dataset = {"source": source, "path": name, "target": "label"}
    return ["train", str(make.project(f, dataset=dataset))]


def family4() -> list[Case]:
    cases = [Case(4, f"fifo-project-{cmd}", lambda f, cmd=cmd: [cmd, str(_fifo_project(f))],
                  words=("p.nnproj", "FIFO"))
             for cmd in ("validate", "summary", "train", "evaluate", "export")]
    cases += [Case(4, f"fifo-data-{src}", lambda f, s=src: _fifo_data(f, s), words=("FIFO",))
              for src in ("csv", "npy", "npz", "idx")]
    cases += [
        Case(4, "fifo-weights-file", lambda f: ["validate", str(_fifo_weights(f))],
             words=("p.safetensors", "FIFO")),
        Case(4, "fifo-init-weights", lambda f: [
            "train", str(make.project(f)), "--init-weights", str(make.fifo(f / "w.pt"))],
            words=("w.pt", "FIFO")),
        Case(4, "fifo-log-json", lambda f: [
            "train", str(make.project(f)), "--log-json", str(make.fifo(f / "log.jsonl"))],
            words=("log.jsonl", "FIFO")),
        Case(4, "fifo-import-source", lambda f: [
            "import", f"{make.fifo(f / 'net.py')}:Net", "--input-shape", "1,4", "-o",
            str(f / "n.nnproj")], words=("net.py", "regular file")),
        Case(4, "epochs-10**18", lambda f: ["train", str(make.project(
            f, training={"epochs": 10**18}))], words=("p.nnproj", "training.epochs")),
        Case(4, "epochs-cli-10**18", lambda f: [
            "train", str(make.project(f)), "--epochs", str(10**18)],
            words=("training.epochs",)),
    ]
    return cases


def _fifo_weights(f: Path) -> Path:
    path = make.project(f, weights=True)
    (f / "p.safetensors").unlink()
    make.fifo(f / "p.safetensors")
    return path


# -- family 7: downloads -------------------------------------------------------------------------

def _download(f: Path, **options) -> list[str]:
    graph = make.mlp(in_dim=784, out=10)
    dataset = {"source": "download", "name": "mnist", **options}
    return ["train", str(make.project(f, graph=graph, dataset=dataset))]


def _no_passwd_checksum(folder: Path, result) -> str | None:
    try:
        digest = hashlib.md5(Path("/etc/passwd").read_bytes()).hexdigest()
    except OSError:
        return None
    return "the error shows /etc/passwd's checksum" if digest in result.err else None


def _no_part_files(folder: Path, result) -> str | None:
    parts = [p for p in folder.rglob("*.part")]
    return f"left {parts[0]}" if parts else None


def _stale_part(f: Path) -> list[str]:
    cache = f / "home" / ".cache" / "studio" / "datasets" / "mnist"
    cache.mkdir(parents=True)
    part = cache / "train-images-idx3-ubyte.gz.abc123.part"
    part.write_bytes(b"\0" * 1000)
    old = time.time() - 86400
    os.utime(part, (old, old))
    return _download(f, mirror="http://127.0.0.1:9/")


def _oversized_mirror(f: Path) -> list[str]:
    """The user's own mirror ($STUDIO_DATA_MIRROR, file:// allowed) serves a file larger than
    the dataset's known size: the download stops there."""
    mirror = f / "mirror"
    mirror.mkdir()
    with open(mirror / "train-images-idx3-ubyte.gz", "wb") as out:
        out.truncate(20 * 2**20)  # sparse, 20 MB (the real file has 9.9 MB)
    os.environ["STUDIO_DATA_MIRROR"] = mirror.as_uri() + "/"
    return _download(f)


def family7() -> list[Case]:
    cases = [
        Case(7, "file-mirror-etc-passwd", lambda f: _download(f, mirror="file:///etc/passwd#"),
             words=("mirror", "http"), check=_no_passwd_checksum),
        Case(7, "file-mirror-dev-zero", lambda f: _download(f, mirror="file:///dev/zero#"),
             words=("mirror",), check=_no_part_files),
        Case(7, "ftp-mirror", lambda f: _download(f, mirror="ftp://example.org/"),
             words=("mirror",)),
        Case(7, "mirror-not-text", lambda f: _download(f, mirror=["http://x/"]),
             words=("mirror",)),
        Case(7, "huge-mirror", lambda f: _download(f, mirror="http://" + "a" * 10**7),
             words=("mirror",)),
        Case(7, "absolute-cache-dir", lambda f: _download(f, cache_dir=str(f / "elsewhere")),
             words=("cache_dir",)),
        Case(7, "escaping-cache-dir", lambda f: _download(f, cache_dir="../../.."),
             words=("cache_dir",)),
        Case(7, "tilde-cache-dir", lambda f: _download(f, cache_dir="~/x"),
             words=("cache_dir",)),
        Case(7, "bad-timeout", lambda f: _download(f, timeout="soon"), words=("timeout",)),
        Case(7, "stale-part-file-removed", _stale_part, words=("download",),
             outputs=("home/.cache/*",), check=_no_part_files),
        Case(7, "user-mirror-sends-too-much", _oversized_mirror, words=("more than",),
             outputs=("home/.cache/*",), check=_no_part_files),
    ]
    return cases
