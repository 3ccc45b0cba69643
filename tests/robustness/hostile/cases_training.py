"""Hostile cases, families 6 (names that shadow nn.Module attributes, in the exported script),
9 (the same names when training) and 11 (faults caught where they enter, naming file and
sample)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import make
from .runner import Case

SHADOWING = ("train", "to", "float", "parameters", "_modules", "state_dict", "eval", "cuda",
             "type", "apply", "zero_grad", "__init__", "__dict__", "_apply", "studio_code",
             "print", "len")


def _named(names: tuple[str, ...], out: int = 2):
    from engine.graph import Graph
    g = Graph()
    prev = g.add_node("io.Input", {"shape": [2]}, name="x")
    for i, name in enumerate(names):
        width = out if i == len(names) - 1 else 2
        node = g.add_node("core.Linear", {"out_features": width}, name=name)
        g.connect(prev.id, "out", node.id, "in")
        prev = node
    y = g.add_node("io.Output", {}, name="y")
    g.connect(prev.id, "out", y.id, "in")
    return g


def _import_script(script: Path):
    import importlib.util
    import sys
    name = f"exported_{abs(hash(str(script)))}"
    spec = importlib.util.spec_from_file_location(name, script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module   # dataclasses in the script look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def _model_class(module, n_layers: int):
    """The script's model: the nn.Module class defined there with one Linear per layer."""
    import torch
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, torch.nn.Module) and \
                value.__module__ == module.__name__:
            try:
                if len(list(value().parameters())) == 2 * n_layers:
                    return value
            except TypeError:
                continue
    raise AssertionError("no model class in the exported script")


def _exported_model_runs(f: Path, names: tuple[str, ...]):
    path = make.project(f, graph=_named(names, out=1), dataset={"source": "synthetic",
                                                                 "name": "xor"})

    def action():
        import torch

        from engine.export.script import script_source
        from engine.project import load_project
        script = f / "model.py"
        script.write_text(script_source(load_project(path), None, str(script)))
        model = _model_class(_import_script(script), len(names))()
        model.train()
        model.to("cpu").float()
        params = list(model.parameters())
        assert len(params) == 2 * len(names), len(params)
        out = model(torch.randn(3, 2))
        assert out.shape == (3, 1)
        model.load_state_dict(model.state_dict())
    return action


def _trains(f: Path, names: tuple[str, ...]) -> list[str]:
    return ["train", str(make.project(f, graph=_named(names, out=1), dataset={
        "source": "synthetic", "name": "xor"}, training={"loss": "mse", "metrics": []}))]


SCRIPT = ("model.py", "__pycache__/*")


def family6() -> list[Case]:
    cases = [Case(6, f"export-node-named-{name}", lambda f, n=name: _exported_model_runs(f, (n,)),
                  expect="ok", outputs=SCRIPT) for name in SHADOWING]
    cases.append(Case(6, "export-all-shadowing-names", lambda f: _exported_model_runs(
        f, SHADOWING), expect="ok", outputs=SCRIPT))
    return cases


def family9() -> list[Case]:
    outputs = ("p.runs/*", "p.nnproj", "p.safetensors", "p.previous.safetensors", ".p.*")
    return [Case(9, "train-all-shadowing-names", lambda f: _trains(f, SHADOWING), expect="ok",
                 outputs=outputs)] + [
        Case(9, f"train-node-named-{name}", lambda f, n=name: _trains(f, (n,)), expect="ok",
             outputs=outputs) for name in ("train", "eval", "to", "parameters", "state_dict")]


# -- family 11: faults caught where they enter -----------------------------------------------------

def _idx_nan(f: Path) -> list[str]:
    x = np.ones((20, 2, 2), np.float32)
    x[3, 1, 0] = np.nan
    make.idx_file(f / "x.idx", x)
    make.idx_file(f / "y.idx", (np.arange(20) % 3).astype(np.uint8))
    return ["train", str(make.project(f, dataset={"source": "idx", "path": "x.idx",
                                                  "labels_path": "y.idx"}))]


def _npz_nan_labels(f: Path) -> list[str]:
    y = np.arange(30, dtype=np.float64) % 2
    y[5] = np.nan
    np.savez(f / "d.npz", x=np.ones((30, 4), np.float32), y=y)
    return ["train", str(make.project(f, dataset={"source": "npz", "path": "d.npz"},
                                      graph=make.mlp(out=1), training={"loss": "mse"}))]


def _csv_inf(f: Path) -> list[str]:
    (f / "d.csv").write_text("a,b,label\n" + "".join(
        f"{'inf' if i == 7 else i},{i},{i % 2}\n" for i in range(20)))
    return ["train", str(make.project(f, dataset={"source": "csv", "path": "d.csv"},
                                      graph=make.mlp(in_dim=2, out=2)))]


def _nan_init_weights(f: Path) -> list[str]:
    from safetensors.numpy import save_file
    save_file({"fc1.weight": np.full((8, 4), np.nan, np.float32)}, str(f / "w.safetensors"))
    return ["train", str(make.project(f)), "--init-weights", str(f / "w.safetensors")]


def _duplicate_l2(f: Path) -> list[str]:
    graph = make.mlp(names=("fc", "act", "fc"))
    return ["train", str(make.project(f, graph=graph, training={
        "regularization": {"l2": {"fc": 0.01}}}))]


def _labels(f: Path, classes: int, out: int, loss: str) -> list[str]:
    y = np.arange(30) % classes
    np.savez(f / "d.npz", x=np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32),
             y=y.astype(np.int64))
    return ["train", str(make.project(f, dataset={"source": "npz", "path": "d.npz"},
                                      graph=make.mlp(out=out), training={"loss": loss,
                                                                         "metrics": []}))]


def _torn_metrics_log(f: Path) -> list[str]:
    """A run killed while appending to its logs: their last lines are torn."""
    path = make.project(f)
    _train(path)
    run = f / "p.runs" / "run-1"
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as log:
        log.write('{"epoch": 2, "loss": 0.')
    with open(run / "metrics.csv", "a", encoding="utf-8") as log:
        log.write("2,0.")
    return ["train", str(path), "--resume", "last", "--epochs", "2", "--no-save"]


def _resumed_logs_whole(folder: Path, result) -> str | None:
    import csv
    import json
    run = folder / "p.runs" / "run-1"
    try:
        epochs = [json.loads(line)["epoch"]
                  for line in (run / "metrics.jsonl").read_text("utf-8").splitlines()]
        with open(run / "metrics.csv", encoding="utf-8", newline="") as log:
            rows = list(csv.DictReader(log))
    except Exception as exc:  # noqa: BLE001
        return f"the resumed run's logs do not parse: {exc}"
    if epochs != [1, 2] or [int(r["epoch"]) for r in rows] != [1, 2]:
        return f"the resumed run's logs hold epochs {epochs} / {[r['epoch'] for r in rows]}"
    return None


def _train(path: Path) -> None:
    """Train `path` (its run in p.runs/run-1) and save its weights, outside the case."""
    from engine.project import load_project, save_project
    from engine.train.trainer import Trainer
    project = load_project(path)
    trainer = Trainer(project, "cpu")
    try:
        assert trainer.fit().status == "completed"
        project.graph.weights = trainer.node_state()
        save_project(project)
    finally:
        trainer.close()


def family11() -> list[Case]:
    return [
        Case(11, "idx-floats-with-nan", _idx_nan, words=("x.idx", "sample 3", "NaN")),
        Case(11, "npz-nan-labels", _npz_nan_labels, words=("d.npz", "sample 5", "NaN")),
        Case(11, "csv-infinite-feature", _csv_inf, words=("d.csv", "row 9")),
        Case(11, "nan-initial-weights", _nan_init_weights, words=("w.safetensors", "NaN")),
        Case(11, "duplicate-names-with-l2", _duplicate_l2, words=("2 nodes are named 'fc'",)),
        Case(11, "class-index-beyond-the-output", lambda f: _labels(f, 5, 3, "cross_entropy"),
             words=("d.npz", "Output 'y'", "3 units", "give the Output 5 units")),
        Case(11, "three-classes-into-a-binary-output", lambda f: _labels(
            f, 3, 1, "bce_with_logits"), words=("d.npz", "Output 'y'", "3 classes")),
        Case(11, "three-classes-into-a-hinge-output", lambda f: _labels(f, 3, 1, "hinge"),
             words=("d.npz", "3 classes")),
        Case(11, "metrics-log-with-a-torn-line", _torn_metrics_log, expect="ok",
             outputs=("p.runs/*",), check=_resumed_logs_whole),
    ]
