"""engine.digraph, the walks validation makes over a graph's wiring, gives what networkx
gives (the topological order itself, not just a valid one: the generated code follows it),
on random graphs with and without cycles; and validating a project imports no networkx."""
import subprocess
import sys

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.digraph import CycleError, Digraph

graphs = st.integers(1, 12).flatmap(lambda n: st.tuples(
    st.permutations(range(n)),
    st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n)))


def _both(nodes, edges, acyclic: bool):
    edges = [(a, b) for a, b in edges if a < b] if acyclic else edges
    reference = nx.DiGraph()
    reference.add_nodes_from(nodes)
    reference.add_edges_from(edges)
    return Digraph(nodes, edges), reference


@settings(max_examples=150, deadline=None)
@given(graphs)
def test_the_order_of_a_graph_without_cycles_is_networkxs(graph):
    ours, reference = _both(*graph, acyclic=True)
    assert ours.topological_order() == list(nx.topological_sort(reference))


@settings(max_examples=150, deadline=None)
@given(graphs)
def test_cycles_and_reach_are_networkxs(graph):
    ours, reference = _both(*graph, acyclic=False)
    try:
        expected = list(nx.topological_sort(reference))
    except nx.NetworkXUnfeasible:
        expected = None
    if expected is None:
        try:
            ours.topological_order()
            raise AssertionError("no CycleError")
        except CycleError:
            pass
    else:
        assert ours.topological_order() == expected
    groups = ours.strongly_connected_components()
    assert sorted(map(sorted, groups)) == sorted(
        map(sorted, nx.strongly_connected_components(reference)))
    for n in reference:
        assert ours.descendants(n) == nx.descendants(reference, n)
        assert ours.ancestors(n) == nx.ancestors(reference, n)
    blocked = {n for g in groups if len(g) > 1 for n in g}
    rest = reference.copy()
    rest.remove_nodes_from(blocked)
    if nx.is_directed_acyclic_graph(rest):
        assert ours.without(blocked).topological_order() == list(nx.topological_sort(rest))


def test_validating_a_project_imports_no_networkx():
    code = ("import sys\n"
            "from engine.examples import example_path\n"
            "from engine.project import load_project\n"
            "from engine.validate import validate\n"
            "report = validate(load_project(example_path('resnet_blocks')).graph)\n"
            "assert report.order and not report.errors, report.errors\n"
            "print('networkx' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
