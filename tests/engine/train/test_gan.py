"""The GAN end to end: the graph splits at its Generated node, the adversarial recipe
updates each network only in its own step, every epoch reports both losses, D(x), D(G(z)) and
the fixed-noise samples, and `studio train` trains it. How well the generated digits are
recognised by a digits classifier is measured by bench/generative_quality.py (minutes)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import engine
from engine.examples import copy_example, example_paths
from engine.gan import discriminator_graph, generator_graph
from engine.train.events import GanSnapshot
from engine.train.gan import d_step, g_step, samples
from engine.train.trainer import Trainer


def _project(samples_: int = 300, **gen_params) -> engine.Project:
    project = engine.load_project(example_paths()["gan_digits"], weights=False)
    project.dataset["max_samples"] = samples_
    node = project.graph.by_name("generated")
    for k, v in gen_params.items():
        project.graph.set_param(node.id, k, v)
    return project


def test_the_graph_splits_into_generator_and_discriminator():
    graph = _project().graph
    g, d = generator_graph(graph), discriminator_graph(graph)
    gen_in = next(n for n in g.nodes.values() if n.type == "io.Input")
    assert gen_in.params["shape"] == [16]
    assert engine.validate(g).out_types[next(
        n.id for n in g.nodes.values() if n.type == "gen.Generated")][0].shape == (1, 8, 8)
    d_in = next(n for n in d.nodes.values() if n.type == "io.Input")
    assert d_in.params["shape"] == [1, 8, 8]
    names = lambda gr: {n.name for n in gr.nodes.values() if n.spec.role == "layer"}  # noqa: E731
    assert "up1" in names(g) and "down1" not in names(g)
    assert "down1" in names(d) and "up1" not in names(d)
    assert engine.validate(graph).total_params == \
        engine.validate(g).total_params + engine.validate(d).total_params


def _params(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


@pytest.mark.parametrize("loss", ["bce", "hinge"])
def test_discriminator_and_generator_change_only_in_their_own_steps(loss):
    trainer = Trainer(_project(loss=loss), "cpu", run_dir=False, epochs=1)
    trainer.setup()
    gan = trainer.state.gan
    xb = trainer.state.train_data.x[:32]
    d0, g0 = _params(gan.discriminator), _params(gan.generator)
    d_step(gan, xb)
    assert _changed(d0, gan.discriminator) and not _changed(g0, gan.generator)
    d1, g1 = _params(gan.discriminator), _params(gan.generator)
    g_step(gan, 32, xb.device)
    assert _changed(g1, gan.generator) and not _changed(d1, gan.discriminator)
    # separate optimisers with their own learning rates
    assert gan.g_optimizer is not gan.d_optimizer
    g_ids = {id(p) for p in gan.g_params}
    assert not g_ids & {id(p) for p in gan.d_params}
    assert len(g_ids) + len(gan.d_params) == len(list(trainer.state.model.parameters()))


def test_k_discriminator_steps_per_generator_step(monkeypatch):
    from engine.train import gan as gan_module

    calls = []
    real_g_step = gan_module.g_step
    monkeypatch.setattr(gan_module, "g_step",
                        lambda *a: calls.append("g") or real_g_step(*a))
    trainer = Trainer(_project(d_steps=3), "cpu", run_dir=False, epochs=1)
    trainer.setup()
    gan = trainer.state.gan
    xb = trainer.state.train_data.x[:16]
    for _ in range(6):
        gan_module.adversarial_step(gan, xb)
    assert calls == ["g", "g"]


def test_every_epoch_reports_both_losses_d_outputs_and_fixed_noise_samples():
    events = []
    project = _project(label_smoothing=0.1)
    result = Trainer(project, "cpu", callbacks=[events.append], run_dir=False,
                     epochs=2).fit()
    assert result.status == "completed", result.error
    snaps = [e for e in events if isinstance(e, GanSnapshot)]
    assert [s.epoch for s in snaps] == [1, 2]
    for s in snaps:
        assert np.isfinite([s.d_loss, s.g_loss, s.spread]).all()
        assert 0 < s.d_fake < 1 and 0 < s.d_real < 1
        assert s.tiles.shape == (64, 8, 8) and 0 <= s.tiles.min() and s.tiles.max() <= 1
    # the row weighs batches by size, the snapshot averages steps: close, not equal
    assert result.history[-1]["loss"] == pytest.approx(snaps[-1].d_loss, rel=0.05)
    assert "val_loss" in result.history[-1]
    assert not np.array_equal(snaps[0].tiles, snaps[1].tiles)


def test_studio_train_trains_the_gan_and_the_vae(tmp_path, capsys):
    from engine.cli import main as cli_main

    for name in ("gan_digits", "vae_digits"):
        path = copy_example(name, tmp_path / f"{name}.nnproj")
        project = engine.load_project(path)
        project.dataset["max_samples"] = 200
        engine.save_project(project, path)
        assert cli_main(["train", str(path), "--epochs", "1", "--quiet",
                         "--device", "cpu"]) == 0, capsys.readouterr()
        trained = engine.load_project(path)
        assert trained.graph.weights
    gan = engine.load_project(tmp_path / "gan_digits.nnproj")
    assert samples(gan.graph, 4, seed=0).shape == (4, 8, 8)
    assert cli_main(["export", str(tmp_path / "gan_digits.nnproj"), "-f", "onnx", "--part",
                     "generator", "-o", str(tmp_path / "generator.onnx")]) == 0
    assert "onnx.checker ok" in capsys.readouterr().out
    import onnx

    model = onnx.load(str(tmp_path / "generator.onnx")).graph
    assert [d.dim_value for d in model.input[0].type.tensor_type.shape.dim][1:] == [16]
    assert [d.dim_value for d in model.output[0].type.tensor_type.shape.dim][1:] == [1, 8, 8]
    assert cli_main(["export", str(tmp_path / "gan_digits.nnproj"), "-f", "python", "-o",
                     str(tmp_path / "gan.py")]) == 1
    assert "adversarial recipe" in capsys.readouterr().err
