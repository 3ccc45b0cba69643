"""Large graphs for the limits and atomic-save tests (built through the public Graph API)."""
from __future__ import annotations

import math

from engine.graph import Graph


def big_chain(n: int, width: int = 8) -> Graph:
    """Input -> (Linear, ReLU) * ... -> Output with `n` nodes in all; `width` features."""
    g = Graph()
    prev = g.add_node("io.Input", {"shape": [width]}, name="x", pos=(0, 0))
    for i in range(1, n - 1):
        if i % 2:
            node = g.add_node("core.Linear", {"out_features": width}, name=f"fc{i}",
                              pos=(i * 10.0, 0))
        else:
            node = g.add_node("act.ReLU", name=f"relu{i}", pos=(i * 10.0, 0))
        g.connect(prev.id, "out", node.id, "in")
        prev = node
    out = g.add_node("io.Output", name="y", pos=(n * 10.0, 0))
    g.connect(prev.id, "out", out.id, "in")
    return g


def wide_dag(n: int, width: int = 50, features: int = 8) -> Graph:
    """Input, then levels of `width` nodes, each fed by the level before (every third node
    adds two neighbours, so the DAG has fan-in and fan-out), and one Output per last-level
    node; about `n` nodes in all."""
    g = Graph()
    x = g.add_node("io.Input", {"shape": [features]}, name="x")
    prev = [x.id] * width
    levels = max(1, math.ceil((n - 1 - width) / width))
    for level in range(levels):
        cur = []
        for j in range(width):
            a, b = prev[j], prev[(j + 1) % width]
            if (level + j) % 3 == 0 and a != b:
                node = g.add_node("merge.Add", name=f"add_{level}_{j}", pos=(level, j))
                g.connect(a, "out", node.id, "in1")
                g.connect(b, "out", node.id, "in2")
            elif (level + j) % 3 == 1:
                node = g.add_node("core.Linear", {"out_features": features},
                                  name=f"fc_{level}_{j}", pos=(level, j))
                g.connect(a, "out", node.id, "in")
            else:
                node = g.add_node("act.Tanh", name=f"tanh_{level}_{j}", pos=(level, j))
                g.connect(a, "out", node.id, "in")
            cur.append(node.id)
        prev = cur
    for j, nid in enumerate(prev):
        out = g.add_node("io.Output", name=f"y{j}", pos=(levels + 1, j))
        g.connect(nid, "out", out.id, "in")
    return g
