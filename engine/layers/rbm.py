"""Energy-based: the restricted Boltzmann machine, trained by contrastive divergence (CD-k)."""
from __future__ import annotations

from .base import Explanation, LayerSpec, Param, ShapeError, TensorType, register
from .emit import call

_SUPPORT = '''
class RBM(nn.Module):
    """Bernoulli restricted Boltzmann machine with energy E(v, h) = -aᵀv - bᵀh - vᵀWh.

    Tensors: W (visible, hidden), v_bias a (visible,), h_bias b (hidden,); `k` is the number of
    Gibbs steps of CD-k. Methods (v, h are float batches of 0/1 or probabilities):
      prob_h(v)      p(h=1 | v) = sigmoid(v W + b), shape (N, hidden)
      prob_v(h)      p(v=1 | h) = sigmoid(h Wᵀ + a), shape (N, visible)
      sample_h(v)    (p(h|v), a Bernoulli sample of h)
      sample_v(h)    (p(v|h), a Bernoulli sample of v)
      gibbs(v, k)    k steps v -> h -> v starting from the data; returns (v_k, p(h|v_k)) with
                     v_k a sample (the negative phase of CD-k)
      free_energy(v) F(v) = -aᵀv - Σ_j softplus(b_j + (v W)_j), shape (N,)
      forward(v)     reconstruction probabilities after one deterministic up-down pass,
                     prob_v(prob_h(v)), shape (N, visible)
    CD-k: with v0 the data and (v_k, _) = gibbs(v0, k), the update
    ΔW ∝ v0ᵀp(h|v0) - v_kᵀp(h|v_k), Δa ∝ v0 - v_k, Δb ∝ p(h|v0) - p(h|v_k) is the negative
    gradient of  free_energy(v0).mean() - free_energy(v_k.detach()).mean().
    """

    def __init__(self, visible, hidden, k=1):
        super().__init__()
        self.k = k
        self.W = nn.Parameter(torch.randn(visible, hidden) * 0.1)
        self.v_bias = nn.Parameter(torch.zeros(visible))
        self.h_bias = nn.Parameter(torch.zeros(hidden))

    def prob_h(self, v):
        return torch.sigmoid(v @ self.W + self.h_bias)

    def prob_v(self, h):
        return torch.sigmoid(h @ self.W.t() + self.v_bias)

    def sample_h(self, v):
        p = self.prob_h(v)
        return p, torch.bernoulli(p)

    def sample_v(self, h):
        p = self.prob_v(h)
        return p, torch.bernoulli(p)

    def gibbs(self, v, k=None):
        _, h = self.sample_h(v)
        for _ in range(k or self.k):
            _, v = self.sample_v(h)
            ph, h = self.sample_h(v)
        return v, ph

    def free_energy(self, v):
        return -(v @ self.v_bias) - F.softplus(v @ self.W + self.h_bias).sum(dim=1)

    def forward(self, v):
        return self.prob_v(self.prob_h(v))
'''


@register
class RBM(LayerSpec):
    id = "rbm.RBM"
    name = "RBM"
    category = "Energy-based"
    doc = ("Restricted Boltzmann machine: binary visible and hidden units, trained by "
           "contrastive divergence (loss 'cd'); outputs reconstruction probabilities.")
    formula = ("E(v, h) = −aᵀv − bᵀh − vᵀWh,   p(h_j=1|v) = σ(b_j + vᵀW_:j),   "
               "p(v_i=1|h) = σ(a_i + W_i:h)")
    support = _SUPPORT
    params = (
        Param("hidden", "int", 64, "Number of hidden units (learned binary features).", min=1,
              max=1_000_000),
        Param("k", "int", 1, "Gibbs sampling steps per update in contrastive divergence CD-k "
              "(1 is the classic CD-1).", min=1, max=1000),
    )

    def infer(self, p, ins):
        x = ins[0]
        self.require_float(x)
        if x.rank != 1:
            raise ShapeError(f"expected visible units (N, V), received {x}: add a Flatten "
                             "before it", "in")
        return [TensorType(x.shape)]

    def param_count(self, p, ins):
        v, h = ins[0].shape[0], p["hidden"]
        return v * h + v + h

    def flops(self, p, ins, outs):
        return 2 * ins[0].shape[0] * p["hidden"]

    def explain(self, p, ins, outs):
        v, h = ins[0].shape[0], p["hidden"]
        return Explanation(
            [f"output {outs[0]}: reconstruction probabilities p(v|p(h|v)) of the {v} visible "
             f"units, through {h} hidden units"],
            [f"params = V·H + V + H (W, a, b) = {v}·{h} + {v} + {h} = {v * h + v + h}",
             f"trained with CD-{p['k']}"])

    def module(self, p, ins):
        return call("RBM", [ins[0].shape[0], p["hidden"]], [("k", p["k"], 1)])
