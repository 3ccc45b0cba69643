"""The MNIST examples (gan_mnist, vae_mnist) on the generated MNIST the test session installs
(tests/mnist_cache.py): 28x28 shapes, the exported scripts' per-epoch losses equal to the
app's, and one clear sentence, with nothing lost, when MNIST is neither cached nor reachable."""
from __future__ import annotations

import pytest
import torch

import engine
from engine.data import load_dataset
from engine.data.download import RESOURCES
from engine.examples import copy_example, example_paths
from engine.export.script import export_script
from engine.gan import discriminator_graph, generator_graph

from ...mnist_cache import offline_mirror
from ..export.test_script import _history, _in_app, _run_in_process


def _project(name: str, samples: int = 120) -> engine.Project:
    project = engine.load_project(example_paths()[name], weights=False)
    project.dataset["max_samples"] = samples
    return project


def test_gan_mnist_makes_and_judges_28x28_images():
    graph = _project("gan_mnist").graph
    gen = engine.compile_graph(generator_graph(graph)).eval()
    disc = engine.compile_graph(discriminator_graph(graph)).eval()
    with torch.no_grad():
        fake = gen(torch.randn(3, 64))
        assert fake.shape == (3, 1, 28, 28) and 0 <= fake.min() and fake.max() <= 1
        assert disc(fake).shape == (3, 1)
    data = load_dataset(_project("gan_mnist").dataset, None, (1, 28, 28), "float")
    assert data.sample_shape == (1, 28, 28) and data.test is not None  # MNIST's own test set


def test_vae_mnist_reconstructs_784_pixels_through_two_numbers():
    project = _project("vae_mnist")
    report = engine.validate(project.graph)
    assert report.out_types[project.graph.by_name("z").id][0].shape == (2,)
    model = engine.compile_graph(project.graph).eval()
    with torch.no_grad():
        assert model(torch.rand(3, 784)).shape == (3, 784)
    data = load_dataset(project.dataset, None, (784,), "float")
    assert data.tasks == ["reconstruction"] and data.train.y[0].shape[1:] == (784,)


@pytest.mark.parametrize("name", ["gan_mnist", "vae_mnist"])
def test_the_exported_script_trains_like_the_app(name, tmp_path, monkeypatch):
    project = _project(name)
    script = export_script(project, tmp_path / f"{name}.py")
    _run_in_process(script, monkeypatch, "--epochs", "2", "--history", "h.jsonl")
    app, got = _in_app(project, 2), _history(tmp_path / "h.jsonl")
    assert len(got) == 2
    for key in ("loss", "val_loss"):  # bit for bit on the CPU
        assert [r[key] for r in got] == [r[key] for r in app], key


def test_without_mnist_and_offline_each_way_fails_in_one_sentence(tmp_path, monkeypatch,
                                                                    capsys, generated_mnist):
    from engine.cli import main as cli_main
    from engine.train.trainer import Trainer

    empty = tmp_path / "cache"
    monkeypatch.setenv("STUDIO_DATA_DIR", str(empty))
    path = copy_example("gan_mnist", tmp_path / "gan.nnproj")
    project = engine.load_project(path)
    project.dataset["mirror"] = offline_mirror()
    engine.save_project(project, path)
    before = path.read_bytes()
    folder = empty / "mnist"

    result = Trainer(engine.load_project(path), "cpu", run_dir=False, epochs=1).fit()
    message = str(result.error)
    assert result.status == "failed" and result.error.kind == "data"
    assert "could not download MNIST" in message and "no network connection" in message
    assert f"by hand into {folder}" in message

    assert cli_main(["train", str(path), "--epochs", "1", "--device", "cpu"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "could not download MNIST" in err
    assert path.read_bytes() == before and not list(folder.glob("*"))   # nothing lost or half
    monkeypatch.setenv("STUDIO_DATA_DIR", str(generated_mnist))             # once it is there
    project = engine.load_project(path)
    project.dataset["max_samples"] = 120
    engine.save_project(project, path)
    assert cli_main(["train", str(path), "--epochs", "1", "--device", "cpu", "--quiet"]) == 0
    assert engine.load_project(path).graph.weights
    monkeypatch.setenv("STUDIO_DATA_DIR", str(empty))

    script = export_script(engine.load_project(path), tmp_path / "gan.py")  # export works
    with pytest.raises(SystemExit) as info:
        _run_in_process(script, monkeypatch, "--epochs", "1")
    message = str(info.value.code)
    assert message.startswith("could not download train-images-idx3-ubyte.gz") and \
        str(folder) in message and "\n" not in message
    monkeypatch.setenv("STUDIO_DATA_MIRROR", (generated_mnist / "mnist").as_uri())
    _run_in_process(script, monkeypatch, "--epochs", "1")    # the user's own copy, as the app
    assert sorted(f.name for f in folder.iterdir()) == sorted(RESOURCES["mnist"]["files"])
