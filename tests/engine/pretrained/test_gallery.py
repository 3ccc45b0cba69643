"""The gallery's networks equal torchvision's: parameter counts as published, state_dict keys
and shapes equal to the reference modules (built on the meta device: no memory), a
torchvision-format state_dict loads by name with nothing missing or unexpected, and the
outputs then equal the reference's (small networks, small images)."""
import pytest
import torch

from engine import compile_graph, validate
from engine.pretrained import GALLERY, PretrainedError, get
from engine.pretrained.weights import apply_state, expected_state
from engine.summary import summarize

from . import reference

NAMES = sorted(GALLERY)


def _reference_shapes(name):
    with torch.device("meta"):
        model = reference.make(name)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", NAMES)
def test_parameters_equal_torchvision(name):
    net = GALLERY[name]
    report = validate(net.build())
    assert report.ok, report.errors[:2]
    assert sum(report.param_counts.values()) == reference.PUBLISHED[name] == net.params


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_keys_and_shapes_equal_torchvision(name):
    assert expected_state(GALLERY[name].build()) == _reference_shapes(name)


@pytest.mark.parametrize("name", NAMES)
def test_macs_close_to_published(name):
    """Studio's count of the convolutions' and linear layers' multiply-accumulates per image
    (what torchvision's published figure counts) is within 1 % of it; the total (batch norm,
    activations, pooling included) is at most 8 % more."""
    net = GALLERY[name]
    summary = summarize(net.build(), inner=True)
    macs = sum(r.flops for r in summary.rows if r.type in ("Conv2d", "Linear"))
    assert macs == pytest.approx(net.gmacs * 1e9, rel=0.01)
    assert macs < summary.total_flops < 1.08 * macs


@pytest.mark.parametrize("name", ["resnet18", "densenet121", "mobilenet_v2",
                                  "mobilenet_v3_small", "efficientnet_b0"])
def test_torchvision_state_dict_loads_and_outputs_match(name):
    torch.manual_seed(0)
    ref = reference.make(name).eval()
    state = reference.randomized_state(ref)
    ref.load_state_dict(state)
    graph = GALLERY[name].build(image_size=32)
    assert apply_state(graph, state) == len(state)
    model = compile_graph(graph).eval()
    missing, unexpected = model.load_state_dict(state, strict=True)
    assert not missing and not unexpected
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), rtol=1e-4, atol=1e-4)


def test_weights_survive_the_project_file(tmp_path):
    from engine import load_project, save_project
    from engine.project import Project

    ref = reference.make("resnet18")
    state = reference.randomized_state(ref, seed=3)
    graph = GALLERY["resnet18"].build(num_classes=1000, image_size=32)
    apply_state(graph, state)
    save_project(Project(graph=graph), tmp_path / "r.nnproj")
    model = compile_graph(load_project(tmp_path / "r.nnproj").graph)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, state[key], msg=key)


def test_a_state_dict_that_does_not_fit_is_refused_naming_keys():
    graph = GALLERY["resnet18"].build()
    state = {k: torch.zeros(s) for k, s in expected_state(graph).items()}
    del state["layer1.0.conv1.weight"]
    state["layer9.weight"] = torch.zeros(1)
    state["fc.weight"] = torch.zeros(10, 512)
    with pytest.raises(PretrainedError) as err:
        apply_state(graph, state, "mine.pth")
    msg = str(err.value)
    assert "mine.pth" in msg and "layer1.0.conv1.weight" in msg and "layer9.weight" in msg
    assert "fc.weight is (10, 512), the network needs (1000, 512)" in msg
    assert not graph.weights


def test_older_files_without_batch_norm_counters_load():
    graph = GALLERY["resnet18"].build()
    state = {k: torch.zeros(s) for k, s in expected_state(graph).items()
             if not k.endswith("num_batches_tracked")}
    apply_state(graph, state)
    assert graph.weights


def test_densenet_legacy_key_names_are_renamed():
    net = get("DenseNet-121")
    state = {"features.denseblock1.denselayer1.norm.1.weight": 1,
             "features.denseblock1.denselayer1.conv.2.weight": 2, "classifier.bias": 3}
    assert net.remap(state) == {"features.denseblock1.denselayer1.norm1.weight": 1,
                                "features.denseblock1.denselayer1.conv2.weight": 2,
                                "classifier.bias": 3}


def test_get_by_name_or_title():
    assert get("ResNet-18") is get("resnet18")
    with pytest.raises(KeyError, match="resnet18"):
        get("alexnet")
