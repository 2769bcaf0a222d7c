"""The playground end to end in a real browser: Debian's Chromium driven by Playwright.

The server runs for real (uvicorn, a free 127.0.0.1 port, in a thread). The test opens
the page, gets a clear message for an out-of-range setting, chooses moons, presses Play,
waits until the shown loss has fallen below half its start, clicks a point, sees its
computation graph, and saves a screenshot to out/playground.png. Every request the page
makes must go to our own server.

Chromium must be at /usr/bin/chromium (``make test`` installs it with apt-get when
missing and root); Playwright's own browser download is not used.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUT = Path(__file__).resolve().parent.parent / "out"
TIMEOUT_MS = 20_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    import uvicorn

    from scratchgrad.playground.server import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(allowed_hosts=["127.0.0.1"]), host="127.0.0.1", port=port,
                       log_level="warning", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(target=server.run, name="playground-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the playground server did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _shown_loss(page: object) -> float:
    text = page.inner_text("#train-loss")  # type: ignore[attr-defined]
    return float(text) if text.replace(".", "", 1).replace("e-", "", 1).isdigit() else float("nan")


def test_train_moons_in_the_browser_and_open_a_points_graph(server_url: str) -> None:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser test needs Debian's Chromium. "
            "Run `make test` (it installs it with apt-get when root) or `sudo apt-get install chromium`."
        )
    from playwright.sync_api import expect, sync_playwright

    requested_hosts: set[str] = set()
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 1150})
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.on("request", lambda request: requested_hosts.add(urlparse(request.url).netloc))
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
                    if message.type == "error" else None)
            page.goto(server_url + "/")
            page.wait_for_function("() => window.playground && window.playground.latest !== null")
            first_session = page.evaluate("window.playground.sessionId")

            # Out of range: a clear message in the page, and the settings stay as they were.
            page.fill("#layer-0", "100")
            page.press("#layer-0", "Enter")
            expect(page.locator("#message")).to_contain_text("hidden[0]: a layer has 1 to 64 neurons, got 100")
            expect(page.locator("#layer-0")).to_have_class("invalid")
            assert page.evaluate("window.playground.state.config.hidden") == [8, 8]
            page.fill("#layer-0", "8")
            page.press("#layer-0", "Enter")
            expect(page.locator("#layer-0")).not_to_have_class("invalid")

            # Choose moons (from another data set, so the choice is a real change).
            page.check('input[name="dataset"][value="xor"]')
            page.wait_for_function("() => window.playground.state.config.dataset === 'xor'")
            page.check('input[name="dataset"][value="moons"]')
            page.wait_for_function("() => window.playground.state.config.dataset === 'moons'")
            assert page.evaluate("window.playground.latest.epoch") == 0
            start = _shown_loss(page)
            assert start > 0.2, f"unexpected starting loss {start}"

            page.click("#play")
            expect(page.locator("#play")).to_contain_text("Pause")
            page.wait_for_function(
                f"() => parseFloat(document.getElementById('train-loss').textContent) < {start / 2}",
                timeout=30_000,
            )
            page.wait_for_function("() => document.getElementById('epoch').textContent !== '0'")
            shown = _shown_loss(page)
            assert shown < start / 2

            # A second tab is a second session with its own model.
            other = context.new_page()
            other.goto(server_url + "/")
            other.wait_for_function("() => window.playground && window.playground.latest !== null")
            assert other.evaluate("window.playground.sessionId") != first_session
            assert other.evaluate("window.playground.latest.epoch") == 0
            other.close()

            page.click("#play")  # pause, so the screenshot shows a settled picture
            expect(page.locator("#play")).to_contain_text("Play")

            # Click a point: its computation graph appears, with the seed's labelled records.
            position = page.evaluate("window.playground.pointOnCanvas('train', 0)")
            page.mouse.click(position["x"], position["y"])
            graph = page.locator("#graph svg")
            expect(graph).to_be_visible()
            for label in ("x0", "x1", "w1.0.0", "score", "loss"):
                expect(graph.locator("text", has_text=label).first).to_be_attached()
            expect(graph.locator("text", has_text="grad").first).to_be_attached()
            expect(page.locator("#graph-caption")).to_contain_text("train point #0")

            OUT.mkdir(exist_ok=True)
            screenshot = OUT / "playground.png"
            page.screenshot(path=str(screenshot), full_page=True)
            assert screenshot.stat().st_size > 10_000
        finally:
            browser.close()

    own_host = urlparse(server_url).netloc
    assert requested_hosts <= {own_host}, f"the page reached other hosts: {requested_hosts - {own_host}}"
    # The one refused request is the out-of-range setting above, which Chromium logs as a failed load.
    unexpected = [p for p in problems if "status of 422" not in p]
    assert not unexpected, unexpected
