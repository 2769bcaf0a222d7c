"""Shared helpers for the benchmarks: alternating repeats, medians, gc control, memory, JSON.

Nothing here asserts a speed: the benchmarks measure and print, they never fail on
a slow machine. Every timing is a median over repeats in which the contenders run
alternately (A B C, A B C, ...), so a burst of load from elsewhere on the machine
hits all of them alike instead of one.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@contextlib.contextmanager
def gc_mode(enabled: bool) -> Iterator[None]:
    """Run the block with Python's cycle collector on or off, restoring it afterwards.

    Entering collects once either way, so garbage left by the previous contender is
    not charged to this one.
    """
    was_enabled = gc.isenabled()
    gc.collect()
    if enabled:
        gc.enable()
    else:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        else:
            gc.disable()


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def time_alternating(
    cases: Mapping[str, Callable[[], Any]],
    repeats: int,
    gc_enabled: Mapping[str, bool] | None = None,
    clock: str = "wall",
) -> dict[str, list[float]]:
    """Seconds per call of each case, ``repeats`` times, the cases taking turns.

    ``gc_enabled[name]`` (default True) says whether the collector runs during that
    case. The order of the cases rotates from one repeat to the next, so no case is
    always first after another's garbage. ``clock`` is "wall" (what a user waits) or
    "cpu" (this process's CPU time: on a machine shared with other jobs it is not
    inflated by their load; the workloads are single-threaded, so both agree on an
    idle machine).
    """
    now = CLOCKS[clock]
    names = list(cases)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            with gc_mode(True if gc_enabled is None else gc_enabled.get(name, True)):
                start = now()
                cases[name]()
                times[name].append(now() - start)
    return times


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def traced_bytes(build: Callable[[], Any]) -> tuple[Any, int, int]:
    """Run ``build()`` under tracemalloc: (its result, bytes still held, peak bytes).

    Both byte counts are relative to the moment before the call, with the collector
    off so that nothing is freed or allocated by a collection in the middle.
    """
    gc.collect()
    with gc_mode(False):
        tracemalloc.start()
        try:
            base, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            result = build()
            held, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return result, held - base, peak - base


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def write_json(name: str, data: Mapping[str, Any]) -> Path:
    """Write ``results/<name>.json`` (the folder is git-ignored) and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a file
    return path


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, left-aligned first column, right-aligned numbers."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "  ".join([first, *rest])

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def fmt_seconds(s: float) -> str:
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"
