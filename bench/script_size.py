"""Line budget of the exported training scripts: lines per example and per part of the script
(docstring and imports, model, data, training, entry point), and the functions each holds.
digits_cnn's script must stay within 200 lines; every example's within 300.
Run: python -m bench.script_size"""
from __future__ import annotations

import ast
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import print_table, write_json

BUDGET = {"digits_cnn": 200}
DEFAULT_BUDGET = 300
TRAINING = {"loss_fn", "hinge_loss", "metrics", "confusion_matrix", "class_scores", "r2_score",
            "penalty", "one_cycle", "cd_loss", "masked_error", "reconstruction_error",
            "evaluate", "train"}
ENTRY = {"load_weights", "predict", "main"}


def part(node: ast.stmt) -> str:
    if isinstance(node, ast.ClassDef):
        return "model"
    name = getattr(node, "name", "")
    if name in TRAINING or (isinstance(node, ast.Assign) and "loss_fn" in ast.unparse(node)):
        return "training"
    if name in ENTRY or isinstance(node, ast.If):
        return "entry"
    return "data" if isinstance(node, ast.FunctionDef) else "header"


def measure(text: str) -> dict:
    """Lines per part (blank lines between definitions count as 'blank')."""
    tree = ast.parse(text)
    counts = {"header": 0, "model": 0, "data": 0, "training": 0, "entry": 0}
    functions: dict[str, list[str]] = {k: [] for k in counts}
    counted = 0
    for node in tree.body:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        n = node.end_lineno - first + 1
        where = part(node)
        counts[where] += n
        counted += n
        if hasattr(node, "name"):
            functions[where].append(node.name)
    lines = text.count("\n")
    return {"lines": lines, **counts, "blank": lines - counted, "functions": functions}


def main() -> None:
    from engine import load_project
    from engine.examples import copy_example, example_paths
    from engine.export.script import script_source

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in example_paths():
            project = load_project(copy_example(name, Path(tmp) / f"{name}.nnproj"))
            sizes = measure(script_source(project, filename=str(Path(tmp) / f"{name}.py")))
            budget = BUDGET.get(name, DEFAULT_BUDGET)
            rows.append({"example": name, **sizes, "budget": budget,
                         "within": "yes" if sizes["lines"] <= budget else "NO"})
    print_table(rows, ["example", "lines", "budget", "within", "header", "model", "data",
                       "training", "entry", "blank"])
    print("\nfunctions per part:")
    for r in rows:
        parts = "; ".join(f"{k}: {', '.join(v)}" for k, v in r["functions"].items() if v)
        print(f"  {r['example']}: {parts}")
    write_json("script_size", {"budget": {"digits_cnn": 200, "others": DEFAULT_BUDGET},
                               "scripts": rows})


if __name__ == "__main__":
    main()
