"""Files crafted to run code or to escape the project folder: nothing executes, nothing
escapes, and no code in the tree can unpickle."""
from __future__ import annotations

import ast
import io
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import pytest

from engine.examples import example_paths
from engine.project import Project, ProjectError, load_project, load_weights

ROOT = Path(__file__).resolve().parents[2]


class Payload:
    """Unpickling this creates the marker file (what an attacker's os.system would do)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "pwned"))


def project_with_weights(tmp_path: Path, payload: bytes) -> Path:
    path = tmp_path / "victim.nnproj"
    shutil.copyfile(example_paths()["xor_mlp"], path)
    path.with_suffix(".safetensors").write_bytes(payload)
    return path


def torch_save_bytes(obj) -> bytes:
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def test_the_payload_really_would_run(tmp_path):
    """Guard for the tests below: unpickling the payload does create the marker."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.read_text() == "pwned"


@pytest.mark.parametrize("kind", ["pickle", "torch_save", "zip_with_pickle", "header_lies"])
def test_a_pickle_payload_as_the_weights_file_never_runs(tmp_path, kind):
    marker = tmp_path / "ran"
    if kind == "pickle":
        payload = pickle.dumps({"n2/weight": Payload(marker)}, protocol=4)
    elif kind == "torch_save":
        payload = torch_save_bytes({"n2/weight": Payload(marker)})
    elif kind == "zip_with_pickle":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("archive/data.pkl", pickle.dumps(Payload(marker)))
        payload = buf.getvalue()
    else:  # a safetensors-looking header length followed by a pickle
        body = pickle.dumps(Payload(marker))
        payload = len(body).to_bytes(8, "little") + body
    path = project_with_weights(tmp_path, payload)
    with pytest.raises(ProjectError, match="not valid safetensors") as info:
        load_project(path)
    assert "victim.safetensors" in str(info.value)
    with pytest.raises(ProjectError):
        load_weights(path.with_suffix(".safetensors"))
    assert not marker.exists()
    assert load_project(path, weights=False).graph.nodes  # the project itself still opens


def test_init_weights_reader_refuses_a_pickle_payload(tmp_path):
    """The trainer's 'start from these weights' reader uses torch.load(weights_only=True)."""
    weights = pytest.importorskip("engine.train.weights")
    marker = tmp_path / "ran"
    path = tmp_path / "init.pt"
    path.write_bytes(torch_save_bytes({"fc.weight": Payload(marker)}))
    with pytest.raises(ValueError, match="weights-only"):
        weights.read_state_file(path)
    assert not marker.exists()


@pytest.mark.parametrize("rel", ["../secret.csv", "../../etc/passwd", "data/../../x.csv", "..",
                                 "a/b/../../../x", "./../x", "a\x00b", 5, None])
def test_data_paths_cannot_leave_the_project_folder(tmp_path, rel):
    project = Project(path=tmp_path / "proj" / "p.nnproj")
    with pytest.raises(ProjectError) as info:
        project.resolve_data_path(rel)
    assert info.value.field == "dataset.path"


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    folder = tmp_path / "proj"
    folder.mkdir()
    (tmp_path / "secret.csv").write_text("a,b\n1,2\n")
    os.symlink(tmp_path / "secret.csv", folder / "data.csv")
    os.symlink(folder / "loop", folder / "loop")
    project = Project(path=folder / "p.nnproj")
    with pytest.raises(ProjectError, match="leaves the project folder"):
        project.resolve_data_path("data.csv")
    with pytest.raises(ProjectError, match="not a usable path"):
        project.resolve_data_path("loop/x.csv")


def test_data_paths_inside_the_folder_resolve(tmp_path):
    project = Project(path=tmp_path / "p.nnproj")
    assert project.resolve_data_path("data/x.csv") == (tmp_path / "data" / "x.csv").resolve()
    assert project.resolve_data_path("data/../y.csv") == (tmp_path / "y.csv").resolve()


def test_the_data_loader_turns_a_hostile_path_into_a_data_error(tmp_path):
    files = pytest.importorskip("engine.data.files")
    from engine.data.base import DataError
    for rel in ("../../etc/passwd", "a\x00b"):
        with pytest.raises(DataError):
            files.resolve_path(rel, tmp_path)


# -- no unpickling anywhere in the tree ---------------------------------------------------------

SCANNED = ("engine", "studio", "bench", "tests")
UNSAFE_CALLS = {("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"),
                ("cPickle", "load"), ("cPickle", "loads"), ("marshal", "load"),
                ("marshal", "loads"), ("dill", "load"), ("dill", "loads"), ("joblib", "load"),
                ("pd", "read_pickle"), ("pandas", "read_pickle"), ("shelve", "open")}


def _call_name(func: ast.expr) -> tuple[str, str] | None:
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id, func.attr
    return None


def _kw(call: ast.Call, name: str):
    for k in call.keywords:
        if k.arg == name:
            return k.value.value if isinstance(k.value, ast.Constant) else "<expr>"
    return "<missing>"


def unsafe_loads(root: Path = ROOT) -> tuple[list[str], list[str]]:
    """(offenders, notes): calls that can unpickle, and np.load calls relying on the default."""
    offenders, notes = [], []
    me = Path(__file__).resolve()
    for top in SCANNED:
        for path in sorted((root / top).rglob("*.py")):
            if path.resolve() == me:
                continue  # this file unpickles on purpose, to prove the payload works
            try:
                tree = ast.parse(path.read_text("utf-8"), str(path))
            except (SyntaxError, UnicodeDecodeError):
                continue  # someone's file mid-edit; ruff and the other tests report it
            rel = path.relative_to(root)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = _call_name(node.func)
                where = f"{rel}:{node.lineno}"
                if name == ("torch", "load") and _kw(node, "weights_only") is not True:
                    offenders.append(f"{where} torch.load without weights_only=True")
                elif name in {("np", "load"), ("numpy", "load")}:
                    allow = _kw(node, "allow_pickle")
                    if allow not in (False, "<missing>"):
                        offenders.append(f"{where} np.load with allow_pickle={allow}")
                    elif allow == "<missing>":
                        notes.append(f"{where} np.load without an explicit allow_pickle=False")
                elif name in UNSAFE_CALLS:
                    offenders.append(f"{where} {'.'.join(name)}")
    return offenders, notes


def test_nothing_in_the_tree_can_unpickle():
    offenders, _notes = unsafe_loads()
    assert offenders == []


def test_the_scanner_finds_unsafe_calls(tmp_path):
    bad = tmp_path / "engine"
    bad.mkdir()
    (bad / "x.py").write_text("import torch, numpy as np, pickle\n"
                              "torch.load('a')\ntorch.load('a', weights_only=False)\n"
                              "np.load('a', allow_pickle=True)\npickle.loads(b'')\n"
                              "torch.load('a', weights_only=True)\nnp.load('b')\n")
    offenders, notes = unsafe_loads(tmp_path)
    assert [o.split(" ", 1)[0] for o in offenders] == [
        "engine/x.py:2", "engine/x.py:3", "engine/x.py:4", "engine/x.py:5"]
    assert notes == ["engine/x.py:7 np.load without an explicit allow_pickle=False"]


# -- code injection through names and descriptions into generated source -------------------------

INJECTED = 'open({marker!r}, "w").write("pwned")'


def _hostile_name(marker: Path) -> str:
    return "hidden\n        " + INJECTED.format(marker=str(marker)) + "  #"


def test_a_multi_line_node_name_in_a_project_file_is_refused(tmp_path):
    import json

    from engine.project import loads_project
    data = json.loads(example_paths()["xor_mlp"].read_text("utf-8"))
    for bad in (_hostile_name(tmp_path / "ran"), "a\rb", "a\u2028b", "a\x85b", "a\x00b"):
        data["graph"]["nodes"][1]["name"] = bad
        with pytest.raises(ProjectError) as info:
            loads_project(json.dumps(data), "evil.nnproj")
        assert info.value.field == "graph.nodes[1].name"


@pytest.mark.parametrize("name", ["a\nb", "a\r\nb", "a\u2029b", "\x1b[31mred"])
def test_graph_refuses_names_with_line_breaks(name):
    from engine.graph import Graph, GraphError
    g = Graph()
    n = g.add_node("core.Linear", name="fc")
    with pytest.raises(GraphError, match="control character"):
        g.rename(n.id, name)
    with pytest.raises(GraphError, match="control character"):
        g.add_node("core.Linear", name=name)
    assert n.name == "fc" and len(g.nodes) == 1


def _open_calls(source: str, marker: Path) -> list:
    """Calls open(<marker>) anywhere in `source` (comments and docstrings hold no calls)."""
    return [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name) and n.func.id == "open"
            and any(isinstance(a, ast.Constant) and a.value == str(marker) for a in n.args)]


def test_generated_code_cannot_be_injected_even_past_the_graph_api(tmp_path):
    """Defence in depth: names set directly on the Node, and a docstring with quotes."""
    torch = pytest.importorskip("torch")
    from engine.codegen import generate
    from engine.compile import compile_source
    marker = tmp_path / "ran"
    project = load_project(example_paths()["xor_mlp"], weights=False)
    first, second = list(project.graph.nodes.values())[1:3]
    first.name = _hostile_name(marker)
    second.name = _hostile_name(marker).replace("\n", "\r\n")
    code = generate(project.graph, docstring=f'x"""\n{INJECTED.format(marker=str(marker))}\nr"""')
    assert _open_calls(code.source, marker) == []
    compile_source(code)(torch.zeros(1, 2))
    assert not marker.exists()


def test_a_project_name_cannot_add_code_to_the_exported_script(tmp_path):
    script = pytest.importorskip("engine.export.script")
    marker = tmp_path / "ran"
    project = load_project(example_paths()["xor_mlp"], weights=False)
    project.meta["name"] = f'x"""\n{INJECTED.format(marker=str(marker))}\nr"""'
    source = script.script_source(project)
    assert _open_calls(source, marker) == []
    first_line = ast.get_docstring(ast.parse(source)).splitlines()[0]
    assert first_line.startswith(project.meta["name"].replace("\n", " ") + ": a model")


@pytest.mark.parametrize("name, shown", [("back\\N{slash}\\", "back\\N{slash}\\"),
                                         ('quote"', 'quote"'),
                                         ("nul\x00cr\rlone\ud800", "nul cr lone ")])
def test_odd_project_names_still_give_a_valid_script(name, shown):
    script = pytest.importorskip("engine.export.script")
    project = load_project(example_paths()["xor_mlp"], weights=False)
    project.meta["name"] = name
    source = script.script_source(project)
    compile(source.encode("utf-8"), "model.py", "exec")
    assert ast.get_docstring(ast.parse(source)).startswith(shown + ": a model")
