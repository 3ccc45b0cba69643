import traceback

import pytest
import torch

from engine import CompileError, compile_graph, generate, node_state
from engine.compile import WeightsError, apply_weights

from .helpers import chain, digits_cnn


def test_generated_source_is_straight_line_and_readable():
    g, _ = digits_cnn()
    src = generate(g).source
    assert "self.conv1 = nn.Conv2d(1, 16" in src
    assert "conv1 = self.conv1(image)  # conv1 (Conv2d): N×16×8×8" in src
    assert "for " not in src.split("def forward")[1]  # no interpretation loop
    compile(src, "model.py", "exec")


def test_compiled_matches_hand_written_with_same_weights():
    g, _ = digits_cnn()
    model = compile_graph(g).eval()
    ref = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(1024, 10)).eval()
    ref.load_state_dict(dict(zip(ref.state_dict(), model.state_dict().values())))
    x = torch.randn(5, 1, 8, 8)
    torch.testing.assert_close(model(x), ref(x), atol=1e-6, rtol=0)


def test_invalid_graph_raises_compile_error_carrying_the_report():
    g, (_i, _c, relu, flat, fc, _o) = digits_cnn()
    g.remove_node(flat.id)
    g.connect(relu.id, "out", fc.id, "in")
    with pytest.raises(CompileError, match="add a Flatten") as info:
        compile_graph(g)
    assert info.value.report.errors[0].node_id == fc.id


def test_traceback_shows_generated_lines():
    g, _ = chain([("io.Input", {"shape": [4]}, "x"), ("core.Linear", {"out_features": 3}, "fc"),
                  ("io.Output", {}, "y")])
    model = compile_graph(g)
    with pytest.raises(RuntimeError) as info:
        model(torch.randn(2, 5))  # wrong feature count at run time
    text = "".join(traceback.format_exception(info.value))
    assert "fc = self.fc(x)  # fc (Linear): N×3" in text


def test_lineno_map_names_the_node_of_every_generated_line():
    g, nodes = chain([("io.Input", {"shape": [8]}, "x"),
                      ("core.Linear", {"out_features": 6}, "head (aux)"),
                      ("sparse.TopK", {"k": 2}, "head"),  # brings a support class along
                      ("act.ReLU", {}, "head (aux) 2"), ("io.Output", {}, "y")])
    code = generate(g, docstring="two\nlines")
    lines = code.source.splitlines()
    mapped = {nid: [n for n, i in code.lineno_map.items() if i == nid] for nid in code.attrs}
    for node in nodes[1:-1]:
        attr = code.attrs[node.id]
        init, fwd = sorted(mapped[node.id])
        assert lines[init - 1].strip().startswith(f"self.{attr} = ")
        assert f"= self.{attr}(" in lines[fwd - 1] and f"# {node.name} (" in lines[fwd - 1]
    assert len(code.lineno_map) == 6  # nothing else (imports, class, return) is a node's


def test_forward_error_is_blamed_through_the_line_map():
    from engine.train.faults import node_from_traceback

    g, (_x, aux, plain, _y) = chain([
        ("io.Input", {"shape": [4]}, "x"), ("core.Linear", {"out_features": 3}, "head (aux)"),
        ("core.Linear", {"out_features": 2}, "head"), ("io.Output", {}, "y")])
    model = compile_graph(g)
    with pytest.raises(RuntimeError) as info:
        model(torch.randn(2, 5))  # the first Linear cannot take 5 features
    assert node_from_traceback(info.value, model.studio_code) == aux.id
    other = compile_graph(g)  # same source, another model: its frames are not this one's
    assert node_from_traceback(info.value, other.studio_code) is None


def test_node_state_and_apply_weights_round_trip():
    g, (_i, conv, *_r) = digits_cnn()
    a, b = compile_graph(g), compile_graph(g)
    state = node_state(a)
    assert set(state[conv.id]) == {"weight", "bias"}
    apply_weights(b, state)
    x = torch.randn(2, 1, 8, 8)
    torch.testing.assert_close(a(x), b(x))
    g.weights = state
    torch.testing.assert_close(compile_graph(g)(x), a(x))


def test_apply_weights_names_the_mismatch():
    g, (_i, conv, *_r) = digits_cnn()
    model = compile_graph(g)
    with pytest.raises(WeightsError, match=r"conv1.*'weight' has shape \(3,\)"):
        apply_weights(model, {conv.id: {"weight": torch.zeros(3)}})


def test_name_clashes_get_unique_identifiers():
    g, nodes = chain([("io.Input", {"shape": [4]}, "class"), ("core.Linear", {}, "self"),
                      ("act.ReLU", {}, "Self"), ("io.Output", {}, "torch")])
    model = compile_graph(g)
    assert model(torch.randn(2, 4)).shape == (2, 10)
