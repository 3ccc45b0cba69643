"""The check every zoo model passes: import, compile, same outputs and parameter count."""
from __future__ import annotations

import torch
from torch import nn

import engine
from engine.importers import import_module


def randomize_statistics(model: nn.Module, seed: int = 0) -> None:
    """Non-trivial BatchNorm statistics and norm weights, so a miscopied one shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._NormBase) and m.running_mean is not None:
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.3)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            if isinstance(m, (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)):
                if getattr(m, "weight", None) is not None:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                if getattr(m, "bias", None) is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


def example(shape, dtype: str = "float", batch: int = 2, vocab: int = 50) -> torch.Tensor:
    if dtype == "long":
        return torch.randint(1, vocab, (batch, *shape))
    return torch.randn(batch, *shape)


def check_import(model: nn.Module, shape, dtype: str = "float", atol: float = 1e-5,
                 blocks: bool = True):
    """Import `model` on a batch-2 example of per-sample `shape`; the compiled graph gives the
    model's outputs on another batch, and the same number of parameters. Returns the graph."""
    torch.manual_seed(0)
    randomize_statistics(model)
    model.eval()
    graph = import_module(model, example(shape, dtype), blocks=blocks)
    compiled = engine.compile_graph(graph).eval()
    x = example(shape, dtype, batch=3)
    with torch.no_grad():
        want, got = model(x), compiled(x)
    want = want if isinstance(want, (tuple, list)) else (want,)
    got = got if isinstance(got, (tuple, list)) else (got,)
    for w, o in zip(want, got, strict=True):
        assert o.shape == w.shape
        scale = max(1.0, float(w.abs().max()))
        assert torch.allclose(o, w, atol=atol * scale, rtol=0), float((o - w).abs().max())
    report = engine.validate(graph)
    assert report.total_params == sum(p.numel() for p in model.parameters())
    return graph
