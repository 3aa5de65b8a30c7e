"""A derivative's value at a point, as ``diff --value`` shows it: the text line
``at x = [1, 2]: ∂f/∂x = [11, 14]`` (NumPy-style, six significant digits, a matrix
as aligned rows) and its LaTeX (``\\begin{bmatrix}``)."""
from __future__ import annotations

import re

import numpy as np

from ..calculus.result import Kind
from ..core import shapes as S
from .latex import derivative_lhs, latex_name
from .report import derivative_name

# amsmath's bmatrix takes at most 10 columns; larger values are not written in LaTeX
MAX_LATEX_COLUMNS, MAX_LATEX_ROWS = 10, 20


def number(v: float) -> str:
    """``v`` with six significant digits: 11, 0.333333, -2.5, 1e-08."""
    text = f"{v:.6g}"
    return "0" if text == "-0" else text


def array_text(a, prefix: str = "") -> str:
    """``a`` as NumPy prints a list (``[[2, 5], [5, 8]]``), a matrix's rows aligned
    under the first one, which starts after ``prefix``."""
    a = np.asarray(a, dtype=float)
    if not a.ndim:
        return number(float(a))
    width = max((len(number(v)) for v in a.flat), default=0)
    return np.array2string(a, separator=", ", prefix=prefix, max_line_width=10 ** 6,
                           formatter={"float_kind": lambda v: number(v).rjust(width)})


def inline_text(a) -> str:
    """``a`` on one line: ``[[1, 2], [3, 4]]``."""
    a = np.asarray(a, dtype=float)
    if not a.ndim:
        return number(float(a))
    text = np.array2string(a, separator=", ", max_line_width=10 ** 6,
                           formatter={"float_kind": number})
    return re.sub(r",?\s*\n\s*", ", ", text)


def point(d, values) -> dict:
    """The arrays of the variables ``d`` is evaluated with, by name, from ``values``."""
    return {v.name: np.asarray(values[v.name], dtype=float) for v in d.variables}


def shown_value(d, value: np.ndarray, layout: str = "numerator") -> np.ndarray:
    """The value laid out as the derivative is shown: ``evaluate``'s array (the
    numeric contract), a Jacobian transposed in the denominator layout."""
    if d.kind is Kind.JACOBIAN and layout == "denominator":
        return value.T
    return value


def value_text(d, values, value: np.ndarray, layout: str = "numerator",
               ascii: bool = False) -> str:
    """``d``'s ``value`` at ``values``: ``at x = [1, 2], A = [[1, 2], [3, 4]]: ∂f/∂x =
    [11, 14]``; a tensor (three axes or more) with its shape: ``∂²f/∂x∂A (2×2×3) =
    ...``."""
    at = ", ".join(f"{name} = {inline_text(a)}" for name, a in point(d, values).items())
    shown = shown_value(d, value, layout)
    name = derivative_name(d, ascii)
    if shown.ndim > 2:
        shape = S.shape_str(shown.shape)
        name += f" ({shape.replace('×', 'x') if ascii else shape})"
    text = f"{name} = " + array_text(shown, prefix=f"{name} = ")
    if "\n" not in text:
        return f"at {at}: {text}"
    # a value of several lines starts on a line of its own, indented under the point
    return f"at {at}:\n" + "\n".join(f"  {line}" if line else "" for line in text.split("\n"))


def number_latex(v: float) -> str:
    text = number(v)
    if text in ("nan", "inf", "-inf"):
        return {"nan": r"\mathrm{NaN}", "inf": r"\infty", "-inf": r"-\infty"}[text]
    mantissa, e, exponent = text.partition("e")
    if not e:
        return text
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else f"{mantissa} \\times {power}"


def array_latex(a) -> str:
    """A scalar as a number; a vector as a column, a matrix as rows, in a bmatrix."""
    a = np.asarray(a, dtype=float)
    if not a.ndim:
        return number_latex(float(a))
    rows = a.reshape(-1, 1) if a.ndim == 1 else a
    body = r" \\ ".join(" & ".join(number_latex(v) for v in row) for row in rows)
    return f"\\begin{{bmatrix}} {body} \\end{{bmatrix}}"


def value_latex(d, values, value: np.ndarray, layout: str = "numerator") -> str:
    """``d``'s ``value`` at ``values`` as one LaTeX line, ``\\text{at } \\mathbf{x} = ...: \\quad
    \\frac{\\partial f}{\\partial \\mathbf{x}} = \\begin{bmatrix} ... \\end{bmatrix}``;
    a LaTeX comment where it is not simple (a differential's tensor, more than two
    axes, more than 10 columns or 20 rows: see --format text or json)."""
    shown = shown_value(d, value, layout)
    if shown.ndim == 1 and len(d.display_shape(layout)) == 2:
        shown = shown.reshape(1, -1)  # a gradient in numerator layout: a row
    at = point(d, values)
    if d.kind is Kind.DIFFERENTIAL or not all(map(_simple, (shown, *at.values()))):
        return (f"% the value at this point ({S.shape_str(shown.shape)}) is shown by "
                f"--format text or json")
    at = ", ".join(f"{latex_name(name, a.ndim)} = {array_latex(a)}" for name, a in at.items())
    return f"\\text{{at }} {at}: \\quad {derivative_lhs(d, layout)} = {array_latex(shown)}"


def _simple(a: np.ndarray) -> bool:
    """Whether a bmatrix shows ``a``: a vector (a column), a matrix of at most 10
    columns, at most 20 rows."""
    rows, cols = (a.shape + (1, 1))[:2]
    return a.ndim <= 2 and rows <= MAX_LATEX_ROWS and cols <= MAX_LATEX_COLUMNS
