"""The one source of randomness for both engines: a `random.Random`.

Weights, data sets, splits and minibatch orders on the scalar and the tensor engine
all draw from a `random.Random`, so the same seed gives the same numbers on both:

- an int: a new, independent ``random.Random(seed)``;
- a ``random.Random`` (or anything with ``random()`` and ``shuffle()``): used as it
  is, so consecutive calls continue its stream (a new batch order every epoch);
- None: the global `random` module, as in the tutorial (``random.seed(k)`` reproduces);
- a numpy ``Generator`` (accepted for old code): one number is drawn from it to seed a
  new ``random.Random``, so each call continues the Generator's stream.
"""

from __future__ import annotations

import random
import sys
from typing import Any, Protocol, Sequence, TypeVar, Union

T = TypeVar("T")


class RandomSource(Protocol):
    """What scratchgrad draws from: the `random` module itself or a `random.Random`."""

    def random(self) -> float: ...

    def uniform(self, a: float, b: float) -> float: ...

    def gauss(self, mu: float, sigma: float) -> float: ...

    def shuffle(self, x: list[Any]) -> None: ...


Seed = Union[int, random.Random, None, Any]  # Any: a numpy Generator, for old code


def _numpy_generator_type() -> type | None:
    numpy = sys.modules.get("numpy")  # no numpy loaded means no numpy Generator can be passed
    return None if numpy is None else numpy.random.Generator


def as_random(seed: Any = None, what: str = "seed") -> Any:
    """The generator to draw from for ``seed`` (see the module docstring); a TypeError
    naming ``what`` for anything else."""
    if seed is None:
        return random
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, bool):
        raise TypeError(f"{what} must be an int, a random.Random or None, got bool: {seed!r}")
    if isinstance(seed, int):
        return random.Random(seed)
    generator_type: Any = _numpy_generator_type()
    if generator_type is not None:
        import numpy as np

        if isinstance(seed, np.integer):
            return random.Random(int(seed))
        if isinstance(seed, generator_type):
            return random.Random(int(seed.integers(0, 2**63 - 1)))
    if callable(getattr(seed, "random", None)) and callable(getattr(seed, "shuffle", None)):
        return seed  # the `random` module itself, or a generator of the same kind
    raise TypeError(f"{what} must be an int, a random.Random or None, got {type(seed).__name__}: {seed!r}")


def check_source(rng: object, what: str = "rng") -> Any:
    """``rng`` if it can draw uniform numbers (``uniform(a, b)``), else a TypeError."""
    if not callable(getattr(rng, "uniform", None)):
        raise TypeError(f"{what} must have a uniform(a, b) method (e.g. random.Random), got {type(rng).__name__}")
    return rng


def source(seed: Seed = None, rng: object = None) -> Any:
    """The generator of a ``seed=`` / ``rng=`` pair of arguments (at most one of them given)."""
    if seed is not None and rng is not None:
        raise ValueError("give either seed= or rng=, not both")
    if rng is not None:
        return rng if isinstance(rng, random.Random) else check_source(rng)
    return as_random(seed)


def uniform_draws(rng: Any, count: int, low: float, high: float) -> list[float]:
    """``count`` numbers from U(low, high), bit-identical to ``[rng.uniform(low, high) ...]``.

    ``random.uniform(a, b)`` is ``a + (b - a) * random()``; calling ``random()`` directly
    gives the same numbers about twice as fast, which matters for wide tensor layers.
    """
    draw = getattr(rng, "random", None)
    if draw is None:  # a source that only has uniform()
        return [rng.uniform(low, high) for _ in range(count)]
    span = high - low
    return [low + span * draw() for _ in range(count)]


def permutation(rng: Any, n: int) -> list[int]:
    """0..n-1 in the order ``rng.shuffle`` puts them."""
    order = list(range(n))
    rng.shuffle(order)
    return order


def shuffled(rng: Any, items: Sequence[T]) -> list[T]:
    """A shuffled copy of ``items``."""
    out = list(items)
    rng.shuffle(out)
    return out
