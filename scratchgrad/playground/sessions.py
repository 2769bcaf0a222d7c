"""Playground sessions: one model per browser tab, trained in its own thread, bounded and reaped.

A `Session` owns a trainer (the model, its data and optimizer) and publishes what the
page shows: the full state (settings, data points, history) and the latest update
(epoch, losses, decision boundary, weights). Training happens under ``_train_lock``;
publishing under the short ``_publish_lock``, so readers (the event streams in the
server's event loop) never wait for an epoch to finish.

Every loop stops by itself: a running session pauses when nobody has asked about it
for ``watch_timeout`` seconds, and `SessionStore.sweep` closes sessions idle for
``idle_timeout`` seconds. The store holds at most ``max_sessions`` sessions.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from typing import Any, Callable, Protocol

from scratchgrad.playground.config import PlaygroundConfig

logger = logging.getLogger(__name__)

# History rows kept per session; past this, every other row is dropped (the curve keeps its shape).
MAX_HISTORY = 4000


class Trainer(Protocol):
    """What a session needs from a trainer (see `scratchgrad.playground.trainer.Trainer`)."""

    config: PlaygroundConfig
    epoch: int

    def train_epoch(self, should_stop: Callable[[], bool] | None = None) -> bool: ...

    def snapshot(self) -> dict[str, Any]: ...

    def describe(self) -> dict[str, Any]: ...


# (settings, uploaded points or None) -> a trainer
TrainerFactory = Callable[[PlaygroundConfig, Any], Trainer]


class UnknownSessionError(LookupError):
    """No session has this id (never created, closed, or reaped after being idle)."""


class SessionLimitError(RuntimeError):
    """The store is full of sessions that are in use."""


class Session:
    """One model being trained, with Play / Pause / Step / Reset and published snapshots."""

    def __init__(
        self,
        session_id: str,
        config: PlaygroundConfig,
        trainer_factory: TrainerFactory,
        *,
        clock: Callable[[], float] = time.monotonic,
        watch_timeout: float = 60.0,
        max_rate: float = 30.0,
    ) -> None:
        self.id = session_id
        self._factory = trainer_factory
        self._clock = clock
        self.watch_timeout = watch_timeout
        self.max_rate = max_rate
        self._train_lock = threading.RLock()
        self._publish_lock = threading.Lock()
        self._stop = threading.Event()
        self._runner: threading.Thread | None = None
        self.last_seen = clock()
        self.streams = 0
        self.closed = False
        self.playing = False
        self.error: str | None = None
        self.version = 0  # bumped on every change a page should see
        self.state_version = 0  # bumped when the data or the network is rebuilt
        self.history_generation = 0  # bumped when the history is cleared or thinned
        self._history: list[list[float]] = []
        self._uploaded: Any = None  # the points of an uploaded CSV file, for dataset 'csv'
        self.uploaded_name: str | None = None
        self._trainer = trainer_factory(config, None)
        self._publish_new_trainer()

    # ---- what the page reads (never blocks on training) -------------------------------------

    @property
    def config(self) -> PlaygroundConfig:
        return self._trainer.config

    def touch(self) -> None:
        """Someone is watching: keeps the session (and its training) alive."""
        self.last_seen = self._clock()

    def status(self) -> dict[str, Any]:
        """Whether it plays, the epoch, and the last error, if any."""
        with self._publish_lock:
            return self._status()

    def _status(self) -> dict[str, Any]:
        return {
            "session_id": self.id,
            "playing": self.playing,
            "epoch": self._latest["epoch"],
            "error": self.error,
            "version": self.version,
            "state_version": self.state_version,
        }

    def state(self) -> dict[str, Any]:
        """Everything the page draws: settings, data, latest update, whole loss history."""
        with self._publish_lock:
            return {
                **self._status(),
                **self._description,
                "latest": self._latest,
                "history": [list(row) for row in self._history],
                "history_generation": self.history_generation,
            }

    def update_since(self, history_rows: int, generation: int) -> tuple[dict[str, Any], int, int]:
        """The latest update and the history rows a reader has not seen yet.

        Returns (payload, rows now known, generation); when the history was cleared or
        thinned since ``generation``, the payload carries the whole history instead
        (``history_replace`` true).
        """
        with self._publish_lock:
            replace = generation != self.history_generation
            start = 0 if replace else min(history_rows, len(self._history))
            payload = {
                **self._status(),
                "latest": self._latest,
                "history": [list(row) for row in self._history[start:]],
                "history_replace": replace,
            }
            return payload, len(self._history), self.history_generation

    # ---- controls ---------------------------------------------------------------------------

    def play(self) -> dict[str, Any]:
        """Start training in the background (no-op when already playing)."""
        self._check_open()
        self.touch()
        with self._publish_lock:
            if self.playing:
                return self._status()
            self.playing = True
            self.error = None
            self.version += 1
            stop = self._stop = threading.Event()
            self._runner = threading.Thread(
                target=self._run, args=(stop,), name=f"playground-{self.id[:8]}", daemon=True
            )
            self._runner.start()
            return self._status()

    def pause(self, reason: str | None = None) -> dict[str, Any]:
        """Stop the background training after the epoch in progress."""
        self._stop.set()
        with self._publish_lock:
            if self.playing or reason:
                self.playing = False
                if reason:
                    self.error = reason
                self.version += 1
            return self._status()

    def step(self, epochs: int = 1) -> dict[str, Any]:
        """Pause, then train ``epochs`` epochs now; returns the update after the last one.

        Closing the session (deleting it) stops a step in progress before its next batch.
        """
        self._check_open()
        self.pause()
        with self._train_lock:
            for _ in range(epochs):
                if self.closed or not self._advance():
                    break
        self._check_open()
        with self._publish_lock:
            return {**self._status(), "latest": self._latest}

    def reset(self, config: PlaygroundConfig | None = None) -> dict[str, Any]:
        """Pause and start over from fresh weights, with new settings if given."""
        self._check_open()
        self.pause()
        with self._train_lock:
            self._replace_trainer(config or self._trainer.config, self._uploaded)
        return self.state()

    def upload(self, points: Any, name: str, config: PlaygroundConfig) -> dict[str, Any]:
        """Train on uploaded points from now on (``config`` has dataset 'csv'); fresh weights."""
        self._check_open()
        self.pause()
        with self._train_lock:
            self._replace_trainer(config, points)  # may raise: keep the old data and trainer
            self._uploaded, self.uploaded_name = points, name
        return self.state()

    def load_description(self, description: Any, config: PlaygroundConfig) -> dict[str, Any]:
        """Start from a loaded model's weights (a `ModelDescription`), with the settings its shape needs."""
        self._check_open()
        self.pause()
        with self._train_lock:
            trainer = self._factory(config, self._uploaded)
            trainer.load_description(description)  # type: ignore[attr-defined]
            self._trainer = trainer
            self._publish_new_trainer()
        return self.state()

    def set_parameter(self, layer: int, neuron: int, index: int | None, value: float) -> dict[str, Any]:
        """Set one weight or bias now (between two epochs); returns the update that shows it."""
        self._check_open()
        with self._train_lock:
            self._trainer.set_parameter(layer, neuron, index, value)  # type: ignore[attr-defined]
            snapshot = self._trainer.snapshot()
            with self._publish_lock:
                self._latest = snapshot
                self.version += 1
        with self._publish_lock:
            return {**self._status(), "latest": self._latest}

    def _replace_trainer(self, config: PlaygroundConfig, uploaded: Any) -> None:
        self._trainer = self._factory(config, uploaded)  # may raise: keep the old one
        self._publish_new_trainer()

    def prepared(self, prepare: str, *args: Any) -> Any:
        """Run the trainer's ``prepare`` method (copies the weights between two epochs),
        then the function it returns (the slow part: a pass or a drawing) while training goes on."""
        self._check_open()
        with self._train_lock:
            work = getattr(self._trainer, prepare)(*args)
        return work()

    def point_graph(self, split: str, index: int) -> dict[str, Any]:
        """The whole computation graph of one data point's output and loss (see the trainer)."""
        return self.prepared("prepare_point_graph", split, index)

    def model_file(self, fmt: str) -> tuple[bytes, str]:
        """The current network as a model file: (content, file name)."""
        self._check_open()
        with self._train_lock:
            description = self._trainer.model_description()  # type: ignore[attr-defined]
        from scratchgrad.playground import model

        return model.model_file(description, fmt)

    def close(self) -> None:
        """Stop training for good; later calls raise UnknownSessionError."""
        self.closed = True
        self.pause()
        runner = self._runner
        if runner is not None and runner is not threading.current_thread():
            runner.join(timeout=5.0)

    # ---- training ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise UnknownSessionError(f"session {self.id} is closed")

    def _run(self, stop: threading.Event) -> None:
        """The background loop: an epoch and a snapshot per update, at most ``max_rate`` a second."""
        try:
            self._run_until_stopped(stop)
        except Exception as exc:  # a bug, not bad settings: keep the server up and say so
            logger.exception("playground session %s: training failed", self.id)
            self.pause(f"internal error while training: {type(exc).__name__}: {exc}")

    def _run_until_stopped(self, stop: threading.Event) -> None:
        interval = 1.0 / self.max_rate
        while not stop.is_set():
            started = self._clock()
            if started - self.last_seen > self.watch_timeout:
                self.pause(f"paused: nobody watched this session for {self.watch_timeout:g} s")
                return
            with self._train_lock:
                if stop.is_set() or self.closed or not self._advance():
                    return
            wait = interval - (self._clock() - started)
            if wait > 0:
                stop.wait(wait)

    def _advance(self) -> bool:
        """One epoch and its snapshot, published; False (and paused, with the error) on failure."""
        trainer = self._trainer
        try:
            if not trainer.train_epoch(should_stop=lambda: self.closed):
                return False  # closed in the middle of the epoch
            snapshot = trainer.snapshot()
        except (ArithmeticError, ValueError) as exc:
            self.pause(
                f"training stopped at epoch {trainer.epoch}: {type(exc).__name__}: {exc}; "
                "lower the learning rate and press Reset"
            )
            return False
        train_loss = snapshot["train_loss"]
        row = [snapshot["epoch"], train_loss, snapshot["test_loss"]]
        with self._publish_lock:
            self._latest = snapshot
            self._history.append(row)
            if len(self._history) > MAX_HISTORY:
                self._history = self._history[::2]
                self.history_generation += 1
            self.version += 1
        if train_loss is None or not math.isfinite(train_loss):
            self.pause(
                f"training diverged at epoch {snapshot['epoch']}: the train loss is {train_loss}; "
                "lower the learning rate and press Reset"
            )
            return False
        return True

    def _publish_new_trainer(self) -> None:
        description = self._trainer.describe()
        snapshot = self._trainer.snapshot()
        with self._publish_lock:
            self._description = description
            self._latest = snapshot
            self._history = [[snapshot["epoch"], snapshot["train_loss"], snapshot["test_loss"]]]
            self.error = None
            self.history_generation += 1
            self.state_version += 1
            self.version += 1


class SessionStore:
    """At most ``max_sessions`` sessions by id; idle ones are closed by `sweep`."""

    def __init__(
        self,
        trainer_factory: TrainerFactory | None = None,
        *,
        max_sessions: int = 16,
        idle_timeout: float = 600.0,
        watch_timeout: float = 60.0,
        max_rate: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be at least 1, got {max_sessions}")
        if trainer_factory is None:
            from scratchgrad.playground.trainer import Trainer as DefaultTrainer

            trainer_factory = DefaultTrainer
        self.trainer_factory = trainer_factory
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self.watch_timeout = watch_timeout
        self.max_rate = max_rate
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def create(self, config: PlaygroundConfig) -> Session:
        """A new session with its own model. When full, the least recently seen session
        without a page attached makes room; SessionLimitError if every one has a page."""
        self.sweep()
        session = Session(  # built outside the lock: making the data and model takes a moment
            secrets.token_urlsafe(16),
            config,
            self.trainer_factory,
            clock=self._clock,
            watch_timeout=self.watch_timeout,
            max_rate=self.max_rate,
        )
        evicted = None
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                unwatched = [s for s in self._sessions.values() if s.streams == 0]
                if not unwatched:
                    session.close()
                    raise SessionLimitError(
                        f"too many playground sessions open ({self.max_sessions}, all in use); "
                        "close a tab and try again"
                    )
                evicted = min(unwatched, key=lambda s: s.last_seen)
                del self._sessions[evicted.id]
            self._sessions[session.id] = session
        if evicted is not None:
            evicted.close()
        return session

    def get(self, session_id: str) -> Session:
        """The session with this id, marked as just seen; UnknownSessionError otherwise."""
        session = self._sessions.get(session_id)
        if session is None or session.closed:
            shown = session_id if len(session_id) <= 64 else session_id[:64] + "..."
            raise UnknownSessionError(
                f"no session {shown!r}: it was closed or expired after being idle; reload the page"
            )
        session.touch()
        return session

    def close(self, session_id: str) -> None:
        """Stop and forget a session; UnknownSessionError when there is none."""
        session = self.get(session_id)
        with self._lock:
            self._sessions.pop(session_id, None)
        session.close()

    def sweep(self) -> list[str]:
        """Close sessions that no page has watched for ``idle_timeout`` seconds; their ids."""
        now = self._clock()
        with self._lock:
            idle = [
                s
                for s in self._sessions.values()
                if s.streams == 0 and now - s.last_seen > self.idle_timeout
            ]
            for session in idle:
                del self._sessions[session.id]
        for session in idle:
            session.close()
        return [s.id for s in idle]

    def close_all(self) -> None:
        """Stop every session (server shutdown)."""
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.close()
