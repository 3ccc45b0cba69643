"""Sparsity: Top-k activation (the k-sparse autoencoder of Makhzani & Frey, 2013)."""
from __future__ import annotations

from .base import Explanation, LayerSpec, Param, ShapeError, register
from .emit import call

_SUPPORT = '''
class TopK(nn.Module):
    """Keeps the k largest activations of each sample and sets the rest to zero.

    The output is x times a 0/1 mask, so gradients flow through the kept units only.
    """

    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        flat = x.flatten(1)
        keep = flat.topk(self.k, dim=1).indices
        mask = torch.zeros_like(flat).scatter_(1, keep, 1.0)
        return (flat * mask).view_as(x)
'''


@register
class TopK(LayerSpec):
    id = "sparse.TopK"
    name = "TopK"
    category = "Sparsity"
    doc = "Keeps the k largest activations per sample and zeroes the rest (k-sparse autoencoder)."
    formula = "y = x ⊙ m,  m_j = 1 if x_j is among the k largest of the sample, else 0"
    support = _SUPPORT
    params = (Param("k", "int", 16, "How many activations of each sample survive; the "
                    "others become 0. Smaller k = sparser codes.", min=1, max=10_000_000),)

    def infer(self, p, ins):
        x = ins[0]
        self.require_float(x)
        if x.rank == 0:
            raise ShapeError(f"expected input (N, F), received {x}", "in")
        if p["k"] > x.numel:
            raise ShapeError(f"k={p['k']} is larger than the {x.numel} activations per sample "
                             f"of {x}", "in")
        return [x]

    def explain(self, p, ins, outs):
        n = ins[0].numel
        return Explanation([f"output {outs[0]} (same as input): {p['k']} of {n} values kept "
                            f"({100 * p['k'] / n:.0f}%), the rest set to 0"],
                           ["params = 0"])

    def module(self, p, ins):
        return call("TopK", [], [("k", p["k"], None)])
