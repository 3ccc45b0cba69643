"""Tracing a module with torch.fx, remembering where each traced op came from.

Every fx node gets `meta["studio_location"]` ('model.py:12', the innermost frame of the
user's code that called the op) and `meta["studio_scope"]` (the module path it was called in,
'layer1.0'). The module is traced in eval mode (so training-only branches, in-place
statistics updates and stochastic-depth coin flips are not traced), and forward arguments
beyond the example inputs that have defaults (`forward(x, mask=None)`) are fixed to them.
"""
from __future__ import annotations

import contextlib
import inspect
import os
import sys

from .builder import ImportModelError

_HERE = os.path.dirname(os.path.abspath(__file__))


def _skipped_dirs() -> tuple[str, ...]:
    import torch

    return (os.path.dirname(os.path.abspath(torch.__file__)) + os.sep, _HERE + os.sep)


def user_location(skip: tuple[str, ...]) -> str:
    """'file.py:LINE' of the innermost caller outside torch and this package, or ''."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith("<") and not os.path.abspath(filename).startswith(skip):
            return f"{os.path.basename(filename)}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


def _tracer_class():
    from torch import fx

    class Tracer(fx.Tracer):
        """fx.Tracer that records each node's source location and module scope."""

        def __init__(self):
            super().__init__()
            self.proxy_buffer_attributes = True  # `self.pe[:, :x.size(1)]` on a buffer
            self._skip = _skipped_dirs()
            self._studio_scope = ""

        def call_module(self, m, forward, args, kwargs):
            outer = self._studio_scope
            self._studio_scope = self.path_of_module(m)
            try:
                return super().call_module(m, forward, args, kwargs)
            finally:
                self._studio_scope = outer

        def is_leaf_module(self, m, qualname):
            # a module Studio maps is a leaf; a subclass that overrides forward is traced
            # through; other torch.nn modules are leaves (reported by name)
            from .fx_modules import handler_for

            return handler_for(m) is not None or super().is_leaf_module(m, qualname)

        def create_node(self, *args, **kwargs):
            node = super().create_node(*args, **kwargs)
            node.meta["studio_location"] = user_location(self._skip)
            node.meta["studio_scope"] = self._studio_scope
            return node

    return Tracer


def defaulted_arguments(module, n_inputs: int) -> dict:
    """forward's parameters after the first `n_inputs`, fixed to their defaults; an
    ImportModelError if one has no default (the caller gave too few example inputs)."""
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return {}
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params) or len(positional) < n_inputs:
        return {}
    concrete = {}
    for p in positional[n_inputs:]:
        if p.default is p.empty:
            raise ImportModelError(f"the model's forward takes {len(positional)} inputs "
                                   f"({', '.join(q.name for q in positional)}) but "
                                   f"{n_inputs} example input(s) were given")
        concrete[p.name] = p.default
    return concrete


def trace(module, n_inputs: int):
    """The fx.Graph of `module` traced in eval mode (its mode is restored after). Its
    get_attr and call_module targets are paths in `module` itself (no GraphModule is built:
    a submodule named `code` or `graph` would clash with GraphModule's own attributes)."""
    concrete = defaulted_arguments(module, n_inputs)
    with eval_mode(module):
        try:
            tracer = _tracer_class()()
            graph = tracer.trace(module, concrete_args=concrete or None)
        except ImportModelError:
            raise
        except Exception as exc:  # noqa: BLE001 (user code may raise anything)
            raise ImportModelError(f"torch.fx cannot trace {type(module).__name__}: "
                                   f"{type(exc).__name__}: {exc}") from None
    return graph


@contextlib.contextmanager
def eval_mode(module):
    """`module` in eval mode for the block, every submodule's own mode restored after."""
    modes = {m: m.training for m in module.modules()}
    module.eval()
    try:
        yield module
    finally:
        for m, training in modes.items():
            m.train(training)
