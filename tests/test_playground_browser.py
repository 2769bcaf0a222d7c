"""The playground end to end in a real browser: Debian's Chromium driven by Playwright.

One server (uvicorn on a free 127.0.0.1 port, in a thread) and one browser serve every
test here; each test opens its own page (its own session). Every control is changed and
its effect seen: the settings the server took, the points, the pictures, the numbers.
The URL round trip, a bad CSV file, a model downloaded and loaded back, and the backprop
view's steps are checked too. Screenshots at 1440 and 420 px go to build/screenshots/.

Chromium must be at /usr/bin/chromium (``make test`` installs it with apt-get when
missing and root); Playwright's own browser download is not used.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator
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
OUT = Path(__file__).resolve().parent.parent / "build" / "screenshots"  # looked at by people; git ignores build/
TIMEOUT_MS = 20_000
READY = "() => window.playground && window.playground.latest !== null && window.playground.state !== null"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    import uvicorn

    from scratchgrad.playground.server import create_app, loopback_hosts

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(allowed_hosts=loopback_hosts("127.0.0.1")), host="127.0.0.1", port=port,
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
            "Run `make test` (it installs it with apt-get when root) or `sudo apt-get install chromium`."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """A page of the playground with what it requested and what went wrong in it."""

    def __init__(self, browser: Any, url: str, width: int = 1440, height: int = 1000, fragment: str = "") -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.hosts: set[str] = set()
        self.problems: list[str] = []
        self.page.on("request", lambda request: self.hosts.add(urlparse(request.url).netloc))
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("console", lambda message: self.problems.append(f"console: {message.text}")
                     if message.type == "error" else None)
        self.page.goto(url + "/" + fragment)
        self.page.wait_for_function(READY)

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def config(self) -> dict[str, Any]:
        return dict(self.js("window.playground.state.config"))

    def wait(self, condition: str, arg: Any = None) -> None:
        self.page.wait_for_function(condition, arg=arg)

    def version(self) -> int:
        return int(self.js("window.playground.state.state_version"))

    def frame(self) -> None:
        """Wait until the page has drawn what it last received (drawing happens on the next frames)."""
        self.js("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")

    def click_point_after(self, epochs: int, index: int) -> None:
        """Train ``epochs`` epochs with Step, then click training point ``index``: its trace starts."""
        for _ in range(epochs):
            self.page.click("#step")
        self.wait(f"() => window.playground.latest.epoch === {epochs}")
        self.page.locator("#boundary").scroll_into_view_if_needed()
        position = self.js(f"window.playground.pointOnCanvas('train', {index})")
        self.page.mouse.click(position["x"], position["y"])
        self.wait("() => window.playground.trace !== null")

    def after_change(self, before: int) -> None:
        """Wait until the page shows a state newer than ``before`` (the server took a change)."""
        self.wait("(v) => window.playground.state.state_version > v", before)

    def close(self, *, expected_errors: tuple[str, ...] = ()) -> None:
        """Close it; every request went to our server and nothing went wrong but what was expected."""
        own = urlparse(self.page.url).netloc
        self.context.close()
        assert self.hosts <= {own}, f"the page reached other hosts: {self.hosts - {own}}"
        unexpected = [p for p in self.problems if not any(e in p for e in expected_errors)]
        assert not unexpected, unexpected


@pytest.fixture
def page(browser: Any, server_url: str) -> Iterator[Page]:
    shown = Page(browser, server_url)
    yield shown
    shown.close(expected_errors=("status of 422",))  # refused settings: Chromium logs the failed load


def canvas_pixel(page: Page, selector: str, x: float, y: float) -> list[int]:
    """The RGBA of a canvas at (x, y) in its own pixels."""
    return list(page.js(
        "([s, x, y]) => Array.from(document.querySelector(s).getContext('2d').getImageData(x, y, 1, 1).data)",
        [selector, x, y],
    ))


# ---- training: play, pause, step, reset, the numbers ------------------------------------------------


def test_play_trains_and_the_numbers_and_curve_follow(page: Page, browser: Any, server_url: str) -> None:
    from playwright.sync_api import expect

    p = page.page
    first_session = page.js("window.playground.sessionId")
    start = float(p.inner_text("#train-loss"))
    assert p.inner_text("#epoch") == "0" and start > 0.2
    p.click("#step")
    expect(p.locator("#epoch")).to_have_text("1")
    p.keyboard.press("s")  # the keyboard shortcut steps too
    expect(p.locator("#epoch")).to_have_text("2")
    p.click("#play")
    expect(p.locator("#play")).to_contain_text("Pause")
    page.wait(f"() => parseFloat(document.getElementById('train-loss').textContent) < {start / 2}")
    assert p.inner_text("#rate") != "\u2013"  # updates per second, while playing
    p.click("#play")
    expect(p.locator("#play")).to_contain_text("Play")
    assert "%" in p.inner_text("#accuracy")
    # The loss curve is drawn: dark pixels along the train loss line.
    dark = page.js("""() => { const c = document.getElementById('loss-chart');
        const d = c.getContext('2d').getImageData(45, 0, c.width - 60, c.height - 20).data; let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] < 80 && d[i + 1] < 80) n++; return n; }""")
    assert dark > 50
    # Reset: epoch 0 and the starting loss again.
    p.click("#reset")
    expect(p.locator("#epoch")).to_have_text("0")
    assert float(p.inner_text("#train-loss")) == start
    # A second tab is a second session with its own model.
    other = Page(browser, server_url)
    assert other.js("window.playground.sessionId") != first_session
    assert other.js("window.playground.latest.epoch") == 0
    other.close()


def test_an_out_of_range_setting_gets_a_clear_message(page: Page) -> None:
    from playwright.sync_api import expect

    p = page.page
    p.fill("#n_points", "5000")
    p.press("#n_points", "Enter")
    expect(p.locator("#message")).to_contain_text("n_points must be between 10 and 2000, got 5000")
    expect(p.locator("#n_points")).to_have_class("invalid")
    assert page.config()["n_points"] == 200


# ---- data -------------------------------------------------------------------------------------------


def test_every_data_control_changes_the_points(page: Page) -> None:
    p = page.page
    points = lambda: page.js("window.playground.state.data.train.x")  # noqa: E731
    for name in ("circles", "spirals", "xor", "gauss", "moons"):
        before, shown = page.version(), points()
        p.click(f'[data-dataset="{name}"]')
        page.after_change(before)
        assert page.config()["dataset"] == name and points() != shown
        assert p.get_attribute(f'[data-dataset="{name}"]', "aria-pressed") == "true"
    for selector, value, field in (("#noise", "0.45", "noise"), ("#test_fraction", "0.3", "test_fraction"),
                                   ("#batch_size", "25", "batch_size")):
        before, shown = page.version(), points()
        p.fill(selector, value)
        p.dispatch_event(selector, "change")
        page.after_change(before)
        assert page.config()[field] == float(value)
        if field != "batch_size":
            assert points() != shown
    assert len(points()) == 140  # 30% of 200 points are for testing
    p.click("#step")
    page.wait("() => window.playground.latest.epoch === 1")
    assert page.js("window.playground.latest.steps") == 6  # 140 points in batches of 25: 6 updates
    before = page.version()
    p.fill("#n_points", "300")
    p.press("#n_points", "Enter")
    page.after_change(before)
    assert len(points()) + len(page.js("window.playground.state.data.test.x")) == 300
    before, seed, shown = page.version(), page.config()["seed"], points()
    p.click("#regenerate")
    page.after_change(before)
    assert page.config()["seed"] != seed and points() != shown
    before = page.version()
    p.fill("#seed", "7")
    p.press("#seed", "Enter")
    page.after_change(before)
    assert page.config()["seed"] == 7
    assert p.inner_text("#data-summary").startswith("210 training points, 90 test points")


def test_regression_has_its_own_data_and_loss(page: Page) -> None:
    p = page.page
    before = page.version()
    p.select_option("#problem", "regression")
    page.after_change(before)
    config = page.config()
    assert config["problem"] == "regression" and config["dataset"] == "plane" and config["loss"] == "mse"
    assert p.is_hidden('[data-dataset="moons"]') and p.is_visible('[data-dataset="gaussian_mix"]')
    assert "regression" in p.inner_text("#accuracy")
    before = page.version()
    p.click('[data-dataset="gaussian_mix"]')
    page.after_change(before)
    targets = page.js("window.playground.state.data.train.y")
    assert len(set(targets)) > 50  # real-valued targets, not two classes
    assert p.is_disabled('#loss option[value="hinge"]')
    before = page.version()
    p.select_option("#problem", "classification")
    page.after_change(before)
    assert page.config()["loss"] == "bce" and page.config()["dataset"] == "moons"


def test_a_data_set_and_a_loss_added_to_the_library_get_their_controls(
    browser: Any, server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses
    import random

    from scratchgrad import data as library_data
    from scratchgrad.nn import LOSSES

    def disc(samples: int | None, noise: float | None, seed: Any) -> Any:
        rng = random.Random(seed)
        points = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(samples or 0)]
        labels = [1.0 if x * x + y * y < 0.4 else -1.0 for x, y in points]
        return library_data.Dataset(points, labels, kind="binary", description="a disc", name="disc")

    monkeypatch.setitem(library_data.DATASETS, "disc", library_data.DatasetInfo("disc", "points in a disc", "binary", 100, 0.0, disc))
    monkeypatch.setitem(LOSSES, "sse2", dataclasses.replace(LOSSES["sse"], name="sse2"))
    page = Page(browser, server_url)  # a page opened now reads the registries as they are
    p = page.page
    assert p.get_attribute('[data-dataset="disc"]', "title") == "points in a disc"
    before = page.version()
    p.click('[data-dataset="disc"]')
    page.after_change(before)
    assert page.config()["dataset"] == "disc" and len(page.js("window.playground.state.data.train.x")) > 0
    before = page.version()
    p.select_option("#loss", "sse2")
    page.after_change(before)
    assert page.config()["loss"] == "sse2" and p.get_attribute("#loss", "title") == LOSSES["sse"].summary
    page.close()


def test_a_bad_csv_is_refused_and_a_good_one_is_trained_on(page: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    p = page.page
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n" + "0.1,0.2,1\n" * 5 + "0.3,oops,0\n" + "0.5,0.5,0\n" * 10)
    p.set_input_files("#csv-file", str(bad))
    expect(p.locator("#message")).to_contain_text("bad.csv: row 7, column 2 ('x2'): 'oops' is not a number")
    assert page.config()["dataset"] == "moons"
    good = tmp_path / "ring.csv"
    rows = [f"{(i % 7) / 7 - 0.5:.3f},{(i % 11) / 11 - 0.5:.3f},{int(i % 3 == 0)}" for i in range(60)]
    good.write_text("\n".join(rows) + "\n")
    before = page.version()
    p.set_input_files("#csv-file", str(good))
    page.after_change(before)
    assert page.config()["dataset"] == "csv" and page.config()["n_points"] == 60
    expect(p.locator("#data-summary")).to_contain_text("from your file")
    assert p.get_attribute('[data-dataset="csv"]', "aria-pressed") == "true"
    page.problems.clear()  # the refused upload's 422 is logged by Chromium


# ---- features and the network -----------------------------------------------------------------------


def test_features_switch_on_and_off(page: Page) -> None:
    from playwright.sync_api import expect

    p = page.page
    for name in ("x1sq", "x2sq", "x1x2", "sinx1", "sinx2"):
        before = page.version()
        p.click(f'.node.feature[data-feature="{name}"]')
        page.after_change(before)
        assert name in page.config()["features"]
        assert p.get_attribute(f'.node.feature[data-feature="{name}"]', "aria-pressed") == "true"
    assert page.js("window.playground.state.layer_sizes")[0] == 7
    assert p.locator("#links .link").count() == 7 * 8 + 8 * 8 + 8
    for name in ("x1", "x2", "x1sq", "x2sq", "sinx1", "sinx2"):
        before = page.version()
        p.click(f'.node.feature[data-feature="{name}"]')
        page.after_change(before)
    assert page.config()["features"] == ["x1x2"]
    p.click('.node.feature[data-feature="x1x2"]')  # the last one: refused, with a message
    expect(p.locator("#message")).to_contain_text("choose at least one input feature")


def test_layers_neurons_and_per_layer_activations(page: Page) -> None:
    p = page.page
    before = page.version()
    p.click("#add-layer")
    page.after_change(before)
    assert page.config()["hidden"] == [8, 8, 8] and p.inner_text("#layer-count") == "3"
    before = page.version()
    p.click('[data-add-neuron="2"]')
    page.after_change(before)
    assert page.config()["hidden"] == [8, 9, 8]
    assert p.locator('.node.hidden[data-layer="2"]').count() == 9
    before = page.version()
    p.click('[data-remove-neuron="1"]')
    page.after_change(before)
    assert page.config()["hidden"] == [7, 9, 8]
    before = page.version()
    p.select_option('select.layer-activation[data-layer="2"]', "relu")
    page.after_change(before)
    assert page.config()["activations"] == ["tanh", "relu", "tanh"]
    assert page.js("window.playground.state.layer_activations") == ["tanh", "relu", "tanh", "linear"]
    before = page.version()
    p.click("#remove-layer")
    page.after_change(before)
    assert page.config()["hidden"] == [7, 9] and page.config()["activations"] == ["tanh", "relu"]


def test_eight_layers_of_sixteen_neurons(browser: Any, server_url: str) -> None:
    wide = Page(browser, server_url, fragment="#hidden=" + ",".join(["16"] * 8) + "&activations=" + ",".join(["relu"] * 8))
    p = wide.page
    assert wide.config()["hidden"] == [16] * 8
    assert p.locator(".node.hidden").count() == 8 * 16 and p.locator(".node.output").count() == 1
    assert p.is_disabled("#add-layer") and p.is_disabled('[data-add-neuron="3"]')
    painted = wide.js("""() => { const c = document.querySelector('.node.hidden[data-layer="8"][data-neuron="15"] canvas');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).some((v, i) => i % 4 === 3 && v > 0); }""")
    assert painted
    p.click("#step")
    wide.wait("() => window.playground.latest.epoch === 1")
    wide.close()


def test_training_settings_reach_the_trainer(page: Page) -> None:
    p = page.page

    def loss_after_one_epoch() -> float:
        p.click("#step")
        page.wait("() => window.playground.latest.epoch >= 1")
        return float(page.js("window.playground.latest.train_loss"))

    reference = loss_after_one_epoch()
    # (control, value, setting, whether the first epoch's loss must change)
    changes = [("#loss", "hinge", "loss", True), ("#optimizer", "adam", "optimizer", True),
               ("#learning_rate", "1", "learning_rate", True),
               ("#regularization", "l2", "regularization", False),  # its rate is still 0
               ("#regularization_rate", "0.3", "regularization_rate", True),
               ("#regularization", "l1", "regularization", True),
               ("#engine", "scalar", "engine", False)]  # the scalar engine takes the same path
    seen = reference
    for selector, value, field, changes_the_run in changes:
        before = page.version()
        p.select_option(selector, value)
        page.after_change(before)
        config = page.config()
        assert str(config[field]) == value or config[field] == float(value), field
        loss = loss_after_one_epoch()
        assert (loss != pytest.approx(seen, rel=1e-9)) is changes_the_run, field
        seen = loss
    assert "scalar engine" in p.inner_text("#param-count")
    assert p.is_enabled("#regularization_rate")
    before = page.version()
    p.select_option("#regularization", "none")
    page.after_change(before)
    assert p.is_disabled("#regularization_rate")


# ---- pictures: heat maps, links, tooltips, editing a weight, test data, discretize -------------------


def test_pictures_tooltips_and_editing_a_weight(page: Page) -> None:
    from playwright.sync_api import expect

    p = page.page
    # Every neuron has its picture; the output's is the decision surface.
    colours = page.js("""() => Array.from(document.querySelectorAll('.node canvas')).map(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; const seen = new Set();
        for (let i = 0; i < d.length; i += 4) seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]); return seen.size; })""")
    assert len(colours) == 7 + 16 + 1 and min(colours[7:]) > 5
    # Hover a neuron: its formula with numbers.
    p.hover('.node.hidden[data-layer="1"][data-neuron="0"]')
    expect(p.locator("#network-tip")).to_contain_text("h1.0 = tanh(")
    expect(p.locator("#network-tip")).to_contain_text("\u00b7x\u2081")
    # Hover a link: its weight; click it: edit it.
    spot = page.js("""() => { const hit = document.querySelector('.hit[data-layer="2"][data-neuron="3"][data-input="5"]');
        const length = hit.getTotalLength(), matrix = hit.getScreenCTM();
        for (let f = 0.3; f < 0.9; f += 0.05) {  // a point of this link that no other link covers
            const q = hit.getPointAtLength(f * length), x = matrix.a * q.x + matrix.e, y = matrix.d * q.y + matrix.f;
            if (document.elementFromPoint(x, y) === hit) return {x, y}; }
        return null; }""")
    assert spot is not None
    p.mouse.move(spot["x"], spot["y"])
    expect(p.locator("#network-tip")).to_contain_text("w = ")
    expect(p.locator("#network-tip")).to_contain_text("h1.5 \u2192 h2.3")
    width_before = page.js("window.playground.linkStyle(2, 3, 5).width")
    p.mouse.click(spot["x"], spot["y"])
    p.fill("#editor input", "-3")
    p.press("#editor input", "Enter")
    page.wait("() => window.playground.latest.network.weights[1][3][5] === -3")
    page.frame()
    assert page.js("window.playground.linkStyle(2, 3, 5)")["stroke"] == "rgb(245,147,34)"  # negative: orange
    assert page.js("window.playground.linkStyle(2, 3, 5).width") > width_before
    # A neuron's editor, from the keyboard: its bias.
    p.focus('.node.hidden[data-layer="1"][data-neuron="2"]')
    p.keyboard.press("Enter")
    expect(p.locator("#editor .formula")).to_contain_text("h1.2 = tanh(")
    p.fill('#editor input[data-input="bias"]', "0.5")
    p.click("#editor-set")
    page.wait("() => window.playground.latest.network.biases[0][2] === 0.5")
    assert p.locator("#editor").is_hidden()
    # Show test data and discretize change the output picture.
    test_point = page.js("""() => { const s = window.playground.state; const c = document.getElementById('boundary');
        const [x0, x1, y0, y1] = s.domain; const p = s.data.test.x[0];
        return [Math.round((p[0] - x0) / (x1 - x0) * c.width), Math.round((y1 - p[1]) / (y1 - y0) * c.height)]; }""")
    ring = canvas_pixel(page, "#boundary", test_point[0], test_point[1])
    p.uncheck("#show-test")
    page.wait("() => location.hash.includes('show_test=0')")
    page.frame()
    assert canvas_pixel(page, "#boundary", test_point[0], test_point[1]) != ring
    surface_shades = """() => { const s = window.playground.state, c = document.getElementById('boundary');
        const ctx = c.getContext('2d'), [x0, x1, y0, y1] = s.domain, seen = new Set();
        const px = (p) => [(p[0] - x0) / (x1 - x0) * c.width, (y1 - p[1]) / (y1 - y0) * c.height];
        const points = s.data.train.x.concat(s.data.test.x).map(px), origin = px([0, 0]);
        for (let i = 0; i < 50; i++) for (let j = 0; j < 50; j++) {
            const x = (i + 0.5) * c.width / 50, y = (j + 0.5) * c.height / 50;
            if (y < 16 || y > c.height - 16 || Math.abs(x - origin[0]) < 2 || Math.abs(y - origin[1]) < 2) continue;
            if (points.some(q => Math.hypot(q[0] - x, q[1] - y) < 7)) continue;  // a data point, not the surface
            const d = ctx.getImageData(Math.floor(x), Math.floor(y), 1, 1).data; seen.add(d[0] + ',' + d[1] + ',' + d[2]); }
        return seen.size; }"""
    assert page.js(surface_shades) > 5  # shaded by confidence
    p.check("#discretize")
    page.wait("() => location.hash.includes('discretize=1')")
    page.frame()
    shades = page.js(surface_shades)
    assert shades == 2  # two colours, no shading


# ---- the URL --------------------------------------------------------------------------------------


def test_a_link_reproduces_the_run_and_can_hide_controls(page: Page, browser: Any, server_url: str) -> None:
    p = page.page
    for action in (lambda: p.click('[data-dataset="xor"]'), lambda: p.click('.node.feature[data-feature="x1x2"]'),
                   lambda: p.click("#add-layer"), lambda: p.select_option("#optimizer", "adam"),
                   lambda: p.select_option("#learning_rate", "0.03"), lambda: p.select_option("#regularization", "l1")):
        before = page.version()
        action()
        page.after_change(before)
    before = page.version()
    p.fill("#seed", "42")
    p.press("#seed", "Enter")
    page.after_change(before)
    p.check("#discretize")
    link = p.url
    assert "seed=42" in link and "dataset=xor" in link and "features=x1%2Cx2%2Cx1x2" in link
    for _ in range(3):
        p.click("#step")
    page.wait("() => window.playground.latest.epoch === 3")
    copy = Page(browser, server_url, fragment="#" + link.split("#", 1)[1] + "&hide=noise,regularization,model")
    assert copy.config() == page.config()
    assert copy.js("window.playground.state.data") == page.js("window.playground.state.data")
    assert copy.page.is_checked("#discretize")
    for _ in range(3):
        copy.page.click("#step")
    copy.wait("() => window.playground.latest.epoch === 3")
    assert copy.js("window.playground.latest.train_loss") == page.js("window.playground.latest.train_loss")
    # Copy link: the address (settings and seed), on the clipboard or shown when there is none.
    copy.page.click("#copy-link")
    from playwright.sync_api import expect

    expect(copy.page.locator("#message")).to_contain_text("link")
    # The teacher's hide list: those controls are gone, the rest are there.
    assert copy.page.is_hidden('[data-control="noise"]') and copy.page.is_hidden('[data-control="regularization"]')
    assert copy.page.is_hidden('[data-control="model"]') and copy.page.is_visible('[data-control="batch_size"]')
    assert "hide=noise%2Cregularization%2Cmodel" in copy.page.url  # kept as the lesson goes on
    copy.close()
    # A link made with an uploaded file cannot carry the file: the page says so and starts without it.
    uploaded = Page(browser, server_url, fragment="#dataset=csv&hidden=3")
    expect(uploaded.page.locator("#message")).to_contain_text("upload it again")
    assert uploaded.config()["dataset"] == "moons" and uploaded.config()["hidden"] == [3]
    uploaded.close()


# ---- model files ----------------------------------------------------------------------------------


def test_a_downloaded_model_loads_back(page: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    p = page.page
    for _ in range(3):
        p.click("#step")
    page.wait("() => window.playground.latest.epoch === 3")
    trained = page.js("window.playground.latest.network")
    with p.expect_download() as waiting:
        p.click("#download-npz")
    path = tmp_path / "model.npz"
    waiting.value.save_as(path)
    with p.expect_download() as waiting:
        p.click("#download-json")
    assert waiting.value.suggested_filename == "playground-model.json"
    before = page.version()
    p.click("#add-layer")  # another network shape
    page.after_change(before)
    before = page.version()
    p.set_input_files("#model-file", str(path))
    page.after_change(before)
    assert page.config()["hidden"] == [8, 8]
    assert page.js("window.playground.latest.network") == trained
    expect(p.locator("#message")).to_contain_text("Loaded model.npz")
    # An activation per layer: the .json file (the scalar engine's MLP) holds them too and loads back.
    before = page.version()
    p.select_option('select.layer-activation[data-layer="1"]', "relu")
    page.after_change(before)
    with p.expect_download() as waiting:
        p.click("#download-json")
    mixed = tmp_path / "mixed.json"
    waiting.value.save_as(mixed)
    weights = page.js("window.playground.latest.network")
    before = page.version()
    p.click("#reset")
    page.after_change(before)
    before = page.version()
    p.set_input_files("#model-file", str(mixed))
    page.after_change(before)
    assert page.config()["activations"] == ["relu", "tanh"] and page.js("window.playground.latest.network") == weights


# ---- backprop you can watch ----------------------------------------------------------------------------


def test_clicking_a_point_steps_through_its_forward_and_backward_pass(page: Page) -> None:
    from playwright.sync_api import expect

    p = page.page
    page.click_point_after(3, 4)
    trace = page.js("window.playground.trace")
    assert trace["steps"] == 2 + 2 * 3 and trace["phase"] == "input"
    assert trace["data"]["index"] == 4 and trace["data"]["loss"] > 0
    expect(p.locator("#trace-caption")).to_contain_text("Step 1 of 8")
    expect(p.locator("#trace-caption")).to_contain_text("train point #4")
    # Forward, layer by layer: the values appear on the network's neurons.
    p.click("#trace-next")
    expect(p.locator("#trace-caption")).to_contain_text("forward, hidden layer 1")
    page.frame()
    first_value = page.js("window.playground.trace.data.layers[0].a[0]")
    value_text = p.inner_text('.node.hidden[data-layer="1"][data-neuron="0"] .node-value')
    assert abs(float(value_text.replace("\u2212", "-")) - first_value) < 1e-3
    assert p.inner_text('.node.hidden[data-layer="2"][data-neuron="0"] .node-value') == ""  # not yet
    p.click("#trace-next")
    p.click("#trace-next")
    p.click("#trace-next")
    expect(p.locator("#trace-caption")).to_contain_text("the loss bce (binary cross-entropy on logits) for label")
    # Backward: gradients on the neurons, links by |dL/dw|.
    page.frame()
    weight_width = page.js("window.playground.linkStyle(3, 0, 2).width")
    p.click("#trace-next")
    expect(p.locator("#trace-caption")).to_contain_text("backward, the output")
    page.frame()
    grads = page.js("window.playground.trace.data.layers[2].grad_w[0]")
    widths = [page.js(f"window.playground.linkStyle(3, 0, {i}).width") for i in range(8)]
    biggest = max(range(8), key=lambda i: abs(grads[i]))
    assert widths[biggest] == max(widths) and widths[biggest] != weight_width
    assert p.inner_text('.node.output .node-value').startswith("\u2202")
    p.click("#trace-next")
    expect(p.locator("#trace-caption")).to_contain_text("backward, hidden layer 2")
    page.frame()
    assert page.js("window.playground.linkStyle(3, 0, 2).width") == 1  # the output's links are done: dim
    p.click("#trace-prev")
    expect(p.locator("#trace-caption")).to_contain_text("backward, the output")
    p.click("#trace-play")  # plays on by itself to the last step
    page.wait("() => window.playground.trace.step === 7")
    expect(p.locator("#trace-caption")).to_contain_text("backward, hidden layer 1")
    assert p.is_disabled("#trace-next")

    # The point's graph: one box per neuron, readable, with pan and zoom.
    boxes = p.locator("#neuron-graph .gbox")
    assert boxes.count() == 2 + 8 + 8 + 1 + 1
    font = page.js("parseFloat(getComputedStyle(document.querySelector('#neuron-graph text')).fontSize) * window.playground.graphView.k")
    assert font >= 11  # readable without zooming at this size
    k = page.js("window.playground.graphView.k")
    p.click("#graph-zoom-in")
    assert page.js("window.playground.graphView.k") > k
    x = page.js("window.playground.graphView.x")
    graph_box = p.locator("#neuron-graph").bounding_box()
    p.mouse.move(graph_box["x"] + 10, graph_box["y"] + 10)
    p.mouse.down()
    p.mouse.move(graph_box["x"] + 110, graph_box["y"] + 40, steps=5)
    p.mouse.up()
    assert page.js("window.playground.graphView.x") == pytest.approx(x + 100, abs=2)
    p.click("#graph-fit")
    # Click a neuron: its scalar operations, the tutorial's draw_dot picture.
    p.click('#neuron-graph .gbox[data-layer="2"][data-neuron="1"]')
    expect(p.locator("#neuron-detail-title")).to_contain_text("h2.1")
    detail = p.locator("#neuron-detail-svg svg")
    for label in ("h1.0", "w2.1.0", "b2.1", "h2.1"):
        expect(detail.locator("text", has_text=label).first).to_be_attached()
    expect(detail.locator("text", has_text="grad").first).to_be_attached()
    p.click("#trace-exit")
    assert page.js("window.playground.trace") is None


def test_the_keyboard_reaches_the_controls_and_the_points(page: Page) -> None:
    from playwright.sync_api import expect

    p = page.page
    p.keyboard.press("Tab")  # the skip link
    p.keyboard.press("Tab")
    assert page.js("document.activeElement.id") == "reset"
    p.keyboard.press("Tab")
    assert page.js("document.activeElement.id") == "play"
    p.keyboard.press("Enter")
    expect(p.locator("#play")).to_contain_text("Pause")
    p.keyboard.press("Enter")
    expect(p.locator("#play")).to_contain_text("Play")
    p.focus("#boundary")
    p.keyboard.press("ArrowRight")
    p.keyboard.press("ArrowRight")
    p.keyboard.press("Enter")
    page.wait("() => window.playground.trace !== null")
    assert page.js("window.playground.trace.data.index") == 1
    p.focus("#trace-next")
    p.keyboard.press("Enter")
    assert page.js("window.playground.trace.step") == 1


# ---- layout and screenshots -------------------------------------------------------------------------


@pytest.mark.parametrize("width, height", [(1440, 1000), (1280, 800), (420, 900)])
def test_the_layout_fits_and_the_screenshot_is_saved(browser: Any, server_url: str, width: int, height: int) -> None:
    shown = Page(browser, server_url, width=width, height=height)
    p = shown.page
    shown.click_point_after(20, 2)
    for _ in range(5):
        p.click("#trace-next")
    assert shown.js("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    if width >= 1280:  # the default network's graph at actual size, all of it in its panel
        assert shown.js("window.playground.graphView.k") == 1
        panel = p.locator("#neuron-graph").bounding_box()
        for box in p.locator("#neuron-graph .gbox").all():
            inside = box.bounding_box()
            assert inside["y"] >= panel["y"] and inside["y"] + inside["height"] <= panel["y"] + panel["height"]
            assert inside["x"] >= panel["x"] and inside["x"] + inside["width"] <= panel["x"] + panel["width"]
    for selector in ("#network", "#boundary", "#neuron-graph", "#play", "#trace-next"):
        box = p.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, selector
    p.evaluate("window.scrollTo(0, 0)")
    OUT.mkdir(parents=True, exist_ok=True)
    screenshot = OUT / f"playground-{width}.png"
    p.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 20_000
    shown.close()
