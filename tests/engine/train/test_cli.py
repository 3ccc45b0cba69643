"""`studio train` / `studio evaluate` end to end, and 2-process DDP vs one process."""
import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.examples import example_path
from engine.project import load_project, save_project


def xor_project(tmp_path, **training) -> Path:
    proj = load_project(example_path("xor_mlp"))
    proj.training.update({"epochs": 2, "batch_size": 20,
                          "optimizer": {"name": "sgd", "lr": 0.5}, **training})
    return save_project(proj, tmp_path / "xor.nnproj")


def read_log(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_train_evaluate_resume(tmp_path, capsys):
    path = xor_project(tmp_path)
    log = tmp_path / "log.jsonl"
    assert main(["train", str(path), "--log-json", str(log), "--seed", "1"]) == 0
    out, err = capsys.readouterr()
    assert "epoch 1/2  loss" in out and "epoch 2/2" in out
    assert "\ntest  loss " in out and "binary_accuracy" in out
    assert "training on cpu" in err and "saved weights" in err
    rows = read_log(log)
    assert [r["epoch"] for r in rows] == [1, 2]
    for key in ("loss", "val_loss", "val_binary_accuracy"):
        assert key in rows[0]
    assert path.with_suffix(".safetensors").exists()
    assert load_project(path).graph.weights  # the trained weights load with the project

    assert main(["evaluate", str(path), "--run", "last", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["split"] == "test" and 0 <= metrics["binary_accuracy"] <= 1

    assert main(["train", str(path), "--epochs", "3", "--resume", "run-1", "--seed", "1",
                 "--log-json", str(log)]) == 0
    assert [r["epoch"] for r in read_log(log)] == [1, 2, 3]
    fresh = tmp_path / "fresh.jsonl"
    assert main(["train", str(path), "--epochs", "3", "--seed", "1", "--log-json",
                 str(fresh), "--no-save"]) == 0
    assert [r["loss"] for r in read_log(fresh)] == [r["loss"] for r in read_log(log)]


def test_train_errors_are_one_line(tmp_path, capsys):
    path = xor_project(tmp_path)
    assert main(["train", str(path), "--lr", "-1"]) == 1
    assert "training.optimizer.lr must be > 0, got -1" in capsys.readouterr().err
    assert main(["evaluate", str(path), "--run", "run-9"]) == 1
    assert "no run 'run-9'" in capsys.readouterr().err


def test_two_process_ddp_matches_one_process(tmp_path):
    path = xor_project(tmp_path, epochs=3)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert main(["train", str(path), "--log-json", str(one), "--no-save", "--quiet"]) == 0
    assert main(["train", str(path), "--nproc", "2", "--log-json", str(two), "--no-save",
                 "--quiet"]) == 0
    a, b = read_log(one), read_log(two)
    assert [r["epoch"] for r in b] == [1, 2, 3]
    for ra, rb in zip(a, b):
        assert rb["loss"] == pytest.approx(ra["loss"], rel=1e-4, abs=1e-6)
        assert rb["val_loss"] == pytest.approx(ra["val_loss"], rel=1e-4, abs=1e-6)
    runs = sorted(p.name for p in (tmp_path / "xor.runs").iterdir())
    assert runs == ["run-1", "run-2"]  # only rank 0 writes a run folder
    config = json.loads((tmp_path / "xor.runs" / "run-2" / "config.json").read_text())
    assert config["world_size"] == 2


def test_init_weights_from_another_run(tmp_path, capsys):
    path = xor_project(tmp_path, epochs=1)
    assert main(["train", str(path), "--quiet"]) == 0
    other = load_project(path, weights=False)
    other.graph.nodes["n4"].params["out_features"] = 1
    target = save_project(other, tmp_path / "other.nnproj")
    capsys.readouterr()
    assert main(["train", str(target), "--quiet", "--epochs", "1", "--init-weights",
                 str(path.with_suffix(".safetensors"))]) == 0
    assert "init weights: loaded 4 tensor(s)" in capsys.readouterr().err
    assert main(["train", str(target), "--init-weights", str(tmp_path / "none.pt")]) == 1
    assert "none.pt does not exist" in capsys.readouterr().err


def test_train_prints_each_health_warning_once(tmp_path, capsys):
    """A run whose ReLUs are dead from the start (a bias of -100 before them) gets one line on
    stderr naming the layer; a healthy run gets none."""
    from tests.engine.teach.test_health import _dead_relu_project

    for bias, expected in ((-100.0, 1), (0.5, 0)):
        project, _nodes = _dead_relu_project(bias)
        path = save_project(project, tmp_path / f"relu{bias}.nnproj")
        assert main(["train", str(path), "--no-save", "--quiet"]) == 0
        lines = [line for line in capsys.readouterr().err.splitlines()
                 if line.startswith("warning: ")]
        assert len(lines) == expected
        if expected:
            assert "All 6 units of act1 output 0" in lines[0] and "dead ReLU" in lines[0]


def test_a_health_warning_is_printed_once_while_its_numbers_change(capsys):
    """The monitor sends the whole list whenever it changes (a share or a norm moves): a
    warning already printed is not printed again."""
    from types import SimpleNamespace

    from engine.cli.train import HealthLines, Progress
    from engine.graph import Graph
    from engine.teach.health import HealthWarning

    trainer = SimpleNamespace(state=None, project=SimpleNamespace(graph=Graph()))
    lines = HealthLines(trainer, Progress(quiet=True))
    lines.show([HealthWarning("n3", "saturated", "95% of act1's outputs sit at 0 or 1")])
    lines.show([HealthWarning("n3", "saturated", "97% of act1's outputs sit at 0 or 1"),
                HealthWarning("n2", "vanishing", "Vanishing gradients: fc1's ...")])
    lines.show([])
    assert capsys.readouterr().err.splitlines() == [
        "warning: 95% of act1's outputs sit at 0 or 1",
        "warning: Vanishing gradients: fc1's ..."]
