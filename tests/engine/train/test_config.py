import pytest

from engine.train.config import DEFAULTS, ConfigError, losses_for, metrics_for, resolve_config


def test_defaults_fill_every_key():
    cfg = resolve_config({})
    assert cfg["epochs"] == DEFAULTS["epochs"]
    assert cfg["optimizer"]["name"] == "adam" and cfg["optimizer"]["lr"] == 1e-3
    assert cfg["schedule"]["name"] == "constant"


def test_project_values_and_overrides():
    cfg = resolve_config({"epochs": 7, "optimizer": {"name": "sgd", "lr": 0.5}},
                         {"lr": 0.1, "batch_size": 8, "seed": None})
    assert cfg["epochs"] == 7 and cfg["batch_size"] == 8
    assert cfg["optimizer"] == {**DEFAULTS["optimizer"], "name": "sgd", "lr": 0.1}


@pytest.mark.parametrize("training, message", [
    ({"optimizer": {"lr": -1}}, "training.optimizer.lr must be > 0, got -1"),
    ({"optimizer": {"name": "lbfgs"}}, "training.optimizer.name must be one of"),
    ({"epochs": 0}, "training.epochs must be >= 1, got 0"),
    ({"batch_size": 2.5}, "training.batch_size must be an integer, got 2.5"),
    ({"schedule": {"name": "cosine", "gamma": 0}}, "training.schedule.gamma must be > 0"),
    ({"loss": ["mse", "nope"]}, "training.loss[1] must be one of"),
    ({"metrics": ["accuracy", "auc"]}, "training.metrics[1] must be one of"),
    ({"optimzer": {}}, "training.optimzer is not a known setting"),
    ({"optimizer": {"lr": 0.1, "betas": [0.9]}}, "training.optimizer.betas must be two"),
    ({"early_stopping": {"patience": -1}}, "training.early_stopping.patience must be >= 0"),
    ({"early_stopping": {"monitr": "val_loss"}}, "training.early_stopping.monitr is not"),
    ({"grad_clip": {"norm": 0}}, "training.grad_clip.norm must be > 0, got 0"),
    ({"regularization": {"l2": {"fc1": -0.1}}}, "training.regularization.l2.fc1 must be >= 0"),
    ({"device": "tpu"}, "training.device must be auto, cpu, cuda"),
    ({"mixed_precision": "fp8"}, "training.mixed_precision must be one of"),
])
def test_errors_name_the_key(training, message):
    with pytest.raises(ConfigError) as err:
        resolve_config(training)
    assert message in str(err.value)


def test_loss_and_metric_defaults_follow_the_task():
    cfg = resolve_config({})
    assert losses_for(cfg, ["classification", "regression"], 2) == ["cross_entropy", "mse"]
    assert metrics_for(cfg, ["cross_entropy"]) == ["accuracy"]
    cfg = resolve_config({"loss": ["mse", "mae"]})
    with pytest.raises(ConfigError, match="lists 2 losses but the model has 3"):
        losses_for(cfg, [], 3)
