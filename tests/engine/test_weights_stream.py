"""engine.weights_stream: a safetensors file read tensor by tensor equals safetensors' own
load, its digest is the file's SHA-256, and what safetensors refuses is refused with one
sentence naming the file."""
from __future__ import annotations

import hashlib
import json
import struct

import numpy as np
import pytest
from safetensors.numpy import load, save

from engine.project import ProjectError
from engine.weights_stream import read_safetensors


def _tensors():
    rng = np.random.default_rng(3)
    return {"a/weight": rng.standard_normal((5, 7)).astype(np.float32),
            "a/bias": rng.standard_normal(5).astype(np.float64),
            "b/count": np.array(4, dtype=np.int64),            # 0-d
            "b/empty": np.zeros((0, 3), dtype=np.float16),
            "c/mask": rng.integers(0, 2, (3, 2)).astype(bool),
            "c/ids": rng.integers(-9, 9, (4,)).astype(np.int8)}


def test_read_equals_safetensors_and_the_digest_is_the_files(tmp_path):
    path = tmp_path / "w.safetensors"
    path.write_bytes(save(_tensors(), metadata={"format": "studio-node-weights"}))
    seen = []
    got, digest = read_safetensors(path, lambda done, total: seen.append((done, total)))
    want = load(path.read_bytes())
    assert set(got) == set(want)
    for key, arr in want.items():
        assert got[key].dtype == arr.dtype and got[key].shape == arr.shape
        np.testing.assert_array_equal(got[key], arr)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    size = path.stat().st_size
    assert seen[-1] == (size, size) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def _file(header: dict, data: bytes) -> bytes:
    table = json.dumps(header).encode()
    return struct.pack("<Q", len(table)) + table + data


@pytest.mark.parametrize("blob, problem", [
    (b"\x01\x00", "ended early"),
    (_file({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4),
     "tensors hold 8 bytes, the file 4"),
    (_file({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
     "its shape needs 12 bytes"),
    (_file({"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8),
     "does not start where"),
    (_file({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
            "u": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
     "does not start where"),
    (_file({"t": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}, b"\0" * 2),
     "no dtype numpy can hold"),
    (_file({"t": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, b"\0" * 4),
     "bad shape"),
    (_file({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4),
     "bad shape"),
    (struct.pack("<Q", 10**12) + b"{}", "header length"),
    (struct.pack("<Q", 2) + b"[]", "not a table"),
])
def test_a_damaged_file_is_one_sentence_naming_it(tmp_path, blob, problem):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(blob)
    with pytest.raises(ProjectError) as err:
        read_safetensors(path)
    text = str(err.value)
    assert "bad.safetensors" in text and problem in text and "\n" not in text
    with pytest.raises(Exception):   # noqa: B017 - safetensors refuses them too
        load(blob)


def test_weights_written_in_blocks_are_safetensors_and_read_back(tmp_path):
    import torch

    from engine.project import save_weights
    from engine.weights_file import load_weights

    weights = {}
    for key, arr in _tensors().items():
        nid, _, name = key.partition("/")
        weights.setdefault(nid, {})[name] = arr
    weights["d"] = {"t": torch.arange(6, dtype=torch.float32).reshape(2, 3),
                    "big_endian": np.arange(3, dtype=">i4")}
    path = tmp_path / "w.safetensors"
    save_weights(path, weights)
    flat = load(path.read_bytes())         # safetensors' own reader
    back = load_weights(path)
    for nid, tensors in weights.items():
        for name, value in tensors.items():
            want = np.asarray(value)
            np.testing.assert_array_equal(flat[f"{nid}/{name}"], want)
            np.testing.assert_array_equal(back[nid][name], want)
            assert back[nid][name].shape == want.shape
