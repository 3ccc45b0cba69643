"""The torch thread count is chosen from the cores other programs leave free, for `studio
train`, the app and the exported script."""
import pytest
import torch

from engine import threads
from engine.cli import main
from engine.examples import example_path
from engine.project import load_project, save_project


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


@pytest.mark.parametrize(("busy", "reserve", "want"), [
    (0.0, 0, 2), (0.3, 0, 2), (1.0, 0, 1), (0.8, 0, 1), (1.9, 0, 1), (7.0, 0, 1),
    (0.0, 1, 1), (1.0, 1, 1)])
def test_free_cores_minus_the_busy_ones(two_cores, busy, reserve, want):
    assert threads.choose_threads(reserve, busy=busy) == want


def test_omp_num_threads_is_the_users_choice(two_cores, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.choose_threads(busy=2.0) == 3


def test_busy_elsewhere_does_not_count_this_process(monkeypatch):
    """Over the sample, all 4 CPUs were half busy (2 cores' worth); this process used one
    core of that itself, so others kept 1 core busy."""
    ticks = iter([(1000, 4000), (1200, 4400)])
    monkeypatch.setattr(threads, "_cpu_ticks", lambda: next(ticks))
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    clock = iter([10.0, 10.1])
    monkeypatch.setattr(threads.time, "monotonic", lambda: next(clock))
    cpu = iter([5.0, 5.1])
    monkeypatch.setattr(threads.time, "process_time", lambda: next(cpu))
    monkeypatch.setattr(threads.time, "sleep", lambda s: None)
    assert threads.busy_elsewhere(0.1) == pytest.approx(1.0)


def test_busy_elsewhere_without_proc_stat(monkeypatch):
    monkeypatch.setattr(threads, "_cpu_ticks", lambda: None)
    assert threads.busy_elsewhere(0.0) is None
    assert threads.choose_threads(busy=None, sample_s=0.0) >= 1


def test_real_measurement_is_a_sane_number():
    busy = threads.busy_elsewhere(0.05)
    assert busy is None or 0.0 <= busy <= (threads.os.cpu_count() or 1)
    assert 1 <= threads.usable_cores() <= (threads.os.cpu_count() or 1)


def test_use_free_cores_sets_and_restores():
    before = torch.get_num_threads()
    restore = threads.use_free_cores(threads=1)
    assert torch.get_num_threads() == 1
    restore()
    assert torch.get_num_threads() == before


def test_studio_train_uses_the_threads_asked_for(tmp_path, monkeypatch, capsys):
    proj = load_project(example_path("xor_mlp"))
    proj.training.update({"epochs": 1, "batch_size": 20})
    path = save_project(proj, tmp_path / "xor.nnproj")
    seen = []
    from engine.train import trainer as trainer_module
    real_fit = trainer_module.Trainer.fit

    def fit(self):
        seen.append(torch.get_num_threads())
        return real_fit(self)

    monkeypatch.setattr(trainer_module.Trainer, "fit", fit)
    before = torch.get_num_threads()
    assert main(["train", str(path), "--threads", "1", "--no-save", "--quiet"]) == 0
    assert seen == [1] and torch.get_num_threads() == before
    monkeypatch.setattr(threads, "choose_threads", lambda reserve=0: 1)
    assert main(["train", str(path), "--no-save", "--quiet"]) == 0
    assert seen == [1, 1]
    assert main(["train", str(path), "--threads", "0"]) == 1
    assert "--threads 0" in capsys.readouterr().err


def test_the_exported_script_chooses_its_threads(tmp_path):
    from engine.export.script import script_source

    text = script_source(load_project(example_path("xor_mlp")))
    assert '"--threads"' in text and "torch.set_num_threads(args.threads or" in text


def test_no_load_sample_when_one_thread_is_the_only_answer(two_cores, monkeypatch):
    """The app reserves a core for its GUI: on 2 cores it trains with 1 thread whatever the
    load, so it does not wait 0.1 s sampling /proc/stat at every run's start."""
    sampled = []
    monkeypatch.setattr(threads, "busy_elsewhere", lambda s=0.1: sampled.append(s) or 0.0)
    assert threads.choose_threads(reserve=1) == 1
    assert sampled == []
    assert threads.choose_threads(reserve=0) == 2 and sampled == [0.1]
