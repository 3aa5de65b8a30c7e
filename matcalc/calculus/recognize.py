"""The naive spellings of the functions deep learning uses, recognised as those
functions, and the stable forms evaluation uses.

``log(sum(exp(x)))`` is ``logsumexp(x)``, ``exp(x)/sum(exp(x))`` is ``softmax(x)``,
``log(1 + exp(u))`` is ``softplus(u)``, ``1/(1 + exp(-u))`` is ``σ(u)``. Written out,
they overflow where a classifier is confident (``exp(800)``); as the named
functions, each has an implementation that does not (max shifted out, sign split).
So :func:`recognize` runs before differentiation (the derivative comes out in the
named functions: ``∇ logsumexp = softmax``, ``softplus' = σ``), and
:func:`stabilize` runs before every evaluation and every code target; it adds
rewrites that change only how a value is computed, not what is printed
(``1 − σ(u)`` is evaluated as ``σ(−u)``, which keeps its precision for large u).

Each rewrite is a record (``Rewrite``): its identity, and a function from a node,
whose children are already rewritten, to the new node or None. The identities hold
wherever the left side is defined.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Callable, Optional

from ..core import expr as E
from ..ops import ABS, EXP, LOG, LOGSUMEXP, SIGMOID, SOFTMAX, SOFTPLUS, SUM, TANH, along, base_of

Rule = Callable[[E.Expr], Optional[E.Expr]]


@dataclass(frozen=True)
class Rewrite:
    name: str
    identity: str  # the mathematics, as docs/simplify.md shows it
    apply: Rule


def _is(e: E.Expr, op) -> bool:
    return type(e) is E.Call and e.op is op


def _one_plus(e: E.Expr) -> Optional[E.Expr]:
    """``t`` when ``e`` is ``1 + t`` (1 expanded or not), else None."""
    if type(e) is E.Add and len(e.args) == 2 and E.const_value(e.args[0]) == 1:
        return e.args[1]
    return None


def _one_minus(e: E.Expr) -> Optional[E.Expr]:
    """``t`` when ``e`` is ``1 - t``, else None."""
    t = _one_plus(e)
    if t is None:
        return None
    c, rest = E._split_coeff(t)
    return rest if c == -1 and rest is not None else None


def _log_of(e: E.Expr) -> Optional[E.Expr]:
    return e.args[0] if _is(e, LOG) else None


def _along(e: E.Expr, op) -> Optional[int]:
    """The axis of ``e`` if it is ``op`` along an axis (sum(X, axis=1): 1), else None."""
    b = base_of(e.op) if type(e) is E.Call else None
    return b[1] if b is not None and b[0] is op else None


def log_sum_exp(e):
    """``log(sum(exp(x))) = logsumexp(x)``, and along an axis"""
    x = _log_of(e)
    if x is not None and _is(x, SUM) and _is(x.args[0], EXP) and x.args[0].rank == 1:
        return E.call(LOGSUMEXP, x.args[0].args[0])
    axis = None if x is None else _along(x, SUM)
    if axis is not None and _is(x.args[0], EXP):
        return E.call(along(LOGSUMEXP, axis), x.args[0].args[0])
    return None


def log_one_plus_exp(e):
    """``log(1 + exp(u)) = softplus(u)``"""
    x = _log_of(e)
    t = None if x is None else _one_plus(x)
    if t is not None and _is(t, EXP):
        return E.call(SOFTPLUS, t.args[0])
    return None


def log_sigmoid(e):
    """``log(σ(u)) = −softplus(−u)``, ``log(1 − σ(u)) = −softplus(u)``"""
    x = _log_of(e)
    if x is None:
        return None
    if _is(x, SIGMOID):
        return E.neg(E.call(SOFTPLUS, E.neg(x.args[0])))
    t = _one_minus(x)
    if t is not None and _is(t, SIGMOID):
        return E.neg(E.call(SOFTPLUS, t.args[0]))
    return None


def log_softmax(e):
    """``log(softmax(z)) = z − logsumexp(z) 𝟏``"""
    x = _log_of(e)
    if x is not None and _is(x, SOFTMAX):
        z = x.args[0]
        return E.sub(z, E.expand(E.call(LOGSUMEXP, z), z.shape))
    axis = None if x is None else _along(x, SOFTMAX)
    if axis is not None:  # row-wise: Z − logsumexp(Z, axis=1) 𝟏ᵀ
        z = x.args[0]
        return E.sub(z, E.expand(E.call(along(LOGSUMEXP, axis), z), z.shape, axis))
    return None


def log_exp(e):
    """``log(exp(u)) = u``"""
    x = _log_of(e)
    return x.args[0] if x is not None and _is(x, EXP) else None


def reciprocal_one_plus_exp(e):
    """``1/(1 + exp(w)) = σ(−w)`` (so ``1/(1 + exp(−u)) = σ(u)``)"""
    if type(e) is E.Pow:
        k = E.const_value(e.exp)
        t = _one_plus(e.base)
        if k is not None and k < 0 and k.denominator == 1 and t is not None and _is(t, EXP):
            s = E.call(SIGMOID, E.neg(t.args[0]))
            return s if k == -1 else E.power(s, E.num(-k))
    return None


def exp_times_sigmoid(e):
    """``exp(w)^k ⊙ σ(−w)^k = σ(w)^k`` (so ``exp(u)/(1 + exp(u)) = σ(u)``)"""
    if type(e) is not E.Mul:
        return None
    factors = list(e.args)
    powers = [E._base_exp(f) for f in factors]
    for i, (b, k) in enumerate(powers):
        if not _is(b, EXP):
            continue
        partner = E.call(SIGMOID, E.neg(b.args[0]))
        for j, (b2, k2) in enumerate(powers):
            if b2 is partner and k2 == k:
                s = E.call(SIGMOID, b.args[0])
                factors[i] = s if k == 1 else E.power(s, E.num(k))
                del factors[j]
                return E.mul(*factors)
    return None


def _exp_sum_pair(e: E.Expr):
    """In a product: the index of ``exp(x)`` (or ``exp(x)ᵀ``) and of the expanded scalar
    holding ``sum(exp(x))⁻¹``, with x."""
    for i, f in enumerate(e.args):
        g = f.arg if type(f) is E.Transpose else f
        if not _is(g, EXP) or g.rank != 1:
            continue
        target = E.call(SUM, g)
        for j, s in enumerate(e.args):
            if type(s) is E.Expand and s.arg.rank == 0:
                inner = s.arg.args if type(s.arg) is E.Mul else (s.arg,)
                for k, q in enumerate(inner):
                    if E._base_exp(q) == (target, -1):
                        rest = inner[:k] + inner[k + 1:]
                        return i, j, g.args[0], rest
    return None


def _rowwise_softmax(e: E.Expr) -> Optional[E.Expr]:
    """``exp(Z) ⊘ sum(exp(Z), axis=a)`` spread along a: ``softmax(Z, axis=a)``."""
    for i, f in enumerate(e.args):
        if not _is(f, EXP) or f.rank != 2:
            continue
        for j, s in enumerate(e.args):
            if type(s) is E.Expand and s.arg.rank == 1:
                target = E.call(along(SUM, s.axis), f)
                if E._base_exp(s.arg) == (target, -1):
                    factors = [g for k, g in enumerate(e.args) if k not in (i, j)]
                    return E.mul(E.call(along(SOFTMAX, s.axis), f.args[0]), *factors)
    return None


def softmax(e):
    """``exp(x) / sum(exp(x)) = softmax(x)``, and along an axis"""
    if type(e) is not E.Mul:
        return None
    if e.rank == 2:
        found = _rowwise_softmax(e)
        if found is not None:
            return found
    found = _exp_sum_pair(e)
    if found is None:
        return None
    i, j, x, rest = found
    sm = E.call(SOFTMAX, x)
    factors = list(e.args)
    factors[i] = E.transpose(sm) if type(factors[i]) is E.Transpose else sm
    if rest:
        factors[j] = E.expand(E.mul(*rest), e.shape)
    else:
        del factors[j]
    return E.mul(*factors)


def one_minus_sigmoid(e):
    """``1 − σ(u) = σ(−u)`` (evaluated so: no cancellation where σ(u) ≈ 1)"""
    t = _one_minus(e)
    if t is not None and _is(t, SIGMOID):
        return E.call(SIGMOID, E.neg(t.args[0]))
    return None


def one_minus_tanh_squared(e):
    """``1 − tanh(u)² = 4e ⊘ (1 + e)²`` with ``e = exp(−2|u|)`` (evaluated so: at u = 20,
    ``1 − tanh²`` is 0 in float64, the true value 1.7e-17; one exp, no overflow)"""
    t = _one_minus(e)
    if t is not None and type(t) is E.Pow and E.const_value(t.exp) == 2 \
            and _is(t.base, TANH):
        ex = E.call(EXP, E.scale(-2, E.call(ABS, t.base.args[0])))
        return E.scale(4, E.div(ex, E.power(E.add(E.ones(ex.shape) if ex.rank else E.ONE,
                                                   ex), E.num(2))))
    return None


# Recognised before differentiating and when simplifying a result.
RECOGNIZE: tuple[Rewrite, ...] = tuple(
    Rewrite(f.__name__, f.__doc__, f) for f in (
        log_sum_exp, log_one_plus_exp, log_sigmoid, log_softmax, log_exp,
        reciprocal_one_plus_exp, exp_times_sigmoid, softmax))

# Used for evaluation and code only: same value, computed without cancellation.
STABLE: tuple[Rewrite, ...] = RECOGNIZE + tuple(
    Rewrite(f.__name__, f.__doc__, f) for f in (one_minus_sigmoid, one_minus_tanh_squared))

_LIMIT = 8  # rewrites of one node before giving up (each one is a different identity)


def rewrite(root: E.Expr, rules: tuple[Rewrite, ...]) -> E.Expr:
    """Apply ``rules`` bottom-up, each node once (a DAG stays a DAG), re-examining a
    node a rule has produced up to ``_LIMIT`` times."""
    def fn(node, args):
        new = node if all(a is b for a, b in zip(args, node.args)) else node.rebuild(args)
        for _ in range(_LIMIT):
            for r in rules:
                out = r.apply(new)
                if out is not None and out is not new:
                    new = out
                    break
            else:
                break
        return new
    return E.transform(root, fn)


def recognize(e: E.Expr) -> E.Expr:
    """``e`` with the naive spellings of softmax, logsumexp, sigmoid and softplus named."""
    return rewrite(e, RECOGNIZE)


# Nodes are immutable and interned: a node's stable form is computed once.
_STABLE: "weakref.WeakKeyDictionary[E.Expr, E.Expr]" = weakref.WeakKeyDictionary()


def stabilize(e: E.Expr) -> E.Expr:
    """``e`` as it is best evaluated: recognised, and ``1 − σ(u)`` as ``σ(−u)``."""
    out = _STABLE.get(e)
    if out is None:
        out = _STABLE[e] = rewrite(e, STABLE)
    return out
