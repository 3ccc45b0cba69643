"""`--format python`: a training script written for the project, in plain PyTorch.

The model class is the source `engine.codegen.generate` makes for the app (what you train is
what you export). The rest is written from a Plan of the project (plan.py) by one emitter per
feature, each the written-out form of the engine function it stands for (the data source, the
split and normalization, optimizer, schedule, losses, metrics, penalties, early stopping, the
recipe's step), with the project's values as literals and nothing the project does not use.
The tests run every emitter against its engine function, and every example's script against
the app's Trainer (same losses and metrics on the CPU).
"""
from __future__ import annotations

from pathlib import Path

from ...project import Project
from ..common import ExportError
from .text import import_block, inert

__all__ = ["ExportError", "export_script", "script_source"]


def script_source(project: Project, weights_hint: str | None = None,
                  filename: str = "model.py") -> str:
    """The text of the standalone training script for `project`. Raises ExportError (or the
    dataset's DataError)."""
    from .data import load_data
    from .entry import main_code, predict_code, weights_code
    from .loop import evaluate_code, train_code
    from .metrics import metrics_code
    from .plan import build_plan
    from .recipes import recipe
    from .training import penalty_code, project_schedule
    from .transfer import helpers as transfer_helpers

    plan = build_plan(project, filename, weights_hint)
    data_helpers, data_fn = load_data(plan)
    sched = project_schedule(plan)
    blocks = [plan.model_source.rstrip("\n").split("\n"), *data_helpers, data_fn,
              *recipe(plan).helpers(plan), *metrics_code(plan),
              *([penalty_code(plan)] if plan.penalties else []), *sched.helpers,
              *transfer_helpers(plan.transfer),
              evaluate_code(plan), train_code(plan), weights_code(plan), predict_code(plan),
              main_code(plan), ['if __name__ == "__main__":', "    main()"]]
    body = "\n\n\n".join("\n".join(b) for b in _unique(blocks)) + "\n"
    text = "\n".join([*_docstring(plan), *import_block(body), "", ""]) + "\n" + body
    _check_unique_names(text)
    return text


def _unique(blocks: list[list[str]]) -> list[list[str]]:
    """Each helper once (two emitters may need the same one)."""
    seen, out = set(), []
    for b in blocks:
        key = "\n".join(b)
        if key not in seen:
            seen.add(key)
            out.append(b)
    return out


def _docstring(plan) -> list[str]:
    from .data import _needs

    f, name = inert(plan.file), inert(plan.project_name)
    weights = inert(plan.weights_hint or f"{Path(plan.file).stem}.safetensors")
    test = " on the test split" if plan.data.has_test else ""
    rows = [[f"python {f} [--epochs {plan.cfg['epochs']}] [--device cpu]",
             f"train, then evaluate{test}", "train, then evaluate"],
            [f"python {f} --weights {weights} --predict x.npy", "print predictions", ""],
            [f"torchrun --nproc_per_node 4 {f}", "data-parallel training (DDP)", "DDP"]]
    pad = max(len(rows[0][0]), len(rows[2][0]))
    usage = []
    for cmd, what, short in rows:
        line = f"    {cmd.ljust(pad)}   {what}"
        usage.append((line if len(line) <= 96 else f"    {cmd.ljust(pad)}   {short}").rstrip())
    needs = _needs(plan)
    return [f'"""{name}: a model exported from Studio, with its data loading and training loop.',
            "", f"Needs {', '.join(needs[:-1])} and {needs[-1]} (pip install {' '.join(needs)}).",
            "", *usage, "",
            "--weights takes Studio's .safetensors weights or a --save file; --predict, raw inputs.",
            '"""']


def _check_unique_names(text: str) -> None:
    """The script must not define a top-level name twice (one would shadow the other)."""
    import ast

    seen: set[str] = set()
    for node in ast.parse(text).body:
        names = [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else \
            [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
        for name in names:
            if name in seen:
                raise ExportError(f"internal error: the script would define {name!r} twice")
            seen.add(name)


def export_script(project: Project, out: str | Path, weights_hint: str | None = None) -> Path:
    """Write the standalone training script for `project` to `out`."""
    from ...project import atomic_write

    out = Path(out)
    atomic_write(out, script_source(project, weights_hint, str(out)).encode("utf-8"))
    return out
