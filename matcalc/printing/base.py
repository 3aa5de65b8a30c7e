"""The printer base: dispatch to ``_print_<Node>``, one precedence table, one
``parenthesize``. Text (input language), Unicode and LaTeX printers subclass it."""
from __future__ import annotations

from fractions import Fraction

from ..core import expr as E
from .. import limits

# Precedence: higher binds tighter.
PREC_ADD = 10
# A leading minus in mathematics (Unicode, LaTeX) binds looser than any product:
# -AB is -(AB), and a negated factor is bracketed, A(-B), never "A -B" (a difference).
# The input language keeps Python's unary minus, PREC_NEG (a @ -B parses).
PREC_SIGNED = 15
PREC_MUL = 20
PREC_NEG = 30
PREC_POW = 40
PREC_POSTFIX = 50
PREC_ATOM = 60


class Printer:
    """Prints an expression tree. Subclasses give the notation."""

    def __init__(self, names=None) -> None:
        self._memo: dict = {}
        # variables printed under another name (a derivation's u₁, u₂...)
        self.names: dict = dict(names or {})

    def doprint(self, e: E.Expr) -> str:
        # Every node of the tree prints at least one character: a DAG whose tree is
        # larger than the output budget is refused before anything is built.
        limits.check(E.tree_size(e), "max_output_chars",
                     "the printed size of the result (characters, at least)")
        # Print the sub-trees bottom-up first (``print`` and ``is_full`` memoize), so
        # that the deepest tree allowed never recurses more than a few frames.
        for node in E.postorder(e):
            self.is_full(node)
            self.print(node)
        return self.print(e)[0]

    def print(self, e: E.Expr) -> tuple[str, int]:
        """``(text, precedence)`` of ``e``; memoized (nodes are shared)."""
        hit = self._memo.get(e)
        if hit is None:
            method = getattr(self, "_print_" + type(e).__name__)
            hit = method(e)
            self._memo[e] = hit
        return hit

    def parenthesize(self, e: E.Expr, prec: int, strict: bool = False) -> str:
        """``e`` as an operand at precedence ``prec`` (``strict``: parenthesize equal too)."""
        text, p = self.print(e)
        if p < prec or (strict and p == prec):
            return self.paren(text)
        return text

    def paren(self, text: str) -> str:
        return f"({text})"

    # helpers shared by the notations

    @staticmethod
    def split_coeff(e: E.Expr) -> tuple[Fraction, list[E.Expr]]:
        """A product's leading constant and its other factors."""
        if type(e) is E.Mul:
            c = E.const_value(e.args[0])
            if c is not None:
                return c, list(e.args[1:])
            return Fraction(1), list(e.args)
        c = E.const_value(e)
        if c is not None:  # a number, or a number expanded (printed as the number)
            return c, []
        return Fraction(1), [e]

    @staticmethod
    def is_full(e: E.Expr) -> bool:
        """Is ``e`` shown at its own shape (not a scalar expanded implicitly)?"""
        return not (type(e) is E.Expand)


class OutputBudget:
    """Counts the characters a printer produces in pieces (steps, documents) and
    refuses to go past limits.max_output_chars."""

    def __init__(self) -> None:
        self.used = 0

    def add(self, text: str) -> str:
        self.used += len(text)
        limits.check(self.used, "max_output_chars", "the printed size of the result "
                     "(characters)")
        return text


def power_base(e: E.Expr) -> E.Expr:
    """The base of a power to print: a scalar expanded is written as the scalar,
    ``2^x`` rather than ``(2𝟏)^x`` (the exponent gives the shape)."""
    b = e.base
    return b.arg if type(b) is E.Expand and b.arg.rank == 0 and e.exp.rank else b
