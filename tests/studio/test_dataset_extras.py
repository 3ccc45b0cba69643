"""The dataset panel's augmentation settings (undoable, with a live before/after preview),
streaming choice and class-balance bar chart, on a real image folder; then another project."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.graph import Graph
from engine.project import Project, save_project
from studio.document import Document
from studio.ui.training.dataset import DatasetPicker

COUNTS = {"cat": 9, "dog": 4, "eel": 14}


def _graph(shape):
    g = Graph()
    inp = g.add_node("io.Input", {"shape": list(shape)}, name="x")
    flat = g.add_node("core.Flatten", {}, name="flat")
    fc = g.add_node("core.Linear", {"out_features": 3}, name="fc")
    out = g.add_node("io.Output", {}, name="y")
    for a, b in ((inp, flat), (flat, fc), (fc, out)):
        g.connect(a.id, "out", b.id, "in")
    return g


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(0)
    for name, n in COUNTS.items():
        (tmp_path / "photos" / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (12, 12, 3)).astype(np.uint8)).save(
                tmp_path / "photos" / name / f"{i}.png")
    dataset = {"source": "image_folder", "path": "photos", "image_size": [12, 12],
               "val_split": 0.0, "test_split": 0.0}
    return save_project(Project(_graph((3, 12, 12)), dataset, {"epochs": 1}),
                        tmp_path / "p.nnproj")


def _previewed(qtbot, path) -> tuple[Document, DatasetPicker]:
    from engine.project import load_project

    doc = Document(load_project(path), autosave_ms=0)
    picker = DatasetPicker(doc)
    qtbot.addWidget(picker)
    picker.load_preview()
    qtbot.waitUntil(lambda: picker.preview_data is not None, timeout=60_000)
    return doc, picker


def test_class_balance_shows_the_training_counts(qtbot, photos):
    _, picker = _previewed(qtbot, photos)
    balance = picker.extras.balance
    assert balance.isVisibleTo(picker) and balance.counts == list(COUNTS.items())
    bars = [i for i in balance.plot.getPlotItem().items if hasattr(i, "opts") and
            "height" in i.opts]
    assert list(bars[0].opts["height"]) == list(COUNTS.values())
    assert "4–14 samples per class" in balance.title.text()


def test_augmentation_edits_are_undoable_and_the_preview_follows(qtbot, photos):
    doc, picker = _previewed(qtbot, photos)
    extras = picker.extras
    assert extras.before_after.count() == 0          # no augmentation: nothing to compare
    extras.flip.setCurrentIndex(extras.flip.findData("horizontal"))
    extras.flip.activated.emit(extras.flip.currentIndex())
    extras.amounts["brightness"].setValue(0.4)
    assert doc.project.dataset["augment"] == {"flip": "horizontal",
                                              "color_jitter": {"brightness": 0.4}}
    assert picker.preview_data is not None           # the samples are still shown
    assert extras.before_after.count() == 8          # 4 originals above 4 augmented
    first = _after_images(extras)
    extras.again.click()
    assert _after_images(extras) != first            # new random draws
    doc.undo_stack.undo()
    picker.refresh()
    assert doc.project.dataset["augment"] == {"flip": "horizontal"}
    assert extras.amounts["brightness"].value() == 0.0
    doc.undo_stack.undo()
    picker.refresh()
    assert "augment" not in doc.project.dataset and extras.before_after.count() == 0
    extras.amounts["rotate"].setValue(400)            # clamped by the spin box
    assert doc.project.dataset["augment"] == {"rotate": 180.0}


def test_stream_choice_is_a_dataset_setting_and_another_project_resets(qtbot, photos,
                                                                       tmp_path):
    doc, picker = _previewed(qtbot, photos)
    combo = picker.extras.stream.widget
    combo.setCurrentIndex(combo.findData(True))
    combo.activated.emit(combo.currentIndex())
    assert doc.project.dataset["stream"] is True
    picker.extras.workers.widget.setValue(1)
    assert doc.project.training["num_workers"] == 1
    doc.undo_stack.undo()
    picker.refresh()
    assert "num_workers" not in doc.project.training
    assert picker.extras.workers.widget.value() == 0
    np.save(tmp_path / "x.npy", np.zeros((20, 4), np.float32))
    other = save_project(Project(_graph((4,)), {"source": "npy", "path": "x.npy"},
                                 {"epochs": 1}), tmp_path / "q.nnproj")
    _, picker2 = _previewed(qtbot, other)
    assert not picker2.extras.balance.isVisibleTo(picker2)       # no classes
    assert picker2.extras.stream.widget.currentData() == "auto"
    assert picker2.extras.before_after.count() == 0


def _after_images(extras) -> list[bytes]:
    cells = [extras.before_after.itemAtPosition(1, c).widget() for c in range(4)]
    return [bytes(c.pixmap().toImage().constBits()) for c in cells]


def test_the_app_trains_on_a_streamed_folder_with_workers_and_augmentation(qtbot, photos):
    """The training panel's background thread streams the folder through two DataLoader
    worker processes (augmenting there), then the next project trains in memory."""
    from engine.project import load_project
    from engine.train.events import EpochEnded, RunFailed, RunStarted
    from studio.ui.training.panel import TrainingPanel

    project = load_project(photos)
    project.dataset.update(stream=True, augment={"flip": "horizontal", "rotate": 10})
    project.training.update(epochs=2, batch_size=8, num_workers=2)
    doc = Document(project, autosave_ms=0)
    panel = TrainingPanel(doc)
    qtbot.addWidget(panel)
    events = []
    panel.extra_callbacks.append(events.append)
    try:
        panel.start()
        qtbot.waitUntil(lambda: panel.worker is None, timeout=180_000)
    finally:
        panel.shutdown()
    assert not [e for e in events if isinstance(e, RunFailed)]
    started = next(e for e in events if isinstance(e, RunStarted))
    assert any("streams from disk" in n and "2 worker processes" in n for n in started.notes)
    assert sum(isinstance(e, EpochEnded) for e in events) == 2
