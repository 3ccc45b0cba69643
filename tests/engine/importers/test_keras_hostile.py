"""A Keras file may point HDF5 at other files (external links, external or virtual datasets):
Studio reads the model file only, and says so in one sentence naming the file."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from engine.importers import ModelFileError, import_keras

from .keras_helpers import keras, layers

h5py = pytest.importorskip("h5py")


def _dense(tmp_path, suffix: str):
    path = tmp_path / f"model{suffix}"
    keras.Sequential([keras.Input((4,)), layers.Dense(3, name="d")]).save(path)
    return path


def _secret(tmp_path):
    """Another HDF5 file beside the model, shaped like the layer's weights."""
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f.create_dataset("kernel", data=np.full((4, 3), 7, np.float32))
    return secret


def _first_weight(group) -> str:
    names = group.attrs["weight_names"]
    return names[0].decode() if isinstance(names[0], bytes) else str(names[0])


def test_legacy_h5_external_link_is_refused(tmp_path):
    path, secret = _dense(tmp_path, ".h5"), _secret(tmp_path)
    with h5py.File(path, "a") as f:
        g = f["model_weights/d"]
        name = _first_weight(g)
        del g[name]
        g[name] = h5py.ExternalLink(str(secret), "/kernel")
    with pytest.raises(ModelFileError, match=r"model\.h5: .*links to another file") as info:
        import_keras(path)
    assert "\n" not in str(info.value)


def test_legacy_h5_external_dataset_is_refused(tmp_path):
    path = _dense(tmp_path, ".h5")
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.full(12, 5, np.float32).tobytes())
    with h5py.File(path, "a") as f:
        g = f["model_weights/d"]
        name = _first_weight(g)
        del g[name]
        g.create_dataset(name, shape=(4, 3), dtype="f4", external=[(str(raw), 0, 48)])
    with pytest.raises(ModelFileError, match=r"model\.h5: weight .* stored outside the file"):
        import_keras(path)


def test_legacy_h5_virtual_dataset_is_refused(tmp_path):
    path, secret = _dense(tmp_path, ".h5"), _secret(tmp_path)
    with h5py.File(path, "a") as f:
        g = f["model_weights/d"]
        name = _first_weight(g)
        del g[name]
        layout = h5py.VirtualLayout(shape=(4, 3), dtype="f4")
        layout[:] = h5py.VirtualSource(str(secret), "kernel", shape=(4, 3))
        g.create_virtual_dataset(name, layout)
    with pytest.raises(ModelFileError, match=r"model\.h5: weight .* stored outside the file"):
        import_keras(path)


def test_keras_zip_weights_with_an_external_link_are_refused(tmp_path):
    path, secret = _dense(tmp_path, ".keras"), _secret(tmp_path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "a") as f:
        vars_ = f["layers/dense/vars"]
        del vars_["0"]
        vars_["0"] = h5py.ExternalLink(str(secret), "/kernel")
    members["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(ModelFileError, match=r"model\.keras: .*links to another file"):
        import_keras(path)


def test_deeply_nested_config_is_a_clear_error(tmp_path):
    path = tmp_path / "deep.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", "[" * 200_000)
    with pytest.raises(ModelFileError, match=r"deep\.keras: the config\.json is not valid"):
        import_keras(path)


def test_config_that_is_not_a_model_is_a_clear_error(tmp_path):
    path = tmp_path / "odd.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps({"class_name": "Sequential", "config": 3}))
        z.writestr("model.weights.h5", b"")
    with pytest.raises(ModelFileError, match=r"odd\.keras: "):
        import_keras(path)
