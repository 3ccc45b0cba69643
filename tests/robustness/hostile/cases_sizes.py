"""Hostile cases, families 3 (memory before any check), 5 (tracebacks instead of one
sentence) and 8 (project and weights saved as a pair, values checked before writing)."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from . import make
from .runner import Case


def _train_on(f: Path, dataset: dict, graph=None, extra=()) -> list[str]:
    return ["train", str(make.project(f, graph=graph or make.mlp(), dataset=dataset)),
            "--no-save", *extra]


def _csv_rows(f: Path, rows: int, classes: int) -> str:
    (f / "d.csv").write_text("a,b,label\n" + "".join(
        f"{i % 7},{i % 5},{i % classes}\n" for i in range(rows)))
    return "d.csv"


def _npz(f: Path, arrays: dict, sizes: dict | None = None) -> str:
    path = make.npz_members(f / "d.npz", arrays)
    for key, size in (sizes or {}).items():
        make.patch_zip_size(path, f"{key}.npy", size)
    return "d.npz"


def _lying_members(f: Path, shapes: dict) -> str:
    """An .npz whose members' headers (and zip sizes) declare `shapes` float32 arrays."""
    import io
    import zipfile
    with zipfile.ZipFile(f / "d.npz", "w", zipfile.ZIP_DEFLATED) as z:
        for key, shape in shapes.items():
            buf = io.BytesIO()
            np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False,
                                                       "shape": shape})
            z.writestr(f"{key}.npy", buf.getvalue() + b"\0" * 64)
    for key, shape in shapes.items():
        make.patch_zip_size(f / "d.npz", f"{key}.npy", int(np.prod(shape)) * 4 + 128)
    return "d.npz"


def _big_model(f: Path, layers: int) -> Path:
    from engine.graph import Graph
    g = Graph()
    prev = g.add_node("io.Input", {"shape": [1_000_000]}, name="x")
    for i in range(layers):
        node = g.add_node("core.Linear", {"out_features": 1_000_000}, name=f"fc{i}")
        g.connect(prev.id, "out", node.id, "in")
        prev = node
    y = g.add_node("io.Output", {}, name="y")
    g.connect(prev.id, "out", y.id, "in")
    return make.project(f, graph=g, dataset={"source": "synthetic", "name": "xor"})


def _zero_link(f: Path, name: str) -> Path:
    path = make.project(f, weights=name == "p.safetensors")
    target = f / name
    target.unlink(missing_ok=True)
    os.symlink("/dev/zero", target)
    return path


def family3() -> list[Case]:
    budget = ("memory budget",)
    return [
        Case(3, "npz-zip-bomb", lambda f: _train_on(
            f, {"source": "npz", "path": make.zip_bomb_npz(f / "bomb.npz").name}),
            words=("bomb.npz", *budget)),
        Case(3, "npz-members-together", lambda f: _train_on(f, {"source": "npz", "path":
             _lying_members(f, {"x": (40_000, 1_000), "z": (40_000, 1_000)})}),
            words=("d.npz", *budget)),
        Case(3, "npz-wide-string-labels", lambda f: _train_on(f, {"source": "npz", "path": _npz(
            f, {"x": np.zeros((10, 4), np.float32)}) and _wide_labels(f)}),
            words=("d.npz", *budget)),
        Case(3, "npy-4tb-header", lambda f: _train_on(f, {"source": "npy", "path": make.lying_npy(
            f / "d.npy", (10**9, 1000)).name}), words=("d.npy", *budget)),
        Case(3, "csv-text-max-len", lambda f: _train_on(f, {
            "source": "csv", "path": _csv_rows(f, 50, 2), "text_column": "a",
            "max_len": 10**8}), words=("d.csv", "max_len", *budget)),
        Case(3, "csv-one-hot-classes", lambda f: _train_on(f, {
            "source": "csv", "path": _csv_rows(f, 20_000, 20_000), "one_hot": True,
            "task": "classification", "features": ["a", "b"]}, make.mlp(in_dim=2)),
            words=("one-hot", *budget)),
        Case(3, "idx-label-2**31", lambda f: _train_on(f, {
            "source": "idx", "path": make.idx_file(f / "x.idx", np.zeros((4, 2, 2), np.uint8)).name,
            "labels_path": make.idx_file(f / "y.idx", np.array([0, 1, 2, 2**31 - 1],
                                                               np.int32)).name}),
            words=("y.idx", "classes")),
        Case(3, "budget-option-cannot-lift-the-check", lambda f: _train_on(f, {
            "source": "npy", "path": make.lying_npy(f / "d.npy", (10**9, 10**4)).name,
            "memory_budget_mb": 10**12}), words=("d.npy", *budget)),
        Case(3, "init-weights-torch-zip-bomb", lambda f: [
            "train", str(make.project(f)), "--init-weights",
            str(make.torch_zip_bomb(f / "w.pt")), "--no-save"], words=("w.pt", *budget)),
        Case(3, "init-weights-safetensors-header", lambda f: [
            "train", str(make.project(f)), "--init-weights",
            str(make.safetensors_header_only(f / "w.safetensors", (10**6, 10**5))),
            "--no-save"], words=("w.safetensors",)),
        Case(3, "project-symlink-to-dev-zero", lambda f: [
            "validate", str(_zero_link(f, "q.nnproj").with_name("q.nnproj"))],
            words=("q.nnproj", "device")),
        Case(3, "weights-symlink-to-dev-zero", lambda f: [
            "validate", str(_zero_link(f, "p.safetensors"))], words=("p.safetensors", "device")),
        Case(3, "weights-header-declares-terabytes", lambda f: [
            "validate", str(_lying_weights(f))], words=("p.safetensors",)),
        Case(3, "validate-1e12-parameters", lambda f: ["validate", str(_big_model(f, 1))],
             words=("parameters", "memory")),
        Case(3, "train-1e15-parameters", lambda f: ["train", str(_big_model(f, 1000))],
             words=("parameters", "memory")),
        Case(3, "cd_k-1e9", lambda f: ["train", str(make.project(
            f, training={"cd_k": 10**9}))], words=("training.cd_k",)),
        Case(3, "num_workers-48", lambda f: ["train", str(make.project(
            f, training={"num_workers": 48}))], words=("training.num_workers",)),
        Case(3, "batch-size-2**40", lambda f: ["train", str(make.project(
            f, training={"batch_size": 2**40}))], words=("training.batch_size",)),
        Case(3, "nproc-48", lambda f: ["train", str(make.project(f)), "--nproc", "48"],
             words=("--nproc",)),
    ]


def _wide_labels(f: Path) -> str:
    """x (10, 4) float32 and y declared as 10,000 strings of 100,000 characters (4 GB)."""
    import io
    import zipfile
    with zipfile.ZipFile(f / "d.npz", "a") as z:
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, {"descr": "<U100000", "fortran_order": False,
                                                   "shape": (10_000,)})
        z.writestr("y.npy", buf.getvalue() + b"\0" * 64)
    return "d.npz"


def _lying_weights(f: Path) -> Path:
    path = make.project(f, weights=True)
    make.safetensors_header_only(f / "p.safetensors", (10**6, 10**6))
    return path


# -- family 5: one sentence, never a traceback ----------------------------------------------------

def trained(f: Path) -> Path:
    """A project with one finished run (run-1, best and last checkpoints)."""
    from engine.project import load_project
    from engine.train.trainer import Trainer

    path = make.project(f)
    result = Trainer(load_project(path), "cpu").fit()
    assert result.status == "completed", result.error
    return path


def _damage(f: Path, how: str) -> list[str]:
    path = trained(f)
    best = f / "p.runs" / "run-1" / "best.safetensors"
    if how == "pickle":
        best.write_bytes(pickle.dumps({"n1/weight": [1, 2, 3]}))
    elif how == "truncated":
        best.write_bytes(best.read_bytes()[:50])
    elif how == "checksum":
        data = bytearray(best.read_bytes())
        data[-1] ^= 0xFF
        best.write_bytes(bytes(data))
    elif how == "state-file":
        (f / "p.runs" / "run-1" / "last.state.safetensors").write_bytes(b"\x80\x04junk")
        return ["evaluate", str(path), "--checkpoint", "last"]
    elif how == "json":
        (f / "p.runs" / "run-1" / "best.json").write_text("{not json")
    return ["evaluate", str(path)]


def _edit(f: Path, fn, command="train", extra=()) -> list[str]:
    path = make.edit_json(make.project(f), fn)
    return [command, str(path), *extra]


def _set(section: str, key: str, value):
    def fn(data):
        data[section][key] = value
    return fn


def _nested(depth: int):
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def _deep_extra(f: Path, depth: int = 900) -> list[str]:
    path = make.project(f)
    text = path.read_text("utf-8")
    deep = '{"a": ' * depth + "1" + "}" * depth
    path.write_text(text.replace('"dataset": {', f'"dataset": {{"extra": {deep}, ', 1), "utf-8")
    return ["validate", str(path)]


def _surrogate_name(f: Path) -> list[str]:
    path = make.project(f)
    text = path.read_text("utf-8").replace('"name": "fc1"', '"name": "fc\\ud800"', 1)
    path.write_text(text, "utf-8")
    return ["validate", str(path)]


def _huge_input(f: Path, fmt: str) -> list[str]:
    from engine.graph import Graph
    g = Graph()
    x = g.add_node("io.Input", {"shape": [10**9]}, name="x")
    y = g.add_node("io.Output", {}, name="y")
    if fmt == "weights":
        fc = g.add_node("core.Linear", {"out_features": 100}, name="fc")
        g.connect(x.id, "out", fc.id, "in")
        g.connect(fc.id, "out", y.id, "in")
    else:
        g.connect(x.id, "out", y.id, "in")
    path = make.project(f, graph=g, dataset={"source": "synthetic", "name": "xor"})
    return ["export", str(path), "--format", fmt, "-o", str(f / f"out.{fmt}")]


def family5() -> list[Case]:
    big = "x" * 10_000_000
    cases = [Case(5, f"evaluate-checkpoint-{how}", lambda f, h=how: _damage(f, h),
                  words=("run-1",))
             for how in ("pickle", "truncated", "checksum", "state-file", "json")]
    cases += [
        Case(5, "evaluate-without-runs", lambda f: ["evaluate", str(make.project(f))],
             words=("p.runs",)),
        Case(5, "log-json-is-a-folder", lambda f: [
            "train", str(make.project(f)), "--log-json", str(f), "--no-save"],
            words=("folder",)),
        Case(5, "log-json-in-a-missing-folder", lambda f: [
            "train", str(make.project(f)), "--log-json", str(f / "no" / "log.jsonl"),
            "--no-save"], words=("does not exist",)),
        Case(5, "import-input-shape-1e12", lambda f: (
            (f / "net.py").write_text("from torch import nn\nNet = nn.Identity\n"),
            ["import", f"{f / 'net.py'}:Net", "--input-shape", "1,1000000000000", "-o",
             str(f / "n.nnproj")])[1], words=("--input-shape", "memory budget")),
        Case(5, "import-input-shape-garbage", lambda f: [
            "import", f"{f / 'net.py'}:Net", "--input-shape", "1," + "9" * 5000, "-o",
            str(f / "n.nnproj")], words=("--input-shape",)),
        Case(5, "lr-10**400", lambda f: _edit(f, lambda d: d["training"].update(
            optimizer={"name": "adam", "lr": 10**400})), words=("training.optimizer.lr",)),
        Case(5, "seed-2**80", lambda f: _edit(f, _set("training", "seed", 2**80)),
             words=("training.seed",)),
        Case(5, "surrogate-in-a-node-name", _surrogate_name, words=("p.nnproj", "name")),
        Case(5, "csv-delimiter-two-characters", lambda f: _train_on(f, {
            "source": "csv", "path": _csv_rows(f, 20, 2), "delimiter": ";;"}),
            words=("delimiter",)),
        Case(5, "csv-delimiter-not-text", lambda f: _train_on(f, {
            "source": "csv", "path": _csv_rows(f, 20, 2), "delimiter": 5}),
            words=("delimiter",)),
        Case(5, "json-900-deep", _deep_extra, words=("p.nnproj", "nested")),
        Case(5, "onnx-input-1e9", lambda f: _huge_input(f, "onnx"), words=("memory",)),
        Case(5, "torchscript-input-1e9", lambda f: _huge_input(f, "torchscript"),
             expect="ok", outputs=("out.torchscript", ".out.torchscript.*")),
        Case(5, "weights-export-input-1e9", lambda f: _huge_input(f, "weights"),
             words=("parameters",)),
        Case(5, "10mb-dataset-source", lambda f: _edit(f, _set("dataset", "source", big)),
             words=("source",)),
        Case(5, "10mb-training-key", lambda f: _edit(f, _set("training", big, 1)),
             words=("training",)),
        Case(5, "10mb-node-type", lambda f: _edit(f, lambda d: d["graph"]["nodes"][1].update(
            type=big), "validate"), words=("p.nnproj", "type")),
        Case(5, "10mb-param-name", lambda f: _edit(f, lambda d: d["graph"]["nodes"][1][
            "params"].update({big: 1}), "validate"), words=("p.nnproj",)),
        Case(5, "10mb-device", lambda f: ["train", str(make.project(f)), "--device", big],
             words=("device",)),
        Case(5, "10mb-csv-column", lambda f: _train_on(f, {
            "source": "csv", "path": _csv_rows(f, 20, 2), "target": big}), words=("d.csv",)),
        Case(5, "export-run-is-the-root-folder", lambda f: [
            "export", str(make.project(f)), "--run", "/", "-o", str(f / "m.onnx"),
            "--format", "onnx"], words=("run",)),
    ]
    return cases


# -- family 8: a project is saved with its weights as one unit ------------------------------------

def _save_with(f: Path, mutate) -> object:
    from engine.project import load_project, save_project
    path = make.project(f, weights=True)

    def action():
        project = load_project(path)
        mutate(project)
        save_project(project)
    return action


def family8() -> list[Case]:
    def training(key, value):
        return lambda p: p.training.__setitem__(key, value)
    return [
        Case(8, "nan-setting", lambda f: _save_with(f, training("lr", float("nan"))),
             words=("training.lr",)),
        Case(8, "inf-setting", lambda f: _save_with(f, training("x", [1.0, float("inf")])),
             words=("training.x[1]",)),
        Case(8, "surrogate-in-meta", lambda f: _save_with(
            f, lambda p: p.meta.__setitem__("name", "a\ud800b")), words=("meta.name",)),
        Case(8, "surrogate-in-a-key", lambda f: _save_with(
            f, lambda p: p.dataset.__setitem__("k\udc80", 1)), words=("dataset",)),
        Case(8, "object-in-settings", lambda f: _save_with(
            f, lambda p: p.view.__setitem__("zoom", object())), words=("view.zoom",)),
        Case(8, "nested-too-deep", lambda f: _save_with(
            f, lambda p: p.dataset.__setitem__("extra", _nested(100))), words=("nested",)),
        Case(8, "huge-integer", lambda f: _save_with(
            f, lambda p: p.training.__setitem__("seed", 10**5000)), words=("training.seed",)),
        Case(8, "weights-that-cannot-be-saved", lambda f: _save_with(
            f, lambda p: p.graph.weights.__setitem__("n2", {"weight": np.array(["a"])})),
            words=("weights",)),
    ]
