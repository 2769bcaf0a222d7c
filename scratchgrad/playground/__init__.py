"""The playground: train a small network in the browser and watch it learn.

    scratchgrad playground [--host 127.0.0.1] [--port 8000] [--open]

or from Python, ``scratchgrad.playground.serve()``. A local Starlette app (run by
uvicorn) trains the network on the server with scratchgrad and streams every epoch to
the page: decision boundary, loss curves, weights, and the computation graph of any
clicked point. Needs the ``playground`` extra: ``make install-playground`` in a clone.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from scratchgrad.playground.config import ConfigError, PlaygroundConfig

__all__ = ["ConfigError", "PlaygroundConfig", "create_app", "serve"]


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False) -> None:
    """Run the playground at http://host:port/ until Ctrl-C; ``open_browser`` opens a tab.

    Binds to 127.0.0.1 (this machine only) unless told otherwise. Raises ValueError for
    a bad port or host, OSError (saying which address and why) when the address cannot
    be served, e.g. the port is taken, and ImportError naming
    how to install the ``playground`` extra when Starlette or uvicorn is missing.
    """
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ValueError(f"port must be an integer from 1 to 65535, got {port!r}")
    if not isinstance(host, str) or not host:
        raise ValueError(f"host must be a host name or IP address such as '127.0.0.1', got {host!r}")
    _single_threaded_blas()  # before the server's modules load numpy
    from scratchgrad.playground.server import run

    run(host, port, open_browser=open_browser)


def create_app(*args: Any, **kwargs: Any) -> Starlette:
    """The Starlette app (see `scratchgrad.playground.server.create_app`), e.g. for another ASGI server."""
    from scratchgrad.playground.server import create_app as _create_app

    return _create_app(*args, **kwargs)


def __getattr__(name: str) -> Any:
    # The settings load numpy; importing the package must not, so that `serve` can ask
    # for one BLAS thread before numpy starts (see _single_threaded_blas).
    if name in ("ConfigError", "PlaygroundConfig"):
        from scratchgrad.playground import config

        return getattr(config, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _single_threaded_blas() -> None:
    """One BLAS thread per training thread. The playground's matrices are small and several
    sessions train at once, so BLAS's own threads only fight each other for the cores
    (measured on 2 busy cores: a (2500, 64) @ (64, 64) product took 15 ms with OpenBLAS's
    threads, 1 ms with one). Variables the user set win. Works fully only before numpy
    is imported; after, it uses threadpoolctl when installed, else changes nothing."""
    if any(variable in os.environ for variable in BLAS_THREAD_VARIABLES):
        return
    if "numpy" not in sys.modules:
        for variable in BLAS_THREAD_VARIABLES:
            os.environ[variable] = "1"
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")
