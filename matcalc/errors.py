"""The error classes of matcalc: every bad input raises a subclass of MatcalcError.

Also the hints that messages share: :class:`MatcalcWarning` and :func:`warn` (a likely
mistake in a valid input), :func:`did_you_mean`, and the caller's own spelling of a
declaration or an option (:func:`declaration`, :func:`spelled`): Python's
``shapes={"mu": ("n",)}``, or ``--shape mu=n`` while the command line runs
(:func:`command_line`), or the web page's.
"""
from __future__ import annotations

import contextvars
import difflib
import sys
import warnings
from contextlib import contextmanager
from typing import Iterable, Iterator


def quote(text: object, width: int = 60) -> str:
    """User text as it may appear in a message: quoted and escaped as Python's
    ``repr`` does (no control character, escape sequence or newline gets through),
    and cut to ``width`` characters."""
    s = repr(str(text))
    return s if len(s) <= width else s[:width - 4] + "...'"


def one_line(text: str) -> str:
    """``text`` with every control character (newline, escape...) shown as ``repr``
    shows it: what a one-line message may contain."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] or "?" for ch in text)


class MatcalcError(Exception):
    """Base of every error matcalc raises on bad input.

    ``pos`` is an optional ``(line, column)`` (1-based) into ``source``; when both
    are known, ``str(err)`` ends with the source line and a caret under the column.
    """

    kind = "error"

    def __init__(self, message: str, pos: tuple[int, int] | None = None,
                 source: str | None = None):
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.source = source

    def located(self, pos: tuple[int, int] | None, source: str | None) -> "MatcalcError":
        """Attach a position (if none yet) and the source text; returns self."""
        if self.pos is None:
            self.pos = pos
        if self.source is None:
            self.source = source
        return self

    def __str__(self) -> str:
        message = one_line(self.message)
        if self.pos is None:
            return message
        line, col = self.pos
        head = f"{message} (line {line}, column {col})"
        if self.source is None:
            return head
        # Lines as the parser counts them (at "\n" only); a tab or another control
        # character shows as one space, so that the caret stays under its column.
        lines = self.source.split("\n")
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        text = "".join(ch if ch.isprintable() else " " for ch in text)
        # Show a window of at most 76 characters around the column, so that a
        # 100,000-character input still gives a readable caret.
        start = max(0, col - 40)
        snippet = text[start:start + 76]
        prefix = "..." if start > 0 else ""
        suffix = "..." if start + 76 < len(text) else ""
        caret = " " * (len(prefix) + col - 1 - start) + "^"
        return f"{head}\n  {prefix}{snippet}{suffix}\n  {caret}"


class ParseError(MatcalcError):
    """The text is not an expression of the language (syntax, unknown function, arity)."""

    kind = "parse error"


class ShapeError(MatcalcError):
    """The shapes of the operands do not fit the operation, or the declarations conflict."""

    kind = "shape error"


class DiffError(MatcalcError):
    """The derivative asked for cannot be taken (unknown variable, bad order...)."""

    kind = "diff error"


class EvalError(MatcalcError):
    """Values given for evaluation are missing, malformed, or of the wrong shape."""

    kind = "evaluation error"


class UsageError(MatcalcError):
    """A bad option or argument (a malformed --shape, --value, dialect, layout...)."""

    kind = "usage error"


class LimitError(MatcalcError):
    """The input asks for more work than a budget allows (see :mod:`matcalc.limits`)."""

    kind = "limit exceeded"


class BridgeError(MatcalcError):
    """An expression has no form on the other side of the SymPy bridge."""

    kind = "sympy bridge error"


class MatcalcWarning(UserWarning):
    """A likely mistake in an input that is valid: ``W * x`` with a matrix ``W`` (an
    element-wise product where ``W @ x`` may be meant), a name whose shape the naming
    convention guessed... Issued with :func:`warnings.warn`, so Python's filters apply
    (``warnings.simplefilter("error", MatcalcWarning)`` makes them errors); ``diff``
    also keeps them on ``Derivative.warnings``."""


# While the command line or the web page runs a request: the list its warnings are
# collected in (shown with the answer), and whose spelling hints use ("cli": --shape,
# --dialect; "web": the page's table and menu).
_COLLECTING: contextvars.ContextVar[tuple[list, str] | None] = contextvars.ContextVar(
    "matcalc_collecting", default=None)


@contextmanager
def command_line(spelling: str = "cli") -> Iterator[list[str]]:
    """For the CLI (and, with ``spelling="web"``, the web page): within, hints spell
    the front end's options, and :func:`warn` collects each warning once in the list
    yielded instead of issuing it."""
    collected: list[str] = []
    token = _COLLECTING.set((collected, spelling))
    try:
        yield collected
    finally:
        _COLLECTING.reset(token)


def spelled(cli: str, python: str, web: str | None = None) -> str:
    """An option as the caller writes it: ``cli`` on the command line, ``web`` on the
    web page (``cli`` unless given), else ``python``."""
    state = _COLLECTING.get()
    if state is None:
        return python
    return web if state[1] == "web" and web is not None else cli


def declaration(name: str, dims: tuple = ("n",)) -> str:
    """How the caller declares the shape ``dims`` of ``name``: ``--shape mu=n``
    (``--shape mu=scalar``), ``shapes={"mu": ("n",)}`` (``shapes={"mu": ()}``), or on
    the web page the shape box of the table (``shape of mu: n``)."""
    python_dims = "(" + ", ".join(f'"{d}"' for d in dims) + ("," if len(dims) == 1 else "") + ")"
    spec = ','.join(dims) or 'scalar'
    return spelled(f"--shape {name}={spec}", f'shapes={{"{name}": {python_dims}}}',
                   f"shape of {name}: {spec}")


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean tanh?"`` for ``tnh``: the candidates spelled alike (up to case;
    or with the same first letter and difflib's ratio at least 0.6), or of which
    ``name`` is the word written out (``inverse`` for ``inv``); ``""`` if none is."""
    candidates = sorted(set(candidates) - {name})
    close = [c for c in candidates if c.lower() == name.lower()]
    scored = {c: difflib.SequenceMatcher(None, name, c).ratio() for c in candidates
              if c[:1].lower() == name[:1].lower()}
    best = max(scored.values(), default=0)
    # the closest, and those nearly as close (sigma: sign or sigmoid; tnh: tanh, not tan)
    close += sorted((c for c, r in scored.items() if r >= max(0.6, best - 0.1)),
                    key=lambda c: -scored[c])
    close += [c for c in candidates if len(c) >= 3 and name.startswith(c)
              and len(name) - len(c) >= 3]
    close = list(dict.fromkeys(close))[:3]
    return f"; did you mean {' or '.join(close)}?" if close else ""


def warn(message: str) -> None:
    """Report a likely mistake: collected by the command line (once each), else issued
    with :func:`warnings.warn` as a :class:`MatcalcWarning` that points at the caller's
    line (the first frame outside matcalc)."""
    state = _COLLECTING.get()
    if state is not None:
        collected = state[0]
        if message not in collected:
            collected.append(message)
        return
    warnings.warn(MatcalcWarning(message), stacklevel=_caller_level())


def _caller_level() -> int:
    """``stacklevel`` for ``warnings.warn`` called in :func:`warn`: the first frame
    that is not matcalc's."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] \
            == "matcalc":
        frame, level = frame.f_back, level + 1
    return level
