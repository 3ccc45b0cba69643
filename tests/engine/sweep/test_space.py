"""The sweep section: parsing, checking against the targets, applying values."""
import pytest

from engine.project import load_project, loads_project, save_project
from engine.sweep.space import (
    SweepError,
    apply_values,
    current_values,
    dimension,
    space,
    split_key,
)

from .helpers import LR, WIDTH, xor_project


def test_space_reads_kinds_from_the_targets(tmp_path):
    project = xor_project(tmp_path)
    project.sweep["space"]["training.optimizer.name"] = {"choices": ["adam", "sgd"]}
    project.sweep["space"]["training.batch_size"] = {"low": 16, "high": 64, "step": 16}
    dims = {d.key: d for d in space(project)}
    assert dims[LR].kind == "float" and dims[LR].log
    assert dims[WIDTH].kind == "int" and (dims[WIDTH].low, dims[WIDTH].high) == (2, 32)
    assert dims["training.optimizer.name"].kind == "choice"
    assert dims["training.batch_size"].grid(5) == [16, 32, 48, 64]
    assert dims[LR].grid(3) == pytest.approx([0.003, 0.03, 0.3])


@pytest.mark.parametrize("key, entry, message", [
    ("training.optimizer.lr", {"low": 0.1, "high": 0.01}, "must be below high"),
    ("training.optimizer.lr", {"low": 0, "high": 1, "log": True}, "log range needs low > 0"),
    ("training.optimizer.lr", {"low": -1, "high": 1}, "optimizer.lr must be > 0"),
    ("training.optimizer.lr", {"high": 1}, "needs low and high"),
    ("training.optimizer.lr", {"low": 0.1, "high": 1, "typo": 1}, "typo is not known"),
    ("training.optimizer.name", {"low": 0, "high": 1}, "takes a list of choices"),
    ("training.optimizer.name", {"choices": ["adam", "rmsprop2"]}, "optimizer.name must be"),
    ("training.optimizer", {"choices": [1]}, "is a group of settings"),
    ("training.nonsense", {"low": 1, "high": 2}, "is not a training setting"),
    ("node.n2.out_features", {"low": 0, "high": 8}, "out_features must be between 1 and"),
    ("node.n2.out_features", {"low": 1.5, "high": 8}, "must be an integer"),
    ("node.n2.nope", {"low": 1, "high": 8}, "has no parameter 'nope'"),
    ("node.n99.out_features", {"low": 1, "high": 8}, "no node with id 'n99'"),
    ("nodes.n2", {"low": 1, "high": 8}, "a key is training.<setting> or node."),
    ("training.epochs", {"choices": []}, "non-empty list"),
    ("training.epochs", {"choices": [1, 1]}, "lists a value twice"),
])
def test_bad_entries_are_refused_naming_the_key(tmp_path, key, entry, message):
    project = xor_project(tmp_path)
    with pytest.raises(SweepError, match=message):
        dimension(project, key, entry)


def test_bad_sweep_settings_are_refused(tmp_path):
    project = xor_project(tmp_path)
    for bad, message in (({"sampler": "bayes"}, "sweep.sampler must be one of"),
                         ({"trials": 0}, "sweep.trials must be an integer >= 1"),
                         ({"pruner": "hyper"}, "sweep.pruner"),
                         ({"epoch": 3}, "sweep.epoch is not a known setting")):
        project.sweep.update(bad)
        with pytest.raises(SweepError, match=message):
            space(project)
        for k in bad:
            project.sweep.pop(k)


def test_apply_values_changes_a_copy_only(tmp_path):
    project = xor_project(tmp_path)
    out = apply_values(project, {LR: 0.1, WIDTH: 16, "training.batch_size": 8})
    assert out.training["optimizer"]["lr"] == 0.1 and out.training["batch_size"] == 8
    assert out.graph.nodes["n2"].params["out_features"] == 16
    assert project.training["optimizer"]["lr"] == 0.03
    assert project.graph.nodes["n2"].params["out_features"] == 8
    assert out.path == project.path
    assert current_values(project, space(project)) == {LR: 0.03, WIDTH: 8}
    with pytest.raises(SweepError, match="out_features must be between 1 and"):
        apply_values(project, {WIDTH: 0})


def test_split_key():
    assert split_key("training.optimizer.lr") == ("training", ("optimizer", "lr"))
    assert split_key("node.block.1.conv.kernel_size") == ("node", ("block.1.conv",
                                                                   "kernel_size"))


def test_sweep_section_round_trips_and_is_absent_when_empty(tmp_path):
    project = xor_project(tmp_path)
    assert '"sweep"' in project.path.read_text()
    again = load_project(save_project(project, tmp_path / "again.nnproj"))
    assert again.sweep == project.sweep
    project.sweep = {}
    text = save_project(project, tmp_path / "plain.nnproj").read_text()
    assert '"sweep"' not in text
    with pytest.raises(Exception, match="sweep: expected an object"):
        loads_project(text.replace('"view"', '"sweep": [1], "view"'))
