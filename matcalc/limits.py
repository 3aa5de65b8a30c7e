"""Budgets: every bound on the work one input can cause, in one place.

Each limit has a documented default (docs/security.md) and can be changed for a
block of code, in the current thread (or task) only::

    with matcalc.limits.override(max_elements=10**8):
        d.evaluate(values)

Nothing here changes interpreter state at import. The time budget of
:func:`deadline` works in any thread and on any platform: a watchdog thread raises
:class:`Timeout` in the thread that runs the work (no signals, no SIGALRM, no
timers of the user's touched).
"""
from __future__ import annotations

import contextlib
import contextvars
import ctypes
import sys
import threading
import time
from dataclasses import dataclass, fields, replace
from typing import Callable, Iterator, Optional, TypeVar

from .errors import LimitError, UsageError

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """The budgets. Sizes are counts; times are seconds."""

    max_input_chars: int = 1_000_000      # characters of one expression
    max_number_chars: int = 100           # characters of one numeric literal
    max_number: float = 1.7976931348623157e308   # magnitude of a literal (float64's range)
    max_exact_bits: int = 4096            # bits of an exactly folded constant
    max_depth: int = 12_000               # nesting of an expression
    max_dims: int = 10_000                # distinct symbolic dimensions in one expression
    max_power_factors: int = 1024         # exponent k of a matrix power (k terms in its derivative)
    max_elements: int = 10_000_000        # entries of one array (evaluate, Kronecker, Hessian)
    max_output_chars: int = 10_000_000    # characters one printed result may have
    max_npz_bytes: int = 100_000_000      # uncompressed bytes read from a .npz file
    max_verify_dim: int = 6               # largest size --verify gives a dimension
    max_verify_sizes: int = 4             # number of sizes --verify tries
    verify_seconds: float = 0.9           # SymPy proof, per instantiation of the dimensions
    sympy_simplify_seconds: float = 2.0   # the SymPy pass on one derivative, all its parts


_DEFAULT = Limits()
_CURRENT: contextvars.ContextVar[Limits] = contextvars.ContextVar("matcalc_limits",
                                                                   default=_DEFAULT)


def current() -> Limits:
    """The limits in force in this thread (or task)."""
    return _CURRENT.get()


def names() -> list[str]:
    return [f.name for f in fields(Limits)]


@contextlib.contextmanager
def override(**changes) -> Iterator[Limits]:
    """Change some limits for the duration of a ``with`` block (this context only)."""
    known = set(names())
    for k, v in changes.items():
        if k not in known:
            raise UsageError(f"unknown limit {k!r}: use one of {', '.join(sorted(known))}")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise UsageError(f"limit {k} must be a positive number, not {v!r}")
    new = replace(current(), **{k: type(getattr(_DEFAULT, k))(v) for k, v in changes.items()})
    token = _CURRENT.set(new)
    try:
        yield new
    finally:
        _CURRENT.reset(token)


def check(value: int, limit_name: str, what: str, error: type = LimitError) -> None:
    """Raise ``error`` (a :class:`LimitError` unless told) if ``value`` exceeds the
    limit ``limit_name``."""
    limit = getattr(current(), limit_name)
    if value > limit:
        raise error(f"{what} is {value:,}; at most {limit:,} (limits.{limit_name})")


# ------------------------------------------------------------------ time budgets

class Timeout(BaseException):
    """Raised inside the work when its deadline passes. A BaseException, so that the
    ``except Exception`` clauses of the libraries it interrupts do not swallow it."""


# Our own prototypes of CPython's PyThreadState_SetAsyncExc (setting argtypes on
# ctypes.pythonapi's shared function object would change it for everyone): one raises
# an exception in a thread, the other (a NULL exception) takes a pending one back.
_set_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi))
_clear_async_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi))


def run_with_deadline(fn: Callable[[], T], seconds: float) -> Optional[T]:
    """``fn()``, or None if it is still running after ``seconds``.

    A watchdog thread raises :class:`Timeout` asynchronously in the calling thread
    (CPython's ``PyThreadState_SetAsyncExc``): it works in any thread and on any
    platform and touches no signal handler. It waits while the thread is importing
    a module (an import cut short would leave the module broken for the whole
    process); import what the work needs before calling this. Work inside one long
    C call (a huge integer product) is interrupted when that call returns. Budgets
    nest: an inner deadline never outlives an outer one.
    """
    if not seconds > 0:
        return None
    outer = _DEADLINE.get()
    end = time.monotonic() + seconds
    if outer is not None and outer <= end:
        # the outer budget is the tighter one: it fires for us
        return fn()
    tid = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}
    stop = threading.Event()

    def watch():
        if stop.wait(seconds):
            return
        while True:
            with lock:
                if state["done"]:
                    return
                # never interrupt an import: a half-run module stays broken in
                # sys.modules; wait for it to finish
                if not _importing(tid):
                    state["fired"] = True
                    _set_async_exc(tid, Timeout)
            # Raise it again while the work goes on: an exception raised inside a
            # garbage-collector callback or a __del__ is printed and dropped.
            if stop.wait(0.005 if not state["fired"] else 0.05):
                return

    watchdog = threading.Thread(target=watch, name="matcalc-deadline", daemon=True)
    token = _DEADLINE.set(end)
    try:
        try:
            watchdog.start()
            return fn()
        finally:
            with lock:
                state["done"] = True
                if state["fired"]:
                    # the exception may still be pending: take it back
                    _clear_async_exc(tid, None)
            stop.set()
    except Timeout:
        if outer is not None and time.monotonic() >= outer:
            raise  # the outer deadline's, not ours
        return None
    finally:
        _DEADLINE.reset(token)


def _importing(tid: int) -> bool:
    """Is the thread ``tid`` inside an import (importlib's frames on its stack)?"""
    frame = sys._current_frames().get(tid)
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


_DEADLINE: contextvars.ContextVar[Optional[float]] = contextvars.ContextVar(
    "matcalc_deadline", default=None)
