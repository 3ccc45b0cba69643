import json

import numpy as np
import pytest

from engine import Project, ProjectError, load_project, loads_project, save_project
from engine.examples import copy_example, example_paths
from engine.project import FORMAT_VERSION, dumps_project

from .helpers import digits_cnn


def test_save_load_round_trip_sorted_and_stable(tmp_path):
    g, _ = digits_cnn()
    p = Project(g, {"source": "bundled", "name": "digits"}, {"epochs": 3}, {"zoom": 1.5},
                {"name": "demo"})
    path = save_project(p, tmp_path / "demo.nnproj")
    text = path.read_text()
    assert json.loads(text)["format_version"] == FORMAT_VERSION
    assert text == dumps_project(load_project(path))  # stable: load + dump is identical
    keys = list(json.loads(text))
    assert keys == sorted(keys)
    q = load_project(path)
    assert q.graph.to_dict() == g.to_dict() and q.view == {"zoom": 1.5}


def test_suffix_added_and_no_temp_files_left(tmp_path):
    g, _ = digits_cnn()
    path = save_project(Project(g), tmp_path / "model")
    assert path.name == "model.nnproj"
    assert [f.name for f in tmp_path.iterdir()] == ["model.nnproj"]


def test_future_version_is_refused_with_a_clear_message():
    with pytest.raises(ProjectError, match="format_version 99 is newer"):
        loads_project(json.dumps({"format_version": 99, "graph": {}}))


@pytest.mark.parametrize("data,field", [
    ({"graph": {}}, "format_version"),
    ({"format_version": "1", "graph": {}}, "format_version"),
    ({"format_version": 1}, "graph"),
    ({"format_version": 1, "graph": {"nodes": {}}}, "graph.nodes"),
    ({"format_version": 1, "graph": {"nodes": [{"id": "a", "type": "core.Nope", "name": "a"}]}},
     "graph.nodes[0].type"),
    ({"format_version": 1, "graph": {"nodes": [{"id": "a", "type": "core.Linear", "name": "a",
                                                "params": {"out_features": -3}}]}},
     "graph.nodes[0].params"),
    ({"format_version": 1, "graph": {"nodes": [{"id": "a", "type": "core.Linear"}]}},
     "graph.nodes[0].name"),
    ({"format_version": 1, "graph": {"nodes": [], "edges": [{"src": "a"}]}},
     "graph.edges[0].src_port"),
    ({"format_version": 1, "graph": {"nodes": [], "edges": [
        {"src": "a", "src_port": "out", "dst": "b", "dst_port": "in"}]}}, "graph.edges[0]"),
])
def test_bad_fields_are_named(data, field):
    with pytest.raises(ProjectError) as info:
        loads_project(json.dumps(data), "x.nnproj")
    assert info.value.field == field
    assert str(info.value).startswith("x.nnproj: ")


@pytest.mark.parametrize("text", ["", "{", "[]", "null", '{"format_version": NaN}', "\x00"])
def test_garbage_text_is_a_project_error(text):
    with pytest.raises(ProjectError):
        loads_project(text)


def test_binary_file_is_a_project_error(tmp_path):
    f = tmp_path / "bad.nnproj"
    f.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ProjectError, match="UTF-8"):
        load_project(f)


def test_missing_file_is_a_project_error(tmp_path):
    with pytest.raises(ProjectError, match="cannot read"):
        load_project(tmp_path / "nope.nnproj")


def test_weights_saved_beside_as_safetensors_and_loaded(tmp_path):
    g, (_i, conv, *_r) = digits_cnn()
    w = np.arange(16 * 9, dtype=np.float32).reshape(16, 1, 3, 3)
    g.weights = {conv.id: {"weight": w}}
    path = save_project(Project(g), tmp_path / "m.nnproj")
    assert (tmp_path / "m.safetensors").exists()
    q = load_project(path)
    np.testing.assert_array_equal(q.graph.weights[conv.id]["weight"], w)


def test_corrupt_weights_file_is_a_project_error(tmp_path):
    g, _ = digits_cnn()
    g.weights = {next(iter(g.nodes)): {"weight": np.ones(3, np.float32)}}
    path = save_project(Project(g), tmp_path / "m.nnproj")
    (tmp_path / "m.safetensors").write_bytes(b"\x80\x04garbage-pickle")
    with pytest.raises(ProjectError, match="safetensors"):
        load_project(path)


def test_data_paths_stay_inside_the_project_folder(tmp_path):
    p = Project(path=tmp_path / "m.nnproj")
    assert p.resolve_data_path("data/x.csv") == (tmp_path / "data" / "x.csv").resolve()
    with pytest.raises(ProjectError, match="leaves the project folder"):
        p.resolve_data_path("../../etc/passwd")
    assert p.relative_data_path(tmp_path / "data" / "x.csv") == "data/x.csv"


def test_every_example_loads(tmp_path):
    assert "digits_cnn" in example_paths()
    for name in example_paths():
        dest = copy_example(name, tmp_path / name)
        assert load_project(dest).graph.nodes
