"""The playground's web app: a Starlette app serving the page, a JSON API and an event stream.

    GET    /                                   the page (static/index.html)
    GET    /static/{file}                      its script and style sheet
    GET    /api/options                        choices, labels, formulas, bounds and defaults
    POST   /api/sessions                       new session {settings...} -> 201 state
    GET    /api/sessions/{id}                  state: settings, data, latest update, history
    DELETE /api/sessions/{id}                  close it (stops a step in progress)
    PUT    /api/sessions/{id}/config           new settings {field: value, ...} (merged) -> state
    POST   /api/sessions/{id}/play | /pause    start / stop training in the background
    POST   /api/sessions/{id}/step             {"epochs": n} train n epochs now -> update
    POST   /api/sessions/{id}/reset            fresh weights, same settings -> state
    PUT    /api/sessions/{id}/weight           {"layer", "neuron", "input" (null: bias), "value"} -> update
    POST   /api/sessions/{id}/data?filename=   a CSV file of points (x1, x2, target) -> state
    GET    /api/sessions/{id}/model?format=    the network as a model file (json, npz, onnx)
    POST   /api/sessions/{id}/model?filename=  load a model file (.json or .npz) -> state
    GET    /api/sessions/{id}/events           server-sent events: "state", "update", "closed", "bye"
    GET    /api/sessions/{id}/trace?split=train&index=i        one point's forward and backward pass
    GET    /api/sessions/{id}/neuron?split&index&layer&neuron  one neuron of it as draw_dot draws it
    GET    /api/sessions/{id}/graph?split=train&index=i        the point's whole graph (SVG in JSON)

Every error is JSON ``{"error": "..."}`` with a 4xx status saying whose fault it is
(400 malformed, 403 another site's page, 404 unknown session, 413 too large, 422 out of
range or not a finite result, 503 full). Bodies larger than their limit are refused
before they are read; state-changing requests from another site's page are refused.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import ipaddress
import json
import logging
import math
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from urllib.parse import urlsplit

try:
    import anyio
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    from scratchgrad.extras import MissingExtraError, install_hint

    raise MissingExtraError(
        f"the playground needs Starlette and uvicorn: install them with {install_hint('playground')}"
    ) from exc

from scratchgrad.nn import ModelDescription
from scratchgrad.playground import _single_threaded_blas, data, model
from scratchgrad.playground.config import (
    DEFAULT_LOSS,
    MAX_HIDDEN_LAYERS,
    MAX_NEURONS,
    MAX_POINTS,
    ConfigError,
    PlaygroundConfig,
    limits,
)
from scratchgrad.playground.model import GraphUnavailableError
from scratchgrad.playground.sessions import (
    Session,
    SessionLimitError,
    SessionStore,
    UnknownSessionError,
)
from scratchgrad.playground.trainer import MAX_WEIGHT

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY_BYTES = 64 * 1024  # settings, steps, weights: small JSON objects
MAX_CSV_BYTES = 256 * 1024  # 2,000 points of three numbers fit in well under this
MAX_MODEL_BYTES = 1024 * 1024  # the largest network's model file is about 100 KB
MAX_STEP_EPOCHS = 100
# Only our own files and our own server: the page never reaches the internet.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
STATE_CHANGING = frozenset({"POST", "PUT", "DELETE", "PATCH"})
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


class ApiError(Exception):
    """A request we refuse, with the HTTP status and the message the page shows."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FiniteJSONResponse(JSONResponse):
    """JSON that only holds finite numbers; a NaN or infinity is a 422 saying why, not a 500."""

    def render(self, content: Any) -> bytes:
        try:
            text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except ValueError:
            raise ApiError(
                422,
                "the result holds a number that is not finite: the network has diverged; "
                "lower the learning rate and press Reset",
            ) from None
        return text.encode("utf-8")


def create_app(
    store: SessionStore | None = None,
    *,
    max_stream_seconds: float = 600.0,
    sweep_interval: float = 30.0,
    keepalive_seconds: float = 15.0,
    poll_seconds: float = 0.01,
    allowed_hosts: Sequence[str] | None = None,
) -> Starlette:
    """The playground app over ``store`` (a fresh `SessionStore` by default).

    ``max_stream_seconds`` ends every event stream, also one whose client stopped
    reading (the browser reconnects by itself); a background task sweeps idle sessions
    every ``sweep_interval`` seconds while the app runs. ``allowed_hosts`` restricts the
    Host header to these names (guards a local server against DNS rebinding; IPv6
    addresses in brackets, e.g. ``[::1]``); None accepts any.
    """
    store = store if store is not None else SessionStore()
    # Set when the server is asked to stop: streams then end at once instead of holding
    # the shutdown until uvicorn's graceful timeout cancels them.
    stopping = threading.Event()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def sweeper() -> None:
            while True:
                await asyncio.sleep(sweep_interval)
                store.sweep()

        task = asyncio.create_task(sweeper())
        try:
            yield
        finally:
            task.cancel()
            store.close_all()

    # ---- helpers -----------------------------------------------------------------------------

    def session_of(request: Request) -> Session:
        return store.get(request.path_params["session_id"])

    async def json_body(request: Request, *, required: bool) -> Any:
        body = await read_body(request, MAX_BODY_BYTES)
        if not body.strip():
            if required:
                raise ApiError(400, "this request needs a JSON object body")
            return {}
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, f"malformed JSON in request body: {exc}") from None
        except RecursionError:
            raise ApiError(400, "malformed JSON in request body: nested too deeply") from None

    def int_param(value: object, name: str, low: int, high: int, *, query: bool = False) -> int:
        if query and isinstance(value, str):  # query strings are text; JSON must say 3, not "3"
            try:
                value = int(value)
            except ValueError:
                raise ApiError(400, f"{name} must be an integer, got {_shown(value)}") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError(400, f"{name} must be an integer, got {_shown(value)}")
        if not low <= value <= high:
            raise ApiError(422, f"{name} must be between {low} and {high}, got {value}")
        return value

    def query_of(request: Request, allowed: Sequence[str], example: str) -> dict[str, str]:
        unknown = sorted(set(request.query_params) - set(allowed))
        if unknown:
            raise ApiError(400, f"unknown query parameter(s) {', '.join(map(_shown, unknown))}; use {example}")
        return dict(request.query_params)

    def point_query(request: Request, extra: Sequence[str] = ()) -> tuple[str, int]:
        query = query_of(request, ("split", "index", *extra), "split and index" + "".join(f", {e}" for e in extra))
        split = query.get("split", "train")
        if split not in ("train", "test"):
            raise ApiError(422, f"split must be 'train' or 'test', got {_shown(split)}")
        if "index" not in query:
            raise ApiError(400, f"{request.url.path.rsplit('/', 1)[-1]} needs ?index=<point number>")
        return split, int_param(query["index"], "index", 0, MAX_POINTS, query=True)

    # ---- endpoints ---------------------------------------------------------------------------

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def options(request: Request) -> Response:
        return FiniteJSONResponse(limits())

    async def create_session(request: Request) -> Response:
        config = PlaygroundConfig.from_json(await json_body(request, required=False))
        session = await run_in_threadpool(store.create, config)
        return FiniteJSONResponse(session.state(), status_code=201)

    async def get_session(request: Request) -> Response:
        return FiniteJSONResponse(session_of(request).state())

    async def delete_session(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        await run_in_threadpool(store.close, session_id)
        return FiniteJSONResponse({"closed": session_id})

    async def configure(request: Request) -> Response:
        session = session_of(request)
        config = PlaygroundConfig.from_json(await json_body(request, required=True), base=session.config)
        return FiniteJSONResponse(await run_in_threadpool(session.reset, config))

    async def play(request: Request) -> Response:
        session = session_of(request)
        await json_body(request, required=False)  # a body, if any, must still be JSON
        return FiniteJSONResponse(session.play())

    async def pause(request: Request) -> Response:
        session = session_of(request)
        await json_body(request, required=False)
        return FiniteJSONResponse(session.pause())

    async def step(request: Request) -> Response:
        session = session_of(request)
        body = await json_body(request, required=False)
        if not isinstance(body, dict):
            raise ApiError(400, "step takes a JSON object like {\"epochs\": 1}")
        unknown = sorted(set(body) - {"epochs"})
        if unknown:
            raise ApiError(400, f"unknown field(s) {', '.join(map(_shown, unknown))}; step takes 'epochs'")
        epochs = int_param(body.get("epochs", 1), "epochs", 1, MAX_STEP_EPOCHS)
        return FiniteJSONResponse(await run_in_threadpool(session.step, epochs))

    async def reset(request: Request) -> Response:
        session = session_of(request)
        await json_body(request, required=False)
        return FiniteJSONResponse(await run_in_threadpool(session.reset))

    async def set_weight(request: Request) -> Response:
        session = session_of(request)
        body = await json_body(request, required=True)
        fields = ("layer", "neuron", "input", "value")
        if not isinstance(body, dict) or set(body) != set(fields):
            raise ApiError(
                400, 'weight takes {"layer": l, "neuron": j, "input": i (null for the bias), "value": v}'
            )
        sizes = session.config.sizes
        layer = int_param(body["layer"], "layer", 0, len(sizes) - 2)
        neuron = int_param(body["neuron"], "neuron", 0, sizes[layer + 1] - 1)
        index = None if body["input"] is None else int_param(body["input"], "input", 0, sizes[layer] - 1)
        value = body["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ApiError(400, f"value must be a number, got {_shown(value)}")
        try:
            value = float(value)
        except OverflowError:
            value = math.inf
        if not (math.isfinite(value) and abs(value) <= MAX_WEIGHT):
            raise ApiError(422, f"value must be a finite number within \u00b1{MAX_WEIGHT:g}, got {_shown(body['value'])}")
        return FiniteJSONResponse(await run_in_threadpool(session.set_parameter, layer, neuron, index, value))

    async def upload_data(request: Request) -> Response:
        session = session_of(request)
        query = query_of(request, ("filename", "problem"), "filename and problem")
        content = await read_body(request, MAX_CSV_BYTES)
        if not content.strip():
            raise ApiError(400, "the CSV file is empty")
        problem = query.get("problem", session.config.problem)
        if problem not in data.PROBLEMS:
            raise ApiError(422, f"problem must be classification or regression, got {_shown(problem)}")
        name = query.get("filename", "the uploaded file")
        try:
            points = await run_in_threadpool(data.read_upload, content, problem, name)
        except data.UploadError as exc:
            raise ApiError(422, str(exc)) from None
        loss = session.config.loss if problem == session.config.problem else DEFAULT_LOSS[problem]
        config = dataclasses.replace(session.config, problem=problem, dataset=data.UPLOADED, loss=loss,
                                     n_points=len(points[0]))
        return FiniteJSONResponse(await run_in_threadpool(session.upload, points, name, config))

    async def download_model(request: Request) -> Response:
        session = session_of(request)
        query = query_of(request, ("format",), "format")
        fmt = query.get("format", "npz")
        if fmt not in model.MODEL_FORMATS:
            raise ApiError(422, f"format must be one of {', '.join(model.MODEL_FORMATS)}, got {_shown(fmt)}")
        try:
            content, filename = await run_in_threadpool(session.model_file, fmt)
        except model.ModelFileUnusable as exc:
            raise ApiError(422, str(exc)) from None
        kinds = {"json": "application/json", "npz": "application/octet-stream", "onnx": "application/octet-stream"}
        return Response(
            content,
            media_type=kinds[fmt],
            headers={"Content-Disposition": f"attachment; filename=\"{filename}\"", "Cache-Control": "no-store"},
        )

    async def upload_model(request: Request) -> Response:
        session = session_of(request)
        query = query_of(request, ("filename",), "filename")
        content = await read_body(request, MAX_MODEL_BYTES)
        if not content:
            raise ApiError(400, "the model file is empty")
        name = query.get("filename", "model.npz")
        try:
            description = await run_in_threadpool(model.read_model_file, content, name)
        except model.ModelFileUnusable as exc:
            raise ApiError(422, str(exc)) from None
        config = _config_for_model(session.config, description, name)
        return FiniteJSONResponse(await run_in_threadpool(session.load_description, description, config))

    async def trace(request: Request) -> Response:
        session = session_of(request)
        split, index = point_query(request)
        try:
            return FiniteJSONResponse(await run_in_threadpool(session.prepared, "prepare_trace", split, index))
        except IndexError as exc:  # past the end of this session's split
            raise ApiError(422, str(exc)) from None

    async def neuron(request: Request) -> Response:
        session = session_of(request)
        split, index = point_query(request, ("layer", "neuron"))
        for name in ("layer", "neuron"):
            if name not in request.query_params:
                raise ApiError(400, f"neuron needs ?{name}=<number>")
        layer = int_param(request.query_params["layer"], "layer", 0, MAX_HIDDEN_LAYERS, query=True)
        unit = int_param(request.query_params["neuron"], "neuron", 0, MAX_NEURONS, query=True)
        try:
            return FiniteJSONResponse(
                await run_in_threadpool(session.prepared, "prepare_neuron_graph", split, index, layer, unit)
            )
        except IndexError as exc:
            raise ApiError(422, str(exc)) from None

    async def graph(request: Request) -> Response:
        session = session_of(request)
        split, index = point_query(request)
        try:
            return FiniteJSONResponse(await run_in_threadpool(session.point_graph, split, index))
        except IndexError as exc:
            raise ApiError(422, str(exc)) from None

    async def events(request: Request) -> Response:
        session = session_of(request)
        query = query_of(request, ("max_seconds", "max_events"), "max_seconds and max_events")
        max_seconds = max_stream_seconds
        if "max_seconds" in query:
            try:
                asked = float(query["max_seconds"])
            except ValueError:
                raise ApiError(400, f"max_seconds must be a number, got {_shown(query['max_seconds'])}") from None
            if not 0 < asked <= max_stream_seconds:
                raise ApiError(422, f"max_seconds must be in (0, {max_stream_seconds:g}], got {asked}")
            max_seconds = asked
        max_events = None
        if "max_events" in query:
            max_events = int_param(query["max_events"], "max_events", 1, 10**9, query=True)
        return EventStreamResponse(
            session, max_seconds=max_seconds, max_events=max_events, keepalive_seconds=keepalive_seconds,
            poll_seconds=poll_seconds, stopping=stopping,
        )

    # ---- errors ------------------------------------------------------------------------------

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    async def on_config_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConfigError)
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    async def on_unknown_session(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": str(exc).strip("'\"")}, status_code=404)

    async def on_full(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=503, headers={"Retry-After": "30"})

    async def on_no_graphviz(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=503)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        messages = {404: f"no such page or endpoint: {_shown(request.url.path)}",
                    405: f"method {request.method} is not allowed on {_shown(request.url.path)}"}
        message = messages.get(exc.status_code, str(exc.detail))
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    async def on_crash(request: Request, exc: Exception) -> Response:
        logger.exception("playground: error handling %s %s", request.method, request.url.path)
        return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)

    # A session's endpoints: path after /api/sessions/{id} -> {method: handler}.
    session_endpoints: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {
        "": {"GET": get_session, "DELETE": delete_session},
        "/config": {"PUT": configure},
        "/play": {"POST": play}, "/pause": {"POST": pause}, "/step": {"POST": step}, "/reset": {"POST": reset},
        "/weight": {"PUT": set_weight},
        "/data": {"POST": upload_data},
        "/model": {"GET": download_model, "POST": upload_model},
        "/events": {"GET": events},
        "/trace": {"GET": trace}, "/neuron": {"GET": neuron}, "/graph": {"GET": graph},
    }  # fmt: skip
    routes = [
        Route("/", index),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        Route("/api/options", options),
        Route("/api/sessions", create_session, methods=["POST"]),
        *(
            Route("/api/sessions/{session_id}" + suffix, handler, methods=[method])
            for suffix, handlers in session_endpoints.items()
            for method, handler in handlers.items()
        ),
    ]
    middleware = [Middleware(_SecurityHeaders), Middleware(_SameOriginOnly)]
    if allowed_hosts is not None:
        middleware.insert(0, Middleware(_HostCheck, allowed_hosts=list(allowed_hosts)))
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        ApiError: on_api_error,
        ConfigError: on_config_error,
        UnknownSessionError: on_unknown_session,
        SessionLimitError: on_full,
        GraphUnavailableError: on_no_graphviz,
        HTTPException: on_http_error,
        Exception: on_crash,
    }
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan)
    app.state.store = store
    app.state.stopping = stopping
    return app


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) one larger than ``limit`` bytes before reading it:
    a declared Content-Length over the limit reads nothing; a body without one is read
    only until it passes the limit."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, f"Content-Length must be a whole number, got {_shown(declared)}")
        if int(declared) > limit:
            raise ApiError(413, f"request body too large: {int(declared):,} bytes (at most {limit:,})")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body too large: more than {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _config_for_model(config: PlaygroundConfig, description: ModelDescription, name: str) -> PlaygroundConfig:
    """The settings a loaded model needs: its hidden layers and activations, the current
    features, and a loss that suits its output neuron."""
    shown = name.rsplit("/", 1)[-1]
    if description.nin != len(config.features):
        raise ApiError(
            422,
            f"{shown}: the model takes {description.nin} inputs but {len(config.features)} features are selected "
            f"({', '.join(config.features)}); select the {description.nin} features it was trained on, in order",
        )
    if description.nout != 1:
        raise ApiError(422, f"{shown}: the playground's networks have 1 output, this model has {description.nout}")
    hidden = description.layers[:-1]
    if len(hidden) > MAX_HIDDEN_LAYERS or any(layer.out_features > MAX_NEURONS for layer in hidden):
        raise ApiError(
            422, f"{shown}: the playground shows up to {MAX_HIDDEN_LAYERS} hidden layers of {MAX_NEURONS} neurons; "
            f"this model has {[layer.out_features for layer in hidden]}"
        )
    out = description.layers[-1].activation
    loss = model.loss_for_output(config.problem, config.loss, out)
    if loss is None:
        raise ApiError(
            422, f"{shown}: the output neuron has activation {out!r}, which none of the losses for {config.problem} "
            f"({', '.join(model.losses_for(config.problem))}) trains"
        )
    try:
        return dataclasses.replace(
            config, hidden=tuple(layer.out_features for layer in hidden),
            activations=tuple(layer.activation for layer in hidden), loss=loss,
        )
    except ConfigError as exc:
        raise ApiError(422, f"{shown}: {exc}") from None


class EventStreamResponse(Response):
    """Server-sent events for one page (see `_events`), ended after ``max_seconds`` even when
    the client stopped reading: every write waits at most until that deadline, then the
    stream is abandoned (the server closes the connection)."""

    media_type = "text/event-stream"

    def __init__(self, session: Session, *, max_seconds: float, max_events: int | None,
                 keepalive_seconds: float, poll_seconds: float, stopping: threading.Event) -> None:
        # Not Response.__init__: that would declare a Content-Length for an endless body.
        self.status_code = 200
        self.background = None
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        self.max_seconds = max_seconds
        self.events = functools.partial(  # the stream, given its deadline
            _events, session, max_events=max_events, keepalive_seconds=keepalive_seconds, poll_seconds=poll_seconds,
            stopping=stopping,
        )  # fmt: skip

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        deadline = time.monotonic() + self.max_seconds
        stream = self.events(deadline)

        async def send_by_deadline(message: dict[str, Any]) -> bool:
            # A little past the deadline, so the final "bye" can still reach a reading client.
            with anyio.move_on_after(max(0.0, deadline - time.monotonic()) + 1.0) as waiting:
                await send(message)
            return not waiting.cancelled_caught

        async def watch_for_disconnect(scope_to_cancel: anyio.CancelScope) -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            scope_to_cancel.cancel()

        async with anyio.create_task_group() as group:
            group.start_soon(watch_for_disconnect, group.cancel_scope)
            try:
                sent = await send_by_deadline(
                    {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
                )
                async for chunk in stream:
                    if not sent:
                        break
                    sent = await send_by_deadline({"type": "http.response.body", "body": chunk.encode(), "more_body": True})
                if sent:
                    await send_by_deadline({"type": "http.response.body", "body": b"", "more_body": False})
                else:
                    logger.info("playground: an event stream's client stopped reading; ended it")
            finally:
                await stream.aclose()
                group.cancel_scope.cancel()


async def _events(
    session: Session,
    deadline: float,
    max_events: int | None,
    keepalive_seconds: float,
    poll_seconds: float,
    stopping: threading.Event,
) -> AsyncGenerator[str, None]:
    """The events: "state" when the data or network is (re)built, "update" after every epoch
    (only the newest when the page is slower than training), "closed" when the session
    ends, "bye" at the deadline or when the server stops."""
    session.streams += 1
    try:
        yield "retry: 1000\n\n"
        last_sent = time.monotonic()
        sent = 0
        seen_state = seen_version = -1
        rows = generation = 0
        while True:
            now = time.monotonic()
            if session.closed:
                yield _event("closed", {"error": "this session was closed; reload the page for a new one"})
                return
            if stopping.is_set():
                yield _event("bye", {"reason": "the playground server is stopping"})
                return
            if now >= deadline:
                yield _event("bye", {"reason": "streams last a limited time; reconnect"})
                return
            session.touch()
            if session.state_version != seen_state:
                seen_state, seen_version = session.state_version, session.version
                state = session.state()
                rows, generation = len(state["history"]), state["history_generation"]
                yield _event("state", state)
            elif session.version != seen_version:
                seen_version = session.version
                payload, rows, generation = session.update_since(rows, generation)
                yield _event("update", payload)
            elif now - last_sent >= keepalive_seconds:
                yield ": keepalive\n\n"
            else:
                await asyncio.sleep(poll_seconds)
                continue
            last_sent = now
            sent += 1
            if max_events is not None and sent >= max_events:
                return
    finally:
        session.streams -= 1


def _event(name: str, data: object) -> str:
    try:
        text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a diverged loss in the history: the page reads null
        text = json.dumps(_finite_only(data), separators=(",", ":"), allow_nan=False)
    return f"event: {name}\ndata: {text}\n\n"


def _finite_only(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None (JSON null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite_only(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_only(item) for item in value]
    return value


def _shown(value: object) -> str:
    """repr of a value for a message, cut short: a request may send megabytes."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


class _Guard:
    """An ASGI middleware that lets a request through unless `refusal` says why not (a JSON error)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def refusal(self, scope: Any, headers: dict[bytes, bytes]) -> tuple[int, str] | None:
        raise NotImplementedError

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        refused = self.refusal(scope, dict(scope.get("headers") or [])) if scope["type"] in ("http", "websocket") else None
        if refused is None:
            await self.app(scope, receive, send)
        else:
            await _json_error(*refused)(scope, receive, send)


class _HostCheck(_Guard):
    """Answers only requests whose Host header names an allowed host (any port): a page
    on another site cannot reach this server by pointing its own name at 127.0.0.1."""

    def __init__(self, app: Any, allowed_hosts: Sequence[str]) -> None:
        super().__init__(app)
        self.allowed = {host.lower() for host in allowed_hosts}

    def refusal(self, scope: Any, headers: dict[bytes, bytes]) -> tuple[int, str] | None:
        host = _host_name(headers.get(b"host", b"").decode("latin-1"))
        if host in self.allowed:
            return None
        return 400, (
            f"this playground answers only to {', '.join(sorted(self.allowed))}, not to host {_shown(host)} "
            "(a guard against DNS rebinding); open it by that address"
        )


def _host_name(header: str) -> str:
    """The host of a Host header without its port, lower case; IPv6 keeps its brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        return header[: end + 1] if end > 0 else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class _SameOriginOnly(_Guard):
    """Refuses state-changing requests (POST, PUT, DELETE) sent by another site's page.

    Browsers send ``Origin`` with these; it must name this server (scheme-less host and
    port equal to the ``Host`` header). Requests without ``Origin`` (scripts, curl) pass.
    """

    def refusal(self, scope: Any, headers: dict[bytes, bytes]) -> tuple[int, str] | None:
        origin = headers.get(b"origin")
        if scope["type"] != "http" or scope["method"] not in STATE_CHANGING or origin is None:
            return None
        text = origin.decode("latin-1")
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if text != "null" and urlsplit(text).netloc.lower() == host and host:
            return None
        return 403, (
            f"refused a {scope['method']} from the page at {_shown(text)}: the playground only takes changes "
            "from its own page"
        )


class _SecurityHeaders:
    """Adds the content security policy (no third-party anything) to every response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def loopback_hosts(host: str) -> list[str] | None:
    """The Host header names to accept when serving on ``host``: for a loopback address
    (127.0.0.0/8, ::1, localhost) that address and the usual loopback names; None (any)
    for other addresses."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return list(LOOPBACK_NAMES)
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return None
    if not address.is_loopback:
        return None
    shown = f"[{address.compressed}]" if address.version == 6 else address.compressed
    return sorted({shown, *LOOPBACK_NAMES})


def _check_can_listen(host: str, port: int) -> None:
    """Fail early, in one sentence, when the address cannot be served (port taken, unknown host)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot serve the playground on {host}:{port}: unknown host ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            raise OSError(
                f"cannot serve the playground on {host}:{port}: {exc.strerror or exc}; "
                "is it already running? pick another port with --port"
            ) from None


def run(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    open_browser: bool = False,
    log_level: str = "info",
) -> None:
    """Serve the playground with uvicorn until Ctrl-C."""
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover
        from scratchgrad.extras import MissingExtraError, install_hint

        raise MissingExtraError(f"the playground needs uvicorn: install it with {install_hint('playground')}") from exc
    _check_can_listen(host, port)
    _single_threaded_blas()
    app = create_app(allowed_hosts=loopback_hosts(host))
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{port}/"
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            app.state.stopping.set()  # Ctrl-C: end the event streams so shutdown is immediate
            super().handle_exit(sig, frame)

    server = Server(config)
    if open_browser:
        import webbrowser

        def open_when_ready() -> None:
            for _ in range(100):  # 10 s at most
                if server.started:
                    webbrowser.open(url)
                    return
                time.sleep(0.1)

        threading.Thread(target=open_when_ready, daemon=True).start()
    print(f"scratchgrad playground: {url}  (Ctrl-C to stop)", flush=True)
    server.run()
