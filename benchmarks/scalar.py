"""Speed and memory of the scalar engine, side by side with micrograd (and PyTorch per scalar).

    python benchmarks/scalar.py               # the full run, about 2 minutes (`make bench`)
    python benchmarks/scalar.py --quick       # a smoke run: fewer repeats and steps, smaller chain
    python benchmarks/scalar.py --heap demo   # in a notebook-sized heap (see below)
    python benchmarks/scalar.py --clock cpu   # CPU time instead of wall time, on a busy machine

Each workload is written once, below, as expression code over a ``Value`` class, and
runs unchanged on every engine:

  1. seed loop   the seed's training loop: MLP(3, [4, 4, 1]) on its 4 samples, 50 steps of
                 forward, zero grads, backward, SGD (relu hidden units: micrograd has no tanh)
  2. moons step  micrograd's demo: two moons, 100 samples, MLP(2, [16, 16, 1]) relu, hinge
                 loss + 1e-4 L2, full batch, SGD with its linear decay
  3. nodes/s     forward + backward of MLP(64, [64, 64, 1]) on one sample
  4. bytes/node  tracemalloc bytes per graph node of the moons loss graph
  5. chain       backward of a 1,000,000-node chain
  6. own MLP     the moons step with each library's own MLP and losses
  7. gc          where the collector's time goes in scratchgrad's moons step: per generation,
                 collections, time and objects walked per step (--only gc for just this)

micrograd runs as users run it (garbage collector on) and with the collector off (its
engine alone); so does scratchgrad. The engines take turns within each repeat and every
figure is a median over the repeats (at least 5 in the full run). micrograd with the
collector on needs about a second per moons step, so it runs fewer steps per repeat than
the others and every engine is reported per step.

The collector's cost depends on the whole process: a full collection walks every live
object, not only the graph's. The default measures in a bare process; ``--heap demo``
first imports what micrograd's demo notebook imports (numpy, matplotlib, scikit-learn),
which makes every collection dearer, for both engines.

PyTorch (each weight its own 0-d float64 tensor, one thread) is a reference, not a
contender: it runs in its own pass after the others, with fewer repeats, because
importing it puts some 100,000 objects on the heap, which would slow every later
collection of micrograd's cycles and skew the main comparison.

Results go to benchmarks/results/scalar.json.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script from anywhere

import _harness as h  # noqa: E402

SG, SG_OFF = "scratchgrad", "scratchgrad (gc off)"
MG, MG_OFF = "micrograd", "micrograd (gc off)"
PT = "pytorch (per scalar)"

# ---- the engines -----------------------------------------------------------------------------


@dataclass
class Engine:
    """What the expression code needs from an engine beyond its operators and ``.relu()``."""

    name: str
    gc_enabled: bool
    param: Callable[[float], Any]  # a trainable scalar
    const: Callable[[float], Any]  # an input scalar (micrograd's demo makes inputs Values too)
    zero_grad: Callable[[list], None]
    sgd: Callable[[list, float], None]
    item: Callable[[Any], float]
    grad: Callable[[Any], float]


def value_engine(name: str, value_class: Any, gc_enabled: bool) -> Engine:
    """An engine whose scalar is a micrograd-style ``Value`` class."""

    def zero_grad(params: list) -> None:
        for p in params:
            p.grad = 0.0

    def sgd(params: list, lr: float) -> None:
        for p in params:
            p.data -= lr * p.grad

    return Engine(
        name=name,
        gc_enabled=gc_enabled,
        param=value_class,
        const=value_class,
        zero_grad=zero_grad,
        sgd=sgd,
        item=lambda v: float(v.data),
        grad=lambda v: float(v.grad),
    )


def main_engines() -> list[Engine]:
    from scratchgrad import Value as SgValue

    try:
        from micrograd.engine import Value as MgValue
    except ImportError:
        raise SystemExit(
            "benchmarks/scalar.py compares with micrograd: pip install 'scratchgrad[bench]' "
            "(it installs micrograd==0.1.0 and torch==2.13.0)"
        ) from None
    return [
        value_engine(SG, SgValue, gc_enabled=True),
        value_engine(SG_OFF, SgValue, gc_enabled=False),
        value_engine(MG, MgValue, gc_enabled=True),
        value_engine(MG_OFF, MgValue, gc_enabled=False),
    ]


def torch_engine() -> Engine | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)  # 0-d tensors: threads only add overhead

    def param(x: float) -> Any:
        return torch.tensor(x, dtype=torch.float64, requires_grad=True)

    def const(x: float) -> Any:
        return torch.tensor(x, dtype=torch.float64)

    def zero_grad(params: list) -> None:
        for p in params:
            p.grad = None

    def sgd(params: list, lr: float) -> None:
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad

    return Engine(
        name=PT,
        gc_enabled=True,
        param=param,
        const=const,
        zero_grad=zero_grad,
        sgd=sgd,
        item=lambda v: float(v.item()),
        grad=lambda v: 0.0 if v.grad is None else float(v.grad),
    )


# ---- the expression code, written once ---------------------------------------------------


class Neuron:
    """micrograd's neuron: relu(sum(w_i x_i, start=b)); linear in the last layer."""

    def __init__(self, E: Engine, nin: int, rng: random.Random, nonlin: bool) -> None:
        self.w = [E.param(rng.uniform(-1, 1)) for _ in range(nin)]
        self.b = E.param(0.0)
        self.nonlin = nonlin

    def __call__(self, x: list) -> Any:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list:
        return self.w + [self.b]


class SeedNeuron(Neuron):
    """The seed's neuron: sum([w_i x_i]) + b, with relu for tanh (micrograd has no tanh)."""

    def __init__(self, E: Engine, nin: int, rng: random.Random, nonlin: bool) -> None:
        super().__init__(E, nin, rng, nonlin)
        self.b = E.param(rng.uniform(-1, 1))

    def __call__(self, x: list) -> Any:
        out = sum([wi * xi for wi, xi in zip(self.w, x)]) + self.b
        return out.relu() if self.nonlin else out


class MLP:
    """Layers of neurons; the same random weights on every engine for the same seed."""

    def __init__(self, E: Engine, nin: int, nouts: list[int], seed: int, neuron: type = Neuron) -> None:
        rng = random.Random(seed)
        sizes = [nin] + nouts
        self.layers = [
            [neuron(E, sizes[i], rng, nonlin=i != len(nouts) - 1) for _ in range(sizes[i + 1])]
            for i in range(len(nouts))
        ]

    def __call__(self, x: list) -> Any:
        for layer in self.layers:
            out = [n(x) for n in layer]
            x = out[0] if len(out) == 1 else out
        return x

    def parameters(self) -> list:
        return [p for layer in self.layers for n in layer for p in n.parameters()]


SEED_XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
SEED_YS = [1.0, -1.0, -1.0, 1.0]


def seed_loop(E: Engine, steps: int, seed: int = 3) -> float:
    """Workload 1, the seed's last training cell, with lr 0.05 (at the seed's 0.1 this seed's
    relu units die and the loss sticks at 4.0; the work per step is the same). Returns
    the final loss."""
    n = MLP(E, 3, [4, 4, 1], seed, neuron=SeedNeuron)
    xs, ys = SEED_XS, SEED_YS
    loss = None
    for k in range(steps):
        ypred = [n(x) for x in xs]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
        E.zero_grad(n.parameters())
        loss.backward()
        E.sgd(n.parameters(), 0.05)
    return E.item(loss)


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: int = 1) -> tuple[list, list]:
    """Two interleaving half circles (scikit-learn's recipe), labels -1.0 / +1.0."""
    rng = random.Random(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    X: list[list[float]] = []
    y: list[float] = []
    for i in range(n_out):
        t = math.pi * i / (n_out - 1)
        X.append([math.cos(t), math.sin(t)])
        y.append(-1.0)
    for i in range(n_in):
        t = math.pi * i / (n_in - 1)
        X.append([1.0 - math.cos(t), 1.0 - math.sin(t) - 0.5])
        y.append(1.0)
    X = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for a, b in X]
    return X, y


MOONS_X, MOONS_Y = make_moons()


def moons_loss(E: Engine, model: Any) -> Any:
    """micrograd's demo loss: mean hinge loss over the batch + 1e-4 * sum of squared weights."""
    inputs = [list(map(E.const, xrow)) for xrow in MOONS_X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(MOONS_Y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    alpha = 1e-4
    reg_loss = alpha * sum((p * p for p in model.parameters()))
    return data_loss + reg_loss


class MoonsTrainer:
    """Workload 2: the demo's training step, its k = 0, 1, 2, ... carried across calls."""

    def __init__(self, E: Engine, model: Any, loss_fn: Callable[[Engine, Any], Any] = moons_loss) -> None:
        self.E, self.model, self.loss_fn = E, model, loss_fn
        self.k = 0
        self.last_loss = math.nan

    def step(self) -> None:
        E, model = self.E, self.model
        total_loss = self.loss_fn(E, model)
        E.zero_grad(model.parameters())
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * (self.k % 100) / 100
        E.sgd(model.parameters(), learning_rate)
        self.k += 1
        self.last_loss = E.item(total_loss)

    def steps(self, n: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(n):
                self.step()

        return run


WIDE_X = [math.sin(i) for i in range(64)]


def wide_forward_backward(E: Engine, model: Any) -> Any:
    """Workload 3: one sample through MLP(64, [64, 64, 1]), then backward."""
    out = model(list(map(E.const, WIDE_X)))
    out.backward()
    return out


def chain(E: Engine, n_nodes: int) -> tuple[Any, Any]:
    """Workload 5: x, then y = y + x, n_nodes - 1 times: n_nodes deep, and d y/d x = n_nodes."""
    x = E.param(1.0)
    y = x
    for _ in range(n_nodes - 1):
        y = y + x
    return x, y


def count_nodes(root: Any) -> int:
    """Distinct nodes reachable through ``_prev`` (a set in micrograd, a tuple here)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


# ---- each library's own MLP and losses (workload 6) -------------------------------------


def own_micrograd_model(seed: int) -> Any:
    import micrograd.nn

    random.seed(seed)
    return micrograd.nn.MLP(2, [16, 16, 1])


def own_micrograd_loss(E: Engine, model: Any) -> Any:
    """micrograd's demo has no losses module: its loss is the expression code above."""
    return moons_loss(E, model)


def own_scratchgrad_model(seed: int) -> Any:
    from scratchgrad.nn import MLP as SgMLP

    return SgMLP(2, [16, 16, 1], activation="relu", output_activation="linear", seed=seed)


def own_scratchgrad_loss(E: Engine, model: Any) -> Any:
    """The same loss with scratchgrad's losses module; inputs stay plain floats."""
    from scratchgrad import losses

    scores = [model(x) for x in MOONS_X]
    return losses.hinge_loss(scores, MOONS_Y) + losses.l2_penalty(model.parameters(), 1e-4)


# ---- measuring ---------------------------------------------------------------------------


@dataclass
class Plan:
    repeats: int
    seed_repeats: int  # a seed loop takes milliseconds: more repeats for a steadier median
    seed_steps: int
    moons_steps: dict[str, int]  # per engine, per repeat
    wide_calls: dict[str, int]
    chain_nodes: int
    torch_repeats: int
    torch_moons_steps: int
    torch_wide_calls: int


FULL = Plan(
    # More, shorter repeats rather than fewer long ones: on a machine shared with other
    # jobs, a burst of load then spoils a few repeats, which the median ignores.
    repeats=9,
    seed_repeats=15,
    seed_steps=50,
    moons_steps={SG: 6, SG_OFF: 6, MG: 2, MG_OFF: 3},
    wide_calls={SG: 20, SG_OFF: 20, MG: 4, MG_OFF: 8},
    chain_nodes=1_000_000,
    torch_repeats=3,
    torch_moons_steps=2,
    torch_wide_calls=2,
)
QUICK = Plan(
    repeats=3,
    seed_repeats=5,
    seed_steps=50,
    moons_steps={SG: 2, SG_OFF: 2, MG: 1, MG_OFF: 1},
    wide_calls={SG: 3, SG_OFF: 3, MG: 1, MG_OFF: 1},
    chain_nodes=100_000,
    torch_repeats=1,
    torch_moons_steps=1,
    torch_wide_calls=1,
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def summary(samples: list[float]) -> dict[str, Any]:
    return {"median": h.median(samples), "min": min(samples), "max": max(samples), "samples": samples}


def bench_seed(engines: list[Engine], steps: int, repeats: int, clock: str) -> dict[str, Any]:
    cases = {E.name: (lambda E=E: seed_loop(E, steps)) for E in engines}
    times = h.time_alternating(cases, repeats, {E.name: E.gc_enabled for E in engines}, clock)
    return {E.name: {"seconds": summary(times[E.name]), "final_loss": seed_loop(E, steps)} for E in engines}


def bench_moons(
    engines: list[Engine],
    trainers: dict[str, MoonsTrainer],
    steps: dict[str, int],
    repeats: int,
    clock: str,
) -> dict[str, Any]:
    for E in engines:  # one step each first: warms up, and the first losses must agree
        with h.gc_mode(E.gc_enabled):
            trainers[E.name].step()
    first_loss = {name: t.last_loss for name, t in trainers.items()}
    cases = {E.name: trainers[E.name].steps(steps[E.name]) for E in engines}
    times = h.time_alternating(cases, repeats, {E.name: E.gc_enabled for E in engines}, clock)
    return {
        E.name: {
            "seconds_per_step": summary([t / steps[E.name] for t in times[E.name]]),
            "steps_per_repeat": steps[E.name],
            "first_loss": first_loss[E.name],
        }
        for E in engines
    }


def bench_wide(
    engines: list[Engine], calls: dict[str, int], repeats: int, clock: str, nodes: int | None = None
) -> dict[str, Any]:
    """``nodes``: the graph's size, counted here on the first engine with ``_prev`` if not given."""
    models = {E.name: MLP(E, 64, [64, 64, 1], seed=2) for E in engines}
    for E in engines:  # warm up, and count the graph's nodes
        with h.gc_mode(False):
            root = wide_forward_backward(E, models[E.name])
            if nodes is None and hasattr(root, "_prev"):
                nodes = count_nodes(root)
            del root
    if nodes is None:
        raise ValueError("bench_wide: give the node count for engines without _prev")

    def case(E: Engine) -> Callable[[], None]:
        def run() -> None:
            for _ in range(calls[E.name]):
                wide_forward_backward(E, models[E.name])

        return run

    times = h.time_alternating({E.name: case(E) for E in engines}, repeats, {E.name: E.gc_enabled for E in engines}, clock)
    out: dict[str, Any] = {}
    for E in engines:
        per_call = h.median([t / calls[E.name] for t in times[E.name]])
        out[E.name] = {"seconds_per_call": per_call, "nodes": nodes, "nodes_per_second": nodes / per_call}
    return out


def bench_bytes(engines: list[Engine]) -> dict[str, Any]:
    """tracemalloc: bytes the moons graph holds after the forward pass, and the peak
    through forward and backward, each per graph node (leaves included)."""
    out: dict[str, Any] = {}
    for E in engines:
        model = MLP(E, 2, [16, 16, 1], seed=1)
        loss, held, peak_forward = h.traced_bytes(lambda: moons_loss(E, model))
        nodes = count_nodes(loss)
        _, _, peak_backward = h.traced_bytes(loss.backward)
        out[E.name] = {
            "nodes": nodes,
            "graph_bytes_per_node": held / nodes,
            "peak_bytes_per_node": max(peak_forward, held + peak_backward) / nodes,
        }
        del loss
        gc.collect()
    return out


def bench_chain(E: Engine, n_nodes: int, repeats: int, clock: str) -> dict[str, Any]:
    now = h.CLOCKS[clock]
    builds, backs = [], []
    x_grad = None
    error = None
    for _ in range(repeats):
        with h.gc_mode(False):  # building a million nodes is not what is measured here
            start = now()
            x, y = chain(E, n_nodes)
            builds.append(now() - start)
        with h.gc_mode(E.gc_enabled):
            start = now()
            try:
                y.backward()
            except RecursionError as e:  # micrograd's recursive topological sort
                error = f"RecursionError: {e}"
            backs.append(now() - start)
        x_grad = E.grad(x)
        x = y = None  # free the chain before the next one
        gc.collect()
        if error:
            break
    if error is None and x_grad != n_nodes:
        error = f"wrong gradient: d y/d x = {x_grad}, expected {n_nodes}"
    return {
        "nodes": n_nodes,
        "build_seconds": h.median(builds),
        "backward_seconds": None if error else h.median(backs),
        "seconds_until_error": backs[-1] if error else None,
        "x_grad": x_grad,
        "error": error,
    }


def gc_profile(E: Engine, steps: int, clock: str) -> dict[str, Any]:
    """Where the collector's time goes in moons steps with the collector on: per generation,
    collections per step and their time per step; then, in a second run of the same steps,
    the objects each collection walks (its generations, counted as it starts, untimed)
    and how many of them are graph nodes (instances of the engine's Value class)."""
    now = h.CLOCKS[clock]
    value_type = type(E.param(0.0))
    stats = {g: {"collections": 0, "seconds": 0.0, "objects": 0, "graph_nodes": 0} for g in range(3)}
    started: dict[str, float] = {}

    def timing(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started["t"] = now()
        else:
            stats[info["generation"]]["collections"] += 1
            stats[info["generation"]]["seconds"] += now() - started["t"]

    def counting(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            generation = info["generation"]
            walked = [o for g in range(generation + 1) for o in gc.get_objects(generation=g)]
            stats[generation]["objects"] += len(walked)
            stats[generation]["graph_nodes"] += sum(1 for o in walked if type(o) is value_type)

    total = 0.0
    for callback in (timing, counting):
        trainer = MoonsTrainer(E, MLP(E, 2, [16, 16, 1], seed=1))
        with h.gc_mode(True):
            trainer.step()  # warm up
            gc.collect()
            gc.callbacks.append(callback)
            try:
                start = now()
                for _ in range(steps):
                    trainer.step()
                total = total or now() - start
            finally:
                gc.callbacks.remove(callback)
    collector = sum(st["seconds"] for st in stats.values())
    return {
        "steps": steps,
        "seconds_per_step": total / steps,
        "collector_seconds_per_step": collector / steps,
        "generations": {
            str(g): {
                "collections_per_step": st["collections"] / steps,
                "seconds_per_step": st["seconds"] / steps,
                "objects_per_step": st["objects"] / steps,
                "graph_node_share": st["graph_nodes"] / st["objects"] if st["objects"] else 0.0,
                "ns_per_object": 1e9 * st["seconds"] / st["objects"] if st["objects"] else 0.0,
            }
            for g, st in stats.items()
        },
    }


def gc_table(profile: dict[str, Any]) -> str:
    rows = []
    for g, st in profile["generations"].items():
        rows.append([
            f"generation {g}",
            f"{st['collections_per_step']:.1f}",
            f"{st['seconds_per_step'] * 1e3:.2f} ms",
            f"{st['objects_per_step']:,.0f}",
            f"{100 * st['graph_node_share']:.0f}%",
            f"{st['ns_per_object']:.0f} ns",
        ])
    head = (f"scratchgrad's moons step with the collector on: {profile['seconds_per_step'] * 1e3:.1f} ms, of which "
            f"the collector {profile['collector_seconds_per_step'] * 1e3:.1f} ms (over {profile['steps']} steps)")
    table = h.table(["collections", "per step", "time per step", "objects walked", "graph nodes", "per object"], rows)
    return head + "\n" + table


# ---- reporting ---------------------------------------------------------------------------


def _get(results: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if not isinstance(results, dict) or key not in results:
            return None
        results = results[key]
    return results


def _fmt_time(s: float | None) -> str:
    return "-" if s is None else h.fmt_seconds(s)


def medians_table(r: dict[str, Any]) -> str:
    names = [SG, SG_OFF, MG, MG_OFF, PT]
    rows = []

    def time_row(label: str, section: str, *key: str) -> None:
        rows.append([label, *[_fmt_time(_get(r, section, n, *key)) for n in names]])

    if "seed" in r:
        time_row(f"1. seed loop, {r['plan']['seed_steps']} steps", "seed", "seconds", "median")
    if "moons" in r:
        time_row("2. moons step", "moons", "seconds_per_step", "median")
    if "wide" in r:
        vals = [_get(r, "wide", n, "nodes_per_second") for n in names]
        rows.append(["3. nodes/s, MLP(64, [64, 64, 1])", *["-" if v is None else f"{v / 1e6:.2f} M" for v in vals]])
    if "bytes" in r:
        for key, label in (("peak_bytes_per_node", "4. peak bytes/node, moons graph"),
                           ("graph_bytes_per_node", "   bytes/node held after forward")):
            vals = [_get(r, "bytes", n, key) for n in names]
            rows.append([label, *["-" if v is None else f"{v:.0f} B" for v in vals]])
    if "chain" in r:
        cells = []
        for n in names:
            entry = _get(r, "chain", n)
            if entry is None:
                cells.append("-")
            elif entry["error"]:
                cells.append(entry["error"].split(":")[0])
            else:
                cells.append(_fmt_time(entry["backward_seconds"]))
        nodes = next(e["nodes"] for e in r["chain"].values())
        rows.append([f"5. backward, {nodes:,}-node chain", *cells])
    if "own_mlp" in r:
        rows.append(["6. moons step, own MLP + losses",
                     _fmt_time(_get(r, "own_mlp", SG, "seconds_per_step", "median")), "-",
                     _fmt_time(_get(r, "own_mlp", MG, "seconds_per_step", "median")), "-", "-"])
    return h.table(["workload", *names], rows)


BARS = [
    # label, section, numerator (slower), denominator (scratchgrad), key, bar
    ("moons step vs micrograd, both as users run them (gc on)", "moons", MG, SG, ("seconds_per_step", "median"), 8.0),
    ("moons step vs micrograd with gc off (scratchgrad gc on)", "moons", MG_OFF, SG, ("seconds_per_step", "median"), 2.0),
    ("moons step, engines alone (both gc off)", "moons", MG_OFF, SG_OFF, ("seconds_per_step", "median"), 2.0),
    ("seed loop vs micrograd, both gc on", "seed", MG, SG, ("seconds", "median"), 4.0),
    ("seed loop, engines alone (both gc off)", "seed", MG_OFF, SG_OFF, ("seconds", "median"), None),
    ("peak bytes per node: micrograd / scratchgrad", "bytes", MG, SG, ("peak_bytes_per_node",), 3.0),
    ("moons step, own MLP + losses vs micrograd's (gc on)", "own_mlp", MG, SG, ("seconds_per_step", "median"), 15.0),
]


def ratios(r: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for label, section, slow, fast, key, bar in BARS:
        a, b = _get(r, section, slow, *key), _get(r, section, fast, *key)
        if a is None or b is None:
            continue
        value = a / b
        row = {"comparison": label, "ratio": value, "bar": bar, "meets_bar": None if bar is None else value >= bar}
        # The spread: the same ratio within each repeat (the engines took turns in every
        # repeat, so repeat i of one pairs with repeat i of the other).
        slow_samples = _get(r, section, slow, *key[:-1], "samples") if key[-1] == "median" else None
        fast_samples = _get(r, section, fast, *key[:-1], "samples") if key[-1] == "median" else None
        if slow_samples and fast_samples:
            paired = sorted(x / y for x, y in zip(slow_samples, fast_samples))
            row["per_repeat"] = {"min": paired[0], "max": paired[-1], "samples": paired}
        out.append(row)
    wide = [_get(r, "wide", n, "nodes_per_second") for n in (SG, MG, SG_OFF, MG_OFF)]
    if None not in wide:
        out.append({"comparison": "nodes/s vs micrograd, both gc on", "ratio": wide[0] / wide[1], "bar": None, "meets_bar": None})
        out.append({"comparison": "nodes/s, engines alone (both gc off)", "ratio": wide[2] / wide[3], "bar": None, "meets_bar": None})
    return out


def _fmt_ratio(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x"


def ratios_table(rows: list[dict[str, Any]]) -> str:
    body = []
    for row in rows:
        bar = "" if row["bar"] is None else f">= {row['bar']:g}x"
        verdict = "" if row["meets_bar"] is None else ("yes" if row["meets_bar"] else "NO")
        spread = row.get("per_repeat")
        within = "" if spread is None else f"{_fmt_ratio(spread['min'])} - {_fmt_ratio(spread['max'])}"
        body.append([row["comparison"], _fmt_ratio(row["ratio"]), within, bar, verdict])
    return h.table(["scratchgrad is ... times better", "medians", "per repeat", "bar", "met"], body)


def consistency(r: dict[str, Any]) -> list[str]:
    """The engines must have computed the same numbers, or the timings compare different work."""
    notes = []
    for section, key, tol in (("moons", "first_loss", 1e-12), ("seed", "final_loss", 1e-9)):
        losses = {n: v[key] for n, v in r.get(section, {}).items() if v.get(key) is not None}
        if losses:
            ref = losses[SG]
            worst = max(abs(v - ref) / max(abs(ref), 1e-300) for v in losses.values())
            notes.append(f"{section}: every engine's loss agrees to {worst:.1e} (relative)")
            if worst > tol:
                notes.append(f"WARNING: {section} losses differ: {losses}")
    return notes


# ---- main --------------------------------------------------------------------------------


def import_demo_modules() -> None:
    """What micrograd's demo notebook imports. The collector's full collections walk every
    live object, so they cost more in such a process than in a bare one, for both engines."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401
        import numpy  # noqa: F401
        import sklearn.datasets  # noqa: F401
    except ImportError as e:
        raise SystemExit(f"--heap demo needs numpy, matplotlib and scikit-learn: pip install 'scratchgrad[digits]' ({e})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 repeats, fewer steps, a 100,000-node chain")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference pass")
    parser.add_argument("--clock", choices=sorted(h.CLOCKS), default="wall",
                        help="wall time (default) or this process's CPU time (steadier on a busy machine)")
    parser.add_argument("--heap", choices=["bare", "demo"], default="bare",
                        help="demo: first import what micrograd's demo notebook imports (numpy, matplotlib, "
                        "scikit-learn), so the garbage collector works on a notebook-sized heap")
    workloads = ["seed", "moons", "own", "wide", "bytes", "chain", "gc"]
    parser.add_argument("--only", default=",".join(workloads), help=f"comma-separated subset of {','.join(workloads)} "
                        "(gc: where the collector's time goes in scratchgrad's moons step)")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    unknown = only - set(workloads)
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(sorted(unknown))}; choose from {', '.join(workloads)}")
    plan = QUICK if args.quick else FULL
    clock = args.clock

    if args.heap == "demo":
        import_demo_modules()
    engines = main_engines()
    by_name = {E.name: E for E in engines}
    gc.collect()
    r: dict[str, Any] = {
        "machine": h.machine(),
        "plan": asdict(plan),
        "quick": args.quick,
        "clock": clock,
        "heap": args.heap,
        "tracked_objects_at_start": len(gc.get_objects()),
        "gc_thresholds": gc.get_threshold(),
    }
    started = time.perf_counter()

    if "seed" in only:
        log("1. seed loop ...")
        r["seed"] = bench_seed(engines, plan.seed_steps, plan.seed_repeats, clock)
    if "moons" in only:
        log("2. moons step ...")
        trainers = {E.name: MoonsTrainer(E, MLP(E, 2, [16, 16, 1], seed=1)) for E in engines}
        r["moons"] = bench_moons(engines, trainers, plan.moons_steps, plan.repeats, clock)
    if "own" in only:
        log("6. moons step with each library's own MLP and losses ...")
        own = [by_name[SG], by_name[MG]]
        trainers = {
            SG: MoonsTrainer(by_name[SG], own_scratchgrad_model(1), own_scratchgrad_loss),
            MG: MoonsTrainer(by_name[MG], own_micrograd_model(1), own_micrograd_loss),
        }
        r["own_mlp"] = bench_moons(own, trainers, plan.moons_steps, plan.repeats, clock)
    if "wide" in only:
        log("3. nodes per second ...")
        r["wide"] = bench_wide(engines, plan.wide_calls, plan.repeats, clock)
    if "bytes" in only:
        log("4. bytes per node ...")
        r["bytes"] = bench_bytes([by_name[SG], by_name[MG]])  # the collector does not change a graph's size
    if "chain" in only:
        log("5. a million-node chain ...")
        r["chain"] = {SG: bench_chain(by_name[SG], plan.chain_nodes, plan.repeats, clock)}
        log("   micrograd, once (its backward recurses, once per level) ...")
        r["chain"][MG] = bench_chain(by_name[MG], plan.chain_nodes, 1, clock)

    if "gc" in only:
        log("   the collector's time in scratchgrad's moons step ...")
        r["gc_profile"] = gc_profile(by_name[SG], 20 if args.quick else 40, clock)

    torch_E = None if args.no_torch else torch_engine()
    if torch_E is not None:
        log("PyTorch per scalar: a reference, in its own pass ...")
        tp = plan.torch_repeats
        if "seed" in only:
            r["seed"].update(bench_seed([torch_E], plan.seed_steps, tp, clock))
        if "moons" in only:
            trainer = {PT: MoonsTrainer(torch_E, MLP(torch_E, 2, [16, 16, 1], seed=1))}
            r["moons"].update(bench_moons([torch_E], trainer, {PT: plan.torch_moons_steps}, tp, clock))
        if "wide" in only:
            nodes = r["wide"][SG]["nodes"]  # the same graph, counted on scratchgrad
            r["wide"].update(bench_wide([torch_E], {PT: plan.torch_wide_calls}, tp, clock, nodes))
        if "chain" in only:
            r["chain"][PT] = bench_chain(torch_E, plan.chain_nodes, tp, clock)

    r["ratios"] = ratios(r)
    r["notes"] = consistency(r)
    r["seconds_total"] = time.perf_counter() - started
    print(
        f"Medians ({clock} clock; {plan.repeats} alternating repeats, {plan.seed_repeats} for the seed loop, "
        f"PyTorch {plan.torch_repeats}; "
        f"{args.heap} heap of {r['tracked_objects_at_start']:,} objects):\n"
    )
    load = r["machine"]["load_average_at_start"]
    if load and load[0] > 0.5 * (os.cpu_count() or 1):
        print(f"(load average {load[0]:.1f} when this started: other jobs share the CPUs; --clock cpu is steadier)\n")
    print(medians_table(r))
    print()
    print(ratios_table(r["ratios"]))
    if "gc_profile" in r:
        print()
        print(gc_table(r["gc_profile"]))
    for note in r["notes"]:
        print(note)
    path = h.write_json("scalar", r)
    print(f"\nwrote {path} in {r['seconds_total']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
