"""Reading the derivative off a differential (Magnus & Neudecker's identification).

- ``v`` scalar: substitute ``dv = 1``;
- ``f`` scalar: the gradient, by transposing the linear map (:mod:`.transpose`);
- ``f`` vector, ``v`` vector: the Jacobian, by pushing ``dv = I`` through ``dF``, one
  rule per node kind (the paper's products of Jacobians: ``∂(w⊙x)/∂w = diag(x)``...);
- otherwise the differential itself, with its Kronecker form where it has one:
  ``vec(P dV S) = (Sᵀ ⊗ P) vec(dV)``.
"""
from __future__ import annotations

from typing import Optional

from .. import ops
from ..core import expr as E
from ..core import shapes as S
from ..core.shapes import NoMatrixForm, vector_length
from .transpose import linear_nodes


def _unit(i: int, k: int) -> E.Expr:
    return E.veclit([E.ONE if j == i else E.ZERO for j in range(k)])


def _one(node, lin) -> int:
    idx = [i for i, a in enumerate(node.args) if a in lin]
    if len(idx) != 1:
        raise NoMatrixForm
    return idx[0]


def _mul(node, J, lin):
    i = _one(node, lin)
    c = E.mul(*(node.args[:i] + node.args[i + 1:]))
    Ji = J[node.args[i]]
    if node.rank == 0:
        return E.mul(E.expand(c, Ji.shape), Ji)
    vector_length(node.shape)
    cv = c if c.rank == 1 else E.transpose(c)
    return E.matmul(E.call(ops.DIAG, cv), Ji)


def _expand(node, J, lin):
    rows = vector_length(node.shape)
    if node.arg.rank != 0 or node.rank == 2 and S.resolve(node.shape[0]) != 1:
        raise NoMatrixForm
    return E.matmul(E.ones((rows,)), J[node.arg])


def _scalar_product(factors) -> Optional[E.Expr]:
    if not factors:
        return None
    p = E.matmul(*factors)
    if p.rank != 0:
        raise NoMatrixForm
    return p


def _matmul(node, J, lin):
    vector_length(node.shape)
    i = _one(node, lin)
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
        raise NoMatrixForm
    if s is not None:
        out = E.mul(E.expand(s, out.shape), out)
    return out


def _call(node, J, lin):
    vector_length(node.shape)
    if node.op.jacobian is None:
        raise NoMatrixForm
    return node.op.jacobian(node, J[node.args[_one(node, lin)]])


def _veclit(node, J, lin):
    k = len(node.args)
    return E.add(*[E.matmul(_unit(i, k), J[a]) for i, a in enumerate(node.args) if a in lin])


def _entry(node, J, lin):
    k = node.arg.shape[0]
    if not isinstance(k, int):
        raise NoMatrixForm
    return E.matmul(E.transpose(_unit(node.index, k)), J[node.arg])


def _add(node, J, lin):
    vector_length(node.shape)
    return E.add(*[J[a] for a in node.args if a in lin])


def _transpose(node, J, lin):
    vector_length(node.shape)
    return J[node.arg]


# node kind -> (node, J, lin) -> the node's Jacobian given its arguments' (J); raises
# NoMatrixForm where no matrix shows it
JACOBIANS = {
    E.Add: _add, E.Mul: _mul, E.Transpose: _transpose, E.Expand: _expand,
    E.MatMul: _matmul, E.Call: _call, E.VecLit: _veclit, E.Entry: _entry,
}


def jacobian(df: E.Expr, dv: E.Expr) -> E.Expr:
    """∂f/∂v (numerator layout, rows index f) by pushing ``dv = I`` through ``df``."""
    n = dv.shape[0]
    order, lin = linear_nodes(df, dv)
    J: dict[E.Expr, E.Expr] = {}
    for node in order:
        if node not in lin:
            continue
        if node is dv:
            J[node] = E.eye(n)
            continue
        rule = JACOBIANS.get(type(node))
        if rule is None:
            raise NoMatrixForm
        J[node] = rule(node, J, lin)
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
            if len(rest) != 1 or any(E.depends_on(a, dv) for a in scal):
                return None
            coeff = E.mul(*[a.arg if type(a) is E.Expand else a for a in scal])
            body = rest[0]
        chain = body.args if type(body) is E.MatMul else (body,)
        hits = [i for i, a in enumerate(chain) if E.depends_on(a, dv)]
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
