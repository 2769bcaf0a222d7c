"""The playground's web app: a Starlette app serving the page, a JSON API and an event stream.

    GET    /                                   the page (static/index.html)
    GET    /static/{file}                      its script and style sheet
    GET    /api/options                        choices, bounds and defaults of every setting
    POST   /api/sessions                       new session {settings...} -> 201 state
    GET    /api/sessions/{id}                  state: settings, data, latest update, history
    DELETE /api/sessions/{id}                  close it
    PUT    /api/sessions/{id}/config           new settings {field: value, ...} (merged) -> state
    POST   /api/sessions/{id}/play | /pause    start / stop training in the background
    POST   /api/sessions/{id}/step             {"epochs": n} train n epochs now -> update
    POST   /api/sessions/{id}/reset            fresh weights, same settings -> state
    GET    /api/sessions/{id}/events           server-sent events: "state", "update", "closed", "bye"
    GET    /api/sessions/{id}/graph?split=train&index=i   a point's computation graph (SVG in JSON)

Every error is JSON ``{"error": "..."}`` with a 4xx status saying whose fault it is
(400 malformed, 404 unknown session, 413 too large, 422 out of range, 503 full).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ImportError(
        "the playground needs Starlette and uvicorn: pip install scratchgrad[playground]"
    ) from exc

from scratchgrad.playground import _single_threaded_blas
from scratchgrad.playground.config import MAX_POINTS, ConfigError, PlaygroundConfig, limits
from scratchgrad.playground.trainer import GraphUnavailableError
from scratchgrad.playground.sessions import (
    Session,
    SessionLimitError,
    SessionStore,
    UnknownSessionError,
)

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY_BYTES = 64 * 1024
MAX_STEP_EPOCHS = 100
# Only our own files and our own server: the page never reaches the internet.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class ApiError(Exception):
    """A request we refuse, with the HTTP status and the message the page shows."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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

    ``max_stream_seconds`` ends every event stream (the browser reconnects by itself);
    a background task sweeps idle sessions every ``sweep_interval`` seconds while the
    app runs. ``allowed_hosts`` restricts the Host header (guards a local server
    against DNS rebinding); None accepts any.
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
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"request body too large: {len(body)} bytes (at most {MAX_BODY_BYTES})")
        if not body.strip():
            if required:
                raise ApiError(400, "this request needs a JSON object body")
            return {}
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, f"malformed JSON in request body: {exc}") from None

    def int_param(value: object, name: str, low: int, high: int, *, query: bool = False) -> int:
        if query and isinstance(value, str):  # query strings are text; JSON must say 3, not "3"
            try:
                value = int(value)
            except ValueError:
                raise ApiError(400, f"{name} must be an integer, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError(400, f"{name} must be an integer, got {value!r}")
        if not low <= value <= high:
            raise ApiError(422, f"{name} must be between {low} and {high}, got {value}")
        return value

    # ---- endpoints ---------------------------------------------------------------------------

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def options(request: Request) -> Response:
        return JSONResponse(limits())

    async def create_session(request: Request) -> Response:
        config = PlaygroundConfig.from_json(await json_body(request, required=False))
        session = await run_in_threadpool(store.create, config)
        return JSONResponse(session.state(), status_code=201)

    async def get_session(request: Request) -> Response:
        return JSONResponse(session_of(request).state())

    async def delete_session(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        await run_in_threadpool(store.close, session_id)
        return JSONResponse({"closed": session_id})

    async def configure(request: Request) -> Response:
        session = session_of(request)
        config = PlaygroundConfig.from_json(await json_body(request, required=True), base=session.config)
        return JSONResponse(await run_in_threadpool(session.reset, config))

    async def play(request: Request) -> Response:
        return JSONResponse(session_of(request).play())

    async def pause(request: Request) -> Response:
        return JSONResponse(session_of(request).pause())

    async def step(request: Request) -> Response:
        session = session_of(request)
        body = await json_body(request, required=False)
        if not isinstance(body, dict):
            raise ApiError(400, "step takes a JSON object like {\"epochs\": 1}")
        unknown = sorted(set(body) - {"epochs"})
        if unknown:
            raise ApiError(400, f"unknown field(s) {', '.join(map(repr, unknown))}; step takes 'epochs'")
        epochs = int_param(body.get("epochs", 1), "epochs", 1, MAX_STEP_EPOCHS)
        return JSONResponse(await run_in_threadpool(session.step, epochs))

    async def reset(request: Request) -> Response:
        session = session_of(request)
        await json_body(request, required=False)  # a body, if any, must still be JSON
        return JSONResponse(await run_in_threadpool(session.reset))

    async def graph(request: Request) -> Response:
        session = session_of(request)
        unknown = sorted(set(request.query_params) - {"split", "index"})
        if unknown:
            raise ApiError(400, f"unknown query parameter(s) {', '.join(unknown)}; use split and index")
        split = request.query_params.get("split", "train")
        if split not in ("train", "test"):
            raise ApiError(422, f"split must be 'train' or 'test', got {split!r}")
        if "index" not in request.query_params:
            raise ApiError(400, "graph needs ?index=<point number>")
        index = int_param(request.query_params["index"], "index", 0, MAX_POINTS, query=True)
        try:
            return JSONResponse(await run_in_threadpool(session.point_graph, split, index))
        except IndexError as exc:  # past the end of this session's split
            raise ApiError(422, str(exc)) from None

    async def events(request: Request) -> Response:
        session = session_of(request)
        query = request.query_params
        max_seconds = max_stream_seconds
        if "max_seconds" in query:
            try:
                asked = float(query["max_seconds"])
            except ValueError:
                raise ApiError(400, f"max_seconds must be a number, got {query['max_seconds']!r}") from None
            if not 0 < asked <= max_stream_seconds:
                raise ApiError(422, f"max_seconds must be in (0, {max_stream_seconds:g}], got {asked}")
            max_seconds = asked
        max_events = None
        if "max_events" in query:
            max_events = int_param(query["max_events"], "max_events", 1, 10**9, query=True)
        stream = _event_stream(session, max_seconds, max_events, keepalive_seconds, poll_seconds, stopping)
        return StreamingResponse(
            stream,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
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
        messages = {404: f"no such page or endpoint: {request.url.path}",
                    405: f"method {request.method} is not allowed on {request.url.path}"}
        message = messages.get(exc.status_code, str(exc.detail))
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    async def on_crash(request: Request, exc: Exception) -> Response:
        logger.exception("playground: error handling %s %s", request.method, request.url.path)
        return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)

    session_path = "/api/sessions/{session_id}"
    routes = [
        Route("/", index),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        Route("/api/options", options),
        Route("/api/sessions", create_session, methods=["POST"]),
        Route(session_path, get_session, methods=["GET"]),
        Route(session_path, delete_session, methods=["DELETE"]),
        Route(session_path + "/config", configure, methods=["PUT"]),
        Route(session_path + "/play", play, methods=["POST"]),
        Route(session_path + "/pause", pause, methods=["POST"]),
        Route(session_path + "/step", step, methods=["POST"]),
        Route(session_path + "/reset", reset, methods=["POST"]),
        Route(session_path + "/events", events, methods=["GET"]),
        Route(session_path + "/graph", graph, methods=["GET"]),
    ]
    middleware = [Middleware(_SecurityHeaders)]
    if allowed_hosts is not None:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
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


async def _event_stream(
    session: Session,
    max_seconds: float,
    max_events: int | None,
    keepalive_seconds: float,
    poll_seconds: float,
    stopping: threading.Event,
) -> AsyncIterator[str]:
    """Server-sent events for one page: "state" when the data or network is (re)built,
    "update" after every epoch (only the newest when the page is slower than training),
    "closed" when the session ends, "bye" when this stream has run ``max_seconds``."""
    session.streams += 1
    try:
        yield "retry: 1000\n\n"
        started = last_sent = time.monotonic()
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
            if now - started >= max_seconds:
                yield _event("bye", {"reason": f"streams last at most {max_seconds:g} s; reconnect"})
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
                yield ": keepalive\n\n"  # also how a closed connection is noticed
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
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'), allow_nan=True)}\n\n"


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
        raise ImportError("the playground needs uvicorn: pip install scratchgrad[playground]") from exc
    _check_can_listen(host, port)
    _single_threaded_blas()
    loopback = host in ("127.0.0.1", "localhost")
    allowed = ["127.0.0.1", "localhost"] if loopback else None
    app = create_app(allowed_hosts=allowed)
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
