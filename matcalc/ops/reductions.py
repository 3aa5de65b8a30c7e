"""Reductions (a vector or matrix to a scalar) and softmax: each one ``Op`` record."""
from __future__ import annotations

import numpy as np

from ..core import expr as E
from ..core import shapes as S
from ..errors import ShapeError
from .registry import Form, Op, register


def to_scalar(args):
    return args, ()


def needs(rank_ok, what: str, name: str, shape=lambda x: (), by_axis: bool = False):
    """A shape rule: the argument must pass ``rank_ok``; the result has ``shape(x)``.
    ``by_axis``: the function has an axis-wise form, which the message suggests for a
    matrix."""
    def check(args):
        x = args[0]
        if not rank_ok(x):
            hint = (f"; of a matrix, give the axis: {name}(X, axis=1) for each row, axis=0 "
                    f"for each column" if by_axis and x.rank == 2 else "")
            raise ShapeError(f"{name}() needs {what}, got a "
                             f"{S.describe(S.resolved(x.shape))}{hint}")
        return args, shape(x)
    return check


def numel(shape) -> E.Expr:
    out = E.num(1)
    for d in shape:
        out = E.mul(out, E.size(S.resolve(d)))
    return out


def scalar_times(x: E.Expr):
    """``c𝟏 ⊙ rest`` -> (c, rest), else None: a reduction takes the scalar out."""
    if type(x) is E.Mul and type(x.args[0]) is E.Expand and x.args[0].arg.rank == 0:
        rest = x.args[1:]
        return x.args[0].arg, rest[0] if len(rest) == 1 else E.mul(*rest)
    return None


def _sum_rows(mean: bool):
    """Jacobian of sum (mean) of a vector: 𝟏ᵀ J (divided by the length)."""
    def jac(node, J):
        k = S.vector_length(node.args[0].shape)
        out = E.matmul(E.transpose(E.ones((k,))), J)
        if mean:
            out = E.mul(E.expand(E.div(E.ONE, E.size(k)), out.shape), out)
        return out
    return jac


def _sum_simplify(x):
    from .linalg import DIAG
    if x.rank == 0:
        return x
    if type(x) is E.Var and x.structure == S.PROB:
        # a declared probability vector: its entries sum to 1 (m rows that do: m)
        return E.size(S.resolve(x.shape[0])) if x.rank == 2 else E.ONE
    if type(x) is E.Call and x.op is SOFTMAX:
        return E.ONE  # so are softmax's
    if type(x) is E.Call and x.op.axis is not None and x.op.positive:
        # softmax(Z, axis=a): each of its lines sums to 1, so all of it to their count
        return E.size(S.resolve(x.shape[1 - x.op.axis]))
    if type(x) is E.Expand and x.arg.rank == 0:
        return E.mul(x.arg, numel(x.shape))
    st = scalar_times(x)
    if st is not None:
        return E.mul(st[0], E.call(SUM, st[1]))
    if type(x) is E.Transpose:
        return E.call(SUM, x.arg)
    if type(x) is E.Call and x.op is DIAG:
        return E.call(SUM, x.args[0])
    return None


def _mean_simplify(x):
    if x.rank == 0:
        return x
    if type(x) is E.Var and x.structure == S.PROB:
        # entries summing to 1 (each row of a matrix): their mean is 1/n
        return E.div(E.ONE, E.size(S.resolve(x.shape[-1])))
    if type(x) is E.Expand and x.arg.rank == 0:
        return x.arg
    st = scalar_times(x)
    if st is not None:
        return E.mul(st[0], E.call(MEAN, st[1]))
    return None


def _explicit_sum(sp, args, sign):
    x = args[0]
    return sum(x) if isinstance(x, sp.MatrixBase) else x


def _explicit_mean(sp, args, sign):
    x = args[0]
    return sum(x) / len(x) if isinstance(x, sp.MatrixBase) else x


def _sympy_mean(kit, node, args):
    x = args[0]
    if not kit.is_mat(x):
        return x
    r, c = x.shape
    return kit.sum_all(x) / (r * c)


def _all_entries(x: E.Expr) -> str:
    """The index spec of a reduction over every entry of ``x``: ``"ij->"``."""
    return "ij"[:x.rank] + "->"


SUM = register(Op(
    name="sum", arity=1, category="reduction", shape=to_scalar, numpy=lambda x: np.sum(x),
    linear=True, transpose=lambda a, g: E.expand(g, a.shape), jacobian=_sum_rows(False),
    index=lambda a: (_all_entries(a), None),
    rule="vector sum reduction",
    doc="d sum(x) = sum(dx): the gradient is 1ᵀ (row of column sums of the Jacobian)",
    simplify=_sum_simplify, code={"*": "{xp}.sum({0})"},
    sympy=lambda kit, node, args: kit.sum_all(args[0]) if kit.is_mat(args[0]) else args[0],
    explicit=_explicit_sum, unicode=Form("sum"),
    applies="reduction function", example=("sum(x)", "x")))

MEAN = register(Op(
    name="mean", arity=1, category="reduction", shape=to_scalar, numpy=lambda x: np.mean(x),
    linear=True, transpose=lambda a, g: E.expand(E.div(g, numel(a.shape)), a.shape),
    index=lambda a: (_all_entries(a), E.power(numel(a.shape), E.num(-1))),
    jacobian=_sum_rows(True), rule="mean (sum reduction divided by the count)",
    doc="d mean(x) = mean(dx) = sum(dx) / numel(x)", simplify=_mean_simplify,
    code={"*": "{xp}.mean({0})"}, sympy=_sympy_mean, explicit=_explicit_mean,
    applies="reduction function", example=("mean(x)", "x")))


def _norm1_jvp(args, i, dx):
    from .elementwise import SIGN
    x = args[0]
    return E.call(SUM, E.mul(E.call(SIGN, x), dx))


def _norm2_jvp(args, i, dx):
    x = args[0]
    return E.mul(E.call(SUM, E.mul(x, dx)), E.power(E.call(NORM2, x), E.num(-1)))


_vec_or_mat = (lambda x: x.rank >= 1)


def _norm2_np(x):
    """sqrt(Σ xᵢ²) with the largest |xᵢ| scaled out: the squares neither overflow
    (‖(1e200, 1e200)‖ = 1.4e200, not inf) nor underflow (‖(1e-200, 0)‖ = 1e-200, not 0)."""
    a = np.abs(np.asarray(x, dtype=float))
    m = np.max(a)
    s = m if 0 < m < np.inf else 1.0
    return s * np.sqrt(np.sum(np.square(a / s)))


# the same, in generated code (``{xp}`` the target's module)
_NORM2_HELPER = ("def {{name}}(x):\n    m = {xp}.max({xp}.abs(x))\n"
                 "    s = {xp}.where((m > 0) & (m < {xp}.inf), m, 1.0)\n"
                 "    return s * {xp}.sqrt({xp}.sum((x / s) * (x / s)))\n")

NORM1 = register(Op(
    name="norm1", arity=1, category="reduction",
    shape=needs(_vec_or_mat, "a vector or a matrix", "norm1"),
    numpy=lambda x: np.sum(np.abs(x)), jvp=_norm1_jvp, rule="1-norm (sum of |xᵢ|)",
    doc="d ‖x‖₁ = sum(sign(x) ⊙ dx) (0 where xᵢ = 0)",
    code={"*": "{xp}.sum({xp}.abs({0}))"},
    sympy=lambda kit, node, args: kit.sum_all(kit.ew(kit.sp.Abs, args[0])),
    explicit=lambda sp, args, sign: sum(sign(v) * v for v in args[0]),
    kink=lambda args: args[0],
    unicode=Form("‖{0}‖₁", "wrap"), latex=Form(r"\left\| {0} \right\|_1", "wrap"),
    applies="reduction function (not differentiable everywhere)",
    example=("norm1(x)", "x")))


NORM2 = register(Op(
    name="norm2", arity=1, category="reduction",
    shape=needs(_vec_or_mat, "a vector or a matrix", "norm2"), numpy=_norm2_np,
    jvp=_norm2_jvp, rule="2-norm (Euclidean; Frobenius for a matrix)",
    doc="d ‖x‖₂ = sum(x ⊙ dx) / ‖x‖₂", code={"*": "{helper}({0})"},
    helpers={t: _NORM2_HELPER.format(xp=xp)
             for t, xp in (("numpy", "np"), ("jax", "jnp"), ("torch", "torch"))},
    code_squared="{xp}.sum({0} * {0})",
    sympy=lambda kit, node, args: kit.sp.sqrt(kit.sum_all(kit.sp.HadamardPower(args[0], 2))),
    explicit=lambda sp, args, sign: sp.sqrt(sum(v ** 2 for v in args[0])),
    unicode=Form("‖{0}‖", "wrap"), latex=Form(r"\left\| {0} \right\|", "wrap"),
    applies="reduction function", example=("norm2(x)", "x")))


def _lse_np(x):
    """The max shifted out (no exp overflows); an infinite max is not shifted, so
    ±inf entries give ±inf, not inf - inf."""
    x = np.asarray(x, dtype=float)
    m = np.max(x)
    m = m if np.isfinite(m) else 0.0
    return m + np.log(np.sum(np.exp(x - m)))


def _softmax_np(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def _lse_jvp(args, i, dx):
    x = args[0]
    return E.call(SUM, E.mul(E.call(SOFTMAX, x), dx))


def _softmax_jvp(args, i, dx):
    x = args[0]
    s = E.call(SOFTMAX, x)
    sdx = E.mul(s, dx)
    return E.sub(sdx, E.mul(s, E.expand(E.call(SUM, sdx), s.shape)))


def _explicit_softmax(sp, args, sign):
    ex = args[0].applyfunc(sp.exp)
    tot = sum(ex)
    return ex.applyfunc(lambda v: v / tot)


def _sympy_softmax(kit, node, args):
    ex = kit.ew(kit.sp.exp, args[0])
    return kit.scale(kit.sp.Pow(kit.sum_all(ex), -1), ex)


_VECTOR = (lambda x: x.rank == 1)

LOGSUMEXP = register(Op(
    name="logsumexp", arity=1, category="reduction",
    shape=needs(_VECTOR, "a vector", "logsumexp", by_axis=True), numpy=_lse_np, jvp=_lse_jvp,
    rule="log-sum-exp", doc="d logsumexp(x) = softmax(x)ᵀ dx",
    code={"*": "{helper}({0})"},
    helpers={"numpy": "def {name}(x):\n    m = np.max(x)\n"
                      "    m = np.where(np.isfinite(m), m, 0.0)\n"
                      "    return m + np.log(np.sum(np.exp(x - m)))\n",
             "jax": "def {name}(x):\n    m = jnp.max(x)\n"
                    "    m = jnp.where(jnp.isfinite(m), m, 0.0)\n"
                    "    return m + jnp.log(jnp.sum(jnp.exp(x - m)))\n",
             "torch": "def {name}(x):\n    return torch.logsumexp(x, dim=0)\n"},
    sympy=lambda kit, node, args: kit.sp.log(kit.sum_all(kit.ew(kit.sp.exp, args[0]))),
    explicit=lambda sp, args, sign: sp.log(sum(args[0].applyfunc(sp.exp))),
    applies="reduction function", example=("logsumexp(x)", "x")))

SOFTMAX = register(Op(
    name="softmax", arity=1, category="vector",
    shape=needs(_VECTOR, "a vector", "softmax", lambda x: x.shape, by_axis=True),
    numpy=_softmax_np,
    jvp=_softmax_jvp, rule="softmax",
    doc="d softmax(x) = (diag(s) - s sᵀ) dx with s = softmax(x)",
    code={"*": "{helper}({0})"},
    helpers={"numpy": "def {name}(x):\n    e = np.exp(x - np.max(x))\n    return e / np.sum(e)\n",
             "jax": "def {name}(x):\n    e = jnp.exp(x - jnp.max(x))\n"
                    "    return e / jnp.sum(e)\n",
             "torch": "def {name}(x):\n    return torch.softmax(x, dim=0)\n"},
    sympy=_sympy_softmax, explicit=_explicit_softmax,
    applies="vector function", example=("softmax(x)", "x"), positive=True))
