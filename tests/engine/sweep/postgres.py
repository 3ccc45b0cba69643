"""A throwaway PostgreSQL server on loopback for the shared-storage test (skipped when the
server binaries or the psycopg driver are missing)."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for cand in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return cand
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_url():
    """Yield a SQLAlchemy URL of a fresh server; stop it and remove its files after."""
    pytest.importorskip("psycopg")
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    as_user: list[str] = []
    if os.geteuid() == 0:   # the server refuses to run as root: use its own account
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' account for the server")
        as_user = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="studio-pg-"))
    data = folder / "data"
    os.chmod(folder, 0o755)
    if as_user:
        shutil.chown(folder, "postgres")
    port = _free_port()
    log = folder / "server.log"

    def run(*cmd):
        return subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120)

    try:
        r = run(initdb, "-D", str(data), "-A", "trust", "-U", "studio", "--no-sync")
        if r.returncode:
            pytest.skip(f"initdb failed: {r.stderr.strip()[:200]}")
        r = run(pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
                f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off", "start")
        if r.returncode:
            pytest.skip(f"the PostgreSQL server did not start: {r.stderr.strip()[:200]}")
        try:
            yield f"postgresql+psycopg://studio@127.0.0.1:{port}/postgres"
        finally:
            run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
