"""Each lesson preset trains and shows what its description promises (the numbers the notes
quote are checked here on the presets as shipped)."""
from __future__ import annotations

import numpy as np
import pytest

from engine.examples import example_path, lesson_paths
from engine.project import load_project
from engine.train.trainer import Trainer

LESSONS = lesson_paths()


def _train(name, **overrides):
    project = load_project(LESSONS[name])
    norms = []
    trainer = Trainer(project, "cpu", [lambda e: norms.append(dict(e.norms))
                                       if e.kind == "grad_norms" else None],
                      run_dir=False, **overrides)
    result = trainer.fit()
    assert result.status == "completed", result.error
    return trainer, result.history, norms


def test_every_lesson_has_a_description_and_a_note_and_opens_by_name():
    assert len(LESSONS) == 7
    for name, path in LESSONS.items():
        meta = load_project(path).meta
        assert meta["description"].startswith("Lesson: ")
        assert len(meta["lesson"]) > 200
        assert example_path(name) == path


def test_perceptron_never_beats_75_percent_on_xor_but_one_hidden_layer_reaches_100():
    trainer, history, _ = _train("lesson_perceptron_xor")
    assert max(row["binary_accuracy"] for row in history) <= 0.75
    assert trainer.evaluate("train")["binary_accuracy"] <= 0.75
    _, history, _ = _train("lesson_xor_hidden_layer")
    accuracy = [row["binary_accuracy"] for row in history]
    assert accuracy[-1] == 1.0 and accuracy.index(1.0) < 60   # "within a few dozen epochs"


@pytest.mark.slow
def test_overfitting_then_dropout_and_l2_close_the_gap():
    _, plain, _ = _train("lesson_overfitting")
    _, regular, _ = _train("lesson_overfitting_regularised")
    end = plain[-1]
    assert end["binary_accuracy"] >= 0.95 and end["val_binary_accuracy"] <= 0.85
    best = min(r["val_loss"] for r in plain)
    assert end["val_loss"] > 5 * best                       # it climbs far above its best
    r_end = regular[-1]
    assert r_end["val_binary_accuracy"] > end["val_binary_accuracy"] + 0.05
    assert r_end["binary_accuracy"] - r_end["val_binary_accuracy"] < \
        end["binary_accuracy"] - end["val_binary_accuracy"] - 0.1
    assert r_end["val_loss"] < 1.5 * min(r["val_loss"] for r in regular)


@pytest.mark.slow
def test_vanishing_gradients_sigmoid_against_relu():
    def first_to_last(trainer, norms):
        linears = [n.id for n in trainer.project.graph.nodes.values() if n.type == "core.Linear"]
        ratios = [row[linears[0]] / row[linears[-1]] for row in norms
                  if row.get(linears[-1])]
        return float(np.median(ratios))

    sig, sig_hist, sig_norms = _train("lesson_vanishing_sigmoid")
    relu, relu_hist, relu_norms = _train("lesson_vanishing_relu")
    assert first_to_last(sig, sig_norms) < 1e-4             # "about a millionth"
    assert first_to_last(relu, relu_norms) > 1e-3           # "within about a hundred"
    assert sig_hist[-1]["val_binary_accuracy"] < 0.65        # stays near chance
    assert relu_hist[-1]["val_binary_accuracy"] >= 0.95


def test_learning_rate_too_high_diverges_and_a_lower_one_does_not():
    _, history, _ = _train("lesson_learning_rate_too_high")
    loss = [row["loss"] for row in history]
    low = min(loss)
    assert loss[-1] > 1e4 * low                              # "over ten thousand times"
    assert all(b > a for a, b in zip(loss[-10:], loss[-9:]))  # climbing, step after step
    _, history, _ = _train("lesson_learning_rate_too_high",
                           optimizer={"name": "sgd", "lr": 0.05})
    loss = [row["loss"] for row in history]
    assert loss[-1] <= 1.05 * min(loss) and loss[-1] < 0.1 * loss[0]
