"""The chain rule over a graph of Tensors, for `Tensor.backward` and
`scratchgrad.autograd.gradients`: first order, with arrays, and recorded
(``create_graph=True``), where every gradient is a Tensor in the graph so it can be
differentiated again. Each node's vjp (in scratchgrad.tensor and
scratchgrad.tensor_functions) says how its gradient reaches its children; this module
walks the graph, consumers before their children, and sums what reaches each leaf.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchgrad import autograd as _autograd
from scratchgrad._arrays import Array
from scratchgrad.autograd import topological_order
from scratchgrad.tensor import Tensor, _const


def _backpropagate(root: Tensor, seed: Array) -> None:
    """The chain rule over the graph below ``root``, consumers before their children: each
    node's gradient is complete (every consumer has added to it) when its vjp runs, and
    each leaf receives the sum of what reached it, once."""
    # grads[node] = (gradient so far, whether that array is ours alone to hand to a leaf)
    grads: dict[Tensor, tuple[Array, bool]] = {root: (seed, True)}
    for node in reversed(topological_order(root)):
        entry = grads.pop(node, None)
        if entry is None:
            continue
        g, owned = entry
        if not node._prev:
            _accumulate(node, g, owned)
            continue
        for child, child_grad in zip(node._prev, node._vjp(g, node)):  # type: ignore[misc]
            if child_grad is None:
                continue
            previous = grads.get(child)
            if previous is None:
                # a vjp may pass g itself on, or a view of it: not an array a leaf may keep
                grads[child] = (child_grad, child_grad is not g and child_grad.base is None)
            else:
                grads[child] = (previous[0] + child_grad, True)


def _accumulate(leaf: Tensor, g: Array, owned: bool) -> None:
    """leaf.grad += g, in the leaf's dtype, never aliasing an array the graph still uses."""
    if g.dtype != leaf.data.dtype:
        g, owned = g.astype(leaf.data.dtype), True
    if g.shape != leaf.data.shape:  # a vjp's bug, or data reshaped behind the graph's back
        raise RuntimeError(f"backward: gradient of shape {g.shape} for a leaf of shape {leaf.data.shape}")
    if leaf.grad is None:
        leaf.grad = g if owned else g.copy()
    else:
        leaf.grad = leaf.grad + g


# ---- gradients as graphs: derivatives of derivatives ------------------------------------------------


def _recorded_vjp(node: Tensor, g: Tensor) -> tuple[Any, ...]:
    return node._vjp(g, node)  # type: ignore[misc]


def _backpropagate_recorded(root: Tensor, seed: Array) -> None:
    """``root.backward(create_graph=True)``: each leaf's .grad becomes a Tensor in the graph."""

    def accumulate(node: Tensor, g: Tensor) -> None:
        if node._prev or not node.requires_grad:
            return
        if g.dtype != node.data.dtype:
            g = g.astype(node.data.dtype)
        node.grad = g if node.grad is None else node.grad + g

    with _autograd.enable_grad():
        _autograd.backpropagate(root, _const(seed, ""), _recorded_vjp, accumulate)


def _tensor_gradient_rules(output: Tensor, inputs: list[Any], grad_output: Any, create_graph: bool) -> tuple[Any, Any, Any]:
    """What scratchgrad.autograd.gradients needs for a Tensor graph: the seed, the vjp, and
    the gradient of an input the output does not depend on."""
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"gradients: input #{i} must be a Tensor, like the output; got {type(x).__name__}")
        if not x.requires_grad:
            raise ValueError(f"gradients: input #{i} (shape {x.shape}) does not require grad, so nothing flows to it")
    seed = output._seed(grad_output.data if isinstance(grad_output, Tensor) and not create_graph else grad_output)
    if create_graph:
        seed_tensor = grad_output if isinstance(grad_output, Tensor) else _const(seed, "")
        return seed_tensor, _recorded_vjp, lambda x: _const(np.zeros_like(x.data), "")

    def vjp(node: Tensor, g: Array) -> tuple[Any, ...]:
        return node._vjp(g, node)  # type: ignore[misc]

    return seed, vjp, lambda x: np.zeros_like(x.data)
