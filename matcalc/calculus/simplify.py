"""Rewrite rules applied to a finished derivative, as data.

Each rule (a ``Rule`` record: name, identity, function) maps a node whose children
are already simplified to a better node, or None. The smart constructors of
:mod:`matcalc.core.expr` already fold 0, 1 and I, constants, equal terms and
factors, transposes and each function's own identities in O(1); the rules here
look across the terms of a sum or the factors of a product, or try a rewrite and
keep it only when it is smaller. docs/simplify.md lists them with their cost.

The rules run bottom-up, to a fixpoint at each node, with a stated limit: at most
``MAX_REWRITES`` rewrites per node and ``MAX_NESTED`` rewrites in a chain (a rule's
result is itself simplified). A rule never returns a larger tree except where it
says so (the textbook order of terms); the whole pass returns its input if the
result came out larger (``tree_size``).
"""
from __future__ import annotations

import weakref
from fractions import Fraction
from typing import Optional

from ..core import expr as E
from ..core import shapes as S
from ..ops import DIAG, MATPOW, MAX, MEAN, RELU, SIGMOID, STEP, SUM, along, base_of
from .recognize import RECOGNIZE, Rewrite as Rule  # one record: name, identity, apply

MAX_REWRITES = 16   # rule applications at one node
MAX_NESTED = 24     # rule results simplified inside rule results
MAX_TERMS = 64      # monomials an element-wise expansion may produce
MAX_VISIT = 256     # nodes an element-wise expansion may look at


_SIZES: "weakref.WeakKeyDictionary[E.Expr, int]" = weakref.WeakKeyDictionary()


def _size(e: E.Expr) -> int:
    """``tree_size(e)``, remembered per node (a rule compares sizes at every node)."""
    got = _SIZES.get(e)
    if got is not None:
        return got
    stack = [e]
    while stack:
        n = stack[-1]
        todo = [a for a in n.args if a not in _SIZES]
        if todo:
            stack.extend(todo)
            continue
        stack.pop()
        _SIZES[n] = 1 + sum(_SIZES[a] for a in n.args)
    return _SIZES[e]


def _smaller(new: E.Expr, old: E.Expr) -> Optional[E.Expr]:
    return new if new is not old and _size(new) < _size(old) else None


def _terms(e: E.Expr) -> tuple:
    return e.args if type(e) is E.Add else (e,)


def _chain(t: E.Expr) -> tuple:
    return t.args if type(t) is E.MatMul and len(t.args) > 1 else (t,)


# ------------------------------------------------------------ sums of products

def _factor_out(e: E.Expr, left: bool) -> Optional[E.Expr]:
    """The factor every term of a sum starts with (``left``) or ends with, taken out;
    each term keeps its own constant: ``AB − 2AC = A(B − 2C)``."""
    if type(e) is not E.Add or len(e.args) < 2 or e.rank == 0:
        return None
    split = [E._split_coeff(t) for t in e.args]
    if any(r is None for _, r in split):
        return None
    chains = [_chain(r) for _, r in split]
    if any(len(ch) < 2 for ch in chains):
        return None
    common = chains[0][0 if left else -1]
    if common.rank == 0 or any(ch[0 if left else -1] is not common for ch in chains):
        return None
    cs = [c for c, _ in split]
    g = cs[0] if all(c == cs[0] for c in cs) else -1 if all(c < 0 for c in cs) else 1
    rest = [E.scale(c / g, E.matmul(*(ch[1:] if left else ch[:-1])))
            for c, ch in zip(cs, chains)]
    if any(r.shape != rest[0].shape for r in rest) or rest[0].rank == 0:
        return None  # (a 1×1 rest is a scalar: no product to factor it into)
    inner = E.add(*rest)
    return E.scale(g, E.matmul(common, inner) if left else E.matmul(inner, common))


def factor_left(e):
    """``A B + c A C = A (B + c C)``"""
    return _factor_out(e, left=True)


def factor_right(e):
    """``B A + c C A = (B + c C) A``"""
    return _factor_out(e, left=False)


def common_constant(e):
    """``c a + c b = c (a + b)``, ``c a − c b = c (a − b)`` (one constant, |c| ≠ 1)"""
    if type(e) is not E.Add:
        return None
    split = [E._split_coeff(t) for t in e.args]
    c = abs(split[0][0])
    if c in (0, 1) or any(r is None or abs(k) != c for k, r in split):
        return None
    if all(k < 0 for k, _ in split):
        c = -c
    return E.scale(c, E.add(*[E.scale(k / c, r) for k, r in split]))


def _factors(t: E.Expr) -> tuple[Fraction, dict]:
    """``t`` as (constant, {base: exponent}) over its element-wise factors."""
    c, r = E._split_coeff(t)
    out: dict = {}
    for f in (() if r is None else r.args if type(r) is E.Mul else (r,)):
        b, k = E._base_exp(f)
        out[b] = out.get(b, 0) + k
    return c, out


def common_factor(e):
    """``x/m − y/m = (x − y)/m``, ``s𝟏 ⊙ x + s𝟏 ⊙ y = s𝟏 ⊙ (x + y)``"""
    if type(e) is not E.Add:
        return None
    split = [_factors(t) for t in e.args]
    common = {}
    for b, k in split[0][1].items():
        ks = [f.get(b) for _, f in split]
        # a common divisor or an expanded scalar (x/m − y/m, s ⊙ x + s ⊙ y); a common
        # factor such as x in 2x sin(x) + x² cos(x) stays, as textbooks write it
        # (and an axis-wise function: S ⊙ (G − s𝟏ᵀ), the row-wise softmax's product)
        if (k < 0 or type(b) is E.Expand or type(b) is E.Call and b.op.axis is not None) \
                and all(x is not None and (x > 0) == (k > 0) for x in ks):
            common[b] = min(ks, key=abs)
    if not common:
        return None
    shape = S.resolved(e.shape)
    terms = []
    for c, f in split:
        rest = [E.power(b, E.num(k - common.get(b, 0))) for b, k in f.items()]
        terms.append(E.scale(c, E.mul(*rest) if rest else E.constant(1, shape)))
    out = E.mul(*[E.power(b, E.num(k)) for b, k in common.items()], E.add(*terms))
    return _smaller(out, e)


def positive_first(e):
    """``−y + s p`` written ``s p − y`` (the terms with a plus sign first, in order)"""
    if type(e) is not E.Add:
        return None
    pos = [t for t in e.args if E._split_coeff(t)[0] > 0]
    terms = tuple(pos) + tuple(t for t in e.args if E._split_coeff(t)[0] <= 0)
    if not pos or terms == e.args:
        return None
    return E._make(E.Add, (), terms, e.shape)


def _minus_signs(e: E.Expr, sign: int = 1) -> int:
    """How many terms of a sum print with a minus (``y − (a + b)`` has two)."""
    out = 0
    for t in _terms(e):
        c, r = E._split_coeff(t)
        s = sign if c > 0 else -sign
        out += _minus_signs(r, s) if type(r) is E.Add else (s < 0)
    return out


def _negate_one(e: E.Expr) -> Optional[E.Expr]:
    """``e`` with one sum that is a factor of it (through products, transposes and
    linear functions) negated where that leaves fewer minus signs in it, or None."""
    t = type(e)
    if t is E.Add:
        flipped = E.add(*[E.neg(a) for a in e.args])
        return flipped if _minus_signs(flipped) < _minus_signs(e) else None
    if t is E.Mul or t is E.MatMul:
        for i, f in enumerate(e.args):
            if E.const_value(f) is None:
                r = _negate_one(f)
                if r is not None:
                    return e.rebuild(e.args[:i] + (r,) + e.args[i + 1:])
        return None
    if t is E.Transpose or t is E.Call and e.op.linear and len(e.args) == 1:
        r = _negate_one(e.args[0])  # (−a)ᵀ = −aᵀ, sum(−a) = −sum(a)
        return None if r is None else e.rebuild((r,))
    return None


def negate_difference(e):
    """``−c (… (a − b) …) = c (… (b − a) …)`` where that is shorter"""
    c, r = E._split_coeff(e)
    if c >= 0 or r is None or type(r) is E.Add:
        return None
    flipped = _negate_one(r)
    return None if flipped is None else _smaller(E.scale(-c, flipped), e)


def _diag_arg(t: E.Expr):
    """(c, x) when ``t`` is ``c diag(x)``, else None."""
    c, r = E._split_coeff(t)
    if r is not None and type(r) is E.Call and r.op is DIAG:
        return c, r.args[0]
    return None


def merge_diag(e):
    """``diag(a) + c diag(b) = diag(a + c b)``"""
    if type(e) is not E.Add:
        return None
    found = [(i, _diag_arg(t)) for i, t in enumerate(e.args)]
    found = [(i, d) for i, d in found if d is not None]
    if len(found) < 2:
        return None
    merged = E.call(DIAG, E.add(*[E.scale(c, x) for _, (c, x) in found]))
    others = [t for i, t in enumerate(e.args) if i not in {i for i, _ in found}]
    return E.add(merged, *others)


def diag_of_constant(e):
    """``diag(c 𝟏) = c I``"""
    if type(e) is E.Call and e.op is DIAG:
        x = e.args[0]
        c, r = E._split_coeff(x)
        if r is None or type(r) is E.Expand and r.arg.rank == 0:
            n = S.resolve(x.shape[0])
            s = E.num(c) if r is None else E.scale(c, r.arg)
            return E.mul(E.expand(s, (n, n)), E.eye(n))
    return None


def _is_scaled_identity(t: E.Expr) -> bool:
    _, r = E._split_coeff(t)
    return r is not None and (type(r) is E.Eye or type(r) is E.Mul and any(
        type(f) is E.Eye for f in r.args))


def identity_last(e):
    """``c I + A`` written ``A + c I``, as textbooks write ``XᵀX + λI``"""
    if type(e) is not E.Add or e.rank != 2:
        return None
    terms = list(e.args)
    if _is_scaled_identity(terms[-1]) or not any(_is_scaled_identity(t) for t in terms):
        return None
    return E._make(E.Add, (), tuple([t for t in terms if not _is_scaled_identity(t)]
                                     + [t for t in terms if _is_scaled_identity(t)]),
                   e.shape)


def plain_first(e):
    """``Aᵀ + A`` written ``A + Aᵀ``"""
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


def pull_transpose(e):
    """``xᵀ − sᵀAᵀ = (x − As)ᵀ``, ``XᵀBᵀ + BᵀXᵀ = (BX + XB)ᵀ``: one transpose outside
    a sum instead of one in each term"""
    if type(e) is not E.Add or e.rank != 2:
        return None
    inner = E.add(*[E.transpose(t) for t in e.args])
    if type(inner) is not E.Add or _transposes(inner) + 1 >= _transposes(e):
        return None
    return E._make(E.Transpose, (), (inner,), e.shape)


def symmetric_inverse(e):
    """``(XᵀX)⁻ᵀ = (XᵀX)⁻¹``: the inverse of a symmetric matrix is symmetric"""
    if type(e) is E.Transpose and type(e.arg) is E.Call and e.arg.op.keeps_symmetry:
        s = e.arg.args[0]
        if E.transpose(s) is s:
            return e.arg
    return None


# ------------------------------------------------------------------ reductions

def _total(t: E.Expr) -> E.Expr:
    """``sum(t)``, with ``mean(x)`` written ``sum(x)/numel(x)`` so that the terms of
    ``sum(x − mean(x))`` can cancel."""
    s = E.call(SUM, t)
    means = [n for n in E.postorder(s) if type(n) is E.Call and n.op is MEAN]
    if not means:
        return s
    return E.substitute(s, {m: E.div(E.call(SUM, m.args[0]), _numel(m.args[0].shape))
                            for m in means})


def _numel(shape) -> E.Expr:
    return E.mul(E.ONE, *[E.size(S.resolve(d)) for d in shape])


def _total_along(t: E.Expr, axis: int) -> E.Expr:
    """``sum(t, axis=axis)``, with ``mean(x, axis=axis)`` written as the sum over the
    count, so that the terms of ``sum(X − mean(X, axis=0), axis=0)`` cancel."""
    s = E.call(along(SUM, axis), t)
    mean = along(MEAN, axis)
    # the means that scale the term itself (a broadcast mean summed back: n mean(X))
    means = [n for n in (s.args if type(s) is E.Mul else (s,))
             if type(n) is E.Call and n.op is mean]
    return E.substitute(s, {m: E.div(E.call(along(SUM, axis), m.args[0]),
                                     E.expand(E.size(S.resolve(m.args[0].shape[axis])),
                                              m.shape))
                            for m in means}) if means else s


def ones_product(e):
    """``A𝟏 = sum(A, axis=1)``, ``Aᵀ𝟏 = sum(A, axis=0)`` (the row and column sums)"""
    if type(e) is not E.MatMul or len(e.args) != 2 or e.rank != 1:
        return None
    a, one = e.args
    if one.rank != 1 or E.const_value(one) != 1 or a.rank != 2:
        return None
    if type(a) is E.Transpose:
        return E.call(along(SUM, 0), a.arg)
    return E.call(along(SUM, 1), a)


def collect_linear(e):
    """``sum(A, axis=0) − sum(B, axis=0) = sum(A − B, axis=0)`` (a linear function of
    each term, taken once)"""
    if type(e) is not E.Add:
        return None
    split = [E._split_coeff(t) for t in e.args]
    ops = {r.op for _, r in split if type(r) is E.Call}
    if len(ops) != 1 or any(type(r) is not E.Call for _, r in split):
        return None
    op = ops.pop()
    b = base_of(op)
    if b is None or b[0] is not SUM:
        return None
    return _smaller(E.call(op, E.add(*[E.scale(c, r.args[0]) for c, r in split])), e)


def reduce_sum(e):
    """``sum(a + b) = sum(a) + sum(b)`` where terms cancel (``sum(x − mean(x)) = 0``,
    and along an axis: ``sum(X − mean(X, axis=0), axis=0) = 0``)"""
    if type(e) is not E.Call or type(e.args[0]) is not E.Add:
        return None
    x = e.args[0]
    if e.op in (SUM, MEAN):
        total = E.add(*[_total(t) for t in x.args])
        if e.op is MEAN:
            total = E.div(total, _numel(x.shape))
        return _smaller(total, e)
    b = base_of(e.op)
    if b is not None and b[0] in (SUM, MEAN):
        total = E.add(*[_total_along(t, b[1]) for t in x.args])
        if b[0] is MEAN:
            total = E.div(total, E.expand(E.size(S.resolve(x.shape[b[1]])), total.shape))
        # the sums of the terms may cancel in turn (sum(c ⊙ (X − mean(X)), axis=1) is
        # c ⊙ sum(X − mean(X), axis=1) = 0)
        return _smaller(simplify(total, (_REDUCE,)), e)
    return None


# ---------------------------------------------------------- element-wise algebra

def _negated(e: E.Expr) -> Optional[E.Expr]:
    c, r = E._split_coeff(e)
    return E.neg(e) if c < 0 and r is not None else None


class _TooBig(Exception):
    pass


def _poly(e: E.Expr, budget: list) -> dict:
    """``e`` as a polynomial: {frozenset((atom, power)...): coefficient}. Atoms are the
    nodes that are not element-wise arithmetic; ``σ(−u)`` is ``1 − σ(u)``."""
    budget[0] -= 1  # budget = [nodes left to visit, something cancelled]
    if budget[0] < 0:
        raise _TooBig
    c = E.const_value(e)
    if c is not None:
        return {frozenset(): c}
    t = type(e)
    if t is E.Add:
        out: dict = {}
        for a in e.args:
            for m, k in _poly(a, budget).items():
                budget[1] |= m in out
                out[m] = out.get(m, 0) + k
        return {m: k for m, k in out.items() if k != 0}
    if t is E.Mul:
        out = {frozenset(): Fraction(1)}
        for a in e.args:
            out = _times(out, _poly(a, budget), budget)
        return out
    if t is E.Pow:
        k = E.const_value(e.exp)
        if k is not None and k.denominator == 1:
            base = _poly(e.base, budget)
            if len(base) == 1:  # a monomial: powers of its atoms
                (m, c), = base.items()
                ck = E._exact_pow(c, k)
                if ck is not None and (c == 1 or k > 0):
                    return {frozenset((a, p * k) for a, p in m): ck}
                return {frozenset([(e, Fraction(1))]): Fraction(1)}
            if 0 < k <= 4:
                out = {frozenset(): Fraction(1)}
                for _ in range(int(k)):
                    out = _times(out, base, budget)
                return out
    if t is E.Call and e.op is SIGMOID:
        u = _negated(e.args[0])
        if u is not None:
            return {frozenset(): Fraction(1), frozenset([(E.call(SIGMOID, u), 1)]): -1}
    return {frozenset([(e, Fraction(1))]): Fraction(1)}


def _times(p: dict, q: dict, budget: list) -> dict:
    out: dict = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            powers = dict(m1)
            for a, k in m2:
                powers[a] = powers.get(a, 0) + k
                budget[1] |= powers[a] == 0  # p⁻¹ ⊙ p
            m = frozenset((a, k) for a, k in powers.items() if k != 0)
            budget[1] |= m in out
            out[m] = out.get(m, 0) + c1 * c2
            if len(out) > MAX_TERMS:
                raise _TooBig
    return {m: c for m, c in out.items() if c != 0}


def _from_poly(p: dict, shape: tuple) -> E.Expr:
    terms = []
    for m, c in p.items():
        factors = [E.power(a, E.num(k)) if k != 1 else a for a, k in m]
        base = E.mul(*factors) if factors else E.constant(1, shape)
        terms.append(E.scale(c, base))
    if not terms:
        return E.zeros(shape)
    return E.add(*terms)


def expand_collect(e):
    """Multiply out and collect, kept where smaller: ``(a ⊘ p + s) ⊙ p = a + s p``,
    ``y ⊙ t + (1 − y) ⊙ t = t``, ``y ⊙ σ(−u) − (1 − y) ⊙ σ(u) = y − σ(u)``"""
    if type(e) not in (E.Add, E.Mul):
        return None
    budget = [MAX_VISIT, False]
    try:
        p = _poly(e, budget)
    except _TooBig:
        return None
    if not budget[1]:  # nothing cancelled: the factored form, as written, reads better
        return None
    return _smaller(_from_poly(p, S.resolved(e.shape)), e)


def _relu_arg(e: E.Expr) -> Optional[E.Expr]:
    """z when ``e`` is ``max(0, z)``, ``max(z, 0)`` or ``relu(z)``."""
    if type(e) is E.Call and e.op is RELU:
        return e.args[0]
    if type(e) is E.Call and e.op is MAX:
        a, b = e.args
        return b if E.is_zero(a) else a if E.is_zero(b) else None
    return None


def _elementwise_replace(e: E.Expr, mapping: dict) -> E.Expr:
    """``e`` with the nodes of ``mapping`` replaced where they are reached through
    element-wise operations only (sums, products, powers of the same shape)."""
    if e in mapping:
        return mapping[e]
    if type(e) in (E.Add, E.Mul) or type(e) is E.Pow and e.exp.rank == 0:
        args = [_elementwise_replace(a, mapping) if a.shape == e.shape else a
                for a in e.args]
        if any(a is not b for a, b in zip(args, e.args)):
            return e.rebuild(args)
    return e


def relu_times_step(e):
    """``max(0, z) ⊙ [z > 0] = z ⊙ [z > 0]`` (where the step is 0, so is the product)"""
    if type(e) is not E.Mul:
        return None
    steps = [f.args[0] for f in e.args if type(f) is E.Call and f.op is STEP]
    if not steps:
        return None
    relus = {n: _relu_arg(n) for f in e.args for n in E.postorder(f)}
    mapping = {n: z for n, z in relus.items() if z is not None and z in steps}
    if not mapping:
        return None
    out = E.mul(*[f if type(f) is E.Call and f.op is STEP else
                  _elementwise_replace(f, mapping) for f in e.args])
    return out if out is not e else None


def iverson_power(e):
    """``[z > 0]ᵏ = [z > 0]`` for k > 0 (an Iverson bracket is 0 or 1)"""
    if type(e) is E.Pow and type(e.base) is E.Call and e.base.op is STEP:
        k = E.const_value(e.exp)
        if k is not None and k > 0:
            return e.base
    return None


def repeated_factors(e):
    """``A A A = A³``, ``AᵀAᵀAᵀAᵀ = (A⁴)ᵀ``: a run of one factor as a matrix power"""
    if type(e) is not E.MatMul:
        return None
    out, i, args = [], 0, e.args
    while i < len(args):
        j = i
        while j + 1 < len(args) and args[j + 1] is args[i]:
            j += 1
        f = args[i]
        square = f.rank == 2 and S.same_dim(f.shape[0], f.shape[1])
        out.append(E.call(MATPOW, f, E.num(j - i + 1)) if j > i and square else f)
        out.extend([f] * (j - i) if j > i and not square else [])
        i = j + 1
    return E.matmul(*out) if len(out) < len(args) else None


_REDUCE = Rule("reduce_sum", reduce_sum.__doc__, reduce_sum)

RULES: tuple[Rule, ...] = RECOGNIZE + tuple(
    Rule(f.__name__, f.__doc__, f) for f in (
        relu_times_step, iverson_power, repeated_factors, diag_of_constant, merge_diag, reduce_sum,
        ones_product, collect_linear, expand_collect, common_factor,
        factor_left, factor_right, common_constant, negate_difference, plain_first,
        positive_first,
        identity_last, pull_transpose, symmetric_inverse))


def simplify(root: E.Expr, rules: tuple[Rule, ...] = RULES) -> E.Expr:
    """Apply ``rules`` bottom-up, to a fixpoint at each node (within the limits above).

    A rule's result is simplified in turn (its new sub-trees too); each distinct node
    is simplified once (memo), so a DAG costs its number of nodes, not its tree size.
    """
    memo: dict = {}

    def at(node: E.Expr, nested: int) -> E.Expr:
        """``node`` (children simplified) with the rules applied to a fixpoint."""
        new = node
        for _ in range(MAX_REWRITES):
            for rule in rules:
                r = rule.apply(new)
                if r is not None and r is not new:
                    new = walk(r, nested + 1) if nested < MAX_NESTED else r
                    break
            else:
                break
        return new

    def walk(top: E.Expr, nested: int) -> E.Expr:
        stack = [(top, False)]
        while stack:
            n, done = stack.pop()
            if n in memo:
                continue
            if not done:
                stack.append((n, True))
                stack.extend((a, False) for a in reversed(n.args) if a not in memo)
                continue
            args = tuple(memo[a] for a in n.args)
            new = n if all(a is b for a, b in zip(args, n.args)) else n.rebuild(args)
            if new is not n and new in memo:
                memo[n] = memo[new]
                continue
            memo[n] = out = at(new, nested)
            memo.setdefault(new, out)
        return memo[top]

    out = walk(root, 0)
    return out if _size(out) <= _size(root) else root
