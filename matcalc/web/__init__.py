"""``matcalc serve``: the local web page (docs/web.md).

Needs the ``web`` extra (``pip install "matcalc-symbolic[web]"``: Starlette and
uvicorn); importing this package does not import them, :func:`serve` and
:func:`matcalc.web.app.create_app` do.
"""
from __future__ import annotations

import os
import socket
import threading
import webbrowser
from typing import Callable

from ..errors import UsageError

DEFAULT_PORT = 8765


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, open_browser: bool = False,
          workers: int = 2, cache: int = 256,
          announce: Callable[[str], None] = print) -> None:
    """Serve the page on ``host:port`` until interrupted (port 0: any free port);
    ``announce`` is given the address once the server listens."""
    try:
        import uvicorn
        from .app import LOCAL_HOSTS, create_app
    except ImportError as err:
        raise UsageError(f"matcalc serve needs the web extra ({err.name} is not "
                         f"installed): pip install \"matcalc-symbolic[web]\"") from None
    sock = _listen(host, port)
    # the workers (spawned: they inherit this environment) compute with one BLAS thread
    # each: a server's parallelism is its processes, and a thread pool per worker would
    # only cost memory (counted against each worker's address-space cap)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    hosts = ["*"] if host in ("0.0.0.0", "::", "") else LOCAL_HOSTS + [host]
    app = create_app(workers=workers, cache=cache, hosts=hosts)
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "localhost" if host == "::" else host
    url = f"http://{_bracketed(shown)}:{sock.getsockname()[1]}/"
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)

    def started():  # announce once the workers are ready and the socket accepts
        while not server.started and not server.should_exit:
            threading.Event().wait(0.05)
        if server.started:
            announce(f"matcalc: serving on {url}  (Ctrl-C to stop)")
            if open_browser:
                webbrowser.open(url)

    threading.Thread(target=started, daemon=True).start()
    server.run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (a UsageError when it cannot be)."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except (OSError, UnicodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise UsageError(f"cannot listen on {host}:{port}: {reason} (choose another "
                         f"with --host/--port; --port 0 picks a free port)") from None
    return sock


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


__all__ = ["serve", "DEFAULT_PORT"]
