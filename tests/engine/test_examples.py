"""Every bundled example loads, validates, compiles and fits the dataset it names."""
from __future__ import annotations

import pytest
import torch

from engine import compile_graph, load_project, validate
from engine.data.loader import load_dataset
from engine.examples import example_paths

REQUIRED = ("xor_mlp", "digits_mlp", "digits_cnn", "two_branch_concat", "residual_cnn",
            "inception_block", "lstm_sequence", "gru_bidirectional", "autoencoder",
            "ksparse_autoencoder", "text_cnn", "attention_classifier", "multitask_two_heads",
            "rbm")
EXAMPLES = sorted(example_paths())


def test_all_required_examples_are_bundled():
    assert sorted(set(REQUIRED) - set(EXAMPLES)) == []


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_validates_and_compiles(name):
    project = load_project(example_paths()[name])
    assert project.meta.get("name") == name
    assert project.meta.get("description")
    report = validate(project.graph)
    assert report.ok, report.text()
    assert not report.issues, report.text()  # no warnings either (nothing dangling)

    model = compile_graph(project.graph)
    assert sum(p.numel() for p in model.parameters()) == report.total_params
    inputs = []
    for node in project.graph.inputs():
        shape = (2, *node.params["shape"])
        inputs.append(torch.zeros(shape, dtype=torch.long) if node.params["dtype"] == "long"
                      else torch.rand(shape))
    model.eval()
    with torch.no_grad():
        outs = model(*inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    expected = [report.in_types[o.id][0].shape for o in project.graph.outputs()]
    assert [tuple(o.shape[1:]) for o in outs] == expected


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_fits_its_dataset(name):
    """The Input node's shape and dtype match the data, there is one target per Output, and
    embeddings cover the vocabulary."""
    project = load_project(example_paths()[name])
    graph = project.graph
    (node,) = graph.inputs()
    shape, dtype = tuple(node.params["shape"]), node.params["dtype"]
    gan = next((n for n in graph.nodes.values() if n.type == "gen.Generated"), None)
    if gan is not None:  # a GAN's data are its real samples, shaped like what it generates
        shape = validate(graph).out_types[gan.id][0].shape
    data = load_dataset(project.dataset, project.folder, shape, dtype)
    assert data.sample_shape == shape
    assert data.input_dtype == dtype
    assert gan is not None or len(data.train.y) == len(graph.outputs())
    for emb in (n for n in graph.nodes.values() if n.type == "core.Embedding"):
        assert data.vocab and emb.params["num_embeddings"] >= len(data.vocab)
