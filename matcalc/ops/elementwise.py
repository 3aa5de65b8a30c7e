"""Element-wise functions: each one ``Op`` record (see :mod:`matcalc.ops.registry`).

For a function of one argument the calculus needs only ``derivative``, f'(x) as an
expression: the JVP is f'(x) ⊙ dx (the paper's "element-wise function": a diagonal
Jacobian).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..core import expr as E
from ..core import shapes as S
from ..errors import BridgeError
from .registry import Form, Op, register

# ------------------------------------------------------------------ shared pieces


def same_shape(args):
    return args, args[0].shape


def broadcast_pair(name):
    def check(args):
        a, b = E.broadcast(args[0], args[1], f"apply {name} to")
        return (a, b), S.resolved(a.shape)
    return check


def table(values: dict):
    """Exact values at exact points: ``{Fraction(0): Fraction(1)}`` for exp."""
    return lambda v: values.get(v)


def is_class(name: str):
    """A ``sympy_match``: the SymPy function class ``name`` (its arguments)."""
    def match(sp, e):
        return e.args if type(e).__name__ == name and isinstance(e, sp.Basic) else None
    return match


def _c(x, value):
    return E.constant(value, x.shape)


_EW_RULE = "element-wise function (scalar derivative rule, diagonal Jacobian)"
# where the rules apply (docs/rules.md)
_APPLIES = "elementwise function"
_APPLIES_KINKED = "elementwise function (not differentiable everywhere)"


def elementwise(name, derivative, numpy, doc, sympy_scalar, code="{xp}.%s({0})", **kw) -> Op:
    """An element-wise function of one argument (the common case, in one line)."""
    if isinstance(code, str):
        code = {"*": code.replace("%s", name)}
    return register(Op(name=name, arity=1, category="elementwise", shape=same_shape,
                       numpy=numpy, rule=kw.pop("rule", _EW_RULE), doc=doc,
                       derivative=derivative, sympy_scalar=sympy_scalar, code=code, **kw))


def _stable_sigmoid(x):
    """σ(x) split by sign: 1/(1 + e) for x ≥ 0 and e/(1 + e) for x < 0, e = exp(-|x|)
    (never the exponential of a positive number, no cancellation: σ(-40) = 4.2e-18,
    where 0.5 (1 + tanh(x/2)) gives 0)."""
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# the same, in generated code (``{xp}`` the target's module)
_SIGMOID_HELPER = ("def {{name}}(x):\n    e = {xp}.exp(-{xp}.abs(x))\n"
                   "    return {xp}.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))\n")


def _zero(x):
    return E.zeros(x.shape)


# ------------------------------------------------------------------ the functions

EXP = elementwise(
    "exp", lambda x: E.call(EXP, x), np.exp, "d exp(x) = exp(x) ⊙ dx",
    lambda sp, z: sp.exp(z), exact=table({Fraction(0): Fraction(1)}),
    sympy_match=is_class("exp"), latex=Form(r"\exp"),
    applies=_APPLIES, example=("exp(x)", "x"), positive=True)

LOG = elementwise(
    "log", lambda x: E.power(x, E.num(-1)), np.log, "d log(x) = dx ⊘ x",
    lambda sp, z: sp.log(z), exact=table({Fraction(1): Fraction(0)}), domain="positive",
    # log(det X) is logdet (matched there)
    sympy_match=lambda sp, e: (e.args if isinstance(e, sp.log)
                               and not isinstance(e.args[0], sp.Determinant) else None),
    latex=Form(r"\log"),
    applies=_APPLIES, example=("log(x)", "x"))

SIN = elementwise(
    "sin", lambda x: E.call(COS, x), np.sin, "d sin(x) = cos(x) ⊙ dx",
    lambda sp, z: sp.sin(z), exact=table({Fraction(0): Fraction(0)}),
    sympy_match=is_class("sin"), latex=Form(r"\sin"),
    applies=_APPLIES, example=("sin(x)", "x"))

COS = elementwise(
    "cos", lambda x: E.neg(E.call(SIN, x)), np.cos, "d cos(x) = -sin(x) ⊙ dx",
    lambda sp, z: sp.cos(z), exact=table({Fraction(0): Fraction(1)}),
    sympy_match=is_class("cos"), latex=Form(r"\cos"),
    applies=_APPLIES, example=("cos(x)", "x"))

TAN = elementwise(
    "tan", lambda x: E.add(_c(x, 1), E.power(E.call(TAN, x), E.num(2))), np.tan,
    "d tan(x) = (1 + tan²(x)) ⊙ dx", lambda sp, z: sp.tan(z),
    exact=table({Fraction(0): Fraction(0)}), sympy_match=is_class("tan"), latex=Form(r"\tan"),
    applies=_APPLIES, example=("tan(a)", "a"))

TANH = elementwise(
    "tanh", lambda x: E.sub(_c(x, 1), E.power(E.call(TANH, x), E.num(2))), np.tanh,
    "d tanh(x) = (1 - tanh²(x)) ⊙ dx", lambda sp, z: sp.tanh(z),
    exact=table({Fraction(0): Fraction(0)}), sympy_match=is_class("tanh"),
    latex=Form(r"\tanh"),
    applies=_APPLIES, example=("tanh(x)", "x"))

SQRT = elementwise(
    "sqrt", lambda x: E.scale(Fraction(1, 2), E.power(E.call(SQRT, x), E.num(-1))), np.sqrt,
    "d sqrt(x) = dx ⊘ (2 sqrt(x))", lambda sp, z: sp.sqrt(z), domain="positive",
    as_power=Fraction(1, 2),  # SymPy writes it as a power: no class to match
    unicode=Form("√", "prefix"), latex=Form(r"\sqrt{{{0}}}", "wrap"),
    applies=_APPLIES, example=("sqrt(a)", "a"))

ABS = elementwise(
    "abs", lambda x: E.call(SIGN, x), np.abs, "d |x| = sign(x) ⊙ dx (0 at x = 0)",
    lambda sp, z: sp.Abs(z), exact=lambda v: abs(v), sympy_match=is_class("Abs"),
    kink=lambda args: args[0], explicit_kinked=lambda sp, sign, z: sign(z) * z,
    unicode=Form("|{0}|", "wrap"), latex=Form(r"\left| {0} \right|", "wrap"),
    applies=_APPLIES_KINKED, example=("abs(x)", "x"))

SIGN = elementwise(
    "sign", _zero, np.sign, "d sign(x) = 0 (where x ≠ 0)", lambda sp, z: sp.sign(z),
    exact=lambda v: Fraction((v > 0) - (v < 0)), sympy_match=is_class("sign"),
    kink=lambda args: args[0], explicit_kinked=lambda sp, sign, z: sign(z),
    applies=_APPLIES_KINKED, example=("sign(a) * a", "a"))

SIGMOID = elementwise(
    "sigmoid", lambda x: E.mul(E.call(SIGMOID, x), E.sub(_c(x, 1), E.call(SIGMOID, x))),
    _stable_sigmoid, "d σ(x) = σ(x) ⊙ (1 - σ(x)) ⊙ dx",
    lambda sp, z: 1 / (1 + sp.exp(-z)), code={"*": "{helper}({0})"},
    helpers={t: _SIGMOID_HELPER.format(xp=xp)
             for t, xp in (("numpy", "np"), ("jax", "jnp"), ("torch", "torch"))},
    exact=table({Fraction(0): Fraction(1, 2)}),
    unicode=Form("σ"), latex=Form(r"\sigma"),
    applies=_APPLIES, example=("sigmoid(x)", "x"), positive=True)

RELU = elementwise(
    "relu", lambda x: E.call(STEP, x), lambda x: np.maximum(0.0, x),
    "d relu(x) = step(x) ⊙ dx (0 at x = 0, the paper's convention)",
    lambda sp, z: sp.Max(0, z),
    code={"*": "{xp}.maximum({0}, 0.0)", "torch": "torch.clamp({0}, min=0.0)"},
    exact=lambda v: max(v, Fraction(0)), kink=lambda args: args[0],
    explicit_kinked=lambda sp, sign, z: z * (1 + sign(z)) / 2,
    applies=_APPLIES_KINKED, example=("relu(x)", "x"))

SOFTPLUS = elementwise(
    "softplus", lambda x: E.call(SIGMOID, x), lambda x: np.logaddexp(0.0, x),
    "d softplus(x) = σ(x) ⊙ dx", lambda sp, z: sp.log(1 + sp.exp(z)),
    # log(1 + eˣ) = max(x, 0) + log1p(exp(-|x|)), as logaddexp computes it (torch's
    # softplus returns x itself above its threshold, 20)
    code={"*": "{xp}.logaddexp(0.0, {0})",
          "torch": "torch.logaddexp({0}, torch.zeros_like({0}))"},
    applies=_APPLIES, example=("softplus(x)", "x"), positive=True)


def _step_explicit(sp, sign, z):
    s = sign(z)
    return (1 + s) / 2 if s != 0 else sp.Integer(0)


def _heaviside(sp, e):
    if not isinstance(e, sp.Heaviside):
        return None
    if len(e.args) == 2 and e.args[1] != 0:
        raise BridgeError(f"matcalc's step(0) is 0; {e} takes another value at 0")
    return e.args[:1]


STEP = elementwise(
    "step", _zero, lambda x: (np.asarray(x) > 0).astype(float),
    "d step(x) = 0 (where x ≠ 0)", lambda sp, z: sp.Heaviside(z, 0),
    code={"*": "{xp}.where({p0} > 0, 1.0, 0.0)",
          "torch": "({p0} > 0).to(torch.float64)"}, exact=lambda v: Fraction(int(v > 0)),
    sympy_match=_heaviside, kink=lambda args: args[0], explicit_kinked=_step_explicit,
    unicode=Form("[{0} > 0]", "wrap"), latex=Form(r"\left[ {0} > 0 \right]", "wrap"),
    applies=_APPLIES_KINKED, example=("step(a) * a", "a"))


# ------------------------------------------------------------ max / min (binary)

def _max_jvp(is_max: bool):
    """d max(a, b) = [a > b] ⊙ da + [a < b] ⊙ db away from ties. At a tie (a
    subgradient, chosen so that max(a, b) + min(a, b) = a + b keeps its derivative):
    - against a constant (max(0, z), the paper's activation): the branch where the
      other is below it, so max(0, z)' = 0 and min(0, z)' = 1 at z = 0;
    - between two variables: split ½/½, through ½(1 ± sign(a - b))."""
    def jvp(args, i, dz):
        a, b = args
        z, other = (a, b) if i == 0 else (b, a)
        if E.const_value(other) is not None:
            above = E.call(STEP, E.sub(z, other))        # [z > c]
            return E.mul(above if is_max else E.sub(E.ones(z.shape), above), dz)
        s = E.call(SIGN, E.sub(a, b))
        picks_a = is_max == (i == 0)   # the weight is ½(1 + s) where a > b picks z
        on = E.mul(E.constant(Fraction(1, 2), s.shape),
                   E.add(E.ones(s.shape), s if picks_a else E.neg(s)))
        return E.mul(on, dz)
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


def _minmax_explicit(is_max: bool):
    def f(sp, sign, a, b):
        # s = 1 where the result is a: max: a > b; min: a < b
        s = sign(a - b) if is_max else sign(b - a)
        if s == 0:
            return a
        return b + (a - b) * (1 + s) / 2
    return f


def _minmax_sympy(is_max: bool):
    """The matrix-expression form: against a constant, the function applied entry-wise;
    else max(a, b) = (a + b + |a - b|) / 2, exact and a matrix form."""
    def f(kit, node, args):
        sp = kit.sp
        op = sp.Max if is_max else sp.Min
        a, b = args
        if not kit.is_mat(a):
            return op(a, b)
        ca, cb = E.const_value(node.args[0]), E.const_value(node.args[1])
        if ca is not None or cb is not None:
            c = ca if ca is not None else cb
            other = b if ca is not None else a
            cs = sp.Rational(c.numerator, c.denominator)
            return kit.ew(lambda d: op(cs, d), other)
        sgn = 1 if is_max else -1
        return kit.scale(sp.Rational(1, 2), a + b + kit.scale(sgn, kit.ew(sp.Abs, a - b)))
    return f


def _minmax(name, is_max, doc, example):
    return register(Op(
        name=name, arity=2, category="elementwise", shape=broadcast_pair(name),
        numpy=np.maximum if is_max else np.minimum, jvp=_max_jvp(is_max),
        rule=("element-wise binary operation (max; the paper's activation max(0, z))"
              if is_max else "element-wise binary operation (min)"), doc=doc,
        code={"*": "{xp}.%s({0}, {1})" % ("maximum" if is_max else "minimum")},
        simplify=_minmax_simplify(max if is_max else min),
        sympy_scalar=lambda sp, a, b: (sp.Max if is_max else sp.Min)(a, b),
        sympy=_minmax_sympy(is_max),
        sympy_match=is_class("Max" if is_max else "Min"),
        kink=lambda args: E.sub(args[0], args[1]), explicit_kinked=_minmax_explicit(is_max),
        latex=Form(r"\max" if is_max else r"\min"), applies=_APPLIES_KINKED,
        example=example))


MAX = _minmax("max", True, "d max(a, b) = [a > b] ⊙ da + [b > a] ⊙ db; at a tie ½ ⊙ (da + db), "
                           "or max(c, z)' = 0 against a constant c", ("max(0, x)", "x"))
MIN = _minmax("min", False, "d min(a, b) = [b > a] ⊙ da + [a > b] ⊙ db; at a tie ½ ⊙ (da + "
                            "db), or min(c, z)' = 1 against a constant c", ("min(x, y)", "x"))
