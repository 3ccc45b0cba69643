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
