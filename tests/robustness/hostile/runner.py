"""Run one hostile case in this process and judge it.

A case builds its files in a fresh folder and returns the command line (`studio ...`) or a
callable. The runner measures what the robustness criteria ask: the exit code, one line of
error naming the file, no traceback, no file written or changed outside the case's declared
outputs (HOME and the cache folder are inside the case folder), peak memory (VmHWM, reset
before the case) under twice the memory budget, and a time limit (a hang is interrupted).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BUDGET_MB = 256          # $STUDIO_MEMORY_BUDGET_MB during a case
TIME_LIMIT_S = 120       # generous: a case that hangs is stopped, a slow machine is not


@dataclass
class Case:
    family: int
    name: str
    make: Callable[[Path], list[str] | Callable[[], object]]
    expect: str = "refused"          # "refused": exit 1 and one error line; "ok": exit 0
    words: tuple[str, ...] = ()      # each must appear in the error line
    outputs: tuple[str, ...] = ()    # paths (relative to the case folder, glob) it may write
    check: Callable[[Path, Result], str | None] | None = None   # extra invariant
    env: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"f{self.family:02d}-{self.name}"


@dataclass
class Result:
    code: int
    out: str
    err: str
    peak_mb: float
    seconds: float
    changed: list[str]


class Hung(Exception):
    """The case ran longer than its time limit."""


def _rss(field_name: str) -> float:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"{field_name}:\s+(\d+) kB", text)
    return int(match.group(1)) / 1024 if match else 0.0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry under `folder` (not following symlinks): kind, size and a content hash."""
    out = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(root, name)
            rel = path.relative_to(folder).as_posix()
            st = path.lstat()
            if os.path.islink(path):
                out[rel] = ("link", os.readlink(path))
            elif path.is_file() and not path.is_symlink() and os.path.isfile(path) and \
                    (st.st_mode & 0o170000) == 0o100000:
                out[rel] = ("file", st.st_size, _digest(path, st.st_size))
            elif name in dirs:
                out[rel] = ("dir",)
            else:
                out[rel] = ("special", st.st_mode)
    return out


def _digest(path: Path, size: int) -> str:
    if size > 64 * 2**20:
        return f"size-{size}"
    return hashlib.sha1(path.read_bytes()).hexdigest()


def _allowed(rel: str, patterns: tuple[str, ...]) -> bool:
    from fnmatch import fnmatch
    return any(fnmatch(rel, p) or rel == p.rstrip("*/") or rel.startswith(p.rstrip("*/") + "/")
               for p in patterns)


def run_case(case: Case, folder: Path) -> Result:
    """Build and run `case` in `folder` (created empty); HOME and caches point inside it."""
    from engine.cli import main

    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "XDG_DATA_HOME": str(home / ".local" / "share"),
           "STUDIO_MEMORY_BUDGET_MB": str(BUDGET_MB), "STUDIO_DATA_DIR": None,
           "STUDIO_DATA_MIRROR": None, **case.env}
    old_env = {k: os.environ.get(k) for k in env}
    old_cwd = os.getcwd()
    for k, v in env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    os.chdir(folder)
    try:
        action = case.make(folder)
        before = snapshot(folder)
        out, err = io.StringIO(), io.StringIO()
        _reset_peak()
        base = _rss("VmRSS")
        start = time.perf_counter()
        code = _run_limited(action, main, out, err)
        seconds = time.perf_counter() - start
        peak = max(0.0, _rss("VmHWM") - base)
        after = snapshot(folder)
    finally:
        os.chdir(old_cwd)
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    changed = sorted(rel for rel in set(before) | set(after)
                     if before.get(rel) != after.get(rel) and not _allowed(rel, case.outputs))
    return Result(code, out.getvalue(), err.getvalue(), peak, seconds, changed)


def _run_limited(action, main, out, err) -> int:
    def on_alarm(signum, frame):
        raise Hung

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if callable(action):
                try:
                    action()
                    return 0
                except Hung:
                    raise
                except Exception as exc:  # noqa: BLE001 - the API's error is the "message"
                    print(f"error: {type(exc).__name__}: {exc}", file=err)
                    return 1
            return main(list(action))
    except Hung:
        print(f"HUNG after {TIME_LIMIT_S} s", file=err)
        return -1
    except BaseException as exc:  # noqa: BLE001 - a crash is a finding, not a test error
        import traceback
        print("Traceback (crash)\n" + "".join(traceback.format_exception(exc)), file=err)
        return -2
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def problems(case: Case, result: Result, folder: Path) -> list[str]:
    """What the case got wrong (empty: it held)."""
    found = []
    err_lines = [ln for ln in result.err.splitlines() if ln.startswith("error:")]
    if result.code == -1:
        found.append(f"hung (more than {TIME_LIMIT_S} s)")
    if "Traceback" in result.err + result.out:
        found.append("printed a traceback: " + result.err[-1500:])
    if case.expect == "refused":
        if result.code != 1:
            found.append(f"exit code {result.code}, expected 1")
        if len(err_lines) != 1:
            found.append(f"{len(err_lines)} error lines, expected 1: {result.err[-800:]!r}")
        elif len(err_lines[0]) > 2100:
            found.append(f"an error line of {len(err_lines[0]):,} characters")
        line = err_lines[0] if err_lines else ""
        for word in case.words:
            if word.lower() not in line.lower():
                found.append(f"the error does not say {word!r}: {line[:500]!r}")
    elif result.code != 0:
        found.append(f"exit code {result.code}, expected 0: {result.err[-800:]!r}")
    if result.changed:
        found.append(f"wrote outside its outputs: {', '.join(result.changed[:8])}")
    if result.peak_mb > 2 * BUDGET_MB:
        found.append(f"peak memory +{result.peak_mb:.0f} MB, more than 2x the "
                     f"{BUDGET_MB} MB budget")
    if case.check is not None:
        why = case.check(folder, result)
        if why:
            found.append(why)
    return found


def judge(case: Case, folder: Path) -> tuple[Result, list[str]]:
    """Run `case` in `folder`; its result and what it got wrong."""
    result = run_case(case, folder)
    return result, problems(case, result, folder)
