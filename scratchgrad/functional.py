"""Derivatives as functions: `grad`, `jacobian`, `hessian` and `hvp`, in the style of
torch.func, JAX and HIPS autograd, for functions of Values and of Tensors.

    >>> from scratchgrad import grad, hessian
    >>> f = lambda x: x ** 3
    >>> grad(f)(2.0), grad(grad(f))(2.0), grad(grad(grad(f)))(2.0)
    (12.0, 12.0, 6.0)

A function of numbers is written with Values: call it with numbers (or lists of numbers)
and get numbers back. A function of arrays is written with Tensors: call it with numpy
arrays and get arrays back. Called with Values or Tensors, as happens when these
functions are nested, they return Values or Tensors recorded in the graph, so the result
can be differentiated again: that is how ``grad(grad(f))`` works, to any order.

How it works: the arguments become leaves, ``f`` runs on them and records its graph, and
the gradient is computed by the reverse pass of scratchgrad.autograd, recorded as a graph
of its own (create_graph) whenever the result may be differentiated further: when an
argument came in as a Value or Tensor, or when ``f`` uses Values or Tensors of its caller
(a model's parameters, a variable of an enclosing ``grad``), since the caller may then
differentiate the result with respect to them. Otherwise nothing is recorded and the
result is plain numbers. No ``.grad`` attribute changes, anywhere.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Sequence, Union

from scratchgrad import autograd
from scratchgrad.autograd import gradients, topological_order
from scratchgrad.engine import _LEAF, Value, sum_values

Argnums = Union[int, Sequence[int]]

__all__ = ["grad", "hessian", "hvp", "jacobian"]


# ---- the arguments that are differentiated ------------------------------------------------------


class _Arguments:
    """The arguments selected by ``argnums`` as differentiable variables: each number a fresh
    Value (each array a fresh Tensor that requires grad), each Value or Tensor itself. Keeps
    how to give each gradient back the shape of its argument."""

    def __init__(self, who: str, args: tuple[Any, ...], argnums: Argnums) -> None:
        self.who = who
        self.positions, self.single = _positions(who, argnums, len(args))
        selected = [args[i] for i in self.positions]
        self.tensors = _uses_tensors(who, selected)
        self.variables: list[Any] = []  # every differentiable leaf, flattened
        self.fresh: set[Any] = set()  # the ones made here from numbers or arrays
        self.nested = False  # some argument came in as a Value or Tensor
        self.structures = [self._convert(arg, f"argument {i}") for i, arg in zip(self.positions, selected)]
        self.args = list(args)
        for i, structure in zip(self.positions, self.structures):
            self.args[i] = _build(structure, iter(self.variables_of(structure)))

    def _convert(self, arg: Any, where: str) -> Any:
        """A nested description of ``arg``: lists/tuples of ('var', index, kind) entries."""
        if isinstance(arg, (list, tuple)) and not self.tensors:
            return type(arg), [self._convert(item, f"{where}[{k}]") for k, item in enumerate(arg)]
        if self.tensors:
            from scratchgrad.tensor import Tensor

            if isinstance(arg, Tensor):
                if arg.requires_grad:
                    self.nested = True
                    return self._add(arg, "Tensor", fresh=False)
                return self._add(Tensor(arg.data, requires_grad=True), "Tensor", fresh=True)
            return self._add(Tensor(arg, requires_grad=True), "array", fresh=True)
        if isinstance(arg, Value):
            self.nested = True
            return self._add(arg, "Value", fresh=False)
        if isinstance(arg, numbers.Real):
            return self._add(Value(float(arg)), "number", fresh=True)
        raise TypeError(
            f"{self.who}: {where} must be a number, a Value, a list of them, a numpy array or a Tensor; "
            f"got {type(arg).__name__}: {arg!r}"
        )

    def _add(self, variable: Any, kind: str, fresh: bool) -> tuple[str, int, str]:
        self.variables.append(variable)
        if fresh:
            self.fresh.add(variable)
        return ("var", len(self.variables) - 1, kind)

    def variables_of(self, structure: Any) -> list[Any]:
        return [self.variables[i] for i in _indices(structure)]

    def results(self, grads: list[Any], recorded: bool) -> Any:
        """The gradients shaped like the arguments: a number per number, an array per array,
        lists like lists; Values and Tensors when ``recorded``."""
        shaped = [_build(structure, iter(_shape_results(structure, grads, recorded))) for structure in self.structures]
        return shaped[0] if self.single else tuple(shaped)

    def recorded(self, output: Any) -> bool:
        """Whether the derivatives must be recorded: when an argument came in as a Value or
        Tensor, or when ``output`` depends on a Value or Tensor that is not one of the fresh
        arguments (the caller's, who may differentiate with respect to it)."""
        if self.nested:
            return True
        for node in topological_order(output):
            if node._prev or node in self.fresh:
                continue
            if self.tensors and node.requires_grad:
                return True
            if not self.tensors and node._fn is _LEAF:  # a leaf you made (not a constant of an expression)
                return True
        return False


def _positions(who: str, argnums: Argnums, count: int) -> tuple[list[int], bool]:
    single = isinstance(argnums, int) and not isinstance(argnums, bool)
    if not single and not isinstance(argnums, (tuple, list)):
        raise TypeError(f"{who}: argnums must be an int or a tuple of ints, got {argnums!r}")
    numbers_ = [argnums] if single else list(argnums)  # type: ignore[arg-type,list-item]
    if not numbers_:
        raise ValueError(f"{who}: argnums must name at least one argument")
    positions = []
    for n in numbers_:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"{who}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -count <= n < count:
            raise ValueError(f"{who}: argnums {n} is out of range for a call with {count} argument(s)")
        positions.append(n % count)
    if len(set(positions)) != len(positions):
        raise ValueError(f"{who}: argnums {argnums!r} names an argument twice")
    return positions, single


def _uses_tensors(who: str, selected: list[Any]) -> bool:
    import sys

    numpy = sys.modules.get("numpy")
    tensor_module = sys.modules.get("scratchgrad.tensor")
    array_types: tuple[type, ...] = ()
    if numpy is not None:
        array_types += (numpy.ndarray,)
    if tensor_module is not None:
        array_types += (tensor_module.Tensor,)
    kinds = {isinstance(arg, array_types) if array_types else False for arg in selected}
    if len(kinds) > 1:
        raise TypeError(f"{who}: the arguments mix arrays or Tensors with numbers or Values; use one engine per call")
    return kinds.pop()


def _indices(structure: Any) -> list[int]:
    if structure[0] == "var":
        return [structure[1]]
    return [i for item in structure[1] for i in _indices(item)]


def _build(structure: Any, values: Any) -> Any:
    if structure[0] == "var":
        return next(values)
    kind, items = structure
    return kind(_build(item, values) for item in items)


def _shape_results(structure: Any, grads: list[Any], recorded: bool) -> list[Any]:
    out = []
    for leaf in _leaves(structure):
        g = grads[leaf[1]]
        kind = leaf[2]
        if not recorded and kind in ("array", "Tensor"):
            g = g.copy()  # the caller's own array (a vjp may hand the same one to two inputs)
            if kind == "Tensor":
                from scratchgrad.tensor import Tensor

                g = Tensor.from_numpy(g)
        out.append(g)
    return out


def _leaves(structure: Any) -> list[Any]:
    if structure[0] == "var":
        return [structure]
    return [leaf for item in structure[1] for leaf in _leaves(item)]


# ---- the output -----------------------------------------------------------------------------------


def _scalar_output(who: str, out: Any, tensors: bool, hint: str = "") -> Any:
    """``out`` checked to be one Value (or a one-element Tensor), with errors that say what was
    expected and, for a plain number, the likely fix."""
    if tensors:
        from scratchgrad.tensor import Tensor

        if not isinstance(out, Tensor):
            raise TypeError(
                f"{who}: f must return a Tensor computed from its arguments, got {type(out).__name__}"
                + autograd._CREATE_GRAPH_HINT
            )
        if out.size != 1:
            raise ValueError(
                f"{who}: f must return a scalar (a Tensor of shape () or one element), got a Tensor of shape {out.shape}"
                + (hint or "; for a function with several outputs use jacobian(f)")
            )
        return out
    if not isinstance(out, Value):
        if isinstance(out, (list, tuple)):
            raise ValueError(
                f"{who}: f must return a scalar (one Value), got a {type(out).__name__} of {len(out)} values"
                + (hint or "; for a function with several outputs use jacobian(f)")
            )
        raise TypeError(
            f"{who}: f must return a Value computed from its arguments, got {type(out).__name__}: {out!r}"
            + autograd._CREATE_GRAPH_HINT
        )
    return out


def _call(f: Callable[..., Any], arguments: _Arguments, kwargs: dict[str, Any]) -> Any:
    with autograd.enable_grad():  # the graph is needed even when the caller is inside no_grad()
        return f(*arguments.args, **kwargs)


# ---- grad, jacobian, hessian, hvp ---------------------------------------------------------------


def grad(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The gradient of ``f`` as a function: ``grad(f)(x)`` is df/dx at x.

    ``f`` returns a scalar: one Value, or a Tensor with one element. ``argnums`` picks the
    argument(s) to differentiate (an int, or a tuple of ints for a tuple of gradients). Each
    gradient has the form of its argument: a number for a number, a list for a list, an
    array of the same shape for an array, a Value or Tensor (in the graph) for a Value or
    Tensor. Compose freely: ``grad(grad(f))`` is the second derivative.
    """
    return _grad(f, argnums, "grad")


def _grad(f: Callable[..., Any], argnums: Argnums, who: str, hint: str = "") -> Callable[..., Any]:
    def gradient(*args: Any, **kwargs: Any) -> Any:
        arguments = _Arguments(who, args, argnums)
        out = _scalar_output(who, _call(f, arguments, kwargs), arguments.tensors, hint)
        recorded = arguments.recorded(out)
        return arguments.results(gradients(out, arguments.variables, create_graph=recorded), recorded)

    _name(gradient, who, f)
    return gradient


def jacobian(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The Jacobian of ``f`` as a function: d(output_i)/d(argument) for every output i.

    For a function of Values returning a list (or nested lists) of Values: the same
    nesting, each entry the gradient of that output (shaped like the argument). For a
    function of Tensors returning a Tensor of shape S, for an argument of shape X: an array
    of shape S + X. For a scalar output it is the gradient.
    """

    def jac(*args: Any, **kwargs: Any) -> Any:
        arguments = _Arguments("jacobian", args, argnums)
        out = _call(f, arguments, kwargs)
        if arguments.tensors:
            return _each_output(out, lambda t: _tensor_jacobian(arguments, t))
        return _value_jacobian(arguments, out)

    _name(jac, "jacobian", f)
    return jac


def _value_jacobian(arguments: _Arguments, out: Any) -> Any:
    def each(item: Any) -> Any:
        if isinstance(item, (list, tuple)):
            return type(item)(each(x) for x in item)
        if isinstance(item, Value):
            recorded = arguments.recorded(item)
            return arguments.results(gradients(item, arguments.variables, create_graph=recorded), recorded)
        if isinstance(item, numbers.Real):  # a constant output: zero derivatives
            zeros = [0.0] * len(arguments.variables)
            return arguments.results(zeros, False)
        raise TypeError(
            f"jacobian: f must return Values (or lists of them) computed from its arguments, got "
            f"{type(item).__name__}: {item!r}" + autograd._CREATE_GRAPH_HINT
        )

    return each(out)


def _each_output(out: Any, jacobian_of: Callable[[Any], Any]) -> Any:
    """The Jacobian of each output of a tuple or list of outputs (e.g. a gradient with
    respect to several arguments), in the same nesting; of the one output otherwise."""
    if isinstance(out, (list, tuple)):
        return type(out)(_each_output(o, jacobian_of) for o in out)
    return jacobian_of(out)


def _tensor_jacobian(arguments: _Arguments, out: Any) -> Any:
    import numpy as np

    from scratchgrad.tensor import Tensor
    from scratchgrad.tensor_functions import stack

    if not isinstance(out, Tensor):
        raise TypeError(
            f"jacobian: f must return a Tensor computed from its arguments, got {type(out).__name__}"
            + autograd._CREATE_GRAPH_HINT
        )
    recorded = arguments.recorded(out) if out.requires_grad else False
    rows: list[list[Any]] = []
    for index in range(out.size):
        if not out.requires_grad:  # a constant output
            rows.append([np.zeros_like(v.data) for v in arguments.variables])
            continue
        seed = np.zeros(out.shape, dtype=out.dtype)
        seed.flat[index] = 1.0
        rows.append(gradients(out, arguments.variables, grad_output=seed, create_graph=recorded))
    grads: list[Any] = []
    for k, variable in enumerate(arguments.variables):
        column = [row[k] for row in rows]
        shape = tuple(out.shape) + tuple(variable.shape)
        if recorded:
            grads.append(stack(column).reshape(shape) if column else Tensor(np.zeros(shape)))
        else:
            grads.append(np.stack(column).reshape(shape) if column else np.zeros(shape))
    return arguments.results(grads, recorded)


def hessian(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """The Hessian of a scalar function ``f`` as a function: the matrix of second derivatives.

    A function of one number gives a number (f''), of a list of n numbers an n x n nested
    list, of a 1-D array of n entries an (n, n) array (in general, shape X + X for an
    argument of shape X). With a tuple ``argnums`` it is the nested tuple of blocks
    d2f/(dxi dxj). It is ``jacobian(grad(f))``.
    """
    hint = (
        "; the Hessian is defined for a scalar function (for a vector function, "
        "jacobian(jacobian(f)) gives each output's second derivatives)"
    )
    h = jacobian(_grad(f, argnums, "hessian", hint), argnums)
    _name(h, "hessian", f)
    return h


def hvp(f: Callable[..., Any], x: Any, v: Any) -> Any:
    """The Hessian of the scalar function ``f`` at ``x`` times the vector ``v``, without
    forming the Hessian: the gradient of (grad f(x) . v), two reverse passes.

    ``x`` and ``v`` have the same form (numbers, lists of numbers, arrays of one shape, or
    Values / Tensors); the result has that form too.
    """
    arguments = _Arguments("hvp", (x,), 0)
    out = _scalar_output("hvp", _call(f, arguments, {}), arguments.tensors)
    first = gradients(out, arguments.variables, create_graph=True)
    with autograd.enable_grad():
        if arguments.tensors:
            from scratchgrad.tensor import Tensor

            direction = v.data if isinstance(v, Tensor) else v
            (variable,) = arguments.variables
            import numpy as np

            direction = np.asarray(direction, dtype=variable.dtype)
            if direction.shape != variable.shape:
                raise ValueError(f"hvp: v must have x's shape {variable.shape}, got {direction.shape}")
            product = (first[0] * direction).sum()
        else:
            directions = _flat_numbers(v)
            if len(directions) != len(first):
                raise ValueError(f"hvp: v must have x's form ({len(first)} number(s)), got {len(directions)}")
            product = sum_values([g * d for g, d in zip(first, directions)])
    recorded = arguments.recorded(product)
    return arguments.results(gradients(product, arguments.variables, create_graph=recorded), recorded)


def _flat_numbers(v: Any) -> list[Any]:
    if isinstance(v, (list, tuple)):
        return [x for item in v for x in _flat_numbers(item)]
    if isinstance(v, (Value, numbers.Real)):
        return [v]
    raise TypeError(f"hvp: v must be a number, a Value or a list of them, got {type(v).__name__}: {v!r}")


def _name(wrapper: Callable[..., Any], who: str, f: Callable[..., Any]) -> None:
    name = getattr(f, "__name__", type(f).__name__)
    wrapper.__name__ = wrapper.__qualname__ = f"{who}({name})"
    wrapper.__doc__ = f"The {who} of {name}: see scratchgrad.functional.{who}."
    wrapper.__wrapped__ = f  # type: ignore[attr-defined]
