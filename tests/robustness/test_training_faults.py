"""Training faults: each gives a failed run with a clear message, and the checkpoints written
before the fault stay intact (byte for byte, loadable, and a run can resume from them)."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

pytest.importorskip("engine.train.trainer")

from engine.data.base import DataError
from engine.train import checkpoint as ckpt
from engine.train.trainer import Trainer

from ..engine.train.helpers import chain, mlp_graph, project

EPOCHS = 2


def write_blobs(path, n=96, seed=0, inf_at=None):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (3, 4))
    y = rng.integers(0, 3, n)
    x = (centers[y] + rng.normal(0, 0.7, (n, 4))).astype(np.float32)
    if inf_at is not None:
        x[inf_at, 1] = np.inf
    np.savez(path, x=x, y=y.astype(np.int64))


def digest(run_dir) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run_dir.iterdir()) if p.is_file()}


@pytest.fixture
def trained(tmp_path):
    """A project trained for EPOCHS epochs on an .npz file: (project, run dir, digest)."""
    write_blobs(tmp_path / "data.npz")
    proj = project(mlp_graph(), tmp_path, dataset={"source": "npz", "path": "data.npz"},
                   epochs=EPOCHS)
    result = Trainer(proj, "cpu").fit()
    assert result.status == "completed", result.error
    return proj, result.run_dir, digest(result.run_dir)


def fit(proj, *, on_event=None, **kw):
    events = []

    def callback(ev):
        events.append(ev)
        if on_event:
            on_event(trainer, ev)

    trainer = Trainer(proj, "cpu", [callback], **kw)
    return trainer, trainer.fit(), events


def failed(result, events, kind: str, *words: str) -> str:
    assert result.status == "failed"
    assert events[-1].kind == "failed" and events[-1].cause == kind, events[-1]
    message = events[-1].message
    assert message == str(result.error)
    for w in words:
        assert w in message, message
    assert "Traceback" not in message  # the traceback travels separately
    return message


def assert_last_checkpoint_good(run_dir, epoch: int):
    weights, _state, info = ckpt.load_checkpoint(run_dir, "last")
    assert info["epoch"] == epoch
    assert weights and all(np.isfinite(t).all() for n in weights.values() for t in n.values())
    best, _, _info = ckpt.load_checkpoint(run_dir, "best")
    assert all(np.isfinite(t).all() for n in best.values() for t in n.values())
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, epoch + 1))


def assert_resumable(proj, run_dir, epochs: int):
    _, result, _ = fit(proj, resume_from=run_dir, epochs=epochs)
    assert result.status == "completed", result.error
    assert result.history[-1]["epoch"] == epochs


# -- faults in the middle of a run: the run stops, the previous epoch's checkpoint stays ------

def break_after_epoch(epoch: int, action):
    """An event hook that runs `action(trainer)` once epoch `epoch`'s checkpoints are written."""
    def hook(trainer, ev):
        if ev.kind == "checkpoint" and ev.which == "last" and ev.epoch == epoch:
            action(trainer)
    return hook


def poison_weights(trainer):
    import torch
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.fill_(float("nan"))


def test_nan_weights_mid_run(trained):
    proj, run_dir, _ = trained
    _, result, events = fit(proj, resume_from=run_dir, epochs=EPOCHS + 2,
                            on_event=break_after_epoch(EPOCHS + 1, poison_weights))
    failed(result, events, "nan", "NaN", f"epoch {EPOCHS + 2}", "learning rate")
    assert_last_checkpoint_good(run_dir, EPOCHS + 1)  # NaN weights were never saved
    assert_resumable(proj, run_dir, EPOCHS + 2)


def test_infinite_values_in_the_data_file(trained):
    proj, run_dir, before = trained
    write_blobs(proj.folder / "data.npz", inf_at=7)
    _, result, events = fit(proj)
    failed(result, events, "data", "data.npz", "infinite")
    assert digest(run_dir) == before


def test_the_sample_with_infinite_values_is_named(tmp_path):
    from engine.data.loader import load_dataset
    write_blobs(tmp_path / "data.npz", inf_at=7)
    with pytest.raises(DataError, match="sample 7 "):
        load_dataset({"source": "npz", "path": "data.npz"}, tmp_path, (4,), "float")


@pytest.mark.parametrize("source", ["npy", "npz"])
def test_an_empty_array_file_is_named(tmp_path, source):
    from engine.data.loader import load_dataset
    (tmp_path / f"data.{source}").write_bytes(b"")
    with pytest.raises(DataError, match=rf"data\.{source} is empty"):
        load_dataset({"source": source, "path": f"data.{source}"}, tmp_path, (4,), "float")


def raise_in_forward(trainer):
    module = dict(trainer.model.named_modules())[trainer.model.studio_code.attrs["fc2"]]
    module.register_forward_hook(lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))


def test_exception_in_forward_names_the_node(trained):
    proj, run_dir, _ = trained
    _, result, events = fit(proj, resume_from=run_dir, epochs=EPOCHS + 2,
                            on_event=break_after_epoch(EPOCHS + 1, raise_in_forward))
    failed(result, events, "forward", "fc2", "boom", f"epoch {EPOCHS + 2}")
    assert events[-1].node_id == "fc2"
    assert_last_checkpoint_good(run_dir, EPOCHS + 1)


def test_exception_while_reading_batches(trained):
    proj, run_dir, _ = trained

    def break_data(trainer):
        def broken(*args, **kwargs):
            raise OSError(5, "Input/output error")
            yield  # makes this a generator, like the real one
        trainer.state.train_data.batches = broken

    _, result, events = fit(proj, resume_from=run_dir, epochs=EPOCHS + 2,
                            on_event=break_after_epoch(EPOCHS + 1, break_data))
    failed(result, events, "data", "Input/output error", f"epoch {EPOCHS + 2}")
    assert_last_checkpoint_good(run_dir, EPOCHS + 1)


# -- bad data files: refused before training starts, earlier runs untouched -----------------

def test_missing_data_file(trained):
    proj, run_dir, before = trained
    (proj.folder / "data.npz").unlink()
    _, result, events = fit(proj, resume_from=run_dir, epochs=EPOCHS + 1)
    failed(result, events, "data", "data.npz", "not found")
    assert digest(run_dir) == before
    write_blobs(proj.folder / "data.npz")  # put it back: the run continues where it was
    assert_resumable(proj, run_dir, EPOCHS + 1)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "pickled_object"])
def test_corrupt_data_file(trained, damage):
    proj, run_dir, before = trained
    path = proj.folder / "data.npz"
    raw = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x89PNG not a zip at all" * 50)
    elif damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        np.savez(path, x=np.array([{"a": 1}] * 4, dtype=object), y=np.zeros(4))
    _, result, events = fit(proj)
    message = failed(result, events, "data", "data.npz")
    assert damage != "empty" or "is empty" in message, message
    assert digest(run_dir) == before


def write_csv(path, rows):
    path.write_text("\n".join(",".join(map(str, r)) for r in rows) + "\n", "utf-8")


def csv_project(tmp_path, rows, **dataset):
    write_csv(tmp_path / "table.csv", rows)
    ds = {"source": "csv", "path": "table.csv", "target": "label", **dataset}
    return project(mlp_graph(in_dim=2, out=2), tmp_path, dataset=ds, epochs=1)


GOOD = [["a", "b", "label"]] + [[i % 5, (i * 7) % 3, i % 2] for i in range(40)]


@pytest.mark.parametrize("bad_cell,words", [
    ("abc", ["row 5", "'b'", "'abc'"]), ("", ["row 5", "'b'", "empty"]),
    ("inf", ["row 5", "'b'", "finite"]), ("1e999", ["row 5", "'b'"]),
])
def test_csv_with_a_wrong_column_type(tmp_path, bad_cell, words):
    rows = [list(r) for r in GOOD]
    rows[4][1] = bad_cell  # data row 4 is line 5 of the file
    _, result, events = fit(csv_project(tmp_path, rows))
    failed(result, events, "data", "table.csv", *words)


def test_csv_ragged_and_binary(tmp_path):
    rows = [list(r) for r in GOOD]
    rows[10] = rows[10] + [99]
    _, result, events = fit(csv_project(tmp_path, rows))
    failed(result, events, "data", "table.csv", "row 11")
    (tmp_path / "table.csv").write_bytes(b"a,b,label\n1,2,0\n\xff\xfe\x00\x01,3,1\n")
    proj = project(mlp_graph(in_dim=2, out=2), tmp_path,
                   dataset={"source": "csv", "path": "table.csv", "target": "label"}, epochs=1)
    _, result, events = fit(proj)
    failed(result, events, "data", "table.csv", "UTF-8")


def test_csv_good_file_trains(tmp_path):
    _, result, _ = fit(csv_project(tmp_path, GOOD))
    assert result.status == "completed", result.error


# -- images of mixed sizes and modes ------------------------------------------------------------

def image_folder(root, corrupt: bool = False):
    from PIL import Image
    rng = np.random.default_rng(0)
    specs = [("L", (8, 8)), ("RGB", (12, 10)), ("RGBA", (16, 16)), ("P", (9, 7)),
             ("1", (8, 8)), ("I;16", (8, 8)), ("LA", (5, 20)), ("CMYK", (8, 8))]
    for label in ("cats", "dogs"):
        (root / label).mkdir(parents=True)
        for i, (mode, size) in enumerate(specs):
            arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
            im = Image.fromarray(arr).convert(mode) if mode != "I;16" else \
                Image.fromarray(arr[..., 0].astype(np.uint16) * 200)
            ext = "png" if mode != "CMYK" else "jpg"
            im.save(root / label / f"{i}_{mode.replace(';', '')}.{ext}")
    if corrupt:
        (root / "dogs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)


def image_project(tmp_path, **dataset):
    g = chain([("core.Flatten", {}, "flat"), ("core.Linear", {"out_features": 2}, "fc")],
              in_shape=(1, 8, 8))
    ds = {"source": "image_folder", "path": "images", "image_size": [8, 8], "color": "L",
          "val_split": 0.25, **dataset}
    return project(g, tmp_path, dataset=ds, epochs=1, batch_size=4)


def test_images_of_mixed_sizes_and_modes_train(tmp_path):
    image_folder(tmp_path / "images")
    _, result, events = fit(image_project(tmp_path))
    assert result.status == "completed", result.error
    assert events[0].train_size + events[0].val_size >= 12


def test_a_corrupt_image_is_named_or_skipped(tmp_path):
    image_folder(tmp_path / "images", corrupt=True)
    _, result, events = fit(image_project(tmp_path))
    failed(result, events, "data", "broken.png")
    _, result, _ = fit(image_project(tmp_path, on_error="skip"))
    assert result.status == "completed", result.error


# -- a stop (or a crash) while a checkpoint is being written ----------------------------------

def test_stop_during_checkpoint_write_leaves_a_complete_checkpoint(tmp_path, monkeypatch):
    write_blobs(tmp_path / "data.npz")
    proj = project(mlp_graph(), tmp_path, dataset={"source": "npz", "path": "data.npz"},
                   epochs=5, checkpoint_interval=0)  # a checkpoint every epoch
    real = ckpt.save_weights
    box = {}

    def save_weights_then_stop(path, weights):
        if path.name == "last.safetensors" and box.get("calls", 0) == 1:
            box["trainer"].stop()  # the Stop button, pressed while the file is written
        box["calls"] = box.get("calls", 0) + (path.name == "last.safetensors")
        real(path, weights)

    monkeypatch.setattr(ckpt, "save_weights", save_weights_then_stop)
    trainer = Trainer(proj, "cpu")
    box["trainer"] = trainer
    result = trainer.fit()
    assert result.status == "stopped"
    assert_last_checkpoint_good(result.run_dir, 2)
    monkeypatch.setattr(ckpt, "save_weights", real)
    assert_resumable(proj, result.run_dir, 5)


def test_disk_full_during_checkpoint_write(tmp_path, monkeypatch):
    write_blobs(tmp_path / "data.npz")
    proj = project(mlp_graph(), tmp_path, dataset={"source": "npz", "path": "data.npz"},
                   epochs=4, checkpoint_interval=0)  # a checkpoint every epoch
    real = ckpt.atomic_write
    calls = {"n": 0}

    def atomic_write_fails_at_epoch_3(path, data):
        if path.name == "last.json":
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(ckpt, "atomic_write", atomic_write_fails_at_epoch_3)
    _, result, events = fit(proj)
    run_dir = result.run_dir
    message = failed(result, events, "error", "No space left on device")
    assert message == f"could not write checkpoint {run_dir / 'last.json'}: " \
        "No space left on device"
    monkeypatch.setattr(ckpt, "atomic_write", real)
    assert not (run_dir / "last.pending").exists()  # the half-written set was removed
    info = ckpt.read_json(run_dir / "last.json")
    assert info["epoch"] == 2  # the JSON of the last good epoch is still whole
    ckpt.load_checkpoint(run_dir, "last")  # every file still parses
    assert not list(run_dir.glob(".*.tmp"))
    assert_resumable(proj, run_dir, 4)


def test_disk_full_while_writing_weights_names_the_weights_file(tmp_path, monkeypatch):
    write_blobs(tmp_path / "data.npz")
    proj = project(mlp_graph(), tmp_path, dataset={"source": "npz", "path": "data.npz"},
                   epochs=3, checkpoint_interval=0)  # a checkpoint every epoch
    real = ckpt.save_weights
    calls = {"n": 0}

    def save_weights_fails_at_epoch_2(path, weights):
        calls["n"] += path.name == "last.safetensors"
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real(path, weights)

    monkeypatch.setattr(ckpt, "save_weights", save_weights_fails_at_epoch_2)
    _, result, events = fit(proj)
    message = failed(result, events, "error")
    assert message == f"could not write checkpoint {result.run_dir / 'last.safetensors'}: " \
        "No space left on device"
    monkeypatch.setattr(ckpt, "save_weights", real)
    assert ckpt.load_checkpoint(result.run_dir, "last")[2]["epoch"] == 1
    assert_resumable(proj, result.run_dir, 3)


def test_data_error_is_a_value_error_with_the_file_name(tmp_path):
    """The data layer's own error (what the GUI shows in its dataset preview)."""
    from engine.data.loader import load_dataset
    write_csv(tmp_path / "t.csv", [["a", "label"], ["x", 1]])
    with pytest.raises(DataError, match="t.csv"):
        load_dataset({"source": "csv", "path": "t.csv", "target": "label"}, tmp_path, (1,),
                     "float")


# -- a dataset larger than memory: refused with a message, never an out-of-memory crash ------
# (with "stream": false; by default CSV, .npy and image folders over the budget stream from
# disk: tests/engine/train/test_streaming_train.py)

def lying_header(shape) -> bytes:
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue() + b"\0" * 64


@pytest.mark.parametrize("case", ["npz_4TB_header", "npy_4TB_header", "npy_over_budget",
                                  "csv_over_budget"])
def test_a_dataset_larger_than_memory_is_refused(tmp_path, case):
    import zipfile
    dataset = {"source": "npz", "path": "big.npz"}
    if case == "npz_4TB_header":
        with zipfile.ZipFile(tmp_path / "big.npz", "w") as z:
            z.writestr("x.npy", lying_header((10**9, 1000)))
            z.writestr("y.npy", lying_header((10**9,)))
        words = ["big.npz", "memory budget"]
    elif case == "npy_4TB_header":
        (tmp_path / "big.npy").write_bytes(lying_header((10**9, 1000)))
        dataset = {"source": "npy", "path": "big.npy"}
        words = ["big.npy"]
    elif case == "npy_over_budget":
        np.save(tmp_path / "big.npy", np.zeros((2000, 1000), np.float32))  # 8 MB
        np.save(tmp_path / "y.npy", np.zeros(2000, np.int64))
        dataset = {"source": "npy", "path": "big.npy", "y_path": "y.npy",
                   "memory_budget_mb": 1, "stream": False}
        words = ["big.npy", "memory budget"]
    else:
        write_csv(tmp_path / "big.csv", [["a", "label"]] + [[i, i % 2] for i in range(50000)])
        dataset = {"source": "csv", "path": "big.csv", "target": "label",
                   "memory_budget_mb": 0.1, "stream": False}
        words = ["big.csv", "memory budget"]
    proj = project(mlp_graph(in_dim=1000 if "csv" not in case else 1, out=2), tmp_path,
                   dataset=dataset, epochs=1)
    _, result, events = fit(proj)
    failed(result, events, "data", *words)


# -- special files: nothing blocks or reads forever ---------------------------------------------

def png_bomb(path, side: int = 60_000):
    """A tiny PNG whose header claims side x side pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                     chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))


def test_special_files_and_bombs_in_an_image_folder(tmp_path):
    import os

    from engine.data.base import OutsideData
    from engine.data.loader import load_dataset
    root = tmp_path / "images"
    image_folder(root)
    config = {"source": "image_folder", "path": "images", "image_size": [8, 8], "color": "L"}
    skip = {**config, "on_error": "skip"}
    os.mkfifo(root / "cats" / "fifo.png")            # opening it would block forever
    with pytest.raises(DataError, match=r"fifo.png.*not a regular file"):
        load_dataset(config, tmp_path, (1, 8, 8), "float")
    data = load_dataset(skip, tmp_path, (1, 8, 8), "float")
    assert len(data.train) + len(data.val) + len(data.test) == 16
    assert any("fifo.png" in w for w in data.warnings)
    os.remove(root / "cats" / "fifo.png")
    os.symlink("/dev/zero", root / "dogs" / "zero.png")  # reading it would never end
    for cfg in (config, skip):  # a link out of the project folder: refused, one rule for all
        with pytest.raises(OutsideData, match=r"zero.png' leaves the project folder"):
            load_dataset(cfg, tmp_path, (1, 8, 8), "float")
    with pytest.raises(DataError, match=r"zero.png.*not a regular file"):
        load_dataset(config, tmp_path, (1, 8, 8), "float", allow_outside=True)
    os.remove(root / "dogs" / "zero.png")
    png_bomb(root / "dogs" / "bomb.png")
    with pytest.raises(DataError, match="bomb.png"):
        load_dataset(config, tmp_path, (1, 8, 8), "float")
    data = load_dataset(skip, tmp_path, (1, 8, 8), "float")
    assert any("bomb.png" in w for w in data.warnings)


@pytest.mark.parametrize("source", ["csv", "npy", "npz", "idx"])
def test_a_device_as_data_file_is_refused(tmp_path, source):
    from engine.data.loader import load_dataset
    config = {"source": source, "path": "/dev/zero", "target": "label"}
    with pytest.raises(DataError, match="leaves the project folder"):
        load_dataset(config, tmp_path, (4,), "float")
    with pytest.raises(DataError, match="character device, not a regular file"):
        load_dataset(config, tmp_path, (4,), "float", allow_outside=True)


def test_killed_training_always_resumes_from_intact_checkpoints(tmp_path):
    """SIGKILL a training process at a random point (often mid-checkpoint); the next process
    resumes the run. bench/robustness.py does this many more times."""
    import os
    import random

    from ..robustness.killsave import kill_training
    kills = int(os.environ.get("ROBUSTNESS_TRAIN_KILLS", "2"))
    stats = kill_training(tmp_path, kills, random.Random(4))
    assert stats.corrupted == 0 and stats.kills == kills, stats.problems
    _, _, info = ckpt.load_checkpoint(tmp_path / "train" / "run", "last")
    assert info["epoch"] >= 1


def test_a_crash_between_checkpoint_files_keeps_one_epoch(tmp_path, monkeypatch):
    write_blobs(tmp_path / "data.npz")
    proj = project(mlp_graph(), tmp_path, dataset={"source": "npz", "path": "data.npz"},
                   epochs=4, checkpoint_interval=0)  # a checkpoint every epoch
    real = ckpt.atomic_write
    calls = {"n": 0}

    def crash_before_last_json_of_epoch_3(path, data):
        if path.name == "last.json":
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(ckpt, "atomic_write", crash_before_last_json_of_epoch_3)
    saved = {}

    def remember(trainer, ev):
        if ev.kind == "checkpoint" and ev.which == "last":
            saved[ev.epoch] = {n: {k: v.detach().clone().numpy() for k, v in t.items()}
                                  for n, t in trainer.node_state().items()}

    _, result, _ = fit(proj, on_event=remember)
    assert result.status == "failed"
    weights, _, info = ckpt.load_checkpoint(result.run_dir, "last")
    good = saved[info["epoch"]]
    assert all(np.array_equal(weights[n][k], good[n][k]) for n in good for k in good[n])


def checkpoint_set(epoch: int):
    """(weights, info, state tensors) of a tiny fake epoch `epoch` checkpoint."""
    import torch
    return ({"fc": {"weight": np.full((2, 2), float(epoch), np.float32)}}, {"epoch": epoch},
            {"optim/0/step": torch.tensor(float(epoch))})


def test_a_crash_while_moving_the_set_loads_the_new_set(tmp_path):
    """Killed after the new weights replaced the old ones but before the state and JSON did:
    the complete set in last.pending/ is what loads, and the next save finishes the move."""
    import os
    ckpt.save_checkpoint(tmp_path, "last", *checkpoint_set(1))
    ckpt._write_pending(tmp_path, "last", *checkpoint_set(2))
    os.replace(tmp_path / "last.pending" / "last.safetensors", tmp_path / "last.safetensors")
    weights, state, info = ckpt.load_checkpoint(tmp_path, "last")
    assert info == {"epoch": 2} and float(state["optim/0/step"]) == 2.0
    assert (weights["fc"]["weight"] == 2).all()
    ckpt.save_checkpoint(tmp_path, "last", *checkpoint_set(3))
    assert not (tmp_path / "last.pending").exists()
    assert ckpt.load_checkpoint(tmp_path, "last")[2] == {"epoch": 3}


def test_a_half_written_pending_set_is_ignored(tmp_path):
    ckpt.save_checkpoint(tmp_path, "last", *checkpoint_set(1))
    pending = tmp_path / "last.pending"
    pending.mkdir()
    (pending / "last.safetensors").write_bytes(b"half")  # killed before its JSON
    assert ckpt.load_checkpoint(tmp_path, "last")[2] == {"epoch": 1}
    ckpt.save_checkpoint(tmp_path, "last", *checkpoint_set(2))
    assert ckpt.load_checkpoint(tmp_path, "last")[2] == {"epoch": 2}
    assert not pending.exists()


def test_a_mixed_checkpoint_set_is_refused(tmp_path):
    import shutil
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ckpt.save_checkpoint(tmp_path / "a", "last", *checkpoint_set(1))
    ckpt.save_checkpoint(tmp_path / "b", "last", *checkpoint_set(2))
    shutil.copy(tmp_path / "b" / "last.safetensors", tmp_path / "a" / "last.safetensors")
    with pytest.raises(ckpt.CheckpointError, match="do not match"):
        ckpt.load_checkpoint(tmp_path / "a", "last")
    assert not ckpt.has_checkpoint(tmp_path / "a", "last")


def test_a_checkpoint_json_without_checksums_still_loads(tmp_path):
    """Runs written before the checksums were added."""
    ckpt.save_checkpoint(tmp_path, "best", *checkpoint_set(4)[:2])
    info = ckpt.read_json(tmp_path / "best.json")
    del info["files"]
    ckpt.write_json(tmp_path / "best.json", info)
    weights, state, info = ckpt.load_checkpoint(tmp_path, "best")
    assert info == {"epoch": 4} and state == {} and (weights["fc"]["weight"] == 4).all()
