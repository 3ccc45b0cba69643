"""Loss and metrics of a run's model on a split, and predictions for new inputs."""
from __future__ import annotations

from .metrics import compute as compute_metrics
from .state import TrainState
from .vae import kl_term


def cat(parts):
    import torch

    return torch.cat(parts) if parts else torch.empty(0)


def metrics_of(state: TrainState, config: dict, outs: list, tgts: list,
               names: list[str] | None = None) -> dict:
    """The configured metrics (or `names`) of each output; with several outputs each name is
    prefixed with its Output's name."""
    result = {}
    multi = len(state.output_ids) > 1
    for i, (out, tgt) in enumerate(zip(outs, tgts)):
        if not len(out):
            continue
        values = compute_metrics(state.metric_names if names is None else names,
                                 state.losses[i], out, tgt, config["top_k"])
        prefix = f"{state.output_names[i]}_" if multi else ""
        result.update({prefix + k: v for k, v in values.items()})
    return result


def evaluate_data(state: TrainState, config: dict, data, outputs: bool = False,
                  metrics: list[str] | None = None):
    """{'loss': ..., metric: ...} of the model on a DeviceData/StreamData split (and the
    outputs, with `outputs`)."""
    import torch

    net = state.eval_net
    was = net.training
    net.eval()
    loss_sum, seen = 0.0, 0
    outs_acc: list[list] = [[] for _ in state.output_ids]
    tgts_acc: list[list] = [[] for _ in state.output_ids]
    bs = max(config["batch_size"], 256)
    try:
        with torch.no_grad(), state.autocast():
            for xb, ys in data.batches(None, bs):
                loss, outs = _eval_batch(state, net, xb, ys)
                loss_sum += float(loss) * len(xb)
                seen += len(xb)
                for i, o in enumerate(outs):
                    outs_acc[i].append(o.float())
                    tgts_acc[i].append(ys[i] if i < len(ys) else xb)
            pen = state.penalty() if state.penalty_terms else None
    finally:
        net.train(was)
    result = {"loss": loss_sum / max(seen, 1) + (float(pen) if pen is not None else 0.0)}
    outs_cat = [cat(o) for o in outs_acc]
    result.update(metrics_of(state, config, outs_cat, [cat(t) for t in tgts_acc], metrics))
    return (result, outs_cat) if outputs else result


def _eval_batch(state: TrainState, net, xb, ys):
    if state.gan is not None:  # the discriminator's loss (gan.py)
        from .gan import eval_loss
        return eval_loss(state.gan, xb), ()
    if state.rbm is not None:
        from .rbm import reconstruction_error

        target = ys[0] if ys else xb
        loss, recon = reconstruction_error(state.rbm, xb, target)
        return loss, (recon,)
    outs = net(xb)
    if not isinstance(outs, tuple):
        outs = (outs,)
    loss = 0.0
    for fn, w, out, y in zip(state.loss_fns, state.loss_weights, outs, ys):
        loss = loss + w * fn(out.float(), y)
    if state.kl_modules:
        loss = loss + kl_term(state.kl_modules)
    return loss, outs


def predict(state: TrainState, x, batch_size: int = 1024):
    """Model outputs for inputs `x` (numpy or tensor, with the batch dimension) as numpy
    arrays (a tuple when the model has several outputs)."""
    import numpy as np
    import torch

    x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x)
    x = x.long() if state.input_dtype == "long" else x.float()
    net = state.eval_net
    was = net.training
    net.eval()
    parts: list[list] = []
    try:
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                outs = net(x[i:i + batch_size].to(state.device))
                outs = outs if isinstance(outs, tuple) else (outs,)
                if not parts:
                    parts = [[] for _ in outs]
                for j, o in enumerate(outs):
                    parts[j].append(o.float().cpu())
    finally:
        net.train(was)
    arrays = tuple(torch.cat(p).numpy() for p in parts)
    return arrays[0] if len(arrays) == 1 else arrays
