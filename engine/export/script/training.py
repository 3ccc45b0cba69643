"""Code for the training settings, one emitter per feature, each the written-out form of an
engine.train function for this project's values: the optimizer (optim.build_optimizer), the
learning-rate schedule (optim.Schedule), the losses (losses.loss_fn), the metrics
(metrics.compute), the L1/L2 penalty (weights.penalty). tests/engine/export/
test_script_emitters.py runs each emitted piece against its engine function."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from ..common import ExportError
from .plan import OutputPlan, Plan
from .text import block, function, lit

# -- optimizer ----------------------------------------------------------------------------------

_OPTIMIZERS = {"sgd": "SGD", "momentum": "SGD", "nesterov": "SGD", "adagrad": "Adagrad",
               "adadelta": "Adadelta", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW"}


def optimizer_code(opt: dict, params: str = "model.parameters()") -> str:
    """`torch.optim.X(params, lr=...)` with the arguments build_optimizer passes that differ
    from torch's defaults."""
    import torch

    name, momentum = opt["name"], opt.get("momentum")
    args = {"lr": opt["lr"]}
    if name == "sgd":
        args.update(momentum=momentum or 0.0, weight_decay=opt["weight_decay"])
    elif name in ("momentum", "nesterov"):
        mom = 0.9 if momentum is None else momentum
        if name == "nesterov" and mom <= 0:
            raise ExportError("training.optimizer.momentum must be > 0 for nesterov")
        args.update(momentum=mom, nesterov=name == "nesterov", weight_decay=opt["weight_decay"])
    elif name == "adagrad":
        args.update(weight_decay=opt["weight_decay"], eps=opt["eps"])
    elif name == "adadelta":
        args.update(rho=opt["rho"], eps=opt["eps"], weight_decay=opt["weight_decay"])
    elif name == "rmsprop":
        args.update(alpha=opt["alpha"], eps=opt["eps"], momentum=momentum or 0.0,
                    weight_decay=opt["weight_decay"])
    else:
        args.update(betas=tuple(opt["betas"]), eps=opt["eps"], weight_decay=opt["weight_decay"])
    cls = _OPTIMIZERS[name]
    defaults = inspect.signature(getattr(torch.optim, cls)).parameters
    kept = [f"{k}={lit(v)}" for k, v in args.items()
            if k == "lr" or v != defaults[k].default]
    return f"torch.optim.{cls}({params}, {', '.join(kept)})"


# -- learning-rate schedule -----------------------------------------------------------------------

@dataclass
class ScheduleCode:
    """How the training loop sets the rate: `rate` is the expression of the schedule's rate
    (epoch, step and epochs in scope), evaluated per epoch or, with warm-up, per step."""

    rate: str | None = None          # None: the optimizer's rate stays as it is
    per_step: bool = False
    warmup: str | None = None        # the number of warm-up steps, an expression
    setup: list[str] = field(default_factory=list)
    end: list[str] = field(default_factory=list)    # after the epoch's row is complete
    helpers: list[list[str]] = field(default_factory=list)
    doc: str = ""

    def lines(self, batch_size: int, scaled: bool = False
              ) -> tuple[list[str], list[str], list[str], list[str]]:
        """The training loop's lines: (set-up, at each epoch's start, before each step, after
        each step); `x`, `epoch`, `epochs` and `optimizer` are in scope. `scaled`: each param
        group's rate is `rate` times its lr_scale (transfer.py)."""
        setup = []
        if "steps_per_epoch" in f"{self.rate} {self.warmup}":
            setup.append(f"steps_per_epoch = math.ceil(len(x) / {batch_size})")
        if self.warmup:
            setup.append(f"warmup = {self.warmup}  # steps")
        if self.per_step:
            setup.append("step = 0")
        setup += self.setup
        if not self.rate:
            return setup, [], [], []
        scale = ' * group["lr_scale"]' if scaled else ""
        if self.warmup:
            apply = [f"rate = {self.rate}", "if step < warmup:",
                     "    rate *= (step + 1) / warmup  # linear warm-up",
                     "for group in optimizer.param_groups:", f'    group["lr"] = rate{scale}']
        elif scaled:
            apply = [f"rate = {self.rate}", "for group in optimizer.param_groups:",
                     f'    group["lr"] = rate{scale}']
        else:
            apply = ["for group in optimizer.param_groups:", f'    group["lr"] = {self.rate}']
        if self.per_step:
            return setup, [], apply, ["step += 1"]
        return setup, apply, [], []


def project_schedule(plan: Plan) -> ScheduleCode:
    """The schedule of the project (reduce-on-plateau watches val_loss, else the loss)."""
    monitor = "val_loss" if plan.data.has_val else "loss"
    return schedule_code(plan.cfg["schedule"], plan.cfg["optimizer"]["lr"], monitor)


def schedule_code(s: dict, lr: float, monitor: str) -> ScheduleCode:
    """engine.train.optim.Schedule for this config (`monitor`: the loss plateau watches)."""
    name, code = s["name"], ScheduleCode()
    if name == "step":
        code.rate = f"{lit(lr)} * {lit(s['gamma'])} ** (epoch // {s['step_size']})"
        code.doc = f"×{s['gamma']:g} every {s['step_size']} epochs"
    elif name == "exponential":
        code.rate = f"{lit(lr)} * {lit(s['gamma'])} ** epoch"
        code.doc = f"×{s['gamma']:g} every epoch"
    elif name == "cosine":
        low = s["min_lr"]
        span = lit(lr) if low == 0 else f"({lit(lr)} - {lit(low)})"
        code.rate = (f"{'' if low == 0 else lit(low) + ' + '}{span} * "
                     "(1 + math.cos(math.pi * epoch / epochs)) / 2")
        code.doc = "cosine decay" + (f" to {low:g}" if low else "")
    elif name == "plateau":
        code.rate = "plateau_lr"
        code.setup = [f"plateau_lr, plateau_best, flat = {lit(lr)}, math.inf, 0"]
        code.end = block("""
            if math.isfinite(row[{m}]):  # reduce on plateau
                if row[{m}] < plateau_best * (1 - 1e-4):
                    plateau_best, flat = row[{m}], 0
                else:
                    flat += 1
                if flat > {patience}:  # no 0.01% improvement for {more} epochs: lower the rate
                    reduced = max(plateau_lr * {factor}, {low})
                    plateau_lr, flat = reduced if plateau_lr - reduced > 1e-8 else plateau_lr, 0
            """, m=lit(monitor), patience=s["patience"], more=s["patience"] + 1,
                         factor=lit(s["factor"]), low=lit(s["min_lr"]))
        code.doc = f"×{s['factor']:g} when {monitor} stops improving"
    elif name == "onecycle":
        peak = s["max_lr"] or lr
        start = peak / s["div_factor"]
        final = start / s["final_div_factor"]
        code.rate, code.per_step = "one_cycle(step, epochs * steps_per_epoch)", True
        code.helpers = [function("one_cycle(step, total)", (
            f"One cycle over `total` steps: cosine from {start:g} up to {peak:g} over the "
            f"first {s['pct_start']:.0%}, then down to {final:g}."), block("""
            up = {pct} * total - 1
            step = min(step, total - 1)
            if step <= up:
                start, end, pct = {start}, {peak}, step / up if up > 0 else 1.0
            else:
                start, end, pct = {peak}, {final}, (step - up) / (total - 1 - up)
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
            """, pct=lit(s["pct_start"]), start=lit(start), peak=lit(peak), final=lit(final)))]
        code.doc = f"one-cycle up to {peak:g}"
        return code
    if s["warmup_epochs"]:
        w = s["warmup_epochs"]
        code.warmup = (f"{int(w)} * steps_per_epoch" if float(w).is_integer()
                       else f"round({lit(w)} * steps_per_epoch)")
        code.per_step = True
        code.rate = code.rate or lit(lr)
        code.doc = (code.doc + ", " if code.doc else "") + f"{w:g} warm-up epoch(s)"
    return code


# -- losses ---------------------------------------------------------------------------------------

_LOSSES = {"cross_entropy": ("nn.CrossEntropyLoss()", "F.cross_entropy", "cross-entropy"),
           "mse": ("nn.MSELoss()", "F.mse_loss", "mean squared error"),
           "mae": ("nn.L1Loss()", "F.l1_loss", "mean absolute error"),
           "huber": ("nn.HuberLoss()", "F.huber_loss", "Huber loss"),
           "bce_with_logits": ("nn.BCEWithLogitsLoss()", "F.binary_cross_entropy_with_logits",
                               "binary cross-entropy (logits)"),
           "multilabel_bce": ("nn.BCEWithLogitsLoss()", "F.binary_cross_entropy_with_logits",
                              "binary cross-entropy (logits) per label"),
           "bce": ("nn.BCELoss()", "F.binary_cross_entropy", "binary cross-entropy"),
           "multi_hinge": ("nn.MultiMarginLoss()", "F.multi_margin_loss", "multi-class hinge")}

HINGE = block('''
    def hinge_loss(out, target):
        """Hinge loss of binary targets (0/1 or -1/1): mean of max(0, 1 - sign·out)."""
        signs = torch.where(target > 0, 1.0, -1.0).to(out.dtype)
        return torch.clamp(1 - signs * out, min=0).mean()
    ''')


def _loss_key(o: OutputPlan) -> str:
    if o.loss == "hinge":
        return "multi_hinge" if o.long_target else "hinge"
    return o.loss


def loss_code(plan: Plan) -> list[list[str]]:
    """Top-level definitions: `loss_fn(out, target)` (one output) or `loss_fn(outputs,
    targets)`, the weighted sum over the Output nodes as the Trainer adds them."""
    outs = plan.outputs
    if len(outs) == 1:
        key = _loss_key(outs[0])
        if key == "hinge":
            return [HINGE, ["loss_fn = hinge_loss"]]
        return [[f"loss_fn = {_LOSSES[key][0]}"]]
    terms, docs, helpers = [], [], []
    for i, o in enumerate(outs):
        key = _loss_key(o)
        fn = "hinge_loss" if key == "hinge" else _LOSSES[key][1]
        if key == "hinge" and not helpers:
            helpers.append(HINGE)
        weight = "" if o.weight == 1.0 else f"{lit(o.weight)} * "
        terms.append(f"{weight}{fn}({o.var}, targets[{i}])")
        docs.append(f"{'hinge loss' if key == 'hinge' else _LOSSES[key][2]} on {o.name!r}"
                    + (f" (weight {o.weight:g})" if o.weight != 1.0 else ""))
    body = [f"{', '.join(o.var for o in outs)} = outputs", *_sum_lines(terms)]
    doc = "The training loss: " + " + ".join(docs) + "."
    return [*helpers, function("loss_fn(outputs, targets)", doc.replace('"', "'"), body)]


def _sum_lines(terms: list[str]) -> list[str]:
    text = "return " + " + ".join(terms)
    if len(text) <= 90:
        return [text]
    return ["return (" + terms[0], *[f"        + {t}" for t in terms[1:-1]],
            f"        + {terms[-1]})"]


# -- L1/L2 penalty ---------------------------------------------------------------------------------

def penalty_code(plan: Plan) -> list[str]:
    """engine.train.weights.penalty for the configured nodes: Σ coefficient·Σ|w| or Σ w²."""
    terms, docs = [], []
    for kind, coef, paths in plan.penalties:
        for path in paths:
            p = _parameter(path)
            terms.append(f"{lit(coef)} * {p}.{'abs()' if kind == 'l1' else 'pow(2)'}.sum()")
        docs.append(f"{kind.upper()} {coef:g} on {paths[0].split('.')[0]}")
    return function("penalty(model)", "The L1/L2 penalty added to the loss: " +
                    ", ".join(docs) + " (weights, not biases).", _sum_lines(terms))


def _parameter(path: str) -> str:
    parts = path.split(".")
    if all(p.isidentifier() for p in parts):
        return "model." + path
    return f"model.get_parameter({lit(path)})"
