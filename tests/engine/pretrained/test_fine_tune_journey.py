"""The fine-tuning journey end to end (small): an image folder of photos at mixed sizes ->
ResNet-18 with (torchvision-format) pretrained weights -> a head for its 3 classes -> the
fine-tune preset (the head alone for 2 epochs, then all at 0.1x) -> a confusion matrix ->
the exported script (started from the project's weights), whose every epoch equals the
app's (to float rounding: each side decodes the images)."""
import json
import runpy

import numpy as np
import pytest
import torch

from engine import load_project
from engine.cli import main
from engine.export.script import export_script
from engine.train import Trainer
from engine.train.events import EpochEnded

from . import reference


def _photos(folder, per_class=4):
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, c in enumerate(("cat", "dog", "owl")):
        (folder / c).mkdir(parents=True)
        for i in range(per_class):
            size = (int(rng.integers(40, 90)), int(rng.integers(40, 90)))
            pixels = rng.integers(0, 90, (*size, 3)) + 80 * k
            Image.fromarray(pixels.astype(np.uint8)).save(folder / c / f"{i}.png")
    return folder


@pytest.mark.slow
def test_photos_to_fine_tuned_resnet18_and_the_script_that_does_the_same(tmp_path,
                                                                         monkeypatch):
    state = reference.randomized_state(reference.make("resnet18"), seed=5)
    torch.save(state, tmp_path / "resnet18-local.pth")
    _photos(tmp_path / "photos")
    dest = tmp_path / "fine.nnproj"
    assert main(["new", "--pretrained", "resnet18", "--weights",
                 str(tmp_path / "resnet18-local.pth"), "--data", str(tmp_path / "photos"),
                 str(dest)]) == 0
    project = load_project(dest)
    project.training.update({"epochs": 3, "batch_size": 4,
                             "metrics": ["accuracy", "confusion_matrix"]})
    _smaller_photos(project, 64)       # ResNet-18 at 64 px: 12x less arithmetic than at 224
    torch.set_num_threads(1)
    trainer = Trainer(project, "cpu", run_dir=False)
    trainer.setup()
    model = trainer.state.model
    seen = []
    trainer.add_callback(lambda e: isinstance(e, EpochEnded) and seen.append(
        (model.layer3[0].conv1.weight.detach().clone(), model.fc.weight.detach().clone())))
    result = trainer.fit()
    assert result.status == "completed", result.error
    pretrained = state["layer3.0.conv1.weight"]
    assert torch.equal(seen[0][0], pretrained) and torch.equal(seen[1][0], pretrained)
    assert not torch.equal(seen[2][0], pretrained)          # unfrozen at epoch 3
    assert not torch.equal(seen[0][1], seen[1][1])          # the head learned from epoch 1
    matrix = np.array(result.history[-1]["val_confusion_matrix"])
    assert matrix.shape == (3, 3) and matrix.sum() == len(trainer.splits.val)
    _check_worst_predictions(trainer, matrix)
    (tmp_path / "out").mkdir()
    script = export_script(project, tmp_path / "out" / "fine.py")
    text = script.read_text()
    assert "parameters_of(model.conv1, model.bn1, model.layer1" in text
    assert "w.requires_grad_(epoch >= 2)" in text
    monkeypatch.chdir(script.parent)
    namespace = runpy.run_path(str(script), run_name="exported_script")
    weights = [f for f in dest.parent.iterdir() if f.suffix == ".safetensors"]
    assert len(weights) == 1   # the project's weights, saved beside it
    assert project.training["start_from"] == "weights"
    namespace["main"](["--device", "cpu", "--history", "history.jsonl", "--weights",
                       str(weights[0])])
    rows = [json.loads(line) for line in (script.parent / "history.jsonl").read_text()
            .splitlines() if '"epoch"' in line]
    app = [{k: v for k, v in r.items() if k not in ("elapsed_s", "samples_per_s")}
           for r in result.history]
    assert [sorted(r) for r in rows] == [sorted(r) for r in app]
    for mine, theirs in zip(rows, app):   # each side decodes the images: float noise, which
        # training the whole network amplifies once the backbone is unfrozen (epoch 3)
        rel = 1e-5 if theirs["epoch"] <= 2 else 1e-2
        for key, value in theirs.items():
            if isinstance(value, float):
                assert mine[key] == pytest.approx(value, rel=rel, abs=1e-5), key
            elif key != "val_confusion_matrix" or theirs["epoch"] <= 2:
                assert mine[key] == value, key


def _smaller_photos(project, side: int) -> None:
    """Train on `side` x `side` crops instead of the preset's 224: the same preprocessing
    (resize the shorter side, centre crop, fixed mean and std) and the same network (its
    global average pool takes any size), for a fraction of the time."""
    image = next(n for n in project.graph.nodes.values() if n.type == "io.Input")
    project.graph.set_param(image.id, "shape", [3, side, side])
    project.dataset.update({"image_size": [side, side], "resize": side * 8 // 7})


def _check_worst_predictions(trainer, matrix):
    """The worst-predictions view's order, from the model itself: every validation photo once,
    the wrong answers first (most confident first), then the right ones (least confident
    first); the view's confusion matrix is the run's last."""
    from engine.insight import compute_insight
    from engine.insight.compute import ranked_predictions

    insight = compute_insight(trainer.model, trainer.splits)
    order = ranked_predictions(insight)
    x, y = trainer.splits.val.x, trainer.splits.val.y[0]
    trainer.model.eval()
    with torch.no_grad():
        probs = torch.softmax(trainer.model(torch.as_tensor(x[np.arange(len(x))])), 1).numpy()
    pred = probs.argmax(1)
    np.testing.assert_array_equal(insight.pred, pred)
    np.testing.assert_array_equal(insight.confusion, matrix)
    assert sorted(order.tolist()) == list(range(len(y)))
    wrong = pred[order] != y[order]
    assert not np.any(np.diff(wrong.astype(int)) > 0)      # the wrong answers come first
    conf = probs[order, pred[order]]
    assert np.all(np.diff(conf[wrong]) <= 1e-6) and np.all(np.diff(conf[~wrong]) >= -1e-6)
