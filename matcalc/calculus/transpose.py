"""Reverse mode over a differential: the transpose of a linear map, one rule per node
kind (JAX's transpose rules; a linear function's is in its ``Op`` record).

``adjoint(df, dv, seed)`` is the gradient ``G`` with ``⟨seed, df⟩ = ⟨G, dv⟩``: the
cotangent ``seed`` of ``df`` is pushed back through the nodes that depend on ``dv``,
each rule giving the cotangent of one argument from its node's. The nodes of a
differential that depend on ``dv`` are linear in it, so only linear node kinds (and
products with one linear factor) need a rule.
"""
from __future__ import annotations

from .. import ops
from ..core import expr as E
from ..core import shapes as S
from ..errors import DiffError


def fit(x: E.Expr, shape: tuple) -> E.Expr:
    """``x`` given the shape wanted: a vector for a row vector (or back) is
    transposed, a scalar expanded."""
    if S.unify_shapes(x.shape, shape):
        return x
    if (x.rank == 1 and len(shape) == 2) or (x.rank == 2 and len(shape) == 1):
        return E.transpose(x)
    if x.rank == 0:
        return E.expand(x, shape)
    raise DiffError(f"internal: a {S.shape_str(x.shape)} result where "
                    f"{S.shape_str(shape)} is wanted")


def _matmul(node, i, g):
    """The factor between P and S of a product whose cotangent is G: Pᵀ G Sᵀ."""
    if len(node.args) == 1:
        a = node.args[0]
        return fit(g, a.shape) if g.rank else E.expand(g, a.shape)
    prefix, target, suffix = node.args[:i], node.args[i], node.args[i + 1:]
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
    return fit(out, target.shape)


def _expand(node, i, g):
    a = node.arg
    if a.rank == 0:
        return E.call(ops.SUM, g)
    # a vector broadcast along an axis: the sums along it (the column sums of g for a
    # vector repeated as rows)
    return E.call(ops.axis_sum(node.axis), g)


def _call(node, i, g):
    op = node.op
    if op.transpose is None:
        raise DiffError(f"internal: {op.name}() is not linear")
    return op.transpose(node.args[i], g)


def _entry(node, i, g):
    k = node.arg.shape[0]
    if not isinstance(k, int):
        raise DiffError("cannot take the gradient through an entry of a vector of "
                        "symbolic length")
    return E.veclit([g if j == node.index else E.ZERO for j in range(k)])


# node kind -> (node, i, g) -> the cotangent of argument i, given the node's, g
TRANSPOSES = {
    E.Add: lambda node, i, g: g,
    E.Mul: lambda node, i, g: E.mul(g, *(node.args[:i] + node.args[i + 1:])),
    E.MatMul: _matmul,
    E.Transpose: lambda node, i, g: fit(E.transpose(g), node.arg.shape),
    E.Expand: _expand,
    E.Call: _call,
    E.VecLit: lambda node, i, g: E.entry(g, i),
    E.Entry: _entry,
}

# kinds linear in each argument separately: only one argument may depend on dv
_ONE_LINEAR = (E.Mul, E.MatMul, E.Call)


def linear_nodes(root: E.Expr, dv: E.Expr) -> tuple[list, set]:
    """The nodes of ``root`` in post-order, and those that depend on ``dv``."""
    order = E.postorder(root)
    lin: set = set()
    for n in order:
        if n is dv or any(a in lin for a in n.args):
            lin.add(n)
    return order, lin


def adjoint(df: E.Expr, dv: E.Expr, seed: E.Expr) -> E.Expr:
    """The gradient ``G`` with ``⟨seed, df⟩ = ⟨G, dv⟩`` (reverse mode over ``df``)."""
    order, lin = linear_nodes(df, dv)
    cots: dict[E.Expr, list] = {df: [seed]}
    for node in reversed(order):
        if node not in lin or node not in cots or node is dv:
            continue
        g = E.add(*cots.pop(node))
        idx = [i for i, a in enumerate(node.args) if a in lin]
        rule = TRANSPOSES.get(type(node))
        if rule is None or (len(idx) != 1 and type(node) in _ONE_LINEAR):
            raise DiffError(f"internal: a differential that is not linear "
                            f"({type(node).__name__})")
        for i in idx:
            cots.setdefault(node.args[i], []).append(rule(node, i, g))
    if dv not in cots:
        return E.zeros(dv.shape)
    return E.add(*cots[dv])
