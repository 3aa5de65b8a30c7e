"""The web server: the page, its assets, and the JSON API (docs/web.md), on Starlette.

The server only routes, checks and caches; the work runs in worker processes
(:mod:`matcalc.web.pool`) within enforced budgets. Every answer under ``/api/`` is
JSON, an error included. The page's assets (its HTML, JS and CSS, and KaTeX) are files
of this package: nothing is fetched from the network. Nothing is written to disk.
"""
from __future__ import annotations

import contextlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import Optional

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .api import ENDPOINTS, Budgets, RequestError, read_request
from .pool import Pool

STATIC = Path(__file__).parent / "static"

# The page runs only its own files: no inline script, no other origin, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "form-action 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
           "Cross-Origin-Opener-Policy": "same-origin"}
LOCAL_HOSTS = ["127.0.0.1", "localhost"]


class _Cache:
    """The answers to the last ``size`` distinct requests (typing on the page asks the
    same again and again), those the worker marked as worth keeping (not an answer
    that ran out of time). Kept in memory only."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()

    def get(self, key: str):
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, key: str, status: int, body: bytes, keep: bool) -> None:
        if self.size <= 0 or not keep:
            return
        self._items[key] = (status, body)
        if len(self._items) > self.size:
            self._items.popitem(last=False)


def create_app(workers: int = 2, budgets: Budgets = Budgets(), cache: int = 256,
               hosts: Optional[list] = None, memory: Optional[int] = 4 << 30) -> Starlette:
    """The ASGI application: ``workers`` processes, the request ``budgets``, a cache of
    ``cache`` answers, and the host names it answers to (``hosts``: the loopback names
    unless given; ``["*"]`` for any, which a server bound to all interfaces needs)."""
    pool = Pool(workers, budgets, memory=memory)
    answers = _Cache(cache)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await pool.start()
        try:
            yield
        finally:
            await pool.close()

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "workers": workers, "idle": pool.ready,
                             "restarts": pool.restarts})

    def endpoint(name: str):
        async def handle(request: Request) -> Response:
            try:
                raw = await _body(request, budgets.max_body_bytes)
                req = read_request(name, raw, budgets)
            except RequestError as err:
                return _json(err.status, err.encoded())
            key = json.dumps(req, sort_keys=True)
            hit = answers.get(key)
            if hit is None:
                status, body, keep = await pool.run(req)
                answers.put(key, status, body, keep)
                hit = status, body
            return _json(*hit)
        return handle

    routes = [Route("/", page), Route("/api/health", health),
              *(Route(f"/api/{name}", endpoint(name), methods=["POST"]) for name in ENDPOINTS),
              Mount("/static", StaticFiles(directory=STATIC), name="static")]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=hosts or LOCAL_HOSTS),
                  Middleware(_Headers)]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                     exception_handlers={HTTPException: _http_error, Exception: _bug})


async def _body(request: Request, limit: int) -> bytes:
    """The request's body, read up to ``limit`` bytes (a 413 beyond: the rest is never
    read), after checking that it says it is JSON (a 415 otherwise: a page of another
    site cannot send JSON here without the browser asking first)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise RequestError(415, "unsupported media type", "send the body as JSON, with "
                           "Content-Type: application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestError(413, "too large", f"the request has {int(declared):,} bytes; "
                           f"at most {limit:,}")
    raw = bytearray()
    try:
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise RequestError(413, "too large", f"the request has more than "
                                   f"{limit:,} bytes")
    except ClientDisconnect:
        raise RequestError(400, "malformed request", "the client went away") from None
    return bytes(raw)


def _json(status: int, body: bytes) -> Response:
    return Response(body, status_code=status, media_type="application/json")


async def _http_error(request: Request, err: HTTPException) -> Response:
    """404, 405... as JSON under /api/, as Starlette's plain text elsewhere."""
    headers = dict(err.headers or {})
    if request.url.path.startswith("/api/"):
        return _json(err.status_code, RequestError(err.status_code, "http error",
                                                   err.detail).encoded())
    return Response(err.detail, status_code=err.status_code, headers=headers)


async def _bug(request: Request, err: Exception) -> Response:  # pragma: no cover
    return _json(500, RequestError(500, "internal error", f"{type(err).__name__} (please "
                                   f"report it)").encoded())


class _Headers:
    """Adds the security headers of :data:`HEADERS` to every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k.lower().encode(), v.encode()) for k, v in HEADERS.items()
                    if k.lower().encode() not in present]
            await send(message)

        await self.app(scope, receive, with_headers)
