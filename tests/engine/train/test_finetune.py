"""Transfer learning in the trainer: a learning rate per node as optimizer param groups (kept
in step by every schedule), and the fine-tune schedule that trains the classifier alone for K
epochs, then the whole network."""
import pytest
import torch

from engine.train import Trainer
from engine.train.config import ConfigError, resolve_config
from engine.train.events import EpochEnded

from .helpers import blobs, chain, mlp_graph, project


def _trainer(tmp_path, **training):
    return Trainer(project(mlp_graph(), tmp_path, **training), "cpu", data=blobs(),
                   run_dir=False)


def test_lr_scales_are_param_groups_of_the_optimizer(tmp_path):
    trainer = _trainer(tmp_path, lr_scales={"fc1": 0.1})
    trainer.setup()
    groups = trainer.state.optimizer.param_groups
    assert [(g["nodes"], g["lr_scale"]) for g in groups] == [(["fc2"], 1.0), (["fc1"], 0.1)]
    assert [g["lr"] for g in groups] == pytest.approx([0.01, 0.001])
    model = trainer.state.model
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in model.fc1.parameters()}


def test_every_schedule_step_keeps_the_scales(tmp_path):
    seen = []
    trainer = _trainer(tmp_path, epochs=3, lr_scales={"fc1": 0.25},
                       schedule={"name": "step", "step_size": 1, "gamma": 0.5})
    trainer.add_callback(lambda e: isinstance(e, EpochEnded) and seen.append(
        [g["lr"] for g in trainer.state.optimizer.param_groups]))
    assert trainer.fit().status == "completed"
    assert seen == [pytest.approx([0.01 * 0.5 ** e, 0.0025 * 0.5 ** e]) for e in range(3)]


def test_a_scaled_layer_learns_slower_than_with_one_group(tmp_path):
    """The same run with fc1 at 0.0x-ish scale moves fc1 far less (the group is really used)."""
    def moved(**kw):
        trainer = _trainer(tmp_path, epochs=2, **kw)
        trainer.setup()
        before = trainer.state.model.fc1.weight.detach().clone()
        trainer.fit()
        return (trainer.state.model.fc1.weight - before).abs().sum().item()

    assert moved(lr_scales={"fc1": 0.001}) < 0.01 * moved()


def test_fine_tune_trains_the_classifier_alone_then_unfreezes_at_epoch_k(tmp_path):
    weights = []
    trainer = _trainer(tmp_path, epochs=4, fine_tune={"freeze_epochs": 2},
                       lr_scales={"fc1": 0.1})
    trainer.setup()
    model = trainer.state.model
    start = (model.fc1.weight.detach().clone(), model.fc2.weight.detach().clone())
    trainer.add_callback(lambda e: isinstance(e, EpochEnded) and weights.append(
        (model.fc1.weight.detach().clone(), model.fc2.weight.detach().clone())))
    assert trainer.fit().status == "completed"
    assert trainer.state.fine_tune.head == "fc2"
    fc1 = [start[0]] + [w[0] for w in weights]
    fc2 = [start[1]] + [w[1] for w in weights]
    assert torch.equal(fc1[0], fc1[1]) and torch.equal(fc1[1], fc1[2])   # epochs 1-2 frozen
    assert not torch.equal(fc1[2], fc1[3]) and not torch.equal(fc1[3], fc1[4])
    assert all(not torch.equal(fc2[i], fc2[i + 1]) for i in range(4))
    assert all(p.requires_grad for p in model.parameters())


def test_a_layer_frozen_by_the_user_stays_frozen_through_fine_tuning(tmp_path):
    g = chain([("core.Linear", {"out_features": 8}, "fc0"), ("act.Tanh", {}, "a0"),
               ("core.Linear", {"out_features": 8}, "fc1"), ("act.Tanh", {}, "a1"),
               ("core.Linear", {"out_features": 3}, "fc2")], trainable={"fc0": False})
    trainer = Trainer(project(g, tmp_path, epochs=2, fine_tune={"freeze_epochs": 1}), "cpu",
                      data=blobs(), run_dir=False)
    trainer.setup()
    model = trainer.state.model
    fc0, fc1 = model.fc0.weight.detach().clone(), model.fc1.weight.detach().clone()
    assert trainer.fit().status == "completed"
    assert torch.equal(model.fc0.weight, fc0) and not model.fc0.weight.requires_grad
    assert not torch.equal(model.fc1.weight, fc1)


def test_fine_tune_needs_something_besides_the_classifier(tmp_path):
    g = mlp_graph(trainable={"fc1": False})
    trainer = Trainer(project(g, tmp_path, epochs=1, fine_tune={"freeze_epochs": 1}), "cpu",
                      data=blobs(), run_dir=False)
    result = trainer.fit()
    assert result.status == "failed" and "nothing to unfreeze" in str(result.error)


@pytest.mark.parametrize("training, message", [
    ({"lr_scales": {"fc1": 0}}, "training.lr_scales.fc1 must be > 0"),
    ({"lr_scales": {"fc1": "x"}}, "training.lr_scales.fc1 must be a number"),
    ({"lr_scales": [1]}, "training.lr_scales must be an object"),
    ({"fine_tune": {"freeze_epochs": 0}}, "training.fine_tune.freeze_epochs must be >= 1"),
    ({"fine_tune": {"epochs": 2}}, "training.fine_tune.epochs is not a known setting"),
])
def test_bad_settings_are_refused_naming_the_key(training, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        resolve_config(training)


def test_an_unknown_node_name_is_refused(tmp_path):
    result = _trainer(tmp_path, lr_scales={"fc9": 0.1}).fit()
    assert result.status == "failed" and "no top-level node named 'fc9'" in str(result.error)


def test_start_from_weights_takes_the_projects_stored_weights(tmp_path):
    import numpy as np

    g = mlp_graph()
    w = np.full((8, 4), 0.25, dtype=np.float32)
    g.weights = {"fc1": {"weight": w}}
    seeded = _trainer(tmp_path)
    seeded.project.graph.weights = g.weights
    seeded.setup()
    assert not np.array_equal(seeded.state.model.fc1.weight.detach().numpy(), w)
    trainer = Trainer(project(g, tmp_path, start_from="weights"), "cpu", data=blobs(),
                      run_dir=False)
    trainer.setup()
    assert np.array_equal(trainer.state.model.fc1.weight.detach().numpy(), w)
    with pytest.raises(ConfigError, match="training.start_from must be one of seed, weights"):
        resolve_config({"start_from": "best"})
