"""Axis-wise functions (NumPy's ``axis=``): one ``Op`` record per function and axis,
made by one factory, and the all-entries ``max``/``min`` reductions.

``axis=0`` reduces each column (an m×n matrix gives a vector of length n), ``axis=1``
each row (a vector of length m); softmax keeps the shape and normalises each column
or row. The adjoint of an axis sum is a broadcast along the same axis
(``expand(g, shape, axis)``), and a broadcast's adjoint is an axis sum: the rules
below and ``calculus/transpose.py`` are each other's transposes.
"""
from __future__ import annotations

import numpy as np

from ..core import expr as E
from ..core import shapes as S
from ..errors import BridgeError, ShapeError
from .registry import Form, Op, register
from .elementwise import SQRT
from .reductions import LOGSUMEXP, MEAN, NORM1, NORM2, SOFTMAX, SUM, scalar_times

# (name, axis) -> the op; (name, None) -> the all-entries op
AXIS_OPS: dict[tuple, Op] = {}
_WHAT = {0: "col", 1: "row"}   # the notation's subscript: one value per column / row
_EACH = {0: "each column", 1: "each row"}
_TARGETS = (("numpy", "np", "axis"), ("jax", "jnp", "axis"), ("torch", "torch", "dim"))


def _matrix(name, axis, keep: bool):
    """The shape rule: a matrix; the result is the other axis's vector (or the shape)."""
    def check(args):
        x = args[0]
        if x.rank != 2:
            raise ShapeError(f"{name}(..., axis={axis}) needs a matrix, got a "
                             f"{S.describe(S.resolved(x.shape))}")
        return args, (S.resolved(x.shape) if keep else (S.resolve(x.shape[1 - axis]),))
    return check


# the index form of a reduction along axis 0 (the column sums) and 1 (the row sums)
_AXIS_SPECS = {0: "ij->j", 1: "ij->i"}


def _count(x: E.Expr, axis: int) -> E.Expr:
    """How many entries each result entry reduces: the length of ``axis``."""
    return E.size(S.resolve(x.shape[axis]))


def spread(v: E.Expr, x: E.Expr, axis: int) -> E.Expr:
    """A reduced vector ``v`` broadcast back over the axis it was reduced along."""
    return E.expand(v, x.shape, axis)


def _code(template: str) -> dict:
    """Per-target code: ``{f}`` the module's function, ``{ax}`` axis= or dim=."""
    return {t: template.replace("{ax}", kw).replace("{f}", xp) for t, xp, kw in _TARGETS}


def _explicit_reduce(fn, axis):
    """The explicit SymPy form: ``fn`` of each column (axis 0) or row (axis 1)."""
    def explicit(sp, args, sign):
        x = args[0]
        lines = [x[:, j] for j in range(x.cols)] if axis == 0 else \
            [x[i, :] for i in range(x.rows)]
        return sp.Matrix([[fn(sp, list(line))] for line in lines])
    return explicit


def _explicit_softmax(axis):
    def explicit(sp, args, sign):
        x = args[0]
        e = x.applyfunc(sp.exp)
        if axis == 0:
            tot = [sum(e[:, j]) for j in range(x.cols)]
            return sp.Matrix(x.rows, x.cols, lambda i, j: e[i, j] / tot[j])
        tot = [sum(e[i, :]) for i in range(x.rows)]
        return sp.Matrix(x.rows, x.cols, lambda i, j: e[i, j] / tot[i])
    return explicit


def _through_entries(explicit):
    """The SymPy matrix-expression form of an axis-wise function, through the explicit
    form of its argument's entries (there are entries when the sizes are known)."""
    def form(kit, node, args):
        sp = kit.sp
        try:
            m = sp.Matrix(args[0].as_explicit())
        except (TypeError, ValueError, AttributeError):
            raise BridgeError("SymPy has no matrix form for an axis-wise function of "
                              "symbolic size") from None
        out = explicit(sp, [m], None)
        return sp.ImmutableMatrix(out) if isinstance(out, sp.MatrixBase) else out
    return form


def _lse_sympy(sp, v):
    return sp.log(sum(sp.exp(t) for t in v))


def _norm2_sympy(sp, v):
    return sp.sqrt(sum(t ** 2 for t in v))


# ---------------------------------------------------------------- the records

def _matvec(x: E.Expr, axis: int):
    """sum(A ⊙ 𝟏yᵀ, axis=1) = A y and sum(A ⊙ x𝟏ᵀ, axis=0) = Aᵀx: a product with a
    vector broadcast across the summed axis is a matrix-vector product."""
    if type(x) is not E.Mul or len(x.args) != 2:
        return None
    for a, b in (x.args, x.args[::-1]):
        if type(b) is E.Expand and b.arg.rank == 1 and b.axis == 1 - axis \
                and not (type(a) is E.Expand and a.arg.rank == 0):
            return E.matmul(a, b.arg) if axis == 1 else E.matmul(E.transpose(a), b.arg)
    return None


def _pull_broadcast(x: E.Expr, axis: int, op):
    """sum(X ⊙ c𝟏ᵀ, axis=1) = c ⊙ sum(X, axis=1): a factor constant along the summed
    axis comes out (and of a mean)."""
    if type(x) is not E.Mul:
        return None
    for f in x.args:
        if type(f) is E.Expand and f.arg.rank == 1 and f.axis == axis:
            rest = [g for g in x.args if g is not f]
            return E.mul(f.arg, E.call(op, rest[0] if len(rest) == 1 else E.mul(*rest)))
    return None


def _pull_scalar(x: E.Expr, op):
    """op(c𝟏 ⊙ X) = c op(X): a scalar factor comes out of a linear axis-wise op."""
    st = scalar_times(x)
    if st is None:
        return None
    inner = E.call(op, st[1])
    return E.mul(E.expand(st[0], inner.shape), inner)


def _register_sum(axis):
    name = f"sum_axis{axis}"

    def simplify(x):
        if type(x) is E.Var and x.structure == S.PROB and axis == 1:
            return E.ones((S.resolve(x.shape[0]),))  # rows that are distributions
        if type(x) is E.Call and x.op is AXIS_OPS[("softmax", axis)]:
            return E.ones((S.resolve(x.shape[1 - axis]),))
        if type(x) is E.Expand and x.arg.rank == 0:
            return E.expand(E.mul(x.arg, _count(x, axis)), (S.resolve(x.shape[1 - axis]),))
        if type(x) is E.Expand and x.axis == axis:   # v broadcast, summed back: m v
            return E.mul(E.expand(_count(x, axis), x.arg.shape), x.arg)
        if type(x) is E.Expand:                       # summed across: sum(v) 𝟏
            return E.expand(E.call(SUM, x.arg), (S.resolve(x.shape[1 - axis]),))
        if type(x) is E.Transpose:
            return E.call(AXIS_OPS[("sum", 1 - axis)], x.arg)
        mv = _matvec(x, axis)
        if mv is None:
            mv = _pull_broadcast(x, axis, AXIS_OPS[("sum", axis)])
        if mv is not None:
            return mv
        return _pull_scalar(x, AXIS_OPS[("sum", axis)])

    return register(Op(
        name=name, arity=1, category="reduction", shape=_matrix("sum", axis, False),
        numpy=lambda x: np.sum(x, axis=axis), linear=True,
        transpose=lambda a, g: E.expand(g, a.shape, axis),
        index=lambda a: (_AXIS_SPECS[axis], None), rule="axis-wise sum reduction",
        doc=f"d sum(X, axis={axis}) = sum(dX, axis={axis}): the adjoint is a broadcast "
            f"(the gradient repeats g along axis {axis})",
        simplify=simplify, code=_code("{f}.sum({0}, {ax}=%d)" % axis),
        sympy=lambda kit, node, args: (
            kit.sp.Transpose(args[0]) * kit.sp.OneMatrix(args[0].shape[0], 1)
            if axis == 0 else args[0] * kit.sp.OneMatrix(args[0].shape[1], 1)),
        explicit=_explicit_reduce(lambda sp, v: sum(v), axis),
        text="sum", axis=axis, public=False,
        unicode=Form("{xT}𝟏" if axis == 0 else "{x}𝟏", "product"),
        latex=Form(r"{xT} \mathbf{{1}}" if axis == 0 else r"{x} \mathbf{{1}}", "product"),
        applies=f"`sum(X, axis={axis})`, `X.sum(axis={axis})`",
        example=(f"sum(X, axis={axis}) @ {'w' if axis == 0 else 'u'}", "X")))


def _register_mean(axis):
    name = f"mean_axis{axis}"
    summed = AXIS_OPS[("sum", axis)]

    def simplify(x):
        if type(x) is E.Expand and x.arg.rank == 0:
            return E.expand(x.arg, (S.resolve(x.shape[1 - axis]),))
        if type(x) is E.Expand and x.axis == axis:
            return x.arg
        pulled = _pull_broadcast(x, axis, AXIS_OPS[("mean", axis)])
        if pulled is not None:
            return pulled
        return _pull_scalar(x, AXIS_OPS[("mean", axis)])

    return register(Op(
        name=name, arity=1, category="reduction", shape=_matrix("mean", axis, False),
        numpy=lambda x: np.mean(x, axis=axis), linear=True,
        transpose=lambda a, g: E.expand(E.div(g, E.expand(_count(a, axis), g.shape)),
                                        a.shape, axis),
        index=lambda a: (_AXIS_SPECS[axis], E.power(_count(a, axis), E.num(-1))),
        rule="axis-wise mean (sum reduction divided by the count)",
        doc=f"d mean(X, axis={axis}) = sum(dX, axis={axis}) / {'m' if axis == 0 else 'n'}",
        simplify=simplify, code=_code("{f}.mean({0}, {ax}=%d)" % axis),
        sympy=lambda kit, node, args: kit.scale(
            kit.sp.Pow(args[0].shape[axis], -1), summed.sympy(kit, node, args)),
        explicit=_explicit_reduce(lambda sp, v: sum(v) / len(v), axis),
        text="mean", axis=axis, public=False,
        latex=Form(r"\operatorname{mean}_{\text{%s}}" % _WHAT[axis]),
        applies=f"`mean(X, axis={axis})`",
        example=(f"mean(X, axis={axis}) @ {'w' if axis == 0 else 'u'}", "X")))


def _lse_np(axis):
    def f(x):
        x = np.asarray(x, dtype=float)
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(x - m), axis=axis))
    return f


def _softmax_np(axis):
    def f(x):
        x = np.asarray(x, dtype=float)
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)
    return f


def _lse_helpers(axis):
    out = {}
    for t, xp, _ in _TARGETS[:2]:
        out[t] = (f"def {{name}}(x):\n    m = {xp}.max(x, axis={axis}, keepdims=True)\n"
                  f"    m = {xp}.where({xp}.isfinite(m), m, 0.0)\n"
                  f"    return {xp}.squeeze(m, axis={axis}) + "
                  f"{xp}.log({xp}.sum({xp}.exp(x - m), axis={axis}))\n")
    out["torch"] = f"def {{name}}(x):\n    return torch.logsumexp(x, dim={axis})\n"
    return out


def _softmax_helpers(axis):
    out = {}
    for t, xp, _ in _TARGETS[:2]:
        out[t] = (f"def {{name}}(x):\n    e = {xp}.exp(x - {xp}.max(x, axis={axis}, "
                  f"keepdims=True))\n    return e / {xp}.sum(e, axis={axis}, keepdims=True)\n")
    out["torch"] = f"def {{name}}(x):\n    return torch.softmax(x, dim={axis})\n"
    return out


def _register_logsumexp(axis):
    def jvp(args, i, dx):
        x = args[0]
        s = E.call(AXIS_OPS[("softmax", axis)], x)
        return E.call(AXIS_OPS[("sum", axis)], E.mul(s, dx))

    return register(Op(
        name=f"logsumexp_axis{axis}", arity=1, category="reduction",
        shape=_matrix("logsumexp", axis, False), numpy=_lse_np(axis), jvp=jvp,
        rule="axis-wise log-sum-exp",
        doc=f"d logsumexp(X, axis={axis}) = sum(softmax(X, axis={axis}) ⊙ dX, axis={axis})",
        code={"*": "{helper}({0})"}, helpers=_lse_helpers(axis),
        sympy=_through_entries(_explicit_reduce(_lse_sympy, axis)),
        explicit=_explicit_reduce(_lse_sympy, axis),
        text="logsumexp", axis=axis, public=False,
        latex=Form(r"\operatorname{logsumexp}_{\text{%s}}" % _WHAT[axis]),
        applies=f"`logsumexp(X, axis={axis})`",
        example=(f"sum(logsumexp(X, axis={axis}))", "X")))


def _register_softmax(axis):
    def jvp(args, i, dx):
        x = args[0]
        s = E.call(AXIS_OPS[("softmax", axis)], x)
        sdx = E.mul(s, dx)
        return E.sub(sdx, E.mul(s, spread(E.call(AXIS_OPS[("sum", axis)], sdx), x, axis)))

    return register(Op(
        name=f"softmax_axis{axis}", arity=1, category="matrix",
        shape=_matrix("softmax", axis, True), numpy=_softmax_np(axis), jvp=jvp,
        rule="row-wise softmax" if axis == 1 else "column-wise softmax",
        doc=f"d softmax(Z, axis={axis}) = S ⊙ dZ − S ⊙ sum(S ⊙ dZ, axis={axis}) spread over "
            f"{_EACH[axis]}, S = softmax(Z, axis={axis}): the Jacobian is block-diagonal "
            f"(one softmax Jacobian per {'row' if axis == 1 else 'column'}) and is never "
            f"formed",
        code={"*": "{helper}({0})"}, helpers=_softmax_helpers(axis),
        sympy=_through_entries(_explicit_softmax(axis)),
        explicit=_explicit_softmax(axis), text="softmax", axis=axis, public=False,
        latex=Form(r"\operatorname{softmax}_{\text{%s}}" % _WHAT[axis]),
        applies=f"`softmax(Z, axis={axis})`",
        example=(f"sum(G * log(softmax(Z, axis={axis})))", "Z"),
        positive=True))


def _register_norm2(axis):
    def jvp(args, i, dx):
        x = args[0]
        return E.div(E.call(AXIS_OPS[("sum", axis)], E.mul(x, dx)),
                     E.call(AXIS_OPS[("norm2", axis)], x))

    def np_norm(x):
        x = np.asarray(x, dtype=float)
        a = np.abs(x)
        m = np.max(a, axis=axis, keepdims=True)
        s = np.where((m > 0) & (m < np.inf), m, 1.0)
        return np.squeeze(s, axis=axis) * np.sqrt(np.sum(np.square(a / s), axis=axis))

    helpers = {t: (f"def {{name}}(x):\n    m = {xp}.max({xp}.abs(x), {kw}={axis}, "
                   f"keepdim{'' if t == 'torch' else 's'}=True)"
                   + (".values" if t == "torch" else "") + "\n"
                   f"    s = {xp}.where((m > 0) & (m < {xp}.inf), m, "
                   f"{'torch.ones_like(m)' if t == 'torch' else '1.0'})\n"
                   f"    return {xp}.squeeze(s, {kw}={axis}) * "
                   f"{xp}.sqrt({xp}.sum((x / s) * (x / s), {kw}={axis}))\n")
               for t, xp, kw in _TARGETS}
    return register(Op(
        name=f"norm2_axis{axis}", arity=1, category="reduction",
        shape=_matrix("norm2", axis, False), numpy=np_norm, jvp=jvp,
        rule="axis-wise 2-norm",
        doc=f"d norm2(X, axis={axis}) = sum(X ⊙ dX, axis={axis}) ⊘ norm2(X, axis={axis})",
        code={"*": "{helper}({0})"}, helpers=helpers,
        code_squared="{xp}.sum({0} * {0}, axis=%d)" % axis,
        sympy=_through_entries(_explicit_reduce(_norm2_sympy, axis)),
        explicit=_explicit_reduce(_norm2_sympy, axis),
        text="norm2", axis=axis, public=False,
        latex=Form(r"\left\| {0} \right\|_{{\text{{%s}}}}" % _WHAT[axis], "wrap"),
        applies=f"`norm2(X, axis={axis})`", example=(f"sum(norm2(X, axis={axis}))", "X")))


# ---------------------------------------------------------------- max and min

EQUAL = None  # the indicator [a = b], registered below


def _equal_np(a, b):
    return (np.asarray(a) == np.asarray(b)).astype(float)


def _register_equal():
    from .elementwise import broadcast_pair
    return register(Op(
        name="equal", arity=2, category="elementwise", shape=broadcast_pair("equal"),
        numpy=_equal_np, jvp=lambda args, i, d: E.zeros(d.shape),
        rule="indicator (derivative 0)",
        doc="[a = b]: 1 where a = b, else 0 (the mask of a maximum); its derivative is 0",
        code={"*": "{xp}.where({p0} == {p1}, 1.0, 0.0)",
              "torch": "({p0} == {p1}).to(torch.float64)"},
        sympy_scalar=lambda sp, a, b: sp.Piecewise((1, sp.Eq(a, b)), (0, True)),
        unicode=Form("[{0} = {1}]", "wrap"), latex=Form(r"\left[ {0} = {1} \right]", "wrap"),
        applies="`equal(a, b)`; the mask in the derivative of `max(X)`",
        example=("equal(x, y) * x", "x")))


def _register_extreme(fn, axis):
    """max or min over all entries (axis None) or along an axis."""
    is_max = fn == "max"
    npf = np.max if is_max else np.min
    key = (fn, axis)
    name = f"{'a' + fn if axis is None else fn + '_axis' + str(axis)}"

    def jvp(args, i, dx):
        # the mask of where the extreme is, shared equally by tied entries (as JAX
        # does; a subgradient, and the derivative where tied entries move together)
        x = args[0]
        m = E.call(AXIS_OPS[key], x)
        at = E.call(EQUAL, x, E.expand(m, x.shape) if axis is None else spread(m, x, axis))
        total = SUM if axis is None else AXIS_OPS[("sum", axis)]
        return E.div(E.call(total, E.mul(at, dx)), E.call(total, at))

    if axis is None:
        shape = _any_array(fn)
        code = {"*": "{xp}.%s({0})" % ("max" if is_max else "min")}
        explicit = (lambda sp, args, sign: (sp.Max if is_max else sp.Min)(*list(args[0])))
        latex = Form(r"\%s" % fn)
    else:
        shape = _matrix(fn, axis, False)
        code = _code("{f}.%s({0}, {ax}=%d)" % ("max" if is_max else "min", axis))
        code["torch"] = "torch.%s({0}, dim=%d)" % ("amax" if is_max else "amin", axis)
        explicit = _explicit_reduce(lambda sp, v: (sp.Max if is_max else sp.Min)(*v), axis)
        latex = Form(r"\%s_{\text{%s}}" % (fn, _WHAT[axis]))
    if axis is None:
        code["torch"] = "torch.%s({0})" % ("amax" if is_max else "amin")
    return register(Op(
        name=name, arity=1, category="reduction", shape=shape,
        numpy=(lambda x: npf(x)) if axis is None else (lambda x: npf(x, axis=axis)),
        jvp=jvp, rule=f"{fn} reduction" if axis is None else f"axis-wise {fn} reduction",
        doc=f"d {fn}(X{'' if axis is None else ', axis=%d' % axis}) = the entry of dX at the "
            f"{'largest' if is_max else 'smallest'} entry of X"
            f"{'' if axis is None else ' in ' + _EACH[axis]} ([X = {fn}] ⊙ dX summed); "
            f"where entries tie, shared equally among them (as JAX does)",
        code=code, sympy=_through_entries(explicit), explicit=explicit, text=fn, axis=axis, latex=latex, public=False,
        applies=f"`{fn}(X{'' if axis is None else ', axis=%d' % axis})`",
        example=(f"{fn}(x)" if axis is None else f"sum({fn}(X, axis={axis}))",
                 "x" if axis is None else "X")))


def _any_array(fn):
    def check(args):
        x = args[0]
        if x.rank == 0:
            raise ShapeError(f"{fn}(a) of one argument needs a vector or a matrix, got a "
                             f"scalar (for the larger of two, {fn}(a, b))")
        return args, ()
    return check


def _build():
    global EQUAL
    EQUAL = _register_equal()
    for axis in (0, 1):
        AXIS_OPS[("sum", axis)] = _register_sum(axis)
    for axis in (0, 1):
        AXIS_OPS[("mean", axis)] = _register_mean(axis)
        AXIS_OPS[("softmax", axis)] = _register_softmax(axis)
        AXIS_OPS[("logsumexp", axis)] = _register_logsumexp(axis)
        AXIS_OPS[("norm2", axis)] = _register_norm2(axis)
    for fn in ("max", "min"):
        AXIS_OPS[(fn, None)] = None  # filled in just below (the jvp looks itself up)
        AXIS_OPS[(fn, None)] = _register_extreme(fn, None)
        for axis in (0, 1):
            AXIS_OPS[(fn, axis)] = _register_extreme(fn, axis)
    AXIS_OPS.update({("sum", None): SUM, ("mean", None): MEAN, ("softmax", None): SOFTMAX,
                     ("logsumexp", None): LOGSUMEXP, ("norm2", None): NORM2,
                     ("norm1", None): NORM1})


_build()


class Statistic:
    """A function of the language written with the others, not a record of its own:
    its derivative, code and printing are those of what it is built from."""
    __slots__ = ("name", "doc")

    def __init__(self, name: str, doc: str):
        self.name, self.doc = name, doc

    def __repr__(self) -> str:
        return f"<Statistic {self.name}>"


VAR = Statistic("var", "var(X, axis) = mean((X − mean(X, axis, keepdims=True))², axis), "
                       "NumPy's (ddof 0)")
STD = Statistic("std", "std(X, axis) = √var(X, axis)")
STATISTICS = {s.name: s for s in (VAR, STD)}


def _statistic(name: str, x: E.Expr, axis, keepdims: bool) -> E.Expr:
    centred = E.sub(*E.broadcast(x, reduce_call("mean", x, axis, axis is not None),
                                 "subtract"))
    var = reduce_call("mean", E.power(centred, E.num(2)), axis, keepdims)
    return var if name == "var" else E.call(SQRT, var)


def along(op: Op, axis: int) -> Op:
    """The axis-wise version of an all-entries function: ``along(SOFTMAX, 1)`` is
    row-wise softmax (KeyError for a function without one)."""
    return AXIS_OPS[(op.text, axis)] if AXIS_OPS.get((op.text, None)) is op else \
        AXIS_OPS[(None, None)]


def base_of(op: Op):
    """(the all-entries function, axis) of an axis-wise function, else None."""
    if op.axis is None:
        return None
    return AXIS_OPS[(op.text, None)], op.axis


def axis_sum(axis: int) -> Op:
    """The sum along ``axis`` (the adjoint of a broadcast along it)."""
    return AXIS_OPS[("sum", axis)]


def reduce_call(name: str, x: E.Expr, axis=None, keepdims: bool = False) -> E.Expr:
    """``name(x, axis=axis, keepdims=keepdims)`` as NumPy means it.

    ``axis`` None reduces every entry; a negative axis counts from the end; an axis
    on a vector must be 0 (the whole vector); ``keepdims`` keeps the reduced axis with
    length 1 (``(m, 1)`` or the row ``(1, n)``)."""
    if name == "norm":
        name = "norm2"
    if name in STATISTICS:
        if axis is not None:  # checked and normalised below, through mean
            reduce_call("mean", x, axis)
        return _statistic(name, x, axis, keepdims)
    if (name, None) not in AXIS_OPS:
        raise ShapeError(f"{name}() takes no axis")
    if axis is not None:
        if x.rank == 0:
            raise ShapeError(f"axis {axis} is out of range for a scalar (it has no axes)")
        if not -x.rank <= axis < x.rank:
            raise ShapeError(f"axis {axis} is out of range for a "
                             f"{S.describe(S.resolved(x.shape))} (axes 0"
                             f"{' and 1' if x.rank == 2 else ''}"
                             f"{', or -1' if x.rank == 1 else ', or -1 and -2'})")
        axis %= x.rank
        if x.rank == 1:
            axis = None  # the only axis of a vector: all of it
    if axis is None:
        op = AXIS_OPS[(name, None)]
        out = E.call(op, x)
        if keepdims and out.rank == 0 and x.rank:
            out = E.expand(out, (1,) * x.rank)
        return out
    if (name, axis) not in AXIS_OPS:
        raise ShapeError(f"{name}() takes no axis")
    out = E.call(AXIS_OPS[(name, axis)], x)
    if keepdims and out.rank == 1:
        # the reduced axis kept, of length 1: an m×1 column, or the row 1×n
        out = E.expand(out, (S.resolve(x.shape[0]), 1), 1) if axis == 1 else E.transpose(out)
    return out
