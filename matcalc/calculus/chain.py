"""The chain rule, written once, and the assembly of gradients and Jacobians.

1. ``differential(f, v)``: forward mode over the expression DAG. Every node's
   differential is its rule (:mod:`matcalc.rules`, :mod:`matcalc.functions`)
   applied to its children's differentials — the vector chain rule; where a
   variable reaches ``f`` along several paths the contributions add up (the
   total-derivative rule). Symbolic zeros are skipped; every node is
   differentiated once (nodes are shared), so the work is linear in the size of f.
   The result ``dF`` is an expression linear in the tangent ``dv``.
2. Reading the derivative off ``dF`` (Magnus & Neudecker's identification):
   - ``v`` scalar: substitute ``dv = 1``;
   - ``f`` scalar: the gradient ``G`` with ``df = ⟨G, dv⟩``, by transposing the
     linear map (reverse mode over ``dF``: JAX's transpose rules);
   - ``f`` vector, ``v`` vector: the Jacobian, by pushing ``dv = I`` through
     ``dF`` (the paper's products of Jacobians: ``∂(w⊙x)/∂w = diag(x)``...);
   - otherwise (matrix by vector or matrix): the differential itself, exact,
     evaluated on each basis direction.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..core import expr as E
from ..core import shapes as S
from ..errors import DiffError
from .rules import RULES, rule_for


@dataclass(frozen=True)
class Step:
    """One application of a rule: node ``node`` has differential ``result``."""
    rule: str
    doc: str
    node: E.Expr
    result: E.Expr


def tangent_of(v: E.Expr) -> E.Expr:
    return E.var(v.name, v.shape, tangent=True)


def differential(f: E.Expr, v: E.Expr, steps: Optional[list] = None) -> Optional[E.Expr]:
    """``df`` as an expression linear in ``dv`` (None if f does not depend on v)."""
    dv = tangent_of(v)
    tan: dict[E.Expr, Optional[E.Expr]] = {}
    for node in E.postorder(f):
        if node is v:
            tan[node] = dv
            continue
        dargs = [tan[a] for a in node.args]
        if all(d is None for d in dargs):
            tan[node] = None
            continue
        if type(node) is E.Call:
            d = node.spec.jvp(node.args, tuple(dargs))
        else:
            d = RULES[type(node)].jvp(node, dargs)
        if d is not None and E.is_zero(d):
            d = None
        tan[node] = d
        if steps is not None and d is not None:
            name, doc = rule_for(node)
            steps.append(Step(name, doc, node, d))
    return tan[f]


def _linear_nodes(root: E.Expr, dv: E.Expr) -> tuple[list, set]:
    order = E.postorder(root)
    lin: set = set()
    for n in order:
        if n is dv or any(a in lin for a in n.args):
            lin.add(n)
    return order, lin


# ----------------------------------------------------------------- reverse mode

def _fit(x: E.Expr, shape: tuple) -> E.Expr:
    if S.unify_shapes(x.shape, shape):
        return x
    if (x.rank == 1 and len(shape) == 2) or (x.rank == 2 and len(shape) == 1):
        return E.transpose(x)
    if x.rank == 0:
        return E.expand(x, shape)
    raise DiffError(f"internal: a {S.shape_str(x.shape)} result where "
                    f"{S.shape_str(shape)} is wanted")


def _mm_adjoint(prefix, g: E.Expr, suffix, target: E.Expr) -> E.Expr:
    """Cotangent of the factor between ``prefix`` and ``suffix`` of a product whose
    cotangent is ``g``: Pᵀ G Sᵀ."""
    chain = [E.transpose(p) for p in reversed(prefix)]
    scalar = None
    if g.rank == 0:
        scalar = g
    else:
        chain.append(g)
    chain += [E.transpose(s) for s in reversed(suffix)]
    if not chain:
        out = scalar
    else:
        out = E.matmul(*chain)
        if scalar is not None:
            out = E.mul(E.expand(scalar, out.shape), out) if out.rank else E.mul(scalar, out)
    return _fit(out, target.shape)


def _one_linear(node, lin):
    idx = [i for i, a in enumerate(node.args) if a in lin]
    if len(idx) != 1:
        raise DiffError("internal: a differential that is not linear")
    return idx[0]


def _adjoint_contribs(node: E.Expr, g: E.Expr, lin: set):
    t = type(node)
    if t is E.Add:
        return [(a, g) for a in node.args if a in lin]
    if t is E.Mul:
        i = _one_linear(node, lin)
        others = node.args[:i] + node.args[i + 1:]
        return [(node.args[i], E.mul(g, *others))]
    if t is E.MatMul:
        i = _one_linear(node, lin)
        if len(node.args) == 1:
            return [(node.args[0], _fit(g, node.args[0].shape) if g.rank else
                     E.expand(g, node.args[0].shape))]
        return [(node.args[i], _mm_adjoint(node.args[:i], g, node.args[i + 1:], node.args[i]))]
    if t is E.Transpose:
        return [(node.arg, _fit(E.transpose(g), node.arg.shape))]
    if t is E.Expand:
        a = node.arg
        if a.rank == 0:
            return [(a, E.call("sum", g))]
        # a vector repeated as rows: the column sums
        return [(a, E.matmul(E.transpose(g), E.ones((node.shape[0],))))]
    if t is E.Call:
        a = node.args[_one_linear(node, lin)]
        fn = node.fn
        if fn == "sum":
            return [(a, E.expand(g, a.shape))]
        if fn == "mean":
            count = E.num(1)
            for d in a.shape:
                count = E.mul(count, E.size(d))
            return [(a, E.expand(E.div(g, count), a.shape))]
        if fn == "tr":
            n = a.shape[0]
            return [(a, E.mul(E.expand(g, a.shape), E.eye(n)))]
        if fn == "diag":
            return [(a, E.call("diagonal", g))]
        if fn == "diagonal":
            return [(a, E.call("diag", g))]
    if t is E.VecLit:
        return [(a, E.entry(g, i)) for i, a in enumerate(node.args) if a in lin]
    if t is E.Entry:
        k = node.arg.shape[0]
        if not isinstance(k, int):
            raise DiffError("cannot take the gradient through an entry of a vector of "
                            "symbolic length")
        return [(node.arg, E.veclit([g if j == node.index else E.ZERO for j in range(k)]))]
    raise DiffError(f"internal: no transpose rule for {t.__name__}")


def adjoint(df: E.Expr, dv: E.Expr, seed: E.Expr) -> E.Expr:
    """The gradient ``G`` with ``⟨seed, df⟩ = ⟨G, dv⟩`` (reverse mode over ``df``)."""
    order, lin = _linear_nodes(df, dv)
    cots: dict[E.Expr, list] = {df: [seed]}
    for node in reversed(order):
        if node not in lin or node not in cots or node is dv:
            continue
        g = E.add(*cots.pop(node))
        for child, c in _adjoint_contribs(node, g, lin):
            cots.setdefault(child, []).append(c)
    if dv not in cots:
        return E.zeros(dv.shape)
    return E.add(*cots[dv])


# ----------------------------------------------------------------- forward Jacobian

class _NoMatrixForm(Exception):
    """The Jacobian has no plain matrix form through this node (a matrix in between)."""


def _vec2d(shape):
    """Length of a scalar / vector / row vector node (as a Jacobian's row count)."""
    if len(shape) == 0:
        return 1
    if len(shape) == 1:
        return shape[0]
    if S.resolve(shape[0]) == 1:
        return shape[1]
    raise _NoMatrixForm


def _unit(i: int, k: int) -> E.Expr:
    return E.veclit([E.ONE if j == i else E.ZERO for j in range(k)])


def _jac_contrib(node, J: dict, lin: set, n) -> E.Expr:
    t = type(node)
    rows = _vec2d(node.shape)
    if t is E.Add:
        return E.add(*[J[a] for a in node.args if a in lin])
    if t is E.Mul:
        i = _one_linear(node, lin)
        others = node.args[:i] + node.args[i + 1:]
        c = E.mul(*others)
        if node.rank == 0:
            return E.mul(E.expand(c, J[node.args[i]].shape), J[node.args[i]])
        cv = c if c.rank == 1 else E.transpose(c)
        return E.matmul(E.call("diag", cv), J[node.args[i]])
    if t is E.Transpose:
        return J[node.arg]
    if t is E.Expand:
        if node.arg.rank != 0 or node.rank == 2 and S.resolve(node.shape[0]) != 1:
            raise _NoMatrixForm
        return E.matmul(E.ones((rows,)), J[node.arg])
    if t is E.MatMul:
        i = _one_linear(node, lin)
        L = node.args[i]
        pre, post = node.args[:i], node.args[i + 1:]
        JL = J[L]
        if L.rank == 1:  # a column: P L S with S a 1×1 product (a scalar) or nothing
            s = _scalar_product(post)
            out = E.matmul(*pre, JL) if pre else JL
        elif L.rank == 2 and S.resolve(L.shape[0]) == 1:  # a row: L S, P a scalar
            s = _scalar_product(pre)
            out = E.matmul(E.transpose(E.matmul(*post)), JL) if post else JL
        else:
            raise _NoMatrixForm
        if s is not None:
            out = E.mul(E.expand(s, out.shape), out)
        return out
    if t is E.Call and node.fn in ("sum", "mean"):
        a = node.args[0]
        if a.rank == 2 and S.resolve(a.shape[0]) != 1:
            raise _NoMatrixForm
        k = _vec2d(a.shape)
        out = E.matmul(E.transpose(E.ones((k,))), J[a])
        return out if node.fn == "sum" else E.mul(E.expand(E.div(E.ONE, E.size(k)), out.shape),
                                                  out)
    if t is E.VecLit:
        k = len(node.args)
        terms = [E.matmul(_unit(i, k), J[a]) for i, a in enumerate(node.args) if a in lin]
        return E.add(*terms)
    if t is E.Entry:
        k = node.arg.shape[0]
        if not isinstance(k, int):
            raise _NoMatrixForm
        return E.matmul(E.transpose(_unit(node.index, k)), J[node.arg])
    raise _NoMatrixForm


def _scalar_product(factors) -> Optional[E.Expr]:
    if not factors:
        return None
    p = E.matmul(*factors)
    if p.rank != 0:
        raise _NoMatrixForm
    return p


def jacobian(df: E.Expr, dv: E.Expr) -> E.Expr:
    """∂f/∂v (numerator layout, rows index f) by pushing ``dv = I`` through ``df``."""
    n = dv.shape[0]
    order, lin = _linear_nodes(df, dv)
    J: dict[E.Expr, E.Expr] = {}
    for node in order:
        if node not in lin:
            continue
        J[node] = E.eye(n) if node is dv else _jac_contrib(node, J, lin, n)
    return J[df]


# ----------------------------------------------------------------- Kronecker form

def kronecker_terms(df: E.Expr, dv: E.Expr) -> Optional[list]:
    """``∂vec(f)/∂vec(v)`` as a sum of Kronecker products, when ``df`` is a sum of
    terms ``c P dV S`` or ``c P dVᵀ S`` (c a scalar): vec(P dV S) = (Sᵀ ⊗ P) vec(dV)
    and vec(P dVᵀ S) = (Sᵀ ⊗ P) K vec(dV), K the commutation matrix.

    Returns ``[(coeff, right, left, transposed)]`` (``right`` is Sᵀ, ``left`` P;
    either None for an identity), or None when some term has another form (an
    element-wise product with dV, a trace...), where only the differential shows it.
    """
    terms = df.args if type(df) is E.Add else (df,)
    out = []
    for t in terms:
        coeff = None
        body = t
        if type(t) is E.Mul:
            scal = [a for a in t.args if type(a) is E.Expand and a.arg.rank == 0 or a.rank == 0]
            rest = [a for a in t.args if a not in scal]
            if len(rest) != 1 or any(_mentions(a, dv) for a in scal):
                return None
            coeff = E.mul(*[a.arg if type(a) is E.Expand else a for a in scal])
            body = rest[0]
        chain = body.args if type(body) is E.MatMul else (body,)
        hits = [i for i, a in enumerate(chain) if _mentions(a, dv)]
        if len(hits) != 1:
            return None
        i = hits[0]
        mid = chain[i]
        if mid is dv:
            transposed = False
        elif type(mid) is E.Transpose and mid.arg is dv:
            transposed = True
        else:
            return None
        left = E.matmul(*chain[:i]) if i else None
        right = E.transpose(E.matmul(*chain[i + 1:])) if i + 1 < len(chain) else None
        for side in (left, right):
            if side is not None and side.rank == 0:
                # a 1×1 factor (sizes declared or inferred 1) is a scalar: a coefficient
                coeff = side if coeff is None else E.mul(coeff, side)
        left = None if left is None or left.rank == 0 else left
        right = None if right is None or right.rank == 0 else right
        out.append((coeff, right, left, transposed and dv.rank == 2))
    return out


def _mentions(e: E.Expr, v: E.Expr) -> bool:
    return E.depends_on(e, v)
