"""A Python environment with only torch, numpy and scikit-learn, for running exported scripts.

By default the venv is created without site packages and those three distributions (and what
they require) are linked into it from the test interpreter's site-packages: the same files a
`pip install torch numpy scikit-learn` would put there, in a second instead of minutes. Set
STUDIO_TEST_PIP=1 to pip-install them instead.
"""
from __future__ import annotations

import os
import re
import subprocess
import venv
from importlib import metadata
from pathlib import Path

import pytest

ONLY = ("torch", "numpy", "scikit-learn")


def _closure(names) -> list[metadata.Distribution]:
    """The distributions `names` need, recursively (requirements without extras/markers that
    exclude this platform)."""
    from packaging.requirements import Requirement

    seen: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(seen.values())


def _link(dists, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for dist in dists:
        tops = {f.parts[0] for f in dist.files or [] if f.parts and f.parts[0] != ".."}
        for top in tops:
            src = Path(dist.locate_file(top))
            dst = target / top
            if src.exists() and not dst.exists() and top != "__pycache__":
                dst.symlink_to(src)


@pytest.fixture(scope="session")
def clean_python(tmp_path_factory) -> Path:
    """Path of a python executable that can import torch, numpy and sklearn and nothing else
    of the test environment (no Studio, safetensors, onnx)."""
    root = tmp_path_factory.mktemp("clean-venv")
    env_dir = root / "venv"
    if os.environ.get("STUDIO_TEST_PIP"):
        venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
        py = env_dir / "bin" / "python"
        subprocess.run([str(py), "-m", "pip", "install", "-q", *ONLY], check=True)
        return py
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    py = env_dir / "bin" / "python"
    out = subprocess.run([str(py), "-c", "import site; print(site.getsitepackages()[0])"],
                         capture_output=True, text=True, check=True)
    site_dir = Path(out.stdout.strip())
    _link(_closure(ONLY), root / "linked")
    (site_dir / "studio_test_packages.pth").write_text(str(root / "linked") + "\n")
    return py


def python_can_import(py: Path, module: str) -> bool:
    code = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
    return subprocess.run([str(py), "-c", code], cwd=py.parent, check=False).returncode == 0


@pytest.fixture(scope="package", autouse=True)
def _one_torch_thread():
    """The exporters' tests train and run tiny models: one intra-op thread (no OpenMP
    barrier stalls on a busy machine, same results). Package scope, so a module-scoped
    fixture that trains runs with it too; restored afterwards for the other suites."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def assert_ruff_clean(*paths: Path) -> None:
    """`ruff check` with the project's settings (line length 100, ruff's default rules) passes
    on these files (skipped when ruff is not installed)."""
    import shutil
    import sys

    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        return
    out = subprocess.run([ruff, "check", "--isolated", "--no-cache", "--line-length", "100",
                          *map(str, paths)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout[-3000:]


def assert_short_lines(text: str) -> None:
    """Every line of the script fits in 100 columns, the model classes' too."""
    for line in text.splitlines():
        assert len(line) <= 100, line
