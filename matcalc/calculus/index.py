"""Every derivative in index (Einstein) notation, and as the linear map it is.

The numeric contract's tensor ``T = ∂f/∂V`` has the indices of ``f`` first, then
those of ``V`` (then of ``V`` again, once per further order; of each variable in
turn for a mixed derivative). Its index form is a
sum of terms, each a product of a constant, *factors* (expressions free of the
tangent, each with one index per axis) and Kronecker deltas::

    ∂fᵢ/∂Wⱼₖ = (1 - tanh²(Wx))ᵢ δᵢⱼ xₖ

An index on the left (a *free* index) is never summed, even where a term repeats
it (a Hadamard product: ``∂(X ⊙ X)ᵢⱼ/∂Xₖₗ = 2 Xᵢⱼ δᵢₖ δⱼₗ``); every other index
is summed over its range (Einstein's convention).

The form is read off the derivative as a linear map (:func:`jvp_expr`, the
tangent ``dV`` ↦ ``df``): each node kind on the path of ``dV`` has one rule below
(a linear function's is its ``Op.index`` spec, einsum-like: ``"ii->"`` for the
trace), the tangent's indices become ``V``'s (renaming a summed index, or a
delta), and a delta over a summed index is eliminated. A part free of the tangent
is kept whole as a factor (``(1 - tanh²(Wx))ᵢ``), except for the structure that
indices say better: products, transposes, broadcasts, identities and diagonal
matrices.

:func:`vjp_expr` is the adjoint map (the cotangent ``G`` of f ↦ that of ``V``):
the gradient of ``⟨G, f⟩``, which never forms the tensor.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from ..core import expr as E
from ..core import shapes as S
from ..errors import DiffError, LimitError
from .jvp import tangent_of
from .result import Derivative, Kind
from .. import ops
from .transpose import adjoint, fit, linear_nodes

# The letters indices are written with: those with a Unicode subscript, in the
# usual order (the free ones first: fᵢ, ∂/∂xⱼ), then numbered ones.
LETTERS = ("i", "j", "k", "l", "m", "n", "p", "r", "s", "t", "u", "v", "a", "h")
MAX_TERMS = 256     # terms of one index form (a product of sums multiplies them)


# ------------------------------------------------------------------ the form

@dataclass(frozen=True)
class Factor:
    """An expression free of the tangent with one index per axis (None for an axis
    of literal size 1, which takes no index)."""
    expr: E.Expr
    indices: tuple


@dataclass(frozen=True)
class Term:
    """``coeff · Π factors · Π δ``; ``sizes`` gives every index's dimension."""
    coeff: Fraction
    factors: tuple
    deltas: tuple          # pairs of indices
    sizes: tuple           # (index, dimension) for every index of the term

    def summed(self, free: tuple) -> list:
        """The indices summed over (those not free), in order of appearance."""
        seen = [i for f in self.factors for i in f.indices if i is not None]
        seen += [i for pair in self.deltas for i in pair]
        out: list = []
        for i in seen:
            if i not in free and i not in out:
                out.append(i)
        return out


@dataclass(frozen=True)
class IndexForm:
    """``T[f_indices + wrt_indices] = Σ terms``. ``f_indices`` are those of ``f``
    itself; ``wrt_indices`` one tuple per order (each the indices of that order's
    variable, ``V`` each time but in a mixed derivative)."""
    derivative: Derivative
    f_indices: tuple
    wrt_indices: tuple
    terms: tuple

    @property
    def free(self) -> tuple:
        """The indices of ``T`` in the numeric contract's order (None for an axis of
        literal size 1)."""
        return tuple(self.f_indices) + tuple(i for w in self.wrt_indices for i in w)

    def text(self, ascii: bool = False) -> str:
        from ..printing.index import index_text
        return index_text(self, ascii)

    def latex(self) -> str:
        from ..printing.index import index_latex
        return index_latex(self)

    def to_dict(self) -> dict:
        from ..printing.index import index_dict
        return index_dict(self)

    def __str__(self) -> str:
        return self.text()

    def evaluate(self, values):
        """The tensor at ``values`` by einsum over the factors' values (the numeric
        contract's shape): a check of the form independent of the matrix algebra."""
        from ..backends.numeric import evaluate_index_form
        return evaluate_index_form(self, values)


# ------------------------------------------------------------ the linear maps

def jvp_expr(d: Derivative) -> E.Expr:
    """``df`` as an expression linear in the tangent ``dV`` (:func:`tangent_of`),
    of ``f``'s shape (for a Hessian, the gradient's), whatever the kind of ``d``."""
    dv = tangent_of(d.wrt)
    fshape = tuple(d.f_shape)
    if d.kind is Kind.ZERO:
        return E.zeros(fshape) if len(fshape) <= 2 else E.ZERO
    if d.kind is Kind.DIFFERENTIAL:
        return d.expr
    if d.kind is Kind.GRADIENT:  # df = ⟨G, dV⟩
        g = d.expr
        inner = E.matmul(E.transpose(dv), g) if dv.rank == 1 else \
            E.call(ops.SUM, E.mul(g, dv))
        return fit(inner, fshape)
    if d.kind is Kind.JACOBIAN:  # df = J dv
        return fit(E.matmul(d.expr, dv), fshape)
    # by a scalar: df = D dv
    return E.mul(d.expr, E.expand(dv, d.expr.shape)) if d.expr.rank else E.mul(d.expr, dv)


def cotangent(d: Derivative) -> E.Expr:
    """The cotangent variable of ``f`` (for a Hessian, of the gradient): ``G``,
    named apart from the variables of ``f``."""
    taken = {v.name for v in E.variables(d.f)} | {d.wrt.name}
    name = "G"
    while name in taken:
        name += "_"
    return E.var(name, tuple(d.f_shape))


def vjp_expr(d: Derivative, simplify: bool = True) -> E.Expr:
    """The adjoint map: ``G`` ↦ the cotangent of ``V``, with ``⟨G, df⟩ = ⟨vjp(G), dV⟩``,
    an expression of ``V``'s shape in the variable :func:`cotangent`."""
    from .simplify import simplify as tidy
    dv = tangent_of(d.wrt)
    if d.kind is Kind.ZERO:
        return E.zeros(d.wrt.shape) if d.wrt.rank <= 2 else E.ZERO
    out = adjoint(jvp_expr(d), dv, cotangent(d))
    out = fit(out, tuple(d.wrt.shape))
    return tidy(out) if simplify else out


# ------------------------------------------------------------ the index form

class _Builder:
    """Translates an expression linear in ``dv`` into terms over integer indices."""

    def __init__(self, dv: E.Expr):
        self.dv = dv
        self.counter = itertools.count()
        self.sizes: dict = {}
        self.linear: set = set()

    def fresh(self, dim) -> Optional[int]:
        dim = S.resolve(dim)
        if dim == 1:
            return None
        k = next(self.counter)
        self.sizes[k] = dim
        return k

    def labels(self, shape) -> tuple:
        return tuple(self.fresh(d) for d in shape)

    # A term while it is built: (coeff, [Factor], [(a, b)]); the tangent is a Factor
    # whose expr is dv.

    def terms(self, node: E.Expr, idx: tuple) -> list:
        if node not in self.linear:
            return self._constant(node, idx)
        kind = type(node)
        if kind is E.Var:
            return [(Fraction(1), [Factor(node, idx)], [])]
        rule = _RULES.get(kind)
        if rule is None:
            raise DiffError(f"internal: no index rule for {kind.__name__} on the path of "
                            f"the tangent")
        return rule(self, node, idx)

    def _constant(self, node: E.Expr, idx: tuple) -> list:
        kind = type(node)
        c = E.const_value(node)
        if c is not None and node.rank == 0:
            return [(c, [], [])]
        if kind in (E.MatMul, E.Transpose, E.Mul, E.Expand, E.Eye) or (
                kind is E.Call and _delta_spec(node)) or (
                kind is E.Add and _has_delta(node)):
            return _RULES[kind](self, node, idx)
        return [(Fraction(1), [Factor(node, idx)], [])]

    def product(self, parts: list) -> list:
        out = [(Fraction(1), [], [])]
        for p in parts:
            out = [(c1 * c2, f1 + f2, d1 + d2) for c1, f1, d1 in out for c2, f2, d2 in p]
            if len(out) > MAX_TERMS:
                raise LimitError(f"the index form has more than {MAX_TERMS} terms")
        return out


def _chain_labels(b: _Builder, node: E.Expr, idx: tuple) -> list:
    """Each factor's indices in a matrix product with result indices ``idx``."""
    rows, cols = (idx + (None, None))[:2] if node.rank == 2 else (
        (idx[0] if idx else None), None)
    factors = node.args
    bounds = [rows]
    for a in factors[:-1]:
        bounds.append(b.fresh(E.as2d(a.shape)[1]))
    bounds.append(cols)
    out = []
    for k, a in enumerate(factors):
        r, c = bounds[k], bounds[k + 1]
        out.append((r, c) if a.rank == 2 else (r,) if a.rank == 1 else ())
    return out


def _matmul(b: _Builder, node, idx):
    return b.product([b.terms(a, ix) for a, ix in zip(node.args, _chain_labels(b, node, idx))])


def _transpose(b: _Builder, node, idx):
    a = node.arg
    if a.rank == 2 and node.rank == 2:
        return b.terms(a, (idx[1], idx[0]))
    if a.rank == 1:            # a row vector (1×n): the vector's index is the column's
        return b.terms(a, (idx[1],))
    return b.terms(a, (None, idx[0]))   # a 1×n matrix read as a vector


def _mul(b: _Builder, node, idx):
    return b.product([b.terms(a, idx) for a in node.args])


def _add(b: _Builder, node, idx):
    out = []
    for a in node.args:
        out += b.terms(a, idx)
    if len(out) > MAX_TERMS:
        raise LimitError(f"the index form has more than {MAX_TERMS} terms")
    return out


def _expand(b: _Builder, node, idx):
    a = node.arg
    if a.rank == 0:
        return b.terms(a, ())
    # a vector as every row (axis 0: X_ab = x_b) or every column (axis 1: X_ab = x_a)
    return b.terms(a, (idx[1],) if node.axis == 0 else (idx[0],))


def _eye(b: _Builder, node, idx):
    return [(Fraction(1), [], [(idx[0], idx[1])])]


def _delta_spec(node) -> bool:
    """Does a linear function's index spec write a delta (a repeated output index,
    as diag(v)ᵢⱼ = vᵢ δᵢⱼ)? Such a function is written with indices even when free of
    the tangent (its matrix is mostly zeros)."""
    if node.op.index is None:
        return False
    spec, _ = node.op.index(node.args[0])
    out = spec.split("->")[1]
    return len(set(out)) < len(out)


def _has_delta(node, depth: int = 0) -> bool:
    """Does a sum hold an identity or a diagonal matrix in a term (``I - 𝟏𝟏ᵀ/n``)?
    Then it is written term by term (``δᵢⱼ - 1/n``), not as one factor."""
    if depth > 8:
        return False
    kind = type(node)
    if kind is E.Eye or (kind is E.Call and _delta_spec(node)):
        return True
    if kind in (E.Add, E.Mul, E.MatMul, E.Transpose):
        return any(_has_delta(a, depth + 1) for a in node.args)
    return False


def _call(b: _Builder, node, idx):
    op = node.op
    if op.index is None:
        raise DiffError(f"internal: {op.name}() has no index form")
    arg = node.args[0]
    spec, scale = op.index(arg)
    ins, outs = spec.split("->")
    where: dict = {}
    deltas = []
    for letter, label in zip(outs, idx):
        if letter in where:
            if where[letter] is not None and label is not None:
                deltas.append((where[letter], label))
        else:
            where[letter] = label
    arg_idx = []
    for letter, dim in zip(ins, arg.shape):
        if letter not in where:
            where[letter] = b.fresh(dim)
        arg_idx.append(where[letter])
    parts = [b.terms(arg, tuple(arg_idx)), [(Fraction(1), [], deltas)]]
    if scale is not None:
        parts.append(b.terms(scale, ()))
    return b.product(parts)


def _veclit(b: _Builder, node, idx):
    n = len(node.args)
    out = []
    for j, item in enumerate(node.args):
        out += b.product([b.terms(item, ()), [(Fraction(1), [Factor(E.select(n, j), idx)], [])]])
    return out


def _entry(b: _Builder, node, idx):
    x = node.arg
    a = b.fresh(x.shape[0])
    unit = [(Fraction(1), [Factor(E.select(x.shape[0], node.index), (a,))], [])]
    return b.product([b.terms(x, (a,)), unit])


_RULES = {
    E.MatMul: _matmul, E.Transpose: _transpose, E.Mul: _mul, E.Add: _add,
    E.Expand: _expand, E.Eye: _eye, E.Call: _call, E.VecLit: _veclit, E.Entry: _entry,
}


def _substitute(term: tuple, old: int, new: Optional[int]) -> tuple:
    coeff, factors, deltas = term
    f2 = [Factor(f.expr, tuple(new if i == old else i for i in f.indices)) for f in factors]
    d2 = [tuple(new if i == old else i for i in pair) for pair in deltas]
    return coeff, f2, d2


def _place_tangent(term: tuple, dv: E.Expr, wrt: tuple, free: set) -> tuple:
    """The tangent's indices become ``V``'s: a summed index is renamed, any other
    (free in f, or taken already) gives a delta."""
    coeff, factors, deltas = term
    tangent = [f for f in factors if f.expr is dv]
    if len(tangent) != 1:
        raise DiffError("internal: a term of a differential is not linear in the tangent")
    rest = [f for f in factors if f.expr is not dv]
    term = (coeff, rest, list(deltas))
    taken = set(free)
    renamed: dict = {}
    for label, target in zip(tangent[0].indices, wrt):
        if label is None or target is None:
            continue
        label = renamed.get(label, label)   # dX_aa: the second a is k by now
        if label in taken:
            term = (term[0], term[1], term[2] + [(label, target)])
        else:
            term = _substitute(term, label, target)
            renamed[label] = target
        taken.add(target)
    return term


def _eliminate_deltas(term: tuple, free: set, sizes: dict) -> Optional[tuple]:
    """δ over a summed index: the index is replaced by the other one; δ_aa is 1
    for a free a and the size of a's range for a summed one."""
    coeff, factors, deltas = term
    extra = []
    changed = True
    while changed:
        changed = False
        for k, (a, b_) in enumerate(deltas):
            rest = deltas[:k] + deltas[k + 1:]
            if a == b_:
                if a not in free:
                    extra.append(Factor(E.size(sizes[a]), ()))
                coeff, factors, deltas = coeff, factors, rest
                changed = True
                break
            if b_ not in free or a not in free:
                old, new = (b_, a) if b_ not in free else (a, b_)
                coeff, factors, deltas = _substitute((coeff, factors, rest), old, new)
                changed = True
                break
    pairs = []
    for a, b_ in deltas:
        pair = (a, b_) if (a, b_) <= (b_, a) else (b_, a)
        if pair not in pairs:
            pairs.append(pair)
    return coeff, factors + extra, pairs


def _letters(count: int) -> list:
    if count <= len(LETTERS):
        return list(LETTERS[:count])
    return list(LETTERS) + [f"i{k}" for k in range(1, count - len(LETTERS) + 1)]


def _finish(b: _Builder, raw: list, free: list) -> list:
    """Terms with letters: the free indices take the first letters, the summed ones
    of each term the next, in order of appearance; like terms are added."""
    free_set = {f for f in free if f is not None}
    out: dict = {}
    for coeff, factors, deltas in raw:
        if coeff == 0:
            continue
        seen = [i for f in factors for i in f.indices if i is not None]
        seen += [i for pair in deltas for i in pair]
        summed = []
        for i in seen:
            if i not in free_set and i not in summed:
                summed.append(i)
        order = [f for f in free if f is not None] + summed
        names = dict(zip(order, _letters(len(order))))
        fs = tuple(Factor(f.expr, tuple(None if i is None else names[i] for i in f.indices))
                   for f in factors)
        ds = tuple(tuple(sorted((names[a], names[c]), key=_letter_order)) for a, c in deltas)
        sizes = tuple((names[i], b.sizes[i]) for i in order)
        # like terms whatever the order of their factors (sᵢ sⱼ and sⱼ sᵢ); the
        # first one's order is kept
        key = (tuple(sorted(fs, key=_factor_key)), ds)
        if key in out:
            out[key] = Term(out[key].coeff + coeff, fs, ds, sizes)
        else:
            out[key] = Term(coeff, fs, ds, sizes)
    return [t for t in out.values() if t.coeff != 0]


def _factor_key(f: Factor) -> tuple:
    return (id(f.expr), tuple("" if i is None else i for i in f.indices))


def _letter_order(name: str) -> tuple:
    return (LETTERS.index(name), 0) if name in LETTERS else (len(LETTERS), int(name[1:]))


def index_form(d: Derivative) -> IndexForm:
    """The index form of ``d`` (:class:`IndexForm`); a LimitError beyond MAX_TERMS
    terms."""
    dv = tangent_of(d.wrt)
    b = _Builder(dv)
    base_rank = d.f.rank
    fshape = tuple(d.f_shape)
    f_all = b.labels(fshape)
    wrt = b.labels(d.wrt.shape)
    e = jvp_expr(d)
    _, b.linear = linear_nodes(e, dv)
    raw = b.terms(e, f_all) if b.linear else []
    free = list(f_all) + list(wrt)
    free_set = {f for f in free if f is not None}
    done = []
    for term in raw:
        term = _place_tangent(term, dv, wrt, free_set)
        term = _eliminate_deltas(term, free_set, b.sizes)
        done.append(term)
    terms = _finish(b, done, free)
    present = [f for f in free if f is not None]
    names = dict(zip(present, _letters(len(present))))
    lettered = [None if f is None else names[f] for f in free]
    # f's own indices, then those of each order's variable (V's once per order; a mixed
    # derivative's in turn): the earlier orders are part of f_shape
    groups, at = [], base_rank
    for v in d.wrts:
        groups.append(tuple(lettered[at:at + v.rank]))
        at += v.rank
    return IndexForm(d, tuple(lettered[:base_rank]), tuple(groups), tuple(terms))
