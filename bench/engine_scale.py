"""Editor-scale engine timings: validate + shape inference of a 1,000-node graph (target
<= 20 ms), re-validation after one param edit (target <= 5 ms), save and load of a 1,000-node
project. Run: python -m bench.engine_scale"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import print_table, time_it, write_json  # noqa: E402
from engine import Graph, Project, Validator, load_project, save_project, validate  # noqa: E402


def residual_mlp(n_nodes: int = 1000) -> tuple[Graph, str]:
    """Input -> [Linear, ReLU, Add(skip)] * k -> Output, about n_nodes nodes. Returns the graph
    and the id of the first Linear (the node whose param the edit benchmark changes)."""
    g = Graph()
    prev = g.add_node("io.Input", {"shape": [64]}, pos=(0, 0))
    first = None
    i = 1
    while len(g.nodes) < n_nodes - 1:
        fc = g.add_node("core.Linear", {"out_features": 64}, pos=(i * 150, 0))
        act = g.add_node("act.ReLU", pos=(i * 150 + 50, 0))
        add = g.add_node("merge.Add", pos=(i * 150 + 100, 0))
        g.connect(prev.id, "out", fc.id, "in")
        g.connect(fc.id, "out", act.id, "in")
        g.connect(act.id, "out", add.id, "in1")
        g.connect(prev.id, "out", add.id, "in2")
        first = first or fc.id
        prev, i = add, i + 1
    out = g.add_node("io.Output", pos=(i * 150, 0))
    g.connect(prev.id, "out", out.id, "in")
    return g, first


def main() -> int:
    g, first = residual_mlp(1000)
    n = len(g.nodes)
    assert validate(g).ok
    rows = [{"case": f"validate + infer ({n} nodes)", "target_ms": 20.0,
             **time_it(lambda: validate(g))}]

    v = Validator(g)
    v.validate()
    sizes = iter([32, 64] * 1000)

    def edit_and_revalidate():
        g.set_param(first, "out_features", next(sizes))
        v.validate()

    rows.append({"case": "param edit + re-validate (first node: worst case)",
                 "target_ms": 5.0, **time_it(edit_and_revalidate)})
    last_fc = [nid for nid, nd in g.nodes.items() if nd.type == "core.Linear"][-1]

    def edit_last():
        g.set_param(last_fc, "out_features", next(sizes))
        v.validate()

    rows.append({"case": "param edit + re-validate (last node)", "target_ms": 5.0,
                 **time_it(edit_last)})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.nnproj"
        project = Project(g)
        rows.append({"case": f"save project ({n} nodes)",
                     **time_it(lambda: save_project(project, path), repeat=10)})
        rows.append({"case": f"load project ({n} nodes)",
                     **time_it(lambda: load_project(path), repeat=10)})
    print_table(rows, ["case", "median_ms", "min_ms", "max_ms", "target_ms"])
    write_json("engine_scale", {"nodes": n, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
