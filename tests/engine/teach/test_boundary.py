"""Decision regions over the input plane: the grid, the reading of the outputs by loss, the
numbers against the model itself, and the live watcher on a real training run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.graph import Graph
from engine.insight import build_model
from engine.project import load_project
from engine.teach import BoundaryWatcher, Plane, decision_regions, plane_for, two_d_input
from engine.teach.boundary import as_regions
from engine.train.trainer import Trainer

EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"
CORNERS = np.array([[0, 0], [1, 1], [0, 1], [1, 0]], np.float32)
XOR = np.array([0, 0, 1, 1])


def test_plane_grid_and_cells():
    plane = Plane(0.0, 4.0, -2.0, 2.0, size=4)
    xs, ys = plane.axes()
    np.testing.assert_allclose(xs, [0.5, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(ys, [-1.5, -0.5, 0.5, 1.5])
    pts = plane.points()
    assert pts.shape == (16, 2)
    np.testing.assert_allclose(pts[5], [1.5, -0.5])          # row 1 (y), column 1 (x)
    row, col = plane.cell_of(np.array([[1.4, -0.6], [9, 9], [-9, -9]]))
    assert list(row) == [1, 3, 0] and list(col) == [1, 3, 0]


def test_plane_covers_the_points_with_a_margin():
    pts = np.array([[0, 0], [1, 2]], np.float32)
    plane = plane_for(pts, margin=0.25)
    assert plane.x_min < 0 and plane.x_max > 1 and plane.y_min < 0 and plane.y_max > 2
    assert plane.x_max - plane.x_min == pytest.approx(plane.y_max - plane.y_min)  # square
    assert plane_for(np.zeros((0, 2))).x_max > plane_for(np.zeros((0, 2))).x_min


@pytest.mark.parametrize("loss", ["bce_with_logits", "bce", "cross_entropy", "mse"])
def test_outputs_read_as_the_loss_trains_them(loss):
    plane = Plane(0, 1, 0, 1, size=2)
    if loss == "cross_entropy":
        out = np.array([[2.0, 0.0, -1.0], [0, 3, 0], [0, 0, 5], [1, 1, 1]])
        r = as_regions(out, loss, plane)
        want = torch.softmax(torch.tensor(out), 1).numpy()
        np.testing.assert_allclose(r.values.reshape(4, 3), want, rtol=1e-6)
        assert list(r.labels.ravel()) == [0, 1, 2, 0]
        return
    out = np.array([[-3.0], [0.0], [0.2], [4.0]])
    r = as_regions(out, loss, plane)
    if loss == "mse":
        assert r.kind == "value"
        np.testing.assert_allclose(r.values.ravel(), out.ravel())
        return
    p = torch.sigmoid(torch.tensor(out)).numpy().ravel() if loss == "bce_with_logits" \
        else np.clip(out.ravel(), 0, 1)
    np.testing.assert_allclose(r.values[..., 1].ravel(), p, rtol=1e-6)
    np.testing.assert_allclose(r.values.sum(axis=2), 1.0, rtol=1e-6)


def test_regions_equal_the_model_on_the_grid():
    project = load_project(EXAMPLES / "xor_mlp.nnproj")
    torch.manual_seed(3)
    model = build_model(project.graph)
    model.train()
    plane = Plane(-0.5, 1.5, -0.5, 1.5, size=16)
    r = decision_regions(model, plane, "bce_with_logits", step=7)
    with torch.no_grad():
        want = torch.sigmoid(model(torch.as_tensor(plane.points()))).numpy().reshape(16, 16)
    np.testing.assert_allclose(r.values[..., 1], want, rtol=1e-5, atol=1e-6)
    assert r.step == 7 and model.training                     # its mode is restored


def test_two_d_input_says_why_not():
    project = load_project(EXAMPLES / "xor_mlp.nnproj")
    assert two_d_input(project.graph) is None
    cnn = load_project(EXAMPLES / "digits_cnn.nnproj")
    assert "Input of 2 numbers" in two_d_input(cnn.graph)
    assert "exactly one Input" in two_d_input(Graph())


def test_watcher_follows_xor_training_until_the_corners_are_separated():
    project = load_project(EXAMPLES / "xor_mlp.nnproj")
    frames = []
    trainer = Trainer(project, "cpu", run_dir=False, epochs=60, event_interval=0.0)
    watcher = BoundaryWatcher(lambda: trainer.model, Plane(-0.5, 1.5, -0.5, 1.5, 32),
                              "bce_with_logits", frames.append, interval_s=0.0)
    trainer.add_callback(watcher)
    result = trainer.fit()
    assert result.status == "completed"
    assert result.history[-1]["val_binary_accuracy"] == 1.0
    assert len(frames) >= 60 and frames[0].step == 1          # from the first batch on
    assert not np.array_equal(frames[0].values, frames[-1].values)
    assert list(frames[-1].predict(CORNERS)) == list(XOR)
    assert list(frames[0].predict(CORNERS)) != list(XOR)      # it learned it, it was not given


def test_watcher_respects_its_rate_and_can_be_switched_off():
    class Ev:
        kind, global_step = "batch", 1
    calls = []
    model = torch.nn.Linear(2, 1)
    w = BoundaryWatcher(lambda: model, Plane(0, 1, 0, 1, 8), "bce_with_logits",
                        calls.append, interval_s=3600)
    for _ in range(5):
        w(Ev())
    assert len(calls) == 1                                    # one per interval
    Ev.kind = "paused"
    w(Ev())
    assert len(calls) == 2                                    # a pause (Step) always draws
    w.enabled = False
    w(Ev())
    assert len(calls) == 2
