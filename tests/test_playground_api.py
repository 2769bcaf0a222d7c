"""The playground's server, sessions and trainer, through Starlette's TestClient (no sockets).

Every endpoint, with good and bad input; sessions isolated, bounded and reaped; the
trainer's two engines agreeing; what the page draws checked against PyTorch float64.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
import warnings
from typing import Any, Callable, Iterator

import numpy as np
import pytest
import torch

with warnings.catch_warnings():  # Starlette 1.x suggests httpx2; httpx is what is installed
    warnings.filterwarnings("ignore", message=".*httpx.*")
    from starlette.testclient import TestClient

from scratchgrad import losses
from scratchgrad.nn import MLP
from scratchgrad.playground import create_app, serve
from scratchgrad.playground import server as server_module
from scratchgrad.playground.config import (
    MAX_HIDDEN_LAYERS,
    MAX_NEURONS,
    MAX_POINTS,
    ConfigError,
    PlaygroundConfig,
    limits,
)
from scratchgrad.playground.sessions import (
    Session,
    SessionLimitError,
    SessionStore,
    UnknownSessionError,
)
from scratchgrad.playground.trainer import (
    GRID_RESOLUTION,
    Trainer,
    forward,
    initial_weights,
    loss_value,
    output_activation,
    point_graph,
)

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


# ---- the page and its files --------------------------------------------------------------------


def test_index_serves_the_page_with_local_files_only(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "scratchgrad playground" in page.text
    for needed in ('id="play"', 'id="step"', 'id="reset"', 'id="boundary"', 'id="loss-chart"',
                   'id="network"', 'id="graph"', 'value="moons"', 'value="spirals"'):
        assert needed in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    for path in ("/static/app.js", "/static/style.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        # Nothing from the internet: no absolute URLs, no CDN, no web fonts.
        assert not re.search(r"https?://", response.text), path
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


def test_options_lists_choices_bounds_and_valid_defaults(client: TestClient) -> None:
    options = client.get("/api/options").json()
    assert options == json.loads(json.dumps(limits()))
    assert options["choices"]["dataset"] == ["moons", "circles", "spirals", "xor"]
    assert options["bounds"]["hidden_layers"] == [0, MAX_HIDDEN_LAYERS]
    assert options["bounds"]["neurons"] == [1, MAX_NEURONS]
    assert options["bounds"]["n_points"][1] == MAX_POINTS
    assert PlaygroundConfig.from_json(options["defaults"]) == PlaygroundConfig()


# ---- sessions: create, read, configure, delete -----------------------------------------------------


def test_create_session_returns_everything_the_page_draws(client: TestClient) -> None:
    state = new_session(client, dataset="circles", n_points=120, hidden=[4], test_fraction=0.25)
    config = state["config"]
    assert config["dataset"] == "circles" and config["hidden"] == [4]
    assert len(state["data"]["train"]["x"]) == 90 and len(state["data"]["test"]["x"]) == 30
    assert set(state["data"]["train"]["y"]) <= {-1.0, 1.0}
    assert state["layer_sizes"] == [2, 4, 1] and state["n_parameters"] == 17
    assert state["playing"] is False and state["error"] is None
    latest = state["latest"]
    assert latest["epoch"] == 0
    assert len(latest["boundary"]) == state["resolution"] ** 2 == GRID_RESOLUTION**2
    assert all(-1.0 <= v <= 1.0 for v in latest["boundary"])
    assert [np.shape(w) for w in latest["network"]["weights"]] == [(4, 2), (1, 4)]
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


OUT_OF_RANGE = [
    ({"hidden": [8] * (MAX_HIDDEN_LAYERS + 1)}, "at most 8 hidden layers"),
    ({"hidden": [MAX_NEURONS + 1]}, "hidden[0]: a layer has 1 to 64 neurons, got 65"),
    ({"hidden": [4, 0]}, "hidden[1]"),
    ({"n_points": MAX_POINTS + 1}, "n_points must be between 10 and 2000, got 2001"),
    ({"n_points": 5}, "n_points"),
    ({"noise": -0.1}, "noise"),
    ({"noise": 1.5}, "noise"),
    ({"learning_rate": 0}, "learning_rate"),
    ({"learning_rate": 11}, "learning_rate"),
    ({"batch_size": 0}, "batch_size"),
    ({"test_fraction": 0.95}, "test_fraction"),
    ({"seed": -1}, "seed"),
    ({"dataset": "blobs"}, "dataset must be one of moons, circles, spirals, xor; got 'blobs'"),
    ({"activation": "gelu"}, "activation"),
    ({"loss": "ce"}, "loss"),
    ({"optimizer": "rmsprop"}, "optimizer"),
    ({"engine": "gpu"}, "engine"),
    ({"engine": "scalar", "hidden": [64, 64], "n_points": 2000}, "engine 'scalar' is for small problems"),
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
    ({"hidden": "8,8"}, "hidden must be a list"),
    ({"hidden": [8.5]}, "hidden[0] must be an integer"),
    ({"hidden": [None]}, "hidden[0] must be an integer"),
    ({"learning_rate": "fast"}, "learning_rate must be a number"),
    ({"learning_rate": None}, "learning_rate must be a number, got null"),
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
    ],
)
def test_malformed_bodies_are_400(client: TestClient, body: bytes, message: str) -> None:
    response = client.post("/api/sessions", content=body, headers={"content-type": "application/json"})
    assert message in error_of(response, 400)


def test_huge_body_is_413(client: TestClient) -> None:
    body = json.dumps({"dataset": "moons", "padding": "x" * 100_000}).encode()
    assert "too large" in error_of(client.post("/api/sessions", content=body), 413)


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
        client.get(base + "/events"),
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
    assert state["config"]["noise"] == session["config"]["noise"]  # not given: kept
    assert state["latest"]["epoch"] == 0 and state["layer_sizes"] == [2, 5, 2, 1]
    assert state["state_version"] > session["state_version"]


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
    session = new_session(client, learning_rate=0.1)
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


def test_play_trains_in_the_background_and_pause_stops_it(client: TestClient) -> None:
    sid = new_session(client)["session_id"]
    started = client.post(f"/api/sessions/{sid}/play").json()
    assert started["playing"] is True
    assert client.post(f"/api/sessions/{sid}/play").json()["playing"] is True  # idempotent
    wait_until(lambda: client.get(f"/api/sessions/{sid}").json()["latest"]["epoch"] >= 5)
    paused = client.post(f"/api/sessions/{sid}/pause").json()
    assert paused["playing"] is False
    time.sleep(0.1)  # an epoch in progress may still finish
    epoch = client.get(f"/api/sessions/{sid}").json()["latest"]["epoch"]
    time.sleep(0.3)
    assert client.get(f"/api/sessions/{sid}").json()["latest"]["epoch"] == epoch


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


def test_events_send_a_new_state_after_a_reset(client: TestClient, store: SessionStore) -> None:
    sid = new_session(client)["session_id"]
    session = store.get(sid)
    timer = threading.Timer(0.3, lambda: session.reset(PlaygroundConfig(dataset="circles")))
    timer.start()
    events = read_events(client, f"/api/sessions/{sid}/events?max_events=2")
    timer.join()
    assert [name for name, _ in events] == ["state", "state"]
    assert events[1][1]["config"]["dataset"] == "circles"


def test_events_end_with_bye_after_max_seconds(client: TestClient) -> None:
    sid = new_session(client)["session_id"]
    events = read_events(client, f"/api/sessions/{sid}/events?max_seconds=0.3")
    assert [name for name, _ in events] == ["state", "bye"]
    assert "reconnect" in events[1][1]["reason"]


def test_events_say_closed_when_the_session_closes(client: TestClient, store: SessionStore) -> None:
    sid = new_session(client)["session_id"]
    timer = threading.Timer(0.3, lambda: store.close(sid))
    timer.start()
    events = read_events(client, f"/api/sessions/{sid}/events?max_seconds=20")
    timer.join()
    assert [name for name, _ in events] == ["state", "closed"]
    assert "reload the page" in events[1][1]["error"]


def test_events_end_at_once_when_the_server_stops() -> None:
    app = create_app()
    with TestClient(app) as client:
        sid = new_session(client)["session_id"]
        timer = threading.Timer(0.3, app.state.stopping.set)
        timer.start()
        events = read_events(client, f"/api/sessions/{sid}/events?max_seconds=20")
        timer.join()
    assert [name for name, _ in events] == ["state", "bye"]
    assert events[1][1]["reason"] == "the playground server is stopping"


@pytest.mark.parametrize(
    "query, status, message",
    [
        ("max_seconds=soon", 400, "max_seconds must be a number"),
        ("max_seconds=0", 422, "max_seconds must be in (0, 600]"),
        ("max_seconds=nan", 422, "max_seconds"),
        ("max_seconds=1e9", 422, "max_seconds"),
        ("max_events=0", 422, "max_events"),
        ("max_events=x", 400, "max_events must be an integer"),
    ],
)
def test_bad_event_queries(client: TestClient, query: str, status: int, message: str) -> None:
    sid = new_session(client)["session_id"]
    assert message in error_of(client.get(f"/api/sessions/{sid}/events?{query}"), status)


def test_a_stream_keeps_a_session_from_being_swept(store: SessionStore) -> None:
    session = store.create(PlaygroundConfig())
    session.streams = 1  # a page is attached
    session.last_seen -= store.idle_timeout + 1
    assert store.sweep() == [] and session.id in store
    session.streams = 0
    assert store.sweep() == [session.id] and session.id not in store


# ---- the computation graph of a point ------------------------------------------------------------


def _svg_records(svg: str) -> dict[str, tuple[float, float]]:
    """{label: (data, grad)} from draw_dot's record nodes in an SVG."""
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    records = {}
    for i in range(len(texts) - 2):
        if texts[i + 1].startswith("data ") and texts[i + 2].startswith("grad "):
            records[texts[i].strip()] = (float(texts[i + 1][5:]), float(texts[i + 2][5:]))
    return records


def _torch_point_loss(config: PlaygroundConfig, weights: Any, x: list[float], label: float) -> tuple[Any, Any, Any]:
    params = [
        (torch.tensor(w, dtype=torch.float64, requires_grad=True), torch.tensor(b, dtype=torch.float64, requires_grad=True))
        for w, b in weights
    ]
    h = torch.tensor([x], dtype=torch.float64)
    acts = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": lambda z: z}
    for layer, (w, b) in enumerate(params):
        name = output_activation(config.loss) if layer == len(params) - 1 else config.activation
        h = acts[name](h @ w.T + b)
    score = h[0, 0]
    y = torch.tensor(label, dtype=torch.float64)
    if config.loss == "hinge":
        loss = torch.relu(1 - y * score)
    elif config.loss == "mse":
        loss = (score - y) ** 2
    else:
        loss = torch.nn.functional.binary_cross_entropy_with_logits(score, (y + 1) / 2)
    loss.backward()
    return score, loss, params


@pytest.mark.parametrize("loss", ["hinge", "mse", "bce"])
def test_graph_of_a_point_matches_pytorch(client: TestClient, store: SessionStore, loss: str) -> None:
    sid = new_session(client, hidden=[3], loss=loss, activation="tanh")["session_id"]
    client.post(f"/api/sessions/{sid}/step", json={"epochs": 2})
    trainer = store.get(sid)._trainer
    outputs = trainer.outputs(trainer.x_test)
    # A point the model gets wrong, so the loss and its gradients are not zero.
    index = int(np.argmin(outputs * trainer.y_test))
    result = client.get(f"/api/sessions/{sid}/graph?split=test&index={index}").json()
    x, label = trainer.point("test", index)
    assert result["x"] == x and result["label"] == label and result["epoch"] == 2
    score, torch_loss, params = _torch_point_loss(trainer.config, trainer.weights(), x, label)
    assert result["score"] == pytest.approx(score.item(), rel=1e-12, abs=1e-14)
    assert result["loss"] == pytest.approx(torch_loss.item(), rel=1e-12, abs=1e-14)
    assert result["loss"] > 0
    svg = result["svg"]
    assert svg.lstrip().startswith("<?xml") or svg.lstrip().startswith("<svg")
    records = _svg_records(svg)
    for name in ("x0", "x1", "w1.0.0", "w1.2.1", "b1.1", "z1.0", "h1.2", "w2.0.2", "b2.0", "score", "loss"):
        assert name in records, name
    assert records["loss"][1] == 1.0  # d loss / d loss, the seed's base case
    expected = {"w1.0.0": params[0][0].grad[0, 0], "w1.2.1": params[0][0].grad[2, 1],
                "b1.1": params[0][1].grad[1], "w2.0.2": params[1][0].grad[0, 2], "b2.0": params[1][1].grad[0]}
    for name, grad in expected.items():
        assert records[name][1] == pytest.approx(float("%.4f" % grad.item()), abs=1.5e-4), name
    assert result["values"] == svg.count(">data ") and result["compact"] is False


def test_graph_of_a_big_network_is_compact(store: SessionStore) -> None:
    config = PlaygroundConfig(hidden=(32, 32))
    trainer = Trainer(config)
    x, label = trainer.point("train", 0)
    result = point_graph(config, trainer.weights(), x, label)
    assert result["compact"] is True and result["values"] > 500
    assert "compact view" in html.unescape(result["svg"])


@pytest.mark.parametrize(
    "query, status, message",
    [
        ("", 400, "graph needs ?index="),
        ("index=abc", 400, "index must be an integer"),
        ("index=-1", 422, "index must be between 0 and"),
        ("index=100", 422, "train point index must be in 0..99, got 100"),
        ("split=test&index=100", 422, "test point index must be in 0..99"),
        ("split=valid&index=0", 422, "split must be 'train' or 'test'"),
        ("index=0&zoom=2", 400, "unknown query parameter(s) zoom"),
    ],
)
def test_bad_graph_requests(client: TestClient, query: str, status: int, message: str) -> None:
    sid = new_session(client)["session_id"]
    assert message in error_of(client.get(f"/api/sessions/{sid}/graph?{query}"), status)


def test_graph_without_graphviz_is_503_saying_how_to_install(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import graphviz

    def no_dot(self: Any, *args: Any, **kwargs: Any) -> bytes:
        raise graphviz.ExecutableNotFound(["dot", "-Tsvg"])

    monkeypatch.setattr(graphviz.Digraph, "pipe", no_dot)
    sid = new_session(client)["session_id"]
    message = error_of(client.get(f"/api/sessions/{sid}/graph?index=0"), 503)
    assert "Graphviz" in message and "apt-get install graphviz" in message


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


def test_allowed_hosts_refuses_other_host_headers() -> None:
    with TestClient(create_app(allowed_hosts=["127.0.0.1"])) as client:
        assert client.get("/api/options").status_code == 400
    with TestClient(create_app(allowed_hosts=["127.0.0.1"]), base_url="http://127.0.0.1:8000") as client:
        assert client.get("/api/options").status_code == 200


# ---- sessions on their own (fake trainers make every failure reachable) -------------------------------


class FakeTrainer:
    """Counts epochs; can raise or return a non-finite loss at a given epoch."""

    def __init__(self, config: PlaygroundConfig, fail_at: int | None = None,
                 error: Exception | None = None, loss_at_failure: float = 1.0) -> None:
        self.config = config
        self.epoch = 0
        self.fail_at = fail_at
        self.error = error
        self.loss_at_failure = loss_at_failure

    def train_epoch(self) -> None:
        if self.fail_at is not None and self.epoch + 1 == self.fail_at and self.error is not None:
            raise self.error
        self.epoch += 1

    def snapshot(self) -> dict[str, Any]:
        failed = self.fail_at is not None and self.epoch >= self.fail_at
        loss = self.loss_at_failure if failed else 1.0 / (1 + self.epoch)
        return {"epoch": self.epoch, "train_loss": None if not math.isfinite(loss) else loss, "test_loss": loss}

    def describe(self) -> dict[str, Any]:
        return {"config": self.config.to_json()}

    def prepare_point_graph(self, split: str, index: int) -> Callable[[], dict[str, Any]]:
        return lambda: {"split": split, "index": index}


def make_session(**kwargs: Any) -> Session:
    trainer_kwargs = {k: kwargs.pop(k) for k in ("fail_at", "error", "loss_at_failure") if k in kwargs}
    return Session("test", PlaygroundConfig(), lambda c: FakeTrainer(c, **trainer_kwargs), **kwargs)


def test_a_diverged_loss_pauses_with_a_message() -> None:
    session = make_session(fail_at=3, loss_at_failure=math.inf)
    session.step(10)
    status = session.status()
    assert status["epoch"] == 3 and status["playing"] is False
    assert "training diverged at epoch 3" in status["error"] and "lower the learning rate" in status["error"]
    assert session.state()["history"][-1] == [3, None, math.inf]


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


def test_playing_pauses_when_nobody_watches() -> None:
    session = make_session(watch_timeout=0.2, max_rate=50.0)
    try:
        session.play()
        wait_until(lambda: not session.playing, timeout=5)
        assert "nobody watched this session for 0.2 s" in session.status()["error"]
        runner = session._runner
        assert runner is not None
        runner.join(timeout=5)
        assert not runner.is_alive()
    finally:
        session.close()


def test_playing_is_paced_by_max_rate() -> None:
    session = make_session(max_rate=20.0)
    try:
        session.play()
        time.sleep(0.5)
        session.pause()
        # At most 20 a second (plus the one in progress); a loose bound, never a timing assertion on speed.
        assert 1 <= session.status()["epoch"] <= 20
    finally:
        session.close()


def test_closed_sessions_refuse_controls() -> None:
    session = make_session()
    session.close()
    for call in (session.play, session.step, session.reset, lambda: session.point_graph("train", 0)):
        with pytest.raises(UnknownSessionError):
            call()


def test_store_sweeps_idle_sessions_by_its_clock() -> None:
    now = [100.0]
    store = SessionStore(lambda c: FakeTrainer(c), idle_timeout=10, clock=lambda: now[0])
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
    store = SessionStore(lambda c: FakeTrainer(c), max_sessions=1)
    first = store.create(PlaygroundConfig())
    first.streams = 1
    with pytest.raises(SessionLimitError, match=r"too many playground sessions open \(1, all in use\)"):
        store.create(PlaygroundConfig())
    with pytest.raises(ValueError, match="max_sessions"):
        SessionStore(max_sessions=0)


def test_concurrent_sessions_train_independently_in_threads() -> None:
    store = SessionStore(max_rate=1000.0)
    try:
        a = store.create(PlaygroundConfig(engine="scalar", hidden=(4,), n_points=60))
        b = store.create(PlaygroundConfig(engine="tensor", hidden=(4,), n_points=60))
        reference = Trainer(PlaygroundConfig(engine="tensor", hidden=(4,), n_points=60))
        a.play()
        b.play()
        wait_until(lambda: a.status()["epoch"] >= 5 and b.status()["epoch"] >= 5)
        a.pause()
        b.pause()
        a._runner.join(5)  # type: ignore[union-attr]
        b._runner.join(5)  # type: ignore[union-attr]
        # Both engines take the same path from the same start: threads did not mix them up.
        epochs = min(a._trainer.epoch, b._trainer.epoch)
        for _ in range(epochs):
            reference.train_epoch()
        b_trainer = Trainer(PlaygroundConfig(engine="scalar", hidden=(4,), n_points=60))
        for _ in range(epochs):
            b_trainer.train_epoch()
        for mine, theirs in zip(reference.weights(), b_trainer.weights()):
            np.testing.assert_allclose(mine[0], theirs[0], rtol=1e-10, atol=1e-12)
        assert a._trainer.epoch >= 5 and b._trainer.epoch >= 5
    finally:
        store.close_all()


# ---- the trainer --------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["hinge", "mse", "bce"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_both_engines_follow_the_same_path(loss: str, optimizer: str) -> None:
    settings = dict(loss=loss, optimizer=optimizer, hidden=(5, 3), n_points=60, batch_size=7, activation="tanh")
    tensor = Trainer(PlaygroundConfig(engine="tensor", **settings))  # type: ignore[arg-type]
    scalar = Trainer(PlaygroundConfig(engine="scalar", **settings))  # type: ignore[arg-type]
    for _ in range(3):
        tensor.train_epoch()
        scalar.train_epoch()
    assert tensor.steps == scalar.steps == 3 * math.ceil(30 / 7)
    for (wt, bt), (ws, bs) in zip(tensor.weights(), scalar.weights()):
        np.testing.assert_allclose(wt, ws, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(bt, bs, rtol=1e-10, atol=1e-12)
    first = initial_weights(tensor.config)
    assert not np.allclose(first[0][0], tensor.weights()[0][0])  # it did train


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
@pytest.mark.parametrize("loss", ["hinge", "mse", "bce"])
def test_numpy_evaluation_matches_the_engines_and_pytorch(activation: str, loss: str) -> None:
    config = PlaygroundConfig(activation=activation, loss=loss, hidden=(4, 3), n_points=40, engine="scalar")
    trainer = Trainer(config)
    trainer.train_epoch()
    weights = trainer.weights()
    x, y = trainer.x_train, trainer.y_train
    outputs = trainer.outputs(x)
    model: MLP = trainer.net.model  # type: ignore[union-attr]
    scalar_outputs = [model(point) for point in x.tolist()]
    np.testing.assert_allclose(outputs, [v.data for v in scalar_outputs], rtol=1e-13, atol=1e-15)
    # The tensor engine's own forward on the same weights.
    tensor_trainer = Trainer(config.__class__(**{**config.__dict__, "engine": "tensor"}))
    tensor_trainer.net.model.load_state_dict(  # type: ignore[union-attr]
        dict(zip([n for n, _ in tensor_trainer.net.model.named_parameters()],  # type: ignore[union-attr]
                 [a for w, b in weights for a in (w, b)]))
    )
    from scratchgrad.tensor import Tensor

    tensor_outputs = tensor_trainer.net.model(Tensor(x)).data[:, 0]  # type: ignore[union-attr]
    np.testing.assert_allclose(outputs, tensor_outputs, rtol=1e-13, atol=1e-15)
    # The loss the page shows: scratchgrad.losses on Values, and PyTorch float64.
    shown = loss_value(loss, outputs, y)
    if loss == "hinge":
        reference = losses.hinge_loss(scalar_outputs, y.tolist()).data
        expected = torch.relu(1 - torch.tensor(y) * torch.tensor(outputs)).mean().item()
    elif loss == "mse":
        reference = losses.mean_squared_error(scalar_outputs, y.tolist()).data
        expected = torch.nn.functional.mse_loss(torch.tensor(outputs), torch.tensor(y)).item()
    else:
        reference = losses.binary_cross_entropy_with_logits(scalar_outputs, ((y + 1) / 2).tolist()).data
        expected = torch.nn.functional.binary_cross_entropy_with_logits(
            torch.tensor(outputs), torch.tensor((y + 1) / 2)
        ).item()
    assert shown == pytest.approx(reference, rel=1e-12) and shown == pytest.approx(expected, rel=1e-12)


def test_the_default_settings_learn_the_moons() -> None:
    trainer = Trainer(PlaygroundConfig())
    start = trainer.snapshot()
    for _ in range(60):
        trainer.train_epoch()
    end = trainer.snapshot()
    assert end["train_loss"] < start["train_loss"] / 4
    assert end["train_accuracy"] >= 0.95 and end["test_accuracy"] >= 0.9
    grid = np.array(end["boundary"]).reshape(GRID_RESOLUTION, GRID_RESOLUTION)
    assert (grid > 0).any() and (grid < 0).any()  # a boundary, with both classes on the map


@pytest.mark.parametrize("dataset", ["moons", "circles", "spirals", "xor"])
def test_every_dataset_builds_and_trains(dataset: str) -> None:
    trainer = Trainer(PlaygroundConfig(dataset=dataset, n_points=50, noise=0.3, hidden=(4,)))
    trainer.train_epoch()
    snapshot = trainer.snapshot()
    assert snapshot["epoch"] == 1 and math.isfinite(snapshot["train_loss"])
    assert len(trainer.x_train) + len(trainer.x_test) == 50


def test_a_network_without_hidden_layers_is_logistic_regression() -> None:
    trainer = Trainer(PlaygroundConfig(hidden=(), loss="bce", optimizer="adam", learning_rate=0.05, dataset="xor"))
    for _ in range(5):
        trainer.train_epoch()
    assert [w.shape for w, _ in trainer.weights()] == [(1, 2)]
    assert trainer.snapshot()["train_accuracy"] < 0.8  # a line cannot separate xor


def test_huge_weights_give_none_not_nan_in_the_json() -> None:
    trainer = Trainer(PlaygroundConfig(hidden=(3,), activation="relu", loss="mse"))
    for linear in trainer.net.linears:  # type: ignore[union-attr]
        linear.weight.data = np.full_like(linear.weight.data, 1e300)
    snapshot = trainer.snapshot()
    json.dumps(snapshot, allow_nan=False)  # the page can parse it
    assert snapshot["train_loss"] is not None  # tanh output keeps mse finite
    trainer.net.linears[-1].bias.data = np.array([np.nan])  # type: ignore[union-attr]
    snapshot = trainer.snapshot()
    json.dumps(snapshot, allow_nan=False)
    assert snapshot["train_loss"] is None and snapshot["boundary"][0] is None


def test_initial_weights_depend_on_the_seed_and_suit_the_activation() -> None:
    tanh = initial_weights(PlaygroundConfig(seed=1, hidden=(64,)))
    assert np.array_equal(tanh[0][0], initial_weights(PlaygroundConfig(seed=1, hidden=(64,)))[0][0])
    assert not np.array_equal(tanh[0][0], initial_weights(PlaygroundConfig(seed=2, hidden=(64,)))[0][0])
    relu = initial_weights(PlaygroundConfig(seed=1, hidden=(64,), activation="relu"))
    assert np.abs(tanh[0][0]).max() <= math.sqrt(6 / 66) and np.abs(relu[0][0]).max() <= math.sqrt(6 / 2)
    assert all((b == 0).all() for _, b in tanh)


def test_forward_is_the_layer_formula() -> None:
    weights = [(np.array([[1.0, -2.0]]), np.array([0.5]))]
    x = np.array([[3.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(forward(weights, "relu", "linear", x), [1.5, 0.5])
    np.testing.assert_allclose(forward(weights, "relu", "tanh", x), np.tanh([1.5, 0.5]))


# ---- settings -----------------------------------------------------------------------------------


def test_config_json_round_trip_and_merge() -> None:
    config = PlaygroundConfig(hidden=(3, 4), dataset="spirals", learning_rate=0.5)
    assert PlaygroundConfig.from_json(config.to_json()) == config
    merged = PlaygroundConfig.from_json({"noise": 0.3, "n_points": 300.0}, base=config)
    assert merged.noise == 0.3 and merged.n_points == 300 and merged.hidden == (3, 4)
    assert merged.n_train + merged.n_test == 300


def test_config_errors_carry_their_http_status() -> None:
    with pytest.raises(ConfigError, match="hidden") as info:
        PlaygroundConfig(hidden=(0,))
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
    assert "pip install scratchgrad[playground]" in result.stdout


def test_run_builds_a_loopback_only_app(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(self: Any) -> None:
        seen["host"], seen["port"] = self.config.host, self.config.port
        seen["app"] = self.config.app

    import socket

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    import scratchgrad.playground as playground_package

    # Keep this test process's BLAS threads as they are.
    monkeypatch.setattr(playground_package, "_single_threaded_blas", lambda: None)
    monkeypatch.setattr(server_module, "_single_threaded_blas", lambda: None)
    with socket.socket() as probe:  # a free port: 8000 may be in use on a shared machine
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve(port=port)
    assert seen["host"] == "127.0.0.1" and seen["port"] == port
    with TestClient(seen["app"]) as client:  # Host "testserver" is not loopback: refused
        assert client.get("/").status_code == 400
    with TestClient(seen["app"], base_url="http://localhost:8000") as client:
        assert client.get("/").status_code == 200
    assert server_module.CONTENT_SECURITY_POLICY.startswith("default-src 'self'")
