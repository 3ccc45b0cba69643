"""Run in a fresh process by test_streaming_memory.py: train one epoch of the project given
on the command line and print, as JSON, the process's resident memory before the run and its
peak during the run (VmRSS and VmHWM of /proc/self/status, kB; the peak is reset through
/proc/self/clear_refs before the run) and the model's size.

A warm-up run on a few in-memory samples first brings torch's allocator, thread pools and the
trainer's imports to their steady size, so the growth measured is what the data costs."""
import json
import resource
import sys

import numpy as np


def status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")       # resets VmHWM to the current RSS (Linux >= 4.0)


def main(path: str, workers: int) -> None:
    from engine.data.base import DataSplits, Split
    from engine.project import load_project
    from engine.train.trainer import Trainer

    project = load_project(path)
    shape = tuple(project.graph.nodes["in"].params["shape"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, *shape)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    warm = DataSplits(Split(x, [y]), Split(x[:16], [y[:16]]), None, ["classification"], [3],
                      [None])
    Trainer(project, "cpu", data=warm, run_dir=False, epochs=1).fit()
    reset_peak()
    before = status_kb("VmRSS")
    trainer = Trainer(project, "cpu", run_dir=False, epochs=1, num_workers=workers)
    result = trainer.fit()
    after = status_kb("VmHWM")
    params = sum(p.numel() * p.element_size() for p in trainer.model.parameters())
    print(json.dumps({"status": result.status, "before_kb": before, "after_kb": after,
                      "model_bytes": params, "train": len(trainer.state.train_data),
                      "from_disk": getattr(trainer.state.train_data, "from_disk", False),
                      "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
