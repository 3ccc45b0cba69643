"""Atomic saving: a child process saving in a loop is SIGKILLed at random points; the file on
disk is always the complete old or the complete new version, and leftover temp files do not
get in the way. The long version (many more kills) is bench/robustness.py."""
from __future__ import annotations

import os
import random
import stat

import pytest

from engine.examples import example_paths
from engine.project import ProjectError, atomic_write, load_project, save_project

from .killsave import (
    kill_autosaves,
    kill_exports,
    kill_pair_saves,
    kill_project_saves,
    kill_weight_saves,
    make_versions,
)

KILLS = int(os.environ.get("ROBUSTNESS_KILLS", "4"))


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    return make_versions(tmp_path_factory.mktemp("versions"))


def test_killed_project_saves_leave_old_or_new(tmp_path, versions):
    stats = kill_project_saves(tmp_path, KILLS, random.Random(7), versions)
    assert stats.kills == KILLS
    assert stats.corrupted == 0, stats.problems
    # leftover temp files (if a kill hit the write) do not stop the next save or load
    target = tmp_path / "project" / "work.nnproj"
    (tmp_path / "project" / ".work.nnproj.stale.tmp").write_bytes(b"{half a fi")
    project = load_project(versions[1])
    save_project(project, target)
    assert load_project(target).to_dict() == project.to_dict()
    assert [p.name for p in (tmp_path / "project").glob("*.nnproj")] == ["work.nnproj"]


def test_killed_weight_saves_leave_old_or_new(tmp_path):
    stats = kill_weight_saves(tmp_path, max(2, KILLS * 2 // 3), random.Random(11))
    assert stats.corrupted == 0, stats.problems


def test_killed_saves_of_a_project_with_weights_leave_a_matching_pair(tmp_path):
    stats = kill_pair_saves(tmp_path, KILLS, random.Random(13))
    assert stats.kills == KILLS
    assert stats.corrupted == 0, stats.problems


def test_killed_exports_leave_the_old_or_the_new_script(tmp_path):
    stats = kill_exports(tmp_path, max(2, KILLS // 2), random.Random(17))
    assert stats.corrupted == 0, stats.problems


def test_killed_autosaves_leave_a_recoverable_file(tmp_path, versions, qapp):
    pytest.importorskip("studio.document")
    from studio.document import Document

    stats, rec, states = kill_autosaves(tmp_path, max(2, KILLS // 3), random.Random(5),
                                        versions[0])
    assert stats.corrupted == 0 and stats.missing == 0, stats.problems
    # crash recovery: a fresh document restores the last autosaved state
    doc = Document(autosave_ms=0)
    doc.restore_recovery(rec, versions[0])
    assert doc.graph.to_dict() in states
    assert doc.modified and doc.path == versions[0]


def test_atomic_write_keeps_the_file_mode(tmp_path):
    """Saving over a project must not make it private (mkstemp creates files as 0600)."""
    path = tmp_path / "shared.nnproj"
    path.write_bytes(example_paths()["xor_mlp"].read_bytes())
    os.chmod(path, 0o644)
    atomic_write(path, b"{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_atomic_write_new_file_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "new.nnproj", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.nnproj").stat().st_mode) == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "p.nnproj"
    path.write_bytes(b"old")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [path]


def test_a_damaged_recovery_file_is_a_project_error(tmp_path, qapp):
    from studio.document import Document
    rec = tmp_path / "damaged.nnproj"
    rec.write_bytes(example_paths()["xor_mlp"].read_bytes()[:200] + b"\xff\xfe")
    with pytest.raises(ProjectError):
        Document(autosave_ms=0).restore_recovery(rec, tmp_path / "p.nnproj")


def test_a_truncated_recovery_file_is_a_project_error(tmp_path, qapp):
    from studio.document import Document
    rec = tmp_path / "cut.nnproj"
    rec.write_bytes(example_paths()["xor_mlp"].read_bytes()[:200])
    doc = Document(autosave_ms=0)
    before = doc.graph.to_dict()
    with pytest.raises(ProjectError):
        doc.restore_recovery(rec, tmp_path / "p.nnproj")
    assert doc.graph.to_dict() == before  # the open document is untouched


def test_saving_removes_temp_files_left_by_killed_saves(tmp_path, versions):
    import time
    project = load_project(versions[1])
    target = tmp_path / "work.nnproj"
    old = time.time() - 3600
    stale = [tmp_path / ".work.nnproj.0a1b2c3d.tmp", tmp_path / ".work.safetensors.99ff00aa.tmp"]
    keep = [tmp_path / ".work.nnproj.12345678.tmp",  # young: a save may be writing it
            tmp_path / ".work.nnproj.notours.tmp", tmp_path / ".other.nnproj.0a1b2c3d.tmp"]
    for p in stale + keep:
        p.write_bytes(b"{half a fi")
        os.utime(p, (old, old))
    os.utime(keep[0])
    save_project(project, target)
    assert [p for p in stale if p.exists()] == []
    assert all(p.exists() for p in keep)
    assert load_project(target).to_dict() == project.to_dict()
