"""Worker processes for the web server: the derivations run here, not in the server.

Each request's work goes to an idle worker over a pipe, as plain data (the request of
:func:`matcalc.web.api.read_request`, never code). The worker keeps its own time
budget (:func:`matcalc.limits.run_with_deadline`, a 422 when it runs out); if it does
not answer within that budget plus a grace period (stuck in one long C call, out of
memory), the server kills it and starts another: the budget is enforced, not advised,
and the server keeps serving the other requests. Workers start with the ``spawn``
method (nothing of the server's threads or sockets is inherited) and are bounded in
memory where the platform allows it (``RLIMIT_AS``).
"""
from __future__ import annotations

import asyncio
import multiprocessing
from typing import Callable, Optional

from .api import Budgets, RequestError, answer, read_request

# what a worker that stops without an answer reports
_STOPPED = RequestError(422, "limit exceeded", "the computation was stopped: it needed "
                        "more time or memory than this server allows")


def _work(conn, budgets: Budgets, handler: Callable, memory: Optional[int]) -> None:
    """A worker's life: set its memory bound, warm up, say it is ready, then answer
    each job it receives until it receives None."""
    if memory:
        try:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        except (ImportError, ValueError, OSError):  # not on this platform
            pass
    handler(read_request("diff", b'{"expression": "sum(tanh(W@x))", "wrt": "W", '
                                 b'"extras": ["code", "steps_latex"]}'), budgets)
    conn.send("ready")
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if job is None:
            return
        try:
            conn.send(handler(job, budgets))
        except (EOFError, OSError, KeyboardInterrupt):
            return
        except Exception as err:  # a bug: say so, and go on serving
            conn.send((500, RequestError(500, "internal error", f"{type(err).__name__}: "
                                         f"{err}"[:300] + " (please report it)").encoded(),
                       False))


class _Worker:
    def __init__(self, ctx, budgets: Budgets, handler: Callable, memory: Optional[int]):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_work, args=(child, budgets, handler, memory),
                                   name="matcalc-worker", daemon=True)
        self.process.start()
        child.close()

    def receive(self, seconds: float):
        """The worker's next message, or None if none came within ``seconds`` (or the
        worker died)."""
        try:
            return self.conn.recv() if self.conn.poll(seconds) else None
        except (EOFError, OSError):
            return None

    def stop(self, kill: bool = False) -> None:
        """Ask the worker to finish (``kill``: kill it), and wait for it."""
        if not kill:
            try:
                self.conn.send(None)
                self.process.join(2)
            except OSError:
                pass
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


class Pool:
    """``size`` worker processes answering requests of :mod:`matcalc.web.api`.

    ``await pool.run(req)`` waits for an idle worker (a 429 when ``queue`` requests
    are already waiting, or when none is free within ``budgets.queue_seconds``), sends it the request and returns its (status, body,
    whether to keep it in a cache) as :func:`matcalc.web.api.answer` does.
    ``handler`` is the function the workers call (:func:`matcalc.web.api.answer`),
    named so that a spawned process can import it.
    """

    def __init__(self, size: int = 2, budgets: Budgets = Budgets(), queue: int = 64,
                 handler: Callable = answer, memory: Optional[int] = 4 << 30):
        self.size, self.budgets, self.queue = size, budgets, queue
        self.handler, self.memory = handler, memory
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: Optional[asyncio.Queue] = None
        self._waiting = 0
        self._all: set = set()
        self.restarts = 0

    async def start(self) -> None:
        """Start the workers and wait until each is ready."""
        self._idle = asyncio.Queue()
        await asyncio.gather(*(self._spawn() for _ in range(self.size)))

    async def _spawn(self) -> None:
        worker = await asyncio.to_thread(_Worker, self._ctx, self.budgets, self.handler,
                                         self.memory)
        self._all.add(worker)
        if await asyncio.to_thread(worker.receive, 120) == "ready":
            self._idle.put_nowait(worker)
            return
        self._all.discard(worker)
        await asyncio.to_thread(worker.stop, True)
        raise RuntimeError("a worker process did not start")

    @property
    def ready(self) -> int:
        """Workers idle now."""
        return self._idle.qsize() if self._idle is not None else 0

    async def run(self, req: dict) -> tuple[int, bytes, bool]:
        if self._waiting >= self.queue:
            return 429, RequestError(429, "busy", f"the server has {self._waiting} requests "
                                     f"waiting; try again in a moment").encoded(), False
        self._waiting += 1
        try:
            worker = await asyncio.wait_for(self._idle.get(), self.budgets.queue_seconds)
        except asyncio.TimeoutError:
            return 429, RequestError(429, "busy", f"no worker was free for "
                                     f"{self.budgets.queue_seconds:g} s; try again in a "
                                     f"moment").encoded(), False
        finally:
            self._waiting -= 1
        seconds = self.budgets.seconds(req["endpoint"]) + self.budgets.grace_seconds
        try:
            worker.conn.send(req)
            result = await asyncio.to_thread(worker.receive, seconds)
        except (OSError, ValueError):
            result = None
        if result is None:  # stuck or dead: replace it, and tell the client
            self._all.discard(worker)
            self.restarts += 1
            await asyncio.to_thread(worker.stop, True)
            asyncio.get_running_loop().create_task(self._respawn())
            return _STOPPED.status, _STOPPED.encoded(), False
        self._idle.put_nowait(worker)
        return result

    async def _respawn(self) -> None:
        try:
            await self._spawn()
        except RuntimeError:  # pragma: no cover - the next failure tells again
            pass

    async def close(self) -> None:
        workers, self._all = list(self._all), set()
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in workers))

