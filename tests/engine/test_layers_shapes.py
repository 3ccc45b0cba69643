"""Shape arithmetic against torch on generated params: whenever a spec accepts a
configuration, its inferred shape and parameter count equal the real module's."""
from __future__ import annotations

import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

from engine.layers import ParamError, ShapeError, TensorType, get_spec

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
small = st.integers(1, 4)


def check(layer_id: str, params: dict, shape: tuple[int, ...]) -> None:
    spec = get_spec(layer_id)
    try:
        p = spec.coerce_params(params)
        ins = [TensorType(shape)]
        (out,) = spec.infer(p, ins)
    except (ParamError, ShapeError):
        assume(False)
        return
    source = spec.module(p, ins)
    module = eval(source, {"nn": nn, "torch": torch})  # noqa: S307 (our own generated code)
    with torch.no_grad():
        y = module(torch.randn(2, *shape))
    assert tuple(y.shape[1:]) == out.shape, (source, shape)
    assert spec.param_count(p, ins) == sum(t.numel() for t in module.parameters()), source


@SETTINGS
@given(dims=st.sampled_from([1, 2]), c=small, o=st.integers(1, 3), k=small, s=small,
       pad=st.integers(0, 3), d=st.integers(1, 3), g=st.sampled_from([1, 2]),
       size=st.integers(1, 12), same=st.booleans())
def test_convolutions(dims, c, o, k, s, pad, d, g, size, same):
    params = {"out_channels": o * g, "kernel_size": k, "stride": 1 if same else s,
              "padding": "same" if same else pad, "dilation": d, "groups": g}
    check(f"conv.Conv{dims}d", params, (c * g, *[size] * dims))


@SETTINGS
@given(c=small, o=small, k=small, s=small, pad=st.integers(0, 2), op=st.integers(0, 2),
       d=st.integers(1, 2), h=st.integers(1, 8), w=st.integers(1, 8))
def test_transposed_convolution(c, o, k, s, pad, op, d, h, w):
    check("conv.ConvTranspose2d", {"out_channels": o, "kernel_size": k, "stride": s,
                                   "padding": pad, "output_padding": op, "dilation": d},
          (c, h, w))


@SETTINGS
@given(kind=st.sampled_from(["Max", "Avg"]), dims=st.sampled_from([1, 2]), k=st.integers(1, 5),
       s=st.integers(0, 4), pad=st.integers(0, 2), size=st.integers(1, 12))
def test_pooling(kind, dims, k, s, pad, size):
    check(f"pool.{kind}Pool{dims}d", {"kernel_size": k, "stride": s, "padding": pad},
          (2, *[size] * dims))


@SETTINGS
@given(dims=st.sampled_from([1, 2]), out=st.integers(1, 6), size=st.integers(1, 12))
def test_adaptive_pooling(dims, out, size):
    check(f"pool.AdaptiveAvgPool{dims}d", {"output_size": out}, (2, *[size] * dims))


@SETTINGS
@given(mode=st.sampled_from(["nearest", "linear", "bilinear"]),
       scale=st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 0.75]), rank=st.sampled_from([2, 3]),
       size=st.integers(1, 9))
def test_upsample(mode, scale, rank, size):
    check("pool.Upsample", {"scale_factor": scale, "mode": mode}, (2, *[size] * (rank - 1)))
