"""Functions of Tensors: products, joins and losses of several tensors, and what attention
needs, each one's forward code followed by its vector-Jacobian product (scratchgrad.tensor
says how one vjp serves both a first-order and a recorded backward pass).

Of several tensors: matmul (behind ``@``), linear (x @ W.T + b), concatenate, stack,
cross_entropy (fused: one node, softmax - onehot; any leading axes, ignore_index). What
attention needs: softmax (behind `Tensor.softmax`), gelu (behind `Tensor.gelu`), embedding,
rms_norm, layer_norm, where (behind `Tensor.masked_fill`) and causal_mask.

Every name here is importable from scratchgrad.tensor too (where the functions were first).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from scratchgrad._arrays import FLOAT64, Array, as_array, class_targets, normalize_axes
from scratchgrad.tensor import (
    Grad,
    Operand,
    Tensor,
    _as_float_array,
    _const,
    _inputs,
    _masked,
    _number,
    _output,
    _result,
    _scatter,
    _unbroadcast,
)

__all__ = [
    "causal_mask",
    "concatenate",
    "cross_entropy",
    "embedding",
    "gelu",
    "layer_norm",
    "linear",
    "matmul",
    "rms_norm",
    "softmax",
    "stack",
    "where",
]


# ---- conversions ---------------------------------------------------------------------------


def _as_tensor(x: Any, op: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if type(x) is np.ndarray:
        return _const(_as_float_array(x, None, f"{op}: operand", copy=False), "")
    c = _number(x)
    if c is not None:
        return _const(np.asarray(float(c)), "")
    if isinstance(x, (np.ndarray, list, tuple)):
        return _const(_as_float_array(x, None, f"{op}: operand", copy=False), "")
    raise TypeError(f"{op}: expected a Tensor, array or number, got {type(x).__name__}")


# ---- functions of several tensors: each one, then its vjp ----------------------------------------


def matmul(a: Operand, b: Operand) -> Tensor:
    """a @ b, numpy's matmul semantics: (..., n, k) @ (..., k, m) -> (..., n, m); 1-D operands allowed."""
    a, b = _as_tensor(a, "matmul"), _as_tensor(b, "matmul")
    x, y = a.data, b.data
    try:
        out = x @ y
    except ValueError:
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {x.shape} and {y.shape}") from None
        k_left, k_right = x.shape[-1], (y.shape[-2] if y.ndim > 1 else y.shape[0])
        if k_left != k_right:
            raise ValueError(f"matmul: shapes {x.shape} and {y.shape} do not align ({k_left} != {k_right})") from None
        raise ValueError(f"matmul: the batch dimensions of shapes {x.shape} and {y.shape} cannot be broadcast") from None
    return _result(as_array(out), (a, b), "matmul", _matmul_vjp, None)


def _matmul_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
    """d(a @ b) = da @ b + a @ db: g @ b^T for a, a^T @ g for b"""
    a, b = node._prev
    x, y = _inputs(node, g)
    if x.ndim == 2 and y.ndim == 2:
        return (g @ y.T if a.requires_grad else None, x.T @ g if b.requires_grad else None)
    # General case: treat 1-D operands as a row (left) or column (right) matrix, as
    # matmul does, restore the dimension it removed from g, then sum the broadcast
    # batch dimensions back out.
    x2 = x.reshape(1, -1) if x.ndim == 1 else x
    y2 = y.reshape(-1, 1) if y.ndim == 1 else y
    g2 = g.reshape(np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2]) + (x2.shape[-2], y2.shape[-1]))
    gx = gy = None
    if a.requires_grad:
        gx = _unbroadcast(g2 @ _swap_last(y2), x2.shape).reshape(x.shape)
    if b.requires_grad:
        gy = _unbroadcast(_swap_last(x2) @ g2, y2.shape).reshape(y.shape)
    return (gx, gy)


def _swap_last(x: Any) -> Any:
    """The last two axes swapped (the transpose of a stack of matrices)."""
    perm = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return x.transpose(perm)


def linear(x: Operand, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias as one node (PyTorch's layout): (..., in) with (out, in) and (out,) -> (..., out)."""
    x = x if type(x) is Tensor else _as_tensor(x, "linear")
    xd, wd = x.data, weight.data
    if wd.ndim != 2 or xd.ndim == 0 or xd.shape[-1] != wd.shape[1]:
        raise ValueError(f"linear: input shape {xd.shape} does not fit weight shape {wd.shape} (needs (..., {wd.shape[-1]}))")
    if xd.ndim > 2:  # one matrix product for all leading axes (numpy would loop over them)
        out = (xd.reshape(-1, xd.shape[-1]) @ wd.T).reshape(*xd.shape[:-1], wd.shape[0])
    else:
        out = xd @ wd.T
    if bias is None:
        return _result(out, (x, weight), "linear", _linear_vjp, None)
    bd = bias.data
    if bd.shape != (wd.shape[0],):
        raise ValueError(f"linear: bias shape {bd.shape} does not match weight shape {wd.shape} (needs ({wd.shape[0]},))")
    out += bd  # `out` is ours: adding in place saves an allocation
    return _result(out, (x, weight, bias), "linear", _linear_vjp, None)


def _linear_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
    """d(x W^T + b) = dx W^T + x dW^T + db: g @ W for x, g^T x for W, g summed for b"""
    x, w = node._prev[0], node._prev[1]
    xd, wd = _inputs(node, g)[:2]
    gx = None
    if x.requires_grad:
        gx = g @ wd if g.ndim <= 2 else (g.reshape(-1, g.shape[-1]) @ wd).reshape(xd.shape)
    gw = None
    if w.requires_grad:
        if xd.ndim == 2:
            gw = g.T @ xd
        elif xd.ndim == 1:
            gw = g.reshape(-1, 1) * xd.reshape(1, -1)
        else:
            gw = g.reshape(-1, g.shape[-1]).T @ xd.reshape(-1, xd.shape[-1])
    if len(node._prev) == 2:
        return (gx, gw)
    gb = None
    if node._prev[2].requires_grad:
        gb = g if g.ndim == 1 else g.sum(axis=tuple(range(g.ndim - 1)))
    return (gx, gw, gb)


def concatenate(tensors: Sequence[Operand], axis: int = 0) -> Tensor:
    """Join tensors along an existing ``axis``."""
    parts = [_as_tensor(t, "concatenate") for t in tensors]
    if not parts:
        raise ValueError("concatenate: needs at least one tensor")
    shapes = [p.data.shape for p in parts]
    if any(len(s) == 0 for s in shapes):
        raise ValueError(f"concatenate: 0-d tensors cannot be concatenated (shapes {shapes}); use stack")
    ax = normalize_axes(axis, shapes[0], "concatenate")[0]
    for s in shapes[1:]:
        if len(s) != len(shapes[0]) or any(n != m for i, (n, m) in enumerate(zip(s, shapes[0])) if i != ax):
            raise ValueError(f"concatenate: shapes {shapes[0]} and {s} differ outside axis {axis}")
    out = np.concatenate([p.data for p in parts], axis=ax)
    bounds = [0, *np.cumsum([s[ax] for s in shapes]).tolist()]
    return _result(out, tuple(parts), "concatenate", _concatenate_vjp, (ax, bounds))


def _concatenate_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
    """the gradient split back into the pieces (slices along the axis)"""
    axis, bounds = node._saved
    lead = (slice(None),) * axis
    return tuple(
        g[lead + (slice(lo, hi),)] if child.requires_grad else None
        for lo, hi, child in zip(bounds, bounds[1:], node._prev)
    )


def stack(tensors: Sequence[Operand], axis: int = 0) -> Tensor:
    """Join same-shape tensors along a new ``axis``."""
    parts = [_as_tensor(t, "stack") for t in tensors]
    if not parts:
        raise ValueError("stack: needs at least one tensor")
    shapes = [p.data.shape for p in parts]
    for s in shapes[1:]:
        if s != shapes[0]:
            raise ValueError(f"stack: shapes {shapes[0]} and {s} differ (stack needs equal shapes)")
    ax = normalize_axes(axis, (0,) * (len(shapes[0]) + 1), "stack")[0]
    out = np.stack([p.data for p in parts], axis=ax)
    return _result(out, tuple(parts), "stack", _stack_vjp, ax)


def _stack_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
    """piece i's gradient is entry i of g along the new axis"""
    lead = (slice(None),) * node._saved
    return tuple(g[lead + (i,)] if child.requires_grad else None for i, child in enumerate(node._prev))


def cross_entropy(logits: Operand, targets: Any, reduction: str = "mean", ignore_index: int = -100) -> Tensor:
    """-log softmax(logits)[target], averaged (``reduction='mean'``), summed or per position ('none').

    logits (..., C) with integer targets (...): (N, C) with (N,), (C,) with (), or a batch of
    sequences (B, T, C) with (B, T). A target equal to ``ignore_index`` (PyTorch's -100 by
    default: the padding of a batch of sequences) adds nothing and is not counted in the
    mean. One fused, stable node.
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    logits = logits if type(logits) is Tensor else _as_tensor(logits, "cross_entropy")
    z = logits.data
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError(f"cross_entropy: logits must have shape (..., C) with C >= 1 classes, got {z.shape}")
    t = class_targets(targets, z.shape, Tensor, ignore_index)
    classes = z.shape[-1]
    z2, t2 = z.reshape(-1, classes), t.reshape(-1)  # one row per position
    keep = None if ignore_index not in t2 else t2 != ignore_index  # None: every position counts
    rows = np.arange(len(t2))
    picked = t2 if keep is None else np.where(keep, t2, 0)
    shifted = z2 - z2.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    sums = exps.sum(axis=1, keepdims=True)
    losses = np.log(sums[:, 0]) - shifted[rows, picked]
    if keep is not None:
        losses = np.where(keep, losses, 0.0).astype(z.dtype, copy=False)
    count = len(t2) if keep is None else int(keep.sum())
    if reduction == "mean":
        if count == 0:
            what = "an empty batch" if len(t2) == 0 else f"{len(t2)} positions that all have the ignored target {ignore_index}"
            raise ValueError(f"cross_entropy: the mean over {what} is undefined")
        out = as_array(losses.sum() / count)
    elif reduction == "sum":
        out = as_array(losses.sum())
    else:
        out = losses.reshape(t.shape)
    return _result(out, (logits,), "cross_entropy", _cross_entropy_vjp, (exps, sums, picked, keep, count, reduction))


def _cross_entropy_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
    """d loss_i / d logits_i = softmax(logits_i) - onehot(target_i), times the reduction's
    weight (1/count for the mean, 0 at an ignored position). First order from the softmax
    the forward computed; recorded, as softmax(logits) of the logits Tensor, so it can be
    differentiated again."""
    exps, sums, targets, keep, count, reduction = node._saved
    logits = node._prev[0]
    shape = logits.data.shape
    rows = len(targets)
    if reduction == "none":
        weight = g.reshape(-1, 1)
    elif reduction == "mean":
        weight = g / count
    else:
        weight = g
    if keep is not None:  # ignored positions pass no gradient back
        weight = weight * keep.reshape(-1, 1).astype(logits.data.dtype)
    if type(g) is Tensor:
        onehot = np.zeros((rows, shape[-1]), dtype=logits.data.dtype)
        onehot[np.arange(rows), targets] = 1.0
        probs = logits.reshape(rows, shape[-1]).softmax(axis=-1)
        return (((probs - onehot) * weight).reshape(shape),)
    grad = exps / sums
    grad[np.arange(rows), targets] -= 1.0
    grad *= weight
    return (grad.reshape(shape),)


# ---- what attention needs: softmax, gelu, embeddings, norms, masks ---------------------------------


def softmax(x: Operand, axis: int = -1) -> Tensor:
    """exp(x - max) / sum(exp(x - max)) along ``axis``: probabilities summing to 1, stable
    for any logits (-inf entries get probability 0). One fused node."""
    x = x if type(x) is Tensor else _as_tensor(x, "softmax")
    xd = x.data
    if xd.ndim == 0:
        raise ValueError("softmax: needs at least one axis, got a 0-d tensor")
    (ax,) = normalize_axes(axis, xd.shape, "softmax")
    if xd.shape[ax] == 0:
        raise ValueError(f"softmax: cannot normalise over an empty axis (shape {xd.shape}, axis {axis})")
    shift = xd.max(axis=ax, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0).astype(xd.dtype, copy=False)  # rows of -inf: no NaN from the shift
    e = np.exp(xd - shift)
    e /= e.sum(axis=ax, keepdims=True)
    return _result(e, (x,), "softmax", _softmax_vjp, ax)


def _softmax_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
    """d s = s * (dg - sum(g * s)) along the axis, from the result s (the node itself when
    recorded, so the second derivative flows through s)"""
    s = _output(node, g)
    gs = g * s
    return (gs - s * gs.sum(axis=node._saved, keepdims=True),)


_GELU_C = float(np.sqrt(2.0 / np.pi))
_GELU_A = 0.044715


def gelu(x: Operand) -> Tensor:
    """GELU, the tanh form GPT-2 uses (PyTorch's ``gelu(x, approximate='tanh')``):
    x/2 (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3)."""
    x = x if type(x) is Tensor else _as_tensor(x, "gelu")
    xd = x.data
    t = np.tanh(_GELU_C * (xd + _GELU_A * xd * xd * xd))
    return _result(0.5 * xd * (1.0 + t), (x,), "gelu", _gelu_vjp, t)


def _gelu_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
    """d gelu = ((1 + t)/2 + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 0.044715 x^2)) dx, t = tanh(u)"""
    (x,) = _inputs(node, g)
    t = node._saved if type(g) is not Tensor else (_GELU_C * (x + _GELU_A * x * x * x)).tanh()
    slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * (_GELU_C * (1.0 + 3.0 * _GELU_A * x * x))
    return (g * slope,)


def embedding(weight: Tensor, indices: Any) -> Tensor:
    """The rows of ``weight`` (num_embeddings, dim) picked by the integer ``indices`` (any
    shape): indices.shape + (dim,), as PyTorch's ``F.embedding`` / ``weight[indices]``.
    Each row's gradient is the sum over every position that picked it (repeats add up)."""
    weight = weight if type(weight) is Tensor else _as_tensor(weight, "embedding")
    w = weight.data
    if w.ndim != 2:
        raise ValueError(f"embedding: weight must be (num_embeddings, dim), got shape {w.shape}")
    index = _integer_indices(indices, "embedding")
    if index.size and (index.min() < 0 or index.max() >= w.shape[0]):
        bad = index[(index < 0) | (index >= w.shape[0])].flat[0]
        raise IndexError(f"embedding: index {bad} is out of range for weight of shape {w.shape} (rows 0..{w.shape[0] - 1})")
    return _result(w[index], (weight,), "embedding", _embedding_vjp, index)


def _embedding_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
    """each picked row's gradient added into its row of zeros (a scatter-add: repeats add up)"""
    index = node._saved
    shape = node._prev[0].data.shape
    flat = index.reshape(-1)
    if type(g) is Tensor:
        return (_scatter(g.reshape(-1, shape[1]), shape, flat, False),)
    full = np.zeros(shape, dtype=g.dtype)
    np.add.at(full, flat, g.reshape(-1, shape[1]))
    return (full,)


def _integer_indices(indices: Any, op: str) -> Array:
    """Integer indices (an int array, a list, or a Tensor holding whole numbers) as an intp array."""
    data = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if data.dtype.kind in "iu":
        return data.astype(np.intp, copy=False)
    if data.dtype.kind == "f" and (data.size == 0 or np.all(data == np.round(data))):
        return data.astype(np.intp)
    raise TypeError(f"{op}: indices must be integers, got dtype {data.dtype}")


def _last_axis_weight(x: Array, param: Tensor | None, op: str, what: str) -> None:
    if param is not None and param.data.shape != x.shape[-1:]:
        raise ValueError(f"{op}: {what} shape {param.data.shape} does not match input shape {x.shape} (needs ({x.shape[-1]},))")


def _sum_to_last_axis(g: Grad) -> Grad:
    """g summed over every axis but the last (the gradient of a per-feature weight)."""
    return g if g.ndim == 1 else g.reshape(-1, g.shape[-1]).sum(axis=0)


def rms_norm(x: Operand, weight: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the last axis, times ``weight`` (dim,) when given: RMSNorm,
    as PyTorch's ``F.rms_norm(x, (dim,), weight, eps)``. One fused node."""
    x = x if type(x) is Tensor else _as_tensor(x, "rms_norm")
    xd = x.data
    if xd.ndim == 0 or xd.shape[-1] == 0:
        raise ValueError(f"rms_norm: the input needs a non-empty last axis, got shape {xd.shape}")
    _last_axis_weight(xd, weight, "rms_norm", "weight")
    r = 1.0 / np.sqrt((xd * xd).mean(axis=-1, keepdims=True) + eps)
    out = xd * r
    if weight is None:
        return _result(out, (x,), "rms_norm", _rms_norm_vjp, (r, eps))
    return _result(out * weight.data, (x, weight), "rms_norm", _rms_norm_vjp, (r, eps))


def _rms_norm_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
    """y = x r w with r = (mean(x^2) + eps)^(-1/2): dx = r gw - x r^3 mean(gw x), gw = g w;
    dw = sum over positions of g x r"""
    saved_r, eps = node._saved
    inputs = _inputs(node, g)
    x = inputs[0]
    r = saved_r if type(g) is not Tensor else ((x * x).mean(axis=-1, keepdims=True) + eps) ** -0.5
    gw = g if len(inputs) == 1 else g * inputs[1]
    gx = gw * r - x * (r * r * r * (gw * x).mean(axis=-1, keepdims=True)) if node._prev[0].requires_grad else None
    if len(inputs) == 1:
        return (gx,)
    return (gx, _sum_to_last_axis(g * (x * r)) if node._prev[1].requires_grad else None)


def layer_norm(x: Operand, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) over the last axis (var without Bessel's correction),
    times ``weight`` plus ``bias`` when given: LayerNorm, as PyTorch's
    ``F.layer_norm(x, (dim,), weight, bias, eps)``. One fused node."""
    x = x if type(x) is Tensor else _as_tensor(x, "layer_norm")
    xd = x.data
    if xd.ndim == 0 or xd.shape[-1] == 0:
        raise ValueError(f"layer_norm: the input needs a non-empty last axis, got shape {xd.shape}")
    _last_axis_weight(xd, weight, "layer_norm", "weight")
    _last_axis_weight(xd, bias, "layer_norm", "bias")
    centred = xd - xd.mean(axis=-1, keepdims=True)
    rstd = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)
    out = centred * rstd
    prev: tuple[Tensor, ...] = (x,)
    if weight is not None:
        out = out * weight.data
        prev += (weight,)
    if bias is not None:
        out = out + bias.data
        prev += (bias,)
    return _result(out, prev, "layer_norm", _layer_norm_vjp, (rstd, eps, weight is not None, bias is not None))


def _layer_norm_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
    """xhat = (x - mean) rstd, y = xhat w + b: dx = rstd (gw - mean(gw) - xhat mean(gw xhat)),
    gw = g w; dw = sum of g xhat; db = sum of g"""
    saved_rstd, eps, has_weight, has_bias = node._saved
    inputs = _inputs(node, g)
    x = inputs[0]
    centred = x - x.mean(axis=-1, keepdims=True)
    rstd = saved_rstd if type(g) is not Tensor else ((centred * centred).mean(axis=-1, keepdims=True) + eps) ** -0.5
    xhat = centred * rstd
    gw = g * inputs[1] if has_weight else g
    grads: list[Grad | None] = [None]
    if node._prev[0].requires_grad:
        grads[0] = rstd * (gw - gw.mean(axis=-1, keepdims=True) - xhat * (gw * xhat).mean(axis=-1, keepdims=True))
    if has_weight:
        grads.append(_sum_to_last_axis(g * xhat) if node._prev[1].requires_grad else None)
    if has_bias:
        grads.append(_sum_to_last_axis(g) if node._prev[-1].requires_grad else None)
    return tuple(grads)


def where(condition: Any, a: Operand, b: Operand) -> Tensor:
    """``a`` where the boolean ``condition`` holds, ``b`` elsewhere (numpy's / PyTorch's
    ``where``, broadcasting all three). Numbers take the dtype of the tensor operand. The
    condition is a constant: each side's gradient is g where it was chosen, 0 elsewhere."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: the condition must be a boolean array, got dtype {cond.dtype}")
    tensors = [x for x in (a, b) if isinstance(x, Tensor)]
    dtype = tensors[0].data.dtype if tensors else FLOAT64
    left = a if isinstance(a, Tensor) else _const(np.asarray(_where_operand(a, dtype)), "")
    right = b if isinstance(b, Tensor) else _const(np.asarray(_where_operand(b, dtype)), "")
    try:
        out = np.where(cond, left.data, right.data)
    except ValueError:
        raise ValueError(
            f"where: shapes {cond.shape} (condition), {left.data.shape} and {right.data.shape} cannot be broadcast together"
        ) from None
    return _result(out, (left, right), "where", _where_vjp, cond)


def _where_operand(x: Any, dtype: np.dtype) -> Array:
    c = _number(x)
    if c is not None:
        return np.asarray(c, dtype=dtype)
    return _as_float_array(x, None, "where: operand", copy=False)


def _where_vjp(g: Grad, node: Tensor) -> tuple[Grad | None, ...]:
    """g goes to a where the condition holds and to b elsewhere (summed over broadcast axes)"""
    cond = node._saved
    a, b = node._prev
    return (
        _unbroadcast(_masked(g, cond), a.data.shape) if a.requires_grad else None,
        _unbroadcast(_masked(g, ~cond), b.data.shape) if b.requires_grad else None,
    )


_CAUSAL_MASKS: dict[int, Array] = {}


def causal_mask(size: int) -> Array:
    """A (size, size) boolean array, True above the diagonal: the future positions a token
    must not attend to. ``scores.masked_fill(causal_mask(T), -inf)`` before a softmax."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"causal_mask: size must be a positive int, got {size!r}")
    mask = _CAUSAL_MASKS.get(int(size))
    if mask is None:
        mask = np.triu(np.ones((size, size), dtype=bool), k=1)
        mask.setflags(write=False)  # shared between calls: nobody may change it
        if size <= 4096:
            _CAUSAL_MASKS[int(size)] = mask
    return mask
