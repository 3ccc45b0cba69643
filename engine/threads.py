"""How many intra-op threads torch should train with: the cores that are actually free.

torch starts one OpenMP thread per core. When another program keeps a core busy, the
threads wait for each other at every op's barrier while one of them is descheduled: on a
2-core machine with one core busy, digits_cnn trained 5-8x slower with 2 threads than with
1 (bench/train_throughput.py --load 1). So before training we look at what is free:

- the cores this process may run on (its CPU affinity, and a container's CPU quota),
- minus the cores other processes kept busy over a short sample of /proc/stat (this
  process's own CPU time in the sample is not counted as someone else's),
- minus `reserve` (the app keeps a core for its GUI thread).

At least one thread; OMP_NUM_THREADS, when set, is the user's choice and wins.
"""
from __future__ import annotations

import os
import time
from pathlib import Path


def usable_cores() -> int:
    """Cores this process may use: its affinity mask, capped by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        cores = min(cores, max(1, int(quota + 0.5)))
    return max(1, cores)


def _cgroup_quota() -> float | None:
    """CPUs allowed by cgroup v2's cpu.max ("max 100000" means no limit)."""
    try:
        fields = Path("/sys/fs/cgroup/cpu.max").read_text().split()
    except OSError:
        return None
    if len(fields) != 2 or fields[0] == "max":
        return None
    try:
        return int(fields[0]) / int(fields[1])
    except (ValueError, ZeroDivisionError):
        return None


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    if len(values) < 5:
        return None
    idle = values[3] + values[4]   # idle + iowait
    total = sum(values[:8])        # guest time is already counted in user
    return total - idle, total


def busy_elsewhere(sample_s: float = 0.1) -> float | None:
    """Cores kept busy by other processes during the next `sample_s` seconds (None where
    /proc/stat cannot be read)."""
    first = _cpu_ticks()
    if first is None:
        return None
    own0, t0 = time.process_time(), time.monotonic()
    time.sleep(sample_s)
    second = _cpu_ticks()
    own, wall = time.process_time() - own0, time.monotonic() - t0
    if second is None or second[1] <= first[1] or wall <= 0:
        return None
    cores_total = os.cpu_count() or 1
    busy_share = (second[0] - first[0]) / (second[1] - first[1])
    return max(0.0, busy_share * cores_total - own / wall)


def choose_threads(reserve: int = 0, sample_s: float = 0.1, busy: float | None = None) -> int:
    """The intra-op thread count for training now: free cores (rounded), minus `reserve`,
    at least 1. `busy`: cores other processes use (measured when not given)."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    cores = usable_cores()
    if cores - reserve <= 1:
        return 1   # the answer whatever the load: no need to sample it (a 0.1-s wait)
    if busy is None:
        busy = busy_elsewhere(sample_s)
    free = cores - (busy or 0.0)
    return max(1, min(cores - reserve, int(free + 0.5) - reserve))


def use_free_cores(reserve: int = 0, threads: int | None = None):
    """Set torch's intra-op threads to `threads` or to choose_threads(reserve). Returns a
    function restoring the previous setting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads or choose_threads(reserve))
    return lambda: torch.set_num_threads(before)
