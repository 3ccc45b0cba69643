"""Generative models' parts as graphs of their own, and what the latent views show.

A VAE's decoder is the part of the graph after its Sampling node: `decoder_graph` cuts it
out with an Input of the latent's shape in the Sampling node's place (node ids kept, so the
trained weights apply), for sampling from the prior, the manifold picture and ONNX export.
`LatentView` computes, from a model being trained, the codes of a fixed set of samples and
the decoded grid across the latent plane (the classic manifold picture).
"""
from __future__ import annotations

import math

import numpy as np

from .graph import Graph
from .layers.generative import SAMPLING_TYPE
from .validate import validate


class GenerativeError(ValueError):
    """The graph has no part of the kind asked for (no Sampling node, ...)."""


def sampling_node(graph: Graph) -> str:
    ids = [nid for nid, n in graph.nodes.items() if n.type == SAMPLING_TYPE]
    if not ids:
        raise GenerativeError("the model has no Sampling node: a decoder is the part after "
                              "a VAE's Sampling layer")
    if len(ids) > 1:
        raise GenerativeError(f"the model has {len(ids)} Sampling nodes; a decoder needs "
                              "exactly one")
    return ids[0]


def downstream(graph: Graph, node_id: str) -> set[str]:
    """The nodes fed, directly or not, by `node_id` (not itself)."""
    seen: set[str] = set()
    todo = [e.dst for e in graph.out_edges(node_id)]
    while todo:
        nid = todo.pop()
        if nid not in seen:
            seen.add(nid)
            todo += [e.dst for e in graph.out_edges(nid)]
    return seen


def tail_graph(graph: Graph, cut: str, input_name: str) -> Graph:
    """The nodes after `cut`, fed by a new Input shaped like `cut`'s output (its consumers
    wired to it); the kept nodes keep their ids, names and weights."""
    report = validate(graph)
    if not report.ok:
        raise GenerativeError("the graph is not valid: " + report.errors[0].message)
    keep = downstream(graph, cut)
    foreign = [graph.nodes[e.src].name for nid in keep for e in graph.in_edges(nid)
               if e.src not in keep and e.src != cut]
    if foreign:
        raise GenerativeError(f"the part after {graph.nodes[cut].name!r} also reads "
                              f"{foreign[0]!r}, which comes before it")
    out_type = report.out_types[cut][0]
    sub = graph.copy()
    consumers = [(e.dst, e.dst_port) for e in graph.out_edges(cut)]
    for nid in list(sub.nodes):
        if nid not in keep:
            sub.remove_node(nid)
    src = sub.add_node("io.Input", {"shape": list(out_type.shape), "dtype": out_type.dtype},
                       name=sub.unique_name(input_name), pos=graph.nodes[cut].pos)
    for dst, port in consumers:
        sub.connect(src.id, "out", dst, port)
    sub.weights = {k: v for k, v in graph.weights.items() if k in keep}
    return sub


def decoder_graph(graph: Graph) -> Graph:
    """A VAE's decoder: latent code z -> the model's outputs."""
    return tail_graph(graph, sampling_node(graph), "z")


def part_graph(graph: Graph, part: str) -> Graph:
    """'model' (the whole graph), 'decoder' (a VAE's) or 'generator' (a GAN's)."""
    if part == "model":
        return graph
    if part == "decoder":
        return decoder_graph(graph)
    if part == "generator":
        from .gan import generator_graph

        return generator_graph(graph)
    raise GenerativeError(f"unknown model part {part!r} (model, decoder or generator)")


def latent_size(graph: Graph) -> int:
    return validate(graph).out_types[sampling_node(graph)][0].numel


def share_modules(part, model) -> None:
    """Make the compiled `part` (a graph cut from `model`'s) use `model`'s layer modules, so
    it always computes with the current weights."""
    whole = model.studio_code.attrs
    for nid, attr in part.studio_code.attrs.items():
        if nid in whole:
            setattr(part, attr, getattr(model, whole[nid]))


def manifold_codes(n: int, latent: int) -> np.ndarray:
    """An n×n grid of codes at the prior's quantiles 5%..95% (first two latent units; the
    others 0), row by row from the top: (n*n, latent)."""
    from statistics import NormalDist

    q = [NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, n)]
    codes = np.zeros((n * n, latent), np.float32)
    for r in range(n):
        for c in range(n):
            codes[r * n + c, 0] = q[c]
            if latent > 1:
                codes[r * n + c, 1] = q[n - 1 - r]
    return codes


def as_tiles(outputs: np.ndarray) -> np.ndarray:
    """Decoded outputs (n, ...) as (n, h, w) grey images: (1, H, W) / (H, W) kept, a flat
    square vector reshaped, anything else one row each."""
    a = np.asarray(outputs, np.float32)
    if a.ndim == 4:
        return a.mean(axis=1)
    if a.ndim == 3:
        return a
    flat = a.reshape(len(a), -1)
    side = math.isqrt(flat.shape[1])
    if side * side == flat.shape[1]:
        return flat.reshape(len(a), side, side)
    return flat[:, None, :]


class LatentView:
    """Latent codes of fixed samples and the decoded manifold grid of a model in training
    (its Sampling node's output in eval mode is μ)."""

    def __init__(self, model, graph: Graph, samples, labels=None, grid: int = 12):
        from .compile import compile_graph

        self.model, self.samples, self.labels, self.grid = model, samples, labels, grid
        self.sampling = getattr(model, model.studio_code.attrs[sampling_node(graph)])
        self.latent = latent_size(graph)
        self.decoder = compile_graph(decoder_graph(graph), load_weights=False)
        share_modules(self.decoder, model)
        self.codes_in = None

    def compute(self) -> tuple[np.ndarray, np.ndarray]:
        """(codes (n, latent), decoded manifold tiles (grid², h, w))."""
        import torch

        captured = []
        hook = self.sampling.register_forward_hook(
            lambda m, args, out: captured.append(out.detach()))
        was = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                self.model(self.samples)
                z = torch.as_tensor(manifold_codes(self.grid, self.latent),
                                    device=self.samples.device)
                out = self.decoder(z)
        finally:
            hook.remove()
            self.model.train(was)
        out = out[0] if isinstance(out, tuple) else out
        codes = captured[0].flatten(1).float().cpu().numpy()
        return codes, as_tiles(out.float().cpu().numpy())


def sample_prior(graph: Graph, n: int = 64, seed: int | None = None) -> np.ndarray:
    """`n` new samples: codes drawn from N(0, I) through the trained decoder (graph.weights),
    as (n, h, w) tiles."""
    import torch

    from .compile import compile_graph

    dec = decoder_graph(graph)
    model = compile_graph(dec).eval()
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    z = torch.randn(n, latent_size(graph), generator=gen)
    with torch.no_grad():
        out = model(z)
    out = out[0] if isinstance(out, tuple) else out
    return as_tiles(out.numpy())
