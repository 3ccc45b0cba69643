"""Weights: downloads against a local server only (127.0.0.1), the hash in the file name
checked, the cache used, the offline sentence, local files, new projects from the gallery."""
import hashlib
import http.server
import io
import threading
import typing

import numpy as np
import pytest
import torch

from engine import compile_graph
from engine.pretrained import PretrainedError, get, new_project
from engine.pretrained.weights import fetch, hash_prefix, weights_dir

from ...mnist_cache import offline_mirror
from . import reference


class _Files(http.server.BaseHTTPRequestHandler):
    files: typing.ClassVar[dict] = {}
    hits: typing.ClassVar[list] = []

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        self.hits.append(name)
        data = self.files.get(name)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    handler = type("Handler", (_Files,), {"files": {}, "hits": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield handler, f"http://127.0.0.1:{httpd.server_address[1]}/models/"
    httpd.shutdown()
    httpd.server_close()


def _pth(state: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def test_download_checks_the_hash_in_the_name_and_caches(server, tmp_path):
    handler, base = server
    data = _pth({"w": torch.arange(4.0)})
    name = f"tiny-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    handler.files[name] = data
    path = fetch(base + name, "Tiny", folder=tmp_path)
    assert path == tmp_path / name and path.read_bytes() == data
    assert fetch(base + name, "Tiny", folder=tmp_path) == path
    assert handler.hits == [name]                      # the second time from the cache
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_hash_mismatch_is_refused_and_nothing_kept(server, tmp_path):
    handler, base = server
    handler.files["resnet18-f37072fd.pth"] = _pth({"w": torch.zeros(3)})
    with pytest.raises(PretrainedError, match=r"does not match the checksum in its name "
                       r"\(SHA-256 [0-9a-f]{8}\.\.\., expected f37072fd\.\.\.\)"):
        fetch(base + "resnet18-f37072fd.pth", "ResNet-18", folder=tmp_path)
    assert not list(tmp_path.iterdir())


def test_offline_one_sentence_says_which_file_to_put_where(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_WEIGHTS_DIR", str(tmp_path / "cache"))
    url = offline_mirror() + "models/resnet18-f37072fd.pth"
    monkeypatch.setenv("STUDIO_WEIGHTS_MIRROR", url.rsplit("/", 1)[0])
    with pytest.raises(PretrainedError) as err:
        new_project("resnet18")
    msg = str(err.value)
    assert msg == (f"No network connection: to use the ResNet-18 weights, download {url} and "
                   f"put it in {tmp_path / 'cache'}/ (or choose a local weights file).")
    assert msg.count(". ") == 0 and not list((tmp_path / "cache").glob("*"))


def test_weights_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STUDIO_WEIGHTS_DIR", str(tmp_path))
    assert weights_dir() == tmp_path
    monkeypatch.delenv("STUDIO_WEIGHTS_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert weights_dir() == tmp_path / "xdg" / "studio" / "weights"
    assert hash_prefix("efficientnet_b0_rwightman-7f5810bc.pth") == "7f5810bc"
    assert get("resnet18").url == "https://download.pytorch.org/models/resnet18-f37072fd.pth"


def test_new_project_from_a_local_torchvision_file(tmp_path):
    state = reference.randomized_state(reference.make("resnet18"), seed=5)
    path = tmp_path / "resnet18-local.pth"
    torch.save(state, path)
    project = new_project("resnet18", classes=5, weights=path)
    graph = project.graph
    fc = graph.by_name("fc")
    assert fc.params["out_features"] == 5 and fc.id not in graph.weights
    assert project.meta["pretrained"] == {"network": "resnet18", "weights": path.name}
    assert project.dataset["image_size"] == [224, 224] and project.dataset["color"] == "RGB"
    model = compile_graph(graph)
    got = model.state_dict()
    for key, value in state.items():
        if not key.startswith("fc."):
            assert torch.equal(got[key], value), key
    assert got["fc.weight"].shape == (5, 512)


def test_a_pickled_object_is_never_loaded(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"conv1.weight": np.array([1.0]), "x": _Evil()}, path)
    with pytest.raises(PretrainedError, match="evil.pth"):
        new_project("resnet18", weights=path)


class _Evil:
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_missing_local_file(tmp_path):
    with pytest.raises(PretrainedError, match="not found"):
        new_project("resnet18", weights=tmp_path / "nope.pth")
