"""The Explain text of a node: how its output shape and parameter count follow from its params,
with the node's own numbers filled in (the spec's `explain`)."""
from __future__ import annotations

from engine.layers import LayerSpec, TensorType


def explain_text(spec: LayerSpec, params: dict, ins: list[TensorType] | None,
                 outs: list[TensorType] | None, has_issues: bool = False) -> str:
    """The spec's explanation, or why there is none yet (shape unknown, spec failure)."""
    if ins is None:
        why = "fix the problems listed above" if has_issues else \
            "fix the problems upstream (see the Problems tab)"
        return f"The input shape is not known yet: {why} to see how the output is computed."
    if outs is None:
        return "These parameters do not fit the input " + ", ".join(map(str, ins)) + \
            ": see the problem above."
    try:
        return spec.explain(params, ins, outs).text()
    except Exception as exc:  # a spec bug must not break the inspector
        return f"(no explanation: {type(exc).__name__}: {exc})"
