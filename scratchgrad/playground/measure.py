"""How many updates per second the playground shows: ``python -m scratchgrad.playground.measure``.

Starts the real server (uvicorn) on a free 127.0.0.1 port, opens a session, presses
Play and counts the "update" events arriving on the event stream for a few seconds,
the way the page receives them; also reports the epochs trained per second (an update
carries one epoch), and the scalar engine for comparison.

``--browser`` also opens the page in Chromium (Playwright, /usr/bin/chromium) with a
2-[8,8]-1 network on 500 points and counts the updates the page *drew* per second, every
neuron's heat map included: the issue's bar is 20.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before numpy loads; see scratchgrad.playground._single_threaded_blas

import argparse
import json
import socket
import threading
import time
from typing import Any


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def measure_stream(base_url: str, settings: dict[str, Any], seconds: float) -> dict[str, float]:
    """Play a new session with ``settings`` and count its stream's updates for ``seconds``."""
    import httpx

    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        created = client.post("/api/sessions", json=settings)
        created.raise_for_status()
        session_id = created.json()["session_id"]
        updates = 0
        first_epoch = last_epoch = None
        try:
            with client.stream("GET", f"/api/sessions/{session_id}/events") as stream:
                client.post(f"/api/sessions/{session_id}/play").raise_for_status()
                started = time.perf_counter()
                event = None
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        event = line[len("event: "):]
                    elif line.startswith("data: ") and event == "update":
                        epoch = json.loads(line[len("data: "):])["latest"]["epoch"]
                        first_epoch = epoch if first_epoch is None else first_epoch
                        last_epoch = epoch
                        updates += 1
                    if time.perf_counter() - started >= seconds:
                        break
                elapsed = time.perf_counter() - started
        finally:
            client.delete(f"/api/sessions/{session_id}")
    epochs = (last_epoch - first_epoch + 1) if first_epoch is not None and last_epoch is not None else 0
    return {"updates_per_second": updates / elapsed, "epochs_per_second": epochs / elapsed}


def measure_browser(base_url: str, fragment: str, seconds: float) -> dict[str, float]:
    """Open the page at ``fragment``, press Play, count the updates it drew for ``seconds``."""
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(base_url + "/" + fragment)
            page.wait_for_function("() => window.playground && window.playground.latest")
            page.click("#play")
            page.wait_for_function("() => window.playground.latest.epoch > 5")
            first = page.evaluate("window.playground.stats()")
            epoch = page.evaluate("window.playground.latest.epoch")
            page.wait_for_timeout(seconds * 1000)
            last = page.evaluate("window.playground.stats()")
            epochs = page.evaluate("window.playground.latest.epoch") - epoch
            page.click("#play")
        finally:
            browser.close()
    elapsed = (last["now"] - first["now"]) / 1000
    return {"drawn_per_second": (last["drawnUpdates"] - first["drawnUpdates"]) / elapsed,
            "epochs_per_second": epochs / elapsed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to count each case (default 5)")
    parser.add_argument("--browser", action="store_true", help="also count the updates Chromium draws per second")
    parser.add_argument(
        "--max-rate", type=float, default=30.0,
        help="the server's cap on updates per second per session (default 30, as served); "
        "raise it to see the headroom",
    )
    args = parser.parse_args(argv)

    import uvicorn

    from scratchgrad.playground import _single_threaded_blas
    from scratchgrad.playground.server import create_app
    from scratchgrad.playground.sessions import SessionStore

    _single_threaded_blas()  # as `scratchgrad playground` does

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(SessionStore(max_rate=args.max_rate)), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    cases = [
        ("2-[8,8]-1, 500 points, tensor engine", {"hidden": [8, 8], "n_points": 500, "engine": "tensor"}),
        ("2-[8,8]-1, 200 points, scalar engine", {"hidden": [8, 8], "n_points": 200, "engine": "scalar"}),
        ("7-[16]*8-1, 2000 points, tensor engine",
         {"hidden": [16] * 8, "n_points": 2000, "engine": "tensor",
          "features": ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"]}),
    ]
    try:
        for name, settings in cases:
            result = measure_stream(base, settings, args.seconds)
            print(
                f"{name:40s} {result['updates_per_second']:6.1f} updates/s "
                f"({result['epochs_per_second']:.1f} epochs/s)",
                flush=True,
            )
        if args.browser:
            result = measure_browser(base, "#hidden=8,8&n_points=500", args.seconds)
            print(
                f"{'in Chromium: 2-[8,8]-1, 500 points':40s} {result['drawn_per_second']:6.1f} updates drawn/s "
                f"({result['epochs_per_second']:.1f} epochs/s), every neuron's heat map",
                flush=True,
            )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
