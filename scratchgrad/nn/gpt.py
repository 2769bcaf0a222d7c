"""A GPT on the tensor engine: microgpt's model, built from `scratchgrad.nn` modules.

    from scratchgrad.nn import GPT
    model = GPT(vocab_size=27, block_size=16, n_layer=1, n_embd=16, n_head=4, seed=0)
    logits = model(tokens)                 # (batch, T) token ids -> (batch, T, vocab) scores
    loss = model.loss(tokens, targets)     # cross-entropy, padded targets (-100) ignored
    model.sample(20, temperature=0.5)      # 20 new names (with chars= set, as strings)

The architecture is microgpt's (Karpathy, 2026), a GPT-2 with three simplifications:

    x = norm(wte[token] + wpe[position])
    for each block:
        x = x + attention(norm(x))         # multi-head causal self-attention, wq wk wv wo
        x = x + fc2(relu(fc1(norm(x))))    # an MLP 4x as wide as the model
    logits = lm_head(x)

RMSNorm without learned weights (``norm='layernorm'``: GPT-2's LayerNorm with a weight and a
bias), no biases in the linear layers, ReLU (``activation='gelu'``: GPT-2's). Every weight
matrix starts ~ N(0, 0.08²) (``init_std``), drawn from one `random.Random` in the order of
`parameters()`: wte, wpe, lm_head, then each block's wq, wk, wv, wo, fc1, fc2, the order in
which microgpt draws them. `scratchgrad.nn.scalar_gpt.ScalarGPT` is the same model on Values,
with the same weights for the same seed; ``to_scalar(model)`` / ``to_tensor(scalar_model)``
move the weights across.

A GPT works in float32 by default (``dtype=``: float64 for checks against the scalar model).
It is saved like any tensor model (``model.save('gpt.npz')``, ``Module.load``) and exported
with `scratchgrad.export.to_torch` / `to_onnx`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np

from scratchgrad import autograd
from scratchgrad._random import as_random
from scratchgrad.nn.files import register_model
from scratchgrad.nn.layers import Linear
from scratchgrad.nn.module import Module, float_dtype
from scratchgrad.tensor import Tensor
from scratchgrad.tensor_functions import causal_mask, cross_entropy, embedding, layer_norm, rms_norm

ACTIVATIONS = ("relu", "gelu")
NORMS = ("rmsnorm", "layernorm")
MAX_GPT_PARAMETERS = 50_000_000


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a GPT. ``chars``: the characters of the vocabulary in token order (the
    last token, ``vocab_size - 1``, is the start/end token), so samples can be shown as text."""

    vocab_size: int = 27
    block_size: int = 16
    n_layer: int = 1
    n_embd: int = 16
    n_head: int = 4
    activation: str = "relu"
    norm: str = "rmsnorm"
    init_std: float = 0.08
    chars: str = ""

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_embd", "n_head"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"GPT: {name} must be a positive int, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.n_embd % self.n_head:
            raise ValueError(f"GPT: n_embd={self.n_embd} must be a multiple of n_head={self.n_head} (each head gets n_embd / n_head)")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"GPT: activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got {self.activation!r}")
        if self.norm not in NORMS:
            raise ValueError(f"GPT: norm must be one of {', '.join(map(repr, NORMS))}, got {self.norm!r}")
        std = self.init_std
        if isinstance(std, bool) or not isinstance(std, numbers.Real) or not (math.isfinite(std) and std >= 0):
            raise ValueError(f"GPT: init_std must be a finite number >= 0, got {std!r}")
        object.__setattr__(self, "init_std", float(std))
        if not isinstance(self.chars, str) or (self.chars and len(self.chars) != self.vocab_size - 1):
            raise ValueError(
                f"GPT: chars must be a string of vocab_size - 1 = {self.vocab_size - 1} characters "
                f"(the last token is the start/end token), got {self.chars!r}"
            )
        count = self.num_parameters()
        if count > MAX_GPT_PARAMETERS:
            raise ValueError(f"GPT: this configuration has {count:,} parameters; at most {MAX_GPT_PARAMETERS:,}")

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    def num_parameters(self) -> int:
        return sum(math.prod(shape) for shape in parameter_shapes(self).values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GPTConfig:
        """A config from `to_dict`'s output, refusing unknown fields."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a GPT configuration is a dict, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown GPT configuration fields {unknown} (known: {', '.join(sorted(known))})")
        return cls(**data)


def parameter_shapes(config: GPTConfig) -> dict[str, tuple[int, ...]]:
    """Every parameter's name and shape, in `parameters()` order (the order weights are drawn in)."""
    c, v = config.n_embd, config.vocab_size
    shapes: dict[str, tuple[int, ...]] = {"wte.weight": (v, c), "wpe.weight": (config.block_size, c), "lm_head.weight": (v, c)}
    layer_norm_params = config.norm == "layernorm"
    if layer_norm_params:
        shapes.update({"norm_in.weight": (c,), "norm_in.bias": (c,)})
    for i in range(config.n_layer):
        block = f"blocks.{i}"
        if layer_norm_params:
            shapes.update({f"{block}.attn_norm.weight": (c,), f"{block}.attn_norm.bias": (c,)})
        for name in ("wq", "wk", "wv", "wo"):
            shapes[f"{block}.attn.{name}.weight"] = (c, c)
        if layer_norm_params:
            shapes.update({f"{block}.mlp_norm.weight": (c,), f"{block}.mlp_norm.bias": (c,)})
        shapes[f"{block}.mlp.fc1.weight"] = (4 * c, c)
        shapes[f"{block}.mlp.fc2.weight"] = (c, 4 * c)
    return shapes


def gaussian_weights(config: GPTConfig, seed: Any = None) -> dict[str, np.ndarray]:
    """The initial weights of a GPT (float64): matrices ~ N(0, init_std^2) drawn row by row
    from ``seed``'s `random.Random` in `parameter_shapes` order; norm weights 1, biases 0.
    The scalar and the tensor GPT both start from these numbers."""
    rng = as_random(seed, "GPT: seed")
    weights: dict[str, np.ndarray] = {}
    for name, shape in parameter_shapes(config).items():
        if len(shape) == 1:  # a LayerNorm's weight or bias: drawn from nothing
            weights[name] = np.ones(shape) if name.endswith("weight") else np.zeros(shape)
        else:
            gauss, std = rng.gauss, config.init_std
            weights[name] = np.array([gauss(0.0, std) for _ in range(math.prod(shape))], dtype=np.float64).reshape(shape)
    return weights


# ---- the modules -------------------------------------------------------------------------------------


def _parameter(array: np.ndarray, dtype: Any) -> Tensor:
    return Tensor(np.asarray(array, dtype=dtype), requires_grad=True)


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``dim``: ``embedding(ids)`` -> ids.shape + (dim,).
    The weight starts ~ N(0, std^2) (PyTorch's ``nn.Embedding`` uses std 1)."""

    engine = "tensor"

    def __init__(self, num_embeddings: int, dim: int, std: float = 1.0, seed: Any = None, dtype: Any = np.float64) -> None:
        rng = as_random(seed, "Embedding: seed")
        draws = [rng.gauss(0.0, std) for _ in range(num_embeddings * dim)]
        self.weight = _parameter(np.array(draws).reshape(num_embeddings, dim), float_dtype(dtype))

    @classmethod
    def from_weight(cls, weight: Any, dtype: Any = np.float64) -> Embedding:
        """An Embedding holding a copy of ``weight`` (num_embeddings, dim)."""
        module = cls.__new__(cls)
        array = np.array(weight, dtype=float_dtype(dtype))
        if array.ndim != 2:
            raise ValueError(f"Embedding.from_weight: weight must be (num_embeddings, dim), got shape {array.shape}")
        module.weight = _parameter(array, array.dtype)
        return module

    def forward(self, ids: Any) -> Tensor:
        return embedding(self.weight, ids)

    def __repr__(self) -> str:
        return f"Embedding({self.weight.shape[0]}, {self.weight.shape[1]})"


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) over the last axis (times a learned weight with
    ``elementwise_affine=True``, as ``torch.nn.RMSNorm``; microgpt's has none)."""

    engine = "tensor"

    def __init__(self, dim: int, eps: float = 1e-5, elementwise_affine: bool = False, dtype: Any = np.float64) -> None:
        self.dim, self.eps = dim, eps
        self.weight = _parameter(np.ones(dim), float_dtype(dtype)) if elementwise_affine else None

    def forward(self, x: Tensor) -> Tensor:
        return rms_norm(x, self.weight, self.eps)

    def __repr__(self) -> str:
        return f"RMSNorm({self.dim}, eps={self.eps}, elementwise_affine={self.weight is not None})"


class LayerNorm(Module):
    """(x - mean) / sqrt(var + eps) over the last axis, times a weight plus a bias (both
    learned, starting at 1 and 0), as ``torch.nn.LayerNorm``."""

    engine = "tensor"

    def __init__(self, dim: int, eps: float = 1e-5, elementwise_affine: bool = True, dtype: Any = np.float64) -> None:
        self.dim, self.eps = dim, eps
        target = float_dtype(dtype)
        self.weight = _parameter(np.ones(dim), target) if elementwise_affine else None
        self.bias = _parameter(np.zeros(dim), target) if elementwise_affine else None

    def forward(self, x: Tensor) -> Tensor:
        return layer_norm(x, self.weight, self.bias, self.eps)

    def __repr__(self) -> str:
        return f"LayerNorm({self.dim}, eps={self.eps}, elementwise_affine={self.weight is not None})"


def _norm(config: GPTConfig, dtype: Any) -> Module:
    return RMSNorm(config.n_embd, dtype=dtype) if config.norm == "rmsnorm" else LayerNorm(config.n_embd, dtype=dtype)


def _linear(in_features: int, out_features: int, dtype: Any) -> Linear:
    return Linear.from_arrays(np.zeros((out_features, in_features)), None, dtype=dtype)


class CausalSelfAttention(Module):
    """Multi-head causal self-attention: each of ``n_head`` heads compares the queries of a
    position with the keys of it and every earlier position (softmax(q k^T / sqrt(d)),
    later positions masked to -inf) and mixes their values; ``wo`` joins the heads."""

    engine = "tensor"

    def __init__(self, n_embd: int, n_head: int, dtype: Any = np.float64) -> None:
        self.n_head = n_head
        self.wq, self.wk, self.wv, self.wo = (_linear(n_embd, n_embd, dtype) for _ in range(4))

    def forward(self, x: Tensor) -> Tensor:
        batch, steps, width = x.shape
        heads, size = self.n_head, width // self.n_head

        def split(t: Tensor) -> Tensor:  # (B, T, C) -> (B, heads, T, head size)
            return t.reshape(batch, steps, heads, size).transpose(0, 2, 1, 3)

        q, k, v = split(self.wq(x)), split(self.wk(x)), split(self.wv(x))
        scores = (q @ k.transpose(0, 1, 3, 2)) * (1.0 / math.sqrt(size))
        weights = scores.masked_fill(causal_mask(steps), -math.inf).softmax(-1)
        mixed = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, steps, width)
        return self.wo(mixed)

    def __repr__(self) -> str:
        return f"CausalSelfAttention({self.wq.in_features}, heads={self.n_head})"


class FeedForward(Module):
    """fc2(activation(fc1(x))): out to 4x the width and back."""

    engine = "tensor"

    def __init__(self, n_embd: int, activation: str = "relu", dtype: Any = np.float64) -> None:
        self.activation = activation
        self.fc1 = _linear(n_embd, 4 * n_embd, dtype)
        self.fc2 = _linear(4 * n_embd, n_embd, dtype)

    def forward(self, x: Tensor) -> Tensor:
        hidden = self.fc1(x)
        return self.fc2(hidden.relu() if self.activation == "relu" else hidden.gelu())

    def __repr__(self) -> str:
        return f"FeedForward({self.fc1.in_features}, {self.activation})"


class Block(Module):
    """One transformer block: x + attention(norm(x)), then x + feed_forward(norm(x))."""

    engine = "tensor"

    def __init__(self, config: GPTConfig, dtype: Any = np.float64) -> None:
        self.attn_norm = _norm(config, dtype)
        self.attn = CausalSelfAttention(config.n_embd, config.n_head, dtype)
        self.mlp_norm = _norm(config, dtype)
        self.mlp = FeedForward(config.n_embd, config.activation, dtype)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.attn_norm(x))
        return x + self.mlp(self.mlp_norm(x))


class GPTModule(Module):
    """What the tensor `GPT` and the scalar `ScalarGPT` share: the configuration (built from
    the constructor's arguments), sampling names as text, and the architecture files record."""

    def _configure(self, config: GPTConfig | None, settings: Mapping[str, Any]) -> GPTConfig:
        self._config = config if config is not None else GPTConfig(**settings)
        return self._config

    @property
    def config(self) -> GPTConfig:
        return self._config

    def generate(self, count: int = 1, temperature: float = 1.0, seed: Any = None) -> list[list[int]]:  # pragma: no cover
        raise NotImplementedError

    def sample(self, count: int = 20, temperature: float = 1.0, seed: Any = None) -> list[str]:
        """``count`` new names (documents) as text, decoded with the config's ``chars``."""
        chars = self.config.chars
        if not chars:
            raise ValueError("sample: this GPT has no chars to decode tokens with; use generate() for token ids")
        return ["".join(chars[i] for i in ids) for ids in self.generate(count, temperature, seed)]

    def architecture(self) -> dict[str, Any]:
        return self.config.to_dict()


def check_sampling(count: object, temperature: object) -> None:
    """The arguments of ``generate``, or a ValueError naming the bad one."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"generate: count must be a positive int, got {count!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) or not (math.isfinite(temperature) and float(temperature) > 0):
        raise ValueError(f"generate: temperature must be a finite number > 0, got {temperature!r}")


class GPT(GPTModule):
    """A GPT of Tensors: ``GPT(vocab_size=27, block_size=16, n_layer=1, n_embd=16, n_head=4, *,
    activation='relu', norm='rmsnorm', init_std=0.08, chars='', seed=None, dtype=float32)``
    (or ``GPT(config=GPTConfig(...))``). See the module docstring."""

    engine = "tensor"

    def __init__(
        self,
        vocab_size: int = 27,
        block_size: int = 16,
        n_layer: int = 1,
        n_embd: int = 16,
        n_head: int = 4,
        *,
        activation: str = "relu",
        norm: str = "rmsnorm",
        init_std: float = 0.08,
        chars: str = "",
        seed: Any = None,
        dtype: Any = np.float32,
        config: GPTConfig | None = None,
        _weights: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        config = self._configure(config, dict(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_embd=n_embd,
                                              n_head=n_head, activation=activation, norm=norm, init_std=init_std, chars=chars))  # fmt: skip
        target = float_dtype(dtype)
        self.wte = Embedding.from_weight(np.zeros((config.vocab_size, config.n_embd)), target)
        self.wpe = Embedding.from_weight(np.zeros((config.block_size, config.n_embd)), target)
        self.lm_head = _linear(config.n_embd, config.vocab_size, target)
        self.norm_in = _norm(config, target)
        self.blocks = [Block(config, target) for _ in range(config.n_layer)]
        weights = gaussian_weights(config, seed) if _weights is None else _weights
        self.load_state_dict(weights)

    @property
    def dtype(self) -> np.dtype:
        return self.wte.weight.data.dtype

    def _token_ids(self, tokens: Any) -> np.ndarray:
        ids = tokens.data if isinstance(tokens, Tensor) else np.asarray(tokens)
        if ids.dtype.kind == "f" and ids.size and np.all(ids == np.round(ids)):
            ids = ids.astype(np.int64)  # whole numbers held as floats (a batch from fit)
        if ids.dtype.kind not in "iu":
            raise TypeError(f"GPT: tokens must be integer ids, got dtype {ids.dtype}")
        if ids.ndim not in (1, 2) or ids.shape[-1] == 0:
            raise ValueError(f"GPT: tokens must be (T,) or (batch, T) with T >= 1, got shape {ids.shape}")
        if ids.shape[-1] > self.config.block_size:
            raise ValueError(f"GPT: {ids.shape[-1]} positions exceed block_size={self.config.block_size}")
        return ids

    def forward(self, tokens: Any) -> Tensor:
        """Logits for the next token at every position: (batch, T) ids -> (batch, T, vocab_size)
        ((T,) -> (T, vocab_size)). Position t sees the tokens 0..t only."""
        ids = self._token_ids(tokens)
        single = ids.ndim == 1
        if single:
            ids = ids[None, :]
        steps = ids.shape[1]
        x = self.wte(ids) + self.wpe.weight[:steps]
        x = self.norm_in(x)
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(x)
        return logits.reshape(logits.shape[1:]) if single else logits

    def loss(self, tokens: Any, targets: Any) -> Tensor:
        """The mean cross-entropy of the next-token predictions (nats per token); positions
        whose target is -100 (padding) do not count."""
        return cross_entropy(self(tokens), np.asarray(targets))

    # ---- sampling ---------------------------------------------------------------------------------

    def generate(self, count: int = 1, temperature: float = 1.0, seed: Any = None, max_length: int | None = None) -> list[list[int]]:
        """``count`` sequences of token ids, each started from the start/end token (the last id)
        and continued one token at a time, drawn from softmax(logits / temperature), until the
        start/end token comes again or ``max_length`` tokens (default block_size). Lower
        temperatures pick likelier tokens. Reproducible for an int ``seed``."""
        check_sampling(count, temperature)
        limit = self.config.block_size if max_length is None else max_length
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= self.config.block_size:
            raise ValueError(f"generate: max_length must be an int from 1 to block_size={self.config.block_size}, got {max_length!r}")
        rng = as_random(seed, "generate: seed")
        end = self.config.vocab_size - 1
        tokens = np.full((count, 1), end, dtype=np.int64)
        done = np.zeros(count, dtype=bool)
        with autograd.no_grad():
            for _ in range(limit):
                logits = self(tokens).data[:, -1, :].astype(np.float64) / float(temperature)
                probs = np.exp(logits - logits.max(axis=1, keepdims=True))
                cumulative = np.cumsum(probs, axis=1)
                draws = np.array([rng.random() for _ in range(count)]) * cumulative[:, -1]
                picked = np.minimum((cumulative < draws[:, None]).sum(axis=1), end)
                picked[done] = end
                tokens = np.concatenate([tokens, picked[:, None]], axis=1)
                done |= picked == end
                if done.all() or tokens.shape[1] > self.config.block_size:
                    break
        out = []
        for row in tokens[:, 1:].tolist():
            out.append(row[: row.index(end)] if end in row else row)
        return out

    # ---- files and engines ---------------------------------------------------------------------------

    @classmethod
    def parameter_shapes(cls, architecture: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        return parameter_shapes(GPTConfig.from_dict(architecture))

    @classmethod
    def from_architecture(cls, architecture: Mapping[str, Any], dtype: Any = None) -> GPT:
        """A GPT of this configuration with zero weights (nothing drawn): to load weights into."""
        config = GPTConfig.from_dict(architecture)
        zeros = {name: np.zeros(shape) for name, shape in parameter_shapes(config).items()}
        return cls(config=config, dtype=np.float64 if dtype is None else dtype, _weights=zeros)

    def _to_engine(self, engine: str, dtype: Any = None) -> Module:
        """This GPT on ``engine`` with the same weights (see `scratchgrad.nn.to_scalar`)."""
        weights = {name: array.astype(np.float64) for name, array in self.state_dict().items()}
        if engine == "tensor":
            return GPT(config=self.config, dtype=self.dtype if dtype is None else dtype, _weights=weights)
        from scratchgrad.nn.scalar_gpt import ScalarGPT

        return ScalarGPT(config=self.config, _weights=weights)

    def __repr__(self) -> str:
        c = self.config
        return (
            f"GPT(vocab_size={c.vocab_size}, block_size={c.block_size}, n_layer={c.n_layer}, n_embd={c.n_embd}, "
            f"n_head={c.n_head}, activation={c.activation!r}, norm={c.norm!r}, dtype={str(self.dtype)!r}; "
            f"{self.num_parameters():,} parameters)"
        )


register_model(GPT)

__all__ = [
    "Block",
    "CausalSelfAttention",
    "Embedding",
    "FeedForward",
    "GPT",
    "GPTConfig",
    "GPTModule",
    "LayerNorm",
    "RMSNorm",
    "check_sampling",
    "gaussian_weights",
    "parameter_shapes",
]
