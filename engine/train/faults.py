"""Turning failures into one clear sentence: NaN losses, data errors, forward errors, OOM."""
from __future__ import annotations

import traceback

from ..guard.text import clip_message


class TrainError(RuntimeError):
    """A run failed. `kind` is 'nan' | 'data' | 'forward' | 'oom' | 'error'; `node_id` names
    the graph node to blame when known; `global_step` the step it happened at."""

    def __init__(self, message: str, kind: str = "error", node_id: str | None = None,
                 global_step: int | None = None, tb: str = ""):
        super().__init__(clip_message(message))
        self.kind = kind
        self.node_id = node_id
        self.global_step = global_step
        self.traceback = tb


def is_oom(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, (MemoryError, getattr(torch, "OutOfMemoryError", MemoryError))):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def cause_of(exc: BaseException) -> str:
    """The kind of failure an exception means: 'oom' | 'data' | 'forward' | 'error' (a
    TrainError's own kind), by the exception's type."""
    from ..codegen import CompileError
    from ..data.base import DataError
    from ..graph import GraphError
    from ..layers import ShapeError
    from ..project import ProjectError

    if isinstance(exc, TrainError):
        return exc.kind
    if is_oom(exc):
        return "oom"
    if isinstance(exc, (DataError, ProjectError, OSError, EOFError)):
        return "data"
    if isinstance(exc, (ShapeError, CompileError, GraphError)):
        return "forward"
    return "error"


def node_from_traceback(exc: BaseException, code) -> str | None:
    """The graph node whose generated line raised `exc` (the deepest frame in the model's
    generated source), looked up in codegen's line-to-node map. `code` is the model's
    GeneratedCode (`model.studio_code`)."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == code.filename:
            found = code.lineno_map.get(frame.lineno, found)
    return found


def describe(exc: BaseException, phase: str, graph, step: int, epoch: int,
             batch_size: int, code=None) -> TrainError:
    """A TrainError for an exception raised in `phase` ('data' or 'forward'); `code` (the
    model's GeneratedCode) attributes a forward error to its node."""
    tb = "".join(traceback.format_exception(exc))
    where = f"at step {step} (epoch {epoch})"
    if isinstance(exc, TrainError):
        return exc
    if is_oom(exc):
        return TrainError(f"out of memory {where}: reduce the batch size (now {batch_size}) "
                          "or the model size", "oom", None, step, tb)
    if phase == "data":
        return TrainError(f"loading data failed {where}: {type(exc).__name__}: {exc}", "data",
                          None, step, tb)
    node_id = node_from_traceback(exc, code) if code is not None else None
    node = f" in node '{graph.nodes[node_id].name}'" if node_id else ""
    return TrainError(f"the model failed{node} {where}: {type(exc).__name__}: {exc}",
                      "forward", node_id, step, tb)
