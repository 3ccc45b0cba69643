"""Replacing the classifier of each gallery network (inside a block for VGG), with the stored
head weights dropped and the backbone's kept; `studio pretrained` and
`studio new --pretrained` end to end with a local weights file and an image folder."""
import numpy as np
import pytest
import torch

from engine import compile_graph, load_project
from engine.cli import main
from engine.pretrained import GALLERY
from engine.pretrained.weights import apply_state, expected_state
from engine.transfer import TransferError, find_head, replace_head

from . import reference

HEAD_KEYS = {"resnet18": "fc", "resnet50": "fc", "vgg11": "classifier.6",
             "densenet121": "classifier", "mobilenet_v2": "classifier.1",
             "mobilenet_v3_small": "classifier.3", "efficientnet_b0": "classifier.1"}


@pytest.mark.parametrize("name", sorted(HEAD_KEYS))
def test_replace_head_changes_only_the_classifier(name):
    graph = GALLERY[name].build()
    before = expected_state(graph)
    plan = replace_head(graph, 7)
    assert (plan.old_classes, plan.classes) == (1000, 7)
    after = expected_state(graph)
    key = HEAD_KEYS[name]
    assert after[key + ".weight"] == (7, before[key + ".weight"][1])
    assert after[key + ".bias"] == (7,)
    assert {k: v for k, v in after.items() if not k.startswith(key + ".")} == \
        {k: v for k, v in before.items() if not k.startswith(key + ".")}
    assert find_head(graph).classes == 7


def test_replace_head_drops_the_old_head_weights_inside_a_block():
    graph = GALLERY["vgg11"].build(image_size=32)
    state = {k: torch.zeros(s) for k, s in expected_state(graph).items()}
    apply_state(graph, state)
    cls = graph.by_name("classifier").id
    assert "6.weight" in graph.weights[cls] and "0.weight" in graph.weights[cls]
    replace_head(graph, 3)
    assert "6.weight" not in graph.weights[cls] and "0.weight" in graph.weights[cls]
    assert compile_graph(graph).state_dict()["classifier.6.weight"].shape == (3, 4096)


@pytest.mark.parametrize("bad", [0, -2, 2.5, True, 10**7])
def test_replace_head_refuses_a_bad_class_count(bad):
    with pytest.raises(TransferError, match="number of classes"):
        replace_head(GALLERY["resnet18"].build(), bad)


def test_studio_pretrained_lists_the_gallery(capsys):
    assert main(["pretrained"]) == 0
    out = capsys.readouterr().out
    for net in GALLERY.values():
        assert net.name in out and net.title in out
    assert "11.7 M" in out and "mean (0.485, 0.456, 0.406)" in out


def _photos(folder, classes=("cat", "dog", "owl")):
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in classes:
        (folder / c).mkdir(parents=True)
        for i in range(2):
            size = (int(rng.integers(20, 60)), int(rng.integers(20, 60)))
            Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(
                folder / c / f"{i}.png")
    return folder


def test_studio_new_pretrained_with_local_weights_and_a_folder(tmp_path, capsys):
    state = reference.randomized_state(reference.make("resnet18"), seed=2)
    weights = tmp_path / "resnet18-mine.pth"
    torch.save(state, weights)
    photos = _photos(tmp_path / "photos")
    dest = tmp_path / "fine.nnproj"
    assert main(["new", "--pretrained", "ResNet-18", "--weights", str(weights), "--data",
                 str(photos), str(dest)]) == 0
    project = load_project(dest)
    assert project.dataset["path"] == "photos" and project.dataset["source"] == "image_folder"
    assert project.meta["pretrained"] == {"network": "resnet18", "weights": weights.name}
    got = compile_graph(project.graph).state_dict()
    assert got["fc.weight"].shape == (3, 512)
    for key in ("conv1.weight", "layer4.1.bn2.running_var", "layer3.0.downsample.0.weight"):
        assert torch.equal(got[key], state[key]), key


def test_studio_new_pretrained_errors_are_one_line(tmp_path, capsys, monkeypatch):
    dest = tmp_path / "x.nnproj"
    assert main(["new", "--pretrained", "alexnet", str(dest)]) == 1
    assert "no pretrained network 'alexnet'" in capsys.readouterr().err
    assert main(["new", "--pretrained", "resnet18", "--weights", str(tmp_path / "no.pth"),
                 str(dest)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no.pth" in err and "not found" in err
    assert not dest.exists()
    monkeypatch.setenv("STUDIO_WEIGHTS_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("STUDIO_WEIGHTS_MIRROR", "http://127.0.0.1:9/models")
    assert main(["new", "--pretrained", "vgg11", str(dest)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: No network connection: to use the VGG-11 weights, download")
    assert not dest.exists()


def test_studio_new_random_weights_and_classes(tmp_path):
    dest = tmp_path / "r.nnproj"
    assert main(["new", "--pretrained", "densenet121", "--random-weights", "--classes", "4",
                 str(dest)]) == 0
    project = load_project(dest)
    assert not project.graph.weights and "weights" not in project.meta["pretrained"]
    assert expected_state(project.graph)["classifier.weight"] == (4, 1024)


def _images(n=12, classes=3, size=32, seed=0):
    from engine.data.base import DataSplits, Split

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3, size, size)).astype(np.float32)
    y = (np.arange(n) % classes).astype(np.int64)
    return DataSplits(Split(x, [y]), Split(x[:3], [y[:3]]), None, tasks=["classification"],
                      num_classes=[classes], class_names=[None])


@pytest.mark.parametrize("name, stem", [("resnet18", "conv1"), ("vgg11", None),
                                        ("mobilenet_v3_small", None)])
def test_replace_head_freeze_and_param_groups_reach_the_optimizer(name, stem):
    """The head replaced for 3 classes, the stem frozen by the user, the fine-tune preset:
    the optimizer holds the head at 1x and the rest of the backbone at 0.1x, the frozen
    stem nowhere, and the backbone waits while the head trains."""
    from engine.project import Project
    from engine.train import Trainer
    from engine.transfer import backbone_names, fine_tune_preset

    graph = GALLERY[name].build(image_size=32)
    replace_head(graph, 3)
    if stem:
        graph.set_trainable(graph.by_name(stem).id, False)
    training = fine_tune_preset(graph, {"epochs": 1, "batch_size": 4}, freeze_epochs=1)
    head = find_head(graph)
    head_name = graph.nodes[head.top_id].name
    assert stem not in backbone_names(graph) and head_name not in backbone_names(graph)
    assert set(training["lr_scales"]) == set(backbone_names(graph))
    trainer = Trainer(Project(graph=graph, training=training), "cpu", data=_images(),
                      run_dir=False)
    trainer.setup()
    groups = trainer.state.optimizer.param_groups
    assert [(g["nodes"], g["lr_scale"]) for g in groups] == \
        [([head_name], 1.0), (backbone_names(graph), 0.1)]
    assert [g["lr"] for g in groups] == pytest.approx([1e-3, 1e-4])
    model = trainer.state.model
    if stem:
        stem_params = {id(p) for p in getattr(model, stem).parameters()}
        assert stem_params and not stem_params & {id(p) for g in groups for p in g["params"]}
        assert all(not p.requires_grad for p in getattr(model, stem).parameters())
    assert trainer.state.fine_tune.head == head_name
    assert {id(p) for p in getattr(model, head_name).parameters()} == \
        {id(p) for p in groups[0]["params"]}


def test_new_pretrained_project_uses_the_fine_tune_preset(tmp_path):
    dest = tmp_path / "r.nnproj"
    assert main(["new", "--pretrained", "resnet18", "--random-weights", "--classes", "4",
                 "--freeze-epochs", "3", str(dest)]) == 0
    training = load_project(dest).training
    assert training["fine_tune"] == {"freeze_epochs": 3}
    assert training["lr_scales"] == {n: 0.1 for n in ("conv1", "bn1", "layer1", "layer2",
                                                      "layer3", "layer4")}
    assert main(["new", "--pretrained", "resnet18", "--random-weights", "--freeze-epochs",
                 "0", str(tmp_path / "plain.nnproj")]) == 0
    assert "fine_tune" not in load_project(tmp_path / "plain.nnproj").training
