import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


@pytest.fixture(scope="module")
def cnn():
    """The digits_cnn example compiled (seeded), and its project."""
    import torch

    from engine.insight import build_model
    from engine.project import load_project

    project = load_project(EXAMPLES / "digits_cnn.nnproj")
    torch.manual_seed(0)
    return build_model(project.graph), project


@pytest.fixture(scope="session", autouse=True)
def generated_mnist(tmp_path_factory):
    """The tests never read the user's dataset cache or the internet: $STUDIO_DATA_DIR points
    at a generated MNIST (tests/mnist_cache.py) whose checksums stand in for the published
    ones in this process, so the MNIST examples load, train and export like the others."""
    from . import mnist_cache

    folder = tmp_path_factory.mktemp("datasets")
    saved = mnist_cache.install(folder, mnist_cache.write_cache(folder))
    yield folder
    mnist_cache.restore(saved)
