"""Seeded synthetic datasets: XOR, two spirals, circles, two Gaussians, noisy sine sequences,
movie ratings.

Every generator takes the dataset config and draws from `np.random.default_rng(seed)`, so the
same config always yields the same samples.
"""
from __future__ import annotations

import numpy as np

from ..guard.text import quote
from .base import DataError, RawData, Target


def _opt(config: dict, key: str, default, kind=float, low=None, high=None):
    value = config.get(key, default)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        ok = ok and float(value).is_integer()
    if not ok or (low is not None and value < low) or (high is not None and value > high):
        bounds = f" between {low} and {high}" if high is not None else (
            f" of at least {low}" if low is not None else "")
        raise DataError(f"dataset option {quote(key)} must be a number{bounds}, found {quote(value)}")
    return kind(value)


def _rng(config: dict) -> np.random.Generator:
    return np.random.default_rng(_opt(config, "seed", 0, int, 0))


TRUTH_TABLE = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


def make_xor(config: dict) -> RawData:
    """The four corners of the unit square plus gaussian noise; label = x1 XOR x2.

    Options: samples (400), noise (0.05, standard deviation), balanced (false: corners drawn
    at random; true: the four corners in turn, so each holds a quarter of the samples: with 4
    samples and no noise, XOR's truth table).
    """
    n = _opt(config, "samples", 400, int, 4, 10_000_000)
    noise = _opt(config, "noise", 0.05, float, 0, 10)
    balanced = config.get("balanced", False)
    if not isinstance(balanced, bool):
        raise DataError(f"dataset option 'balanced' must be true or false, found "
                        f"{quote(balanced)}")
    rng = _rng(config)
    corners = TRUTH_TABLE[np.arange(n) % 4] if balanced else rng.integers(0, 2, size=(n, 2))
    x = corners + rng.normal(0, noise, size=(n, 2))
    y = (corners[:, 0] ^ corners[:, 1]).astype(np.float32)[:, None]
    label = Target(y, "binary", 2, ["same", "different"])
    return RawData(x.astype(np.float32), {"label": label},
                   description=f"XOR: {n} noisy corners of the unit square (noise {noise})")


def make_spirals(config: dict) -> RawData:
    """Two interleaved spirals in the plane, one per class.

    Options: samples (400, split evenly), noise (0.05), turns (1.5 revolutions).
    """
    n = _opt(config, "samples", 400, int, 2, 10_000_000)
    noise = _opt(config, "noise", 0.05, float, 0, 10)
    turns = _opt(config, "turns", 1.5, float, 0.1, 20)
    rng = _rng(config)
    cls = np.arange(n) % 2
    t = np.sqrt(rng.uniform(0.0025, 1, size=n))     # uniform density along the arm
    angle = t * turns * 2 * np.pi + cls * np.pi
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    x += rng.normal(0, noise, size=x.shape)
    label = Target(cls.astype(np.float32)[:, None], "binary", 2, ["spiral A", "spiral B"])
    return RawData(x.astype(np.float32), {"label": label},
                   description=f"Two spirals: {n} points, {turns:g} turns, noise {noise}")


def make_circles(config: dict) -> RawData:
    """A disc of one class inside a ring of the other (no straight line separates them).

    The inner class fills a disc of radius `factor`; the outer one a ring from radius
    (1 + factor) / 2 + 0.1 to 1. Options: samples (400, split evenly), noise (0.05, standard
    deviation added to both coordinates), factor (0.5).
    """
    n = _opt(config, "samples", 400, int, 2, 10_000_000)
    noise = _opt(config, "noise", 0.05, float, 0, 10)
    factor = _opt(config, "factor", 0.5, float, 0.05, 0.8)
    rng = _rng(config)
    cls = np.arange(n) % 2                          # 1: inside, 0: the ring
    inner = factor * np.sqrt(rng.uniform(0, 1, size=n))  # uniform density over the disc
    ring_lo = (1 + factor) / 2 + 0.1
    outer = rng.uniform(ring_lo, 1.0, size=n)
    radius = np.where(cls == 1, inner, outer)
    angle = rng.uniform(0, 2 * np.pi, size=n)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    x += rng.normal(0, noise, size=x.shape)
    label = Target(cls.astype(np.float32)[:, None], "binary", 2, ["ring", "disc"])
    return RawData(x.astype(np.float32), {"label": label},
                   description=f"Circles: {n} points, a disc inside a ring (noise {noise})")


def make_gaussians(config: dict) -> RawData:
    """Two round Gaussian clouds, one per class, centred at (-d/2, -d/2) and (d/2, d/2).

    A single straight line separates them unless the noise makes them overlap. Options:
    samples (400, split evenly), noise (0.3, the clouds' standard deviation), distance
    (2.0, between the centres along each axis).
    """
    n = _opt(config, "samples", 400, int, 2, 10_000_000)
    noise = _opt(config, "noise", 0.3, float, 0, 10)
    distance = _opt(config, "distance", 2.0, float, 0, 100)
    rng = _rng(config)
    cls = np.arange(n) % 2
    centre = (cls[:, None] - 0.5) * distance
    x = centre + rng.normal(0, noise, size=(n, 2))
    label = Target(cls.astype(np.float32)[:, None], "binary", 2, ["cloud A", "cloud B"])
    return RawData(x.astype(np.float32), {"label": label},
                   description=f"Two Gaussians: {n} points, centres {distance:g} apart "
                               f"(noise {noise})")


def make_sine(config: dict) -> RawData:
    """Windows of noisy sine waves, shape (window, 1) per sample.

    task 'regression' (default): predict the next value, target (1,), random frequency and
    phase per sample. task 'classification': tell which of `num_classes` frequencies the
    window was drawn from. Options: samples (1000), window (20), noise (0.05),
    num_classes (3).
    """
    n = _opt(config, "samples", 1000, int, 2, 10_000_000)
    length = _opt(config, "window", 20, int, 2, 100_000)
    noise = _opt(config, "noise", 0.05, float, 0, 10)
    task = config.get("task", "regression")
    rng = _rng(config)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    steps = np.arange(length + 1)[None, :]
    if task == "classification":
        k = _opt(config, "num_classes", 3, int, 2, 50)
        freqs = np.linspace(0.15, 0.75, k)
        cls = rng.integers(0, k, size=n)
        omega = freqs[cls][:, None]
        amp = rng.uniform(0.8, 1.2, size=(n, 1))
    elif task == "regression":
        omega = rng.uniform(0.15, 0.75, size=(n, 1))
        amp = np.ones((n, 1))
    else:
        raise DataError(f"sine task must be 'regression' or 'classification', found {quote(task)}")
    wave = amp * np.sin(omega * steps + phase) + rng.normal(0, noise, size=(n, length + 1))
    x = wave[:, :length, None].astype(np.float32)
    if task == "classification":
        names = [f"{f:.2f} rad/step" for f in freqs]
        target = Target(cls.astype(np.int64), "classification", k, names)
        desc = f"Sine: {n} windows of {length} steps from {k} frequencies (noise {noise})"
    else:
        target = Target(wave[:, length:].astype(np.float32), "regression")
        desc = f"Sine: {n} windows of {length} steps, predict the next value (noise {noise})"
    return RawData(x, {"label": target}, description=desc)


def make_ratings(config: dict) -> RawData:
    """Users x movies matrix of likes (1), dislikes (0) and unrated entries (-1), as used to
    train an RBM for collaborative filtering.

    Each movie belongs to one of `genres` latent genres; each user likes a random non-empty
    subset of genres and rates a movie 1 when they like its genre (flipped with probability
    `flip`). A fraction `unrated` of entries is -1. The default target is the input
    (reconstruction); target 'genres' gives each user's liked genres (multilabel).
    Options: users (300), movies (24), genres (3), unrated (0.3), flip (0.05).
    """
    users = _opt(config, "users", 300, int, 2, 10_000_000)
    movies = _opt(config, "movies", 24, int, 2, 100_000)
    genres = _opt(config, "genres", 3, int, 1, movies)
    unrated = _opt(config, "unrated", 0.3, float, 0, 0.95)
    flip = _opt(config, "flip", 0.05, float, 0, 0.5)
    rng = _rng(config)
    movie_genre = np.arange(movies) % genres
    likes = rng.random((users, genres)) < 0.5
    none = ~likes.any(axis=1)
    likes[none, rng.integers(0, genres, size=none.sum())] = True
    r = likes[:, movie_genre].astype(np.float32)
    flips = rng.random(r.shape) < flip
    r[flips] = 1 - r[flips]
    r[rng.random(r.shape) < unrated] = -1
    genre_target = Target(likes.astype(np.float32), "multilabel", genres,
                          [f"genre {g}" for g in range(genres)])
    desc = (f"Ratings: {users} users x {movies} movies in {genres} genres; 1 liked, 0 "
            f"disliked, -1 unrated ({unrated:.0%})")
    return RawData(r, {"genres": genre_target}, default_target="input", description=desc)
