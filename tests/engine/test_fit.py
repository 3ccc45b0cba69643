"""The model must fit its data: engine.fit checks every Output, the Input and the Embeddings
against the dataset, names the numbers and offers a one-parameter fix; the fixed model really
runs on the data (compiled, forward, the trainer's own target preparation and loss)."""
import numpy as np
import pytest

from engine.cli import main as cli_main
from engine.data import default_config, load_dataset
from engine.examples import example_path, new_project
from engine.fit import DataFit, profile_dataset, profile_key, suggest_input_shape
from engine.graph import Graph
from engine.project import Project, load_project, save_project
from engine.validate import Validator, validate


def mlp(in_shape=(4,), hidden=10, head=10, flatten=False):
    g = Graph()
    nodes = [g.add_node("io.Input", {"shape": list(in_shape)}, name="x")]
    if flatten:
        nodes.append(g.add_node("core.Flatten", name="flat"))
    nodes += [g.add_node("core.Linear", {"out_features": hidden}, name="fc1"),
              g.add_node("act.ReLU", name="relu"),
              g.add_node("core.Linear", {"out_features": head}, name="head"),
              g.add_node("act.ReLU", name="act"),
              g.add_node("core.Dropout", {"p": 0.1}, name="drop"),
              g.add_node("io.Output", name="species")]
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, "out", b.id, "in")
    return g


def fit_report(project):
    fit = DataFit(profile_dataset(project.dataset, project.folder),
                  project.training.get("loss"))
    return validate(project.graph, checks=[fit])


def apply_fixes(project):
    for issue in fit_report(project).errors:
        assert issue.fix is not None, issue.message
        value = issue.fix.value
        project.graph.set_param(issue.fix.node_id, issue.fix.param,
                                list(value) if isinstance(value, tuple) else value)


def run_one_batch(project):
    """Compile the graph and push one batch of the real data through the trainer's own
    target preparation and loss: raises if the model does not fit."""
    import torch

    from engine.compile import compile_graph
    from engine.train.config import losses_for
    from engine.train.losses import loss_fn, prepare_target

    report = validate(project.graph)
    assert report.ok, report.text()
    inp = project.graph.inputs()[0]
    splits = load_dataset(project.dataset, project.folder, tuple(inp.params["shape"]),
                          inp.params["dtype"])
    model = compile_graph(project.graph, report, load_weights=False)
    x = torch.as_tensor(splits.train.x[:8])
    outs = model(x)
    outs = outs if isinstance(outs, tuple) else (outs,)
    out_ids = model.studio_code.output_ids
    losses = losses_for({"loss": project.training.get("loss")}, splits.tasks, len(out_ids))
    values = []
    for out, name, y, nid in zip(outs, losses, splits.train.y, out_ids):
        shape = tuple(report.in_types[nid][0].shape)
        loss = loss_fn(name)(out, prepare_target(name, y[:8], shape))
        values.append(float(loss.detach()))
    return outs, splits, values


@pytest.mark.parametrize("head", [1, 2, 4, 10])
def test_iris_head_of_the_wrong_width_names_the_numbers_and_fixes_in_one_edit(head):
    project = Project(mlp(head=head), default_config("iris"))
    [issue] = fit_report(project).errors
    node = project.graph.by_name("head")
    assert issue.kind == "data" and issue.node_id == node.id
    assert f"gives {head} value" in issue.message and "has 3 classes" in issue.message
    assert issue.fix.label == "set out_features to 3" and issue.fix.param == "out_features"
    apply_fixes(project)
    assert fit_report(project).ok
    outs, splits, losses = run_one_batch(project)
    assert outs[0].shape[1] == len(np.unique(splits.train.y[0])) == 3
    assert all(np.isfinite(losses))


def test_a_head_of_the_right_width_passes_and_runs():
    project = Project(mlp(head=3), default_config("iris"))
    assert fit_report(project).ok
    run_one_batch(project)


def test_input_shape_that_does_not_hold_a_sample_is_fixed_from_the_data():
    project = Project(mlp(in_shape=(1, 8, 8), head=3, flatten=True), default_config("iris"))
    [issue] = fit_report(project).errors
    assert issue.node_id == project.graph.by_name("x").id
    assert "(1, 8, 8) = 64 values" in issue.message and "(4,) = 4 values" in issue.message
    assert issue.fix.value == (4,)
    apply_fixes(project)
    run_one_batch(project)


def test_image_datasets_suggest_the_image_shape_for_an_image_input():
    profile = profile_dataset(default_config("digits"))
    assert profile.sample_shape == (64,) and profile.image_shape == (1, 8, 8)
    assert suggest_input_shape(profile, [3, 28, 28]) == [1, 8, 8]
    assert suggest_input_shape(profile, [10]) == [64]


@pytest.mark.parametrize("example, layer, param, bad, good", [
    ("lstm_sequence", "core.Linear", "out_features", 3, 1),         # regression width
    ("autoencoder", "core.Linear", "out_features", 60, 64),         # reconstruction width
    ("xor_mlp", "core.Linear", "out_features", 2, 1),               # binary target
    ("digits_cnn", "core.Linear", "out_features", 12, 10),          # classes behind Dropout
    ("text_cnn", "core.Embedding", "num_embeddings", 20, 42),       # ids 0..41 of the data
])
def test_examples_broken_by_one_param_are_reported_and_the_fix_runs(example, layer, param,
                                                                   bad, good):
    project = load_project(example_path(example))
    assert fit_report(project).ok, fit_report(project).text()
    target = [n for n in project.graph.nodes.values() if n.type == layer][-1]
    project.graph.set_param(target.id, param, bad)
    [issue] = fit_report(project).errors
    assert issue.node_id == target.id and str(bad) in issue.message
    assert issue.fix.param == param and issue.fix.value == good
    apply_fixes(project)
    run_one_batch(project)


def test_explicit_cross_entropy_on_a_binary_target_wants_two_logits():
    project = load_project(example_path("xor_mlp"))
    project.training["loss"] = "cross_entropy"
    [issue] = fit_report(project).errors
    assert issue.fix.value == 2 and "2 classes" in issue.message
    apply_fixes(project)
    run_one_batch(project)


def test_more_outputs_than_targets_is_a_graph_problem():
    project = load_project(example_path("multitask_two_heads"))
    project.dataset["targets"] = ["label"]
    [issue] = fit_report(project).errors
    assert issue.node_id is None and "2 Output nodes" in issue.message
    assert "1 target" in issue.message


def test_unreadable_dataset_is_a_warning_not_an_error(tmp_path):
    project = Project(mlp(head=3), {"source": "csv", "path": "missing.csv"},
                      path=tmp_path / "p.nnproj")
    report = fit_report(project)
    assert report.ok
    [warning] = [i for i in report.issues if i.kind == "data"]
    assert warning.severity == "warning" and "missing.csv" in warning.message


def test_download_datasets_are_profiled_from_the_catalogue_without_fetching(monkeypatch):
    import engine.data.download as download

    monkeypatch.setattr(download, "fetch", lambda *a, **k: pytest.fail("downloaded"))
    profile = profile_dataset(default_config("cifar10"))
    assert profile.sample_shape == (3, 32, 32) and profile.targets[0].num_classes == 10


def test_profiles_are_cached_until_the_data_file_changes(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,label\n1,2,0\n3,4,1\n5,6,2\n7,8,0\n9,1,1\n2,3,2\n4,4,0\n5,5,1\n")
    config = {"source": "csv", "path": "d.csv", "val_split": 0.25, "test_split": 0.0}
    first = profile_dataset(config, tmp_path)
    assert first.error is None and first.sample_shape == (2,)
    assert first.targets[0].num_classes == 3
    assert profile_dataset(config, tmp_path) is first
    key = profile_key(config, tmp_path)
    csv.write_text("a,b,c,label\n" + "1,2,3,0\n4,5,6,1\n" * 4)
    assert profile_key(config, tmp_path) != key
    assert profile_dataset(config, tmp_path).sample_shape == (3,)


def test_validator_reruns_checks_after_edits_and_drops_fixed_issues():
    g = mlp(head=10)
    fit = DataFit(profile_dataset(default_config("iris")))
    v = Validator(g, checks=[fit])
    assert [i.kind for i in v.validate().errors] == ["data"]
    g.set_param(g.by_name("head").id, "out_features", 3)
    assert v.validate().ok
    fit.loss = "mse"                 # mse on class labels: one value per sample
    v.recheck()
    [issue] = v.validate().errors
    assert issue.fix.value == 1
    fit.profile = None
    v.recheck()
    assert v.validate().ok


def test_every_example_fits_its_data():
    from engine.examples import example_paths
    for name, path in example_paths().items():
        report = fit_report(load_project(path))
        assert not [i for i in report.issues if i.kind == "data"], (name, report.text())


def test_studio_validate_exits_1_and_names_the_numbers(tmp_path, capsys):
    project = Project(mlp(head=10), default_config("iris"))
    path = save_project(project, tmp_path / "iris.nnproj")
    assert cli_main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "gives 10 values" in err and "has 3 classes" in err
    assert "set out_features to 3" in err


def test_a_new_project_starts_on_iris_and_its_settings_train_it(tmp_path):
    from engine.train import Trainer

    project = new_project()
    assert project.dataset["name"] == "iris" and not project.graph.nodes
    project.graph = mlp(in_shape=(1, 8, 8), flatten=True)   # the layers' own defaults
    apply_fixes(project)                                     # shape (4,), 3 classes
    result = Trainer(project, "cpu").fit()
    assert result.status == "completed"
    assert result.best["val_accuracy"] >= 0.9
