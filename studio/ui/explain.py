"""The Explain text of a node: how its output shape and parameter count follow from its params,
with the node's own numbers filled in (the spec's `explain`)."""
from __future__ import annotations

from engine.layers import LayerSpec, TensorType


def explain_text(spec: LayerSpec, params: dict, ins: list[TensorType] | None,
                 outs: list[TensorType] | None) -> str:
    """The spec's explanation, or why there is none yet (shape unknown, spec failure)."""
    if ins is None or outs is None:
        return "The input shape is not known yet: connect the inputs and fix the problems " \
               "listed above to see how the output is computed."
    try:
        return spec.explain(params, ins, outs).text()
    except Exception as exc:  # a spec bug must not break the inspector
        return f"(no explanation: {type(exc).__name__}: {exc})"
