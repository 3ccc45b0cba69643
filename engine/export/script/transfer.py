"""Transfer learning in the exported script, as the Trainer does it (engine/train/finetune.py):
a learning rate per group of layers (optimizer param groups with their `lr_scale`) and the
fine-tune schedule (the backbone's parameters wait `freeze_epochs` epochs)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .text import block, lit, wrapped


@dataclass
class TransferPlan:
    groups: list[tuple[float, list[str]]] = field(default_factory=list)  # (scale, attributes)
    freeze_epochs: int = 0
    backbone: list[str] = field(default_factory=list)                    # attributes
    head: str = ""

    @property
    def used(self) -> bool:
        return bool(self.groups or self.backbone)


def transfer_plan(module, graph, attrs: dict, cfg: dict) -> TransferPlan:
    """The groups and the backbone of the Trainer for `module` (built on the meta device,
    frozen layers already frozen); `attrs`: node id -> attribute. Raises ConfigError."""
    from ...train.finetune import fine_tune, param_groups

    plan = TransferPlan()
    by_name = {graph.nodes[nid].name: attr for nid, attr in attrs.items()}
    if cfg["lr_scales"]:
        plan.groups = [(g["lr_scale"], [by_name[n] for n in g["nodes"]])
                       for g in param_groups(module, graph, cfg)]
    ft = fine_tune(module, graph, cfg)
    if ft is not None:
        plan.freeze_epochs, plan.head = ft.freeze_epochs, ft.head
        plan.backbone = [attrs[nid] for nid in ft.nodes]
    return plan


PARAMETERS_OF = block('''
    def parameters_of(*layers):
        """The trainable parameters of `layers`."""
        return [w for layer in layers for w in layer.parameters() if w.requires_grad]
    ''')


def helpers(t: TransferPlan) -> list[list[str]]:
    return [PARAMETERS_OF] if t.used else []


def _layers(attrs: list[str], prefix: str, suffix: str, level: int) -> list[str]:
    return wrapped(prefix, [f"model.{a}" for a in attrs], suffix, level)


def groups_code(t: TransferPlan, lr: float) -> list[str]:
    """`groups = [...]`: one param group per learning-rate scale, as the Trainer's."""
    lines = ["groups = [  # a learning rate per group of layers: lr_scale x the rate"]
    for scale, attrs in t.groups:
        head = f'{{"lr": {lit(lr * scale)}, "lr_scale": {lit(scale)}, "params": parameters_of('
        lines += _layers(attrs, head, ")},", 1)
    return [*lines, "]"]


def backbone_code(t: TransferPlan) -> list[str]:
    if not t.backbone:
        return []
    return [f"# fine-tuning: {t.head} learns alone for {t.freeze_epochs} epoch(s), then all",
            *_layers(t.backbone, "backbone = parameters_of(", ")", 0)]


def epoch_code(t: TransferPlan) -> list[str]:
    if not t.backbone:
        return []
    return ["for w in backbone:", f"    w.requires_grad_(epoch >= {t.freeze_epochs})"]


__all__ = ["TransferPlan", "backbone_code", "epoch_code", "groups_code", "helpers",
           "transfer_plan"]
