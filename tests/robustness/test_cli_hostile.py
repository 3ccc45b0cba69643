"""The headless CLI on hostile project files: a one-line error and a non-zero exit code, never a
traceback (validate, summary, export and train all open projects the same way)."""
from __future__ import annotations

import random

import pytest

from engine.cli import main

from . import fuzz

COMMANDS = [["validate"], ["summary"], ["train"], ["evaluate"], ["export", "-o", "out.py"]]


def hostile_files(tmp_path, count: int = 8) -> list:
    paths = []
    rnd = random.Random(3)
    while len(paths) < count:
        _label, raw = fuzz.hostile_file(rnd)
        outcome = fuzz.check_file(raw, tmp_path, "probe.nnproj")
        if outcome.kind == "refused":
            path = tmp_path / f"bad{len(paths)}.nnproj"
            path.write_bytes(raw)
            paths.append(path)
    return paths


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_cli_reports_a_bad_file_in_one_line(tmp_path, capsys, command):
    for path in hostile_files(tmp_path):
        code = main([command[0], str(path), *command[1:]])
        out = capsys.readouterr()
        assert code != 0, path
        assert "Traceback" not in out.err + out.out
        assert str(path) in out.err, out.err


def test_cli_on_a_missing_file_and_a_folder(tmp_path, capsys):
    for path in (tmp_path / "nope.nnproj", tmp_path):
        assert main(["validate", str(path)]) != 0
        out = capsys.readouterr()
        assert "cannot read" in out.err and "Traceback" not in out.err
