"""The architecture contracts (import-linter, configured in pyproject.toml) hold, so a plain
`pytest` catches an import across a layer; CI also runs `lint-imports` on its own."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    """Run as its own process, as CI does: the linter must not see this process's state (e.g.
    logging handlers other tests' imports installed)."""
    pytest.importorskip("importlinter")
    proc = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
         "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_the_contracts_cover_the_rules_of_the_design():
    """Each rule is a contract (a typo in a module name would make it check nothing)."""
    pytest.importorskip("importlinter")
    from importlinter.api import read_configuration

    contracts = read_configuration(str(ROOT / "pyproject.toml"))["contracts_options"]
    by_type: dict[str, list[dict]] = {}
    for c in contracts:
        by_type.setdefault(c["type"], []).append(c)
    layers = [c["layers"] for c in by_type["layers"]]
    assert ["engine.cli", "engine.export", "engine.train", "engine.data"] in layers
    assert any(ls[-1] == "engine" and "studio.ui" in ls for ls in layers)
    forbidden = {(tuple(c["source_modules"]), tuple(c["forbidden_modules"]))
                 for c in by_type["forbidden"]}
    assert (("engine",), ("PySide6", "shiboken6", "pyqtgraph")) in forbidden
    assert (("studio.ui", "studio.document", "studio.commands", "studio.worker"),
            ("engine.cli",)) in forbidden
