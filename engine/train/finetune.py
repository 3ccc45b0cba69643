"""Transfer learning in the trainer: a learning rate per block (optimizer param groups) and the
fine-tune schedule (the backbone frozen for the first epochs, the classifier trained alone).

Settings of the project's "training" section:

    "lr_scales": {"layer1": 0.1, "layer2": 0.1},   # node name -> multiple of the optimizer's lr
    "fine_tune": {"freeze_epochs": 2}              # or null

A scaled node's parameters form their own param group (`lr_scale`, `nodes`); the schedule
sets every group's rate to its scale times the scheduled rate (optim.set_lr). With
"fine_tune", every node except the classifier (engine.transfer.find_head) is frozen for
`freeze_epochs` epochs, then trains at its own scale; the "Fine-tune" preset of the app and
`studio new --pretrained` sets the backbone's scales to 0.1.
"""
from __future__ import annotations

from ..guard.text import quote

MAX_SCALE = 1_000.0


def validate(cfg: dict, where: str) -> None:
    """ConfigError unless lr_scales is {name: number > 0} and fine_tune null or
    {"freeze_epochs": int >= 1}."""
    from .config import ConfigError, _merge, _number

    scales = cfg["lr_scales"]
    if not isinstance(scales, dict):
        raise ConfigError(f"{where}.lr_scales must be an object of node name: factor, got "
                          f"{quote(scales)}")
    for name in scales:
        _number(scales, name, f"{where}.lr_scales", positive=True, maximum=MAX_SCALE)
    ft = cfg["fine_tune"]
    if ft is None:
        return
    if not isinstance(ft, dict):
        raise ConfigError(f"{where}.fine_tune must be an object or null, got {quote(ft)}")
    cfg["fine_tune"] = ft = _merge({"freeze_epochs": 1}, ft, f"{where}.fine_tune")
    _number(ft, "freeze_epochs", f"{where}.fine_tune", integer=True, minimum=1,
            maximum=100_000)


def param_groups(model, graph, cfg: dict) -> list:
    """The trainable parameters, as one list (no scales) or as param groups by scale, each
    with its `lr`, `lr_scale` and the `nodes` (names) it holds. ConfigError for a scale of a
    node that does not exist or has no trainable parameters."""
    from .config import ConfigError
    from .weights import node_parameters

    scales = cfg["lr_scales"]
    by_node = {nid: [p for p in ps if p.requires_grad]
               for nid, ps in node_parameters(model, graph).items()}
    names = {graph.nodes[nid].name: nid for nid in by_node}
    for name in scales:
        if name not in names:
            raise ConfigError(f"training.lr_scales: no top-level node named {quote(name)} "
                              "with weights")
    if not scales:
        return [p for p in model.parameters() if p.requires_grad]
    lr = cfg["optimizer"]["lr"]
    groups: dict[float, dict] = {}
    for nid, params in by_node.items():
        if not params:
            continue
        name = graph.nodes[nid].name
        scale = float(scales.get(name, 1.0))
        group = groups.setdefault(scale, {"params": [], "lr": lr * scale, "lr_scale": scale,
                                          "nodes": []})
        group["params"] += params
        group["nodes"].append(name)
    seen = {id(p) for g in groups.values() for p in g["params"]}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in seen]
    if rest:  # parameters outside any node's module (none today; kept trainable at 1x)
        groups.setdefault(1.0, {"params": [], "lr": lr, "lr_scale": 1.0, "nodes": []})
        groups[1.0]["params"] += rest
    return sorted(groups.values(), key=lambda g: -g["lr_scale"])


class FineTune:
    """Freezes the backbone's trainable parameters until epoch `freeze_epochs` (counted from
    0), then lets them train (`begin_epoch` is called before each epoch)."""

    def __init__(self, params: list, freeze_epochs: int, head: str, nodes: list[str]):
        self.params = params
        self.freeze_epochs = freeze_epochs
        self.head = head     # the classifier's name
        self.nodes = nodes   # the backbone: ids of the nodes whose parameters wait

    def begin_epoch(self, epoch: int) -> None:
        train = epoch >= self.freeze_epochs
        for p in self.params:
            p.requires_grad_(train)


def fine_tune(model, graph, cfg: dict) -> FineTune | None:
    """The fine-tune schedule of `cfg` (None without one): every trainable parameter outside
    the classifier's top node is the backbone. ConfigError when there is no classifier."""
    from .config import ConfigError
    from .weights import node_parameters

    ft = cfg["fine_tune"]
    if ft is None:
        return None
    from ..transfer import TransferError, find_head

    try:
        head = find_head(graph)
    except TransferError as exc:
        raise ConfigError(f"training.fine_tune: {exc}") from None
    nodes = {nid: [p for p in ps if p.requires_grad]
             for nid, ps in node_parameters(model, graph).items() if nid != head.top_id}
    nodes = {nid: ps for nid, ps in nodes.items() if ps}
    if not nodes:
        raise ConfigError("training.fine_tune: the model has no trainable layer besides the "
                          "classifier, so there is nothing to unfreeze later")
    return FineTune([p for ps in nodes.values() for p in ps], ft["freeze_epochs"],
                    graph.nodes[head.top_id].name, list(nodes))


def describe(training: dict) -> str:
    """One line on the learning rates of a project's training settings, for the app:
    'Learning rate ×0.1: layer1, layer2; ×1: the rest. Fine-tune: ...'."""
    scales = training.get("lr_scales") or {}
    ft = training.get("fine_tune")
    if not scales and not ft:
        return "One learning rate for every layer (right-click blocks on the canvas to " \
            "give them their own)."
    by_factor: dict[float, list[str]] = {}
    for name, f in scales.items():
        by_factor.setdefault(f, []).append(name)
    parts = [f"×{f:g}: {_names(names)}" for f, names in by_factor.items()]
    text = f"Learning rate {'; '.join(parts)}; ×1: the rest." if scales else ""
    if isinstance(ft, dict):
        k = ft.get("freeze_epochs", 1)
        text += (" " if text else "") + (f"Fine-tune: the classifier learns alone for {k} "
                                         f"epoch{'s' if k != 1 else ''}, then every layer.")
    return text


def _names(names: list[str]) -> str:
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


__all__ = ["MAX_SCALE", "FineTune", "describe", "fine_tune", "param_groups", "validate"]
