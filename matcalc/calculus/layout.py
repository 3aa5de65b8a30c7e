"""Layouts: the form of a derivative a reader is shown.

The numerator layout (the paper's) writes the gradient of a scalar by a vector as a
row, a Jacobian with rows indexing f; the denominator layout transposes both; the
mixed layout shows the gradient as a column and the Jacobian as in numerator layout.
``evaluate`` does not depend on the layout (the numeric contract).
"""
from __future__ import annotations

from ..core import expr as E
from ..errors import UsageError
from .result import Kind
from .simplify import simplify

LAYOUTS = ("numerator", "denominator", "mixed")


def check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    return layout


def shown(d, layout: str = "numerator") -> E.Expr:
    """The expression of derivative ``d`` shown in ``layout``."""
    check_layout(layout)
    e = d.expr
    if d.kind is Kind.GRADIENT and d.wrt.rank == 1 and layout == "numerator":
        return simplify(E.transpose(e))  # transposing reorders sums: tidy again
    if d.kind is Kind.JACOBIAN and layout == "denominator":
        return simplify(E.transpose(e))
    if d.kind is Kind.ZERO:
        return E.zeros(shown_shape(d, layout))
    return e


def shown_shape(d, layout: str = "numerator") -> tuple:
    """The shape of ``shown(d, layout)``."""
    fs, vs = tuple(d.f_shape), tuple(d.wrt.shape)
    if d.kind is Kind.DIFFERENTIAL:
        return d.expr.shape
    if not vs:
        return fs
    if not fs:
        return (1, vs[0]) if len(vs) == 1 and layout == "numerator" else vs
    if len(fs) == 1 and len(vs) == 1:
        return (vs[0], fs[0]) if layout == "denominator" else (fs[0], vs[0])
    return fs + vs
