"""Architecture diff: examples, a project and its edited copy, run snapshots, the CLI."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.diff import DiffError, diff_graphs, diff_projects, load_side
from engine.examples import example_path
from engine.project import load_project, save_project
from engine.summary import summarize

ROOT = Path(__file__).resolve().parents[2]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "engine.cli", "diff", *map(str, args)],
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT),
                                                               "PATH": "/usr/bin:/bin"})


def test_two_examples():
    a = load_project(example_path("digits_mlp"))
    b = load_project(example_path("digits_cnn"))
    d = diff_projects(a, b)
    assert {n.name for n in d.added} == {"conv1", "pool1", "conv2", "flatten", "relu3",
                                         "dropout"}
    assert [n.name for n in d.removed] == ["fc3"]
    changed = {n.name: n for n in d.changed}
    assert changed["fc2"].params == {"out_features": (32, 10)}
    assert changed["image"].renamed == ("pixels", "image")
    assert changed["image"].params["shape"] == ([64], [1, 8, 8])
    wires = {(w.kind, w.describe()) for w in d.wires}
    assert ("added", "image.out -> conv1.in") in wires
    assert ("removed", "relu2.out -> fc3.in") in wires
    assert d.params == (summarize(a.graph).total_params, summarize(b.graph).total_params)
    assert d.macs == (summarize(a.graph).total_flops, summarize(b.graph).total_flops)
    assert ("training.schedule.name", "constant", "cosine") in d.settings
    assert not diff_projects(a, load_project(example_path("digits_mlp"))).nodes


def test_a_project_and_its_edited_copy(tmp_path):
    a = load_project(example_path("xor_mlp"))
    b = load_project(example_path("xor_mlp"))
    g = b.graph
    g.set_param("n2", "out_features", 16)                 # changed param
    g.rename("n3", "act")                                 # renamed
    g.set_trainable("n4", False)
    g.remove_node("n3")                                   # ...then removed after all
    relu = g.add_node("act.ReLU", name="relu", node_id="n9")
    g.connect("n2", "out", "n9", "in")
    g.connect("n9", "out", "n4", "in")
    b.training["optimizer"]["lr"] = 0.01
    d = diff_projects(a, b)
    assert [(n.kind, n.name) for n in d.nodes] == [("changed", "hidden"), ("changed", "out"),
                                                   ("added", "relu"), ("removed", "tanh")]
    assert d.changed[0].params == {"out_features": (8, 16)}
    assert d.changed[1].trainable == (True, False) and not d.changed[1].params
    assert d.added[0].node_id == relu.id and d.removed[0].node_id == "n3"
    assert sorted((w.kind, w.describe()) for w in d.wires) == [
        ("added", "hidden.out -> relu.in"), ("added", "relu.out -> out.in"),
        ("removed", "hidden.out -> tanh.in"), ("removed", "tanh.out -> out.in")]
    assert d.params == (33, 65) and d.macs == (24, 48)
    assert d.settings == [("training.optimizer.lr", 0.03, 0.01)]
    lines = d.lines()
    assert "~ hidden (Linear)  out_features: 8 -> 16" in lines
    assert "- tanh (Tanh)" in lines and "+ relu (ReLU)" in lines
    assert "params: 33 -> 65 (+32, +97.0%)" in lines


def test_nodes_match_by_name_when_ids_differ():
    a = load_project(example_path("xor_mlp")).graph
    b = a.copy()
    node = b.nodes.pop("n2")
    node.id = "renumbered"
    b.nodes["renumbered"] = node
    b.edges[:] = [type(e)(*(("renumbered" if v == "n2" else v) for v in
                            (e.src, e.src_port, e.dst, e.dst_port))) for e in b.edges]
    d = diff_graphs(a, b)
    assert not d.nodes and not d.wires and d.matched["renumbered"] == "n2"


def test_run_snapshots_and_cli(tmp_path):
    project = load_project(example_path("xor_mlp"))
    path = save_project(project, tmp_path / "xor.nnproj")
    runs = tmp_path / "xor.runs"
    for n, width in ((1, 8), (2, 12)):
        g = project.graph.copy()
        g.set_param("n2", "out_features", width)
        (runs / f"run-{n}").mkdir(parents=True)
        (runs / f"run-{n}" / "config.json").write_text(json.dumps(
            {"graph": g.to_dict(), "training": project.training, "dataset": project.dataset,
             "project": "xor"}))
    d = diff_projects(load_side(runs / "run-1"), load_side(runs / "run-2" / "config.json"))
    assert [(n.name, n.params) for n in d.nodes] == [("hidden", {"out_features": (8, 12)})]
    r = cli(path, runs / "run-2")
    assert r.returncode == 1 and "~ hidden (Linear)  out_features: 8 -> 12" in r.stdout
    assert "params: 33 -> 49 (+16" in r.stdout
    r = cli(path, path)
    assert r.returncode == 0 and "no differences" in r.stdout
    r = cli("--json", path, runs / "run-2")
    data = json.loads(r.stdout)
    assert data["changed"][0]["params"] == {"out_features": {"before": 8, "after": 12}}
    assert data["params"] == [33, 49]


@pytest.mark.parametrize("content, message", [
    ("{", "not a valid project file"),
    ('{"graph": 3}', "not a run snapshot"),
    ('{"graph": {"nodes": [{"id": "a", "type": "no.Such", "name": "a"}]}}', "no.Such"),
])
def test_bad_input_is_one_clear_error(tmp_path, content, message):
    bad = tmp_path / ("bad.nnproj" if content == "{" else "config.json")
    bad.write_text(content)
    with pytest.raises(DiffError, match=message):
        load_side(bad)
    r = cli(bad, example_path("xor_mlp"))
    assert r.returncode == 2 and r.stderr.startswith("error: ") and str(bad) in r.stderr
    (tmp_path / "empty").mkdir()
    with pytest.raises(DiffError, match="not a run folder"):
        load_side(tmp_path / "empty")
