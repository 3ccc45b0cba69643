"""The first lines of the script's `load_data`: read the project's data source into `x` (all
samples) and one array per target the model uses (`test_x`, `test_<target>` for a source with
its own test set). One emitter per source; each follows its engine.data loader, and
tests/engine/export/test_script_data.py runs both on the same configs and compares."""
from __future__ import annotations

from dataclasses import dataclass, field

from .data_plan import DataPlan
from .text import block, lit


@dataclass
class Source:
    lines: list[str]
    what: str                                        # the data, for load_data's docstring
    helpers: list[list[str]] = field(default_factory=list)   # top-level functions it calls


def source_code(d: DataPlan) -> Source:
    from . import sources_files, sources_web

    if d.source == "bundled":
        return bundled(d)
    if d.source == "synthetic":
        if d.name == "text":
            return sources_web.toy_text(d)
        makers = {"xor": xor, "spirals": spirals, "circles": circles, "gaussians": gaussians,
                  "sine": sine, "ratings": ratings}
        return makers[d.name](d)
    if d.source == "download":
        return sources_web.download(d)
    return sources_files.file_source(d)


def wanted(d: DataPlan) -> dict[str, str]:
    """{target name: variable} of the targets the source must provide (not the input)."""
    return {t.name: t.var for t in d.targets if t.raw is not None}


def opt(d: DataPlan, key: str, default, kind=float, low=None, high=None):
    """A source option as the engine reads (and checks) it."""
    from ...data.synthetic import _opt

    return _opt(d.config, key, default, kind, low, high)


# -- scikit-learn ---------------------------------------------------------------------------

def bundled(d: DataPlan) -> Source:
    from ...data.bundled import _LOADERS

    fn, description = _LOADERS[d.name]
    need = wanted(d)
    labels = need.get("label", "labels" if need else "_")
    lines = [f"x, {labels} = {fn}(return_X_y=True)  # {description}",
             "x = x.astype(np.float32)"]
    derived = {"ge5": "({y} >= 5)", "even": "({y} % 2 == 0)"}  # digits' binary side targets
    for name, var in need.items():
        if name in derived:
            lines.append(f"{var} = {derived[name].format(y=labels)}.astype(np.float32)[:, None]")
    return Source(lines, f"scikit-learn's {d.name}")


# -- synthetic ----------------------------------------------------------------------------------

def _rng(d: DataPlan) -> str:
    return f"rng = np.random.default_rng({opt(d, 'seed', 0, int, 0)})"


def xor(d: DataPlan) -> Source:
    n = opt(d, "samples", 400, int, 4, 10_000_000)
    noise = opt(d, "noise", 0.05, float, 0, 10)
    y = wanted(d).get("label", "y")
    draw = "np.array([[0, 0], [0, 1], [1, 0], [1, 1]])[np.arange({n}) % 4]" \
        if d.option("balanced", False) is True else "rng.integers(0, 2, size=({n}, 2))"
    lines = [_rng(d), *block("""
        corners = {draw}
        x = (corners + rng.normal(0, {noise}, size=({n}, 2))).astype(np.float32)
        {y} = (corners[:, 0] ^ corners[:, 1]).astype(np.float32)[:, None]
        """, draw=draw.format(n=n), n=n, noise=lit(noise), y=y)]
    return Source(lines, f"{n} noisy corners of the unit square labelled x1 XOR x2")


def spirals(d: DataPlan) -> Source:
    n = opt(d, "samples", 400, int, 2, 10_000_000)
    noise = opt(d, "noise", 0.05, float, 0, 10)
    turns = opt(d, "turns", 1.5, float, 0.1, 20)
    y = wanted(d).get("label", "y")
    lines = [_rng(d), *block("""
        arm = np.arange({n}) % 2
        t = np.sqrt(rng.uniform(0.0025, 1, size={n}))  # uniform density along the arm
        angle = t * {turns} * 2 * np.pi + arm * np.pi
        x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
        x = (x + rng.normal(0, {noise}, size=x.shape)).astype(np.float32)
        {y} = arm.astype(np.float32)[:, None]
        """, n=n, noise=lit(noise), turns=lit(turns), y=y)]
    return Source(lines, f"two interleaved spirals of {n} points ({turns:g} turns)")


def circles(d: DataPlan) -> Source:
    n = opt(d, "samples", 400, int, 2, 10_000_000)
    noise = opt(d, "noise", 0.05, float, 0, 10)
    factor = opt(d, "factor", 0.5, float, 0.05, 0.8)
    y = wanted(d).get("label", "y")
    lines = [_rng(d), *block("""
        disc = np.arange({n}) % 2  # 1: inside the disc, 0: on the ring
        inner = {factor} * np.sqrt(rng.uniform(0, 1, size={n}))
        outer = rng.uniform({ring}, 1.0, size={n})
        radius = np.where(disc == 1, inner, outer)
        angle = rng.uniform(0, 2 * np.pi, size={n})
        x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
        x = (x + rng.normal(0, {noise}, size=x.shape)).astype(np.float32)
        {y} = disc.astype(np.float32)[:, None]
        """, n=n, factor=lit(factor), ring=lit((1 + factor) / 2 + 0.1), noise=lit(noise), y=y)]
    return Source(lines, f"{n} points: a disc of radius {factor:g} inside a ring")


def gaussians(d: DataPlan) -> Source:
    n = opt(d, "samples", 400, int, 2, 10_000_000)
    noise = opt(d, "noise", 0.3, float, 0, 10)
    distance = opt(d, "distance", 2.0, float, 0, 100)
    y = wanted(d).get("label", "y")
    lines = [_rng(d), *block("""
        cloud = np.arange({n}) % 2
        centre = (cloud[:, None] - 0.5) * {distance}
        x = (centre + rng.normal(0, {noise}, size=({n}, 2))).astype(np.float32)
        {y} = cloud.astype(np.float32)[:, None]
        """, n=n, distance=lit(distance), noise=lit(noise), y=y)]
    return Source(lines, f"{n} points in two Gaussian clouds {distance:g} apart")


def sine(d: DataPlan) -> Source:
    n = opt(d, "samples", 1000, int, 2, 10_000_000)
    length = opt(d, "window", 20, int, 2, 100_000)
    noise = opt(d, "noise", 0.05, float, 0, 10)
    y = wanted(d).get("label", "y")
    lines = [_rng(d), f"phase = rng.uniform(0, 2 * np.pi, size=({n}, 1))"]
    if d.option("task", "regression") == "classification":
        k = opt(d, "num_classes", 3, int, 2, 50)
        lines += block("""
            {y} = rng.integers(0, {k}, size={n})  # which frequency
            omega = np.linspace(0.15, 0.75, {k})[{y}][:, None]
            amplitude = rng.uniform(0.8, 1.2, size=({n}, 1))
            wave = amplitude * np.sin(omega * np.arange({steps}) + phase)
            """, y=y, k=k, n=n, steps=length + 1)
        what = f"{n} noisy sine windows of {length} steps from {k} frequencies"
    else:
        lines += block("""
            omega = rng.uniform(0.15, 0.75, size=({n}, 1))
            wave = np.sin(omega * np.arange({steps}) + phase)
            """, n=n, steps=length + 1)
        what = f"{n} noisy sine windows of {length} steps; the target is the next value"
    lines += block("""
        wave = wave + rng.normal(0, {noise}, size=({n}, {steps}))
        x = wave[:, :{length}, None].astype(np.float32)
        """, noise=lit(noise), n=n, steps=length + 1, length=length)
    if d.option("task", "regression") != "classification":
        lines.append(f"{y} = wave[:, {length}:].astype(np.float32)")
    return Source(lines, what)


def ratings(d: DataPlan) -> Source:
    users = opt(d, "users", 300, int, 2, 10_000_000)
    movies = opt(d, "movies", 24, int, 2, 100_000)
    genres = opt(d, "genres", 3, int, 1, movies)
    unrated = opt(d, "unrated", 0.3, float, 0, 0.95)
    flip = opt(d, "flip", 0.05, float, 0, 0.5)
    lines = [_rng(d), *block("""
        movie_genre = np.arange({movies}) % {genres}
        likes = rng.random(({users}, {genres})) < 0.5  # the genres each user likes
        none = ~likes.any(axis=1)
        likes[none, rng.integers(0, {genres}, size=none.sum())] = True
        x = likes[:, movie_genre].astype(np.float32)  # 1 liked, 0 disliked
        flips = rng.random(x.shape) < {flip}
        x[flips] = 1 - x[flips]
        x[rng.random(x.shape) < {unrated}] = -1  # unrated
        """, movies=movies, genres=genres, users=users, flip=lit(flip), unrated=lit(unrated))]
    var = wanted(d).get("genres")
    if var:
        lines.append(f"{var} = likes.astype(np.float32)")
    return Source(lines, f"ratings of {movies} movies by {users} users (1 liked, 0 disliked, "
                         f"-1 unrated)")
