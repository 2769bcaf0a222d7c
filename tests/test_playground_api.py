"""The playground's server and sessions, through Starlette's TestClient and raw ASGI calls.

Every endpoint, with good and bad input; the server's guards (body limits read before the
body, Origin and Host checks, streams that end when their client stops reading, 4xx JSON
for every refusal); sessions isolated, bounded, reaped and training in their own threads.
The trainer's and the model's numbers are checked in test_playground_model.py.
"""

from __future__ import annotations

import asyncio
import html
import io
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
import warnings
import zipfile
from typing import Any, Callable, Iterator

import numpy as np
import pytest

with warnings.catch_warnings():  # Starlette 1.x suggests httpx2; httpx is what is installed
    warnings.filterwarnings("ignore", message=".*httpx.*")
    from starlette.testclient import TestClient

from scratchgrad.playground import create_app, serve
from scratchgrad.playground import server as server_module
from scratchgrad.playground import sessions as sessions_module
from scratchgrad.playground.config import MAX_HIDDEN_LAYERS, MAX_NEURONS, MAX_POINTS, ConfigError, PlaygroundConfig, limits
from scratchgrad.playground.sessions import Session, SessionLimitError, SessionStore, UnknownSessionError
from scratchgrad.playground.trainer import GRID_RESOLUTION, HEATMAP_RESOLUTION, Trainer

pytestmark = pytest.mark.filterwarnings("ignore:.*httpx.*")


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` until true; fail after ``timeout`` seconds (never hangs)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.02)


@pytest.fixture
def store() -> Iterator[SessionStore]:
    store = SessionStore(max_sessions=4)
    yield store
    store.close_all()


@pytest.fixture
def client(store: SessionStore) -> Iterator[TestClient]:
    with TestClient(create_app(store)) as client:
        yield client


def new_session(client: TestClient, **settings: Any) -> dict[str, Any]:
    response = client.post("/api/sessions", json=settings)
    assert response.status_code == 201, response.text
    return response.json()


def error_of(response: Any, status: int) -> str:
    """The JSON error message of a refused request, after checking its status."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    return str(body["error"])


def read_events(client: TestClient, url: str) -> list[tuple[str, Any]]:
    """The (event, data) pairs of a server-sent event stream that ends by itself."""
    events: list[tuple[str, Any]] = []
    with client.stream("GET", url) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                events.append((str(name), json.loads(line[len("data: "):])))
    return events




# ---- driving the app directly (ASGI): what a socket would do, without timing luck ---------------


def asgi_request(
    app: Any,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    chunks: list[bytes] = (),  # type: ignore[assignment]
    query: str = "",
) -> tuple[int, Any, int]:
    """Run one request through the app: (status, decoded JSON body, body chunks the app read).

    The body arrives in ``chunks`` as a client would send it; counting how many the app
    asked for shows whether it read a body it refused.
    """
    read = 0
    response: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read < len(chunks):
            read += 1
            return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            response["status"] = message["status"]
        elif message["type"] == "http.response.body":
            response["body"] += message.get("body", b"")

    raw_headers = [(b"host", b"testserver")] + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": raw_headers, "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=30))
    return response["status"], json.loads(response["body"] or b"null"), read


def stream_events(
    app: Any,
    session_id: str,
    *,
    query: str = "",
    on_event: Callable[[str, Any], None] | None = None,
    stop_after: int | None = None,
    stalled_after: int | None = None,
    timeout: float = 30.0,
) -> list[tuple[str, Any]]:
    """Read a session's event stream by calling the app directly; returns the (event, data) pairs.

    ``on_event(name, data)`` runs (in a worker thread) as each event arrives, before the
    stream may go on: whatever it changes must show in the next events. ``stop_after``
    disconnects after that many events. ``stalled_after`` plays a client that stops reading
    after that many body messages: its sends never complete.
    """
    events: list[tuple[str, Any]] = []

    async def main() -> None:
        disconnected = asyncio.Event()
        buffer = ""
        messages = 0

        async def receive() -> dict[str, Any]:
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal buffer, messages
            if message["type"] != "http.response.body":
                return
            messages += 1
            if stalled_after is not None and messages > stalled_after:
                await asyncio.Event().wait()  # the client stopped reading: this write never ends
            buffer += message.get("body", b"").decode()
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                lines = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line and not line.startswith(":"))
                if "event" in lines:
                    events.append((lines["event"], json.loads(lines["data"])))
                    if on_event is not None:
                        await asyncio.to_thread(on_event, *events[-1])
                    if stop_after is not None and len(events) >= stop_after:
                        disconnected.set()

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": f"/api/sessions/{session_id}/events", "raw_path": b"", "query_string": query.encode(),
            "root_path": "", "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        await asyncio.wait_for(app(scope, receive, send), timeout=timeout)

    asyncio.run(main())
    return events


# ---- the page and its files --------------------------------------------------------------------


def test_index_serves_the_page_with_local_files_only(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "scratchgrad playground" in page.text
    for needed in ('id="play"', 'id="step"', 'id="reset"', 'id="boundary"', 'id="loss-chart"',
                   'id="network"', 'id="neuron-graph"', 'id="trace-next"', 'class="datasets"'):
        assert needed in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    for path in ("/static/app.js", "/static/style.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        # Nothing from the internet: no absolute URLs, no CDN, no web fonts (SVG's namespace is a name).
        assert not re.search(r"https?://", response.text.replace("http://www.w3.org/2000/svg", "")), path
        assert "@import" not in response.text and "url(" not in response.text
    assert not re.search(r'(src|href)="(https?:)?//', page.text)


def test_missing_static_file_and_unknown_paths_are_json_404(client: TestClient) -> None:
    assert "no such page" in error_of(client.get("/static/nope.js"), 404)
    assert "/api/nothing" in error_of(client.get("/api/nothing"), 404)


def test_wrong_method_is_json_405(client: TestClient) -> None:
    session = new_session(client)
    message = error_of(client.delete(f"/api/sessions/{session['session_id']}/play"), 405)
    assert "DELETE" in message
    error_of(client.get("/api/sessions"), 405)


def test_options_lists_choices_labels_bounds_and_valid_defaults(client: TestClient) -> None:
    options = client.get("/api/options").json()
    assert options == json.loads(json.dumps(limits()))
    choices = options["choices"]
    # The library's registries: DATASETS (2-D sets by kind), LOSSES (one output), OPTIMIZERS, ACTIVATIONS.
    assert choices["datasets"] == {"classification": ["moons", "circles", "spirals", "xor", "gauss"],
                                   "regression": ["plane", "gaussian_mix"]}
    assert choices["dataset"] == ["moons", "circles", "spirals", "xor", "gauss", "plane", "gaussian_mix", "csv"]
    assert choices["features"] == ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"]
    assert choices["loss"] == ["hinge", "mse", "sse", "bce"] and choices["losses"]["regression"] == ["mse", "sse"]
    assert options["labels"]["loss"]["bce"] == "binary cross-entropy on logits"
    assert choices["optimizer"] == ["sgd", "momentum", "adam", "adamw"] and choices["activation"] == ["tanh", "relu", "sigmoid", "linear"]
    assert options["labels"]["dataset"]["gauss"].startswith("two Gaussian clouds")
    assert choices["regularization"] == ["none", "l1", "l2"]
    assert {"json", "npz"} <= set(choices["model_formats"])
    assert options["formulas"]["activation"]["tanh"] == "tanh(z)"
    assert options["bounds"]["hidden_layers"] == [0, MAX_HIDDEN_LAYERS] == [0, 8]
    assert options["bounds"]["neurons"] == [1, MAX_NEURONS] == [1, 16]
    assert options["bounds"]["n_points"][1] == MAX_POINTS
    assert PlaygroundConfig.from_json(options["defaults"]) == PlaygroundConfig()
    assert options["defaults"]["loss"] == "bce"  # cross-entropy: correct points still have gradients


# ---- sessions: create, read, configure, delete -----------------------------------------------------


def decode_grid(text: str) -> np.ndarray:
    """A grid the server packed as bytes, back on [-1, 1] (NaN for the 'not finite' byte)."""
    codes = np.frombuffer(__import__("base64").b64decode(text), dtype=np.uint8).astype(float)
    return np.where(codes == 255, np.nan, codes / 127.0 - 1.0)


def test_create_session_returns_everything_the_page_draws(client: TestClient) -> None:
    state = new_session(client, dataset="circles", n_points=120, hidden=[4], test_fraction=0.25,
                        features=["x1", "x2", "x1sq"])
    config = state["config"]
    assert config["dataset"] == "circles" and config["hidden"] == [4] and config["activations"] == ["tanh"]
    assert len(state["data"]["train"]["x"]) == 90 and len(state["data"]["test"]["x"]) == 30
    assert set(state["data"]["train"]["y"]) <= {-1.0, 1.0}
    assert state["layer_sizes"] == [3, 4, 1] and state["n_parameters"] == 21
    assert state["layer_activations"] == ["tanh", "linear"]
    assert state["playing"] is False and state["error"] is None
    assert len(decode_grid(state["feature_maps"])) == 7 * HEATMAP_RESOLUTION**2  # every feature offered
    latest = state["latest"]
    assert latest["epoch"] == 0
    boundary = decode_grid(latest["boundary"])
    assert len(boundary) == state["resolution"] ** 2 == GRID_RESOLUTION**2
    assert np.isfinite(boundary).all() and (np.abs(boundary) <= 1).all()
    assert len(decode_grid(latest["heatmaps"])) == 5 * HEATMAP_RESOLUTION**2  # 4 hidden + the output
    assert len(latest["heatmap_scales"]) == 5
    assert [np.shape(w) for w in latest["network"]["weights"]] == [(4, 3), (1, 4)]
    assert state["history"] == [[0, latest["train_loss"], latest["test_loss"]]]
    xmin, xmax, ymin, ymax = state["domain"]
    points = np.array(state["data"]["train"]["x"] + state["data"]["test"]["x"])
    assert (points[:, 0] > xmin).all() and (points[:, 0] < xmax).all()
    assert (points[:, 1] > ymin).all() and (points[:, 1] < ymax).all()
    assert client.get(f"/api/sessions/{state['session_id']}").json()["config"] == config


def test_create_session_without_a_body_uses_the_defaults(client: TestClient) -> None:
    response = client.post("/api/sessions")
    assert response.status_code == 201
    assert response.json()["config"] == PlaygroundConfig().to_json()


def test_a_regression_session_has_no_accuracy(client: TestClient) -> None:
    state = new_session(client, problem="regression", dataset="gaussian_mix", loss="mse")
    assert state["latest"]["train_accuracy"] is None and state["latest"]["test_loss"] > 0
    assert state["layer_activations"][-1] == "linear"
    targets = state["data"]["train"]["y"]
    assert len(set(targets)) > 10 and max(map(abs, targets)) <= 1.0


OUT_OF_RANGE = [
    ({"hidden": [8] * (MAX_HIDDEN_LAYERS + 1)}, "at most 8 hidden layers"),
    ({"hidden": [MAX_NEURONS + 1]}, "hidden[0]: a layer has 1 to 16 neurons, got 17"),
    ({"hidden": [4, 0]}, "hidden[1]"),
    ({"n_points": MAX_POINTS + 1}, "n_points must be between 10 and 2000, got 2001"),
    ({"n_points": 5}, "n_points"),
    ({"noise": -0.1}, "noise"),
    ({"noise": 1.5}, "noise"),
    ({"learning_rate": 0}, "learning_rate"),
    ({"learning_rate": 11}, "learning_rate"),
    ({"regularization_rate": 11}, "regularization_rate must be between 0 and 10"),
    ({"regularization": "dropout"}, "regularization must be one of none, l1, l2"),
    ({"batch_size": 0}, "batch_size"),
    ({"test_fraction": 0.95}, "test_fraction"),
    ({"seed": -1}, "seed"),
    ({"dataset": "blobs"}, "dataset must be one of moons, circles, spirals, xor, gauss, plane, gaussian_mix, csv; got 'blobs'"),
    ({"dataset": "plane"}, "dataset 'plane' is a regression set; for classification use one of moons"),
    ({"problem": "regression"}, "dataset 'moons' is a classification set"),
    ({"problem": "regression", "dataset": "plane"}, "loss 'bce' does not train one output on regression targets; use one of mse, sse"),
    ({"problem": "ranking"}, "problem must be one of classification, regression"),
    ({"activation": "gelu"}, "activations[0] must be one of tanh, relu, sigmoid, linear; got 'gelu'"),
    ({"activations": ["tanh"]}, "activations: one per hidden layer (2), got 1"),
    ({"features": []}, "features: choose at least one"),
    ({"features": ["x1", "x3"]}, "features must be one of x1, x2, x1sq"),
    ({"features": ["x1", "x1"]}, "each feature at most once"),
    ({"loss": "ce"}, "loss 'ce' does not train one output on classification targets"),
    ({"loss": "nll"}, "loss must be one of hinge, mse, sse, bce, ce"),
    ({"optimizer": "rmsprop"}, "optimizer"),
    ({"engine": "gpu"}, "engine"),
    ({"dataset": "csv"}, "dataset 'csv' needs a CSV file: upload one first"),
    ({"engine": "scalar", "hidden": [16, 16], "n_points": 2000}, "engine 'scalar' is for small problems"),
]


@pytest.mark.parametrize("settings, message", OUT_OF_RANGE)
def test_out_of_range_settings_are_422_naming_the_field(
    client: TestClient, settings: dict[str, Any], message: str
) -> None:
    assert message in error_of(client.post("/api/sessions", json=settings), 422)


WRONG_TYPES = [
    ({"n_points": "200"}, "n_points must be an integer"),
    ({"n_points": 20.5}, "n_points must be an integer"),
    ({"n_points": True}, "n_points must be an integer"),
    ({"hidden": "8,8"}, "hidden must be a list like [8, 8]"),
    ({"hidden": [8.5]}, "hidden[0] must be an integer"),
    ({"hidden": [None]}, "hidden[0] must be an integer"),
    ({"features": "x1"}, "features must be a list"),
    ({"activations": [1, 2]}, "activations[0] must be a string"),
    ({"activation": "tanh", "activations": ["tanh", "tanh"]}, "either activation"),
    ({"learning_rate": "fast"}, "learning_rate must be a number"),
    ({"learning_rate": None}, "learning_rate must be a number, got null"),
    ({"learning_rate": 10**400}, "learning_rate must be a finite number"),
    ({"dataset": 3}, "dataset must be a string"),
    ({"neurons": 8}, "unknown setting(s) 'neurons'"),
]


@pytest.mark.parametrize("settings, message", WRONG_TYPES)
def test_wrong_types_and_unknown_fields_are_400(client: TestClient, settings: dict[str, Any], message: str) -> None:
    assert message in error_of(client.post("/api/sessions", json=settings), 400)


@pytest.mark.parametrize(
    "body, message",
    [
        (b"{not json", "malformed JSON"),
        (b"[1, 2]", "settings must be a JSON object, got a list"),
        (b'"moons"', "settings must be a JSON object, got a string"),
        (b"\xff\xfe", "malformed JSON"),
        (b'{"noise": NaN}', "noise must be a finite number"),
        (b'{"learning_rate": Infinity}', "finite"),
        (b"[" * 30_000 + b"]" * 30_000, "nested too deeply"),
    ],
)
def test_malformed_bodies_are_400(client: TestClient, body: bytes, message: str) -> None:
    response = client.post("/api/sessions", content=body, headers={"content-type": "application/json"})
    assert message in error_of(response, 400)


def test_a_long_unknown_value_is_cut_short_in_the_message(client: TestClient) -> None:
    message = error_of(client.post("/api/sessions", json={"dataset": "x" * 50_000}), 422)
    assert len(message) < 300 and "..." in message


# ---- the server's guards ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, limit",
    [("/api/sessions", server_module.MAX_BODY_BYTES), ("/data", server_module.MAX_CSV_BYTES),
     ("/model", server_module.MAX_MODEL_BYTES)],
)
def test_an_oversized_body_is_refused_before_it_is_read(store: SessionStore, path: str, limit: int) -> None:
    app = create_app(store)
    if path != "/api/sessions":
        path = f"/api/sessions/{store.create(PlaygroundConfig()).id}{path}"
    chunks = [b"x" * 16_384] * (limit // 16_384 + 4)
    declared = str(sum(map(len, chunks)))
    status, body, read = asgi_request(app, "POST", path, headers={"content-length": declared}, chunks=chunks)
    assert status == 413 and f"{int(declared):,} bytes" in body["error"]
    assert read == 0  # the declared size was enough: not one byte was read
    # Without a declared size (chunked upload) it stops reading as soon as the limit is passed.
    status, body, read = asgi_request(app, "POST", path, chunks=chunks)
    assert status == 413 and "too large" in body["error"]
    assert read == limit // 16_384 + 1 < len(chunks)


def test_a_body_within_the_limit_is_read_whole(store: SessionStore) -> None:
    app = create_app(store)
    body = json.dumps({"dataset": "xor", "noise": 0.2}).encode()
    status, state, read = asgi_request(app, "POST", "/api/sessions", chunks=[body[:10], body[10:]],
                                       headers={"content-length": str(len(body))})
    assert status == 201 and read == 2 and state["config"]["dataset"] == "xor"


def test_a_bad_content_length_is_400(store: SessionStore) -> None:
    status, body, read = asgi_request(create_app(store), "POST", "/api/sessions", headers={"content-length": "lots"})
    assert status == 400 and "Content-Length" in body["error"] and read == 0


def test_changes_from_another_sites_page_are_refused(client: TestClient) -> None:
    for origin in ("http://evil.example", "null", "http://testserver.evil.example", "https://testserver:444"):
        response = client.post("/api/sessions", json={}, headers={"origin": origin})
        assert "only takes changes from its own page" in error_of(response, 403)
    sid = new_session(client)["session_id"]
    for method, suffix in (("PUT", "/config"), ("POST", "/play"), ("DELETE", "")):
        response = client.request(method, f"/api/sessions/{sid}{suffix}", json={"noise": 0.2},
                                  headers={"origin": "http://evil.example"})
        error_of(response, 403)
    assert client.get(f"/api/sessions/{sid}").json()["playing"] is False
    # Its own page (same host and port) and scripts without an Origin header are welcome.
    assert client.post("/api/sessions", json={}, headers={"origin": "http://testserver"}).status_code == 201
    assert client.get("/api/options", headers={"origin": "http://evil.example"}).status_code == 200


@pytest.mark.parametrize(
    "bound, good, bad",
    [
        ("127.0.0.1", ["http://127.0.0.1:8000", "http://localhost:8000"], ["http://evil.example", "http://testserver"]),
        ("::1", ["http://[::1]:8000", "http://localhost:8000"], ["http://[::2]:8000", "http://evil.example:8000"]),
        ("127.0.0.2", ["http://127.0.0.2:9000", "http://127.0.0.1:9000"], ["http://127.0.0.3:9000", "http://rebind.example"]),
        ("localhost", ["http://localhost:8000", "http://[::1]:8000"], ["http://attacker.example"]),
    ],
)
def test_the_host_check_covers_every_loopback_address(bound: str, good: list[str], bad: list[str]) -> None:
    allowed = server_module.loopback_hosts(bound)
    assert allowed is not None
    for url in good:
        with TestClient(create_app(allowed_hosts=allowed), base_url=url) as client:
            assert client.get("/api/options").status_code == 200, url
    for url in bad:
        with TestClient(create_app(allowed_hosts=allowed), base_url=url) as client:
            assert "DNS rebinding" in error_of(client.get("/api/options"), 400), url


def test_other_addresses_have_no_host_check() -> None:
    assert server_module.loopback_hosts("0.0.0.0") is None
    assert server_module.loopback_hosts("192.168.1.5") is None
    assert server_module.loopback_hosts("::") is None


def test_unknown_session_is_404_on_every_endpoint(client: TestClient) -> None:
    base = "/api/sessions/no-such-session"
    requests = [
        client.get(base),
        client.delete(base),
        client.put(base + "/config", json={"noise": 0.2}),
        client.post(base + "/play"),
        client.post(base + "/pause"),
        client.post(base + "/step"),
        client.post(base + "/reset"),
        client.put(base + "/weight", json={"layer": 0, "neuron": 0, "input": 0, "value": 1}),
        client.post(base + "/data", content=b"1,2,1"),
        client.get(base + "/model"),
        client.post(base + "/model?filename=a.npz", content=b"x"),
        client.get(base + "/events"),
        client.get(base + "/trace?index=0"),
        client.get(base + "/neuron?index=0&layer=0&neuron=0"),
        client.get(base + "/graph?index=0"),
    ]
    for response in requests:
        assert "no session 'no-such-session'" in error_of(response, 404)


def test_configure_rebuilds_with_merged_settings(client: TestClient) -> None:
    session = new_session(client, hidden=[3])
    sid = session["session_id"]
    client.post(f"/api/sessions/{sid}/step", json={"epochs": 2})
    state = client.put(f"/api/sessions/{sid}/config", json={"dataset": "xor", "hidden": [5, 2]}).json()
    assert state["config"]["dataset"] == "xor" and state["config"]["hidden"] == [5, 2]
    assert state["config"]["activations"] == ["tanh", "tanh"]  # the new layer took the last one's
    assert state["config"]["noise"] == session["config"]["noise"]  # not given: kept
    assert state["latest"]["epoch"] == 0 and state["layer_sizes"] == [2, 5, 2, 1]
    assert state["state_version"] > session["state_version"]
    relu = client.put(f"/api/sessions/{sid}/config", json={"activations": ["relu", "sigmoid"]}).json()
    assert relu["layer_activations"] == ["relu", "sigmoid", "linear"]
    regression = client.put(f"/api/sessions/{sid}/config",
                            json={"problem": "regression", "dataset": "plane", "loss": "mse"}).json()
    assert regression["config"]["problem"] == "regression"


def test_bad_configure_leaves_the_session_as_it_was(client: TestClient) -> None:
    sid = new_session(client)["session_id"]
    client.post(f"/api/sessions/{sid}/step", json={"epochs": 3})
    assert "at most 8 hidden layers" in error_of(
        client.put(f"/api/sessions/{sid}/config", json={"hidden": [2] * 9}), 422
    )
    assert "this request needs a JSON object body" in error_of(client.put(f"/api/sessions/{sid}/config"), 400)
    error_of(client.put(f"/api/sessions/{sid}/config", content=b"{"), 400)
    state = client.get(f"/api/sessions/{sid}").json()
    assert state["config"] == PlaygroundConfig().to_json() and state["latest"]["epoch"] == 3


def test_delete_closes_the_session(client: TestClient, store: SessionStore) -> None:
    sid = new_session(client)["session_id"]
    assert client.delete(f"/api/sessions/{sid}").json() == {"closed": sid}
    assert sid not in store
    error_of(client.get(f"/api/sessions/{sid}"), 404)
    error_of(client.delete(f"/api/sessions/{sid}"), 404)


# ---- training controls ------------------------------------------------------------------------


def test_step_trains_epochs_and_lowers_the_loss(client: TestClient) -> None:
    session = new_session(client)
    sid = session["session_id"]
    one = client.post(f"/api/sessions/{sid}/step").json()
    assert one["latest"]["epoch"] == 1 and one["playing"] is False
    many = client.post(f"/api/sessions/{sid}/step", json={"epochs": 40}).json()
    assert many["latest"]["epoch"] == 41
    assert many["latest"]["train_loss"] < session["latest"]["train_loss"] / 2
    assert many["latest"]["train_accuracy"] > 0.85
    history = client.get(f"/api/sessions/{sid}").json()["history"]
    assert [row[0] for row in history] == list(range(42))


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"epochs": 0}, 422, "epochs must be between 1 and 100, got 0"),
        ({"epochs": 101}, 422, "epochs must be between 1 and 100"),
        ({"epochs": "3"}, 400, "epochs must be an integer"),
        ({"epochs": True}, 400, "epochs must be an integer"),
        ({"epochs": 2.5}, 400, "epochs must be an integer"),
        ({"steps": 2}, 400, "unknown field(s) 'steps'"),
        ([1], 400, "step takes a JSON object"),
    ],
)
def test_bad_step_requests(client: TestClient, body: Any, status: int, message: str) -> None:
    sid = new_session(client)["session_id"]
    assert message in error_of(client.post(f"/api/sessions/{sid}/step", json=body), status)
    assert "malformed JSON" in error_of(client.post(f"/api/sessions/{sid}/step", content=b"{epochs: 1}"), 400)


def test_play_trains_in_the_background_and_pause_stops_it(client: TestClient, store: SessionStore) -> None:
    sid = new_session(client)["session_id"]
    started = client.post(f"/api/sessions/{sid}/play").json()
    assert started["playing"] is True
    assert client.post(f"/api/sessions/{sid}/play").json()["playing"] is True  # idempotent
    wait_until(lambda: client.get(f"/api/sessions/{sid}").json()["latest"]["epoch"] >= 5)
    paused = client.post(f"/api/sessions/{sid}/pause").json()
    assert paused["playing"] is False
    runner = store.get(sid)._runner
    assert runner is not None
    runner.join(timeout=10)  # finishes the epoch in progress, then stops
    assert not runner.is_alive()
    epoch = client.get(f"/api/sessions/{sid}").json()["latest"]["epoch"]
    assert epoch >= 5 and store.get(sid)._trainer.epoch == epoch


def test_reset_restores_the_starting_weights(client: TestClient) -> None:
    session = new_session(client)
    sid = session["session_id"]
    client.post(f"/api/sessions/{sid}/step", json={"epochs": 5})
    state = client.post(f"/api/sessions/{sid}/reset").json()
    assert state["latest"]["epoch"] == 0 and state["playing"] is False
    assert state["latest"]["network"] == session["latest"]["network"]
    assert state["latest"]["train_loss"] == session["latest"]["train_loss"]
    assert len(state["history"]) == 1
    error_of(client.post(f"/api/sessions/{sid}/reset", content=b"nope"), 400)


def test_two_sessions_are_isolated(client: TestClient) -> None:
    a = new_session(client)["session_id"]
    b = new_session(client, dataset="xor")["session_id"]
    assert a != b
    client.post(f"/api/sessions/{a}/step", json={"epochs": 4})
    client.put(f"/api/sessions/{a}/config", json={"hidden": [2]})
    state_b = client.get(f"/api/sessions/{b}").json()
    assert state_b["latest"]["epoch"] == 0
    assert state_b["config"]["hidden"] == [8, 8] and state_b["config"]["dataset"] == "xor"


def test_same_settings_give_the_same_start_and_the_seed_changes_it(client: TestClient) -> None:
    one = new_session(client, seed=5)
    two = new_session(client, seed=5)
    other = new_session(client, seed=6)
    assert one["data"] == two["data"] and one["latest"]["network"] == two["latest"]["network"]
    assert other["data"] != one["data"] and other["latest"]["network"] != one["latest"]["network"]


# ---- editing a weight --------------------------------------------------------------------------------


def test_editing_a_weight_changes_the_network_and_its_pictures(client: TestClient) -> None:
    session = new_session(client, hidden=[3])
    sid = session["session_id"]
    update = client.put(f"/api/sessions/{sid}/weight",
                        json={"layer": 0, "neuron": 2, "input": 1, "value": -2.5}).json()
    assert update["latest"]["network"]["weights"][0][2][1] == -2.5
    assert update["latest"]["heatmaps"] != session["latest"]["heatmaps"]
    assert update["latest"]["epoch"] == 0
    bias = client.put(f"/api/sessions/{sid}/weight", json={"layer": 1, "neuron": 0, "input": None, "value": 0.75}).json()
    assert bias["latest"]["network"]["biases"][1] == [0.75]
    assert client.get(f"/api/sessions/{sid}").json()["latest"]["network"]["biases"][1] == [0.75]


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"layer": 2, "neuron": 0, "input": 0, "value": 1}, 422, "layer must be between 0 and 1, got 2"),
        ({"layer": 0, "neuron": 3, "input": 0, "value": 1}, 422, "neuron must be between 0 and 2, got 3"),
        ({"layer": 1, "neuron": 0, "input": 3, "value": 1}, 422, "input must be between 0 and 2, got 3"),
        ({"layer": 0, "neuron": 0, "input": 0, "value": 1e6}, 422, "finite number within \u00b11000"),
        ({"layer": 0, "neuron": 0, "input": 0, "value": 10**400}, 422, "finite number"),
        ({"layer": 0, "neuron": 0, "input": 0, "value": "big"}, 400, "value must be a number"),
        ({"layer": 0, "neuron": 0, "value": 1}, 400, 'weight takes {"layer"'),
        ([0, 0, 0, 1], 400, 'weight takes {"layer"'),
    ],
)
def test_bad_weight_edits(client: TestClient, body: Any, status: int, message: str) -> None:
    sid = new_session(client, hidden=[3])["session_id"]
    assert message in error_of(client.put(f"/api/sessions/{sid}/weight", json=body), status)
    error_of(client.put(f"/api/sessions/{sid}/weight", content=b'{"value": NaN}'), 400)


# ---- one point: its pass, a neuron's picture, the whole graph -------------------------------------


def test_trace_of_a_point_has_every_layers_values_and_gradients(client: TestClient, store: SessionStore) -> None:
    sid = new_session(client, hidden=[4, 3], features=["x1", "x2", "x1x2"])["session_id"]
    trace = client.get(f"/api/sessions/{sid}/trace?split=test&index=3").json()
    x, label = store.get(sid)._trainer.point("test", 3)
    assert trace["x"] == x and trace["label"] == label and trace["split"] == "test" and trace["index"] == 3
    assert trace["feature_names"] == ["x\u2081", "x\u2082", "x\u2081x\u2082"]
    assert trace["inputs"] == pytest.approx([x[0], x[1], x[0] * x[1]])
    assert [len(layer["a"]) for layer in trace["layers"]] == [4, 3, 1]
    assert np.shape(trace["layers"][1]["grad_w"]) == (3, 4)
    assert trace["loss"] > 0 and trace["loss_name"] == "bce"
    # Cross-entropy: every point has a gradient, also one the network already gets right.
    assert any(abs(g) > 0 for row in trace["layers"][0]["grad_w"] for g in row)


def test_a_neurons_picture_is_draw_dot_of_that_neuron(client: TestClient) -> None:
    sid = new_session(client, hidden=[3])["session_id"]
    result = client.get(f"/api/sessions/{sid}/neuron?split=train&index=0&layer=1&neuron=0").json()
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", result["svg"])]
    for label in ("h1.0", "h1.2", "w2.0.1", "b2.0", "output"):
        assert label in [t.strip() for t in texts], label
    assert result["layer"] == 1 and result["neuron"] == 0 and result["loss"] > 0


BAD_POINT_REQUESTS = {  # path and query -> (status, message)
    "trace?": (400, "trace needs ?index="), "trace?index=abc": (400, "index must be an integer"),
    "trace?index=-1": (422, "index must be between 0 and"), "trace?index=100": (422, "train point index must be in 0..99, got 100"),
    "trace?split=test&index=100": (422, "test point index must be in 0..99"),
    "trace?split=valid&index=0": (422, "split must be 'train' or 'test'"),
    "trace?index=0&zoom=2": (400, "unknown query parameter(s) 'zoom'"), "neuron?index=0&layer=0": (400, "neuron needs ?neuron="),
    "neuron?index=0&layer=3&neuron=0": (422, "layer must be in 0..2, got 3"),
    "neuron?index=0&layer=2&neuron=1": (422, "layer 2 has neurons 0..0, got 1"),
    "graph?": (400, "graph needs ?index="), "graph?index=100": (422, "train point index must be in 0..99"),
}  # fmt: skip



def test_graph_of_a_point_is_the_whole_draw_dot_picture(client: TestClient) -> None:
    sid = new_session(client, hidden=[3])["session_id"]
    result = client.get(f"/api/sessions/{sid}/graph?split=train&index=1").json()
    assert result["compact"] is False and result["values"] == result["svg"].count(">data ")
    assert "loss" in html.unescape(result["svg"])


def test_graph_without_graphviz_is_503_saying_how_to_install(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import graphviz

    def no_dot(self: Any, *args: Any, **kwargs: Any) -> bytes:
        raise graphviz.ExecutableNotFound(["dot", "-Tsvg"])

    monkeypatch.setattr(graphviz.Digraph, "pipe", no_dot)
    sid = new_session(client)["session_id"]
    for path in ("/graph?index=0", "/neuron?index=0&layer=0&neuron=0"):
        message = error_of(client.get(f"/api/sessions/{sid}{path}"), 503)
        assert "Graphviz" in message and "apt-get install graphviz" in message


def test_a_diverged_network_is_a_422_not_a_500(client: TestClient, store: SessionStore) -> None:
    sid = new_session(client, hidden=[2])["session_id"]
    store.get(sid)._trainer.network.module.layers[0].weight.data[0, 0] = np.nan  # as a runaway update leaves it
    message = error_of(client.get(f"/api/sessions/{sid}/trace?index=0"), 422)
    assert "not finite" in message and "diverged" in message
    state = client.get(f"/api/sessions/{sid}").json()  # the state itself stays readable
    assert state["config"]["hidden"] == [2]
    assert "cannot save" in error_of(client.get(f"/api/sessions/{sid}/model?format=npz"), 422)


# ---- your own data, model files ------------------------------------------------------------------


def csv_of(points: list[tuple[float, float, float]], header: str = "x1,x2,label\n") -> bytes:
    return (header + "".join(f"{a},{b},{c}\n" for a, b, c in points)).encode()


def test_uploading_a_csv_trains_on_its_points(client: TestClient) -> None:
    rng = np.random.default_rng(0)
    points = [(float(a), float(b), int(a * b > 0)) for a, b in rng.uniform(-1, 1, size=(40, 2))]
    sid = new_session(client)["session_id"]
    state = client.post(f"/api/sessions/{sid}/data?filename=mine.csv", content=csv_of(points)).json()
    assert state["config"]["dataset"] == "csv" and state["config"]["n_points"] == 40
    shown = sorted(map(tuple, state["data"]["train"]["x"] + state["data"]["test"]["x"]))
    assert shown == sorted((a, b) for a, b, _ in points)
    assert set(state["data"]["train"]["y"]) == {-1.0, 1.0}  # 0/1 became -1/+1
    # Other settings keep the uploaded points.
    again = client.put(f"/api/sessions/{sid}/config", json={"hidden": [3], "test_fraction": 0.25}).json()
    assert len(again["data"]["train"]["x"]) == 30 and again["config"]["dataset"] == "csv"
    regression = client.post(f"/api/sessions/{sid}/data?problem=regression",
                             content=csv_of([(i / 10, -i / 10, i / 40) for i in range(20)])).json()
    assert regression["config"]["problem"] == "regression" and regression["config"]["loss"] == "mse"


@pytest.mark.parametrize(
    "content, message",
    [
        (csv_of([(0.1, 0.2, 1)] * 5 + [(0.3, "oops", 0)] + [(0.5, 0.5, 0)] * 10), "mine.csv: row 7, column 2 ('x2'): 'oops' is not a number"),
        (b"1,2,1\n3,4\n", "mine.csv: row 2 has 2 columns, expected 3"),
        (b"1,2,3,1\n" * 20, "needs 3 columns (x1, x2, target), found 4"),
        (csv_of([(0.1, 0.2, 1)] * 5), "has 5 points; the playground takes 10 to 2000"),
        (csv_of([(i, i, i % 3) for i in range(20)]), "mine.csv: binary_labels needs exactly 2 distinct label values, got 3"),
        (csv_of([(i, 1e9, i % 2) for i in range(20)]), "data row 1 has a number larger than 10000"),
        (csv_of([(0.1, 0.2, 1)] * 10 + [(0.1, "inf", 0)]), "'inf' is not finite"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"x1,x2,label\n", "no data rows"),
    ],
)
def test_a_bad_csv_gets_a_message_naming_the_row(client: TestClient, content: bytes, message: str) -> None:
    session = new_session(client)
    sid = session["session_id"]
    assert message in error_of(client.post(f"/api/sessions/{sid}/data?filename=mine.csv", content=content), 422)
    assert client.get(f"/api/sessions/{sid}").json()["config"]["dataset"] == "moons"  # unchanged


def test_an_empty_csv_and_a_bad_problem_are_refused(client: TestClient) -> None:
    sid = new_session(client)["session_id"]
    assert "empty" in error_of(client.post(f"/api/sessions/{sid}/data", content=b"  \n"), 400)
    assert "problem must be" in error_of(client.post(f"/api/sessions/{sid}/data?problem=x", content=b"1,2,3"), 422)


@pytest.mark.parametrize("fmt", ["json", "npz", "onnx"])
def test_a_downloaded_model_loads_back(client: TestClient, fmt: str) -> None:
    if fmt == "onnx":
        pytest.importorskip("onnx")
    sid = new_session(client, hidden=[5, 3], activations=["relu", "tanh"])["session_id"]
    trained = client.post(f"/api/sessions/{sid}/step", json={"epochs": 5}).json()["latest"]
    response = client.get(f"/api/sessions/{sid}/model?format={fmt}")
    assert response.status_code == 200
    assert f'filename="playground-model.{fmt}"' in response.headers["content-disposition"]
    if fmt == "onnx":
        from scratchgrad import export

        path = __import__("pathlib").Path(__import__("tempfile").mkdtemp()) / "m.onnx"
        path.write_bytes(response.content)
        trainer_state = client.get(f"/api/sessions/{sid}").json()
        points = np.array(trainer_state["data"]["train"]["x"][:5])
        assert export.onnx_predict(path, points).shape == (5, 1)
        return
    other = new_session(client)["session_id"]  # a fresh session, another network shape
    loaded = client.post(f"/api/sessions/{other}/model?filename=saved.{fmt}", content=response.content).json()
    assert loaded["config"]["hidden"] == [5, 3] and loaded["config"]["activations"] == ["relu", "tanh"]
    assert loaded["latest"]["epoch"] == 0
    assert loaded["latest"]["network"] == trained["network"]
    assert loaded["latest"]["train_loss"] == pytest.approx(trained["train_loss"], rel=1e-9)


def test_model_files_are_the_librarys_with_an_activation_per_layer(client: TestClient, tmp_path: Any) -> None:
    from scratchgrad import nn

    sid = new_session(client, activations=["relu", "sigmoid"], loss="hinge")["session_id"]
    for fmt in ("json", "npz"):
        path = tmp_path / f"m.{fmt}"
        path.write_bytes(client.get(f"/api/sessions/{sid}/model?format={fmt}").content)
        loaded = nn.load(path)
        assert loaded.architecture() == {"nin": 2, "nouts": [8, 8, 1], "activation": ["relu", "sigmoid"],
                                         "output_activation": "linear"}
        assert loaded.engine == ("scalar" if fmt == "json" else "tensor")
    assert "format must be one of" in error_of(client.get(f"/api/sessions/{sid}/model?format=pt"), 422)
    # A model whose output suits another loss takes that loss: a tanh output trains with mean squared error.
    tanh_out = new_session(client, loss="mse")["session_id"]
    content = client.get(f"/api/sessions/{tanh_out}/model?format=npz").content
    loaded = client.post(f"/api/sessions/{sid}/model?filename=m.npz", content=content).json()
    assert loaded["config"]["loss"] == "mse" and loaded["layer_activations"][-1] == "tanh"


def test_loading_a_model_checks_it_fits(client: TestClient) -> None:
    three_inputs = new_session(client, features=["x1", "x2", "x1sq"], hidden=[2])["session_id"]
    content = client.get(f"/api/sessions/{three_inputs}/model?format=npz").content
    two_inputs = new_session(client)["session_id"]
    message = error_of(client.post(f"/api/sessions/{two_inputs}/model?filename=m.npz", content=content), 422)
    assert "the model takes 3 inputs but 2 features are selected" in message
    assert "load a scratchgrad model file" in error_of(
        client.post(f"/api/sessions/{two_inputs}/model?filename=m.pt", content=b"x"), 422)
    assert "m.json" in error_of(client.post(f"/api/sessions/{two_inputs}/model?filename=m.json", content=b"{"), 422)
    assert "not a readable .npz" in error_of(
        client.post(f"/api/sessions/{two_inputs}/model?filename=m.npz", content=b"PK\x03\x04junk"), 422)
    # An archive that would unpack to far more than it weighs is refused before it is unpacked.
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("weights.npy", b"\0" * (8 * 1024 * 1024))
    assert "unpacks to 8,388,608 bytes" in error_of(
        client.post(f"/api/sessions/{two_inputs}/model?filename=m.npz", content=bomb.getvalue()), 422)
    assert client.get(f"/api/sessions/{two_inputs}").json()["config"]["hidden"] == [8, 8]


# ---- the event stream ---------------------------------------------------------------------------


def test_events_start_with_the_state_then_stream_updates(client: TestClient) -> None:
    sid = new_session(client)["session_id"]
    client.post(f"/api/sessions/{sid}/play")
    events = read_events(client, f"/api/sessions/{sid}/events?max_events=6")
    client.post(f"/api/sessions/{sid}/pause")
    names = [name for name, _ in events]
    assert names[0] == "state" and set(names[1:]) == {"update"} and len(names) == 6
    state = events[0][1]
    rows = list(state["history"])
    for _, update in events[1:]:
        assert update["state_version"] == state["state_version"]
        if update["history_replace"]:
            rows = list(update["history"])
        else:
            rows.extend(update["history"])
        assert update["latest"]["epoch"] == rows[-1][0]
    epochs = [row[0] for row in rows]
    assert epochs == list(range(epochs[0], epochs[-1] + 1))  # no epoch lost, none twice


def test_events_send_a_new_state_after_a_reset(store: SessionStore) -> None:
    session = store.create(PlaygroundConfig())

    def reset_on_first_state(name: str, data: Any) -> None:
        if data.get("config", {}).get("dataset") == "moons":
            session.reset(PlaygroundConfig(dataset="circles"))

    events = stream_events(create_app(store), session.id, on_event=reset_on_first_state, stop_after=2)
    assert [name for name, _ in events] == ["state", "state"]
    assert events[1][1]["config"]["dataset"] == "circles"
    assert session.streams == 0  # the stream ended when the client went away


def test_events_send_an_update_after_a_step(store: SessionStore) -> None:
    session = store.create(PlaygroundConfig())
    events = stream_events(create_app(store), session.id, stop_after=2,
                           on_event=lambda name, data: session.step(1) if name == "state" else None)
    assert [name for name, _ in events] == ["state", "update"]
    assert events[1][1]["latest"]["epoch"] == 1 and events[1][1]["history"][-1][0] == 1


def test_events_say_closed_when_the_session_closes(store: SessionStore) -> None:
    session = store.create(PlaygroundConfig())
    events = stream_events(create_app(store), session.id, query="max_seconds=60",
                           on_event=lambda name, data: store.close(session.id) if name == "state" else None)
    assert [name for name, _ in events] == ["state", "closed"]
    assert "reload the page" in events[1][1]["error"]


def test_events_end_at_once_when_the_server_stops(store: SessionStore) -> None:
    app = create_app(store)
    session = store.create(PlaygroundConfig())
    events = stream_events(app, session.id, query="max_seconds=60",
                           on_event=lambda name, data: app.state.stopping.set())
    assert [name for name, _ in events] == ["state", "bye"]
    assert events[1][1]["reason"] == "the playground server is stopping"


def test_events_end_with_bye_after_max_seconds(store: SessionStore) -> None:
    session = store.create(PlaygroundConfig())
    events = stream_events(create_app(store), session.id, query="max_seconds=0.3")
    assert [name for name, _ in events] == ["state", "bye"]
    assert "reconnect" in events[1][1]["reason"]


def test_a_stream_whose_client_stops_reading_ends_within_its_limit(store: SessionStore) -> None:
    session = store.create(PlaygroundConfig())
    session.play()
    try:
        # The client reads the opening and the state, then never again: every later write
        # blocks. Only the stream's own limit can end it; a stream that ignored the limit
        # would outlive the helper's 20 s and fail the test, however busy the machine.
        events = stream_events(create_app(store), session.id, query="max_seconds=0.5", stalled_after=2, timeout=20)
    finally:
        session.close()
    assert [name for name, _ in events] == ["state"]
    assert session.streams == 0


BAD_EVENT_QUERIES = {  # query -> (status, message)
    "max_seconds=soon": (400, "max_seconds must be a number"), "max_seconds=0": (422, "max_seconds must be in (0, 600]"),
    "max_seconds=nan": (422, "max_seconds"), "max_seconds=1e9": (422, "max_seconds"), "max_events=0": (422, "max_events"),
    "max_events=x": (400, "max_events must be an integer"), "since=3": (400, "unknown query parameter(s) 'since'"),
}  # fmt: skip
BAD_QUERIES = {**BAD_POINT_REQUESTS, **{f"events?{query}": answer for query, answer in BAD_EVENT_QUERIES.items()}}


@pytest.mark.parametrize("request_path", BAD_QUERIES)
def test_bad_queries_are_refused_naming_the_parameter(client: TestClient, request_path: str) -> None:
    sid = new_session(client)["session_id"]
    status, message = BAD_QUERIES[request_path]
    assert message in error_of(client.get(f"/api/sessions/{sid}/{request_path}"), status)


def test_a_stream_keeps_a_session_from_being_swept(store: SessionStore) -> None:
    session = store.create(PlaygroundConfig())
    session.streams = 1  # a page is attached
    session.last_seen -= store.idle_timeout + 1
    assert store.sweep() == [] and session.id in store
    session.streams = 0
    assert store.sweep() == [session.id] and session.id not in store


# ---- bounds on the server ---------------------------------------------------------------------------


def test_a_full_store_evicts_the_least_recently_seen_unwatched_session() -> None:
    store = SessionStore(max_sessions=2)
    try:
        with TestClient(create_app(store)) as client:
            first = new_session(client)["session_id"]
            second = new_session(client)["session_id"]
            client.get(f"/api/sessions/{first}")  # seen after the second one
            third = new_session(client)["session_id"]
            assert len(store) == 2 and first in store and third in store
            error_of(client.get(f"/api/sessions/{second}"), 404)
            for sid in (first, third):
                store.get(sid).streams = 1  # both have a page attached
            response = client.post("/api/sessions", json={})
            assert "too many playground sessions" in error_of(response, 503)
            assert response.headers["retry-after"] == "30"
    finally:
        store.close_all()


def test_the_sweeper_closes_idle_sessions_while_the_app_runs() -> None:
    store = SessionStore(idle_timeout=0.2)
    try:
        with TestClient(create_app(store, sweep_interval=0.05)) as client:
            sid = new_session(client)["session_id"]
            assert sid in store
            wait_until(lambda: sid not in store, timeout=5)
            error_of(client.get(f"/api/sessions/{sid}"), 404)
    finally:
        store.close_all()


def test_shutting_down_the_app_stops_every_session() -> None:
    store = SessionStore()
    with TestClient(create_app(store)) as client:
        sid = new_session(client)["session_id"]
        session = store.get(sid)
        client.post(f"/api/sessions/{sid}/play")
    assert len(store) == 0 and session.closed and not session.playing
    assert session._runner is not None and not session._runner.is_alive()


# ---- sessions on their own (fake trainers make every failure reachable) -------------------------------


class FakeTrainer:
    """Counts epochs; can raise or return a non-finite loss at a given epoch, or wait in one."""

    def __init__(self, config: PlaygroundConfig, fail_at: int | None = None,
                 error: Exception | None = None, loss_at_failure: float = 1.0,
                 gate: threading.Event | None = None, entered: threading.Event | None = None) -> None:
        self.config = config
        self.epoch = 0
        self.batches = 0
        self.fail_at = fail_at
        self.error = error
        self.loss_at_failure = loss_at_failure
        self.gate = gate  # when set, the first batch waits for it
        self.entered = entered

    def train_epoch(self, should_stop: Callable[[], bool] | None = None) -> bool:
        if self.fail_at is not None and self.epoch + 1 == self.fail_at and self.error is not None:
            raise self.error
        for _ in range(10):  # ten batches
            if should_stop is not None and should_stop():
                return False
            if self.entered is not None:
                self.entered.set()
            if self.gate is not None:
                assert self.gate.wait(10)
            self.batches += 1
        self.epoch += 1
        return True

    def snapshot(self) -> dict[str, Any]:
        failed = self.fail_at is not None and self.epoch >= self.fail_at
        loss = self.loss_at_failure if failed else 1.0 / (1 + self.epoch)
        return {"epoch": self.epoch, "train_loss": None if not math.isfinite(loss) else loss, "test_loss": loss}

    def describe(self) -> dict[str, Any]:
        return {"config": self.config.to_json()}

    def prepare_point_graph(self, split: str, index: int) -> Callable[[], dict[str, Any]]:
        return lambda: {"split": split, "index": index}


def make_session(**kwargs: Any) -> Session:
    keys = ("fail_at", "error", "loss_at_failure", "gate", "entered")
    trainer_kwargs = {k: kwargs.pop(k) for k in keys if k in kwargs}
    return Session("test", PlaygroundConfig(), lambda c, uploaded=None: FakeTrainer(c, **trainer_kwargs), **kwargs)


def test_a_diverged_loss_pauses_with_a_message() -> None:
    session = make_session(fail_at=3, loss_at_failure=math.inf)
    session.step(10)
    status = session.status()
    assert status["epoch"] == 3 and status["playing"] is False
    assert "training diverged at epoch 3" in status["error"] and "lower the learning rate" in status["error"]
    assert session.state()["history"][-1] == [3, None, math.inf]


def test_a_diverged_history_reaches_the_page_as_null() -> None:
    assert json.loads(server_module._event("update", {"history": [[3, None, math.inf]]}).split("data: ")[1]) == {
        "history": [[3, None, None]]
    }


@pytest.mark.parametrize("error", [OverflowError("exp(800) overflows float64"), FloatingPointError("nan"), ValueError("log(-1)")])
def test_a_math_error_while_playing_pauses_with_a_message(error: Exception) -> None:
    session = make_session(fail_at=4, error=error, max_rate=1000.0)
    try:
        session.play()
        wait_until(lambda: not session.playing)
        message = session.status()["error"]
        assert f"training stopped at epoch 3: {type(error).__name__}: {error}" in message
    finally:
        session.close()


def test_a_bug_while_playing_pauses_instead_of_killing_the_server(caplog: pytest.LogCaptureFixture) -> None:
    session = make_session(fail_at=2, error=KeyError("oops"), max_rate=1000.0)
    try:
        session.play()
        wait_until(lambda: not session.playing)
        assert "internal error while training: KeyError" in session.status()["error"]
    finally:
        session.close()


def test_deleting_a_session_stops_a_step_in_progress(store: SessionStore) -> None:
    gate, entered = threading.Event(), threading.Event()
    store.trainer_factory = lambda c, uploaded=None: FakeTrainer(c, gate=gate, entered=entered)
    session = store.create(PlaygroundConfig())
    outcome: dict[str, Any] = {}

    def step() -> None:
        try:
            session.step(100)
        except UnknownSessionError as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=step)
    worker.start()
    assert entered.wait(10)  # the step is inside its first batch
    closer = threading.Thread(target=store.close, args=(session.id,))
    closer.start()
    wait_until(lambda: session.closed)
    gate.set()  # the batch in progress finishes; no other may start
    worker.join(10)
    closer.join(10)
    assert not worker.is_alive() and "closed" in str(outcome["error"])
    trainer = session._trainer
    assert trainer.epoch == 0 and trainer.batches == 1  # type: ignore[attr-defined]


def test_playing_pauses_when_nobody_watches() -> None:
    now = [0.0]
    session = make_session(watch_timeout=5.0, max_rate=1000.0, clock=lambda: now[0])
    try:
        session.play()
        wait_until(lambda: session.status()["epoch"] >= 3)
        now[0] = 6.0  # nobody asked for 6 s
        wait_until(lambda: not session.playing, timeout=5)
        assert "nobody watched this session for 5 s" in session.status()["error"]
        runner = session._runner
        assert runner is not None
        runner.join(timeout=5)
        assert not runner.is_alive()
    finally:
        session.close()


def test_playing_is_paced_by_max_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    # A clock that stands still makes every epoch take no time at all, so after each one the
    # loop must rest a whole interval (1/20 s): the pause it asks for is what is checked.
    rests: list[float] = []

    class RecordingEvent(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            if timeout is not None:
                rests.append(timeout)
            return super().wait(timeout)

    monkeypatch.setattr(sessions_module.threading, "Event", RecordingEvent)
    session = make_session(max_rate=20.0, clock=lambda: 100.0)
    try:
        session.play()
        wait_until(lambda: session.status()["epoch"] >= 5)
        session.pause()
    finally:
        session.close()
    assert len(rests) >= 4 and all(rest == pytest.approx(1 / 20) for rest in rests[:4])


def test_closed_sessions_refuse_controls() -> None:
    session = make_session()
    session.close()
    for call in (session.play, session.step, session.reset, lambda: session.point_graph("train", 0)):
        with pytest.raises(UnknownSessionError):
            call()


def test_store_sweeps_idle_sessions_by_its_clock() -> None:
    now = [100.0]
    store = SessionStore(lambda c, uploaded=None: FakeTrainer(c), idle_timeout=10, clock=lambda: now[0])
    old = store.create(PlaygroundConfig())
    now[0] += 6
    recent = store.create(PlaygroundConfig())
    now[0] += 5  # old: idle 11 s, recent: 5 s
    assert store.sweep() == [old.id]
    assert old.closed and recent.id in store
    with pytest.raises(UnknownSessionError, match="expired after being idle"):
        store.get(old.id)
    store.get(recent.id)  # seen: idle time starts again
    now[0] += 9
    assert store.sweep() == []


def test_store_is_bounded() -> None:
    store = SessionStore(lambda c, uploaded=None: FakeTrainer(c), max_sessions=1)
    first = store.create(PlaygroundConfig())
    first.streams = 1
    with pytest.raises(SessionLimitError, match=r"too many playground sessions open \(1, all in use\)"):
        store.create(PlaygroundConfig())
    with pytest.raises(ValueError, match="max_sessions"):
        SessionStore(max_sessions=0)


def test_concurrent_sessions_train_independently_in_threads() -> None:
    """Two sessions train at the same time in two threads (a barrier inside their first
    epochs proves it: it only opens when both threads are in it at once), and each ends
    exactly where the same settings trained alone, in this thread, end."""
    barrier = threading.Barrier(2, timeout=20)
    threads: set[str] = set()

    class MeetingTrainer(Trainer):
        def train_epoch(self, should_stop: Callable[[], bool] | None = None) -> bool:
            if self.epoch == 0:
                threads.add(threading.current_thread().name)
                barrier.wait()  # BrokenBarrierError unless the other session trains right now
            return super().train_epoch(should_stop)

    settings = [
        PlaygroundConfig(engine="scalar", hidden=(4,), n_points=60, loss="hinge", seed=1),
        PlaygroundConfig(engine="tensor", hidden=(5, 3), n_points=80, dataset="xor", optimizer="adam",
                         learning_rate=0.02, regularization="l2", regularization_rate=0.001, seed=2),
    ]
    store = SessionStore(MeetingTrainer, max_rate=1000.0)
    try:
        sessions = [store.create(config) for config in settings]
        for session in sessions:
            session.play()
        wait_until(lambda: all(s.status()["epoch"] >= 5 for s in sessions), timeout=30)
        for session in sessions:
            session.pause()
            assert session._runner is not None
            session._runner.join(10)
            assert session.status()["error"] is None
        assert len(threads) == 2 and threading.current_thread().name not in threads
        for session, config in zip(sessions, settings):
            alone = Trainer(config)
            for _ in range(session._trainer.epoch):
                alone.train_epoch()
            for mine, theirs in zip(session._trainer.layers(), alone.layers()):
                np.testing.assert_array_equal(mine.weight, theirs.weight)
                np.testing.assert_array_equal(mine.bias, theirs.bias)
    finally:
        store.close_all()


# ---- settings -----------------------------------------------------------------------------------


def test_config_json_round_trip_and_merge() -> None:
    config = PlaygroundConfig(hidden=(3, 4), activations=("relu", "tanh"), dataset="spirals", learning_rate=0.5,
                              features=("x1", "sinx2"))
    assert PlaygroundConfig.from_json(config.to_json()) == config
    merged = PlaygroundConfig.from_json({"noise": 0.3, "n_points": 300.0}, base=config)
    assert merged.noise == 0.3 and merged.n_points == 300 and merged.hidden == (3, 4)
    assert merged.n_train + merged.n_test == 300
    everywhere = PlaygroundConfig.from_json({"activation": "sigmoid", "hidden": [2, 2, 2]}, base=config)
    assert everywhere.activations == ("sigmoid",) * 3
    shorter = PlaygroundConfig.from_json({"hidden": [3]}, base=config)
    assert shorter.activations == ("relu",)
    assert config.sizes == (2, 3, 4, 1) and config.layer_activations == ("relu", "tanh", "linear")
    assert PlaygroundConfig(loss="mse").output_activation == "tanh"


def test_config_errors_carry_their_http_status() -> None:
    with pytest.raises(ConfigError, match="hidden") as info:
        PlaygroundConfig(hidden=(0,), activations=("tanh",))
    assert info.value.status == 422
    with pytest.raises(ConfigError) as info:
        PlaygroundConfig.from_json({"hidden": 8})
    assert info.value.status == 400
    assert PlaygroundConfig(engine="scalar", hidden=(8, 8), n_points=2000).n_parameters == 105


# ---- running it ------------------------------------------------------------------------------------


def test_serve_checks_the_port() -> None:
    with pytest.raises(ValueError, match="port must be an integer from 1 to 65535"):
        serve(port=70000)
    with pytest.raises(ValueError, match="port"):
        serve(port="8000")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="host must be"):
        serve(host="")


def test_serve_says_when_the_port_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    import scratchgrad.playground as playground_package

    monkeypatch.setattr(playground_package, "_single_threaded_blas", lambda: None)

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot serve the playground on 127.0.0.1:{port}: .*pick another port"):
            serve(port=port)


BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def test_serving_asks_for_one_blas_thread_before_numpy_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    import scratchgrad.playground as playground_package

    for variable in BLAS_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delitem(sys.modules, "numpy")  # as if numpy were not loaded yet (restored after)
    playground_package._single_threaded_blas()
    assert [os.environ[v] for v in BLAS_VARIABLES] == ["1", "1", "1"]


def test_serving_limits_blas_threads_of_a_loaded_numpy_and_respects_the_users_choice() -> None:
    code = (
        "import os, sys\n"
        "for v in {variables!r}: os.environ.pop(v, None)\n"
        "{user}"
        "import numpy, threadpoolctl\n"
        "import scratchgrad.playground as p\n"
        "p._single_threaded_blas()\n"
        "print(max(i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'))\n"
    )
    mine = subprocess.run(
        [sys.executable, "-c", code.format(variables=BLAS_VARIABLES, user="")],
        capture_output=True, text=True, timeout=60,
    )
    assert mine.returncode == 0, mine.stderr
    assert mine.stdout.split() == ["1"]
    theirs = subprocess.run(  # the user asked for 2 threads: left alone
        [sys.executable, "-c", code.format(variables=BLAS_VARIABLES, user="os.environ['OPENBLAS_NUM_THREADS'] = '2'\n")],
        capture_output=True, text=True, timeout=60,
    )
    assert theirs.returncode == 0, theirs.stderr
    assert theirs.stdout.split() == ["2"]


def test_missing_starlette_names_the_extra_to_install() -> None:
    code = (
        "import sys; sys.modules['starlette'] = None\n"
        "import scratchgrad.playground as p\n"  # the package itself imports without it
        "try:\n    p.create_app()\nexcept ImportError as e:\n    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "make install-playground" in result.stdout and "scratchgrad[" not in result.stdout


@pytest.mark.parametrize("host, good, bad", [
    ("127.0.0.1", "http://localhost:8000", "http://testserver"),
    ("::1", "http://[::1]:8000", "http://evil.example:8000"),
])
def test_run_builds_a_loopback_only_app(monkeypatch: pytest.MonkeyPatch, host: str, good: str, bad: str) -> None:
    import socket

    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(self: Any) -> None:
        seen["host"], seen["port"] = self.config.host, self.config.port
        seen["app"] = self.config.app

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    import scratchgrad.playground as playground_package

    # Keep this test process's BLAS threads as they are.
    monkeypatch.setattr(playground_package, "_single_threaded_blas", lambda: None)
    monkeypatch.setattr(server_module, "_single_threaded_blas", lambda: None)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:  # a free port: 8000 may be in use on a shared machine
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    serve(host=host, port=port)
    assert seen["host"] == host and seen["port"] == port
    with TestClient(seen["app"], base_url=bad) as client:  # not a loopback name: refused, in JSON
        assert "DNS rebinding" in error_of(client.get("/"), 400)
    with TestClient(seen["app"], base_url=good) as client:
        assert client.get("/").status_code == 200
    assert server_module.CONTENT_SECURITY_POLICY.startswith("default-src 'self'")
