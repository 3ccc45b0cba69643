"""The script's `metrics(out, target)`: engine.train.metrics.compute written out for the
metrics that apply to each Output node (accuracy, top-k, precision/recall/F1, confusion
matrix, MSE/MAE/RMSE/R²), computed as the engine does (counts exactly, errors in float64)."""
from __future__ import annotations

from .plan import OutputPlan, Plan
from .text import block, function, string

CONFUSION = block('''
    def confusion_matrix(pred, true, classes):
        """Counts of (true class, predicted class) pairs: rows true, columns predicted."""
        pred, true = pred.flatten().long().cpu().numpy(), true.flatten().long().cpu().numpy()
        n = max(classes, int(true.max(initial=0)) + 1, int(pred.max(initial=0)) + 1)
        return np.bincount(true * n + pred, minlength=n * n).reshape(n, n)
    ''')

SCORES = block('''
    def class_scores(cm, binary):
        """Precision, recall and F1 from a confusion matrix: of the positive class (binary), or
        averaged over the classes that occur."""
        tp = np.diag(cm).astype(float)
        predicted, actual = cm.sum(axis=0).astype(float), cm.sum(axis=1).astype(float)
        precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
        recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
        denom = precision + recall
        f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
        present = (actual + predicted) > 0
        scores = {"precision": precision, "recall": recall, "f1": f1}
        if binary:
            return {k: float(v[1]) if len(v) > 1 else 0.0 for k, v in scores.items()}
        return {k: float(v[present].mean()) if present.any() else 0.0 for k, v in scores.items()}
    ''')

R2 = block('''
    def r2_score(err, target):
        """R² per output column, averaged (a constant column counts 1 if fitted exactly, else 0)."""
        target = target.reshape(len(err), -1).double().cpu().numpy()
        ss_res, ss_tot = (err ** 2).sum(axis=0), ((target - target.mean(axis=0)) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.where(ss_res > 0, 0.0, 1.0))
        return float(r2.mean())
    ''')

_CLASSES = ("accuracy", "binary_accuracy", "top_k_accuracy", "precision", "recall", "f1",
            "confusion_matrix")


def _class_terms(o: OutputPlan, out: str, target: str) -> tuple[str, str]:
    """(predicted, true) class tensors, as engine.train.metrics compares them."""
    if o.loss == "cross_entropy" or (o.loss == "hinge" and o.long_target):
        true = target if o.long_target else f"{target}.argmax(1)"
        return f"{out}.argmax(1)", true
    return f"({out} > {0.5 if o.loss == 'bce' else 0})", f"({target} > 0)"


def _output_metrics(o: OutputPlan, out: str, target: str, prefix: str, top_k: int,
                    helpers: dict, local: str = "") -> tuple[list[str], list[str]]:
    """(lines before the return, 'key': value entries) of one output; `local` suffixes its
    local variables (several outputs)."""
    pre, entries = [], []
    pred, true = _class_terms(o, out, target) if any(m in _CLASSES for m in o.metrics) \
        else ("", "")
    if true.endswith(".argmax(1)"):  # one-hot targets
        pre.append(f"labels{local} = {true}  # the one-hot targets' classes")
        true = f"labels{local}"
    cm, err = f"cm{local}", f"err{local}"
    if any(m in ("precision", "recall", "f1", "confusion_matrix") for m in o.metrics):
        classes = o.shape[0] if o.loss == "cross_entropy" or o.long_target else 2
        helpers["confusion"] = CONFUSION
        pre.append(f"{cm} = confusion_matrix({pred}, {true}, {classes})")
    if any(m in ("precision", "recall", "f1") for m in o.metrics):
        helpers["scores"] = SCORES
        binary = not (o.loss == "cross_entropy" or o.long_target)
        pre.append(f"{cm}_scores = class_scores({cm}, binary={binary})")
    if any(m in ("mse", "mae", "rmse", "r2") for m in o.metrics):
        t = f"{target}.float()" if o.long_target else target
        pre.append(f"{err} = ({out}.reshape(len({out}), -1).double() - "
                   f"{t}.reshape(len({out}), -1).double()).cpu().numpy()")
    for m in o.metrics:
        key = string(prefix + m)
        if m in ("accuracy", "binary_accuracy"):
            count = target if true.startswith("(") else true  # `true` may be an expression
            value = f"({pred} == {true}).sum().item() / {count}.numel()"
        elif m == "top_k_accuracy":
            k = min(top_k, o.shape[0])
            pre.append(f"top{local} = {out}.topk({k}, 1).indices  # the {k} highest classes")
            value = f"(top{local} == {true}[:, None]).any(1).sum().item() / len({out})"
        elif m == "confusion_matrix":
            value = f"{cm}.tolist()"
        elif m in ("precision", "recall", "f1"):
            value = f"{cm}_scores[{m!r}]"
        elif m == "mse":
            value = f"float(({err} ** 2).mean())"
        elif m == "mae":
            value = f"float(np.abs({err}).mean())"
        elif m == "rmse":
            value = f"float(np.sqrt(({err} ** 2).mean(axis=0)).mean())"
        else:
            helpers["r2"] = R2
            value = f"r2_score({err}, {target})"
        entries.append(f"{key}: {value}")
    return pre, entries


def metrics_code(plan: Plan) -> list[list[str]]:
    """The helpers and `metrics(...)` of the project's outputs; [] when none is reported."""
    if not plan.metrics:
        return []
    helpers: dict = {}
    pre, entries = [], []
    top_k = plan.cfg["top_k"]
    if plan.multi:
        pre.append(f"{', '.join(o.var if o.metrics else '_' for o in plan.outputs)} = outputs")
        for i, o in enumerate(plan.outputs):
            p, e = _output_metrics(o, o.var, f"targets[{i}]", f"{o.name}_", top_k, helpers,
                                   f"_{o.var}")
            pre += p
            entries += e
        signature = "metrics(outputs, targets)"
    else:
        pre, entries = _output_metrics(plan.outputs[0], "out", "target", "", top_k, helpers)
        signature = "metrics(out, target)"
    names = sorted({m for o in plan.outputs for m in o.metrics}, key=list(_ORDER).index)
    doc = f"{', '.join(_ORDER[m] for m in names)} of a split's outputs".capitalize() + "."
    ret = "return {" + ", ".join(entries) + "}"
    body = [*pre, *( [ret] if len(ret) <= 92 else
                     ["return {", *[f"    {e}," for e in entries], "}"])]
    return [*helpers.values(), function(signature, doc, body)]


_ORDER = {"accuracy": "accuracy", "binary_accuracy": "binary accuracy",
          "top_k_accuracy": "top-k accuracy", "precision": "precision", "recall": "recall",
          "f1": "F1", "confusion_matrix": "confusion matrix", "mse": "MSE", "mae": "MAE",
          "rmse": "RMSE", "r2": "R²"}
