"""What a playground session trains: the settings of the page, checked and bounded.

A `PlaygroundConfig` is built from the JSON the page sends (`from_json`), merged over
the defaults or over a session's current settings. Anything out of range or of the
wrong type raises `ConfigError` with a message that names the field, what it got and
what is allowed; the server turns that into HTTP 400/422 and the page shows it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

DATASETS = ("moons", "circles", "spirals", "xor")
ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
LOSSES = ("hinge", "mse", "bce")
OPTIMIZERS = ("sgd", "momentum", "adam")
ENGINES = ("tensor", "scalar")

MAX_HIDDEN_LAYERS = 8
MAX_NEURONS = 64
MIN_POINTS = 10
MAX_POINTS = 2000
MAX_NOISE = 1.0
MAX_LEARNING_RATE = 10.0
MAX_BATCH_SIZE = MAX_POINTS
MIN_TEST_FRACTION = 0.1
MAX_TEST_FRACTION = 0.9
MAX_SEED = 2**31 - 1
# The scalar engine builds one Value node per weight per sample: parameters x training
# points bounds the nodes of one epoch (~0.5 s of pure Python at the limit).
MAX_SCALAR_WORK = 200_000


class ConfigError(ValueError):
    """A setting is missing, of the wrong type or out of range; the message says which.

    ``status`` is the HTTP status the API answers with: 400 for a malformed request
    (wrong type, unknown field), 422 for a well-formed value outside the allowed range.
    """

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PlaygroundConfig:
    """The data set, the network and how to train it; every field is bounded."""

    dataset: str = "moons"
    noise: float = 0.1
    n_points: int = 200
    test_fraction: float = 0.5
    hidden: tuple[int, ...] = (8, 8)
    activation: str = "tanh"
    loss: str = "hinge"
    optimizer: str = "sgd"
    learning_rate: float = 0.1
    batch_size: int = 10
    engine: str = "tensor"
    seed: int = 0

    def __post_init__(self) -> None:
        _check_choice("dataset", self.dataset, DATASETS)
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("engine", self.engine, ENGINES)
        _check_range("noise", self.noise, 0.0, MAX_NOISE)
        _check_range("n_points", self.n_points, MIN_POINTS, MAX_POINTS)
        _check_range("test_fraction", self.test_fraction, MIN_TEST_FRACTION, MAX_TEST_FRACTION)
        _check_range("batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        _check_range("seed", self.seed, 0, MAX_SEED)
        if not (0.0 < self.learning_rate <= MAX_LEARNING_RATE):
            raise ConfigError(
                f"learning_rate must be in (0, {MAX_LEARNING_RATE:g}], got {self.learning_rate!r}"
            )
        if len(self.hidden) > MAX_HIDDEN_LAYERS:
            raise ConfigError(
                f"hidden: at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(self.hidden)}"
            )
        for index, width in enumerate(self.hidden):
            if not 1 <= width <= MAX_NEURONS:
                raise ConfigError(
                    f"hidden[{index}]: a layer has 1 to {MAX_NEURONS} neurons, got {width}"
                )
        if self.engine == "scalar":
            work = self.n_parameters * self.n_train
            if work > MAX_SCALAR_WORK:
                raise ConfigError(
                    f"engine 'scalar' is for small problems: parameters x training points = "
                    f"{self.n_parameters} x {self.n_train} = {work:,} exceeds {MAX_SCALAR_WORK:,}; "
                    "use engine 'tensor', or fewer points or neurons"
                )

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer widths from input to output: (2, *hidden, 1)."""
        return (2, *self.hidden, 1)

    @property
    def n_parameters(self) -> int:
        """Weights and biases of the network."""
        sizes = self.sizes
        return sum((nin + 1) * nout for nin, nout in zip(sizes[:-1], sizes[1:]))

    @property
    def n_test(self) -> int:
        """Points held out for the test loss (at least one; at least one left to train on)."""
        return min(self.n_points - 1, max(1, round(self.n_points * self.test_fraction)))

    @property
    def n_train(self) -> int:
        """Points the network trains on."""
        return self.n_points - self.n_test

    def to_json(self) -> dict[str, Any]:
        """The settings as JSON-ready values (``hidden`` as a list)."""
        out = dataclasses.asdict(self)
        out["hidden"] = list(self.hidden)
        return out

    @classmethod
    def from_json(cls, data: object, base: PlaygroundConfig | None = None) -> PlaygroundConfig:
        """Settings from a JSON object, each given field replacing ``base``'s (default: the defaults).

        Raises ConfigError naming the field for unknown fields, wrong types and values
        out of range.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"settings must be a JSON object, got {_json_type(data)}", status=400
            )
        base = base or cls()
        unknown = sorted(set(data) - set(_FIELD_TYPES))
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {', '.join(map(repr, unknown))}; known: {', '.join(_FIELD_TYPES)}",
                status=400,
            )
        changes = {name: _coerce(name, value) for name, value in data.items()}
        return dataclasses.replace(base, **changes)


_FIELD_TYPES = {field.name: field.type for field in dataclasses.fields(PlaygroundConfig)}


def _coerce(name: str, value: object) -> Any:
    """A JSON value as the field's type, or a ConfigError (400) saying what was expected."""
    kind = _FIELD_TYPES[name]
    if kind == "str":
        if isinstance(value, str):
            return value
        raise ConfigError(f"{name} must be a string, got {_json_type(value)}", status=400)
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{name} must be an integer, got {_json_type(value)} {value!r}", status=400)
    if kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ConfigError(f"{name} must be a finite number, got {value!r}", status=400)
            return float(value)
        raise ConfigError(f"{name} must be a number, got {_json_type(value)}", status=400)
    # hidden: a list of layer widths
    if not isinstance(value, list):
        raise ConfigError(
            f"{name} must be a list of layer widths like [8, 8], got {_json_type(value)}", status=400
        )
    widths = []
    for index, width in enumerate(value):
        if isinstance(width, bool) or not isinstance(width, int):
            raise ConfigError(
                f"{name}[{index}] must be an integer number of neurons, got {_json_type(width)} {width!r}",
                status=400,
            )
        widths.append(width)
    return tuple(widths)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value!r}")


def _json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def limits() -> dict[str, Any]:
    """Choices, bounds and defaults, for the page to build its controls from."""
    return {
        "choices": {
            "dataset": list(DATASETS),
            "activation": list(ACTIVATIONS),
            "loss": list(LOSSES),
            "optimizer": list(OPTIMIZERS),
            "engine": list(ENGINES),
        },
        "bounds": {
            "hidden_layers": [0, MAX_HIDDEN_LAYERS],
            "neurons": [1, MAX_NEURONS],
            "n_points": [MIN_POINTS, MAX_POINTS],
            "noise": [0.0, MAX_NOISE],
            "test_fraction": [MIN_TEST_FRACTION, MAX_TEST_FRACTION],
            "learning_rate": [0.0, MAX_LEARNING_RATE],
            "batch_size": [1, MAX_BATCH_SIZE],
            "seed": [0, MAX_SEED],
            "scalar_work": MAX_SCALAR_WORK,
        },
        "defaults": PlaygroundConfig().to_json(),
    }
