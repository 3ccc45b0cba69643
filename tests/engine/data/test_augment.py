"""Image augmentation: torch ops on batches, seeded by a torch.Generator."""
import numpy as np
import pytest
import torch

from engine.data.augment import (
    build_augment,
    gaussian_noise,
    random_crop,
    random_flip,
    random_rotation,
    random_shift,
    rotate,
    shift,
)


def _batch(n=6, c=2, h=5, w=7):
    return torch.arange(n * c * h * w, dtype=torch.float32).view(n, c, h, w)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_flip_per_sample():
    x = _batch()
    np.testing.assert_array_equal(random_flip(x, _gen(), p=1.0), x.flip(3))
    np.testing.assert_array_equal(random_flip(x, _gen(), p=0.0), x)
    x = _batch(n=20)
    out = random_flip(x, _gen(3), p=0.5, direction="vertical")
    flipped = [torch.equal(o, s.flip(1)) for o, s in zip(out, x)]
    kept = [torch.equal(o, s) for o, s in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)


def test_shift_matches_a_manual_translation():
    x = _batch(n=2)
    out = shift(x, torch.tensor([1, -2]), torch.tensor([2, 0]))
    ref = torch.zeros_like(x)
    ref[0, :, 1:, 2:] = x[0, :, :-1, :-2]       # down 1, right 2
    ref[1, :, :-2, :] = x[1, :, 2:, :]          # up 2
    np.testing.assert_array_equal(out, ref)
    r = random_shift(x, _gen(), max_shift=2)
    assert r.shape == x.shape


def test_crop_windows_come_from_the_image():
    x = _batch(n=4, h=8, w=8)
    out = random_crop(x, _gen(), size=(5, 6))
    assert out.shape == (4, 2, 5, 6)
    for o, s in zip(out, x):
        found = any(torch.equal(o, s[:, i:i + 5, j:j + 6]) for i in range(4) for j in range(3))
        assert found
    padded = random_crop(x, _gen(), size=(8, 8), padding=2)
    assert padded.shape == x.shape
    with pytest.raises(ValueError, match="larger than"):
        random_crop(x, _gen(), size=(9, 9))


def test_rotation():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    np.testing.assert_array_equal(rotate(x, torch.tensor([90.0]), mode="nearest"),
                                  torch.rot90(x, 1, (2, 3)))     # counter-clockwise
    np.testing.assert_allclose(rotate(x, torch.tensor([0.0])), x, atol=1e-5)
    small = random_rotation(_batch(h=9, w=9), _gen(), max_degrees=5)
    assert small.shape == (6, 2, 9, 9)


def test_noise_and_seeding():
    x = torch.zeros(200, 1, 10, 10)
    a = gaussian_noise(x, _gen(1), std=0.1)
    assert abs(a.std().item() - 0.1) < 0.005 and abs(a.mean().item()) < 0.005
    np.testing.assert_array_equal(a, gaussian_noise(x, _gen(1), std=0.1))
    aug = build_augment({"flip": "horizontal", "shift": 1, "rotate": 10, "noise": 0.01})
    y = _batch()
    np.testing.assert_array_equal(aug(y, _gen(7)), aug(y, _gen(7)))
    assert not torch.equal(aug(y, _gen(7)), aug(y, _gen(8)))
    assert build_augment({}) is None
    with pytest.raises(ValueError, match="unknown augmentation 'blur'"):
        build_augment({"blur": 1})
