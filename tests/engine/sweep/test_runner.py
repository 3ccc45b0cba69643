"""Sweeps that really train: a random search beats (or ties) the default, pruning, shared
storage between processes, the CLI."""
import json
import threading
import time

import optuna
import pytest

from engine.project import load_project
from engine.sweep.results import records
from engine.sweep.runner import SweepOptions, prepare, run_trials
from engine.sweep.space import space
from engine.sweep.study import default_storage, load_study
from engine.train.trainer import Trainer

from .helpers import LR, WIDTH, spawn, studio, xor_project


def _study(project, name=None):
    return load_study(default_storage(project), name or project.path.stem)


def test_random_sweep_of_12_trials_is_at_least_as_good_as_the_default(tmp_path):
    project = xor_project(tmp_path, epochs=6, baseline=False, pruner="none", seed=3)
    default = Trainer(project, "cpu", run_dir=False).fit()
    default_best = min(r["val_loss"] for r in default.history)
    outcomes = run_trials(project, SweepOptions(trials=12, device="cpu"))
    assert len(outcomes) == 12 and all(o.state == "complete" for o in outcomes)
    view = records(_study(project), space(project))
    assert len(view.trials) == 12
    assert view.best.value <= default_best
    # a genuine search: the values differ between trials and stay in range
    lrs = {t.values[LR] for t in view.trials}
    widths = {t.values[WIDTH] for t in view.trials}
    assert len(lrs) == 12 and len(widths) > 3
    assert all(0.003 <= v <= 0.3 for v in lrs) and all(2 <= w <= 32 for w in widths)
    # every trial is a normal run folder with its values, curves and checkpoints
    for t in view.trials:
        run = project.runs_dir() / t.run
        cfg = json.loads((run / "config.json").read_text())
        assert cfg["training"]["optimizer"]["lr"] == pytest.approx(t.values[LR])
        node = next(n for n in cfg["graph"]["nodes"] if n["id"] == "n2")
        assert node["params"]["out_features"] == t.values[WIDTH]
        assert (run / "best.safetensors").exists()
        assert len((run / "metrics.jsonl").read_text().splitlines()) == 6
        assert json.loads((run / "trial.json").read_text())["trial"] == t.number
        assert t.params == 4 * t.values[WIDTH] + 1     # Linear(2, w) + Linear(w, 1)
        assert min(t.curve.values()) == pytest.approx(t.value)


def test_baseline_is_the_first_trial(tmp_path):
    project = xor_project(tmp_path, epochs=2)
    run_trials(project, SweepOptions(trials=2, device="cpu"))
    first = records(_study(project), space(project)).trials[0]
    assert first.baseline and first.values == {LR: 0.03, WIDTH: 8}


def test_a_hopeless_trial_is_pruned(tmp_path):
    project = xor_project(tmp_path, epochs=6, baseline=False, pruner="median")
    project.sweep["space"][LR]["low"] = 1e-6
    study = load_study(default_storage(project), "xor", project, create=True)
    for lr in (0.1, 0.12, 0.15):
        study.enqueue_trial({LR: lr, WIDTH: 8})
    study.enqueue_trial({LR: 1e-6, WIDTH: 8})   # learns nothing: worse than the median
    outcomes = run_trials(project, SweepOptions(trials=4, device="cpu"))
    assert [o.state for o in outcomes] == ["complete"] * 3 + ["pruned"]
    pruned = outcomes[-1]
    assert pruned.epochs < 6
    assert len((pruned.run_dir / "metrics.jsonl").read_text().splitlines()) == pruned.epochs
    view = records(_study(project), space(project))
    assert view.trials[-1].state == "pruned" and view.best.number != 3
    assert view.counts() == {"complete": 3, "pruned": 1}


def test_a_trial_that_cannot_train_fails_and_the_sweep_goes_on(tmp_path):
    project = xor_project(tmp_path, epochs=2, baseline=False)
    project.sweep["space"] = {"node.n4.out_features": {"choices": [1, 3]}}
    study = load_study(default_storage(project), "xor", project, create=True)
    study.enqueue_trial({"node.n4.out_features": 3})   # 3 logits for a 0/1 target
    study.enqueue_trial({"node.n4.out_features": 1})
    outcomes = run_trials(project, SweepOptions(trials=2, device="cpu"))
    assert [o.state for o in outcomes] == ["failed", "complete"]
    view = records(_study(project), space(project))
    assert view.trials[0].state == "failed" and view.trials[0].message
    assert view.best.number == 1


@pytest.mark.slow
def test_two_processes_on_one_journal_split_the_trials(tmp_path):
    project = xor_project(tmp_path, epochs=3, pruner="none")
    journal = tmp_path / "shared" / "study.journal"
    args = ("sweep", project.path, "--trials", 6, "--storage", journal, "--study", "shared")
    procs = [spawn(*args, cwd=tmp_path) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    study = load_study(str(journal), "shared")
    view = records(study, space(project))
    real = [t for t in view.trials if t.state != "skipped"]
    assert len(real) == 6 and all(t.state == "complete" for t in real)
    assert sorted(t.number for t in real) == list(range(6))
    assert len({t.run for t in real}) == 6          # six run folders, none shared
    pids = {json.loads((project.runs_dir() / t.run / "trial.json").read_text())["pid"]
            for t in real}
    assert len(pids) == 2                            # both processes trained trials
    sampled = [(t.values[LR], t.values[WIDTH]) for t in real]
    assert len(set(sampled)) == 6                    # no setting trained twice
    lines = [ln for out, _ in outs for ln in out.splitlines()
             if ln.startswith("trial ") and ln.split()[1].isdigit()]
    assert sorted(int(ln.split()[1]) for ln in lines) == list(range(6))


def test_processes_starting_together_enqueue_one_baseline(tmp_path, monkeypatch):
    """Optuna's skip_if_exists checks, then adds: two processes that both see an empty study
    would each enqueue the baseline, and it would train twice. A slow add widens that
    window; the setup lock closes it."""
    project = xor_project(tmp_path, epochs=1, pruner="none")
    journal = str(tmp_path / "study.journal")
    add = optuna.Study.add_trial

    def slow_add(self, *args, **kwargs):
        time.sleep(0.3)
        return add(self, *args, **kwargs)

    monkeypatch.setattr(optuna.Study, "add_trial", slow_add)
    start = threading.Barrier(2)
    errors = []

    def starting_process():
        try:
            start.wait()
            prepare(project, SweepOptions(storage=journal, study="s"))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=starting_process) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    trials = load_study(journal, "s").get_trials(deepcopy=False)
    assert [t.user_attrs.get("baseline") for t in trials] == [True]


@pytest.mark.slow
def test_cli_jobs_show_and_apply_best(tmp_path):
    project = xor_project(tmp_path, epochs=3, trials=4, pruner="none")
    r = studio("sweep", project.path, "--jobs", 2)
    assert r.returncode == 0, r.stderr
    assert "study xor: 4 complete" in r.stdout and "best: trial" in r.stdout
    view = records(_study(project), space(project))
    assert len(view.trials) == 4
    shown = studio("sweep", project.path, "--show")
    assert shown.returncode == 0 and f"best: trial {view.best.number}" in shown.stdout
    out = tmp_path / "best.nnproj"
    r = studio("sweep", project.path, "--apply-best", out)
    assert r.returncode == 0, r.stderr
    best = load_project(out)
    assert best.training["optimizer"]["lr"] == pytest.approx(view.best.values[LR])
    assert best.graph.nodes["n2"].params["out_features"] == view.best.values[WIDTH]
    r = studio("sweep", project.path, "--apply-best", out)
    assert r.returncode == 1 and "already exists; add --force" in r.stderr
    assert studio("sweep", project.path, "--apply-best", out, "--force").returncode == 0


def test_cli_errors_name_the_problem(tmp_path):
    project = xor_project(tmp_path)
    project.sweep["space"] = {}
    from engine.project import save_project

    save_project(project)
    r = studio("sweep", project.path)
    assert r.returncode == 1 and "nothing is searched" in r.stderr
    project.sweep = {"space": {LR: {"low": 1, "high": 0.1}}}
    save_project(project)
    r = studio("sweep", project.path)
    assert r.returncode == 1 and "sweep.space['training.optimizer.lr']: low (1) must be " \
        "below high (0.1)" in r.stderr
    r = studio("sweep", project.path, "--show", "--study", "nope")
    assert r.returncode == 1 and "no study 'nope'" in r.stderr


@pytest.mark.slow
def test_two_processes_share_a_postgresql_study(tmp_path):
    from .postgres import postgres_url

    project = xor_project(tmp_path, epochs=2, pruner="none")
    with postgres_url() as url:
        r = studio("sweep", project.path, "--trials", 4, "--jobs", 2, "--storage", url,
                   "--study", "pg")
        assert r.returncode == 0, r.stderr
        view = records(load_study(url, "pg"), space(project))
    real = [t for t in view.trials if t.state != "skipped"]
    assert sorted(t.number for t in real) == [0, 1, 2, 3]
    assert all(t.state == "complete" for t in real) and len({t.run for t in real}) == 4
    pids = {json.loads((project.runs_dir() / t.run / "trial.json").read_text())["pid"]
            for t in real}
    assert len(pids) == 2
    assert "study pg: 4 complete" in r.stdout


def test_grid_sweep_tries_every_point_once_then_stops(tmp_path):
    project = xor_project(tmp_path, epochs=1, sampler="grid", pruner="none")
    project.sweep["space"] = {LR: {"choices": [0.01, 0.1]},
                              WIDTH: {"low": 4, "high": 8, "step": 4}}
    outcomes = run_trials(project, SweepOptions(trials=10, device="cpu"))
    assert len(outcomes) == 4 and all(o.state == "complete" for o in outcomes)
    tried = {(o.values[LR], o.values[WIDTH]) for o in outcomes}
    assert tried == {(0.01, 4), (0.01, 8), (0.1, 4), (0.1, 8)}
    assert run_trials(project, SweepOptions(trials=10, device="cpu")) == []   # done
    assert len(load_study(default_storage(project), "xor").trials) == 4
