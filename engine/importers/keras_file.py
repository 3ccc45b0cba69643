"""Reading Keras model files with json and h5py only: no Keras, no TensorFlow, nothing run.

- `.keras` (Keras 3): a zip of config.json (the architecture), metadata.json and
  model.weights.h5, whose groups `layers/<snake_case class name[_n]>/vars/<i>` hold each
  layer's variables in creation order (nested: `.../cell/vars`, `forward_layer/...`).
- legacy `.h5` (Keras 2, and Keras 3's `model.save("x.h5")`): HDF5 with a `model_config`
  attribute and `model_weights/<layer name>` groups listing their datasets in `weight_names`.

`KerasModel.weights(layer)` gives a layer's arrays in Keras' variable order for either format.
Like Keras' safe_mode, a Lambda layer (Python code) or a custom object is refused by name.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .model_file import ModelFileError, budget_bytes, check_declared, check_regular

_CODE_LAYERS = {"Lambda", "TFOpLambda", "SlicingOpLambda"}


def snake_case(name: str) -> str:
    """Keras' own name for a layer class in the weights file ('Conv2D' -> 'conv2d')."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


@dataclass
class KerasModel:
    """A Keras model file's architecture (`config`) and weight arrays."""

    path: Path
    config: dict
    keras_version: str
    _h5: object = None
    _legacy: bool = False
    _keys: dict = field(default_factory=dict)   # layer name -> weights-file group key

    def weights(self, layer: dict) -> list:
        """The numpy arrays of `layer` (a config entry) in Keras' variable order."""
        name = layer["config"].get("name", "")
        if self._legacy:
            group = self._node(self._h5, "model_weights") or self._h5
            g = self._node(group, name)
            if g is None:
                return []
            names = [n.decode() if isinstance(n, bytes) else str(n)
                     for n in g.attrs.get("weight_names", [])]
            return [self._read(self._node(g, n), f"{name}/{n}") for n in names]
        key = self._keys.get(name)
        group = None if key is None else self._node(self._h5, f"layers/{key}")
        return [] if group is None else self._vars(group, name)

    def _vars(self, group, name: str) -> list:
        out = []
        vars_ = self._node(group, "vars")
        if vars_ is not None:
            items = sorted(vars_.keys(), key=lambda k: int(k) if k.isdigit() else 0)
            out += [self._read(self._node(vars_, k), f"{name}/{k}") for k in items]
        for sub in ("cell", "forward_layer", "backward_layer"):
            child = self._node(group, sub)
            if child is not None:
                out += self._vars(child, f"{name}/{sub}")
        return out

    def _node(self, group, path: str):
        """`group[path]`, or None when absent; a link to another file is refused (HDF5
        would open it: Studio reads the model file only)."""
        h5py = _h5py()
        node = group
        for part in (p for p in path.split("/") if p):
            if not isinstance(node, h5py.Group):
                return None
            link = node.get(part, getlink=True)
            if link is None:
                return None
            if isinstance(link, h5py.ExternalLink):
                raise ModelFileError(f"{self.path}: {path!r} links to another file "
                                     f"({link.filename}); Studio reads only the model file")
            node = node[part]
        return node

    def _read(self, dataset, what: str):
        import numpy as np

        h5py = _h5py()
        if not isinstance(dataset, h5py.Dataset):
            raise ModelFileError(f"{self.path}: weight {what!r} is missing or not an array "
                                 "(corrupt file)")
        if dataset.external or dataset.is_virtual:
            raise ModelFileError(f"{self.path}: weight {what!r} is stored outside the file "
                                 "(external or virtual dataset); Studio reads only the model "
                                 "file")
        check_declared(self.path, dataset.size * dataset.dtype.itemsize, f"weight {what!r}")
        try:
            return np.asarray(dataset[()], dtype=np.float32)
        except (OSError, ValueError, TypeError) as exc:
            raise ModelFileError(f"{self.path}: weight {what!r} cannot be read ({exc}); the "
                                 "file is corrupt or truncated") from None

    def assign_keys(self, layers: list[dict]) -> None:
        """Name each layer as Keras' weights file does: snake_case class name, numbered."""
        used: dict[str, int] = {}
        for layer in layers:
            base = snake_case(layer.get("class_name", ""))
            n = used.get(base)
            used[base] = 0 if n is None else n + 1
            self._keys[layer["config"].get("name", "")] = base if n is None else f"{base}_{n + 1}"


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ModelFileError("importing Keras files needs h5py: pip install "
                             "'nn-studio[keras]'") from None
    return h5py


def _open_h5(path: Path, data: bytes | None = None, what: str = "Keras file"):
    h5py = _h5py()
    try:
        return h5py.File(io.BytesIO(data) if data is not None else path, "r")
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a readable {what} (corrupt or truncated: "
                             f"{str(exc)[:120]})") from None


def _json(path: Path, text, what: str) -> dict:
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ModelFileError(f"{path}: the {what} is not valid JSON (corrupt file)") from None
    if not isinstance(value, dict):
        raise ModelFileError(f"{path}: the {what} is not a JSON object")
    return value


def load_keras(path: str | Path) -> KerasModel:
    """Open a .keras or legacy .h5 model file (checked, nothing executed)."""
    path = Path(path)
    check_regular(path, "Keras file")
    if zipfile.is_zipfile(path):
        model = _load_zip(path)
    else:
        model = _load_legacy(path)
    check_safe(path, model.config)
    return model


def _load_zip(path: Path) -> KerasModel:
    try:
        zf = zipfile.ZipFile(path)
        members = {i.filename: i for i in zf.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ModelFileError(f"{path}: not a readable .keras file (corrupt zip)") from None
    total = sum(i.file_size for i in members.values())
    check_declared(path, total, "the zip's contents")
    if "config.json" not in members:
        raise ModelFileError(f"{path}: not a Keras model (no config.json inside)")

    def read(name: str) -> bytes:
        info = members[name]
        try:
            with zf.open(info) as f:
                data = f.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise ModelFileError(f"{path}: {name} inside cannot be read ({exc}); the file is "
                                 "corrupt or truncated") from None
        if len(data) > info.file_size:  # more than declared: a lying header
            raise ModelFileError(f"{path}: {name} inside is larger than declared")
        return data

    config = _json(path, read("config.json"), "config.json")
    check_safe(path, config)  # before anything else is read
    meta = _json(path, read("metadata.json"), "metadata.json") if "metadata.json" in members \
        else {}
    h5 = None
    if "model.weights.h5" in members:
        h5 = _open_h5(path, read("model.weights.h5"), "weights file (model.weights.h5)")
    model = KerasModel(path, config, str(meta.get("keras_version", "3")), h5, False)
    if h5 is None:
        raise ModelFileError(f"{path}: the .keras file holds no model.weights.h5")
    model.assign_keys(_config_layers(path, config))
    return model


def _load_legacy(path: Path) -> KerasModel:
    h5 = _open_h5(path)
    raw = h5.attrs.get("model_config")
    if raw is None:
        raise ModelFileError(f"{path}: an HDF5 file without 'model_config' (only weights?); "
                             "save the whole model (model.save) to import it")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if len(raw) > budget_bytes():
        raise ModelFileError(f"{path}: the model config is too large")
    config = _json(path, raw, "model_config")
    version = h5.attrs.get("keras_version", b"2")
    version = version.decode() if isinstance(version, bytes) else str(version)
    return KerasModel(path, config, version, h5, True)


def _config_layers(path: Path, config: dict) -> list[dict]:
    layers = config.get("config", {}).get("layers") if isinstance(config.get("config"), dict) \
        else None
    if not isinstance(layers, list) or not all(isinstance(x, dict) for x in layers):
        raise ModelFileError(f"{path}: the model config has no list of layers")
    return layers


def check_safe(path: Path, config: dict) -> None:
    """Refuse what Keras' safe_mode refuses: layers carrying Python code (Lambda) and custom
    objects (classes not from Keras itself), naming the first one found."""
    for obj in _objects(config):
        cls = obj.get("class_name")
        inner = obj.get("config") if isinstance(obj.get("config"), dict) else {}
        if not isinstance(cls, str):
            raise ModelFileError(f"{path}: the model config is malformed (a class_name that "
                                 "is not a string)")
        name = inner.get("name", "")
        shown = f" '{name}'" if isinstance(name, str) and name else ""
        if cls in _CODE_LAYERS or cls == "function" or "function_type" in inner:
            raise ModelFileError(f"{path}: the {cls} layer{shown} holds Python code; Studio "
                                 "never runs code from a model file (like Keras' safe_mode): "
                                 "replace it with built-in layers")
        module = obj.get("module")
        registered = obj.get("registered_name")
        if (module is not None and not str(module).startswith("keras")) or \
                (registered and registered != cls):
            raise ModelFileError(f"{path}: {cls}{shown} is a custom object "
                                 f"({registered or module}); Studio imports built-in Keras "
                                 "layers only")


def _objects(value):
    """Every dict with a class_name inside a config, depth first."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if "class_name" in v:
                yield v
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
