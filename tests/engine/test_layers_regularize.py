"""Weight/spectral normalisation match torch's parametrizations; DropConnect, DropPath and
Noise are the identity when evaluating and do what they say while training; the VAE's
Sampling layer: KL equals the closed form, samples have the right mean and variance."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrizations as P

from engine import compile_graph

from .test_layers_misc import compiled
from .test_registry import build


def sampling(params: dict, latent: int):
    graph, node = build("gen.Sampling", params, [((latent,), "float")] * 2)
    model = compile_graph(graph)
    return model, getattr(model, model.studio_code.attrs[node.id])


@pytest.mark.parametrize("layer_id, params, shape, reference", [
    ("core.Linear", {"out_features": 5}, (7,), lambda: nn.Linear(7, 5)),
    ("conv.Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, (3, 6, 6),
     lambda: nn.Conv2d(3, 4, 3, padding=1)),
    ("conv.Conv1d", {"out_channels": 4, "kernel_size": 3, "bias": False}, (2, 9),
     lambda: nn.Conv1d(2, 4, 3, bias=False)),
    ("conv.ConvTranspose2d", {"out_channels": 6, "kernel_size": 3, "stride": 2}, (4, 3, 3),
     lambda: nn.ConvTranspose2d(4, 6, 3, stride=2)),
])
@pytest.mark.parametrize("norm", ["weight_norm", "spectral_norm"])
def test_weight_and_spectral_norm_match_torch_parametrizations(layer_id, params, shape,
                                                               reference, norm):
    transposed = layer_id.endswith("Transpose2d")
    model, layer = compiled(layer_id, {**params, "weight_norm": norm}, shape)
    kwargs = {"dim": 1} if transposed and norm == "weight_norm" else {}
    ref = getattr(P, norm)(reference(), **kwargs)
    assert sorted(layer.state_dict()) == sorted(ref.state_dict())
    ref.load_state_dict(layer.state_dict())
    assert sum(p.numel() for p in model.parameters()) == \
        sum(p.numel() for p in ref.parameters())
    x = torch.randn(4, *shape)
    for mode in (True, False, True):  # spectral norm's power iteration runs in training
        model.train(mode)
        ref.train(mode)
        assert torch.allclose(model(x), ref(x), atol=1e-6)
    if norm == "weight_norm":  # g·v/‖v‖ with g initialised to ‖w‖: the original weight back
        w = layer.weight.transpose(0, 1) if transposed else layer.weight
        norms = w.flatten(1).norm(dim=1)
        g = layer.parametrizations.weight.original0.flatten()
        assert torch.allclose(norms, g.abs(), atol=1e-5)
    else:
        sigma = torch.linalg.matrix_norm(layer.weight.flatten(1) if not transposed else
                                         layer.weight.transpose(0, 1).flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)


def test_weight_norm_learns_length_and_direction_separately():
    model, _ = compiled("core.Linear", {"out_features": 3, "weight_norm": "weight_norm"},
                           (4,))
    names = {n for n, _ in model.named_parameters()}
    assert any(n.endswith("original0") for n in names)  # g
    assert any(n.endswith("original1") for n in names)  # v
    model(torch.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_drop_connect_drops_weights_in_training_and_is_linear_in_eval():
    torch.manual_seed(0)
    model, layer = compiled("core.DropConnect", {"out_features": 40, "p": 0.5}, (50,))
    x = torch.randn(3, 50)
    model.eval()
    assert torch.equal(model(x), F.linear(x, layer.weight, layer.bias))
    model.train()
    torch.manual_seed(1)
    y = model(x)
    torch.manual_seed(1)
    mask = F.dropout(torch.ones_like(layer.weight), 0.5, True)
    assert torch.allclose(y, F.linear(x, layer.weight * mask, layer.bias), atol=1e-6)
    dropped = (mask == 0).float().mean().item()
    assert 0.4 < dropped < 0.6  # 2000 weights: the share is near p
    # one mask per batch: a sample gives the same result alone and in the batch
    torch.manual_seed(1)
    assert torch.allclose(model(x[:1]), y[:1], atol=1e-6)


@pytest.mark.parametrize("layer_id, params", [
    ("core.DropPath", {"p": 0.5}), ("core.DropPath", {"p": 0.9, "mode": "batch"}),
    ("core.Noise", {"amount": 0.5}), ("core.Noise", {"kind": "masking", "amount": 0.5}),
    ("core.Dropout", {"p": 0.5}),
])
def test_regularizers_are_the_identity_when_evaluating(layer_id, params):
    model, _ = compiled(layer_id, params, (6,))
    x = torch.randn(64, 6)
    model.eval()
    assert torch.equal(model(x), x)
    model.train()
    assert not torch.equal(model(x), x)


def test_drop_path_drops_whole_samples_and_rescales_the_kept_ones():
    torch.manual_seed(0)
    model, _ = compiled("core.DropPath", {"p": 0.25}, (3, 4))
    x = torch.randn(400, 3, 4)
    y = model(x)
    kept = (y != 0).flatten(1).all(1)
    assert torch.equal(kept | (y == 0).flatten(1).all(1), torch.ones(400, dtype=torch.bool))
    assert torch.allclose(y[kept], x[kept] / 0.75)
    assert 0.65 < kept.float().mean().item() < 0.85


def test_noise_corrupts_as_configured():
    torch.manual_seed(0)
    model, _ = compiled("core.Noise", {"amount": 0.3}, (1000,))
    x = torch.ones(20, 1000)
    noise = model(x) - x
    assert abs(noise.mean().item()) < 0.01 and noise.std().item() == pytest.approx(0.3, rel=0.03)
    model, _ = compiled("core.Noise", {"kind": "masking", "amount": 0.3}, (1000,))
    y = model(x)
    assert set(y.unique().tolist()) == {0.0, 1.0}  # no rescaling
    assert (y == 0).float().mean().item() == pytest.approx(0.3, abs=0.02)


def test_sampling_kl_equals_the_closed_form_and_beta_weights_it():
    model, layer = sampling({"beta": 0.25}, 5)
    torch.manual_seed(0)
    mu, logvar = torch.randn(8, 5), torch.randn(8, 5)
    model(mu, logvar)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    prior = torch.distributions.Normal(torch.zeros(5), torch.ones(5))
    closed = torch.distributions.kl_divergence(q, prior).sum(1).mean()
    assert layer.kl.item() == pytest.approx(0.25 * closed.item(), rel=1e-5)
    model(torch.zeros(3, 5), torch.zeros(3, 5))  # the posterior is the prior: KL 0
    assert layer.kl.item() == 0.0


def test_sampling_draws_with_the_posterior_mean_and_variance_and_gives_mu_in_eval():
    model, _ = sampling({}, 2)
    torch.manual_seed(0)
    n = 200_000
    mu = torch.tensor([1.5, -2.0]).expand(n, 2)
    logvar = torch.tensor([0.0, 2 * torch.log(torch.tensor(0.5)).item()]).expand(n, 2)
    z = model(mu, logvar)
    assert z.mean(0).tolist() == pytest.approx([1.5, -2.0], abs=0.01)
    assert z.var(0).tolist() == pytest.approx([1.0, 0.25], rel=0.02)
    mu.requires_grad_(True)
    model.eval()
    assert torch.equal(model(mu[:4], logvar[:4]), mu[:4])


def test_sampling_gradient_reaches_mu_and_logvar():
    model, _ = sampling({}, 3)
    mu = torch.randn(4, 3, requires_grad=True)
    logvar = torch.randn(4, 3, requires_grad=True)
    model(mu, logvar).sum().backward()
    assert mu.grad is not None and logvar.grad is not None and logvar.grad.abs().sum() > 0


@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
def test_regularized_model_exports_to_onnx_and_torchscript(tmp_path, exporter):
    import onnxruntime as ort

    from engine.compile import node_state
    from engine.export.onnx import export_onnx
    from engine.export.torchscript import export_torchscript

    from .helpers import chain

    graph, _ = chain([
        ("io.Input", {"shape": [1, 8, 8]}, "image"),
        ("core.Noise", {"amount": 0.2}, "noise"),
        ("conv.Conv2d", {"out_channels": 4, "kernel_size": 3, "weight_norm": "spectral_norm"},
         "conv"),
        ("core.DropPath", {"p": 0.3}, "drop_path"),
        ("core.Flatten", {}, "flatten"),
        ("core.Linear", {"out_features": 16, "weight_norm": "weight_norm"}, "fc"),
        ("core.DropConnect", {"out_features": 10, "p": 0.4}, "head"),
        ("io.Output", {}, "out"),
    ])
    model = compile_graph(graph).eval()
    x = torch.rand(3, 1, 8, 8)
    weights = node_state(model)
    export_onnx(graph, tmp_path / "m.onnx", weights, exporter=exporter)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        want = model(x).numpy()
    assert abs(got - want).max() < 1e-5
    if exporter == "legacy":
        export_torchscript(graph, tmp_path / "m.pt", weights)
        scripted = torch.jit.load(str(tmp_path / "m.pt"))
        assert torch.allclose(scripted(x), model(x), atol=1e-6)
