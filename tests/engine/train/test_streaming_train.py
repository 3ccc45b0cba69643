"""Training on data streamed from disk: the same seed gives the same loss curve as the
in-memory path (a .npy memmap and an image folder small enough for both), with and without
DataLoader worker processes."""
import numpy as np
import pytest
from PIL import Image

from engine.train.trainer import Trainer

from .helpers import chain, mlp_graph, project


def _losses(proj, **overrides):
    trainer = Trainer(proj, "cpu", run_dir=False, **overrides)
    result = trainer.fit()
    assert result.status == "completed", result
    streamed = getattr(trainer.state.train_data, "from_disk", False)
    return [(row["loss"], row["val_loss"]) for row in result.history], streamed


@pytest.fixture
def npy_project(tmp_path):
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 2, (3, 12))
    y = rng.integers(0, 3, 300)
    np.save(tmp_path / "x.npy", (centers[y] + rng.normal(size=(300, 12))).astype(np.float64))
    np.save(tmp_path / "y.npy", y)
    dataset = {"source": "npy", "path": "x.npy", "y_path": "y.npy", "seed": 1}
    return lambda **extra: project(mlp_graph(12, 16, 3, dropout=0.2), tmp_path,
                                   dataset={**dataset, **extra}, epochs=3, batch_size=32)


def test_streamed_npy_trains_to_the_same_losses_as_in_memory(npy_project):
    memory, streamed_mem = _losses(npy_project())
    disk, streamed = _losses(npy_project(stream=True))
    assert streamed and not streamed_mem
    assert disk == memory
    workers, _ = _losses(npy_project(memory_budget_mb=0.01), num_workers=2)  # auto: too big
    assert workers == memory


def test_stream_false_refuses_a_dataset_over_the_budget(npy_project):
    result = Trainer(npy_project(memory_budget_mb=0.01, stream=False), "cpu",
                     run_dir=False).fit()
    assert result.status == "failed"


@pytest.fixture
def photo_project(tmp_path):
    rng = np.random.default_rng(2)
    for c, colour in (("red", 0), ("green", 1), ("blue", 2)):
        (tmp_path / "photos" / c).mkdir(parents=True)
        for i in range(14):
            h, w = (int(v) for v in rng.integers(10, 24, 2))
            a = rng.integers(0, 120, (h, w, 3))
            a[..., colour] += 120
            Image.fromarray(a.astype(np.uint8)).save(tmp_path / "photos" / c / f"{i}.png")
    graph = chain([("conv.Conv2d", {"out_channels": 4, "kernel_size": 3}, "conv"),
                   ("act.ReLU", {}, "relu"), ("core.Flatten", {}, "flat"),
                   ("core.Linear", {"out_features": 3}, "fc")], (3, 12, 12))
    dataset = {"source": "image_folder", "path": "photos", "image_size": [12, 12],
               "color": "RGB", "normalize": "standard", "normalize_axis": "channel"}
    return lambda **extra: project(graph, tmp_path, dataset={**dataset, **extra}, epochs=2,
                                   batch_size=8)


def test_streamed_image_folder_trains_to_the_same_losses_as_in_memory(photo_project):
    memory, _ = _losses(photo_project())
    disk, streamed = _losses(photo_project(stream=True), num_workers=2)
    assert streamed and disk == memory


AUGMENT = {"flip": "horizontal", "rotate": 10,
           "color_jitter": {"brightness": 0.2, "contrast": 0.2, "saturation": 0.2}}


def test_augmentation_runs_in_the_workers_and_matches_the_in_memory_path(photo_project):
    plain, _ = _losses(photo_project())
    memory, _ = _losses(photo_project(augment=AUGMENT))
    disk, streamed = _losses(photo_project(augment=AUGMENT, stream=True), num_workers=2)
    assert streamed and memory != plain
    # the same seeds per batch; in memory the batch is denormalized first (float rounding)
    np.testing.assert_allclose(disk, memory, rtol=1e-4)


def test_a_bad_augmentation_setting_fails_the_run_with_its_name(photo_project, npy_project):
    result = Trainer(photo_project(augment={"rotate": "lots"}), "cpu", run_dir=False).fit()
    assert result.status == "failed" and "augment rotate" in str(result.error)
    result = Trainer(npy_project(augment={"flip": True}), "cpu", run_dir=False).fit()
    assert "augmentation needs image inputs" in str(result.error)


def test_insight_reads_a_streamed_validation_split(photo_project):
    from engine.insight import compute_insight

    trainer = Trainer(photo_project(stream=True), "cpu", run_dir=False)
    assert trainer.fit().status == "completed"
    ins = compute_insight(trainer.model, trainer.splits)
    assert ins.confusion.sum() == len(trainer.splits.val) == len(ins.x)
