"""Training a GPT on names: the short explicit loop, the validation loss, the history.

    from scratchgrad.data import NamesData
    from scratchgrad.nn import GPT
    from scratchgrad.gpt_train import train_gpt
    data = NamesData()
    model = GPT(vocab_size=data.tokenizer.vocab_size, chars=data.tokenizer.chars, seed=0)
    history = train_gpt(model, data, steps=1000, batch_size=32, lr=3e-3)
    history.test_loss[-1]                  # validation loss, nats per character
    model.sample(20, temperature=0.5)

Each step is the tutorial's loop on a batch of names: the forward pass to the loss, zero
the gradients, ``backward()``, clip the gradients' norm, one AdamW step, one step of the
learning-rate schedule. A GPT's batches are padded sequences, not rows of features, so it
trains here rather than through `scratchgrad.train.fit`; the optimizer, the schedules,
the clipping and the progress bar are the library's own (`scratchgrad.optim`,
`scratchgrad._progress`).

Losses are in nats per character: the mean of -log p(next character) over every
character of every name and the end of each name (padding does not count).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from scratchgrad import autograd
from scratchgrad._format import format_short
from scratchgrad._progress import advance, progress_bar
from scratchgrad._random import as_random
from scratchgrad.data.names import NamesData
from scratchgrad.optim import AdamW, clip_grad_norm, make_schedule
from scratchgrad.tensor_functions import cross_entropy
from scratchgrad.train import TrainingDiverged, blas_threads


@dataclass
class GPTHistory:
    """What `train_gpt` measured, one entry per evaluation: ``steps`` (updates done so far),
    ``loss`` (the mean training loss since the previous entry), ``test_loss`` (the
    validation loss then), ``lr`` and ``seconds`` (training time so far). ``stopped_early``:
    the time limit ended the run before its last step."""

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    stopped_early: bool = False


def evaluate(model: Any, data: NamesData, split: str = "validation", batch_size: int = 512) -> float:
    """The mean next-character loss of ``model`` over every character of a split's names
    (and every end of a name), in nats per character, without recording a graph."""
    names = sorted(data.split(split), key=len)  # batches of similar lengths: little padding
    total, count = 0.0, 0
    with autograd.no_grad():
        for start in range(0, len(names), batch_size):
            batch = data.batch(names[start : start + batch_size])
            total += float(cross_entropy(model(batch.inputs), batch.targets, reduction="sum").data)
            count += batch.tokens
    return total / count


def _check_count(value: object, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"train_gpt: {what} must be an int >= {minimum}, got {value!r}")
    return value


def train_gpt(
    model: Any,
    data: NamesData,
    steps: int = 1000,
    batch_size: int = 32,
    lr: float = 3e-3,
    weight_decay: float = 0.01,
    betas: tuple[float, float] = (0.9, 0.99),
    clip: float | None = 1.0,
    schedule: str = "cosine",
    evaluations: int = 10,
    seed: Any = 0,
    progress: bool | None = None,
    time_limit: float | None = None,
    threads: int | None = 1,
    callback: Callable[[int, GPTHistory], Any] | None = None,
) -> GPTHistory:
    """Train ``model`` (a tensor `GPT`) on ``data`` for ``steps`` updates of ``batch_size``
    names drawn at random from ``seed``; return the `GPTHistory`.

    AdamW (``lr``, ``betas``, ``weight_decay``), the gradients' global norm clipped to
    ``clip`` (None: not clipped), the learning rate following ``schedule`` (a name of
    `scratchgrad.optim.SCHEDULES`) over the steps. The validation loss is measured
    ``evaluations`` times, evenly spaced, the last after the last step. ``progress``: a bar
    (None: only when stderr is a terminal). ``time_limit``: seconds after which training
    stops (then evaluates once more). ``threads``: BLAS threads for the matrix products
    (default 1: at these sizes more threads wait on each other, 10x slower on a busy
    machine; None leaves numpy's setting alone). ``callback(step, history)`` runs after each evaluation; a
    truthy return stops training. Raises `TrainingDiverged` if the loss stops being finite.
    """
    steps = _check_count(steps, "steps")
    batch_size = _check_count(batch_size, "batch_size")
    evaluations = _check_count(evaluations, "evaluations")
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise ValueError(f"train_gpt: time_limit must be a number of seconds > 0, got {time_limit!r}")
    if len(data.tokenizer.chars) + 1 != model.config.vocab_size:
        raise ValueError(
            f"train_gpt: the data has {data.tokenizer.vocab_size} tokens but the model's vocab_size is {model.config.vocab_size}"
        )
    if data.block_size > model.config.block_size:
        raise ValueError(f"train_gpt: the data's block_size {data.block_size} exceeds the model's {model.config.block_size}")
    params = model.parameters()
    optimizer = AdamW(params, lr=lr, betas=betas, weight_decay=weight_decay)
    scheduler = make_schedule(schedule, optimizer, steps)
    rng = as_random(seed, "train_gpt: seed")
    checkpoints = sorted({max(1, round(steps * (i + 1) / evaluations)) for i in range(evaluations)})
    history = GPTHistory()
    bar = progress_bar(steps, "training", progress, unit="step")
    since_total, since_tokens = 0.0, 0
    start = time.perf_counter()
    try:
        with blas_threads(threads), np.errstate(over="ignore", invalid="ignore"):
            for step in range(1, steps + 1):
                lr_used = optimizer.lr
                batch = data.sample_batch(batch_size, rng)
                loss = model.loss(batch.inputs, batch.targets)
                value = float(loss.data)
                if not math.isfinite(value):
                    raise TrainingDiverged(f"the loss became {value} at step {step} with learning rate {lr_used}", history)  # type: ignore[arg-type]
                model.zero_grad()
                loss.backward()
                if clip is not None:
                    clip_grad_norm(params, clip)
                optimizer.step()
                scheduler.step()
                since_total += value * batch.tokens
                since_tokens += batch.tokens
                out_of_time = time_limit is not None and time.perf_counter() - start > time_limit
                if step in checkpoints or step == steps or out_of_time:
                    history.steps.append(step)
                    history.loss.append(since_total / since_tokens)
                    history.test_loss.append(evaluate(model, data))
                    history.lr.append(lr_used)
                    history.seconds.append(time.perf_counter() - start)
                    since_total, since_tokens = 0.0, 0
                    if callback is not None and callback(step, history):
                        history.stopped_early = step < steps
                        break
                advance(bar, {"loss": format_short(value)} if not history.test_loss else {"loss": format_short(value), "val": format_short(history.test_loss[-1])})
                if out_of_time:
                    history.stopped_early = step < steps
                    break
    finally:
        if bar is not None:
            bar.close()
    return history


__all__ = ["GPTHistory", "evaluate", "train_gpt"]
