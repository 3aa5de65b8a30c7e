"""``matcalc.diff``: the chain rule's differential, identified as a gradient, a Jacobian,
or kept as a differential (:class:`~matcalc.calculus.result.Derivative`)."""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Union

from ..core import expr as E
from ..core import shapes as S
from ..core.shapes import NoMatrixForm
from ..errors import DiffError, ShapeError, UsageError, declaration, did_you_mean, quote, warn
from .identify import jacobian
from .jvp import Applied, differential, tangent_of
from .layout import LAYOUTS
from .recognize import recognize
from .result import Derivative, Kind
from .simplify import simplify as _simplify
from .transpose import adjoint

__all__ = ["Derivative", "Kind", "LAYOUTS", "SYMMETRIC_GRADIENTS", "diff", "find_wrt"]

# The two conventions for the gradient by a symmetric matrix variable (docs/language.md):
# "sym", the gradient on the space of symmetric matrices, sym(G) = (G + Gᵀ)/2 with G the
# unconstrained gradient (the default); "cookbook", the Matrix Cookbook's G + Gᵀ - G ⊙ I
# (entry i,j: the derivative when S_ij and S_ji move together).
SYMMETRIC_GRADIENTS = ("sym", "cookbook")
ORDERS = (1, 2, 3)


def find_wrt(f: E.Expr, wrt, shapes=None, declare=declaration) -> E.Expr:
    """The variable ``wrt`` names: one of ``f``'s, or one declared in ``shapes`` (its
    derivative is zero). Otherwise a DiffError that says what the name is (a
    dimension of a variable, the misspelling of one, or nothing) and how to declare it
    (``declare(name)``: Python's ``shapes=``, ``--shape`` on the command line)."""
    if isinstance(wrt, E.Expr):
        if type(wrt) is not E.Var or wrt.tangent:
            raise DiffError(f"can only differentiate by a variable, not {quote(wrt)}")
        return _free(wrt, declare)
    if not isinstance(wrt, str):
        raise DiffError(f"wrt must be a variable name (a string), not "
                        f"{type(wrt).__name__}")
    variables = E.variables(f)
    for v in variables:
        if v.name == wrt:
            return _free(v, declare)
    declarations = S.normalize_declarations(shapes)
    declared = {name: shape for name, (shape, _) in declarations.items()}
    if wrt in declared:
        shape, structure = declarations[wrt]
        return _free(E.var(wrt, shape, structure=structure), declare)
    if not S.NAME_RE.fullmatch(wrt):
        raise DiffError(f"{quote(wrt)} is not a variable name: use a letter followed by "
                        f"letters, digits or _")
    shapes = {**declared, **{v.name: v.shape for v in variables}}
    for name, shape in shapes.items():
        if wrt in shape:
            what = "the length" if len(shape) == 1 else \
                "the number of rows" if shape[0] == wrt else "the number of columns"
            raise DiffError(f"{wrt} is a dimension ({what} of {name}), not a variable: "
                            f"differentiate by a variable")
    if wrt in E.dims_of(f):
        raise DiffError(f"{wrt} is a dimension of the expression, not a variable: "
                        f"differentiate by a variable")
    names = [v.name for v in variables]
    listed = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    has = f"its variables are {listed}" if names else "it has no variable"
    raise DiffError(f"{wrt} is not a variable of the expression ({has}"
                    f"{did_you_mean(wrt, names)}); to get a zero derivative by "
                    f"it, declare its shape, e.g. {declare(wrt)}")


def _free(v: E.Expr, declare) -> E.Expr:
    """``v``, if a derivative by it is defined: not by a probability vector, whose
    entries are tied by sum = 1 (DiffError, suggesting a plain declaration)."""
    if v.structure == S.PROB and v.rank == 2:
        dims = ",".join(str(d) for d in v.shape)
        raise DiffError(f"{v.name} is declared prob (each row a probability vector): the "
                        f"entries of a row are tied (they sum to 1), so a derivative by "
                        f"{v.name} is not defined by its entries; to differentiate by it, "
                        f"declare it without prob ({dims})")
    if v.structure == S.PROB:
        plain = declare(v.name)
        raise DiffError(f"{v.name} is declared a probability vector (prob): its entries "
                        f"are tied (they sum to 1), so a derivative by {v.name} is not "
                        f"defined by its entries; to differentiate by it, declare it a plain "
                        f"vector, e.g. {plain}")
    return v


def check_symmetric_gradient(convention: object) -> str:
    if not isinstance(convention, str) or convention not in SYMMETRIC_GRADIENTS:
        raise UsageError(f"symmetric_gradient must be one of {', '.join(SYMMETRIC_GRADIENTS)}"
                         f", not {quote(convention)}")
    return convention


def symmetric_direction(dv: E.Expr, convention: str) -> E.Expr:
    """The direction a unit perturbation ``dv`` of a symmetric variable stands for: the
    map P whose adjoint turns the unconstrained gradient G into the convention's
    gradient (P is self-adjoint under ⟨A, B⟩ = tr(AᵀB)).

    - sym: P(D) = (D + Dᵀ)/2, so the gradient is sym(G) = (G + Gᵀ)/2;
    - cookbook: P(D) = D + Dᵀ - D ⊙ I, so the gradient is G + Gᵀ - G ⊙ I.
    """
    both = E.add(dv, E.transpose(dv))
    if convention == "sym":
        return E.scale(Fraction(1, 2), both)
    return E.sub(both, E.mul(dv, E.eye(S.resolve(dv.shape[0]))))


def first_order(f: E.Expr, v: E.Expr, simplify: bool,
                symmetric_gradient: str = "sym") -> Derivative:
    """The first derivative of ``f`` by the variable ``v`` (by a symmetric ``v``, in the
    convention ``symmetric_gradient``)."""
    applied: list[Applied] = []
    df = differential(f, v, applied)
    done = tuple(applied)
    convention = symmetric_gradient if type(v) is E.Var and v.symmetric else None
    if df is None:
        return Derivative(f, v, Kind.ZERO, E.zeros(tuple(f.shape) + tuple(v.shape))
                          if f.rank + v.rank <= 2 else E.ZERO, applied=done,
                          symmetric_gradient=convention)
    dv = tangent_of(v)
    if convention is not None:
        # dv is a symmetric direction: the differential applied to P(dv), whose gradient
        # (the adjoint) and whose value at each basis direction E_ij follow the convention
        df = E.substitute(df, {dv: symmetric_direction(dv, convention)})
        return replace(identified(f, v, df, dv, simplify, done),
                       symmetric_gradient=convention)
    return identified(f, v, df, dv, simplify, done)


def identified(f, v, df, dv, simplify: bool, done: tuple) -> Derivative:
    """The differential ``df`` read off as a derivative, gradient or Jacobian, or kept."""
    tidy = _simplify if simplify else (lambda e: e)
    if v.rank == 0:
        return Derivative(f, v, Kind.DERIVATIVE, tidy(E.substitute(df, {dv: E.ONE})),
                          applied=done)
    try:
        if f.rank == 0:
            return Derivative(f, v, Kind.GRADIENT, tidy(adjoint(df, dv, E.ONE)), applied=done)
        if v.rank == 1 and (f.rank == 1 or S.resolve(f.shape[0]) == 1):
            return Derivative(f, v, Kind.JACOBIAN, tidy(jacobian(df, dv)), applied=done)
    except (NoMatrixForm, ShapeError, DiffError):
        # No matrix form through some node; or sizes declared 1, where a 1×1 product
        # is a scalar and the matrix assembly does not fit: the differential is exact.
        # (A LimitError is not caught: a budget is a budget.)
        pass
    return Derivative(f, v, Kind.DIFFERENTIAL, tidy(df), applied=done)


def diff(expr: Union[str, E.Expr], wrt, shapes=None, order: int = 1,
         dialect: str = "default", simplify: bool = True,
         symmetric_gradient: str = "sym") -> Derivative:
    """The derivative of ``expr`` by the variable ``wrt``.

    ``order=2`` gives the Hessian of a scalar ``expr`` (and the 3rd-order tensor of a
    vector's second derivatives), ``order=3`` the third derivatives. ``evaluate`` on
    the result returns an array of shape ``f.shape + order * wrt.shape``.

    A tuple or list of ``order`` variables gives a mixed derivative: ``wrt=("w", "b")``
    with ``order=2`` is ∂²f/∂w∂b, the derivative by b of the gradient by w; for a
    scalar f, ``evaluate`` gives the array of shape ``w.shape + b.shape`` whose entry
    (i, j) is ∂²f/∂wᵢ∂bⱼ (in general ``f.shape + w.shape + b.shape``).

    By a variable declared symmetric (``sym``, ``spd``), ``symmetric_gradient`` chooses
    the convention: ``"sym"`` (the gradient on symmetric matrices, (G + Gᵀ)/2) or
    ``"cookbook"`` (the Matrix Cookbook's G + Gᵀ - G ⊙ I); a Hessian differentiates
    that gradient in the same convention. A variable declared ``prob`` cannot be
    differentiated by (DiffError).
    """
    warned = ()  # the parse's warnings, issued and kept on the result
    if isinstance(expr, str):
        from ..parser import parse_reporting
        f, warned = parse_reporting(expr, shapes, dialect)
        for message in warned:
            warn(message)
    elif isinstance(expr, E.Expr):
        f = expr
    else:
        raise DiffError(f"diff() needs an expression (text or Expr), not {type(expr).__name__}")
    if isinstance(order, bool) or order not in ORDERS:
        raise DiffError(f"order must be 1, 2 or 3, not {quote(order)}")
    if simplify not in (True, False, "sympy"):
        raise UsageError(f"simplify must be True, False or 'sympy', not {quote(simplify)}")
    check_symmetric_gradient(symmetric_gradient)
    wrts = _per_order(wrt, order)
    if simplify == "sympy":  # the rule-based pass, then SymPy's on scalar results
        from ..backends.sympy_bridge import simplify_derivative
        return replace(simplify_derivative(diff(f, wrt, shapes, order, dialect, simplify=True,
                                                symmetric_gradient=symmetric_gradient)),
                       warnings=warned)
    vs = [find_wrt(f, w, shapes) for w in wrts]
    # log(sum(exp(x))) is differentiated as logsumexp(x), log(1 + exp(u)) as
    # softplus(u)...: the derivative comes out in the named (and stable) functions
    named = recognize(f) if simplify else f
    first = first_order(named, vs[0], simplify, symmetric_gradient)
    if named is not f:
        first = replace(first, f=f)
    out = first
    for k in range(2, order + 1):
        out = _next_order(f, vs[k - 1], out, k, simplify, symmetric_gradient)
    return replace(out, warnings=warned)


def _per_order(wrt, order: int) -> tuple:
    """The variable to differentiate by at each order: ``wrt`` each time, or (a tuple
    or list: a mixed derivative) its items in turn, one per order."""
    if not isinstance(wrt, (tuple, list)):
        return (wrt,) * order
    if len(wrt) != order:
        shown = ", ".join(str(w) for w in wrt[:4]) + (", ..." if len(wrt) > 4 else "")
        hint = f"pass order={len(wrt)}" if len(wrt) in ORDERS else \
            f"give one variable per order ({', '.join(map(str, ORDERS))})"
        raise DiffError(f"wrt lists {len(wrt)} variables ({shown}) for a derivative of order "
                        f"{order}: a mixed derivative takes one variable per order, "
                        f"so {hint} (for the derivative by each variable, call diff once "
                        f"per variable)")
    return tuple(wrt)


def _next_order(f: E.Expr, v: E.Expr, lower: Derivative, k: int, simplify: bool,
                symmetric_gradient: str) -> Derivative:
    """The derivative of order ``k`` by ``v``: that of the order ``k - 1`` one's
    expression (a derivative, gradient, Jacobian or Hessian; by another variable than
    ``lower``'s, a mixed derivative). A differential has no matrix form to
    differentiate again: DiffError."""
    if lower.kind is Kind.ZERO:
        shape = tuple(lower.shape) + tuple(v.shape)
        return Derivative(f, v, Kind.ZERO, E.zeros(shape) if len(shape) <= 2 else E.ZERO,
                          order=k, of=lower, symmetric_gradient=lower.symmetric_gradient)
    if lower.kind is Kind.DIFFERENTIAL:
        w = lower.wrt
        by = "" if w is v else f" by {v.name}"
        raise DiffError(f"the derivative of order {k - 1} of this {S.describe(f.shape)} by "
                        f"the {S.describe(w.shape)} {w.name} has no matrix form, so order {k}"
                        f"{by} is not available; orders 2 and 3 are for a scalar or a vector "
                        f"(order 2, and a scalar's order 3, by a vector)")
    nxt = first_order(lower.expr, v, simplify, symmetric_gradient)
    return replace(nxt, f=f, order=k, of=lower)