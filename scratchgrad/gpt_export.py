"""A GPT carried to PyTorch and to ONNX (`scratchgrad.export.to_torch` / `to_onnx` call these).

Both start from the GPT's own description, its `GPTConfig` and its weights by name
(``model.config``, ``state_dict()``): the scalar and the tensor GPT alike.

- `to_torch(model)`: a ``torch.nn.Module`` of the same architecture whose parameters have
  the same names and values (``wte.weight``, ``blocks.0.attn.wq.weight``, ...):
  ``torch_model(tokens)`` gives the logits (batch, T, vocab).
- `to_onnx_model(model)`: an ONNX graph from ``tokens`` (batch, T) int64 to ``logits``
  (batch, T, vocab), opset 17, for any T up to the block size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scratchgrad.nn.gpt import GPTConfig


def is_gpt(model: object) -> bool:
    """True for the tensor GPT and the scalar GPT."""
    from scratchgrad.nn.gpt import GPT
    from scratchgrad.nn.scalar_gpt import ScalarGPT

    return isinstance(model, (GPT, ScalarGPT))


def _weights(model: Any) -> dict[str, np.ndarray]:
    """The model's weights as float64 arrays under the tensor GPT's names."""
    if hasattr(model, "weights"):  # the scalar GPT: rows of Values gathered into arrays
        return model.weights()  # type: ignore[no-any-return]
    return {name: np.asarray(array, dtype=np.float64) for name, array in model.state_dict().items()}


def _model_dtype(model: Any) -> Any:
    return getattr(model, "dtype", np.dtype(np.float64))


# ---- PyTorch ------------------------------------------------------------------------------------


def _torch_classes(torch: Any) -> Any:
    """The PyTorch modules of a GPT, defined once torch is imported (it is optional)."""
    nn = torch.nn

    class CausalSelfAttention(nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self, config: GPTConfig) -> None:
            super().__init__()
            self.n_head = config.n_head
            c = config.n_embd
            self.wq, self.wk, self.wv, self.wo = (nn.Linear(c, c, bias=False) for _ in range(4))
            self.register_buffer("mask", torch.ones(config.block_size, config.block_size, dtype=torch.bool).triu(1), persistent=False)

        def forward(self, x: Any) -> Any:
            batch, steps, width = x.shape
            size = width // self.n_head

            def split(t: Any) -> Any:
                return t.view(batch, steps, self.n_head, size).transpose(1, 2)

            q, k, v = split(self.wq(x)), split(self.wk(x)), split(self.wv(x))
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(size))
            weights = scores.masked_fill(self.mask[:steps, :steps], -math.inf).softmax(-1)
            return self.wo((weights @ v).transpose(1, 2).reshape(batch, steps, width))

    class FeedForward(nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self, config: GPTConfig) -> None:
            super().__init__()
            self.fc1 = nn.Linear(config.n_embd, 4 * config.n_embd, bias=False)
            self.fc2 = nn.Linear(4 * config.n_embd, config.n_embd, bias=False)
            self.act = nn.ReLU() if config.activation == "relu" else nn.GELU(approximate="tanh")

        def forward(self, x: Any) -> Any:
            return self.fc2(self.act(self.fc1(x)))

    def norm(config: GPTConfig) -> Any:
        if config.norm == "rmsnorm":
            return nn.RMSNorm(config.n_embd, eps=1e-5, elementwise_affine=False)
        return nn.LayerNorm(config.n_embd, eps=1e-5)

    class Block(nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self, config: GPTConfig) -> None:
            super().__init__()
            self.attn_norm, self.attn = norm(config), CausalSelfAttention(config)
            self.mlp_norm, self.mlp = norm(config), FeedForward(config)

        def forward(self, x: Any) -> Any:
            x = x + self.attn(self.attn_norm(x))
            return x + self.mlp(self.mlp_norm(x))

    class GPT(nn.Module):  # type: ignore[misc, name-defined]
        """scratchgrad's GPT in PyTorch: tokens (batch, T) -> logits (batch, T, vocab)."""

        def __init__(self, config: GPTConfig) -> None:
            super().__init__()
            self.config = config
            self.wte = nn.Embedding(config.vocab_size, config.n_embd)
            self.wpe = nn.Embedding(config.block_size, config.n_embd)
            self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
            self.norm_in = norm(config)
            self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))

        def forward(self, tokens: Any) -> Any:
            steps = tokens.shape[-1]
            x = self.norm_in(self.wte(tokens) + self.wpe.weight[:steps])
            for block in self.blocks:
                x = block(x)
            return self.lm_head(x)

    return GPT


_TORCH_GPT: Any = None


def to_torch(model: Any, dtype: Any = None) -> Any:
    """The GPT as a ``torch.nn.Module`` with the same parameter names and values, in
    ``dtype`` (default: the model's own; float64 for the scalar GPT)."""
    global _TORCH_GPT
    from scratchgrad.export import _require

    torch = _require("torch", "torch")
    if _TORCH_GPT is None:
        _TORCH_GPT = _torch_classes(torch)
    target = np.dtype(_model_dtype(model) if dtype is None else dtype)
    torch_dtype = torch.float32 if target == np.float32 else torch.float64
    module = _TORCH_GPT(model.config).to(torch_dtype)
    state = {name: torch.from_numpy(array.astype(target)) for name, array in _weights(model).items()}
    module.load_state_dict(state, strict=True)
    return module


# ---- ONNX ---------------------------------------------------------------------------------------


def to_onnx_model(model: Any, dtype: str = "float32", opset: int = 17, ir_version: int = 8) -> Any:
    """The GPT as an ONNX graph: input ``tokens`` (batch, T) int64 -> output ``logits`` (batch,
    T, vocab), for any T up to the block size. Checked with ``onnx.checker``."""
    from scratchgrad.export import _require

    onnx = _require("onnx", "onnx")
    from onnx import TensorProto, helper, numpy_helper

    if dtype not in ("float32", "float64"):
        raise ValueError(f"to_onnx: dtype must be 'float32' or 'float64', got {dtype!r}")
    np_dtype = np.float32 if dtype == "float32" else np.float64
    elem = TensorProto.FLOAT if dtype == "float32" else TensorProto.DOUBLE
    config: GPTConfig = model.config
    weights = _weights(model)
    nodes: list[Any] = []
    initializers: list[Any] = []
    counter = iter(range(1_000_000))

    def constant(name: str, array: Any) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op: str, inputs: list[str], **attributes: Any) -> str:
        out = f"{op.lower()}_{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attributes))
        return out

    def matmul_weight(x: str, name: str) -> str:  # x @ W.T for a (out, in) weight
        return node("MatMul", [x, constant(f"{name}.T", weights[name].T.astype(np_dtype))])

    eps = constant("eps", np.array(1e-5, dtype=np_dtype)) if config.norm == "rmsnorm" else ""

    def normalise(x: str, prefix: str) -> str:
        if config.norm == "layernorm":
            scale = constant(f"{prefix}.weight", weights[f"{prefix}.weight"].astype(np_dtype))
            shift = constant(f"{prefix}.bias", weights[f"{prefix}.bias"].astype(np_dtype))
            return node("LayerNormalization", [x, scale, shift], axis=-1, epsilon=1e-5)
        mean_square = node("ReduceMean", [node("Mul", [x, x])], axes=[-1], keepdims=1)
        return node("Div", [x, node("Sqrt", [node("Add", [mean_square, eps])])])

    def activation(x: str) -> str:
        if config.activation == "relu":
            return node("Relu", [x])
        # x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        c = constant(f"gelu_c_{next(counter)}", np.array(math.sqrt(2 / math.pi), dtype=np_dtype))
        a = constant(f"gelu_a_{next(counter)}", np.array(0.044715, dtype=np_dtype))
        one = constant(f"one_{next(counter)}", np.array(1.0, dtype=np_dtype))
        half = constant(f"half_{next(counter)}", np.array(0.5, dtype=np_dtype))
        cube = node("Mul", [node("Mul", [x, x]), x])
        inner = node("Mul", [c, node("Add", [x, node("Mul", [a, cube])])])
        return node("Mul", [node("Mul", [half, x]), node("Add", [one, node("Tanh", [inner])])])

    heads, size, width = config.n_head, config.head_size, config.n_embd
    # positions 0..T-1 and the causal mask for T = the number of input tokens
    steps = node("Gather", [node("Shape", ["tokens"]), constant("axis1", np.array([1], dtype=np.int64))], axis=0)
    zero = constant("zero", np.array([0], dtype=np.int64))
    positions = node("Slice", [constant("wpe.weight", weights["wpe.weight"].astype(np_dtype)), zero, steps, zero])
    hidden_mask = np.where(np.triu(np.ones((config.block_size, config.block_size), dtype=bool), 1), -np.inf, 0.0)
    mask = node("Slice", [constant("causal_mask", hidden_mask.astype(np_dtype)), constant("zeros2", np.array([0, 0], dtype=np.int64)),
                          node("Concat", [steps, steps], axis=0), constant("axes01", np.array([0, 1], dtype=np.int64))])  # fmt: skip
    split_shape = constant("split_shape", np.array([0, 0, heads, size], dtype=np.int64))
    join_shape = constant("join_shape", np.array([0, 0, width], dtype=np.int64))
    scale = constant("scale", np.array(1.0 / math.sqrt(size), dtype=np_dtype))

    tokens = node("Gather", [constant("wte.weight", weights["wte.weight"].astype(np_dtype)), "tokens"], axis=0)
    x = normalise(node("Add", [tokens, positions]), "norm_in")
    for i in range(config.n_layer):
        block = f"blocks.{i}"
        h = normalise(x, f"{block}.attn_norm")
        q, k, v = (node("Reshape", [matmul_weight(h, f"{block}.attn.{w}.weight"), split_shape]) for w in ("wq", "wk", "wv"))
        q, v = node("Transpose", [q], perm=[0, 2, 1, 3]), node("Transpose", [v], perm=[0, 2, 1, 3])
        k = node("Transpose", [k], perm=[0, 2, 3, 1])
        scores = node("Add", [node("Mul", [node("MatMul", [q, k]), scale]), mask])
        mixed = node("MatMul", [node("Softmax", [scores], axis=-1), v])
        mixed = node("Reshape", [node("Transpose", [mixed], perm=[0, 2, 1, 3]), join_shape])
        x = node("Add", [x, matmul_weight(mixed, f"{block}.attn.wo.weight")])
        h = activation(matmul_weight(normalise(x, f"{block}.mlp_norm"), f"{block}.mlp.fc1.weight"))
        x = node("Add", [x, matmul_weight(h, f"{block}.mlp.fc2.weight")])
    nodes.append(helper.make_node("Identity", [matmul_weight(x, "lm_head.weight")], ["logits"], name="logits"))
    graph = helper.make_graph(
        nodes,
        "scratchgrad_gpt",
        [helper.make_tensor_value_info("tokens", TensorProto.INT64, ["batch", "T"])],
        [helper.make_tensor_value_info("logits", elem, ["batch", "T", config.vocab_size])],
        initializers,
    )
    proto = helper.make_model(graph, producer_name="scratchgrad", opset_imports=[helper.make_opsetid("", opset)])
    proto.ir_version = ir_version
    onnx.checker.check_model(proto, full_check=True)
    return proto


__all__ = ["is_gpt", "to_onnx_model", "to_torch"]
