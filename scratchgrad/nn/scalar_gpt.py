"""The GPT on Values: microgpt's model with every number a `Value` you can look at.

    from scratchgrad.nn.scalar_gpt import ScalarGPT
    model = ScalarGPT(vocab_size=27, block_size=16, n_layer=1, n_embd=16, n_head=4, seed=0)
    loss = model.loss([26, 4, 12, 12, 0], [4, 12, 12, 0, 26])   # [BOS] e m m a -> e m m a [BOS]
    loss.backward()                                              # every weight's .grad

The same architecture, weights and numbers as the tensor `scratchgrad.nn.gpt.GPT`: for the
same weights and the same document the loss and every gradient agree to float64 rounding
(``to_tensor(model)`` / ``to_scalar(gpt)`` move the weights across). Like microgpt it reads
a document one position at a time, keeping each layer's keys and values (a KV cache), and
it is built from the library's fused scalar nodes (`scratchgrad.fused`): a linear layer is
one weighted-sum node per output, softmax, RMSNorm and the cross-entropy are one node each
(plus one product per entry), so a training step makes a few thousand nodes instead of
microgpt's tens of thousands.

Every weight matrix is a list of rows of Values: ``model.wte.weight[token][i]``,
``model.blocks[0].attn.wq.weight[row][column]``; their names and shapes are the tensor
GPT's (``blocks.0.attn.wq.weight`` is a 16 x 16 matrix), entry by entry
(``blocks.0.attn.wq.weight.3.5``). ``attention_scores`` returns the scores of one head, to
draw one with ``draw_dot`` and step through its backward pass.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from scratchgrad import autograd
from scratchgrad._random import as_random
from scratchgrad.engine import Value, sum_values
from scratchgrad.fused import WeightRows, cross_entropy_values, linear_values, rms_norm_values, softmax_values
from scratchgrad.nn.files import register_model
from scratchgrad.nn.gpt import GPTConfig, GPTModule, check_sampling, gaussian_weights, parameter_shapes
from scratchgrad.nn.module import Module

MAX_SCALAR_GPT_PARAMETERS = 1_000_000  # one Python object per weight

Vector = list[Value]
Matrix = list[list[Value]]


def _matrix(rows: int, columns: int) -> Matrix:
    return [[Value(0.0) for _ in range(columns)] for _ in range(rows)]


class _Weights(Module):
    """A weight matrix (and, for a LayerNorm, a weight and a bias vector) as Values."""

    engine = "scalar"

    def __init__(self, weight: Any, bias: Any = None) -> None:
        self.weight = weight
        if bias is not None:
            self.bias = bias


class _Norm(Module):
    """RMSNorm without weights (microgpt's) or LayerNorm with a weight and a bias, on a list of Values."""

    engine = "scalar"

    def __init__(self, kind: str, dim: int, eps: float = 1e-5) -> None:
        self.kind, self.eps = kind, eps
        if kind == "layernorm":
            self.weight = [Value(1.0) for _ in range(dim)]
            self.bias = [Value(0.0) for _ in range(dim)]

    def forward(self, x: Vector) -> Vector:
        if self.kind == "rmsnorm":
            return rms_norm_values(x, self.eps)
        n = len(x)
        mean = sum_values(x) * (1.0 / n)
        centred = [v - mean for v in x]
        rstd = (sum_values([c * c for c in centred]) * (1.0 / n) + self.eps) ** -0.5
        return [c * rstd * w + b for c, w, b in zip(centred, self.weight, self.bias)]


class _Attention(Module):
    engine = "scalar"

    def __init__(self, n_embd: int) -> None:
        self.wq, self.wk, self.wv, self.wo = (_Weights(_matrix(n_embd, n_embd)) for _ in range(4))


class _FeedForward(Module):
    engine = "scalar"

    def __init__(self, n_embd: int) -> None:
        self.fc1 = _Weights(_matrix(4 * n_embd, n_embd))
        self.fc2 = _Weights(_matrix(n_embd, 4 * n_embd))


class _Block(Module):
    engine = "scalar"

    def __init__(self, config: GPTConfig) -> None:
        self.attn_norm = _Norm(config.norm, config.n_embd)
        self.attn = _Attention(config.n_embd)
        self.mlp_norm = _Norm(config.norm, config.n_embd)
        self.mlp = _FeedForward(config.n_embd)


_GELU_C = math.sqrt(2.0 / math.pi)


def _gelu(x: Value) -> Value:
    """x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): GPT-2's GELU, as the tensor GPT's."""
    return 0.5 * x * (1.0 + (_GELU_C * (x + 0.044715 * x * x * x)).tanh())


class ScalarGPT(GPTModule):
    """The GPT on Values: ``ScalarGPT(vocab_size=27, block_size=16, n_layer=1, n_embd=16,
    n_head=4, *, activation='relu', norm='rmsnorm', init_std=0.08, chars='', seed=None)``, the
    arguments of `scratchgrad.nn.gpt.GPT` (without dtype: Values are float64). See the
    module docstring."""

    engine = "scalar"

    def __init__(
        self,
        *args: Any,
        seed: Any = None,
        config: GPTConfig | None = None,
        _weights: Mapping[str, np.ndarray] | None = None,
        **settings: Any,
    ) -> None:
        names = ("vocab_size", "block_size", "n_layer", "n_embd", "n_head")
        if len(args) > len(names):
            raise TypeError(f"ScalarGPT takes at most {len(names)} positional arguments ({', '.join(names)})")
        config = self._configure(config, {**dict(zip(names, args)), **settings})
        count = config.num_parameters()
        if count > MAX_SCALAR_GPT_PARAMETERS:
            raise ValueError(
                f"ScalarGPT: {count:,} parameters are too many for the scalar engine (one Value each, at most "
                f"{MAX_SCALAR_GPT_PARAMETERS:,}); use the tensor GPT"
            )
        c, v = config.n_embd, config.vocab_size
        self.wte = _Weights(_matrix(v, c))
        self.wpe = _Weights(_matrix(config.block_size, c))
        self.lm_head = _Weights(_matrix(v, c))
        self.norm_in = _Norm(config.norm, c)
        self.blocks = [_Block(config) for _ in range(config.n_layer)]
        self.load_state_dict(_entries(gaussian_weights(config, seed) if _weights is None else _weights))

    # ---- the forward pass, one position at a time -------------------------------------------------

    def _check_tokens(self, tokens: Any, what: str = "tokens") -> list[int]:
        ids = np.asarray(tokens)
        if ids.ndim != 1 or ids.dtype.kind not in "iu" or not ids.size:
            raise ValueError(f"ScalarGPT: {what} must be a non-empty list of token ids, got {tokens!r}")
        if len(ids) > self.config.block_size:
            raise ValueError(f"ScalarGPT: {len(ids)} positions exceed block_size={self.config.block_size}")
        if ids.min() < 0 or ids.max() >= self.config.vocab_size:
            raise ValueError(f"ScalarGPT: token ids must be in 0..{self.config.vocab_size - 1}, got {ids.tolist()}")
        return ids.tolist()

    def _snapshot(self) -> dict[str, Any]:
        """Every weight matrix as `WeightRows`: its numbers read once per forward pass."""
        rows: dict[str, Any] = {"lm_head": WeightRows(self.lm_head.weight)}
        for i, block in enumerate(self.blocks):
            for name, weights in (("wq", block.attn.wq), ("wk", block.attn.wk), ("wv", block.attn.wv), ("wo", block.attn.wo),
                                  ("fc1", block.mlp.fc1), ("fc2", block.mlp.fc2)):  # fmt: skip
                rows[f"{i}.{name}"] = WeightRows(weights.weight)
        return rows

    def _position(
        self, token: int, position: int, cache: list[Any], rows: dict[str, Any], scores: list[Any] | None = None
    ) -> Vector:
        """The logits of the next token after ``token`` at ``position``; ``cache`` holds each
        layer's keys and values of the positions before (this one's are added)."""
        config = self.config
        heads, size = config.n_head, config.head_size
        scale = 1.0 / math.sqrt(size)
        x = [t + p for t, p in zip(self.wte.weight[token], self.wpe.weight[position])]
        x = self.norm_in(x)
        for layer, (block, (keys, columns)) in enumerate(zip(self.blocks, cache)):
            h = block.attn_norm(x)
            q = linear_values(h, rows[f"{layer}.wq"])
            k = linear_values(h, rows[f"{layer}.wk"])
            v = linear_values(h, rows[f"{layer}.wv"])
            mixed: Vector = []
            for head in range(heads):
                lo, hi = head * size, (head + 1) * size
                keys[head].append(k[lo:hi])  # this head's keys so far, one row per position
                for j in range(size):  # and its values, one column per entry
                    columns[head][j].append(v[lo + j])
                # one score q.k / sqrt(d) per position so far: the keys are the rows of a matrix
                logits = linear_values(q[lo:hi], keys[head], scale=scale)
                if scores is not None:
                    scores[layer][head].append(logits)
                weights = softmax_values(logits)
                # each output entry j: the values' entries j weighted by the attention weights
                mixed += linear_values(weights, columns[head])
            x = linear_values(mixed, rows[f"{layer}.wo"], bias=x)  # the residual: x + wo . mixed
            if config.activation == "relu":  # relu fused: the units that are off drop out of fc2
                h = linear_values(block.mlp_norm(x), rows[f"{layer}.fc1"], relu=True)
            else:
                h = [_gelu(v) for v in linear_values(block.mlp_norm(x), rows[f"{layer}.fc1"])]
            x = linear_values(h, rows[f"{layer}.fc2"], bias=x)
        return linear_values(x, rows["lm_head"])

    def _new_cache(self) -> list[tuple[list[WeightRows], list[list[Vector]]]]:
        """Per layer and head, the keys (rows, one per position) and the values (columns, one
        per entry) of the positions read so far: microgpt's KV cache."""
        heads, size = self.config.n_head, self.config.head_size
        return [([WeightRows.empty() for _ in range(heads)], [[[] for _ in range(size)] for _ in range(heads)]) for _ in self.blocks]

    def forward(self, tokens: Sequence[int]) -> list[Vector]:
        """The logits at every position of ``tokens`` (a list of T ids): T lists of vocab_size Values."""
        ids = self._check_tokens(tokens)
        cache, rows = self._new_cache(), self._snapshot()
        return [self._position(token, position, cache, rows) for position, token in enumerate(ids)]

    def loss(self, tokens: Sequence[int], targets: Sequence[int]) -> Value:
        """The mean cross-entropy of the next-token predictions over the positions whose target
        is not -100 (padding), as the tensor GPT's ``loss``; ``tokens`` and ``targets`` are
        one document's lists of ids (microgpt: ``[BOS] + name`` and ``name + [BOS]``)."""
        ids = self._check_tokens(tokens)
        wanted = np.asarray(targets).tolist() if not isinstance(targets, list) else targets
        if len(wanted) != len(ids):
            raise ValueError(f"ScalarGPT.loss: {len(ids)} tokens but {len(wanted)} targets")
        cache, rows = self._new_cache(), self._snapshot()
        losses = []
        for position, (token, target) in enumerate(zip(ids, wanted)):
            logits = self._position(token, position, cache, rows)
            if target != -100:
                losses.append(cross_entropy_values(logits, int(target)))
        if not losses:
            raise ValueError("ScalarGPT.loss: every target is -100 (padding): nothing to average")
        return sum_values(losses) * (1.0 / len(losses))

    def attention_scores(self, tokens: Sequence[int], layer: int = 0, head: int = 0) -> list[Vector]:
        """The attention scores q.k / sqrt(d) of one head for ``tokens``: row t holds the
        scores of position t for positions 0..t, each a Value whose graph reaches down to
        the embeddings and the weights (draw one with ``draw_dot``)."""
        ids = self._check_tokens(tokens)
        if not 0 <= layer < self.config.n_layer or not 0 <= head < self.config.n_head:
            raise ValueError(f"attention_scores: layer must be in 0..{self.config.n_layer - 1} and head in 0..{self.config.n_head - 1}")
        scores: list[Any] = [[[] for _ in range(self.config.n_head)] for _ in self.blocks]
        cache, rows = self._new_cache(), self._snapshot()
        for position, token in enumerate(ids):
            self._position(token, position, cache, rows, scores)
        return scores[layer][head]  # type: ignore[no-any-return]

    def generate(self, count: int = 1, temperature: float = 1.0, seed: Any = None) -> list[list[int]]:
        """``count`` sequences of token ids drawn one token at a time from softmax(logits /
        temperature), as microgpt samples (see `GPT.generate`)."""
        check_sampling(count, temperature)
        rng = as_random(seed, "generate: seed")
        end = self.config.vocab_size - 1
        out = []
        rows = self._snapshot()
        with autograd.no_grad():
            for _ in range(count):
                cache, token, ids = self._new_cache(), end, []
                for position in range(self.config.block_size):
                    logits = [v.data / temperature for v in self._position(token, position, cache, rows)]
                    top = max(logits)
                    weights = [math.exp(z - top) for z in logits]
                    token = rng.choices(range(len(weights)), weights=weights)[0]
                    if token == end:
                        break
                    ids.append(token)
                out.append(ids)
        return out

    # ---- weights, files and engines ---------------------------------------------------------------

    def _weight_lists(self) -> list[list[Value]]:
        """Every list that holds weights (the rows of each matrix, a LayerNorm's vectors), read
        from the modules now: what `zero_grad` clears without walking 4,000 names."""
        lists: list[list[Value]] = [*self.wte.weight, *self.wpe.weight, *self.lm_head.weight]
        norms = [self.norm_in]
        for block in self.blocks:
            norms += [block.attn_norm, block.mlp_norm]
            for weights in (block.attn.wq, block.attn.wk, block.attn.wv, block.attn.wo, block.mlp.fc1, block.mlp.fc2):
                lists += weights.weight
        for norm in norms:
            if norm.kind == "layernorm":
                lists += [norm.weight, norm.bias]
        return lists

    def zero_grad(self) -> None:
        """Every weight's grad to 0.0 (as `Module.zero_grad`, row by row rather than by the named walk)."""
        for values in self._weight_lists():
            for v in values:
                v.grad = 0.0

    def weights(self) -> dict[str, np.ndarray]:
        """Every parameter as a float64 array under the tensor GPT's name (``wte.weight`` ...)."""
        state = self.state_dict()
        return {name: np.array([state[key] for key in _keys(name, shape)]).reshape(shape) for name, shape in parameter_shapes(self.config).items()}

    @classmethod
    def count_parameters(cls, architecture: Mapping[str, Any]) -> int:
        return GPTConfig.from_dict(architecture).num_parameters()

    @classmethod
    def from_architecture(cls, architecture: Mapping[str, Any], dtype: Any = None) -> ScalarGPT:
        config = GPTConfig.from_dict(architecture)
        return cls(config=config, _weights={name: np.zeros(shape) for name, shape in parameter_shapes(config).items()})

    def _to_engine(self, engine: str, dtype: Any = None) -> Module:
        """This GPT on ``engine`` with the same weights (see `scratchgrad.nn.to_tensor`):
        a tensor GPT in float64 unless ``dtype`` says otherwise."""
        if engine == "scalar":
            return ScalarGPT(config=self.config, _weights=self.weights())
        from scratchgrad.nn.gpt import GPT

        return GPT(config=self.config, dtype=np.float64 if dtype is None else dtype, _weights=self.weights())

    def __repr__(self) -> str:
        c = self.config
        return (
            f"ScalarGPT(vocab_size={c.vocab_size}, block_size={c.block_size}, n_layer={c.n_layer}, n_embd={c.n_embd}, "
            f"n_head={c.n_head}, activation={c.activation!r}, norm={c.norm!r}; {self.num_parameters():,} Values)"
        )


def _keys(name: str, shape: tuple[int, ...]) -> list[str]:
    """The scalar state-dict keys of the tensor parameter ``name``, in row-major order."""
    return [f"{name}.{'.'.join(map(str, index))}" for index in np.ndindex(*shape)]


def _entries(weights: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Tensor-named arrays as the scalar model's state dict (one float per entry)."""
    out: dict[str, float] = {}
    for name, array in weights.items():
        values = np.asarray(array, dtype=np.float64)
        out.update(zip(_keys(name, values.shape), values.ravel().tolist()))
    return out


register_model(ScalarGPT)

__all__ = ["ScalarGPT"]
