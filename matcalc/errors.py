"""The error classes of matcalc: every bad input raises a subclass of MatcalcError."""
from __future__ import annotations


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
