"""What both engines share: gradient recording per thread, and the walk over a graph.

Recording (grad mode). Inside ``no_grad()`` operations compute their results but record
no graph: no children, no local derivatives, nothing kept alive. As in PyTorch the switch
belongs to a thread: ``no_grad()`` in one thread leaves every other thread recording, and
a new thread starts with recording on. ``no_grad`` and ``enable_grad`` are context
managers and decorators (with or without parentheses); ``set_grad_enabled(mode)`` sets the
mode now and, used as a context manager or decorator, restores it afterwards.

Every operation of both engines asks "is this thread recording?". Reading a thread's own
flag costs more than reading a module global, so the question is asked in two steps:
``recording_off`` counts the threads whose recording is off right now (each engine module
keeps a copy in its own globals); while it is 0 (the common case) every thread records and
the operation is done asking, for the price of one global read. Only when some thread has
recording off does an operation read its own thread's flag.

The graph walk. A node of either engine lists its children in ``_prev``.
``topological_order(root)`` is every node at and below ``root``, children before the nodes
computed from them: the order in which drawings list nodes and in which the chain rule runs
backwards. ``backward_order(root)`` is its fast variant for `Value` graphs, the one
``Value.backward()`` (and the step-through pages) use: interior nodes only, consumers first,
read from the slots in which a `Value` keeps its children (see scratchgrad.engine).
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
from types import TracebackType
from typing import Any, Callable, Iterator, Protocol, Sequence, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# ---- recording, per thread ------------------------------------------------------------------

# The number of threads whose recording is off; written under _lock only, by the
# _RecordingOff objects below. The engines read it on every operation, from a copy in
# their own module globals (see share_recording_off): one global read, the cheapest check.
recording_off: int = 0
_lock = threading.Lock()
_copies: list[dict[str, Any]] = []


def share_recording_off(namespace: dict[str, Any]) -> None:
    """Keep ``namespace['_recording_off']`` (a module's globals) equal to ``recording_off``."""
    with _lock:
        namespace["_recording_off"] = recording_off
        _copies.append(namespace)


def _count(change: int) -> None:
    global recording_off
    with _lock:
        recording_off += change
        for namespace in _copies:
            namespace["_recording_off"] = recording_off


class _RecordingOff:
    """Held by a thread while its recording is off. ``recording_off`` counts these objects
    while they live, so a thread that ends inside ``no_grad()`` (its thread-local state is
    dropped with it) stops being counted too."""

    __slots__ = ()

    def __init__(self) -> None:
        _count(+1)

    def __del__(self) -> None:
        if _lock is None:  # pragma: no cover - interpreter shutdown
            return
        _count(-1)


class _ThreadMode(threading.local):
    """One thread's recording flag, and the modes its open blocks will restore."""

    enabled = True  # the class attribute is every new thread's starting value

    def __init__(self) -> None:
        self.saved: list[bool] = []
        self.off: _RecordingOff | None = None


_thread = _ThreadMode()


def is_grad_enabled() -> bool:
    """True when this thread's operations record the graph that ``backward()`` walks."""
    return _thread.enabled


def _set_enabled(mode: bool) -> None:
    """Switch this thread's recording. Off: counted before the flag drops; on: the flag rises
    before the count does, so a thread never reads its flag while the count says 'all on'."""
    state = _thread
    if mode:
        state.enabled = True
        state.off = None  # dropping it uncounts this thread
    elif state.enabled:
        state.off = _RecordingOff()
        state.enabled = False


def _check_mode(mode: object, who: str) -> bool:
    if not isinstance(mode, bool):
        raise TypeError(f"{who} expects True or False, got {type(mode).__name__}: {mode!r}")
    return mode


def _with_mode(func: F, mode: bool) -> F:
    """``func`` running with recording set to ``mode`` (and restored after) on every call.
    A generator function gets the mode while each of its steps runs, not only while the
    generator object is made."""
    if not callable(func):
        raise TypeError(f"expected a function to decorate, got {type(func).__name__}: {func!r}")
    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def generator(*args: Any, **kwargs: Any) -> Any:
            with _Block(mode):
                gen = func(*args, **kwargs)
                value = gen.send(None)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    with _Block(mode):
                        gen.close()
                    raise
                except BaseException as error:
                    with _Block(mode):
                        value = gen.throw(error)
                else:
                    try:
                        with _Block(mode):
                            value = gen.send(sent)
                    except StopIteration as stop:
                        return stop.value

        return generator  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _Block(mode):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class _Block:
    """Recording set to ``mode`` for a ``with`` block, restored at its end. The mode to restore
    is kept on the thread's own stack, so one block object can be nested, reused, and
    entered by several threads at once."""

    _mode: bool

    def __init__(self, mode: bool) -> None:
        self._mode = mode

    def __enter__(self) -> None:
        state = _thread
        state.saved.append(state.enabled)
        _set_enabled(self._mode)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _set_enabled(_thread.saved.pop())

    def __call__(self, func: F) -> F:
        return _with_mode(func, self._mode)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class no_grad(_Block):
    """``with no_grad():``, ``@no_grad()`` or ``@no_grad``: this thread's operations inside
    record no graph (for inference and parameter updates). Other threads are not affected."""

    _mode = False

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        instance = super().__new__(cls)
        # `@no_grad` without parentheses (PyTorch allows it) passes the function here
        return instance(func) if func is not None else instance

    def __init__(self, func: Callable[..., Any] | None = None) -> None:
        pass


class enable_grad(_Block):
    """``with enable_grad():`` (or as a decorator): this thread records again, e.g. inside a
    ``no_grad()`` block."""

    _mode = True

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        instance = super().__new__(cls)
        return instance(func) if func is not None else instance

    def __init__(self, func: Callable[..., Any] | None = None) -> None:
        pass


class set_grad_enabled(_Block):
    """``set_grad_enabled(False)`` switches this thread's recording off now (as a function
    call); ``with set_grad_enabled(mode):`` and ``@set_grad_enabled(mode)`` set it for the
    block or the calls only and restore the previous mode afterwards (as in PyTorch)."""

    def __init__(self, mode: bool) -> None:
        self._mode = _check_mode(mode, "set_grad_enabled")
        self._previous = _thread.enabled
        _set_enabled(self._mode)

    def __enter__(self) -> None:
        pass  # already set by the constructor

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _set_enabled(self._previous)

    def __call__(self, func: F) -> F:
        _set_enabled(self._previous)  # as a decorator the mode applies during calls only
        return _with_mode(func, self._mode)

    def __repr__(self) -> str:
        return f"set_grad_enabled({self._mode})"


# ---- the graph walk ------------------------------------------------------------------------


class Node(Protocol):
    """What the walk needs from a node of either engine."""

    @property
    def _prev(self) -> Sequence[Any]: ...


def topological_order(root: Any) -> list[Any]:
    """Every node at and below ``root`` (a `Value` or a `Tensor`), each after all of its
    children: depth first along ``_prev``, like the tutorial's ``build_topo``, so the order
    depends only on the graph's structure (equal graphs give equal drawings). Iterative, so
    a graph of any depth is fine."""
    order: list[Any] = []
    visited = {root}
    stack: list[tuple[Any, Iterator[Any]]] = [(root, iter(root._prev))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if child not in visited:
                visited.add(child)
                stack.append((child, iter(child._prev)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


class _Many:
    """The ``_b`` of a `Value` with three or more children, which keeps them in tuples instead."""

    def __repr__(self) -> str:
        return "_MANY"

    def __reduce__(self) -> str:  # copy, deepcopy and pickle keep the one instance
        return "_MANY"


_MANY: Any = _Many()


class _Zero(float):
    """A 0.0 with an identity of its own (``is`` tells two apart on every Python): the marks
    of backward_order."""

    __slots__ = ()


def backward_order(root: Any) -> list[Any]:
    """The interior `Value` nodes at and below ``root``, each before all of its children: the
    order in which ``backward()`` applies the chain rule. Sets their grads to 0.0 on the way.

    A depth-first post-order on an explicit stack (depth costs no recursion), reversed.
    Children are visited in ``_prev`` order, so the order, and with it the order in which
    gradients are summed, depends only on the graph's structure. It reads a node's children
    from its slots (``_a``, ``_b``; tuples when ``_b`` is ``_MANY``), not from ``_prev``.

    Where a node stands is kept in its own ``grad``, which this walk resets anyway: two
    zeros made for this call alone mean ``entered`` (its children are being ordered) and
    ``done`` (in the order). A grad that is neither object (any number, even 0.0, left by an
    earlier call or by construction) means not seen yet. Marks on the nodes spare a set of
    visited nodes (its memory and a hash lookup per edge), and marks in ``grad`` spare every
    node a slot of its own: a smaller node is faster to make, to free and for the garbage
    collector to visit. The ``done`` zero is the 0.0 the chain rule then adds to.
    """
    entered, done = _Zero(), _Zero()
    order: list[Any] = []
    if root._a is None:  # a leaf: nothing to order
        return order
    append = order.append
    stack = [root]
    push, pop = stack.append, stack.pop
    while stack:
        node = pop()
        mark = node.grad
        if mark is entered:  # back to it: everything under it is in the order
            node.grad = done
            append(node)
            continue
        if mark is done:  # pushed twice, by two consumers, and already ordered
            continue
        # Push the node back (to be ordered once its children are), then its interior
        # children not yet ordered, the last first so the first comes out first. None of
        # them can be `entered`: that would be a cycle. Rather than push the first child
        # and pop it at once, go straight down to it (most graphs are long chains of
        # first children: sums, layers). A node without such children (half of a typical
        # graph: products of weights and inputs) is done at once.
        while True:
            a, b = node._a, node._b
            if b is _MANY:
                node.grad = entered
                push(node)
                for child in reversed(a):
                    if child._a is not None and child.grad is not done:
                        push(child)
                break
            down = a._a is not None and a.grad is not done
            if b is not None and b._a is not None and b.grad is not done:
                node.grad = entered
                push(node)
                push(b)
            elif down:
                node.grad = entered
                push(node)
            else:
                node.grad = done
                append(node)
                break
            if not down:
                break
            node = a  # straight down to the first child, as if pushed and popped
    order.reverse()  # children first -> consumers first
    return order


# ---- the chain rule over a whole graph, for any order ---------------------------------------


def backpropagate(
    root: Any,
    seed: Any,
    vjp: Callable[[Any, Any], Sequence[Any]],
    visit: Callable[[Any, Any], None],
    needed: set[Any] | None = None,
) -> None:
    """The chain rule over the graph below ``root``, consumers before their children.

    ``seed`` is d(root)/d(root). ``vjp(node, g)`` gives, from d(root)/d(node) = ``g``, the
    contribution for each child in ``_prev`` order (None for a child that needs none). Each
    node's gradient is complete (every consumer has added to it) when its vjp runs, and
    ``visit(node, gradient)`` then sees it, once per node that receives a gradient. With
    ``needed`` (a set of nodes), only those nodes pass gradients on.

    Numbers, arrays, Values and Tensors all work as gradients: recorded as a graph when
    they are Values or Tensors computed with recording on (create_graph), plain otherwise.
    """
    grads: dict[Any, Any] = {root: seed}
    for node in reversed(topological_order(root)):
        g = grads.pop(node, None)
        if g is None:
            continue
        visit(node, g)
        if not node._prev or (needed is not None and node not in needed):
            continue
        for child, child_grad in zip(node._prev, vjp(node, g)):
            if child_grad is None or (needed is not None and child not in needed):
                continue
            previous = grads.get(child)
            grads[child] = child_grad if previous is None else previous + child_grad


def reaching(root: Any, targets: Sequence[Any]) -> set[Any]:
    """The nodes at and below ``root`` from which some node of ``targets`` can be reached
    (the targets included): where a gradient with respect to the targets can flow."""
    wanted = set(targets)
    found: set[Any] = set()
    for node in topological_order(root):
        if node in wanted or any(child in found for child in node._prev):
            found.add(node)
    return found


def gradients(output: Any, inputs: Sequence[Any], grad_output: Any = None, create_graph: bool = False) -> list[Any]:
    """d(output)/d(input) for each of ``inputs``, like PyTorch's ``torch.autograd.grad``: no
    ``.grad`` anywhere changes.

    ``output`` and ``inputs`` are Values, or Tensors (an input anywhere in the graph, not
    only a leaf). ``grad_output`` seeds d(output)/d(output) (default 1, or ones for a
    tensor). With ``create_graph=True`` the gradients are themselves graphs (Values /
    Tensors) that can be differentiated again; otherwise they are numbers / arrays. An input
    the output does not depend on gets a zero gradient.
    """
    from scratchgrad.engine import Value, _value_gradient_rules

    inputs = list(inputs)
    tensor_module = sys.modules.get("scratchgrad.tensor")  # loaded if any Tensor exists
    if isinstance(output, Value):
        rules = _value_gradient_rules(output, inputs, grad_output, create_graph)
    elif tensor_module is not None and isinstance(output, tensor_module.Tensor):
        from scratchgrad.tensor_backward import _tensor_gradient_rules

        rules = _tensor_gradient_rules(output, inputs, grad_output, create_graph)
    else:
        raise TypeError(
            f"gradients: the output must be a Value or a Tensor, got {type(output).__name__}: {output!r}"
            + _CREATE_GRAPH_HINT
        )
    seed, vjp, zero = rules
    found: dict[Any, Any] = {}
    wanted = set(inputs)

    def keep(node: Any, g: Any) -> None:
        if node in wanted:
            found[node] = g

    with _Block(True) if create_graph else _NoBlock():
        backpropagate(output, seed, vjp, keep, needed=reaching(output, inputs))
    return [found[x] if x in found else zero(x) for x in inputs]


# What a user who differentiates a plain number most likely did, and the fix.
_CREATE_GRAPH_HINT = (
    ". A gradient computed by backward() without create_graph is a plain number (or array) and "
    "cannot be differentiated again: call backward(create_graph=True), or use scratchgrad.grad, "
    "so that the gradient is a Value (or Tensor) recorded in the graph"
)


class _NoBlock:
    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        pass


__all__ = [
    "backpropagate",
    "backward_order",
    "enable_grad",
    "gradients",
    "is_grad_enabled",
    "no_grad",
    "reaching",
    "recording_off",
    "set_grad_enabled",
    "topological_order",
]
