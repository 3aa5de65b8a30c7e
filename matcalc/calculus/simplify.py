"""Rewrite rules applied to a finished derivative, as data: each rule maps a node
(whose children are already simplified) to a better node or None.

The smart constructors of :mod:`matcalc.core.expr` already fold 0, 1 and I, constants,
equal terms and transposes; the rules here are the ones that look across several
terms of a sum, which the constructors leave alone to stay O(1):

- ``factor_left``:  ``A B + A C = A (B + C)``   (so ``xᵀA + xᵀAᵀ = xᵀ(A + Aᵀ)``)
- ``factor_right``: ``B A + C A = (B + C) A``
- ``plain_first``:  in a sum, ``A`` before ``Aᵀ`` (``A + Aᵀ``, as textbooks write it)
- ``pull_transpose``: a row-vector sum ``xᵀ - sᵀAᵀ`` shown as ``(x - As)ᵀ``
- ``symmetric_inverse``: ``(XᵀX)⁻ᵀ = (XᵀX)⁻¹``

A common constant is taken out first (``-AB - AC = -A(B + C)``).
"""
from __future__ import annotations

from typing import Callable, Optional

from ..core import expr as E


def _chain(t: E.Expr) -> tuple:
    return t.args if type(t) is E.MatMul and len(t.args) > 1 else (t,)


def _common_coeff(terms) -> tuple:
    """(c, rests) when every term is ``c ⊙ rest`` with one constant c (-AB - AC)."""
    split = [E._split_coeff(t) for t in terms]
    c = split[0][0]
    if c == 1 or any(r is None or k != c for k, r in split):
        return 1, list(terms)
    return c, [r for _, r in split]


def _factor_out(e: E.Expr, left: bool) -> Optional[E.Expr]:
    """The factor every term of a sum starts with (``left``) or ends with, taken out."""
    if type(e) is not E.Add or len(e.args) < 2:
        return None
    c, terms = _common_coeff(e.args)
    if c != 1:  # -AB - AC = -(A(B + C))
        inner = _factor_out(E._make(E.Add, (), tuple(terms), e.shape), left)
        return None if inner is None else E.scale(c, inner)
    chains = [_chain(t) for t in e.args]
    if any(len(ch) < 2 for ch in chains):
        return None
    common = chains[0][0 if left else -1]
    if common.rank == 0 or any(ch[0 if left else -1] is not common for ch in chains):
        return None
    rest = [E.matmul(*(ch[1:] if left else ch[:-1])) for ch in chains]
    if any(r.shape != rest[0].shape for r in rest) or rest[0].rank == 0:
        return None  # (a 1×1 rest is a scalar: no product to factor it into)
    inner = simplify(E.add(*rest))
    return E.matmul(common, inner) if left else E.matmul(inner, common)


def factor_left(e: E.Expr) -> Optional[E.Expr]:
    """``A B + A C = A (B + C)``."""
    return _factor_out(e, left=True)


def factor_right(e: E.Expr) -> Optional[E.Expr]:
    """``B A + C A = (B + C) A``."""
    return _factor_out(e, left=False)


def plain_first(e: E.Expr) -> Optional[E.Expr]:
    if type(e) is not E.Add:
        return None
    terms = list(e.args)
    for i, t in enumerate(terms):
        if type(t) is E.Transpose and t.arg in terms[i + 1:]:
            j = terms.index(t.arg)
            terms[i], terms[j] = terms[j], terms[i]
            return E._make(E.Add, (), tuple(terms), e.shape)
    return None


def _transposes(e: E.Expr) -> int:
    return sum(1 for n in E.postorder(e) if type(n) is E.Transpose)


def pull_transpose(e: E.Expr) -> Optional[E.Expr]:
    """A row-vector sum ``xᵀ - sᵀAᵀ`` as the textbooks write it, ``(x - As)ᵀ``."""
    if type(e) is not E.Add or e.rank != 2 or e.shape[0] != 1:
        return None
    inner = E.add(*[E.transpose(t) for t in e.args])
    if inner.rank != 1 or type(inner) is not E.Add or _transposes(inner) + 1 >= _transposes(e):
        return None
    return E._make(E.Transpose, (), (inner,), e.shape)


def symmetric_inverse(e: E.Expr) -> Optional[E.Expr]:
    """``(XᵀX)⁻ᵀ = (XᵀX)⁻¹``: a function that keeps symmetry (the inverse) of a
    symmetric matrix is symmetric."""
    if type(e) is E.Transpose and type(e.arg) is E.Call and e.arg.op.keeps_symmetry:
        s = e.arg.args[0]
        if E.transpose(s) is s:
            return e.arg
    return None


RULES: list[Callable[[E.Expr], Optional[E.Expr]]] = [factor_left, factor_right, plain_first,
                                                     pull_transpose, symmetric_inverse]


def simplify(root: E.Expr) -> E.Expr:
    """Apply the rules bottom-up until none fits (each node is visited once)."""
    def fn(node, args):
        new = node if all(a is b for a, b in zip(args, node.args)) else node.rebuild(args)
        for _ in range(8):
            for rule in RULES:
                r = rule(new)
                if r is not None and r is not new:
                    new = r
                    break
            else:
                break
        return new
    return E.transform(root, fn)
