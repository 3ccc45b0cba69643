"""Transfer learning as edits: find a network's classifier ("head"), replace it for another
class count; the fine-tune preset (the backbone frozen for K epochs, then trained at a lower
rate: training.fine_tune and training.lr_scales, see engine/train/finetune.py).

The head is the last Linear layer before an Output node, looked for through layers without
weights (Flatten, Dropout, activations) and into block instances (VGG's `classifier.6`).
`replace_head_plan` says what to change, so the app can make it one undoable edit and the
command line can apply it directly.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .blockcode import inner_attrs
from .graph import Graph, GraphError, Node

PASS_THROUGH = {"core.Flatten", "core.Dropout", "core.Identity", "core.DropPath"}


class TransferError(ValueError):
    """The edit cannot be made (no classifier found, a count out of range)."""


@dataclass
class Head:
    """Where the classifier is: (graph, node id) from the model graph down to the Linear."""

    path: list[tuple[Graph, str]]
    prefix: str  # its tensors' key prefix inside the top node's weights ("" or "6.")

    @property
    def top_id(self) -> str:
        return self.path[0][1]

    @property
    def linear(self) -> Node:
        g, nid = self.path[-1]
        return g.nodes[nid]

    @property
    def classes(self) -> int:
        return int(self.linear.params["out_features"])


def _passes(node: Node) -> bool:
    return node.spec.id in PASS_THROUGH or (node.spec.category == "Activation" and
                                            len(node.input_ports()) == 1)


def find_head(graph: Graph, output_id: str | None = None) -> Head:
    """The classifier feeding Output `output_id` (default: the first Output). TransferError
    when the output is not made by a Linear layer."""
    outputs = [n for n in graph.outputs() if output_id in (None, n.id)]
    if not outputs:
        raise TransferError("the model has no Output node")
    g, edge = graph, graph.edge_into(outputs[0].id, "in")
    path: list[tuple[Graph, str]] = []
    attrs: list[str] = []
    while edge is not None:
        node = g.nodes[edge.src]
        if node.spec.id == "core.Linear":
            path.append((g, node.id))
            if len(path) > 1:
                attrs.append(inner_attrs(g)[node.id])
            return Head(path, "".join(a + "." for a in attrs))
        if node.is_block:
            path.append((g, node.id))
            if len(path) > 1:
                attrs.append(inner_attrs(g)[node.id])
            if node.params.get("repeat", 1) > 1:
                attrs.append(str(node.params["repeat"] - 1))
            body = node.spec.btype.graph
            out = next(o for o in body.outputs() if o.name == edge.src_port)
            g, edge = body, body.edge_into(out.id, "in")
            continue
        if not _passes(node):
            break
        edge = g.edge_into(node.id, node.input_ports()[0])
    raise TransferError("no Linear layer makes the model's output, so there is no classifier "
                        "to replace (the head must end in a Linear layer)")


@dataclass
class HeadPlan:
    """The param changes (graph, node id, param, value), outermost last, and the stored
    tensors to drop so the new classifier starts from fresh random weights."""

    changes: list[tuple[Graph, str, str, int]] = field(default_factory=list)
    top_id: str = ""
    drop_prefix: str = ""
    old_classes: int = 0
    classes: int = 0

    def dropped(self, graph: Graph) -> dict:
        """The tensors of the top node that the new head replaces."""
        stored = graph.weights.get(self.top_id, {})
        return {k: v for k, v in stored.items() if k.startswith(self.drop_prefix)}


def replace_head_plan(graph: Graph, classes: int, output_id: str | None = None) -> HeadPlan:
    """How to make the classifier output `classes` values. A count bound to a block
    argument (`out_features = num_classes`) is changed on the instance that sets it."""
    if isinstance(classes, bool) or not isinstance(classes, int) or not 1 <= classes <= 1_000_000:
        raise TransferError(f"the number of classes must be a whole number from 1 to "
                            f"1,000,000, received {classes!r}")
    head = find_head(graph, output_id)
    plan = HeadPlan(top_id=head.top_id, drop_prefix=head.prefix, old_classes=head.classes,
                    classes=classes)
    param, value = "out_features", classes
    for depth in range(len(head.path) - 1, -1, -1):
        g, nid = head.path[depth]
        expr = g.nodes[nid].exprs.get(param)
        if expr is None:
            plan.changes.append((g, nid, param, value))
            return plan
        if not expr.isidentifier():
            raise TransferError(f"the classifier's {param} is computed ({param} = {expr}); "
                                "set it by hand")
        param = expr  # the argument of the enclosing block instance that sets it
    raise GraphError("a block argument has no instance to set it")  # unreachable


def replace_head(graph: Graph, classes: int, output_id: str | None = None) -> HeadPlan:
    """Apply `replace_head_plan` to the graph (the command line's way; the app pushes the
    same changes as one undoable edit)."""
    plan = replace_head_plan(graph, classes, output_id)
    for g, nid, param, value in plan.changes:
        g.set_param(nid, param, value)
    stored = graph.weights.get(plan.top_id)
    if stored is not None:
        for key in plan.dropped(graph):
            del stored[key]
        if not stored:
            del graph.weights[plan.top_id]
    return plan


def backbone_names(graph: Graph) -> list[str]:
    """The names of the top-level nodes that learn, except the classifier's (in graph
    order): what the fine-tune preset freezes first and then trains at a lower rate."""
    from .validate import validate

    head = find_head(graph).top_id
    counts = validate(graph).param_counts
    return [n.name for nid, n in graph.nodes.items()
            if nid != head and n.trainable and counts.get(nid, 0) > 0]


def fine_tune_preset(graph: Graph, training: dict, freeze_epochs: int = 2,
                     backbone_scale: float = 0.1) -> dict:
    """A copy of the training settings with the fine-tune preset: the classifier learns alone
    for `freeze_epochs` epochs, then the backbone joins at `backbone_scale` times the rate.
    TransferError when the model has no classifier or nothing else learns."""
    import copy

    if isinstance(freeze_epochs, bool) or not isinstance(freeze_epochs, int) or \
            not 1 <= freeze_epochs <= 100_000:
        raise TransferError(f"the epochs with a frozen backbone must be a whole number from 1 "
                            f"to 100,000, received {freeze_epochs!r}")
    if not 0 < backbone_scale <= 1000:
        raise TransferError(f"the backbone's learning-rate factor must be above 0 and at most "
                            f"1000, received {backbone_scale!r}")
    names = backbone_names(graph)
    if not names:
        raise TransferError("only the classifier learns, so there is no backbone to fine-tune")
    out = copy.deepcopy(training)
    scales = {k: v for k, v in (out.get("lr_scales") or {}).items() if k not in names}
    if backbone_scale != 1:
        scales.update({n: backbone_scale for n in names})
    out["lr_scales"] = scales
    out["fine_tune"] = {"freeze_epochs": freeze_epochs}
    if graph.weights:   # fine-tuning starts from the weights the project holds
        out["start_from"] = "weights"
    return out


def without_fine_tune(training: dict) -> dict:
    """A copy of the training settings with no fine-tune schedule and no rate factors."""
    import copy

    out = copy.deepcopy(training)
    out.pop("fine_tune", None)
    out.pop("lr_scales", None)
    return out


__all__ = ["Head", "HeadPlan", "TransferError", "backbone_names", "find_head",
           "fine_tune_preset", "replace_head", "replace_head_plan", "without_fine_tune"]
