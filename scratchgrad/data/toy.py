"""Small 2-D data sets made on the spot (no downloads), and the tutorial's four samples.

Every generator returns ``(X, y)``: X is a list of ``[x0, x1]`` float pairs and y a list
of labels -1.0 / +1.0 (the tutorial's convention; ``t = (y + 1) / 2`` gives 0/1), or of
real targets for the regression sets `make_plane` and `make_gaussian_mix`. The
``seed`` argument makes a set reproducible: an int (or a `random.Random`) gives an
independent generator; ``None`` draws from the global `random` module, so
``random.seed(k)`` reproduces it too. Sizes are capped (`MAX_SAMPLES` points,
`MAX_NOISE` noise) so a typo cannot ask for gigabytes or for pure noise.
"""

from __future__ import annotations

import math
import random
from typing import Callable

from scratchgrad._random import RandomSource, as_random

Points = tuple[list[list[float]], list[float]]

MAX_SAMPLES = 1_000_000
MAX_NOISE = 10.0  # the sets span about 3 units: beyond this a set is only noise


def _check_args(n_samples: object, noise: object, minimum: int = 2) -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or not minimum <= n_samples <= MAX_SAMPLES:
        raise ValueError(f"n_samples must be an int from {minimum} to {MAX_SAMPLES:,}, got {n_samples!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not (math.isfinite(noise) and 0 <= noise <= MAX_NOISE):
        raise ValueError(f"noise must be a finite number >= 0 and <= {MAX_NOISE:g}, got {noise!r}")


def _shuffled(points: list[tuple[float, float, float]], rng: RandomSource, noise: float) -> Points:
    """Add Gaussian noise (std ``noise``) to every point, shuffle, split into X and y."""
    noisy = [(x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise), label) for x, y, label in points] if noise else points
    rng.shuffle(noisy)
    return [[x, y] for x, y, _ in noisy], [label for _, _, label in noisy]


def _linspace(start: float, stop: float, n: int, endpoint: bool = True) -> list[float]:
    if n == 1:
        return [start]
    step = (stop - start) / (n - 1 if endpoint else n)
    return [start + i * step for i in range(n)]


def tutorial() -> Points:
    """The tutorial's 4 samples of 3 features and their targets (fresh lists every call)."""
    xs = [
        [2.0, 3.0, -1.0],
        [3.0, -1.0, 0.5],
        [0.5, 1.0, 1.0],
        [1.0, 1.0, -1.0],
    ]
    ys = [1.0, -1.0, -1.0, 1.0]
    return xs, ys


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: int | random.Random | None = None) -> Points:
    """Two interleaving half circles (as scikit-learn's make_moons): n_samples -> (X, y).

    The upper moon (centre (0, 0)) is labelled -1, the lower one (centre (1, 0.5)) +1;
    ``noise`` is the std of Gaussian noise added to each coordinate.
    """
    _check_args(n_samples, noise)
    rng = as_random(seed)
    n_upper = n_samples // 2
    n_lower = n_samples - n_upper
    points = [(math.cos(t), math.sin(t), -1.0) for t in _linspace(0.0, math.pi, n_upper)]
    points += [(1.0 - math.cos(t), 0.5 - math.sin(t), 1.0) for t in _linspace(0.0, math.pi, n_lower)]
    return _shuffled(points, rng, noise)


def make_circles(
    n_samples: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int | random.Random | None = None
) -> Points:
    """A circle of radius ``factor`` inside the unit circle: outer -1, inner +1 -> (X, y)."""
    _check_args(n_samples, noise)
    if not isinstance(factor, (int, float)) or not 0 < factor < 1:
        raise ValueError(f"factor must be a number in (0, 1), got {factor!r}")
    rng = as_random(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    points = [(math.cos(t), math.sin(t), -1.0) for t in _linspace(0.0, 2 * math.pi, n_outer, endpoint=False)]
    points += [
        (factor * math.cos(t), factor * math.sin(t), 1.0)
        for t in _linspace(0.0, 2 * math.pi, n_inner, endpoint=False)
    ]
    return _shuffled(points, rng, noise)


def make_spirals(
    n_samples: int = 100, noise: float = 0.05, turns: float = 1.0, seed: int | random.Random | None = None
) -> Points:
    """Two interleaved spirals from the origin out to radius 1, ``turns`` turns each -> (X, y).

    Point i of a spiral sits at radius r = i / n and angle 2 pi turns r (+ pi for the
    second spiral): -1 for the first, +1 for the second.
    """
    _check_args(n_samples, noise)
    if not isinstance(turns, (int, float)) or not (math.isfinite(turns) and turns > 0):
        raise ValueError(f"turns must be a positive number, got {turns!r}")
    rng = as_random(seed)
    points = []
    for label, count, offset in ((-1.0, n_samples // 2, 0.0), (1.0, n_samples - n_samples // 2, math.pi)):
        for i in range(count):
            r = (i + 1) / count  # start just off the origin, where the two spirals meet
            angle = 2 * math.pi * turns * r + offset
            points.append((r * math.cos(angle), r * math.sin(angle), label))
    return _shuffled(points, rng, noise)


def make_xor(n_samples: int = 100, noise: float = 0.1, seed: int | random.Random | None = None) -> Points:
    """Points in the four quadrants of [-1, 1]^2, labelled sign(x0 * x1) -> (X, y).

    Half the points are +1 (first and third quadrants), half -1; each coordinate is at
    least 0.1 away from the axes before the Gaussian noise (std ``noise``) is added.
    """
    _check_args(n_samples, noise, minimum=4)
    rng = as_random(seed)
    points = []
    for i in range(n_samples):
        label = 1.0 if i % 2 == 0 else -1.0
        sx = 1.0 if (i // 2) % 2 == 0 else -1.0
        sy = sx * label  # the sign of x0 * x1 is the label
        points.append((sx * rng.uniform(0.1, 1.0), sy * rng.uniform(0.1, 1.0), label))
    return _shuffled(points, rng, noise)


def make_gauss(n_samples: int = 100, noise: float = 0.1, seed: int | random.Random | None = None) -> Points:
    """Two round Gaussian clouds: +1 around (1, 1), -1 around (-1, -1) -> (X, y).

    Each coordinate has standard deviation 0.3 + ``noise``, so more noise mixes the
    clouds (TensorFlow Playground's "Gaussian" set).
    """
    _check_args(n_samples, noise)
    rng = as_random(seed)
    spread = 0.3 + noise
    points = []
    for i in range(n_samples):
        label = 1.0 if i % 2 == 0 else -1.0
        points.append((label + rng.gauss(0.0, spread), label + rng.gauss(0.0, spread), label))
    rng.shuffle(points)
    return [[x, y] for x, y, _ in points], [label for _, _, label in points]


def _regression(
    n_samples: int, noise: float, seed: int | random.Random | None, target: Callable[[float, float], float]
) -> Points:
    """Points uniform in [-1, 1]^2; y = target read at the point moved by up to ``noise`` in
    each coordinate, clipped to [-1, 1]."""
    _check_args(n_samples, noise)
    rng = as_random(seed)
    X, y = [], []
    for _ in range(n_samples):
        x0, x1 = rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)
        moved = target(x0 + rng.uniform(-1.0, 1.0) * noise, x1 + rng.uniform(-1.0, 1.0) * noise)
        X.append([x0, x1])
        y.append(max(-1.0, min(1.0, moved)))
    return X, y


def make_plane(n_samples: int = 100, noise: float = 0.1, seed: int | random.Random | None = None) -> Points:
    """Regression on a tilted plane: y = (x0 + x1) / 2 over [-1, 1]^2 -> (X, y) with real y."""
    return _regression(n_samples, noise, seed, lambda a, b: (a + b) / 2.0)


# The mix's bumps: centre (x0, x1) and height; each a Gaussian of standard deviation BUMP_WIDTH.
BUMPS = ((-0.5, 0.5, 1.0), (0.5, 0.5, -1.0), (-0.5, -0.5, -1.0), (0.5, -0.5, 1.0), (0.0, 0.0, 0.8))
BUMP_WIDTH = 0.25


def _bumps(a: float, b: float) -> float:
    return sum(h * math.exp(-((a - cx) ** 2 + (b - cy) ** 2) / (2 * BUMP_WIDTH**2)) for cx, cy, h in BUMPS)


def make_gaussian_mix(n_samples: int = 100, noise: float = 0.1, seed: int | random.Random | None = None) -> Points:
    """Regression on Gaussian bumps up and down (`BUMPS`) over [-1, 1]^2 -> (X, y), y in [-1, 1]."""
    return _regression(n_samples, noise, seed, _bumps)
