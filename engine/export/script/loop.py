"""The script's `evaluate` and `train`: the Trainer's loop (engine/train/trainer.py) written out
for this project, with only the features it uses (schedule, frozen layers, clipping, early
stopping, DDP). What a batch does is the recipe's (recipes.py)."""
from __future__ import annotations

from .plan import Plan
from .recipes import recipe
from .text import block, function, indent, lit
from .training import project_schedule
from .transfer import backbone_code, epoch_code


def _eval_batch_size(plan: Plan) -> int:
    return max(plan.cfg["batch_size"], 256)


def evaluate_code(plan: Plan) -> list[str]:
    r = recipe(plan)
    bs = _eval_batch_size(plan)
    ys = f"zip(*[t.split({bs}) for t in y])" if plan.multi else f"y.split({bs})"
    xs = f"x.batches(torch.arange(len(x)).split({bs}))" if plan.data.streamed \
        else f"x.split({bs})"
    keep = plan.metrics
    body = ["model.eval()", "total, outs = 0.0, []" if keep else "total = 0.0",
            f"for xb, yb in zip({xs}, {ys}):", *indent(r.eval_batch(plan))]
    if keep:
        body.append("    outs.append(out)")
    loss = "total / len(x)" + (" + penalty(model).item()" if plan.penalties else "")
    if keep:
        outs = "[torch.cat(o) for o in zip(*outs)]" if plan.multi else "torch.cat(outs)"
        body.append(f'return {{"loss": {loss}, **metrics({outs}, y)}}')
    else:
        body.append(f'return {{"loss": {loss}}}')
    what = "Loss and metrics" if keep else "The loss"
    return function("evaluate(model, x, y)", f"{what} of `model` on a whole split, in "
                    f"batches of {bs}, in eval mode.", body, "@torch.no_grad()")


def train_code(plan: Plan) -> list[str]:
    cfg, r = plan.cfg, recipe(plan)
    sched = project_schedule(plan)
    bs, seed = cfg["batch_size"], cfg["seed"]
    setup = ['x, y = data["train"]' if r.uses_targets else 'x = data["train"][0]',
             *_frozen(plan)]
    setup += r.optimizers(plan) + backbone_code(plan.transfer)
    if r.ddp:
        setup.append("net = nn.parallel.DistributedDataParallel(model) if world > 1 else model")
    setup.append(f"generator = torch.Generator().manual_seed({seed})  # Studio's batch order")
    if plan.data.augment:
        setup.append(f"augment_seeds = torch.Generator().manual_seed({seed})  # one per batch")
        if plan.data.normalize and not plan.data.streamed:
            setup.append('offset, scale = data["normalization"]  # undone to augment')
    scaled = bool(plan.transfer.groups)
    rate_setup, rate_epoch, rate_step, rate_tick = sched.lines(bs, scaled)
    setup += rate_setup + _early_setup(plan)
    keep = plan.metrics
    batch = [*r.batch(plan), *_augmented(plan), *rate_step, *r.step(plan),
             *r.update(plan, _clipping(cfg["grad_clip"])), *rate_tick,
             "total += value * len(batch)", "seen += len(batch)"]
    if keep:
        batch += ["outs.append([o.detach() for o in out])" if plan.multi
                  else "outs.append(out.detach())", "ys.append(yb)"]
    epoch = [*rate_epoch, *epoch_code(plan.transfer), "net.train()"
             if r.ddp else "model.train()",
             "total, seen, outs, ys = 0.0, 0, [], []" if keep else "total, seen = 0.0, 0",
             *_batches(plan, bs), *indent(batch), *block("""
                 if world > 1:
                     sums = torch.tensor([total, seen], dtype=torch.float64, device=x.device)
                     torch.distributed.all_reduce(sums)
                     total, seen = sums.tolist()
                 """)]
    if keep and plan.multi:
        epoch += ['row = {"epoch": epoch + 1, "loss": total / seen,',
                  '       **metrics([torch.cat(o) for o in zip(*outs)],',
                  '                 [torch.cat(t) for t in zip(*ys)])}']
    elif keep:
        epoch.append('row = {"epoch": epoch + 1, "loss": total / seen, '
                     '**metrics(torch.cat(outs), torch.cat(ys))}')
    else:
        epoch.append('row = {"epoch": epoch + 1, "loss": total / seen}')
    if plan.data.has_val:
        epoch.append('row.update({f"val_{k}": v for k, v in evaluate(model, *data["val"])'
                     '.items()})')
    lr = ("rate" if sched.rate else lit(cfg["optimizer"]["lr"])) if scaled or plan.gan \
        else 'optimizer.param_groups[0]["lr"]'
    epoch += [f'row["lr"] = {lr}', "log(row)", *sched.end,
              *_early_end(plan)]
    body = [*setup, "for epoch in range(epochs):", *indent(epoch), *_early_restore(plan)]
    return function("train(model, data, epochs, log, rank=0, world=1)", _train_doc(plan, sched),
                    body)


def _batches(plan: Plan, bs: int) -> list[str]:
    """The loop over the epoch's batches (`batch`: the indices; from disk, also `xb`)."""
    order = "torch.randperm(len(x), generator=generator)"
    seeds = [("seeds = torch.randint(0, 2**62, (len(order),), generator=augment_seeds)"
              ".tolist()")] if plan.data.augment else []
    if plan.data.streamed:
        return ["# the epoch's batches (under torchrun, this process's share of each)",
                f"order = [b[rank::world] for b in {order}.split({bs})]",
                *seeds, f"for batch, xb in zip(order, x.batches(order{', seeds' if seeds else ''})):"]
    if seeds:
        return [f"order = {order}.to(x.device).split({bs})", *seeds,
                "for batch, seed in zip(order, seeds):",
                "    batch = batch[rank::world]  # under torchrun: this process's share"]
    return [f"for batch in {order}.to(x.device).split({bs}):",
            "    batch = batch[rank::world]  # under torchrun: this process's share"]


def _augmented(plan: Plan) -> list[str]:
    """In memory: the batch augmented on its raw values, as Studio does (engine.train.batches
    .Augmented); from disk the Dataset has done it."""
    if not plan.data.augment or plan.data.streamed:
        return []
    if not plan.data.normalize:
        return ["xb = augment(xb, seed)"]
    return ["xb = (augment(xb * scale + offset, seed) - offset) / scale  # on raw values"]


def _train_doc(plan: Plan, sched) -> str:
    cfg = plan.cfg
    opt = cfg["optimizer"]
    parts = [(f"{opt['name'].capitalize() if opt['name'] != 'sgd' else 'SGD'} "
             f"(lr {opt['lr']:g}{', ' + sched.doc if sched.doc else ''})"),
             f"batches of {cfg['batch_size']} shuffled with seed {cfg['seed']}"]
    if plan.rbm:
        parts.append(f"contrastive divergence CD-{plan.rbm[1]}")
    if plan.frozen:
        parts.append(f"{', '.join(plan.frozen)} frozen")
    t = plan.transfer
    if t.groups:
        parts.append("learning rate x " + ", ".join(
            f"{s:g} for {', '.join(a)}" for s, a in t.groups))
    if t.backbone:
        parts.append(f"{t.head} trained alone for {t.freeze_epochs} epoch(s)")
    clip = cfg["grad_clip"]
    if clip["norm"] is not None or clip["value"] is not None:
        parts.append("gradients clipped")
    if plan.monitor:
        parts.append(f"early stopping on {plan.monitor}")
    return "Train with " + "; ".join(parts) + "."


def _frozen(plan: Plan) -> list[str]:
    if not plan.frozen:
        return []
    if len(plan.frozen) == 1:
        return [f"model.{plan.frozen[0]}.requires_grad_(False)  # frozen (trainable: false)"]
    layers = ", ".join(f"model.{a}" for a in plan.frozen)
    return [f"for layer in ({layers}):  # frozen (trainable: false)",
            "    layer.requires_grad_(False)"]


def _clipping(clip: dict) -> list[str]:
    lines = []
    if clip["value"] is not None:
        lines.append(f"nn.utils.clip_grad_value_(model.parameters(), {lit(clip['value'])})")
    if clip["norm"] is not None:
        lines.append(f"nn.utils.clip_grad_norm_(model.parameters(), {lit(clip['norm'])})")
    return lines


def _minimize(monitor: str) -> bool:
    return monitor.endswith(("loss", "mse", "mae", "rmse"))


def _early_setup(plan: Plan) -> list[str]:
    if not plan.monitor:
        return []
    es = plan.cfg["early_stopping"]
    start = "math.inf" if _minimize(plan.monitor) else "-math.inf"
    state = ", best_state" if es["restore_best"] else ""
    none = ", None" if es["restore_best"] else ""
    return [f"best{state}, waited = {start}{none}, 0  # early stopping on {plan.monitor}"]


def _early_end(plan: Plan) -> list[str]:
    if not plan.monitor:
        return []
    es = plan.cfg["early_stopping"]
    delta = es["min_delta"]
    m = lit(plan.monitor)
    if _minimize(plan.monitor):
        test = f"row[{m}] < best" + (f" - {lit(delta)}" if delta else "")
    else:
        test = f"row[{m}] > best" + (f" + {lit(delta)}" if delta else "")
    keep = ["    best_state = {k: v.clone() for k, v in model.state_dict().items()}"] \
        if es["restore_best"] else []
    return [f"if {test}:", f"    best, waited = row[{m}], 0", *keep, "else:",
            "    waited += 1", f"    if waited > {es['patience']}:  # patience",
            '        log({"early_stopping": epoch + 1})', "        break"]


def _early_restore(plan: Plan) -> list[str]:
    if not plan.monitor or not plan.cfg["early_stopping"]["restore_best"]:
        return []
    return ["if best_state is not None:  # the best epoch's weights",
            "    model.load_state_dict(best_state)"]
