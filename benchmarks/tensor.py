"""Speed of the tensor engine: scratchgrad vs hand-written numpy vs PyTorch (issue 8).

Two workloads, the same model on each engine, float64, one thread everywhere:

- digits epoch: 64 -> 128 -> 10 relu MLP, softmax cross-entropy, Adam lr 1e-3,
  batch 64, one pass over the training images (shuffling included). scratchgrad runs
  it as users do, ``scratchgrad.train.fit(..., epochs=1)``: batches, per-epoch
  accuracy and all;
- moons step: 2 -> 16 -> 16 -> 1 relu MLP, hinge loss, SGD, 100 samples, full batch,
  written with the library's model, loss and optimizer.

"numpy" is the practical floor: the forward and backward written out by hand
with numpy calls (no graph, no autograd). All three see the same batches (one
`random.Random` order, as `scratchgrad.data.minibatches` draws it). The engines take
turns (A B C, A B C, ...); every number is a median over the repeats, with the
spread (lowest to highest). Bar (issue 8): digits epoch <= 1.3x numpy, moons step
<= 2x numpy.

    python benchmarks/tensor.py               # full run (~1 minute)
    python benchmarks/tensor.py --quick       # a few seconds
    python benchmarks/tensor.py --clock cpu   # CPU time, on a machine shared with other jobs

Prints a table and writes benchmarks/results/tensor.json.
"""

from __future__ import annotations

import os

# One BLAS thread, set before numpy (or torch) is first imported: on a small shared
# machine a second thread only adds noise, and PyTorch gets the same treatment below.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import fmt_seconds, machine, median, table, time_alternating, write_json  # noqa: E402

from scratchgrad import optim  # noqa: E402
from scratchgrad._random import permutation  # noqa: E402
from scratchgrad.data import load_digits, toy_dataset  # noqa: E402
from scratchgrad.nn import mlp  # noqa: E402
from scratchgrad.nn.losses import hinge_loss  # noqa: E402
from scratchgrad.train import fit  # noqa: E402

BARS = {"digits epoch": 1.3, "moons step": 2.0}


# ---- hand-written numpy: the floor -------------------------------------------------------------


class NumpyAdam:
    """torch.optim.Adam's update written directly with numpy."""

    def __init__(self, params: list[np.ndarray], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params, self.lr, self.betas, self.eps, self.t = params, lr, betas, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        b1, b2 = self.betas
        self.t += 1
        step_size = self.lr / (1 - b1**self.t)
        correction2 = np.sqrt(1 - b2**self.t)
        for i, (p, g) in enumerate(zip(self.params, grads)):
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * (g * g)
            p -= step_size * self.m[i] / (np.sqrt(self.v[i]) / correction2 + self.eps)


def dense_backward(d: np.ndarray, inputs: np.ndarray, W: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """y = inputs @ W.T + b, given d = dL/dy: dL/dW, dL/db and (unless W is None) dL/dinputs."""
    return d.T @ inputs, d.sum(axis=0), None if W is None else d @ W


def batch_orders(n: int, batch: int, seed: int) -> Callable[[], list[np.ndarray]]:
    """Each call: the next epoch's batches of indices, as scratchgrad's minibatches draw them."""
    rng = random.Random(seed)

    def epoch() -> list[np.ndarray]:
        order = np.array(permutation(rng, n))
        return [order[start : start + batch] for start in range(0, n, batch)]

    return epoch


def numpy_digits_epoch(weights: list[np.ndarray], X: np.ndarray, y: np.ndarray, batch: int, seed: int) -> Callable[[], float]:
    W1, b1, W2, b2 = [w.copy() for w in weights]
    opt = NumpyAdam([W1, b1, W2, b2])
    batches = batch_orders(len(X), batch, seed)

    def epoch() -> float:
        total = 0.0
        for idx in batches():
            xb, yb = X[idx], y[idx]
            n = len(idx)
            rows = np.arange(n)
            pre = xb @ W1.T + b1
            h = np.maximum(pre, 0.0)
            logits = h @ W2.T + b2
            shifted = logits - logits.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            s = e.sum(axis=1, keepdims=True)
            total += float((np.log(s[:, 0]) - shifted[rows, yb]).mean()) * n
            d = e / s
            d[rows, yb] -= 1.0
            d /= n
            gW2, gb2, dh = dense_backward(d, h, W2)
            dh[pre <= 0] = 0.0
            gW1, gb1, _ = dense_backward(dh, xb, None)
            opt.step([gW1, gb1, gW2, gb2])
        return total / len(X)

    return epoch


def numpy_moons_step(weights: list[np.ndarray], X: np.ndarray, y: np.ndarray, lr: float) -> Callable[[], float]:
    W1, b1, W2, b2, W3, b3 = [w.copy() for w in weights]
    n = len(X)

    def step() -> float:
        p1 = X @ W1.T + b1
        h1 = np.maximum(p1, 0.0)
        p2 = h1 @ W2.T + b2
        h2 = np.maximum(p2, 0.0)
        score = (h2 @ W3.T + b3)[:, 0]
        margin = 1.0 - y * score
        loss = float(np.maximum(margin, 0.0).mean())
        ds = np.where(margin > 0, -y, 0.0)[:, None] / n
        gW3, gb3, d2 = dense_backward(ds, h2, W3)
        d2[p2 <= 0] = 0.0
        gW2, gb2, d1 = dense_backward(d2, h1, W2)
        d1[p1 <= 0] = 0.0
        gW1, gb1, _ = dense_backward(d1, X, None)
        for p, g in zip((W1, b1, W2, b2, W3, b3), (gW1, gb1, gW2, gb2, gW3, gb3)):
            p -= lr * g
        return loss

    return step


# ---- scratchgrad ---------------------------------------------------------------------------------


def scratchgrad_digits_epoch(model: Any, X: np.ndarray, y: np.ndarray, batch: int, seed: int) -> Callable[[], float]:
    opt = optim.Adam(model.parameters(), lr=1e-3)
    rng = random.Random(seed)  # one stream across epochs, as in a fit of several epochs

    def epoch() -> float:
        history = fit(model, X, y, loss="ce", optimizer=opt, epochs=1, batch_size=batch, seed=rng, progress=False, threads=None)
        return history.loss[0]

    return epoch


def scratchgrad_moons_step(model: Any, X: np.ndarray, y: np.ndarray, lr: float) -> Callable[[], float]:
    opt = optim.SGD(model.parameters(), lr=lr)

    def step() -> float:
        loss = hinge_loss(model(X), y)
        model.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.data)

    return step


# ---- PyTorch -------------------------------------------------------------------------------------


def torch_model(weights: list[np.ndarray], activation_after: list[bool]) -> Any:
    import torch

    layers: list[Any] = []
    for i in range(0, len(weights), 2):
        W, b = weights[i], weights[i + 1]
        lin = torch.nn.Linear(W.shape[1], W.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if activation_after[i // 2]:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def torch_digits_epoch(weights: list[np.ndarray], X: np.ndarray, y: np.ndarray, batch: int, seed: int) -> Callable[[], float]:
    import torch

    model = torch_model(weights, [True, False])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    batches = batch_orders(len(X), batch, seed)

    def epoch() -> float:
        total = 0.0
        for idx in batches():
            index = torch.from_numpy(idx)
            loss = torch.nn.functional.cross_entropy(model(Xt[index]), yt[index])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        return total / len(X)

    return epoch


def torch_moons_step(weights: list[np.ndarray], X: np.ndarray, y: np.ndarray, lr: float) -> Callable[[], float]:
    import torch

    model = torch_model(weights, [True, True, False])
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def step() -> float:
        loss = torch.relu(1.0 - yt * model(Xt)[:, 0]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


# ---- running -------------------------------------------------------------------------------------


def weights_of(model: Any) -> list[np.ndarray]:
    return [p.data.copy() for p in model.parameters()]


def check_agreement(cases: dict[str, Callable[[], float]], what: str) -> None:
    """One call each from identical weights: the engines must compute the same loss."""
    losses = {name: fn() for name, fn in cases.items()}
    reference = losses["numpy"]
    for name, value in losses.items():
        if not np.isclose(value, reference, rtol=1e-9, atol=1e-12):
            raise SystemExit(f"{what}: {name} computed loss {value!r}, numpy {reference!r}: the engines disagree")


def _ratio_spread(ours: list[float], floor: list[float]) -> list[float]:
    ratios = [a / b for a, b in zip(ours, floor)]
    return [min(ratios), max(ratios)]


def run(repeats: int, moons_calls: int, epochs_per_repeat: int, with_torch: bool, clock: str = "wall") -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    results: dict[str, Any] = {
        "machine": machine(), "numpy": np.__version__, "torch": torch.__version__, "clock": clock, "workloads": {},
    }  # fmt: skip

    digits = load_digits()
    X, y = digits.X_train, digits.y_train
    model = mlp(64, [128], 10, activation="relu", seed=0)
    w = weights_of(model)
    digit_cases: dict[str, Callable[[], float]] = {
        "scratchgrad": scratchgrad_digits_epoch(model, X, y, 64, seed=1),
        "numpy": numpy_digits_epoch(w, X, y, 64, seed=1),
    }
    if with_torch:
        digit_cases["torch"] = torch_digits_epoch(w, X, y, 64, seed=1)
    check_agreement(digit_cases, "digits epoch")

    Xm, ym = toy_dataset("moons", n_samples=100, noise=0.1, seed=0)
    moons_model = mlp(2, [16, 16], 1, activation="relu", seed=0)
    wm = weights_of(moons_model)
    moon_cases: dict[str, Callable[[], float]] = {
        "scratchgrad": scratchgrad_moons_step(moons_model, Xm, ym, lr=0.1),
        "numpy": numpy_moons_step(wm, Xm, ym, lr=0.1),
    }
    if with_torch:
        moon_cases["torch"] = torch_moons_step(wm, Xm, ym, lr=0.1)
    check_agreement(moon_cases, "moons step")

    def repeated(fn: Callable[[], float], calls: int) -> Callable[[], None]:
        def run_calls() -> None:
            for _ in range(calls):
                fn()

        return run_calls

    workloads = {
        "digits epoch": ({k: repeated(f, epochs_per_repeat) for k, f in digit_cases.items()}, epochs_per_repeat),
        "moons step": ({k: repeated(f, moons_calls) for k, f in moon_cases.items()}, moons_calls),
    }
    for name, (cases, calls) in workloads.items():
        times = time_alternating(cases, repeats, clock=clock)
        per_call = {k: median(v) / calls for k, v in times.items()}
        entry: dict[str, Any] = {
            "seconds_per_call": per_call,
            "spread_per_call": {k: [min(v) / calls, max(v) / calls] for k, v in times.items()},
            "repeats": repeats,
            "calls_per_repeat": calls,
            "ratio_vs_numpy": per_call["scratchgrad"] / per_call["numpy"],
            # the ratio within each repeat (the two ran back to back): its lowest and highest
            "ratio_vs_numpy_spread": _ratio_spread(times["scratchgrad"], times["numpy"]),
            "bar_vs_numpy": BARS[name],
        }
        if "torch" in per_call:
            entry["ratio_vs_torch"] = per_call["scratchgrad"] / per_call["torch"]
        entry["meets_bar"] = entry["ratio_vs_numpy"] <= BARS[name]
        results["workloads"][name] = entry
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke run of a few seconds")
    parser.add_argument("--repeats", type=int, default=None, help="alternating repeats (default 15, quick 5)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="wall time (default) or this process's CPU time")
    args = parser.parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 15)
    start = time.perf_counter()
    results = run(
        repeats=repeats,
        moons_calls=50 if args.quick else 200,
        epochs_per_repeat=1 if args.quick else 3,
        with_torch=not args.no_torch,
        clock=args.clock,
    )
    rows = []
    for name, entry in results["workloads"].items():
        t, spread = entry["seconds_per_call"], entry["spread_per_call"]

        def shown(case: str) -> str:
            if case not in t:
                return "-"
            low, high = spread[case]
            return f"{fmt_seconds(t[case])} ({fmt_seconds(low)}-{fmt_seconds(high)})"

        low, high = entry["ratio_vs_numpy_spread"]
        rows.append(
            [
                name,
                shown("scratchgrad"),
                shown("numpy"),
                shown("torch"),
                f"{entry['ratio_vs_numpy']:.2f}x ({low:.2f}-{high:.2f})",
                f"<= {entry['bar_vs_numpy']}x",
                f"{entry['ratio_vs_torch']:.2f}x" if "ratio_vs_torch" in entry else "-",
                "yes" if entry["meets_bar"] else "NO",
            ]
        )
    print(table(["workload", "scratchgrad", "numpy", "torch", "ours/numpy", "bar", "ours/torch", "meets bar"], rows))
    path = write_json("tensor", results)
    print(
        f"\nmedians of {repeats} alternating repeats (lowest-highest in brackets), {args.clock} clock, 1 thread; "
        f"{time.perf_counter() - start:.0f} s; wrote {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
