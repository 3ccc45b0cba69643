"""Small graph builders shared by engine tests."""
from engine import Graph


def chain(specs: list[tuple], graph: Graph | None = None) -> tuple[Graph, list]:
    """Build Input -> ... -> Output as a chain; each spec is (layer_type, params[, name])."""
    g = graph or Graph()
    nodes, prev = [], None
    for i, (layer_type, params, *name) in enumerate(specs):
        n = g.add_node(layer_type, params, name=name[0] if name else None, pos=(i * 100, 0))
        if prev is not None:
            g.connect(prev.id, "out", n.id, "in")
        nodes.append(n)
        prev = n
    return g, nodes


def digits_cnn() -> tuple[Graph, list]:
    return chain([
        ("io.Input", {"shape": [1, 8, 8]}, "image"),
        ("conv.Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}, "conv1"),
        ("act.ReLU", {}, "relu1"),
        ("core.Flatten", {}, "flatten"),
        ("core.Linear", {"out_features": 10}, "fc1"),
        ("io.Output", {}, "out"),
    ])


def scriptable_examples() -> list[str]:
    """The bundled examples whose exported scripts the generic script tests run: all but GANs
    (their script has a recipe and two extra classes of its own: tests/engine/train/
    test_gan.py runs it against the app)."""
    from engine.examples import example_paths

    return [name for name, path in example_paths().items()
            if '"gen.Generated"' not in path.read_text()]


def example_pair(path, example: str = "digits_mlp", seed: int = 3, **training):
    """`example` copied to `path` and saved as a pair with random (seeded) weights; `training`
    updates its settings first. Returns the path."""
    import torch

    from engine.compile import compile_graph, node_state
    from engine.examples import copy_example
    from engine.project import load_project, save_project

    path = copy_example(example, path)
    project = load_project(path)
    project.training.update(training)
    torch.manual_seed(seed)
    project.graph.weights = node_state(compile_graph(project.graph, load_weights=False))
    save_project(project, path)
    return path
