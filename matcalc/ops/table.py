"""The one table of functions: arity, shape rule, NumPy implementation, local
derivative, and names for text, Unicode and LaTeX.

A function's local derivative is its JVP rule ``jvp(args, dargs)``: given the
arguments and their differentials (``None`` for a symbolic zero), the differential
of the result, built only from linear operations on the ``dargs``. The chain rule
that strings these together is written once, in :mod:`matcalc.diff`. Each rule's
``doc`` is its mathematics and the name of the rule (the paper's where it has one),
which ``--steps`` quotes.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional

import numpy as np

from ..core import expr as E
from ..core import shapes as S
from ..errors import ShapeError


@dataclass(frozen=True)
class Function:
    name: str
    arity: Optional[int]
    kind: str                 # "elementwise", "reduction", "matrix", "vector"
    numpy: Callable
    jvp: Callable             # (args, dargs) -> Expr | None
    rule: str                 # the rule's name, as --steps prints it
    doc: str                  # its mathematics
    check: Callable = None    # (args) -> (args, shape)
    simplify: Optional[Callable] = None   # (*args) -> Expr | None
    unicode: str = ""
    latex: str = ""
    text: str = ""            # the name printed in the input language
    linear: bool = False      # linear in its (single) argument
    smooth: bool = True       # False: has kinks (the paper's convention applies there)
    exact: Optional[Callable] = None  # fold constant arguments exactly: Fraction -> Fraction|None

    def __post_init__(self):
        for attr in ("unicode", "latex", "text"):
            if not getattr(self, attr):
                object.__setattr__(self, attr, self.name)


def _shape_any(args):
    return args, args[0].shape


def _shape_scalar(args):
    return args, ()


def _shape_binary_elementwise(name):
    def check(args):
        a, b = E.broadcast(args[0], args[1], f"apply {name} to")
        return (a, b), S.resolved(a.shape)
    return check


def _need(rank_ok, what, name):
    def check(args):
        x = args[0]
        if not rank_ok(x):
            raise ShapeError(f"{name}() needs {what}, got a {S.describe(S.resolved(x.shape))}")
        return args, None
    return check


def _square(name):
    def check(args):
        x = args[0]
        if x.rank != 2 or not S.same_dim(x.shape[0], x.shape[1]):
            raise ShapeError(f"{name}() needs a square matrix, got a "
                             f"{S.describe(S.resolved(x.shape))}")
        return args, None
    return check


def _with_shape(check, shape_fn):
    def f(args):
        args, _ = check(args)
        return args, shape_fn(args[0])
    return f


# ----------------------------------------------------------------- element-wise

def _ew_jvp(deriv):
    def jvp(args, dargs):
        (x,), (dx,) = args, dargs
        if dx is None:
            return None
        return E.mul(deriv(x), dx)
    return jvp


def _c(e: E.Expr, value) -> E.Expr:
    return E.constant(value, e.shape)


def _sigmoid_np(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def _exact_table(table):
    return lambda v: table.get(v)


_ELEMENTWISE = [
    # name, f'(x) as an expression, numpy, doc, exact values
    ("exp", lambda x: E.call("exp", x), np.exp,
     "d exp(x) = exp(x) ⊙ dx", {Fraction(0): Fraction(1)}),
    ("log", lambda x: E.power(x, E.num(-1)), np.log,
     "d log(x) = dx ⊘ x", {Fraction(1): Fraction(0)}),
    ("sin", lambda x: E.call("cos", x), np.sin,
     "d sin(x) = cos(x) ⊙ dx", {Fraction(0): Fraction(0)}),
    ("cos", lambda x: E.neg(E.call("sin", x)), np.cos,
     "d cos(x) = -sin(x) ⊙ dx", {Fraction(0): Fraction(1)}),
    ("tan", lambda x: E.add(_c(x, 1), E.power(E.call("tan", x), E.num(2))), np.tan,
     "d tan(x) = (1 + tan²(x)) ⊙ dx", {Fraction(0): Fraction(0)}),
    ("tanh", lambda x: E.sub(_c(x, 1), E.power(E.call("tanh", x), E.num(2))), np.tanh,
     "d tanh(x) = (1 - tanh²(x)) ⊙ dx", {Fraction(0): Fraction(0)}),
    ("sqrt", lambda x: E.scale(Fraction(1, 2), E.power(E.call("sqrt", x), E.num(-1))), np.sqrt,
     "d sqrt(x) = dx ⊘ (2 sqrt(x))", None),
    ("abs", lambda x: E.call("sign", x), np.abs,
     "d |x| = sign(x) ⊙ dx (0 at x = 0)", "abs"),
    ("sign", None, np.sign, "d sign(x) = 0 (where x ≠ 0)", "sign"),
    ("sigmoid", lambda x: E.mul(E.call("sigmoid", x), E.sub(_c(x, 1), E.call("sigmoid", x))),
     _sigmoid_np, "d σ(x) = σ(x) ⊙ (1 - σ(x)) ⊙ dx", {Fraction(0): Fraction(1, 2)}),
    ("relu", lambda x: E.call("step", x), lambda x: np.maximum(0.0, x),
     "d relu(x) = step(x) ⊙ dx (0 at x = 0, the paper's convention)", "relu"),
    ("softplus", lambda x: E.call("sigmoid", x), lambda x: np.logaddexp(0.0, x),
     "d softplus(x) = σ(x) ⊙ dx", None),
    ("step", None, lambda x: (np.asarray(x) > 0).astype(float),
     "d step(x) = 0 (where x ≠ 0)", "step"),
]

_KINKED = {"abs": lambda v: abs(v), "sign": lambda v: Fraction((v > 0) - (v < 0)),
           "relu": lambda v: max(v, Fraction(0)), "step": lambda v: Fraction(int(v > 0))}

_NAMES = {
    "sigmoid": ("σ", r"\sigma"), "exp": ("exp", r"\exp"), "log": ("log", r"\log"),
    "sin": ("sin", r"\sin"), "cos": ("cos", r"\cos"), "tan": ("tan", r"\tan"),
    "tanh": ("tanh", r"\tanh"), "sqrt": ("√", r"\sqrt"), "abs": ("abs", r"\operatorname{abs}"),
    "sign": ("sign", r"\operatorname{sign}"), "relu": ("relu", r"\operatorname{relu}"),
    "softplus": ("softplus", r"\operatorname{softplus}"), "step": ("step", r"\operatorname{step}"),
}

FUNCTIONS: dict[str, Function] = {}


def _register(f: Function) -> None:
    FUNCTIONS[f.name] = f


def _ew_simplify(name, exact):
    def simp(x):
        v = E.const_value(x)
        if v is None or exact is None:
            return None
        r = exact(v)
        return None if r is None else E.constant(r, x.shape)
    return simp


for _name, _d, _np, _doc, _ex in _ELEMENTWISE:
    if _ex is None:
        _exact = None
    elif isinstance(_ex, str):
        _exact = _KINKED[_ex]
    else:
        _exact = _exact_table(_ex)
    _register(Function(
        name=_name, arity=1, kind="elementwise", numpy=_np,
        jvp=_ew_jvp(_d) if _d is not None else (lambda args, dargs: None),
        rule="element-wise function (scalar derivative rule, diagonal Jacobian)",
        doc=_doc, check=_shape_any, simplify=_ew_simplify(_name, _exact),
        unicode=_NAMES[_name][0], latex=_NAMES[_name][1],
        smooth=_name not in ("abs", "sign", "relu", "step")))


# ------------------------------------------------------------ max / min (binary)

def _max_jvp(is_max: bool):
    """d max(a, b) = [a > b] ⊙ da + [a < b] ⊙ db away from ties. At a tie (a
    subgradient, chosen so that max(a, b) + min(a, b) = a + b keeps its derivative):
    - one argument constant (max(0, z), the paper's activation): the branch where the
      other is below it, so max(0, z)' = 0 and min(0, z)' = 1 at z = 0;
    - neither constant: split ½/½, through ½(1 ± sign(a - b))."""
    def jvp(args, dargs):
        (a, b), (da, db) = args, dargs
        ca, cb = E.const_value(a), E.const_value(b)
        if ca is not None or cb is not None:
            # only the non-constant side has a differential
            z, c, dz = (b, a, db) if ca is not None else (a, b, da)
            above = E.call("step", E.sub(z, c))        # [z > c]
            return E.mul(above if is_max else E.sub(E.ones(z.shape), above), dz)
        s = E.call("sign", E.sub(a, b))
        half = E.constant(Fraction(1, 2), s.shape)
        on_a = E.mul(half, E.add(E.ones(s.shape), s if is_max else E.neg(s)))
        on_b = E.mul(half, E.add(E.ones(s.shape), E.neg(s) if is_max else s))
        terms = [E.mul(c, d) for c, d in ((on_a, da), (on_b, db)) if d is not None]
        return E.add(*terms) if terms else None
    return jvp


def _minmax_simplify(pick):
    def simp(a, b):
        if a is b:
            return a
        va, vb = E.const_value(a), E.const_value(b)
        if va is not None and vb is not None:
            return E.constant(pick(va, vb), a.shape)
        return None
    return simp


_register(Function(
    name="max", arity=2, kind="elementwise", numpy=np.maximum, jvp=_max_jvp(True),
    rule="element-wise binary operation (max; the paper's activation max(0, z))",
    doc="d max(a, b) = [a > b] ⊙ da + [b > a] ⊙ db; at a tie ½ ⊙ (da + db), or "
        "max(c, z)' = 0 against a constant c",
    check=_shape_binary_elementwise("max"), simplify=_minmax_simplify(max), smooth=False,
    latex=r"\max"))
_register(Function(
    name="min", arity=2, kind="elementwise", numpy=np.minimum, jvp=_max_jvp(False),
    rule="element-wise binary operation (min)",
    doc="d min(a, b) = [b > a] ⊙ da + [a > b] ⊙ db; at a tie ½ ⊙ (da + db), or "
        "min(c, z)' = 1 against a constant c",
    check=_shape_binary_elementwise("min"), simplify=_minmax_simplify(min), smooth=False,
    latex=r"\min"))


# ------------------------------------------------------------------- reductions

def _numel(shape) -> E.Expr:
    out = E.num(1)
    for d in shape:
        out = E.mul(out, E.size(S.resolve(d)))
    return out


def _sum_simplify(x):
    if x.rank == 0:
        return x
    if type(x) is E.Expand and x.arg.rank == 0:
        return E.mul(x.arg, _numel(x.shape))
    if type(x) is E.Mul and type(x.args[0]) is E.Expand and x.args[0].arg.rank == 0:
        rest = x.args[1:]
        inner = rest[0] if len(rest) == 1 else E.mul(*rest)
        return E.mul(x.args[0].arg, E.call("sum", inner))
    if type(x) is E.Transpose:
        return E.call("sum", x.arg)
    if type(x) is E.Call and x.fn == "diag":
        return E.call("sum", x.args[0])
    return None


def _linear_jvp(name):
    def jvp(args, dargs):
        return None if dargs[0] is None else E.call(name, dargs[0])
    return jvp


_register(Function(
    name="sum", arity=1, kind="reduction", numpy=lambda x: np.sum(x),
    jvp=_linear_jvp("sum"), rule="vector sum reduction",
    doc="d sum(x) = sum(dx): the gradient is 1ᵀ (row of column sums of the Jacobian)",
    check=_shape_scalar, simplify=_sum_simplify, unicode="sum", latex=r"\operatorname{sum}",
    linear=True))


def _mean_simplify(x):
    if x.rank == 0:
        return x
    if type(x) is E.Expand and x.arg.rank == 0:
        return x.arg
    if type(x) is E.Mul and type(x.args[0]) is E.Expand and x.args[0].arg.rank == 0:
        rest = x.args[1:]
        inner = rest[0] if len(rest) == 1 else E.mul(*rest)
        return E.mul(x.args[0].arg, E.call("mean", inner))
    return None


_register(Function(
    name="mean", arity=1, kind="reduction", numpy=lambda x: np.mean(x),
    jvp=_linear_jvp("mean"), rule="mean (sum reduction divided by the count)",
    doc="d mean(x) = mean(dx) = sum(dx) / numel(x)",
    check=_shape_scalar, simplify=_mean_simplify, latex=r"\operatorname{mean}", linear=True))


def _norm1_jvp(args, dargs):
    (x,), (dx,) = args, dargs
    return None if dx is None else E.call("sum", E.mul(E.call("sign", x), dx))


def _norm2_jvp(args, dargs):
    (x,), (dx,) = args, dargs
    if dx is None:
        return None
    return E.mul(E.call("sum", E.mul(x, dx)), E.power(E.call("norm2", x), E.num(-1)))


def _vec_or_mat(name):
    return _with_shape(_need(lambda x: x.rank >= 1, "a vector or a matrix", name), lambda x: ())


_register(Function(
    name="norm1", arity=1, kind="reduction",
    numpy=lambda x: np.sum(np.abs(x)), jvp=_norm1_jvp, rule="1-norm (sum of |xᵢ|)",
    doc="d ‖x‖₁ = sum(sign(x) ⊙ dx) (0 where xᵢ = 0)", check=_vec_or_mat("norm1"),
    unicode="norm1", latex=r"\operatorname{norm}_1", smooth=False))
_register(Function(
    name="norm2", arity=1, kind="reduction",
    numpy=lambda x: np.sqrt(np.sum(np.square(x))), jvp=_norm2_jvp,
    rule="2-norm (Euclidean; Frobenius for a matrix)",
    doc="d ‖x‖₂ = sum(x ⊙ dx) / ‖x‖₂", check=_vec_or_mat("norm2"),
    unicode="norm2", latex=r"\operatorname{norm}_2"))


def _lse_np(x):
    x = np.asarray(x, dtype=float)
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def _softmax_np(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def _lse_jvp(args, dargs):
    (x,), (dx,) = args, dargs
    return None if dx is None else E.call("sum", E.mul(E.call("softmax", x), dx))


def _softmax_jvp(args, dargs):
    (x,), (dx,) = args, dargs
    if dx is None:
        return None
    s = E.call("softmax", x)
    sdx = E.mul(s, dx)
    return E.sub(sdx, E.mul(s, E.expand(E.call("sum", sdx), s.shape)))


_register(Function(
    name="logsumexp", arity=1, kind="reduction", numpy=_lse_np, jvp=_lse_jvp,
    rule="log-sum-exp", doc="d logsumexp(x) = softmax(x)ᵀ dx",
    check=_with_shape(_need(lambda x: x.rank == 1, "a vector", "logsumexp"), lambda x: ()),
    latex=r"\operatorname{logsumexp}"))
_register(Function(
    name="softmax", arity=1, kind="vector", numpy=_softmax_np, jvp=_softmax_jvp,
    rule="softmax", doc="d softmax(x) = (diag(s) - s sᵀ) dx with s = softmax(x)",
    check=_with_shape(_need(lambda x: x.rank == 1, "a vector", "softmax"), lambda x: x.shape),
    latex=r"\operatorname{softmax}"))


# ---------------------------------------------------------------- matrix functions

def _tr_simplify(x):
    if type(x) is E.Eye:
        return E.size(x.n)
    if type(x) is E.Expand and x.arg.rank == 0:
        return E.mul(x.arg, E.size(S.resolve(x.shape[0])))
    if type(x) is E.Mul and type(x.args[0]) is E.Expand and x.args[0].arg.rank == 0:
        rest = x.args[1:]
        inner = rest[0] if len(rest) == 1 else E.mul(*rest)
        return E.mul(x.args[0].arg, E.call("tr", inner))
    if type(x) is E.Transpose:
        return E.call("tr", x.arg)
    if type(x) is E.Call and x.fn == "diag":
        return E.call("sum", x.args[0])
    if type(x) is E.Add:
        return E.add(*[E.call("tr", a) for a in x.args])
    return None


def _det_jvp(args, dargs):
    (x,), (dx,) = args, dargs
    if dx is None:
        return None
    return E.mul(E.call("det", x), E.call("tr", E.matmul(E.call("inv", x), dx)))


def _logdet_jvp(args, dargs):
    (x,), (dx,) = args, dargs
    return None if dx is None else E.call("tr", E.matmul(E.call("inv", x), dx))


def _inv_jvp(args, dargs):
    (x,), (dx,) = args, dargs
    if dx is None:
        return None
    xi = E.call("inv", x)
    return E.neg(E.matmul(xi, dx, xi))


def _inv_simplify(x):
    if type(x) is E.Eye:
        return x
    if type(x) is E.Call and x.fn == "inv":
        return x.args[0]
    return None


def _logdet_np(x):
    return np.linalg.slogdet(x)[1]


def _square_to(shape_fn, name):
    return _with_shape(_square(name), shape_fn)


_register(Function(
    name="tr", arity=1, kind="matrix", numpy=np.trace, jvp=_linear_jvp("tr"),
    rule="trace (linear)", doc="d tr(X) = tr(dX)", check=_square_to(lambda x: (), "tr"),
    simplify=_tr_simplify, latex=r"\operatorname{tr}", linear=True))
_register(Function(
    name="det", arity=1, kind="matrix", numpy=np.linalg.det, jvp=_det_jvp,
    rule="determinant (Jacobi's formula)", doc="d det(X) = det(X) tr(X⁻¹ dX)",
    check=_square_to(lambda x: (), "det"), latex=r"\det"))
_register(Function(
    name="logdet", arity=1, kind="matrix", numpy=_logdet_np, jvp=_logdet_jvp,
    rule="log-determinant", doc="d log|det X| = tr(X⁻¹ dX)",
    check=_square_to(lambda x: (), "logdet"), latex=r"\log\det"))
_register(Function(
    name="inv", arity=1, kind="matrix", numpy=np.linalg.inv, jvp=_inv_jvp,
    rule="matrix inverse", doc="d X⁻¹ = -X⁻¹ dX X⁻¹",
    check=_square_to(lambda x: S.resolved(x.shape), "inv"), simplify=_inv_simplify,
    latex=r"\operatorname{inv}"))


def _diag_simplify(x):
    if type(x) is E.Expand and x.arg.rank == 0:  # diag(z𝟏) = zI
        n = S.resolve(x.shape[0])
        return E.mul(E.expand(x.arg, (n, n)), E.eye(n))
    return None


def _diagonal_simplify(x):
    if type(x) is E.Call and x.fn == "diag":
        return x.args[0]
    if type(x) is E.Eye:
        return E.ones((x.n,))
    return None


_register(Function(
    name="diag", arity=1, kind="vector", numpy=lambda x: np.diag(np.asarray(x, dtype=float)),
    jvp=_linear_jvp("diag"), rule="diagonal matrix (linear)", doc="d diag(x) = diag(dx)",
    check=_with_shape(_need(lambda x: x.rank == 1, "a vector or a square matrix", "diag"),
                      lambda x: (S.resolve(x.shape[0]), S.resolve(x.shape[0]))),
    simplify=_diag_simplify, latex=r"\operatorname{diag}", linear=True))
_register(Function(
    name="diagonal", arity=1, kind="matrix",
    numpy=lambda x: np.diag(np.asarray(x, dtype=float)).copy(),
    jvp=_linear_jvp("diagonal"), rule="diagonal of a matrix (linear)",
    doc="d diag(X) = diag(dX)", check=_square_to(lambda x: (S.resolve(x.shape[0]),), "diag"),
    simplify=_diagonal_simplify, unicode="diag", latex=r"\operatorname{diag}", text="diag",
    linear=True))

# Aliases and sugar: names the parser accepts that build other nodes.
ALIASES = {"trace": "tr", "norm": "norm2", "σ": "sigmoid", "∑": "sum"}


def _dot(x, y):
    if x.rank != 1 or y.rank != 1:
        raise ShapeError(f"dot() needs two vectors, got a {S.describe(S.resolved(x.shape))} "
                         f"and a {S.describe(S.resolved(y.shape))}")
    return E.matmul_op(x, y)


SUGAR = {"dot": (2, _dot)}

# Constants whose arguments are dimensions, not expressions: ones(n), zeros(m, n), eye(n).
CONSTANTS = {"ones": (1, 2), "zeros": (1, 2), "eye": (1, 1)}
