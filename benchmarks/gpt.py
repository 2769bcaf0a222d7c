"""Speed of the GPTs (issue 14): the tensor GPT against the same model in PyTorch, and the
scalar GPT against microgpt's own engine running microgpt's code.

Three ratios, each a median over alternating repeats (A B, A B, ...) with the range of the
per-repeat ratios, BLAS and torch at the same thread count (--threads, default 1):

- tensor, microgpt size: 1 layer, width 16, 4 heads, block 16, one name per step, float32,
  Adam (microgpt's betas); PyTorch runs the same model (``scratchgrad.export.to_torch``, so
  the same init). Bar: <= 1.0x PyTorch's time.
- tensor, 4 layers x width 64 x 4 heads, block 32, batch 32 (rows of 33 consecutive tokens
  of the names, BOS between names), float32, AdamW lr 3e-3. Bar: <= 1.3x.
- scalar, microgpt size, one name per step: microgpt's design (`MicroValue` below: a node
  holding its children and their local gradients in tuples, a recursive topological sort)
  running microgpt's model code, against scratchgrad's `ScalarGPT` (fused nodes, the
  library's Adam), same weights, same name. Bar: >= 12x faster. Also shown: microgpt's
  code unchanged on scratchgrad's `Value`.

Then the losses of both tensor runs side by side for 20 steps in float64 from the same
weights (they must match to 1e-5), and the three scalar losses of one step.

    python benchmarks/gpt.py               # full run (about a minute)
    python benchmarks/gpt.py --quick       # a few seconds
    python benchmarks/gpt.py --threads 2   # BLAS and torch with 2 threads each

Prints the tables and writes benchmarks/results/gpt.json.
"""

from __future__ import annotations

import os
import sys


def _threads_from_argv(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return "1"


# The thread count is fixed before numpy and torch load their BLAS.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _threads_from_argv(sys.argv)

import argparse  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import fmt_seconds, machine, median, table, time_alternating, write_json  # noqa: E402

from scratchgrad import Value  # noqa: E402
from scratchgrad.data import NamesData  # noqa: E402
from scratchgrad.export import to_torch  # noqa: E402
from scratchgrad.nn import GPT, ScalarGPT  # noqa: E402
from scratchgrad.optim import Adam, AdamW  # noqa: E402

BARS = {"tensor, microgpt size": 1.0, "tensor, 4x64, batch 32": 1.3}
SCALAR_BAR = 12.0
MICRO = dict(vocab_size=27, block_size=16, n_layer=1, n_embd=16, n_head=4)
LARGE = dict(vocab_size=27, block_size=32, n_layer=4, n_embd=64, n_head=4)
MICRO_ADAM = dict(lr=0.01, betas=(0.85, 0.99), eps=1e-8)


# ---- the data: one name per step, or batches of 32 rows of 33 tokens ---------------------------------


def documents(data: NamesData, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The first ``count`` training names as (1, n) inputs and targets."""
    out = []
    for name in data.train[:count]:
        batch = data.batch([name])
        out.append((batch.inputs, batch.targets))
    return out


def token_batches(data: NamesData, count: int, batch: int = 32, block: int = 32) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` batches of ``batch`` rows: ``block + 1`` consecutive tokens of the names
    stream (BOS between names), inputs the first ``block``, targets the last."""
    stream = [data.tokenizer.bos]
    for name in data.train:
        stream += data.tokenizer.encode(name) + [data.tokenizer.bos]
    tokens = np.array(stream, dtype=np.int64)
    rng = random.Random(0)
    out = []
    for _ in range(count):
        starts = [rng.randrange(len(tokens) - block - 1) for _ in range(batch)]
        rows = np.stack([tokens[s : s + block + 1] for s in starts])
        out.append((rows[:, :-1].copy(), rows[:, 1:].copy()))
    return out


# ---- one training step on each engine ------------------------------------------------------------


def ours_step(model: GPT, optimizer: Any, batches: list[tuple[np.ndarray, np.ndarray]]) -> Callable[[], float]:
    position = [0]

    def step() -> float:
        inputs, targets = batches[position[0] % len(batches)]
        position[0] += 1
        loss = model.loss(inputs, targets)
        model.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss.data)

    return step


def torch_step(module: Any, optimizer: Any, batches: list[tuple[np.ndarray, np.ndarray]]) -> Callable[[], float]:
    import torch

    prepared = [(torch.from_numpy(x), torch.from_numpy(y).reshape(-1)) for x, y in batches]
    position = [0]

    def step() -> float:
        inputs, targets = prepared[position[0] % len(prepared)]
        position[0] += 1
        logits = module(inputs)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return float(loss.item())

    return step


def tensor_pair(config: dict[str, Any], dtype: Any, batches: list[tuple[np.ndarray, np.ndarray]], adamw: bool) -> dict[str, Callable[[], float]]:
    """A scratchgrad GPT and the same model in PyTorch (same weights), each with its optimizer."""
    import torch

    model = GPT(**config, seed=0, dtype=dtype)
    module = to_torch(model)
    if adamw:
        ours_opt: Any = AdamW(model.parameters(), lr=3e-3)
        theirs_opt: Any = torch.optim.AdamW(module.parameters(), lr=3e-3)
    else:
        ours_opt = Adam(model.parameters(), **MICRO_ADAM)
        theirs_opt = torch.optim.Adam(module.parameters(), **MICRO_ADAM)
    return {"scratchgrad": ours_step(model, ours_opt, batches), "torch": torch_step(module, theirs_opt, batches)}


# ---- microgpt's engine, as its published design describes it ------------------------------------------


class MicroValue:
    """A scalar node as microgpt's engine makes one: the number, its gradient (the int 0 until
    backward reaches it), the nodes it was computed from, and the derivative of the result
    with respect to each of them (ints where they are constants), both tuples filled in by
    the operation that makes the node. Numbers become nodes of their own."""

    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data: float, children: tuple = (), local_grads: tuple = ()) -> None:
        self.data = data
        self.grad = 0
        self._children = children
        self._local_grads = local_grads

    def __add__(self, other: Any) -> MicroValue:
        other = other if isinstance(other, MicroValue) else MicroValue(other)
        return MicroValue(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other: Any) -> MicroValue:
        other = other if isinstance(other, MicroValue) else MicroValue(other)
        return MicroValue(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, k: float) -> MicroValue:
        return MicroValue(self.data**k, (self,), (k * self.data ** (k - 1),))

    def log(self) -> MicroValue:
        return MicroValue(math.log(self.data), (self,), (1 / self.data,))

    def exp(self) -> MicroValue:  # e^x is its own derivative; microgpt evaluates it for each
        return MicroValue(math.exp(self.data), (self,), (math.exp(self.data),))

    def relu(self) -> MicroValue:
        return MicroValue(max(0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self) -> MicroValue:
        return self * -1

    def __radd__(self, other: Any) -> MicroValue:
        return self + other

    def __sub__(self, other: Any) -> MicroValue:
        return self + (-other)

    def __rsub__(self, other: Any) -> MicroValue:
        return other + (-self)

    def __rmul__(self, other: Any) -> MicroValue:
        return self * other

    def __truediv__(self, other: Any) -> MicroValue:
        return self * other**-1

    def __rtruediv__(self, other: Any) -> MicroValue:
        return other * self**-1

    def backward(self) -> None:
        order: list[MicroValue] = []
        seen: set[MicroValue] = set()

        def visit(node: MicroValue) -> None:  # recursive depth-first post-order
            if node not in seen:
                seen.add(node)
                for child in node._children:
                    visit(child)
                order.append(node)

        visit(self)
        self.grad = 1
        for node in reversed(order):
            for child, local in zip(node._children, node._local_grads):
                child.grad += local * node.grad


def microgpt_trainer(value_type: type, weights: dict[str, np.ndarray], document: tuple[np.ndarray, np.ndarray]) -> Callable[[], float]:
    """One training step of microgpt's code (model, loss, Adam) on ``value_type`` nodes."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    n_layer, n_head = MICRO["n_layer"], MICRO["n_head"]
    head_dim = MICRO["n_embd"] // n_head

    def matrix(name: str) -> list[list[Any]]:
        return [[value_type(float(x)) for x in row] for row in weights[name]]

    state = {"wte": matrix("wte.weight"), "wpe": matrix("wpe.weight"), "lm_head": matrix("lm_head.weight")}
    for i in range(n_layer):
        for ours, theirs in (("attn.wq", "attn_wq"), ("attn.wk", "attn_wk"), ("attn.wv", "attn_wv"), ("attn.wo", "attn_wo"),
                             ("mlp.fc1", "mlp_fc1"), ("mlp.fc2", "mlp_fc2")):  # fmt: skip
            state[f"layer{i}.{theirs}"] = matrix(f"blocks.{i}.{ours}.weight")
    params = [p for mat in state.values() for row in mat for p in row]

    def linear(x: list[Any], w: list[list[Any]]) -> list[Any]:
        return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]

    def softmax(logits: list[Any]) -> list[Any]:
        top = max(v.data for v in logits)
        exps = [(v - top).exp() for v in logits]
        total = sum(exps)
        return [e / total for e in exps]

    def rmsnorm(x: list[Any]) -> list[Any]:
        scale = (sum(xi * xi for xi in x) / len(x) + 1e-5) ** -0.5
        return [xi * scale for xi in x]

    def gpt(token: int, position: int, keys: list[Any], values: list[Any]) -> list[Any]:
        x = rmsnorm([t + p for t, p in zip(state["wte"][token], state["wpe"][position])])
        for li in range(n_layer):
            residual = x
            x = rmsnorm(x)
            q, k, v = (linear(x, state[f"layer{li}.attn_w{c}"]) for c in "qkv")
            keys[li].append(k)
            values[li].append(v)
            heads: list[Any] = []
            for h in range(n_head):
                lo = h * head_dim
                q_h = q[lo : lo + head_dim]
                k_h = [ki[lo : lo + head_dim] for ki in keys[li]]
                v_h = [vi[lo : lo + head_dim] for vi in values[li]]
                scores = [sum(q_h[j] * k_h[t][j] for j in range(head_dim)) / head_dim**0.5 for t in range(len(k_h))]
                weights_h = softmax(scores)
                heads.extend(sum(weights_h[t] * v_h[t][j] for t in range(len(v_h))) for j in range(head_dim))
            x = [a + b for a, b in zip(linear(heads, state[f"layer{li}.attn_wo"]), residual)]
            residual = x
            x = [xi.relu() for xi in linear(rmsnorm(x), state[f"layer{li}.mlp_fc1"])]
            x = [a + b for a, b in zip(linear(x, state[f"layer{li}.mlp_fc2"]), residual)]
        return linear(x, state["lm_head"])

    inputs, targets = (a[0].tolist() for a in document)
    lr, (beta1, beta2), eps = MICRO_ADAM["lr"], MICRO_ADAM["betas"], MICRO_ADAM["eps"]
    m, v = [0.0] * len(params), [0.0] * len(params)
    step_count = [0]

    def step() -> float:
        keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
        losses = []
        for position, (token, target) in enumerate(zip(inputs, targets)):
            probs = softmax(gpt(token, position, keys, values))
            losses.append(-probs[target].log())
        loss = (1 / len(losses)) * sum(losses)
        loss.backward()
        step_count[0] += 1
        t = step_count[0]
        for i, p in enumerate(params):
            m[i] = beta1 * m[i] + (1 - beta1) * p.grad
            v[i] = beta2 * v[i] + (1 - beta2) * p.grad**2
            m_hat = m[i] / (1 - beta1**t)
            v_hat = v[i] / (1 - beta2**t)
            p.data -= lr * m_hat / (v_hat**0.5 + eps)
            p.grad = 0
        return float(loss.data)

    return step


def scalar_cases(document: tuple[np.ndarray, np.ndarray]) -> dict[str, Callable[[], float]]:
    model = ScalarGPT(**MICRO, seed=0)
    weights = model.weights()
    optimizer = Adam(model.parameters(), **MICRO_ADAM)
    inputs, targets = (a[0].tolist() for a in document)

    def ours() -> float:
        loss = model.loss(inputs, targets)
        model.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss.data)

    return {
        "microgpt": microgpt_trainer(MicroValue, weights, document),
        "microgpt on our Value": microgpt_trainer(Value, weights, document),
        "ScalarGPT": ours,
    }


# ---- running ----------------------------------------------------------------------------------------


def repeated(fn: Callable[[], float], calls: int) -> Callable[[], None]:
    def run_calls() -> None:
        for _ in range(calls):
            fn()

    return run_calls


def ratio_spread(times: dict[str, list[float]], ours: str, theirs: str) -> tuple[float, float]:
    ratios = [a / b for a, b in zip(times[ours], times[theirs])]
    return min(ratios), max(ratios)


def run(repeats: int, quick: bool, threads: int, clock: str, only: str | None = None) -> dict[str, Any]:
    data = NamesData()
    results: dict[str, Any] = {"machine": machine(), "numpy": np.__version__, "threads": threads, "clock": clock, "workloads": {}}
    docs = documents(data, 200)
    # The scalar engines first, as a script of theirs runs: in a small process (no torch, no
    # tensor models). Python's collector does more of its full passes in a small heap, and
    # microgpt's graphs feed it ten times the objects ours do.
    if only != "tensor":
        run_scalar(results, data, docs, repeats, quick, clock)
    if only != "scalar":
        run_tensor(results, data, docs, repeats, quick, clock, threads)
    return results


def run_tensor(results: dict[str, Any], data: NamesData, docs: list[Any], repeats: int, quick: bool, clock: str, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    results["torch"] = torch.__version__
    large_batches = token_batches(data, 40)
    workloads = {
        "tensor, microgpt size": (tensor_pair(MICRO, np.float32, docs, adamw=False), 20 if quick else 60),
        "tensor, 4x64, batch 32": (tensor_pair(LARGE, np.float32, large_batches, adamw=True), 3 if quick else 10),
    }
    for name, (cases, calls) in workloads.items():
        for fn in cases.values():  # warm up: first calls allocate and import
            fn()
        times = time_alternating({k: repeated(f, calls) for k, f in cases.items()}, repeats, clock=clock)
        per_call = {k: median(v) / calls for k, v in times.items()}
        ratio = per_call["scratchgrad"] / per_call["torch"]
        results["workloads"][name] = {
            "seconds_per_step": per_call,
            "spread_per_step": {k: [min(v) / calls, max(v) / calls] for k, v in times.items()},
            "ratio_vs_torch": ratio,
            "ratio_spread": ratio_spread(times, "scratchgrad", "torch"),
            "bar": BARS[name],
            "meets_bar": ratio <= BARS[name],
            "steps_per_repeat": calls,
        }

    # the losses of both engines, step by step, in float64 from the same weights
    agreement = {}
    for name, config, batches, adamw in (("microgpt size", MICRO, docs, False), ("4x64, batch 32", LARGE, large_batches, True)):
        cases = tensor_pair(config, np.float64, batches, adamw)
        losses = [(cases["scratchgrad"](), cases["torch"]()) for _ in range(20)]
        agreement[name] = {"losses": losses, "max_difference": max(abs(a - b) for a, b in losses)}
    results["float64_losses"] = agreement


def run_scalar(results: dict[str, Any], data: NamesData, docs: list[Any], repeats: int, quick: bool, clock: str) -> None:
    document = docs[0]
    cases = scalar_cases(document)
    first = {k: fn() for k, fn in cases.items()}  # the same weights and name: the same loss
    results["scalar_first_losses"] = first
    scalar_calls = {"microgpt": 1, "microgpt on our Value": 2, "ScalarGPT": 10}
    rounds = max(3, repeats // 2 if quick else repeats)
    results["scalar"] = {"name": data.train[0], "bar": SCALAR_BAR}
    for mode, collector in (("collector on", True), ("collector off", False)):
        times = time_alternating(
            {k: repeated(f, scalar_calls[k]) for k, f in cases.items()}, rounds, gc_enabled={k: collector for k in cases}, clock=clock
        )
        per_step = {k: median(v) / scalar_calls[k] for k, v in times.items()}
        step_ratios = [
            (a / scalar_calls["microgpt"]) / (b / scalar_calls["ScalarGPT"]) for a, b in zip(times["microgpt"], times["ScalarGPT"])
        ]
        results["scalar"][mode] = {
            "seconds_per_step": per_step,
            "spread_per_step": {k: [min(v) / scalar_calls[k], max(v) / scalar_calls[k]] for k, v in times.items()},
            "speedup": per_step["microgpt"] / per_step["ScalarGPT"],
            "speedup_spread": [min(step_ratios), max(step_ratios)],
            "microgpt_on_our_value_speedup": per_step["microgpt"] / per_step["microgpt on our Value"],
        }
    results["scalar"]["meets_bar"] = results["scalar"]["collector on"]["speedup"] >= SCALAR_BAR


def report(results: dict[str, Any]) -> None:
    if "scalar" in results:
        report_scalar(results)
    if results["workloads"]:
        report_tensor(results)


def report_tensor(results: dict[str, Any]) -> None:
    rows = []
    for name, entry in results["workloads"].items():
        t, spread = entry["seconds_per_step"], entry["spread_per_step"]
        low, high = entry["ratio_spread"]
        rows.append([
            name,
            f"{fmt_seconds(t['scratchgrad'])} ({fmt_seconds(spread['scratchgrad'][0])}-{fmt_seconds(spread['scratchgrad'][1])})",
            f"{fmt_seconds(t['torch'])} ({fmt_seconds(spread['torch'][0])}-{fmt_seconds(spread['torch'][1])})",
            f"{entry['ratio_vs_torch']:.2f}x ({low:.2f}-{high:.2f})",
            f"<= {entry['bar']}x",
            "yes" if entry["meets_bar"] else "NO",
        ])  # fmt: skip
    print(table(["tensor GPT step, float32", "scratchgrad", "PyTorch", "ours/torch", "bar", "meets bar"], rows))
    print()
    for name, entry in results["float64_losses"].items():
        pairs = entry["losses"]
        shown = ", ".join(f"{a:.6f}/{b:.6f}" for a, b in pairs[::5] + [pairs[-1]])
        verdict = "match" if entry["max_difference"] <= 1e-5 else "DIFFER"
        print(f"float64 losses, {name} (scratchgrad/PyTorch at steps 1, 6, 11, 16, 20): {shown}; "
              f"largest difference over 20 steps {entry['max_difference']:.1e}: {verdict} (bar 1e-5)")  # fmt: skip
    print()


def report_scalar(results: dict[str, Any]) -> None:
    scalar = results["scalar"]
    for mode in ("collector on", "collector off"):
        entry = scalar[mode]
        t, spread = entry["seconds_per_step"], entry["spread_per_step"]
        rows = [
            [name, f"{fmt_seconds(t[name])} ({fmt_seconds(spread[name][0])}-{fmt_seconds(spread[name][1])})",
             f"{t['microgpt'] / t[name]:.1f}x", f"{results['scalar_first_losses'][name]:.12f}"]
            for name in ("microgpt", "microgpt on our Value", "ScalarGPT")
        ]  # fmt: skip
        print(table([f"scalar GPT step on {scalar['name']!r}, {mode}", "time", "vs microgpt", "first loss"], rows))
        low, high = entry["speedup_spread"]
        verdict = f"; bar >= {scalar['bar']}x (as run): {'yes' if scalar['meets_bar'] else 'NO'}" if mode == "collector on" else ""
        print(f"ScalarGPT: {entry['speedup']:.1f}x faster than microgpt ({low:.1f}-{high:.1f}){verdict}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke run of a few seconds")
    parser.add_argument("--repeats", type=int, default=None, help="alternating repeats (default 15, quick 3)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default 1)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="wall time (default) or this process's CPU time")
    parser.add_argument("--only", choices=("tensor", "scalar"), help="run one half only")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 15)
    start = time.perf_counter()
    results = run(repeats, args.quick, args.threads, args.clock, args.only)
    report(results)
    path = write_json("gpt", results)
    print(
        f"\nmedians of {repeats} alternating repeats (lowest-highest in brackets), {args.clock} clock, "
        f"{args.threads} thread(s) for BLAS and torch; {time.perf_counter() - start:.0f} s; wrote {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
