"""Memory and determinism of the scalar engine (issue 7).

* A graph is freed by reference counting alone: no node is part of a reference cycle,
  so memory stays flat over 10,000 training steps with the garbage collector disabled.
* Gradients are summed in an order fixed by the graph's structure: the same seeded run
  in separate processes, with different hash seeds and heap layouts, gives bit-identical
  gradients.

No timings here: speed is measured in benchmarks/scalar.py only.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import math
import os
import random
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path
from typing import Callable, Iterator

import pytest

from scratchgrad import Value, no_grad, sum_values, weighted_sum

ROOT = Path(__file__).resolve().parent.parent

# ---- a training step that uses every operation --------------------------------------------


def _make_params(seed: int) -> list[Value]:
    rng = random.Random(seed)
    return [Value(rng.uniform(-0.5, 0.5)) for _ in range(12)]


SAMPLES = [([0.5, -1.0, 2.0], 1.0), ([-1.5, 0.25, 0.75], -1.0)]


def _loss(params: list[Value]) -> Value:
    """A small network and loss touching every op, constants on both sides included."""
    w1, w2, w3, b, p, q, r, s, t, u, v, k = params
    terms = []
    for x, y in SAMPLES:
        h1 = weighted_sum([w1, w2, w3], x, b).tanh()
        h2 = (w1 * x[0] - w2 / (2.0 + w3 * w3) + 1.5).relu()
        h3 = (h1 * p + h2 * q - r).sigmoid()
        h4 = (1 + (s * h3).exp()).log() + 2 ** (t * h1) - 1 / (1.0 + u**2)
        h5 = (0.5 + v * v) ** (0.5 + 0.1 * k.sigmoid())  # a Value exponent, positive base
        custom = Value(h4.data * 2.0, (h4,), "double", _local=(2.0,))  # built by hand
        score = 3 * h3 - h4 + -h5 + custom * 0.1
        terms.append((1 - y * score).relu() + (score - y) ** 2)
    return sum_values(terms) / len(terms) + 1e-3 * sum_values([w * w for w in params])


def _train_step(params: list[Value], lr: float = 1e-3) -> float:
    for p in params:
        p.grad = 0.0
    loss = _loss(params)
    loss.backward()
    with no_grad():
        for p in params:
            p.data -= lr * p.grad
    return float(loss.data)


# ---- memory ------------------------------------------------------------------------------------


# The benchmarks' switch for the cycle collector (collect once, off for the block, restored).
_spec = importlib.util.spec_from_file_location("scratchgrad_benchmark_harness", ROOT / "benchmarks" / "_harness.py")
assert _spec is not None and _spec.loader is not None
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)


@pytest.fixture
def collector_off() -> Iterator[None]:
    with harness.gc_mode(False):
        yield


def _traced_growth(step: Callable[[], object], steps: int, warmup: int = 1500) -> list[int]:
    """Bytes held (tracemalloc) after each block of steps, minus the bytes after warm-up."""
    tracemalloc.start()
    try:
        # Warm-up: CPython keeps up to 2,000 freed tuples of each small size for reuse, and
        # those free lists fill over the first thousand steps; they are not a leak.
        for _ in range(warmup):
            step()
        base = tracemalloc.get_traced_memory()[0]
        samples = []
        block = max(1, steps // 10)
        for i in range(1, steps + 1):
            step()
            if i % block == 0:
                samples.append(tracemalloc.get_traced_memory()[0] - base)
        return samples
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_over_10000_training_steps_with_the_collector_off(collector_off: None) -> None:
    params = _make_params(0)
    first_loss = _train_step(params)
    growth = _traced_growth(lambda: _train_step(params), steps=10_000)
    # One step's graph is some 100 nodes, over 10 kB: had any of it survived each step, the
    # 10,000 steps would hold a hundred megabytes. Allow a few kB of interpreter noise.
    assert max(growth) < 16_000, f"memory grew over training with gc off: {growth} bytes"
    last_loss = _train_step(params)
    assert math.isfinite(last_loss) and last_loss < first_loss  # it did train


def test_the_memory_check_catches_a_graph_that_is_kept_alive(collector_off: None) -> None:
    # The same measurement on a step whose graph sits in a reference cycle (as every node of
    # micrograd's does) must see the growth, or the test above proves nothing.
    params = _make_params(0)

    def leaky_step() -> None:
        loss = _loss(params)
        loss.backward()
        cycle: list[object] = [loss]
        cycle.append(cycle)

    growth = _traced_growth(leaky_step, steps=100, warmup=10)
    assert growth[-1] > 100 * 5_000, growth
    gc.collect()


def _live_values() -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is Value)  # type(): isinstance would
    # call __class__ on every object, and some (torch.distributed) warn when asked


def test_a_dropped_graph_is_freed_without_the_collector(collector_off: None) -> None:
    params = _make_params(1)
    before = _live_values()
    loss = _loss(params)
    loss.backward()
    assert _live_values() > before + 100  # the graph is alive while we hold its root
    del loss
    assert _live_values() == before  # ... and gone the moment we drop it, gc still off


def test_a_training_step_leaves_no_garbage_for_the_collector(collector_off: None) -> None:
    params = _make_params(2)
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep whatever the collector finds, to name it
    try:
        for _ in range(5):
            _train_step(params)
        found = gc.collect()
        ours = [obj for obj in gc.garbage if type(obj) is Value]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert not ours, f"{len(ours)} Values were in reference cycles"
    assert found == 0, f"the collector found {found} unreachable objects after training steps"


def test_nodes_hold_no_reference_back_to_their_consumers() -> None:
    # What makes the above true: a node references its children and numbers, nothing else.
    a, b = Value(2.0), Value(3.0)
    out = (a * b + a).tanh()
    for node in (out, *out._prev):
        for ref in gc.get_referents(node):
            if ref is Value:  # an instance's referents include its class
                continue
            assert ref is not out, f"{node!r} refers back to its consumer"
            assert not callable(ref), f"{node!r} holds a callable {ref!r} (a closure would make a cycle)"
    assert sys.getrefcount(out) == 2  # the local name and getrefcount's own argument


# ---- what a node costs -------------------------------------------------------------------------


def test_a_node_costs_about_100_bytes(collector_off: None) -> None:
    # One object per node with five references in its own slots (result, gradient, two
    # children, its shared Op; local derivatives are computed, not stored): micrograd's node
    # (instance dict, set of children, closure and cells) costs about 750 bytes. A chain of
    # mixed ops, results included, measured by tracemalloc.
    x, w = Value(0.5), Value(-1.5)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        y = x
        for i in range(10_000):
            y = (y * w + x).tanh() if i % 2 else y - 0.25 * x
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    nodes = 3 * 10_000  # three per step: *, +, tanh, or a constant leaf, *, -
    assert held / nodes < 110, f"{held / nodes:.0f} bytes per node"
    assert not hasattr(y, "__dict__")


def test_children_and_local_derivatives_read_back_for_every_arity() -> None:
    a, b, c = Value(2.0), Value(3.0), Value(5.0)
    assert a._prev == () and a._local == ()
    assert (-a)._prev == (a,) and (-a)._local == (-1.0,)
    assert (a * b)._prev == (a, b) and (a * b)._local == (3.0, 2.0)
    s = sum_values([a, b, c])
    assert s._prev == (a, b, c) and s._local == (1.0, 1.0, 1.0)
    w = weighted_sum([a, b], [c, 7.0], a)
    assert w._prev == (a, c, b, a) and w._local == (5.0, 2.0, 7.0, 1.0)
    hand = Value(1.0, [a, b, c, a], "custom", _local=[1, 2, 3, 4])
    assert hand._prev == (a, b, c, a) and hand._local == (1, 2, 3, 4)
    with no_grad():
        assert (a * b)._prev == () and sum_values([a, b, c])._prev == ()


def test_hand_built_nodes_are_checked() -> None:
    a = Value(1.0)
    with pytest.raises(ValueError, match="2 children but 1 local"):
        Value(2.0, (a, a), "custom", _local=(1.0,))
    with pytest.raises(TypeError, match="children must be Values, got float"):
        Value(2.0, (a, 3.0), "custom", _local=(1.0, 1.0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="_local entry"):
        Value(2.0, (a,), "custom", _local=("1",))  # type: ignore[arg-type]


def test_copied_and_pickled_graphs_still_backpropagate() -> None:
    import copy
    import pickle

    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    out = sum_values([a, b, c]) * a  # a node with three children, and one with two
    for clone in (copy.deepcopy(out), pickle.loads(pickle.dumps(out))):
        clone.backward()
        leaves = clone._prev[0]._prev
        assert [v.grad for v in leaves] == [7.0, 1.0, 1.0]


# ---- determinism -------------------------------------------------------------------------------

def _seeded_run() -> dict[str, object]:
    """Three training steps from seed 7, then the loss and gradients once more: every number
    as float.hex(), to compare bit for bit."""
    params = _make_params(7)
    for _ in range(3):
        _train_step(params, lr=0.05)
    for p in params:
        p.grad = 0.0
    loss = _loss(params)
    loss.backward()
    return {"loss": float(loss.data).hex(), "grads": [p.grad.hex() for p in params],
            "data": [float(p.data).hex() for p in params]}  # fmt: skip


_DETERMINISM_SCRIPT = textwrap.dedent(
    """
    import json, os, random, sys
    # Shift the heap by a different amount in each process: any dependence of the result
    # on memory addresses (a set of children, id()-ordered dicts) would show up.
    junk = [object() for _ in range(int.from_bytes(os.urandom(2), "little"))]
    sys.path.insert(0, sys.argv[1])
    from test_engine_memory import _seeded_run
    print(json.dumps(_seeded_run()))
    """
)


def _run_in_fresh_process(hash_seed: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    here = os.path.dirname(os.path.abspath(__file__))
    done = subprocess.run(
        [sys.executable, "-c", _DETERMINISM_SCRIPT, here],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_gradients_are_bit_identical_across_processes_and_hash_seeds() -> None:
    runs = [_run_in_fresh_process(seed) for seed in ("0", "1", "4242")]
    assert runs[0] == runs[1] == runs[2]
    # ... and equal to this process's own run, bit for bit.
    ours = _seeded_run()
    assert runs[0]["grads"] == ours["grads"]
    assert runs[0]["loss"] == ours["loss"]


def test_gradient_sums_follow_the_graph_not_the_order_nodes_were_made() -> None:
    # A node used by many consumers sums their contributions in an order fixed by the
    # graph. Building the same graph with its nodes allocated in a different order (so at
    # different addresses) must give the same bits.
    def build(shuffle_allocations: bool) -> list[str]:
        keep = [Value(0.0) for _ in range(1000)] if shuffle_allocations else []
        xs = [Value(0.1 * i - 0.35) for i in range(8)]
        random.Random(3).shuffle(keep)
        del keep[::2]
        shared = (xs[0] * xs[1]).tanh()
        terms = [shared * x + shared / (1.5 + x * x) for x in xs]
        total = sum_values(terms) + sum(terms[::-1]) * shared
        total.backward()
        return [x.grad.hex() for x in xs]

    assert build(False) == build(True)
