"""The model classes in the script fit its line length: a long line's shape comment goes above
it, a call still too long is wrapped under its bracket, a long docstring is wrapped; the code
means the same (same syntax tree, docstrings up to their line breaks)."""
from __future__ import annotations

import ast
import runpy

import torch

import engine
from engine.export.script import script_source
from engine.export.script.reflow import reflow

from .conftest import assert_short_lines

SOURCE = '''\
class Block(nn.Module):
    """A block whose description is long enough to run past the line length of the exported script."""

    def __init__(self, in_channels, channels=128, stride=2):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, kernel_size=3, stride=stride, padding=1, bias=False)
        self.s = "a, b"
        self.t = """A multi-line string: its lines are text, even those that look like code, which this one does.
        x = f(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v, w, x, y, z)  # comment
        """

    def forward(self, positions):
        attention, _ = self.attention(positions, positions, positions, need_weights=False)  # attention (MultiheadSelfAttention): N×12×32
        short = positions + 1  # short (Add): N×12×32
        classifier_of_the_image_features = self.classifier_of_the_image_features(features_from_the_image_scanner)
        return self.a_very_long_attribute_name_for_a_layer(positions, positions, positions, positions)
'''


def _same_code(a: str, b: str) -> bool:
    def dump(text):
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                node.value = " ".join(node.value.split())
        return ast.dump(tree)
    return dump(a) == dump(b)


def test_reflow_fits_long_lines_and_keeps_the_code():
    out = reflow(SOURCE)
    assert _same_code(SOURCE, out)
    lines = out.split("\n")
    assert all(len(ln) <= 100 for ln in lines if "A multi-line" not in ln and "x = f(" not in ln)
    i = next(i for i, ln in enumerate(lines) if "self.t =" in ln)
    assert lines[i:i + 2] == SOURCE.split("\n")[7:9]  # the string's lines are kept
    i = lines.index("        # attention (MultiheadSelfAttention): N×12×32")
    assert lines[i + 1].startswith("        attention, _ = self.attention(")
    assert "        short = positions + 1  # short (Add): N×12×32" in lines  # short lines stay
    i = next(i for i, ln in enumerate(lines) if "self.conv1 =" in ln)
    assert lines[i].endswith("padding=1,")
    assert lines[i + 1] == " " * lines[i].index("(in_channels") + " bias=False)"
    assert lines[1].startswith('    """A block whose') and lines[2].endswith(' script."""')
    i = lines.index("        classifier_of_the_image_features = self.classifier_of_the_image_features(")
    assert lines[i + 1:i + 3] == ["            features_from_the_image_scanner", "        )"]
    assert reflow(out) == out


def test_a_project_with_long_names_writes_a_script_within_the_line_length(tmp_path):
    g = engine.Graph()
    x = g.add_node("io.Input", {"shape": [64]}, name="features_from_the_scanner")
    fc = g.add_node("core.Linear", {"out_features": 10},
                    name="classifier_of_the_features")
    out = g.add_node("io.Output", {}, name="predicted_class")
    g.connect(x.id, "out", fc.id, "in")
    g.connect(fc.id, "out", out.id, "in")
    project = engine.Project(graph=g, meta={"name": "long_names"},
                             dataset={"source": "bundled", "name": "digits", "flatten": True})
    text = script_source(project, filename=str(tmp_path / "model.py"))
    assert_short_lines(text)
    (tmp_path / "model.py").write_text(text, encoding="utf-8")
    model = runpy.run_path(str(tmp_path / "model.py"))["LongNames"]()
    assert model(torch.zeros(2, 64)).shape == (2, 10)
