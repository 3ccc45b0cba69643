"""engine.importers.python_file: the one import path of `studio import` and the app's dialog."""
import textwrap

import pytest

torch = pytest.importorskip("torch")

from engine.importers.python_file import import_python_class, parse_shape

SOURCE = textwrap.dedent('''
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 8)
            self.fc = nn.Linear(8 * 5, 3)

        def forward(self, x):
            return self.fc(torch.flatten(self.emb(x), 1))

    class NeedsArgs(nn.Module):
        def __init__(self, width):
            super().__init__()

    class NotAModule:
        pass
''')


@pytest.fixture
def models(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(SOURCE, "utf-8")
    return path


def test_imports_the_class_with_its_weights_and_names_the_project(models):
    project = import_python_class(models, " Net ", [(1, 5)], ["long"], name="mine")
    assert project.meta["name"] == "mine"
    assert "models.py" in project.meta["description"]
    types = [n.type for n in project.graph.nodes.values()]
    assert any("Embedding" in t for t in types) and any("Linear" in t for t in types)
    n_params = sum(t.size for ts in project.graph.weights.values() for t in ts.values())
    assert n_params == 50 * 8 + 8 * 5 * 3 + 3


@pytest.mark.parametrize("class_name, shapes, dtypes, message", [
    ("Missing", [(1, 5)], ["long"], "defines no 'Missing'"),
    ("NeedsArgs", [(1, 5)], None, "NeedsArgs() failed: TypeError"),
    ("NotAModule", [(1, 5)], None, "NotAModule is not an nn.Module"),
    ("Net", [], None, "give the input shape"),
    ("Net", [(1, 5)], ["int8"], "input dtype 'int8'"),
    ("", [(1, 5)], None, "give the name of the nn.Module class"),
])
def test_bad_requests_raise_one_sentence(models, class_name, shapes, dtypes, message):
    with pytest.raises((ValueError, TypeError)) as info:
        import_python_class(models, class_name, shapes, dtypes)
    assert message in str(info.value)


def test_a_missing_file_and_bad_shapes_are_named(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        import_python_class(tmp_path / "absent.py", "Net", [(1, 3)])
    assert parse_shape("1x3x32x32") == (1, 3, 32, 32)
    with pytest.raises(ValueError, match="input shape 'a,b'"):
        parse_shape("a,b")
    with pytest.raises(ValueError, match="--input-shape '5'"):
        parse_shape("5", "--input-shape")
