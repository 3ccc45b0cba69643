"""The script's `load_data()`: the source's lines (sources*.py), then the steps of
engine.data.loader.prepare written out for this project: subset, reshape to the Input node,
the seeded split, normalization with training statistics, target encodings, tensors in the
form each loss needs (engine.train.losses.prepare_target)."""
from __future__ import annotations

import math
import re

import numpy as np

from . import stream
from .data_plan import DataPlan, TargetPlan
from .plan import OutputPlan, Plan
from .sources import source_code
from .text import fit, function, lit, string, wrapped


def load_data(plan: Plan) -> tuple[list[list[str]], list[str]]:
    """(helper functions, the load_data function)."""
    d = plan.data
    src = source_code(d)
    body = fit(_chain([*src.lines, *_subsample(d), *([] if d.streamed else _to_input(d)),
                       *_split(d), *_normalize(d), *_conversions(d), *_tensors(plan)]))
    body.append("return splits, (offset, scale)" if d.normalize else "return splits")
    helpers = [*src.helpers, *stream.augment_helpers(d), *([stream.STREAMED] if d.streamed
                                                             else [])]
    return helpers, function("load_data()", _doc(d, src.what), body)


def _doc(d: DataPlan, what: str) -> str:
    """load_data's docstring: on one line if a shorter wording allows."""
    text = what[:1].upper() + what[1:]
    if d.max_samples is not None:
        text += f" (a random {d.max_samples})"
    shape = d.input_shape
    text += (f" as {shape[0]} token ids" if d.int_input and len(shape) == 1 else
             f" as {shape[0]} features" if len(shape) == 1 else
             f" as {'×'.join(map(str, shape))} inputs")
    split = [f"{d.test:.0%} test" if d.test else "", f"{d.val:.0%} validation" if d.val else ""]
    split = ", ".join(s for s in split if s)
    if split:
        text += f": {split} (seed {d.seed})"
    if d.own_test:
        text += ", its own test set"
    if not d.normalize:
        return text + "."
    kind, axis = d.normalize
    if kind == "fixed":
        return text + "; normalized with a fixed mean and std."
    how = {"minmax": "min-max scaled", "standard": "standardized"}[kind]
    over = {"feature": "per feature", "global": "over all values", "channel": "per channel"}
    wordings = [f"{text}; {how} {over[axis]} with the training split's statistics.",
                f"{text}; {how} {over[axis]}.", f"{text}; {how}."]
    return next((w for w in wordings if len(w) <= 90), wordings[0])


def _chain(lines: list[str]) -> list[str]:
    """`x = x.a()` then `x = x.b()` as `x = x.a().b()` (the last line's comment kept)."""
    out: list[str] = []
    pattern = re.compile(r"^(\w+) = \1(\.[^#]+?)(  #.*)?$")
    for line in lines:
        now = pattern.match(line)
        before = pattern.match(out[-1]) if out else None
        if now and before and now.group(1) == before.group(1) and \
                len(before.group(0)) + len(now.group(2)) < 90:
            out[-1] = f"{before.group(1)} = {before.group(1)}{before.group(2)}{now.group(2)}" \
                      f"{now.group(3) or before.group(3) or ''}"
        else:
            out.append(line)
    return out


def _target_vars(d: DataPlan) -> list[str]:
    return list(dict.fromkeys(t.var for t in d.targets if t.var != "x"))


def _subsample(d: DataPlan) -> list[str]:
    if d.max_samples is None:
        return []
    names = ["x", *_target_vars(d)]
    return [(f"keep = np.sort(np.random.default_rng({d.seed + 1}).permutation(len(x))"
            f"[:{d.max_samples}])  # a random subset"),
            f"{', '.join(names)} = {', '.join(f'{n}[keep]' for n in names)}"]


def _to_input(d: DataPlan) -> list[str]:
    lines = []
    for x in ("x", "test_x") if d.own_test else ("x",):
        if tuple(d.raw.x.shape[1:]) != d.input_shape:
            lines.append(f"{x} = {x}.reshape(-1, {', '.join(map(str, d.input_shape))})  "
                         "# the Input node's shape")
        integer = np.issubdtype(d.raw.x.dtype, np.integer)
        if d.int_input and not integer:
            lines.append(f"{x} = {x}.astype(np.int64)  # token ids")
        elif not d.int_input and integer:
            lines.append(f"{x} = {x}.astype(np.float32)")
    return lines


def _split(d: DataPlan) -> list[str]:
    order = f"np.random.default_rng({d.seed}).permutation(len(x))"
    counts = [(name, frac) for name, frac in (("test", d.test), ("val", d.val)) if frac]
    if not counts:
        return [f"train = {order}  # all samples train, shuffled"]
    lines = [f"order = {order}"]
    lines.append(", ".join(f"n_{n}" for n, _ in counts) + " = " + ", ".join(
        f"max(1, round(len(x) * {lit(f)}))" for _, f in counts))
    cuts = ["n_test", "n_test + n_val"] if len(counts) == 2 else [f"n_{counts[0][0]}"]
    names = ", ".join(n for n, _ in counts)
    lines.append(f"{names}, train = np.split(order, [{', '.join(cuts)}])")
    return lines


def _normalize(d: DataPlan) -> list[str]:
    if not d.normalize:
        return []
    kind, axis = d.normalize
    if kind == "fixed" or d.streamed:
        lines = _fixed(d) if kind == "fixed" else stream.statistics(d)
        if not d.streamed:
            lines.append("x = (x - offset) / scale")
        if d.own_test:
            lines.append("test_x = (test_x - offset) / scale")
        return lines
    ndim = len(d.input_shape) + 1
    if axis == "global":
        over = ""
    elif axis == "channel" and ndim >= 3:
        over = f"axis={(0, *range(2, ndim))}, keepdims=True"
    else:
        over = "axis=0"
    if kind == "minmax":
        pair = f"offset, top = x[train].min({over}), x[train].max({over})"
        lines = [pair] if len(pair) <= 96 else [f"offset = x[train].min({over})",
                                                 f"top = x[train].max({over})"]
        lines.append("scale = np.where(top - offset > 1e-12, top - offset, 1).astype(np.float32)")
    else:
        sep = ", " if over else ""
        lines = [f"offset = x[train].mean({over}{sep}dtype=np.float64)",
                 f"scale = np.sqrt(np.square(x[train] - offset).mean({over}))",
                 ("offset, scale = offset.astype(np.float32), "
                 "np.where(scale > 1e-12, scale, 1).astype(np.float32)")]
    lines.append("x = (x - offset) / scale")
    if d.own_test:
        lines.append("test_x = (test_x - offset) / scale")
    return lines


def _fixed(d: DataPlan) -> list[str]:
    """engine.data.prep.fixed_normalization: the dataset's mean and std (fractions of the
    value range), per channel or one for all."""
    lines = []
    for name, key in (("offset", "mean"), ("scale", "std")):
        values = d.config[key] if isinstance(d.config[key], list) else [d.config[key]]
        times = f" * {lit(d.value_range)}" if d.value_range != 1.0 else ""
        if len(values) == 1:
            lines.append(f"{name} = np.float32({lit(float(values[0]))}{times})  # the {key}")
            continue
        shape = ", ".join(map(str, (len(values),) + (1,) * (len(d.input_shape) - 1)))
        lines.append(f"{name} = (np.array({lit([float(v) for v in values])}){times})"
                     f".reshape({shape}).astype(np.float32)  # the {key} per channel")
    return lines


def _conversions(d: DataPlan) -> list[str]:
    lines, done = [], set()
    for t in d.targets:
        if t.raw is None or t.var in done:
            continue
        done.add(t.var)
        for var in (t.var, f"test_{t.var}") if d.own_test else (t.var,):
            lines += _convert(var, t, d.config)
    return lines


def _convert(var: str, t: TargetPlan, config: dict) -> list[str]:
    """engine.data.loader._convert: the dataset's "task" and "one_hot" options."""
    lines, raw, final = [], t.raw.task, t.final.task
    if final != raw:
        if final == "binary":
            lines.append(f"{var} = {var}.reshape(-1, 1).astype(np.float32)  # binary")
        elif final == "classification":
            lines.append(f"{var} = {var}.reshape(-1).astype(np.int64)  # class indices")
        else:
            lines.append(f"{var} = {var}.reshape(len({var}), -1).astype(np.float32)  # {final}")
    if config.get("one_hot") and final == "classification":
        k = t.final.num_classes
        lines.append(f"{var} = np.eye({k if k else f'{var}.max() + 1'}, dtype=np.float32)"
                     f"[{var}]  # one-hot")
    return lines


def target_dtype(plan: Plan, t: TargetPlan) -> np.dtype:
    if t.var == "x":
        return np.dtype(np.int64 if plan.data.int_input else np.float32)
    return t.final.values.dtype


def target_tensor(plan: Plan, o: OutputPlan, array: str) -> str:
    """engine.train.losses.prepare_target, for this output: the tensor expression."""
    t = f"torch.as_tensor({array})"
    dtype = target_dtype(plan, o.target)
    if plan.rbm is not None:
        return t + ("" if dtype == np.float32 else ".float()")
    if o.long_target:
        want = o.shape[1:] if o.loss == "cross_entropy" else ()
        t += ".long()"
    else:
        want = o.shape
        t += "" if dtype == np.float32 else ".float()"
        if math.prod(o.target.shape) != math.prod(want):
            from ..common import ExportError

            raise ExportError(f"Output '{o.name}': the target has shape "
                              f"{('N', *o.target.shape)} but the output is {('N', *o.shape)}: "
                              f"the '{o.loss}' loss needs them to match")
    if o.target.shape != tuple(want):
        t += f".reshape({', '.join(['-1', *map(str, want)])})"
    return t


def _tensors(plan: Plan) -> list[str]:
    d = plan.data

    def targets(index) -> str:
        parts = [target_tensor(plan, o, index(o.target.var)) for o in plan.outputs]
        return parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"

    names = ["train", *(["val"] if d.has_val else []),
             *(["test"] if d.has_test and not d.own_test else [])]
    pairs = ", ".join(f"({string(n)}, {n})" for n in names)
    loop = f"for name, part in ({pairs}{',' if len(names) == 1 else ''})"
    inputs = stream.reader(d, "part") if d.streamed else "torch.as_tensor(x[part])"
    head = f"splits = {{name: ({inputs}, {targets(lambda v: f'{v}[part]')})"
    if len(head) > 92 and plan.multi:
        parts = [target_tensor(plan, o, f"{o.target.var}[part]") for o in plan.outputs]
        lines = [f"splits = {{name: ({inputs},",
                 *wrapped("                [", parts, "])", 0), f"          {loop}}}"]
    else:
        lines = [head, f"          {loop}}}"]
    if d.own_test:
        lines.append(f"splits[\"test\"] = (torch.as_tensor(test_x), "
                     f"{targets(lambda v: f'test_{v}' if v != 'x' else 'test_x')})")
    return lines


def _needs(plan: Plan) -> list[str]:
    """The pip packages the script imports."""
    extra = {"bundled": ["scikit-learn"], "image_folder": ["Pillow"]}.get(plan.data.source, [])
    return ["torch", "numpy", *extra]


def normalize_code(plan: Plan, inputs: str) -> str:
    """The expression of `inputs` (raw, with the Input node's shape) prepared like the
    training data."""
    if plan.data.int_input:
        return f"{inputs}.astype(np.int64)"
    if plan.data.normalize:
        return f"({inputs}.astype(np.float32) - offset) / scale"
    return f"{inputs}.astype(np.float32)"
