"""What the two front ends share, the command line (``matcalc diff``) and the web page
(``matcalc serve``): an expression's text, its shape declarations and the names to
differentiate by, checked and turned into derivatives.

Messages name the front end's own inputs (``--wrt``/``--shape`` on the command line,
``wrt``/``shape of W`` on the page) through :func:`matcalc.errors.spelled`.
"""
from __future__ import annotations

import re
from typing import Mapping, Sequence

from . import limits
from .errors import UsageError, did_you_mean, quote, spelled, warn


def derive(text: str, declared: Mapping[str, object], dialect: str, wrts: Sequence[str],
           order: int = 1, simplify: object = True, symmetric_gradient: str = "sym"):
    """The expression ``text`` parsed with the declarations ``declared`` (NAME -> a
    declaration such as ``"m,n"``), and its derivatives: by each of ``wrts``, or with
    order 2 and several, every block of the Hessian over them (:func:`blocks`).
    Returns ``(expression, derivatives, shapes)``, ``shapes`` the declarations of
    every variable."""
    from .calculus.derivative import diff
    from .core import shapes as S
    from .parser import parse_with_variables
    e, named = parse_with_variables(text, declared, dialect)
    unused_shapes(declared, named, wrts)
    # the declared shapes, and the variables of the text (even one the algebra removed):
    # diff then gives a zero derivative by a variable that is not in the expression
    shapes = {name: S.spec_of(shape, structure)
              for name, (shape, structure) in S.normalize_declarations(declared).items()}
    shapes.update((v.name, S.spec_of(v.shape, v.structure)) for v in named)
    for wrt in wrts:
        check_wrt(wrt, e, shapes)
    derivs = [diff(e, by, shapes, order=order, simplify=simplify,
                   symmetric_gradient=symmetric_gradient) for by in blocks(wrts, order)]
    return e, derivs, shapes


def blocks(wrts: Sequence[str], order: int) -> list:
    """What each derivative is by: each name; with order 2 and several, every block of
    the Hessian over them, (w, w), (w, b), (b, b): the pairs in the given order, a
    mixed derivative where they differ ((b, w) is not repeated: for a scalar f, the
    transpose of (w, b))."""
    if order != 2 or len(wrts) < 2:
        return list(wrts)
    names = list(dict.fromkeys(wrts))
    return [(a, b) for i, a in enumerate(names) for b in names[i:]]


def check_wrt(name: str, e, shapes: dict) -> None:
    """``name`` is a variable of the expression or of a declaration: the option's own
    checks here, what the name is in derivative.find_wrt."""
    from .calculus.derivative import find_wrt
    from .core.shapes import MAX_NAME, NAME_RE
    option = spelled("--wrt", "wrt", "wrt")
    if not name.strip():
        example = spelled("--wrt x", 'wrt="x"', "x")
        raise UsageError(f"{option} is empty: give the name of a variable, e.g. {example}")
    if len(name) > MAX_NAME or not NAME_RE.fullmatch(name):
        raise UsageError(f"bad {option} {quote(name)}: a variable's name is a letter "
                         f"followed by letters, digits or _")
    find_wrt(e, name, shapes)


def unused_shapes(declared: Mapping[str, object], named, wrt=()) -> None:
    """A warning for each declaration that names neither a variable of the expression
    nor one to differentiate by (a misspelt name: its declaration is silently unused)."""
    have = {v.name for v in named}
    for name in declared:
        if name not in have and name not in wrt:
            shape = spelled(f"--shape {name}", f'shapes["{name}"]', f"the shape of {name}")
            warn(f"{shape}: {name} is not in the expression, so its declaration is "
                 f"not used{did_you_mean(name, have)}")


def verify_dims(text: str) -> tuple:
    """The sizes verify gives the symbolic dimensions (``"2,3"``), checked before
    anything is computed."""
    lim = limits.current()
    parts = [p.strip() for p in text.split(",")]
    if len(parts) <= lim.max_verify_sizes and all(
            re.fullmatch(r"[0-9]{1,9}", p) and 1 <= int(p) <= lim.max_verify_dim for p in parts):
        return tuple(int(p) for p in parts)
    option = spelled("--verify-dims", "dims", "dims")
    raise UsageError(f"bad {option} {quote(text)}: give 1 to {lim.max_verify_sizes} "
                     f"sizes, whole numbers from 1 to {lim.max_verify_dim}, e.g. 2,3 "
                     f"(limits.max_verify_sizes, limits.max_verify_dim)")


def verify_name(d) -> str:
    """What a verification is of: ``d/dx`` (of any order), a mixed derivative's name
    (``∂²f/∂w∂b``)."""
    from .printing.report import derivative_name
    return derivative_name(d) if d.mixed else f"d/d{d.wrt.name}"
