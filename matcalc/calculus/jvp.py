"""The chain rule, written once: forward mode over the expression DAG.

Each node kind has one entry in ``JVPS`` giving its *local* derivative, one argument
at a time (functions have theirs in their ``Op`` record). ``differential(f, v)``
threads them together: every node's differential is the sum, over its arguments
whose differential is not a symbolic zero, of the rule applied to that differential
(the vector chain rule; where ``v`` reaches a node along several paths the
contributions add up: the total-derivative rule). Symbolic zeros are handled here
and nowhere else. Every node is differentiated once (nodes are shared).

A rule that only scales its argument's differential (``f'(x) ⊙ dx``, ``c ⊙ dx``)
gives the coefficient instead (``scale``); the driver keeps a run of such scalings
as a list and multiplies it out once, where a result is needed, so that k nested
scalar functions cost O(k), not the O(k²) of re-flattening a growing product at
every step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from .. import ops
from ..core import expr as E
from ..core import shapes as S
from ..errors import DiffError


@dataclass(frozen=True)
class Rule:
    """A node kind's local derivative, for ``--steps``: its name as the paper gives it,
    its mathematics, and the rule itself."""
    name: str
    doc: str
    # (node, i, d) -> the node's differential through argument i, whose differential is d
    jvp: Optional[Callable] = None
    # (node, i) -> c when that differential is just c ⊙ d (elementwise), else None
    scale: Optional[Callable] = None
    applies: str = ""          # for docs/rules.md: where it applies
    example: tuple = ()        # (expression, wrt): a derivative that shows the rule


@dataclass(frozen=True)
class Applied:
    """One application of a rule by the chain rule: at ``node``."""
    rule: str
    doc: str
    node: E.Expr


def tangent_of(v: E.Expr) -> E.Expr:
    """The differential ``dv`` of a variable (a variable marked as a tangent)."""
    return E.var(v.name, v.shape, tangent=True)


# ------------------------------------------------------------------ the rules

def _others(node, i):
    return node.args[:i] + node.args[i + 1:]


def _mul_scale(node, i):
    # product rule: d(f ⊙ g) = df ⊙ g + f ⊙ dg, for any number of factors
    return E.mul(*_others(node, i))


def _pow_scale(node, i):
    if i != 0:
        return None
    b, e = node.args
    # power rule: d bᵉ = e b^(e-1) ⊙ db
    ee = e if e.rank == b.rank else E.expand(e, b.shape)
    return E.mul(ee, E.power(b, E.sub(e, E.num(1)) if e.rank == 0 else
                             E.sub(ee, E.ones(b.shape))))


def _pow(node, i, d):
    b, e = node.args
    if i == 0:
        return E.mul(_pow_scale(node, 0), d)
    # d bᵉ = bᵉ ⊙ log(b) ⊙ de
    de = d if d.rank == b.rank else E.expand(d, b.shape)
    return E.mul(node, E.call(ops.LOG, b), de)


def fit(x: E.Expr, shape: tuple) -> E.Expr:
    """A vector where a row vector is wanted (or back): transpose it."""
    if S.unify_shapes(x.shape, shape):
        return x
    if x.rank == 1 and len(shape) == 2 or x.rank == 2 and len(shape) == 1:
        return E.transpose(x)
    raise DiffError(f"internal: cannot fit {S.shape_str(x.shape)} to {S.shape_str(shape)}")


def _matmul(node, i, d):
    # d(A B C) = dA B C + A dB C + A B dC: linear in each factor
    return fit(E.matmul(*node.args[:i], d, *node.args[i + 1:]), node.shape)


def _call_scale(node, i):
    op = node.op
    return op.derivative(node.args[0]) if op.derivative is not None else None


def _call(node, i, d):
    op = node.op
    if op.derivative is not None:
        return E.mul(op.derivative(node.args[0]), d)
    if op.jvp is not None:
        return op.jvp(node.args, i, d)
    if op.linear:
        return E.call(op, d)  # a linear op is its own derivative
    raise DiffError(f"internal: {op.name}() has no derivative")


def _veclit(node, i, d):
    return E.veclit([d if j == i else E.ZERO for j in range(len(node.args))])


JVPS: dict[type, Rule] = {
    E.Var: Rule("Jacobian of the identity", "∂x/∂x = I",
                applies="the variable itself: its Jacobian is the identity",
                example=("x", "x")),
    E.Num: Rule("constant rule", "d c = 0",
                applies="numbers, dimensions and the identity matrix do not depend on "
                        "anything", example=("x + 2", "x")),
    E.Size: Rule("constant rule", "d n = 0",
                 applies="a dimension used as a number (`n` in `sum(ones(n))`)",
                 example=("sum(ones(n)) * a", "a")),
    E.Eye: Rule("constant rule", "d I = 0", applies="the identity matrix",
                example=("eye(n) @ x", "x")),
    E.Select: Rule("constant rule", "d eᵢ = 0: indexing X[:, j] = X eⱼ is a product",
                   applies="the unit vectors and selection matrices of indexing"),
    E.Add: Rule("element-wise binary operation (sum rule)",
                "d(u + v) = du + dv: ∂(w + x)/∂w = I", lambda node, i, d: d,
                applies="a sum or difference of same-shaped operands (a scalar operand "
                        "is expanded first)", example=("w + x", "w")),
    E.Mul: Rule("element-wise binary operation (product rule)",
                "d(u ⊙ v) = du ⊙ v + u ⊙ dv: ∂(w ⊙ x)/∂w = diag(x)",
                lambda node, i, d: E.mul(*_others(node, i), d), _mul_scale,
                applies="an element-wise (Hadamard) product or quotient, or a scalar "
                        "product", example=("w * x", "w")),
    E.Pow: Rule("power rule", "d uⁿ = n uⁿ⁻¹ ⊙ du", _pow, _pow_scale,
                applies="an element-wise power, by base or exponent",
                example=("x^3", "x")),
    E.MatMul: Rule("matrix product rule", "d(AB) = dA B + A dB", _matmul,
                   applies="a matrix product `A @ B`, a matrix-vector product, a dot "
                           "product `x @ y`", example=("W @ x", "x")),
    E.Transpose: Rule("transpose (linear)", "d(Xᵀ) = (dX)ᵀ",
                      lambda node, i, d: E.transpose(d),
                      applies="`x'`, `A.T`", example=("x' @ y", "x")),
    E.Expand: Rule("scalar expansion", "d(z𝟏) = 𝟏 dz: ∂(x + z)/∂z = 𝟏",
                   lambda node, i, d: E.expand(d, node.shape, node.axis),
                   applies="a scalar used where a vector or matrix is (paper: scalar "
                           "expansion)", example=("x + b", "b")),
    E.Call: Rule("function", "see the function's record", _call, _call_scale,
                 applies="see the function table below"),
    E.VecLit: Rule("vector of scalar functions", "d[f₁, f₂] = [df₁, df₂]", _veclit,
                   applies="a vector built from scalars, `[f(x), g(x)]`",
                   example=("[a^2, 3*a]", "a")),
    E.Entry: Rule("vector entry (linear)", "d xᵢ = (dx)ᵢ",
                  lambda node, i, d: E.entry(d, node.index),
                  applies="an entry of a vector (appears inside derivatives of `[...]`)"),
}


def rule_for(node: E.Expr) -> tuple[str, str]:
    """(name, mathematics) of the rule that differentiates ``node``."""
    if type(node) is E.Call:
        return node.op.rule, node.op.doc
    r = JVPS[type(node)]
    name = r.name
    if type(node) is E.Expand and node.arg.rank == 1:
        return ("broadcast", "d(x𝟏ᵀ) = dx 𝟏ᵀ (a vector repeated along an axis); its "
                             "adjoint is the sum along that axis")
    expanded = [a for a in node.args if type(a) is E.Expand] \
        if type(node) in (E.Add, E.Mul) else []
    if any(a.arg.rank == 1 for a in expanded):
        name += " with broadcast"
    elif expanded:
        name += " with scalar expansion"
    if type(node) is E.Mul and node.rank == 0:
        name = "product rule"
    if type(node) is E.Add and node.rank == 0:
        name = "sum rule"
    if type(node) is E.MatMul and node.rank == 0 and len(node.args) == 2:
        name = "dot product (matrix product rule)"  # wᵀx, as the paper names it
    return name, r.doc


# ------------------------------------------------------------------ the driver

class _Scaled:
    """The differential c ⊙ d of a node that scales one argument's differential d:
    the coefficients of a run of such nodes, multiplied out only when asked."""
    __slots__ = ("coeff", "inner", "_value")

    def __init__(self, coeff: E.Expr, inner):
        self.coeff = coeff
        self.inner = inner          # an Expr or another _Scaled
        self._value = None

    def value(self) -> E.Expr:
        if self._value is None:
            coeffs, x = [], self
            while type(x) is _Scaled and x._value is None:
                coeffs.append(x.coeff)
                x = x.inner
            base = x if type(x) is not _Scaled else x._value
            self._value = E.mul(*coeffs, base)
        return self._value


def _expr(d) -> E.Expr:
    return d.value() if type(d) is _Scaled else d


def differential(f: E.Expr, v: E.Expr, applied: Optional[list] = None) -> Optional[E.Expr]:
    """``df`` as an expression linear in ``dv`` (None if f does not depend on v).
    ``applied`` collects one :class:`Applied` per node whose differential is not 0."""
    dv = tangent_of(v)
    tan: dict = {}
    for node in E.postorder(f):
        if node is v:
            tan[node] = dv
            continue
        live = [(i, tan[a]) for i, a in enumerate(node.args) if tan[a] is not None]
        if not live:
            tan[node] = None
            continue
        rule = JVPS[type(node)]
        d = None
        if len(live) == 1 and rule.scale is not None:
            i, da = live[0]
            c = rule.scale(node, i)
            if c is not None:
                d = None if E.is_zero(c) else _Scaled(c, da)
                tan[node] = d
                if applied is not None and d is not None:
                    applied.append(Applied(*rule_for(node), node))
                continue
        terms = [rule.jvp(node, i, _expr(da)) for i, da in live]
        d = E.add(*terms) if len(terms) > 1 else terms[0]
        if E.is_zero(d):
            d = None
        tan[node] = d
        if applied is not None and d is not None:
            applied.append(Applied(*rule_for(node), node))
    out = tan[f]
    return None if out is None else _expr(out)
