"""What a playground session trains: the settings of the page, checked and bounded.

A `PlaygroundConfig` is built from the JSON the page sends (`from_json`), merged over
the defaults or over a session's current settings. The choices of data set, loss,
optimizer and activation are the library's registries (`scratchgrad.data.DATASETS`,
`scratchgrad.nn.LOSSES`, `scratchgrad.optim.OPTIMIZERS`, `scratchgrad.nn.ACTIVATIONS`),
read when a setting is checked, so an entry added to one is offered at once. Anything out of range or of the
wrong type raises `ConfigError` with a message that names the field, what it got and
what is allowed; the server turns that into HTTP 400/422 and the page shows it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from scratchgrad.nn import ACTIVATIONS, LOSSES
from scratchgrad.optim import OPTIMIZERS
from scratchgrad.playground import data, model

PROBLEMS = tuple(data.PROBLEMS)
FEATURES = tuple(data.FEATURES)
REGULARIZATIONS = model.REGULARIZATIONS
ENGINES = model.ENGINES
# The loss a problem starts with: cross-entropy for classification, so a correctly
# classified point still has gradients to watch.
DEFAULT_LOSS = {"classification": "bce", "regression": "mse"}

MAX_HIDDEN_LAYERS = 8
MAX_NEURONS = 16
MIN_POINTS = 10
MAX_POINTS = 2000
MAX_NOISE = 1.0
MAX_LEARNING_RATE = 10.0
MAX_REGULARIZATION_RATE = 10.0
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
    """The problem, data, features, network and how to train it; every field is bounded.

    ``activations`` names each hidden layer's activation (as many as ``hidden`` has
    layers; a single name, or the same name repeated, applies to every layer); the output
    neuron's follows from the problem and the loss.
    """

    problem: str = "classification"
    dataset: str = "moons"
    noise: float = 0.1
    n_points: int = 200
    test_fraction: float = 0.5
    batch_size: int = 10
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (8, 8)
    activations: tuple[str, ...] = ("tanh", "tanh")
    loss: str = "bce"
    regularization: str = "none"
    regularization_rate: float = 0.0
    optimizer: str = "sgd"
    learning_rate: float = 0.1
    engine: str = "tensor"
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.activations) != len(self.hidden) and len(set(self.activations)) == 1:
            # One activation for every layer, e.g. the default with other hidden sizes.
            object.__setattr__(self, "activations", self.activations[:1] * len(self.hidden))
        _check_choice("problem", self.problem, PROBLEMS)
        _check_choice("dataset", self.dataset, data.all_datasets())
        _check_choice("loss", self.loss, tuple(LOSSES))
        _check_choice("regularization", self.regularization, REGULARIZATIONS)
        _check_choice("optimizer", self.optimizer, tuple(OPTIMIZERS))
        _check_choice("engine", self.engine, ENGINES)
        kind = data.problem_of(self.dataset)
        if kind is not None and kind != self.problem:
            raise ConfigError(
                f"dataset {self.dataset!r} is a {kind} set; for {self.problem} use one of "
                f"{', '.join(data.datasets(self.problem))} or csv"
            )
        usable = model.losses_for(self.problem)
        if self.loss not in usable:
            raise ConfigError(
                f"loss {self.loss!r} does not train one output on {self.problem} targets; use one of {', '.join(usable)}"
            )
        _check_range("noise", self.noise, 0.0, MAX_NOISE)
        _check_range("n_points", self.n_points, MIN_POINTS, MAX_POINTS)
        _check_range("test_fraction", self.test_fraction, MIN_TEST_FRACTION, MAX_TEST_FRACTION)
        _check_range("batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        _check_range("seed", self.seed, 0, MAX_SEED)
        _check_range("regularization_rate", self.regularization_rate, 0.0, MAX_REGULARIZATION_RATE)
        if not (0.0 < self.learning_rate <= MAX_LEARNING_RATE):
            raise ConfigError(
                f"learning_rate must be in (0, {MAX_LEARNING_RATE:g}], got {self.learning_rate!r}"
            )
        if not self.features:
            raise ConfigError("features: choose at least one input feature")
        for name in self.features:
            _check_choice("features", name, FEATURES)
        if len(set(self.features)) != len(self.features):
            raise ConfigError(f"features: each feature at most once, got {list(self.features)}")
        if len(self.hidden) > MAX_HIDDEN_LAYERS:
            raise ConfigError(
                f"hidden: at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(self.hidden)}"
            )
        for index, width in enumerate(self.hidden):
            if not 1 <= width <= MAX_NEURONS:
                raise ConfigError(
                    f"hidden[{index}]: a layer has 1 to {MAX_NEURONS} neurons, got {width}"
                )
        if len(self.activations) != len(self.hidden):
            raise ConfigError(
                f"activations: one per hidden layer ({len(self.hidden)}), got {len(self.activations)}"
            )
        for index, name in enumerate(self.activations):
            _check_choice(f"activations[{index}]", name, tuple(ACTIVATIONS))
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
        """Layer widths from input to output: (number of features, *hidden, 1)."""
        return (len(self.features), *self.hidden, 1)

    @property
    def output_activation(self) -> str:
        """The output neuron's activation: the one LOSSES says suits the loss and the problem."""
        return model.output_activation(self.problem, self.loss)

    @property
    def layer_activations(self) -> tuple[str, ...]:
        """Every layer's activation, hidden layers then the output."""
        return (*self.activations, self.output_activation)

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
        """The settings as JSON-ready values (tuples as lists)."""
        out = dataclasses.asdict(self)
        for name in ("features", "hidden", "activations"):
            out[name] = list(out[name])
        return out

    @classmethod
    def from_json(cls, data: object, base: PlaygroundConfig | None = None) -> PlaygroundConfig:
        """Settings from a JSON object, each given field replacing ``base``'s (default: the defaults).

        ``"activation": "relu"`` sets every hidden layer's activation. When ``hidden``
        changes length without ``activations``, layers keep theirs and new layers take the
        last one's. Raises ConfigError naming the field for unknown fields, wrong types and
        values out of range.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"settings must be a JSON object, got {_json_type(data)}", status=400
            )
        base = base or cls()
        known = set(_FIELD_TYPES) | {"activation"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}",
                status=400,
            )
        changes = {name: _coerce(name, value) for name, value in data.items() if name != "activation"}
        hidden = changes.get("hidden", base.hidden)
        if "activations" in changes and len(changes["activations"]) != len(hidden):
            raise ConfigError(
                f"activations: one per hidden layer ({len(hidden)}), got {len(changes['activations'])}"
            )
        if "activation" in data:
            if "activations" in data:
                raise ConfigError("give either activation (all layers) or activations (one per layer), not both", status=400)
            everywhere = _coerce("activation", data["activation"])
            changes["activations"] = tuple(everywhere for _ in hidden)
        elif "activations" not in changes and len(hidden) != len(base.activations):
            kept = base.activations[: len(hidden)]
            filler = base.activations[-1] if base.activations else "tanh"
            changes["activations"] = kept + tuple(filler for _ in range(len(hidden) - len(kept)))
        return dataclasses.replace(base, **changes)


_FIELD_TYPES = {field.name: field.type for field in dataclasses.fields(PlaygroundConfig)}
_FIELD_TYPES["activation"] = "str"


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
            try:
                number = float(value)
            except OverflowError:  # an integer beyond float64, e.g. 10**400
                number = math.inf
            if not math.isfinite(number):
                raise ConfigError(f"{name} must be a finite number, got {value!r:.40}", status=400)
            return number
        raise ConfigError(f"{name} must be a number, got {_json_type(value)}", status=400)
    if not isinstance(value, list):
        example = "[8, 8]" if name == "hidden" else '["x1", "x2"]' if name == "features" else '["tanh", "relu"]'
        raise ConfigError(f"{name} must be a list like {example}, got {_json_type(value)}", status=400)
    items = []
    for index, item in enumerate(value):
        if name == "hidden":
            if isinstance(item, bool) or not isinstance(item, int):
                raise ConfigError(
                    f"{name}[{index}] must be an integer number of neurons, got {_json_type(item)} {item!r}",
                    status=400,
                )
        elif not isinstance(item, str):
            raise ConfigError(f"{name}[{index}] must be a string, got {_json_type(item)}", status=400)
        items.append(item)
    return tuple(items)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {_shown(value)}")


def _shown(value: object) -> str:
    """repr of a value for a message, cut short: a request may send megabytes."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {_shown(value)}")


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
    """Choices (with the names and summaries the page shows), bounds and defaults, for the
    page's controls; the choices come from the library's registries as they are now."""
    return {
        "choices": {
            "problem": list(PROBLEMS),
            "dataset": list(data.all_datasets()),
            "datasets": {problem: list(data.datasets(problem)) for problem in PROBLEMS},
            "features": list(FEATURES),
            "activation": list(ACTIVATIONS),
            "loss": [name for name in LOSSES if any(name in model.losses_for(p) for p in PROBLEMS)],
            "losses": {problem: model.losses_for(problem) for problem in PROBLEMS},
            "default_loss": dict(DEFAULT_LOSS),
            "regularization": list(REGULARIZATIONS),
            "optimizer": list(OPTIMIZERS),
            "engine": list(ENGINES),
            "model_formats": [f for f in model.MODEL_FORMATS if f != "onnx" or model.onnx_available()],
        },
        "labels": {
            "dataset": {name: data.summary(name) for name in data.all_datasets()},
            "features": {name: label for name, (label, _) in data.FEATURES.items()},
            "loss": {name: loss.summary for name, loss in LOSSES.items()},
            "optimizer": {name: spec.summary for name, spec in OPTIMIZERS.items()},
            "engine": dict(model.ENGINE_LABELS),
        },
        "formulas": {"activation": {name: activation.formula for name, activation in ACTIVATIONS.items()}},
        "bounds": {
            "hidden_layers": [0, MAX_HIDDEN_LAYERS],
            "neurons": [1, MAX_NEURONS],
            "n_points": [MIN_POINTS, MAX_POINTS],
            "noise": [0.0, MAX_NOISE],
            "test_fraction": [MIN_TEST_FRACTION, MAX_TEST_FRACTION],
            "learning_rate": [0.0, MAX_LEARNING_RATE],
            "regularization_rate": [0.0, MAX_REGULARIZATION_RATE],
            "batch_size": [1, MAX_BATCH_SIZE],
            "seed": [0, MAX_SEED],
            "scalar_work": MAX_SCALAR_WORK,
        },
        "defaults": PlaygroundConfig().to_json(),
    }
