"""engine.train.run_folder: the one reader and writer of a run folder's layout."""
import json

import pytest

from engine.train import run_folder as rf
from engine.train.trainer import Trainer

from .helpers import blobs, mlp_graph, project


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two real runs of a tiny project (2 and 1 epochs); returns the project's runs folder."""
    tmp = tmp_path_factory.mktemp("proj")
    for epochs in (2, 1):
        p = project(mlp_graph(), tmp, epochs=epochs)
        assert Trainer(p, "cpu", data=blobs()).fit().status == "completed"
    return tmp / "tiny.runs"


def test_a_trained_run_reads_back_through_the_module(runs):
    assert [p.name for p in rf.list_runs(runs)] == ["run-1", "run-2"]
    run = rf.find_run(runs, "1")
    assert run == rf.find_run(runs, "run-1") == rf.find_run(runs, run) == runs / "run-1"
    assert rf.find_run(runs, "last") == runs / "run-2"
    rows = rf.read_metrics(run)
    assert [r["epoch"] for r in rows] == [1, 2] and all("val_loss" in r for r in rows)
    assert rf.read_config(run)["training"]["epochs"] == 2
    best = rf.read_best_metrics(run)
    assert best["epoch"] in (1, 2)
    assert best["val_loss"] == min(r["val_loss"] for r in rows)
    assert rf.weights_file(run) == run / "best.safetensors"
    assert [p.name for p in rf.artifacts(run)] == ["config.json", "metrics.csv",
                                                   "best.safetensors"]
    assert [p.name for p in rf.runs_with_weights(runs)] == ["run-1", "run-2"]
    with pytest.raises(FileNotFoundError, match="no run 'run-9'"):
        rf.find_run(runs, "run-9")


def test_runs_sort_by_number_and_folders_without_weights_are_no_source(tmp_path):
    for n in (10, 2, 1):
        (tmp_path / f"run-{n}").mkdir()
        rf.write_config(tmp_path / f"run-{n}", {"n": n})
    (tmp_path / "notes").mkdir()                          # no config.json: not a run
    assert [p.name for p in rf.list_runs(tmp_path)] == ["run-1", "run-2", "run-10"]
    assert rf.new_run_dir(tmp_path).name == "run-11"
    assert rf.runs_with_weights(tmp_path) == []
    (tmp_path / "run-2" / "last.safetensors").write_bytes(b"")
    assert rf.weights_file(tmp_path / "run-2") == tmp_path / "run-2" / "last.safetensors"
    assert [p.name for p in rf.runs_with_weights(tmp_path)] == ["run-2"]
    assert rf.list_runs(tmp_path / "absent") == [] and rf.weights_file(tmp_path) is None


def test_unreadable_files_read_as_empty(tmp_path):
    (tmp_path / "config.json").write_text("{not json", "utf-8")
    (tmp_path / "best.json").write_text("[1, 2]", "utf-8")
    assert rf.read_config(tmp_path) == {} and rf.read_best_metrics(tmp_path) == {}
    assert rf.read_metrics(tmp_path) == []


def test_a_line_left_half_written_is_skipped_and_truncation_drops_it(tmp_path):
    log = rf.MetricsLog(tmp_path)
    for epoch in (1, 2, 3):
        log.append({"epoch": epoch, "loss": 1.0 / epoch, "per_class": [0.5, 0.5]})
    with open(log.jsonl_path, "a", encoding="utf-8") as f:
        f.write('{"epoch": 4, "lo')                     # a run killed mid-write
    with open(log.csv_path, "a", encoding="utf-8") as f:
        f.write("4,0.2")
    assert [r["epoch"] for r in rf.read_metrics(tmp_path)] == [1, 2, 3]
    assert rf.read_metrics(tmp_path)[0]["per_class"] == [0.5, 0.5]
    log.truncate_after(2)
    assert [json.loads(x)["epoch"] for x in log.jsonl_path.read_text().splitlines()] == [1, 2]
    assert log.csv_path.read_text().splitlines() == ["epoch,loss", "1,1.0", "2,0.5"]
    log.append({"epoch": 3, "loss": 0.3})
    assert [r["epoch"] for r in rf.read_metrics(tmp_path)] == [1, 2, 3]
    assert log.csv_path.read_text().splitlines()[-1] == "3,0.3"
