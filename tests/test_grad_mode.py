"""`no_grad` / `enable_grad`: operations inside record no graph, and the mode always comes back."""

from __future__ import annotations

from typing import Callable

import numpy as np

import pytest

import scratchgrad
from scratchgrad import Value, enable_grad, is_grad_enabled, no_grad, sum_values, weighted_sum
from scratchgrad import grad_mode

ALL_OPS: list[tuple[str, Callable[[Value, Value], Value]]] = [
    ("+", lambda a, b: a + b),
    ("+ number", lambda a, b: 1.5 + a),
    ("-", lambda a, b: a - b),
    ("- number", lambda a, b: 1.5 - a),
    ("*", lambda a, b: a * b),
    ("/", lambda a, b: a / b),
    ("/ number", lambda a, b: 2 / a),
    ("** number", lambda a, b: a**2),
    ("** Value", lambda a, b: a**b),
    ("number ** Value", lambda a, b: 2**a),
    ("neg", lambda a, b: -a),
    ("tanh", lambda a, b: a.tanh()),
    ("exp", lambda a, b: a.exp()),
    ("log", lambda a, b: a.log()),
    ("relu", lambda a, b: a.relu()),
    ("sigmoid", lambda a, b: a.sigmoid()),
    ("sum_values", lambda a, b: sum_values([a, b, 1.0])),
    ("weighted_sum", lambda a, b: weighted_sum([a, b], [b, 2.0], a)),
    ("by hand", lambda a, b: Value(a.data * 2, (a,), "double", _local=(2.0,))),
]


@pytest.mark.parametrize("name, op", ALL_OPS, ids=[n for n, _ in ALL_OPS])
def test_no_grad_records_no_graph_for_any_op(name: str, op: Callable[[Value, Value], Value]) -> None:
    a, b = Value(1.5), Value(0.5)
    expected = op(a, b)
    assert expected._prev != ()
    with no_grad():
        out = op(a, b)
    assert out._prev == () and out._local == ()
    assert out.data == expected.data  # the forward pass is unchanged
    out.backward()
    assert out.grad == 1.0 and a.grad == 0.0 and b.grad == 0.0


def test_is_grad_enabled_follows_the_blocks() -> None:
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        assert grad_mode.enabled is False
    assert is_grad_enabled()


def test_no_grad_as_a_decorator() -> None:
    @no_grad()
    def predict(x: Value) -> Value:
        """Inference without a graph."""
        assert not is_grad_enabled()
        return (x * 2).tanh()

    x = Value(0.3)
    y = predict(x)
    assert y._prev == ()
    assert is_grad_enabled()
    assert predict.__name__ == "predict" and predict.__doc__ == "Inference without a graph."
    # the decorated function can be called again, and from inside another block
    with no_grad():
        assert predict(x)._prev == ()
        assert not is_grad_enabled()
    with enable_grad():
        assert predict(x)._prev == ()
        assert is_grad_enabled()


def test_no_grad_as_a_bare_decorator_like_pytorch() -> None:
    # PyTorch accepts `@torch.no_grad` without parentheses; users write it that way.
    @no_grad  # type: ignore[arg-type]
    def predict(x: Value) -> Value:
        return x * 2

    assert predict(Value(1.0))._prev == ()
    assert is_grad_enabled()


def test_no_grad_blocks_nest() -> None:
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
            assert (Value(1.0) * 2)._prev == ()
        assert not is_grad_enabled()  # the inner block restores the outer one's mode
        assert (Value(1.0) * 2)._prev == ()
    assert is_grad_enabled()


def test_one_no_grad_object_can_be_reused_and_nested() -> None:
    block = no_grad()
    with block:
        with block:
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()
    with block:
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_enable_grad_inside_no_grad_records_again() -> None:
    a = Value(2.0)
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
            recorded = a * 3
        assert not is_grad_enabled()
        unrecorded = a * 3
    assert len(recorded._prev) == 2 and recorded._prev[0] is a and unrecorded._prev == ()
    recorded.backward()
    assert a.grad == 3.0


def test_enable_grad_as_a_decorator_inside_no_grad() -> None:
    @enable_grad()
    def loss_of(x: Value) -> Value:
        return x * x

    x = Value(3.0)
    with no_grad():
        loss = loss_of(x)
        assert not is_grad_enabled()
    loss.backward()
    assert x.grad == 6.0


def test_mode_is_restored_when_the_block_raises() -> None:
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            Value(1.0) / 0
    assert is_grad_enabled()
    with no_grad():
        with pytest.raises(RuntimeError):
            with enable_grad():
                raise RuntimeError("boom")
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_mode_is_restored_when_a_decorated_function_raises() -> None:
    @no_grad()
    def broken(x: Value) -> Value:
        return x.log()

    with pytest.raises(ValueError, match="log"):
        broken(Value(-1.0))
    assert is_grad_enabled()


def test_parameter_updates_inside_no_grad() -> None:
    w, b = Value(0.5), Value(-0.2)
    xs, ys = [1.0, 2.0, -1.0], [1.0, -1.0, 0.5]
    losses = []
    for _ in range(20):
        loss = sum_values(((w * x + b) - y) ** 2 for x, y in zip(xs, ys))
        w.grad = b.grad = 0.0
        loss.backward()
        with no_grad():
            # an update written with the operators, as with PyTorch tensors: no graph grows
            new_w, new_b = w - 0.05 * w.grad, b - 0.05 * b.grad
            assert new_w._prev == () and new_b._prev == ()
            w.data, b.data = new_w.data, new_b.data
            # evaluating inside no_grad leaves the parameters' gradients alone
            check = sum_values(((w * x + b) - y) ** 2 for x, y in zip(xs, ys))
            check.backward()
        losses.append(loss.data)
        assert w._prev == () and b._prev == ()
    assert losses[-1] < losses[0] / 2
    # the update used the gradients of the last recorded loss, not of the no_grad check
    assert w.grad != 0.0 and check.grad == 1.0


def test_value_made_under_no_grad_is_a_leaf_of_later_graphs() -> None:
    a, b = Value(2.0), Value(5.0)
    with no_grad():
        c = a * 3  # detached from a, like torch's detach()
    out = c * b
    out.backward()
    assert (a.grad, b.grad, c.grad) == (0.0, 6.0, 5.0)


def test_the_package_exports_the_shared_mode() -> None:
    assert scratchgrad.no_grad is grad_mode.no_grad
    assert scratchgrad.enable_grad is grad_mode.enable_grad
    assert scratchgrad.is_grad_enabled is grad_mode.is_grad_enabled


# ---- the mode belongs to a thread (issue 11, issue 12) ------------------------------------------

import threading  # noqa: E402

from scratchgrad import autograd, set_grad_enabled  # noqa: E402
from scratchgrad.tensor import Tensor  # noqa: E402


def _in_thread(target: Callable[[], object]) -> object:
    """Run ``target`` in a new thread; return what it returned, or raise what it raised."""
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["value"] = target()
        except BaseException as error:  # re-raised in the calling thread
            result["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the thread did not finish"
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result.get("value")


def test_no_grad_in_one_thread_leaves_another_recording() -> None:
    entered, checked = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def inference() -> None:
        with no_grad():
            entered.set()
            assert checked.wait(30)
            seen["inside"] = is_grad_enabled()
            seen["graph"] = (Value(2.0) * 3)._prev

    worker = threading.Thread(target=inference)
    worker.start()
    assert entered.wait(30)
    # the other thread is inside no_grad() right now; this one still records
    assert is_grad_enabled() and grad_mode.enabled
    a = Value(2.0)
    y = a * a
    t = Tensor([1.0, 2.0], requires_grad=True)
    z = (t * t).sum()
    checked.set()
    worker.join(30)
    assert len(y._prev) == 2 and z.requires_grad
    y.backward()
    z.backward()
    assert a.grad == 4.0 and t.grad.tolist() == [2.0, 4.0]
    assert seen == {"inside": False, "graph": ()}
    assert autograd.recording_off == 0


def test_a_new_thread_starts_recording_even_inside_no_grad() -> None:
    with no_grad():
        assert _in_thread(is_grad_enabled) is True
        assert _in_thread(lambda: len((Value(1.0) + Value(2.0))._prev)) == 2
        assert not is_grad_enabled()


def test_overlapping_no_grad_blocks_in_two_threads_never_leave_recording_off() -> None:
    # Issue 12: with one process-wide flag, thread A entering before B and leaving first
    # restored "on" while B was inside, and B then restored A's "off" for everybody.
    # Barriers force exactly that interleaving, many times over.
    rounds = 200
    barrier = threading.Barrier(2, timeout=30)
    errors: list[str] = []

    def worker(first: bool) -> None:
        for i in range(rounds):
            barrier.wait()
            if first:
                block = no_grad()
                block.__enter__()
                barrier.wait()  # A in
                barrier.wait()  # B in
                block.__exit__(None, None, None)  # A leaves while B is inside
                barrier.wait()
                if not is_grad_enabled() or not (Value(1.0) * 2)._prev:
                    errors.append(f"round {i}: thread A lost recording after its block")
                barrier.wait()  # B leaves
            else:
                barrier.wait()  # A in
                block = no_grad()
                block.__enter__()
                barrier.wait()  # B in
                barrier.wait()  # A left
                if is_grad_enabled() or (Value(1.0) * 2)._prev:
                    errors.append(f"round {i}: thread B records inside its own no_grad block")
                block.__exit__(None, None, None)
                barrier.wait()
            if not is_grad_enabled():
                errors.append(f"round {i}: recording left off")

    threads = [threading.Thread(target=worker, args=(first,)) for first in (True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    assert is_grad_enabled() and autograd.recording_off == 0


def test_threads_building_graphs_concurrently_get_their_own_correct_gradients() -> None:
    # Eight threads train the same tiny function of their own parameter, each under
    # contention (a barrier releases them together, and half of them evaluate inside
    # no_grad between steps): every thread ends with exactly its own gradients.
    n, steps = 8, 60
    start = threading.Barrier(n, timeout=30)
    results: dict[int, list[float]] = {}

    def train(k: int) -> None:
        w = Value(0.1 * k)
        t = Tensor([0.1 * k, 1.0], requires_grad=True)
        grads = []
        start.wait()
        for _ in range(steps):
            w.grad = 0.0
            loss = (w * w * 3.0 + w).tanh()
            loss.backward()
            expected = (1 - loss.data**2) * (6 * w.data + 1)
            grads.append(w.grad - expected)
            t.grad = None
            (t * t).sum().backward()
            grads.append(float(np.abs(t.grad - 2 * t.data).max()))
            if k % 2:
                with no_grad():
                    assert (w * 2)._prev == ()
            assert is_grad_enabled()
        results[k] = grads

    threads = [threading.Thread(target=train, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(results) == list(range(n))
    assert max(abs(e) for errs in results.values() for e in errs) < 1e-12
    assert autograd.recording_off == 0


def test_a_thread_that_ends_inside_no_grad_is_no_longer_counted() -> None:
    def leave_it_off() -> None:
        no_grad().__enter__()  # never exited: the thread ends with recording off
        assert autograd.recording_off >= 1

    _in_thread(leave_it_off)
    assert autograd.recording_off == 0  # the thread's state went with it
    assert (Value(1.0) * 2)._prev != ()


def test_the_hot_path_reads_one_counter_while_every_thread_records() -> None:
    from scratchgrad import engine, tensor

    def counters() -> tuple[int, int, int]:  # the count, and the copies the engines read
        return autograd.recording_off, engine._recording_off, tensor._recording_off

    assert counters() == (0, 0, 0)
    with no_grad():
        assert counters() == (1, 1, 1)
        with no_grad():
            assert counters() == (1, 1, 1)  # counted per thread, not per block
        with enable_grad():
            assert counters() == (0, 0, 0)
        assert _in_thread(counters) == (1, 1, 1)  # another thread sees this one counted
    assert counters() == (0, 0, 0)


# ---- set_grad_enabled, the old module path, decorators ---------------------------------------------


def test_set_grad_enabled_as_a_call_a_block_and_a_decorator() -> None:
    set_grad_enabled(False)
    try:
        assert not is_grad_enabled() and (Value(1.0) * 2)._prev == ()
    finally:
        set_grad_enabled(True)
    assert is_grad_enabled()
    with set_grad_enabled(False):
        assert not is_grad_enabled()
        with set_grad_enabled(True):
            assert is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()

    @set_grad_enabled(False)
    def predict(x: Value) -> Value:
        return x * 2

    assert is_grad_enabled()  # decorating changes nothing until the call
    assert predict(Value(1.0))._prev == () and is_grad_enabled()
    with pytest.raises(TypeError, match="True or False"):
        set_grad_enabled("no")  # type: ignore[arg-type]
    assert scratchgrad.set_grad_enabled is set_grad_enabled is grad_mode.set_grad_enabled


def test_the_old_module_flag_reads_and_sets_this_threads_mode() -> None:
    assert grad_mode.enabled is True
    with no_grad():
        assert grad_mode.enabled is False
        assert _in_thread(lambda: grad_mode.enabled) is True
    grad_mode.enabled = False
    try:
        assert not is_grad_enabled() and _in_thread(is_grad_enabled) is True
    finally:
        grad_mode.enabled = True
    assert is_grad_enabled() and autograd.recording_off == 0


def test_no_grad_on_a_generator_function_covers_every_step() -> None:
    @no_grad
    def predictions(xs: list[float]):  # type: ignore[no-untyped-def]
        for x in xs:
            yield (Value(x) * 2)._prev, is_grad_enabled()

    gen = predictions([1.0, 2.0])
    assert next(gen) == ((), False)
    assert is_grad_enabled()  # between steps the caller records as usual
    assert next(gen) == ((), False)
    assert list(gen) == [] and is_grad_enabled()


def test_no_grad_refuses_to_decorate_what_is_not_a_function() -> None:
    with pytest.raises(TypeError, match="function to decorate"):
        no_grad(True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="function to decorate"):
        enable_grad()(3)  # type: ignore[arg-type]
