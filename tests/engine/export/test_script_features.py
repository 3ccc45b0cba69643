"""The script is written for its project: each training feature appears exactly when the
project uses it, and with it the script still trains like the app (every row of the history
and the final weights equal the Trainer's). Also: every example's script leaves out what it
does not use, keeps no settings dict, stays within its line budget."""
from __future__ import annotations

import ast
import json
import runpy
from pathlib import Path

import pytest
import torch

import engine
from engine.examples import copy_example
from engine.export.script import export_script, script_source
from engine.train.trainer import Trainer

from ..helpers import scriptable_examples
from .conftest import assert_ruff_clean, assert_short_lines

# feature -> text that appears in a script exactly when the project uses the feature
MARKERS = {
    "cd": ["def cd_loss(", "reconstruction_error(", "all_reduce(p.grad)"],
    "early_stopping": ["waited", "early_stopping"],
    "restore_best": ["best_state"],
    "grad_clip": ["clip_grad_"],
    "regularization": ["def penalty(", "penalty(model)"],
    "frozen": ["requires_grad_(False)", "p.requires_grad"],
    "warmup": ["warmup"],
    "lr_scales": ['"lr_scale"'],
    "fine_tune": ["backbone = parameters_of(", "requires_grad_(epoch >= "],
    "schedule": ['group["lr"]'],
    "plateau": ["plateau_lr"],
    "onecycle": ["def one_cycle("],
    "loss_weights": ["(weight "],
    "hinge": ["def hinge_loss("],
    "confusion": ["def confusion_matrix("],
    "scores": ["def class_scores("],
    "r2": ["def r2_score("],
    "text": ["def tokenize(", "def vocabulary("],
    "idx": ["def read_idx("],
    "download": ["def fetch("],
    "images": ["Image.open("],
    "csv": ["csv.reader("],
    "subset": ["keep = np.sort("],
}


def _uses(project: engine.Project) -> set[str]:
    """The features of MARKERS a project uses."""
    from engine.train.config import resolve_config

    cfg = resolve_config(project.training)
    graph, dataset = project.graph, project.dataset
    uses = set()
    losses = cfg["loss"] if isinstance(cfg["loss"], list) else [cfg["loss"]]
    if "cd" in losses:
        uses.add("cd")
    if cfg["early_stopping"]:
        uses.add("early_stopping")
        if cfg["early_stopping"]["restore_best"]:
            uses.add("restore_best")
    if any(v is not None for v in cfg["grad_clip"].values()):
        uses.add("grad_clip")
    if any(cfg["regularization"][k] for k in ("l1", "l2")):
        uses.add("regularization")
    if any(not n.trainable for n in graph.nodes.values()):
        uses.add("frozen")
    uses |= {k for k in ("lr_scales", "fine_tune") if cfg[k]}
    sched = cfg["schedule"]
    if sched["warmup_epochs"] and sched["name"] != "onecycle":
        uses.add("warmup")
    if sched["name"] != "constant" or sched["warmup_epochs"]:
        uses.add("schedule")
    uses |= {sched["name"]} & {"plateau", "onecycle"}
    if any(n.params.get("loss_weight", 1.0) != 1.0 for n in graph.nodes.values()
           if n.type == "io.Output"):
        uses.add("loss_weights")
    if "hinge" in losses:
        uses.add("hinge")
    metrics = set(cfg["metrics"] or [])
    if metrics & {"confusion_matrix", "precision", "recall", "f1"}:
        uses.add("confusion")
    if metrics & {"precision", "recall", "f1"}:
        uses.add("scores")
    if "r2" in metrics:
        uses.add("r2")
    source, name = dataset.get("source"), dataset.get("name")
    if name == "text" or dataset.get("text_column"):
        uses.add("text")
    if source == "idx" or name in ("mnist", "fashion_mnist"):
        uses.add("idx")
    uses |= {"download"} if source == "download" else set()
    uses |= {"images"} if source == "image_folder" else set()
    uses |= {"csv"} if source == "csv" else set()
    uses |= {"subset"} if dataset.get("max_samples") is not None else set()
    return uses


def assert_only_what_is_used(text: str, project: engine.Project) -> None:
    uses = _uses(project)
    for feature, markers in MARKERS.items():
        present = [m for m in markers if m in text]
        if feature in uses:
            assert present, f"{feature} is used but the script has none of {markers}"
        else:
            assert not present, f"{feature} is not used but the script has {present}"


def assert_no_settings_dicts(text: str) -> None:
    """Values known at export are literals where they are used: no module-level dict, list
    or tuple of settings consulted at run time (and no inspect-copied engine code)."""
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign):
            assert not isinstance(node.value, (ast.Dict, ast.List, ast.Tuple, ast.Set)), \
                ast.unparse(node)[:80]
    assert "CONFIG" not in text and "DATASET" not in text and "import engine" not in text


# -- every example --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def example_scripts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("examples")
    out = {}
    for name in scriptable_examples():
        project = engine.load_project(copy_example(name, folder / f"{name}.nnproj"))
        out[name] = (project, script_source(project, filename=str(folder / f"{name}.py")))
    return out


@pytest.mark.parametrize("name", scriptable_examples())
def test_an_examples_script_has_only_what_it_uses(name, example_scripts):
    project, text = example_scripts[name]
    assert_only_what_is_used(text, project)
    assert_no_settings_dicts(text)
    assert "inspect" not in text and "DataSplits" not in text
    assert_short_lines(text)


def test_line_budget(example_scripts):
    lines = {name: text.count("\n") for name, (_, text) in example_scripts.items()}
    assert lines["digits_cnn"] <= 205, lines  # 200, then 3 lines choosing the threads
    assert max(lines.values()) <= 300, lines  # the pasted-engine scripts had 1,100-1,300


# -- features: present when used, and trained exactly like the app --------------------------------

def _xor(tmp_path, training=None, frozen=(), dataset=None):
    path = copy_example("xor_mlp", tmp_path / "xor.nnproj")
    project = engine.load_project(path)
    project.training.update({"epochs": 4, **(training or {})})
    project.dataset.update({"samples": 120, **(dataset or {})})
    for name in frozen:
        project.graph.set_trainable(project.graph.by_name(name).id, False)
    engine.save_project(project, path)
    return engine.load_project(path)


def _example(name, tmp_path, training=None, weights=None, dataset=None):
    path = copy_example(name, tmp_path / f"{name}.nnproj")
    project = engine.load_project(path)
    project.training.update({"epochs": 3, **(training or {})})
    project.dataset.update({"max_samples": 150, **(dataset or {})})
    for node, w in (weights or {}).items():
        project.graph.set_param(project.graph.by_name(node).id, "loss_weight", w)
    engine.save_project(project, path)
    return engine.load_project(path)


FEATURES = {
    "momentum-step": lambda p: _xor(p, {"optimizer": {"name": "momentum", "lr": 0.1},
                                        "schedule": {"name": "step", "step_size": 1,
                                                     "gamma": 0.5}}),
    "rmsprop-exponential-warmup": lambda p: _xor(p, {
        "optimizer": {"name": "rmsprop", "lr": 0.01, "momentum": 0.2},
        "schedule": {"name": "exponential", "gamma": 0.8, "warmup_epochs": 1.5}}),
    "adamw-cosine": lambda p: _xor(p, {"optimizer": {"name": "adamw", "lr": 0.02,
                                                     "weight_decay": 0.01},
                                       "schedule": {"name": "cosine", "min_lr": 0.001}}),
    "sgd-plateau-warmup": lambda p: _xor(p, {  # the rate is halved 3 times in 6 epochs
        "epochs": 6, "optimizer": {"name": "sgd", "lr": 1.0},
        "schedule": {"name": "plateau", "patience": 0, "factor": 0.5, "warmup_epochs": 1}}),
    "adadelta-onecycle": lambda p: _xor(p, {"optimizer": {"name": "adadelta", "lr": 1.0},
                                            "schedule": {"name": "onecycle"}}),
    "nesterov-warmup": lambda p: _xor(p, {"optimizer": {"name": "nesterov", "lr": 0.05},
                                          "schedule": {"warmup_epochs": 2}}),
    "early-stopping": lambda p: _xor(p, {"epochs": 8, "optimizer": {"lr": 0.3},
                                         "early_stopping": {"patience": 0}}),
    "early-stopping-accuracy": lambda p: _xor(p, {
        "epochs": 6, "optimizer": {"name": "adagrad", "lr": 0.05}, "early_stopping": {
        "monitor": "val_binary_accuracy", "patience": 1, "min_delta": 0.01,
        "restore_best": False}}),
    "clipping-metrics": lambda p: _xor(p, {"grad_clip": {"norm": 0.5, "value": 0.05},
                                           "metrics": ["binary_accuracy", "precision",
                                                       "recall", "f1", "confusion_matrix",
                                                       "r2"]}),
    "l1-l2-frozen-hinge": lambda p: _xor(p, {"regularization": {"l1": {"hidden": 0.001},
                                                                "l2": {"out": 0.01}},
                                             "loss": "hinge"}, frozen=["hidden"]),
    "lr-scales-step-warmup": lambda p: _xor(p, {
        "lr_scales": {"hidden": 0.1}, "optimizer": {"name": "momentum", "lr": 0.1},
        "schedule": {"name": "step", "step_size": 1, "gamma": 0.5, "warmup_epochs": 1}}),
    "fine-tune-scales": lambda p: _xor(p, {"fine_tune": {"freeze_epochs": 2},
                                           "lr_scales": {"hidden": 0.25}}),
    "fine-tune-cosine": lambda p: _xor(p, {"fine_tune": {"freeze_epochs": 1},
                                           "optimizer": {"name": "adamw", "lr": 0.02},
                                           "schedule": {"name": "cosine"}}),
    "multitask-weights": lambda p: _example("multitask_two_heads", p, {
        "metrics": ["accuracy", "f1"]}, {"digit": 0.5, "ge5": 2.0}),
    "rbm-l2-clip": lambda p: _example("rbm", p, {
        "cd_k": 2, "regularization": {"l2": {"rbm": 0.001}}, "grad_clip": {"norm": 1.0}},
        dataset={"max_samples": None}),
    "cnn-one-hot-top-k": lambda p: _example("digits_cnn", p, {
        "metrics": ["accuracy", "top_k_accuracy", "mse"], "top_k": 3}, dataset={
        "one_hot": True, "normalize": "standard", "normalize_axis": "channel"}),
}


def run_script(script: Path, monkeypatch, *args: str) -> list[dict]:
    """main() of an exported script in this interpreter; the rows of its --history."""
    monkeypatch.chdir(script.parent)
    namespace = runpy.run_path(str(script), run_name="exported_script")
    namespace["main"](["--device", "cpu", "--history", "history.jsonl", *args])
    return [json.loads(line) for line in (script.parent / "history.jsonl").read_text()
            .splitlines()]


@pytest.mark.parametrize("feature", list(FEATURES))
def test_a_feature_is_written_and_trains_like_the_app(feature, tmp_path, monkeypatch):
    project = FEATURES[feature](tmp_path)
    (tmp_path / "out").mkdir()
    script = export_script(project, tmp_path / "out" / "model.py")
    text = script.read_text()
    assert_ruff_clean(script)
    assert_short_lines(text)
    assert_only_what_is_used(text, project)
    assert_no_settings_dicts(text)
    trainer = Trainer(project, "cpu", run_dir=False)
    result = trainer.fit()
    assert result.status in ("completed", "early_stopping"), result.error
    rows = run_script(script, monkeypatch, "--save", "state.pt")
    epochs = [r for r in rows if "loss" in r]
    assert len(epochs) == len(result.history)
    for app, mine in zip(result.history, epochs):
        app = {k: v for k, v in app.items() if k not in ("elapsed_s", "samples_per_s")}
        assert mine == app, feature
    if result.status == "early_stopping":
        assert rows[len(epochs)] == {"early_stopping": len(epochs)}
    saved = torch.load(script.parent / "state.pt", weights_only=True)
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(saved[key], value), key
    test = [r for r in rows if "test_loss" in r]
    assert test and test[0]["test_loss"] == pytest.approx(trainer.evaluate("test")["loss"],
                                                          abs=0)
