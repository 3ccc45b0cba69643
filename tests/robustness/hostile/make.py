"""Builders for hostile cases: small projects, data files, special files, archives."""
from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from pathlib import Path

import numpy as np

from engine.graph import Graph
from engine.project import Project, save_project


def mlp(names=("fc1", "act", "fc2"), in_dim=4, out=3, hidden=8) -> Graph:
    """Input -> Linear -> Tanh -> Linear -> Output with the given node names."""
    g = Graph()
    prev = g.add_node("io.Input", {"shape": [in_dim]}, name="x")
    kinds = [("core.Linear", {"out_features": hidden}), ("act.Tanh", {}),
             ("core.Linear", {"out_features": out})]
    for (kind, params), name in zip(kinds, names):
        node = g.add_node(kind, params, name=name)
        g.connect(prev.id, "out", node.id, "in")
        prev = node
    y = g.add_node("io.Output", {}, name="y")
    g.connect(prev.id, "out", y.id, "in")
    return g


def blobs(folder: Path, name="data.npz", n=60, in_dim=4, classes=3, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = (rng.normal(0, 3, (classes, in_dim))[y] + rng.normal(0, 0.5, (n, in_dim)))
    np.savez(folder / name, x=x.astype(np.float32), y=y.astype(np.int64))
    return folder / name


def project(folder: Path, name="p", graph: Graph | None = None, dataset=None, training=None,
            weights: bool = False) -> Path:
    """A saved project `name`.nnproj in `folder` (on blobs in data.npz by default)."""
    if dataset is None:
        blobs(folder)
        dataset = {"source": "npz", "path": "data.npz", "val_split": 0.25}
    graph = graph or mlp()
    if weights:
        rng = np.random.default_rng(1)
        graph.weights = {}
        from engine import compile_graph
        for nid, tensors in _shapes(graph).items():
            graph.weights[nid] = {k: rng.normal(size=s).astype(np.float32)
                                  for k, s in tensors.items()}
        del compile_graph
    training = {"epochs": 1, "batch_size": 16, **(training or {})}
    return save_project(Project(graph, dataset, training, meta={"name": name}),
                        folder / f"{name}.nnproj")


def _shapes(graph: Graph) -> dict:
    from engine import compile_graph
    from engine.compile import node_state
    return {nid: {k: tuple(v.shape) for k, v in t.items()}
            for nid, t in node_state(compile_graph(graph)).items()}


def edit_json(path: Path, fn) -> Path:
    """Apply `fn(data)` to a project file's JSON (written back without checks)."""
    data = json.loads(path.read_text("utf-8"))
    fn(data)
    path.write_text(json.dumps(data), "utf-8")
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def zip_bomb_npz(path: Path, rows: int = 100_000, cols: int = 1000) -> Path:
    """An .npz whose x.npy member declares rows x cols float32 (400 MB) in its header and in
    the zip directory, in a few hundred bytes on disk."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (rows, cols)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", header.getvalue() + b"\0" * 4096)
        z.writestr("y.npy", _npy_bytes(np.zeros(rows, np.int64)))
    return patch_zip_size(path, "x.npy", len(header.getvalue()) + rows * cols * 4)


def patch_zip_size(path: Path, member: str, size: int) -> Path:
    """Make the zip directory (local and central headers) declare `size` bytes for `member`."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        offset = z.getinfo(member).header_offset
    data[offset + 22:offset + 26] = struct.pack("<I", min(size, 0xFFFF_FFFE))
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        name_len = struct.unpack("<H", data[pos + 28:pos + 30])[0]
        if data[pos + 46:pos + 46 + name_len] == member.encode():
            data[pos + 24:pos + 28] = struct.pack("<I", min(size, 0xFFFF_FFFE))
        pos = data.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(data))
    return path


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def npz_members(path: Path, arrays: dict) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for key, arr in arrays.items():
            z.writestr(f"{key}.npy", _npy_bytes(arr))
    return path


def lying_npy(path: Path, shape, descr="<f4") -> Path:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False,
                                                  "shape": tuple(shape)})
    path.write_bytes(header.getvalue() + b"\0" * 64)
    return path


def torch_zip_bomb(path: Path, declared: int = 0xF000_0000) -> Path:
    """A torch.save zip archive whose tensor storage entry declares `declared` bytes (3.75 GB)
    in the zip directory (the bytes are not there: readers that trust the directory allocate
    before they find out)."""
    import torch

    torch.save({"fc1.weight": torch.zeros(8, 4)}, path)
    with zipfile.ZipFile(path) as z:
        entry = next(i.filename for i in z.infolist()
                     if "/data/" in i.filename and i.filename.rsplit("/", 1)[-1].isdigit())
    return patch_zip_size(path, entry, declared)


def idx_file(path: Path, array: np.ndarray) -> Path:
    from engine.data.idx import write_idx
    write_idx(path, array)
    return path


def safetensors_header_only(path: Path, shape) -> Path:
    """A safetensors file whose header declares a huge tensor that is not there."""
    header = json.dumps({"n1/weight": {"dtype": "F32", "shape": list(shape),
                                       "data_offsets": [0, 4 * int(np.prod(shape))]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    return path
