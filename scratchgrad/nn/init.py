"""Weight initialisation for both engines: the same generator, the same order, the same numbers.

A dense layer of ``nout`` neurons with ``nin`` inputs is drawn neuron by neuron, each
neuron's ``nin`` weights and then its bias, from a `random.Random` (see
`scratchgrad._random`). That is the tutorial's order (its ``Neuron`` draws ``w`` then
``b``), so a scalar `MLP` and a tensor `MLP` built with the same seed, or after the
same ``random.seed(k)``, hold the same numbers.

``init`` names the distribution, with the same meaning on both engines:

- 'uniform': weights and biases ~ U(-bound, bound), with the layer's own default bound:
  1 for the tutorial's `Neuron`/`Layer`/`MLP`, 1/sqrt(nin) for `Linear` (PyTorch's range);
- 'kaiming': weights ~ U(-sqrt(6/nin), sqrt(6/nin)) (He et al.: variance 2/nin, for
  relu networks), biases 0 (not drawn).
"""

from __future__ import annotations

import math
from typing import Any

from scratchgrad._random import uniform_draws

INITS = ("uniform", "kaiming")


def check_init(init: object, what: str = "init") -> str:
    """``init`` if it is one of INITS, else a ValueError listing them."""
    if init not in INITS:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, INITS))}, got {init!r}")
    return str(init)


def dense(
    rng: Any, nin: int, nout: int, init: str, uniform_bound: float, bias: bool = True
) -> tuple[list[list[float]], list[float] | None]:
    """Rows of ``nin`` weights for ``nout`` neurons, and their biases (None without ``bias``).

    Drawn neuron by neuron: its weights, then its bias when one is drawn ('uniform').
    """
    check_init(init)
    if init == "kaiming":
        bound = math.sqrt(6.0 / nin)
        flat = uniform_draws(rng, nout * nin, -bound, bound)
        rows = [flat[j * nin : (j + 1) * nin] for j in range(nout)]
        return rows, ([0.0] * nout if bias else None)
    width = nin + 1 if bias else nin
    flat = uniform_draws(rng, nout * width, -uniform_bound, uniform_bound)
    rows = [flat[j * width : j * width + nin] for j in range(nout)]
    return rows, ([flat[j * width + nin] for j in range(nout)] if bias else None)


class Placeholder:
    """A generator that draws the middle of every range (0 for the symmetric ones).

    For models whose weights are about to be overwritten (loading a file, building from
    a description): no random numbers are consumed and nothing random is computed.
    """

    def random(self) -> float:
        return 0.5

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2.0


PLACEHOLDER = Placeholder()
