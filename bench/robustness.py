"""Long robustness runs: the hostile cases of every family (tests/robustness/hostile), many
hostile project files, many kills during saves, long random edit sequences, checkpoint costs at
scale. Prints counts (failed cases, crashes and corrupted files must be 0) and writes
bench/results/robustness.json.

    python -m bench.robustness                      # defaults: 5,000 files, 50 kills
    python -m bench.robustness --files 500 --kills 10 --editor 50   # a quick run
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.common import print_table, write_json
from tests.robustness import fuzz, killsave


def run_fuzz(files: int, seed: int) -> dict:
    """Load `files` hostile candidates; count outcomes by how they were made."""
    outcomes: collections.Counter = collections.Counter()
    by_kind: collections.Counter = collections.Counter()
    crashes: list[str] = []
    slowest = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for i in range(files):
            label, raw = fuzz.hostile_file(random.Random(seed * 1_000_003 + i))
            outcome = fuzz.check_file(raw, Path(folder))
            outcomes[outcome.kind] += 1
            by_kind[label.split(":")[-1]] += 1
            slowest = max(slowest, outcome.seconds)
            if outcome.kind == "crash":
                crashes.append(f"seed {seed * 1_000_003 + i} ({label}): {outcome.message}")
    return {"files_tried": files, "refused": outcomes["refused"], "loaded": outcomes["loaded"],
            "crashes": outcomes["crash"], "slowest_file_s": slowest,
            "by_mutation": dict(by_kind), "crash_examples": crashes[:10]}


def run_hostile() -> tuple[list[dict], list[str]]:
    """Every hostile case, judged like tests/robustness/test_hostile.py; counts by family."""
    from tests.robustness.hostile import all_cases
    from tests.robustness.hostile.runner import judge

    rows: dict[int, dict] = {}
    failures = []
    with tempfile.TemporaryDirectory() as folder:
        for i, case in enumerate(all_cases()):
            row = rows.setdefault(case.family, {"family": case.family, "cases": 0, "held": 0,
                                                "failed": 0, "slowest_s": 0.0,
                                                "peak_mb": 0.0})
            result, found = judge(case, Path(folder) / f"case{i}")
            row["cases"] += 1
            row["held" if not found else "failed"] += 1
            row["slowest_s"] = max(row["slowest_s"], result.seconds)
            row["peak_mb"] = max(row["peak_mb"], result.peak_mb)
            if found:
                failures.append(f"{case.id}: {'; '.join(found)}"[:600])
    return [rows[k] for k in sorted(rows)], failures


def run_checkpoint_costs(sizes: list[int]) -> list[dict]:
    """Collecting and writing a checkpoint's state of a chain of n nodes (linear in n)."""
    from engine import compile_graph
    from engine.compile import node_state
    from engine.train.checkpoint import save_checkpoint
    from tests.robustness.graphs import big_chain

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            model = compile_graph(big_chain(n))
            t0 = time.perf_counter()
            state = node_state(model)
            t1 = time.perf_counter()
            save_checkpoint(Path(folder), f"n{n}", state, {"epoch": 1})
            rows.append({"nodes": n, "collect_s": t1 - t0,
                         "write_s": time.perf_counter() - t1})
    return rows


def run_kills(kills: int, seed: int) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        versions = killsave.make_versions(folder / "versions")
        stats = killsave.kill_project_saves(folder, kills, rnd, versions)
        out.append(stats.as_dict())
        out.append(killsave.kill_weight_saves(folder, max(1, kills * 2 // 3), rnd).as_dict())
        out.append(killsave.kill_training(folder, max(1, kills // 5), rnd).as_dict())
        out.append(killsave.kill_pair_saves(folder, max(1, kills // 2), rnd).as_dict())
        out.append(killsave.kill_exports(folder, max(1, kills // 5), rnd).as_dict())
        try:
            auto, _rec, _states = killsave.kill_autosaves(folder, max(1, kills // 5), rnd,
                                                          versions[0])
            out.append(auto.as_dict())
        except ImportError as exc:  # no Qt: the GUI's autosave cannot run
            out.append({"mode": "autosave", "skipped": str(exc)})
    return out


def run_scaling(sizes: list[int]) -> list[dict]:
    """Load and validate time of big chain projects (the loader caps files at 100,000 nodes;
    a hostile file of that size must still open in bounded time)."""
    from engine import validate
    from engine.project import Project, dumps_project, loads_project
    from tests.robustness.graphs import big_chain

    rows = []
    for n in sizes:
        text = dumps_project(Project(big_chain(n)))
        t0 = time.perf_counter()
        project = loads_project(text)
        t1 = time.perf_counter()
        validate(project.graph)
        rows.append({"nodes": n, "file_mb": len(text) / 2**20, "load_s": t1 - t0,
                     "validate_s": time.perf_counter() - t1})
    return rows


def run_editor(examples: int) -> list[dict]:
    from hypothesis import HealthCheck, settings
    from hypothesis.stateful import run_state_machine_as_test

    from tests.robustness.editor_machine import EngineEditor

    machines = [("engine inverses", EngineEditor)]
    try:
        from PySide6.QtWidgets import QApplication

        from tests.robustness.test_editor_invariants import CommandEditor
        app = QApplication.instance() or QApplication([])  # noqa: F841
        machines.append(("QUndoStack commands", CommandEditor))
    except ImportError:
        pass
    rows = []
    for name, machine in machines:
        counts = collections.Counter()

        class Counting(machine):  # type: ignore[misc, valid-type]
            def teardown(self, counts=counts):
                counts["sequences"] += 1
                counts["edits"] += self.edits
                counts["refused"] += self.refused
                super().teardown()

        start = time.perf_counter()
        failure = ""
        try:
            run_state_machine_as_test(Counting, settings=settings(
                max_examples=examples, stateful_step_count=40, deadline=None,
                suppress_health_check=list(HealthCheck)))
        except Exception as exc:  # noqa: BLE001  (report the falsifying sequence)
            failure = str(exc)[-2000:]
        rows.append({"machine": name, "sequences": counts["sequences"],
                     "edits": counts["edits"], "refused_edits": counts["refused"],
                     "invariant_failures": int(bool(failure)), "failure": failure,
                     "seconds": time.perf_counter() - start})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=5000, help="hostile project files to load")
    ap.add_argument("--kills", type=int, default=50,
                    help="SIGKILLs during project saves (2/3 as many for weights, 1/5 for "
                         "training and for autosave)")
    ap.add_argument("--editor", type=int, default=300, help="random edit sequences per machine")
    ap.add_argument("--sizes", type=int, nargs="*", default=[5000, 20000, 100000],
                    help="node counts of the big-project load test")
    ap.add_argument("--checkpoint-sizes", type=int, nargs="*", default=[2000, 20000],
                    help="node counts of the checkpoint-cost test")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    hostile, hostile_failures = run_hostile()
    print(f"\nhostile cases by family ({time.perf_counter() - t0:.1f} s)")
    print_table(hostile, ["family", "cases", "held", "failed", "slowest_s", "peak_mb"])
    for line in hostile_failures:
        print("  FAILED", line)
    t0 = time.perf_counter()
    fz = run_fuzz(args.files, args.seed)
    t1 = time.perf_counter()
    print(f"\nproject-file fuzzing ({t1 - t0:.1f} s)")
    print_table([fz], ["files_tried", "refused", "loaded", "crashes", "slowest_file_s"])
    for line in fz["crash_examples"]:
        print("  CRASH", line)

    kills = run_kills(args.kills, args.seed)
    t2 = time.perf_counter()
    print(f"\nkills during save ({t2 - t1:.1f} s)")
    print_table(kills, ["mode", "kills", "during_write", "corrupted", "missing"])
    for row in kills:
        for p in row.get("problems", []):
            print("  CORRUPT", row["mode"], p)

    scaling = run_scaling(args.sizes)
    print("\nbig projects: load and validate")
    print_table(scaling, ["nodes", "file_mb", "load_s", "validate_s"])
    costs = run_checkpoint_costs(args.checkpoint_sizes)
    print("\ncheckpoint state of big models: collect and write")
    print_table(costs, ["nodes", "collect_s", "write_s"])

    editor = run_editor(args.editor)
    print("\nrandom edit sequences")
    print_table(editor, ["machine", "sequences", "edits", "refused_edits",
                         "invariant_failures", "seconds"])
    for row in editor:
        if row["failure"]:
            print(row["failure"])

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = {
        "hostile_cases": sum(r["cases"] for r in hostile),
        "hostile_failed": sum(r["failed"] for r in hostile),
        "files_tried": fz["files_tried"], "crashes": fz["crashes"],
        "kills_during_save": sum(r.get("kills", 0) for r in kills),
        "kills_during_write": sum(r.get("during_write", 0) for r in kills),
        "corrupted_files": sum(r.get("corrupted", 0) for r in kills),
        "edit_sequences": sum(r["sequences"] for r in editor),
        "invariant_failures": sum(r["invariant_failures"] for r in editor),
        "peak_rss_mb": peak_mb, "seconds": time.perf_counter() - t0,
    }
    print("\nsummary")
    print_table([summary], list(summary))
    write_json("robustness", {"args": vars(args), "summary": summary, "hostile": hostile,
                              "hostile_failures": hostile_failures, "fuzz": fz,
                              "kills": kills, "scaling": scaling, "checkpoint_costs": costs,
                              "editor": editor})
    ok = summary["crashes"] == 0 and summary["corrupted_files"] == 0 and \
        summary["invariant_failures"] == 0 and summary["hostile_failed"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
