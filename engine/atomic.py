"""Atomic file writes: the file on disk is always the old or the new content, never half."""
from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new temp file beside `path`, with the permissions the saved file should end up with:
    the old file's mode, or the umask's default (mkstemp's 0600 would make projects private)."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
        except FileExistsError:
            continue
        try:
            if hasattr(os, "fchmod") and path.exists():
                os.fchmod(fd, stat.S_IMODE(path.stat().st_mode))
        except OSError:
            pass
        return fd, tmp
    raise FileExistsError(f"cannot create a temporary file beside {path}")


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` so that the file is always the old or the new content, never
    half: temp file in the same folder, fsync, rename over, fsync the folder."""
    atomic_write_blocks(path, [data])


def atomic_write_blocks(path: str | os.PathLike, blocks: Iterable[bytes]) -> None:
    """atomic_write of the concatenated `blocks` (a stream: a big file never whole in
    memory). An exception raised by the iterator leaves `path` as it was."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.writelines(blocks)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """A temporary file name beside `path` (with the permissions the saved file should end
    up with), for a writer that wants a name (torch.jit.save, the ONNX exporters); the file
    written there replaces `path` atomically when the block ends. An
    exception in the block leaves `path` as it was."""
    path = Path(path)
    fd, tmp = _create_temp(path)
    os.close(fd)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename inside `folder` durable (a no-op where the filesystem cannot)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory


def remove_stale_temps(path: Path, older_than: float = 60.0) -> list[Path]:
    """Delete atomic_write temp files of `path` (`.NAME.XXXXXXXX.tmp`) left by a killed save
    at least `older_than` seconds ago (a younger one may belong to a save in progress).
    Best effort: returns the files removed."""
    import glob
    import re
    import time

    pattern = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{8}}\.tmp")
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            st = tmp.lstat()
            if pattern.fullmatch(tmp.name) and stat.S_ISREG(st.st_mode) and \
                    time.time() - st.st_mtime >= older_than:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            pass
    return removed


