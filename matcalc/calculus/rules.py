"""Each node kind's local derivative, one entry per kind (functions have theirs in
:mod:`matcalc.functions`), and the transpose rules of the linear nodes.

A JVP rule gets a node and the differentials of its children (``None`` for a
symbolic zero) and returns the node's differential. The chain rule that threads
them together is written once, in :mod:`matcalc.diff`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..core import expr as E
from ..core import shapes as S
from ..errors import DiffError


@dataclass(frozen=True)
class Rule:
    name: str          # as the paper names it, for --steps
    doc: str           # its mathematics
    jvp: Callable      # (node, dargs) -> Expr | None


def _add(node, d):
    terms = [x for x in d if x is not None]
    return E.add(*terms) if terms else None


def _mul(node, d):
    # product rule: d(f ⊙ g) = df ⊙ g + f ⊙ dg, for any number of factors
    terms = []
    for i, di in enumerate(d):
        if di is not None:
            others = node.args[:i] + node.args[i + 1:]
            terms.append(E.mul(*others, di))
    return E.add(*terms) if terms else None


def _pow(node, d):
    b, e = node.args
    db, de = d
    terms = []
    if db is not None:
        # power rule: d bᵉ = e b^(e-1) ⊙ db
        ee = e if e.rank == b.rank else E.expand(e, b.shape)
        terms.append(E.mul(ee, E.power(b, E.sub(e, E.num(1)) if e.rank == 0 else
                                       E.sub(ee, E.ones(b.shape))), db))
    if de is not None:
        # d bᵉ = bᵉ ⊙ log(b) ⊙ de
        de_full = de if de.rank == b.rank else E.expand(de, b.shape)
        terms.append(E.mul(node, E.call("log", b), de_full))
    return E.add(*terms) if terms else None


def _matmul(node, d):
    # d(A B C) = dA B C + A dB C + A B dC: linear in each factor
    terms = []
    for i, di in enumerate(d):
        if di is not None:
            terms.append(E.matmul(*node.args[:i], di, *node.args[i + 1:]))
    if not terms:
        return None
    out = E.add(*terms)
    return _fit(out, node.shape)


def _fit(x: E.Expr, shape: tuple) -> E.Expr:
    """A vector where a row vector is wanted (or back): transpose it."""
    if S.unify_shapes(x.shape, shape):
        return x
    if x.rank == 1 and len(shape) == 2 or x.rank == 2 and len(shape) == 1:
        return E.transpose(x)
    raise DiffError(f"internal: cannot fit {S.shape_str(x.shape)} to {S.shape_str(shape)}")


def _transpose(node, d):
    return None if d[0] is None else E.transpose(d[0])


def _expand(node, d):
    return None if d[0] is None else E.expand(d[0], node.shape)


def _call(node, d):
    if all(x is None for x in d):
        return None
    return node.spec.jvp(node.args, tuple(d))


def _veclit(node, d):
    if all(x is None for x in d):
        return None
    return E.veclit([E.ZERO if x is None else x for x in d])


def _entry(node, d):
    return None if d[0] is None else E.entry(d[0], node.index)


def _leaf(node, d):
    return None


RULES: dict[type, Rule] = {
    E.Var: Rule("Jacobian of the identity", "∂x/∂x = I", _leaf),
    E.Num: Rule("constant rule", "d c = 0", _leaf),
    E.Size: Rule("constant rule", "d n = 0", _leaf),
    E.Eye: Rule("constant rule", "d I = 0", _leaf),
    E.Add: Rule("element-wise binary operation (sum rule)",
                "d(u + v) = du + dv: ∂(w + x)/∂w = I", _add),
    E.Mul: Rule("element-wise binary operation (product rule)",
                "d(u ⊙ v) = du ⊙ v + u ⊙ dv: ∂(w ⊙ x)/∂w = diag(x)", _mul),
    E.Pow: Rule("power rule", "d uⁿ = n uⁿ⁻¹ ⊙ du", _pow),
    E.MatMul: Rule("matrix product rule", "d(AB) = dA B + A dB", _matmul),
    E.Transpose: Rule("transpose (linear)", "d(Xᵀ) = (dX)ᵀ", _transpose),
    E.Expand: Rule("scalar expansion", "d(z𝟏) = 𝟏 dz: ∂(x + z)/∂z = 𝟏", _expand),
    E.Call: Rule("function", "see the function table", _call),
    E.VecLit: Rule("vector of scalar functions", "d[f₁, f₂] = [df₁, df₂]", _veclit),
    E.Entry: Rule("vector entry (linear)", "d xᵢ = (dx)ᵢ", _entry),
}


def rule_for(node: E.Expr) -> tuple[str, str]:
    """(name, mathematics) of the rule that differentiates ``node``."""
    if type(node) is E.Call:
        spec = node.spec
        return spec.rule, spec.doc
    r = RULES[type(node)]
    name = r.name
    if type(node) in (E.Add, E.Mul) and any(type(a) is E.Expand for a in node.args):
        name += " with scalar expansion"
    if type(node) is E.Mul and node.rank == 0:
        name = "product rule"
    if type(node) is E.Add and node.rank == 0:
        name = "sum rule"
    if type(node) is E.MatMul and node.rank == 0 and len(node.args) == 2:
        name = "dot product (matrix product rule)"  # wᵀx, as the paper names it
    return name, r.doc
