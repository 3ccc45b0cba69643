"""A GAN's two networks in one graph: the part before its Generated node is the generator
(noise Input -> samples), the part after it the discriminator (samples -> one logit). Each is
cut out as a graph of its own (node ids and weights kept) to train, sample and export."""
from __future__ import annotations

from .generative import GenerativeError, downstream, tail_graph
from .graph import Graph
from .layers.generative import GENERATED_TYPE
from .validate import validate


def generated_node(graph: Graph) -> str | None:
    """The id of the graph's Generated node (None: not a GAN); GenerativeError if several."""
    ids = [nid for nid, n in graph.nodes.items() if n.type == GENERATED_TYPE]
    if len(ids) > 1:
        raise GenerativeError(f"the model has {len(ids)} Generated nodes; a GAN has one")
    return ids[0] if ids else None


def _require(graph: Graph) -> str:
    nid = generated_node(graph)
    if nid is None:
        raise GenerativeError("the model has no Generated node: a GAN's generator is the part "
                              "before it")
    return nid


def generator_graph(graph: Graph) -> Graph:
    """Noise Input -> ... -> Generated -> a new Output 'samples'."""
    cut = _require(graph)
    after = downstream(graph, cut)
    sub = graph.copy()
    for nid in list(sub.nodes):
        if nid in after:
            sub.remove_node(nid)
    x, y = graph.nodes[cut].pos
    out = sub.add_node("io.Output", name=sub.unique_name("samples"), pos=(x + 190, y))
    sub.connect(cut, "out", out.id, "in")
    sub.weights = {k: v for k, v in graph.weights.items() if k not in after}
    if not validate(sub).ok:
        raise GenerativeError("the generator (the part before Generated) is not a network "
                              "of its own: " + validate(sub).errors[0].message)
    return sub


def discriminator_graph(graph: Graph) -> Graph:
    """Samples Input (shaped like Generated's output) -> ... -> the logit Output."""
    return tail_graph(graph, _require(graph), "samples")
