"""The explainer's numbers equal torch.nn.functional on the same sample and patch."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.teach.explain import explain_conv, explain_pool, explain_softmax


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (1, 1, 1), (2, 1, 1),
                                                       (1, 2, 2), ((2, 1), (0, 1), 1)])
def test_conv_pixel_equals_conv2d(stride, padding, dilation):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 9, 8)).astype(np.float32)
    w = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    b = rng.normal(size=4).astype(np.float32)
    out = F.conv2d(torch.as_tensor(x)[None], torch.as_tensor(w), torch.as_tensor(b),
                   stride=stride, padding=padding, dilation=dilation)[0].numpy()
    for o, i, j in [(0, 0, 0), (3, out.shape[1] - 1, out.shape[2] - 1), (2, 1, 2)]:
        step = explain_conv(x, w, b, o, i, j, stride, padding, dilation)
        assert step.value == pytest.approx(float(out[o, i, j]), rel=1e-5, abs=1e-5)
        assert step.total + step.bias == step.value and step.bias == pytest.approx(b[o])
        np.testing.assert_allclose(step.products, step.patch * w[o], rtol=1e-12)
        inside = step.window.inside
        r, c = step.window.rows, step.window.cols
        for a in range(3):
            for q in range(3):
                want = x[:, r[a], c[q]] if inside[a, q] else 0.0
                np.testing.assert_array_equal(step.patch[:, a, q], want)


def test_pool_winner_and_mean_equal_torch():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 7, 7)).astype(np.float32)
    t = torch.as_tensor(x)[None]
    mx, idx = F.max_pool2d(t, 3, 2, 1, return_indices=True)
    av = F.avg_pool2d(t, 3, 2, 1, count_include_pad=True)
    av_ex = F.avg_pool2d(t, 3, 2, 1, count_include_pad=False)
    for c, i, j in [(0, 0, 0), (1, 2, 3), (1, 3, 3)]:
        step = explain_pool(x, "max", c, i, j, 3, 2, 1)
        assert step.value == float(mx[0, c, i, j])
        flat = int(idx[0, c, i, j])
        assert step.winner == divmod(flat, 7)
        assert explain_pool(x, "avg", c, i, j, 3, 2, 1).value == pytest.approx(
            float(av[0, c, i, j]), rel=1e-6)
        assert explain_pool(x, "avg", c, i, j, 3, 2, 1, count_include_pad=False).value == \
            pytest.approx(float(av_ex[0, c, i, j]), rel=1e-6)


def test_softmax_exponentials_and_sum():
    z = np.array([2.0, -1.0, 0.5, 30.0])
    step = explain_softmax(z)
    np.testing.assert_allclose(step.probs, torch.softmax(torch.tensor(z), 0).numpy())
    assert step.total == pytest.approx(step.exps.sum()) and step.shifted.max() == 0
