"""How traced operations are named in messages: as the user wrote them ('F.max_pool2d',
'torch.cat', 'Tensor.view', 'nn.PixelShuffle', 'torchvision.ops.stochastic_depth')."""
from __future__ import annotations

_FUNCTIONAL: dict = {}


def _functional_names() -> dict:
    """torch.nn.functional's pooling functions are torch._jit_internal wrappers whose
    __module__ is not torch.nn.functional: name them by identity."""
    if not _FUNCTIONAL:
        import torch.nn.functional as F

        for name in dir(F):
            obj = getattr(F, name)
            if callable(obj) and not name.startswith("_"):
                _FUNCTIONAL.setdefault(obj, name)
    return _FUNCTIONAL


def describe_function(target) -> str:
    mod = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", repr(target))
    if mod == "_operator":
        return f"operator.{name}"
    if target in _functional_names():
        return f"F.{_functional_names()[target]}"
    import torch

    root = mod.split(".")[0]
    if root == "torch" or getattr(torch, name, None) is target:
        return f"torch.{name}"
    parts = mod.split(".")
    if parts[-1] == name:  # torchvision.ops.stochastic_depth.stochastic_depth
        parts = parts[:-1]
    return ".".join([*parts, name]) if mod else name


def describe_node(node, root) -> str:
    """'torch.sin', 'Tensor.view', 'nn.Conv2d', 'timm.layers.DropPath' for an fx node."""
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    if node.op == "call_function":
        return describe_function(node.target)
    if node.op == "call_module":
        return module_label(root.get_submodule(node.target))
    if node.op == "get_attr":
        return f"self.{node.target}"
    return node.op


def module_label(module) -> str:
    cls = type(module)
    mod = cls.__module__
    if mod.startswith("torch.nn"):
        return f"nn.{cls.__name__}"
    if mod == "__main__" or mod.startswith("studio_import_"):
        return cls.__qualname__
    return f"{mod}.{cls.__qualname__}"
