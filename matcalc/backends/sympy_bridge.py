"""To and from SymPy's matrix expressions, and an optional SymPy simplification pass.

``to_sympy(e)`` gives a SymPy expression built from ``MatrixSymbol`` (matrices and
vectors, a vector being n×1), ``Symbol`` (scalars and dimensions), ``Transpose``,
``Inverse``, ``Trace``, ``Determinant``, ``HadamardProduct``, ``HadamardPower``,
``DiagMatrix``, ``DiagonalOf``, ``Identity``, ``OneMatrix`` and
``ElementwiseApplyFunction`` for the element-wise functions. A scalar that is a 1×1
matrix product (``xᵀAx``) becomes the element ``[0, 0]`` of that product, so that it
can be added to and multiplied with other scalars.

``from_sympy(e)`` goes the other way, for SymPy's matrix expressions and scalar
expressions (``x.T*A*x``, ``Trace(A*X)``, ``log(Determinant(X))``...).

SymPy is imported inside the functions only: the core never needs it.
"""
from __future__ import annotations

import dataclasses
from fractions import Fraction

from ..core import expr as E
from .. import limits
from ..core import shapes as S
from ..errors import BridgeError, MatcalcError, quote
from ..ops import INV, REGISTRY
from .interpreter import Interpreter

# SymPy's own algorithms (hashing, printing, doit) recurse on the depth of an
# expression: deeper ones are refused with a BridgeError rather than risking the
# recursion limit (or, in a thread with a small stack, the process).
MAX_SYMPY_DEPTH = 400

def sym_dim(d):
    """A matcalc dimension as SymPy: a positive integer Symbol, or an Integer."""
    import sympy as sp
    d = S.resolve(d)
    if isinstance(d, int):
        return sp.Integer(d)
    return sp.Symbol(str(d), integer=True, positive=True)


def _shape2d(shape):
    return tuple(sym_dim(d) for d in E.as2d(shape))


def _is_mat(x) -> bool:
    return getattr(x, "is_Matrix", False)


def to_sympy(expr: E.Expr):
    """The SymPy form of a matcalc expression (raises BridgeError where there is none)."""
    if expr.depth > MAX_SYMPY_DEPTH:
        raise BridgeError(f"the expression is nested {expr.depth:,} levels deep; SymPy is "
                          f"given at most {MAX_SYMPY_DEPTH}")
    return ToSympy().value(expr)


def _scalar_of_1x1(m):
    from sympy.matrices.expressions.matexpr import MatrixElement
    return MatrixElement(m, 0, 0)


def _scale(c, m):
    """``c * m`` without evaluation (``c * m`` would expand a MatrixElement into a Sum)."""
    import sympy as sp
    if c == 1:
        return m
    return sp.MatMul(c, m)


def _ones(shape):
    import sympy as sp
    r, c = _shape2d(shape)
    return sp.OneMatrix(r, c)


def _sum_all(m):
    import sympy as sp
    r, c = m.shape
    return _scalar_of_1x1(sp.OneMatrix(1, r) * m * sp.OneMatrix(c, 1))


def _ew(fn, m):
    import sympy as sp
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
    if not _is_mat(m):
        return fn(m)
    d = sp.Dummy("d")
    return ElementwiseApplyFunction(sp.Lambda(d, fn(d)), m)


def _to_scalar_from_expand(m):
    """``c * OneMatrix`` -> ``c``."""
    import sympy as sp
    if isinstance(m, sp.OneMatrix):
        return sp.Integer(1)
    if isinstance(m, sp.MatMul):
        scal = [a for a in m.args if not _is_mat(a)]
        return sp.Mul(*scal)
    raise BridgeError(f"unexpected expanded scalar {m}")  # pragma: no cover


class SympyKit:
    """What an op's ``sympy`` form is given (``op.sympy(kit, node, args)``): the SymPy
    module and the bridge's helpers for matrix expressions."""
    __slots__ = ()

    @property
    def sp(self):
        import sympy
        return sympy

    is_mat = staticmethod(_is_mat)
    sum_all = staticmethod(_sum_all)
    ew = staticmethod(_ew)
    scale = staticmethod(_scale)
    ones = staticmethod(_ones)

    @staticmethod
    def diag_matrix(v):
        from sympy.matrices.expressions.diagonal import DiagMatrix
        return DiagMatrix(v)

    @staticmethod
    def diagonal_of(m):
        from sympy.matrices.expressions.diagonal import DiagonalOf
        return DiagonalOf(m)


KIT = SympyKit()


class ToSympy(Interpreter):
    """The SymPy form of each node, from its children's (one method per node kind)."""

    def _eval_Var(self, e: E.Var, args: list):
        import sympy as sp
        name = ("d" + e.name) if e.tangent else e.name
        if e.rank == 0:
            return sp.Symbol(name, real=True)
        return sp.MatrixSymbol(name, *_shape2d(e.shape))

    def _eval_Num(self, e: E.Num, args: list):
        import sympy as sp
        return sp.Rational(e.value.numerator, e.value.denominator)

    def _eval_Size(self, e: E.Size, args: list):
        return sym_dim(e.dim)

    def _eval_Eye(self, e: E.Eye, args: list):
        import sympy as sp
        return sp.Identity(sym_dim(e.n))

    def _eval_Select(self, e: E.Select, args: list):
        import sympy as sp
        n = sym_dim(e.n)
        if e.stop is None:
            if e.start < 0:
                raise BridgeError("SymPy has no form for a negative index of symbolic size")
            return sp.Identity(n)[:, e.start]
        return sp.Identity(n)[:, e.start:sym_dim(e.stop) if e.start == 0 else e.stop]

    def _eval_Add(self, e: E.Add, args: list):
        import sympy as sp
        return sp.Add(*args) if e.rank == 0 else sp.MatAdd(*args).doit(deep=False)

    def _eval_Mul(self, e: E.Mul, args: list):
        import sympy as sp
        if e.rank == 0:
            return sp.Mul(*args)
        coeff, mats = sp.Integer(1), []
        for a, ca in zip(e.args, args):
            if type(a) is E.Expand and a.arg.rank == 0:
                coeff = coeff * _to_scalar_from_expand(ca)
            else:
                mats.append(ca)
        if not mats:
            return _scale(coeff, _ones(e.shape))
        m = mats[0] if len(mats) == 1 else sp.HadamardProduct(*mats)
        return _scale(coeff, m)

    def _eval_Pow(self, e: E.Pow, args: list):
        import sympy as sp
        b, x = args
        if e.rank == 0:
            return b ** x
        if _is_mat(x):
            raise BridgeError(f"SymPy has no matrix form for an element-wise power with a "
                              f"matrix exponent: {e}")
        return sp.HadamardPower(b, x)

    def _eval_MatMul(self, e: E.MatMul, args: list):
        import sympy as sp
        m = sp.MatMul(*args).doit(deep=False)
        return _scalar_of_1x1(m) if e.rank == 0 else m

    def _eval_Transpose(self, e: E.Transpose, args: list):
        import sympy as sp
        return sp.Transpose(args[0]).doit(deep=False) if _is_mat(args[0]) else args[0]

    def _eval_Expand(self, e: E.Expand, args: list):
        import sympy as sp
        a = args[0]
        if e.args[0].rank == 0:
            return _scale(a, _ones(e.shape))
        r, c = _shape2d(e.shape)
        if e.axis == 1:
            return a * sp.OneMatrix(1, c)  # a vector as each column
        return sp.OneMatrix(r, 1) * sp.Transpose(a)  # a vector repeated as rows

    def _eval_Call(self, e: E.Call, args: list):
        import sympy as sp
        op = e.op
        if op.sympy is not None:  # a matrix-expression form (max/min have one too)
            return op.sympy(KIT, e, args)
        if op.sympy_scalar is not None:  # element-wise: entry by entry
            if len(args) == 1:
                return _ew(lambda d: op.sympy_scalar(sp, d), args[0])
            if not any(_is_mat(a) for a in args):
                return op.sympy_scalar(sp, *args)
        raise BridgeError(f"SymPy has no matrix form for {op.name}()")

    def _eval_VecLit(self, e: E.VecLit, args: list):
        import sympy as sp
        return sp.ImmutableMatrix([[a] for a in args])

    def _eval_Entry(self, e: E.Entry, args: list):
        from sympy.matrices.expressions.matexpr import MatrixElement
        return MatrixElement(args[0], e.index, 0)


# ------------------------------------------------------------------ from SymPy

def _dim_of(d):
    import sympy as sp
    if isinstance(d, (sp.Integer, int)) and int(d) > 0:
        return int(d)
    if isinstance(d, sp.Symbol) and S.DIM_RE.fullmatch(d.name) and len(d.name) <= S.MAX_NAME:
        return d.name
    raise BridgeError(f"cannot use {quote(d)} as a dimension (a Symbol named like n, or a "
                      f"positive integer)")


def _name_of(sym) -> str:
    """A SymPy symbol's name, if it is a name of the language."""
    if not (S.NAME_RE.fullmatch(sym.name) and len(sym.name) <= S.MAX_NAME):
        raise BridgeError(f"cannot use the SymPy symbol {quote(sym.name)} as a variable: a "
                          f"name is a letter followed by letters, digits or _")
    return sym.name


def _shape_of(m) -> tuple:
    r, c = (_dim_of(d) for d in m.shape)
    if c == 1:
        return (r,)
    return (r, c)


def from_sympy(e) -> E.Expr:
    """A matcalc expression from a SymPy scalar or matrix expression."""
    import sympy as sp
    if isinstance(e, str):
        raise BridgeError("from_sympy() needs a SymPy expression; for text use matcalc.parse")
    if not isinstance(e, sp.Basic):
        raise BridgeError(f"from_sympy() needs a SymPy expression, not a "
                          f"{type(e).__name__}")
    try:
        return _from(e, {})
    except RecursionError:
        raise BridgeError("the SymPy expression is nested too deeply") from None
    except MatcalcError as err:
        if isinstance(err, BridgeError):
            raise
        raise BridgeError(err.message) from None


def _bin(fn, a: E.Expr, b: E.Expr) -> E.Expr:
    a, b = E.broadcast(a, b, "combine")
    return fn(a, b)


def _fold(fn, items):
    out = items[0]
    for it in items[1:]:
        out = _bin(fn, out, it)
    return out


def _from_op(e, rec):
    """``e`` as a call of a registered function, by the records' ``sympy_match``
    (read at each call: a function registered at run time is found); else None."""
    import sympy as sp
    for op in REGISTRY.values():
        match = op.sympy_match
        if match is None:
            continue
        found = match(sp, e)
        if found is None:
            continue
        items = [rec(a) for a in found]
        if op.arity == 2 and len(items) >= 2:  # Max(a, b, c): folded pairwise
            return _fold(lambda a, b, op=op: E.call(op, a, b), items)
        if len(items) != op.arity:
            raise BridgeError(f"no matcalc form for the SymPy {type(e).__name__} {e}: "
                              f"{op.name}() takes {op.arity} argument(s), not {len(items)}")
        return E.call(op, *items)
    return None


def _from(e, env: dict) -> E.Expr:
    import sympy as sp
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
    from sympy.matrices.expressions.matexpr import MatrixElement
    from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct
    rec = lambda x: _from(x, env)  # noqa: E731
    if e in env:
        return env[e]
    if isinstance(e, sp.MatrixSymbol):
        return E.var(_name_of(e), _shape_of(e))
    if isinstance(e, sp.Symbol):
        if e.is_integer and e.is_positive:  # a dimension (to_sympy's sym_dim)
            return E.size(_dim_of(e))
        return E.var(_name_of(e), ())
    if isinstance(e, (sp.Integer, sp.Rational)):
        return E.num(Fraction(int(e.p), int(e.q)))
    if isinstance(e, sp.Float):
        return E.num(Fraction(str(e)))
    if e is sp.S.Half:
        return E.num(Fraction(1, 2))
    if isinstance(e, sp.Identity):
        return E.eye(_dim_of(e.shape[0]))
    if isinstance(e, sp.ZeroMatrix):
        return E.zeros(_shape_of(e))
    if isinstance(e, sp.OneMatrix):
        return E.ones(_shape_of(e))
    # the functions of the language (Trace, Determinant, Inverse, exp, Max...)
    called = _from_op(e, rec)
    if called is not None:
        return called
    # SymPy's structure
    if isinstance(e, (sp.Add, sp.MatAdd)):
        return _fold(E.add, [rec(a) for a in e.args])
    if isinstance(e, sp.MatMul):
        scal = [rec(a) for a in e.args if not _is_mat(a)]
        mats = [rec(a) for a in e.args if _is_mat(a)]
        prod = E.matmul(*mats)
        return _fold(E.mul, scal + [prod]) if scal else prod
    if isinstance(e, (sp.Mul, HadamardProduct)):
        return _fold(E.mul, [rec(a) for a in e.args])
    if isinstance(e, sp.Pow):
        base, ex = e.args
        return E.power(rec(base), rec(ex))
    if isinstance(e, HadamardPower):
        return E.power(rec(e.base), rec(e.exp))
    if isinstance(e, sp.MatPow):  # (Inverse, a MatPow, is matched above)
        base, ex = e.args
        if ex == -1:
            return E.call(INV, rec(base))
        if isinstance(ex, sp.Integer) and ex != 0:
            b = rec(base) if ex > 0 else E.call(INV, rec(base))
            return E.matmul(*([b] * abs(int(ex))))
        raise BridgeError(f"no matcalc form for the matrix power {e}")
    if isinstance(e, sp.Transpose):
        return E.transpose(rec(e.arg))
    if isinstance(e, MatrixElement):
        m = rec(e.parent)
        i, j = int(e.i), int(e.j)
        if m.rank == 0 and i == 0 and j == 0:
            return m
        if m.rank == 1 and j == 0:
            return E.entry(m, i)
        raise BridgeError(f"no matcalc form for the matrix entry {e}")
    if isinstance(e, ElementwiseApplyFunction):
        lam = e.function
        m = rec(e.expr)
        if not isinstance(lam, sp.Lambda):
            d = sp.Dummy("d")
            lam = sp.Lambda(d, lam(d))
        (d,) = lam.variables
        return _from(lam.expr, {**env, d: m})
    if isinstance(e, (sp.ImmutableMatrix, sp.MutableDenseMatrix)) and e.shape[1] == 1:
        return E.veclit([rec(a) for a in e])
    raise BridgeError(f"no matcalc form for the SymPy {type(e).__name__} {e}")


# ------------------------------------------------------ the SymPy simplification pass

def _random_values(variables, seed: int) -> dict:
    import numpy as np
    rng = np.random.default_rng(seed)
    dims: dict = {}
    vals = {}
    for v in variables:
        shape = tuple(S.resolve(d) if isinstance(S.resolve(d), int)
                      else dims.setdefault(S.resolve(d), 2 + len(dims) % 2) for d in v.shape)
        vals[v.name] = rng.uniform(0.3, 1.7, size=shape)
    return vals


def same_value(a: E.Expr, b: E.Expr, trials: int = 3, rtol: float = 1e-9) -> bool:
    """Whether ``a`` and ``b`` agree at a few random (positive) points."""
    import numpy as np
    from .numeric import evaluate
    vs = {v.name: v for v in E.variables(a) + E.variables(b) if not v.tangent}
    for seed in range(trials):
        vals = _random_values(list(vs.values()), seed)
        try:
            va, vb = evaluate(a, vals), evaluate(b, vals)
        except Exception:  # noqa: BLE001 - a point where either is undefined proves nothing
            return False
        if va.shape != vb.shape or not np.allclose(va, vb, rtol=rtol, atol=1e-12,
                                                   equal_nan=False):
            return False
    return True


def sympy_simplify(e: E.Expr) -> E.Expr:
    """``e`` simplified by SymPy when that is safe and measurably better.

    Only scalar expressions made of scalar nodes go through SymPy (``simplify`` and
    ``factor``); a candidate is kept only if it has fewer nodes
    (:func:`matcalc.core.expr.count_nodes`) and the same value at random points.
    Anything else is returned unchanged.
    """
    import sympy as sp
    if e.rank != 0 or any(n.rank != 0 for n in E.postorder(e)) \
            or any(n.tangent for n in E.variables(e)):
        return e
    try:
        s = to_sympy(e)
    except BridgeError:
        return e
    best, best_n = e, E.count_nodes(e)
    seconds = limits.current().sympy_simplify_seconds
    for how in (sp.factor, sp.simplify):
        # SymPy's simplify has no time limit of its own (sin nested 20 deep: minutes)
        found = limits.run_with_deadline(lambda: how(s), seconds)
        if found is None:
            continue
        try:
            cand = from_sympy(found)
        except Exception:  # noqa: BLE001 - a form we cannot bring back is just skipped
            continue
        if cand.shape == e.shape and E.count_nodes(cand) < best_n and same_value(cand, e):
            best, best_n = cand, E.count_nodes(cand)
    return best


def _elementwise(n: E.Expr) -> bool:
    """Arithmetic done entry by entry: a scalar function of per-entry values."""
    t = type(n)
    return t in (E.Add, E.Mul) or t is E.Pow and (n.exp.rank == 0 or n.exp.shape == n.shape) \
        or t is E.Call and n.op.category == "elementwise" \
        or t is E.Expand and n.arg.rank == 0


class _Scalars:
    """An element-wise sub-expression as a SymPy scalar: each maximal sub-tree that is
    not element-wise (Xw, sum(y), softmax(z)...) becomes one real symbol, positive
    where its function says so (``Op.positive``)."""

    def __init__(self):
        self.atoms: dict = {}    # node -> symbol
        self.env: dict = {}      # symbol -> node

    def of(self, n: E.Expr):
        import sympy as sp
        c = E.const_value(n)
        if c is not None:
            return sp.Rational(c.numerator, c.denominator)
        t = type(n)
        if t is E.Add:
            return sp.Add(*[self.of(a) for a in n.args])
        if t is E.Mul:
            return sp.Mul(*[self.of(a) for a in n.args])
        if t is E.Pow and _elementwise(n):
            return self.of(n.base) ** self.of(n.exp)
        if t is E.Expand and n.arg.rank == 0:
            return self.of(n.arg)
        if t is E.Call and n.op.category == "elementwise":
            return n.op.sympy_scalar(sp, *[self.of(a) for a in n.args])
        if n not in self.atoms:
            positive = True if t is E.Call and n.op.positive else None
            sym = sp.Symbol(f"a{len(self.atoms)}", real=True, positive=positive)
            self.atoms[n], self.env[sym] = sym, n
        return self.atoms[n]


def _simplify_entrywise(e: E.Expr) -> E.Expr:
    """One element-wise sub-expression simplified as a scalar by SymPy, brought back
    with its atoms, tidied by the rule-based pass (which names σ, softplus...); kept
    if smaller and of the same value."""
    import sympy as sp
    from ..calculus.simplify import simplify as rules
    kit = _Scalars()
    try:
        s = kit.of(e)
    except (BridgeError, TypeError):
        return e
    seconds = limits.current().sympy_simplify_seconds
    best, best_n = e, E.tree_size(e)
    for how in (sp.factor, sp.simplify):
        found = limits.run_with_deadline(lambda: how(s), seconds)
        if found is None:
            continue
        try:
            cand = _from(found, kit.env)
            cand = rules(E.expand(cand, e.shape) if cand.rank < e.rank else cand)
        except Exception:  # noqa: BLE001 - a form we cannot bring back is just skipped
            continue
        if cand.shape == e.shape and E.tree_size(cand) < best_n and same_value(cand, e):
            best, best_n = cand, E.tree_size(cand)
    return best


def sympy_simplify_entrywise(root: E.Expr) -> E.Expr:
    """Every maximal element-wise sub-expression of ``root`` through SymPy as a scalar
    of per-entry symbols (``y_i``, ``p_i``...): ``(a ⊘ p) ⊙ p = a`` with p = softmax(z)
    known positive, ``exp(u)/(1 + exp(u)) = σ(u)``."""
    if any(v.tangent for v in E.variables(root)):
        return root  # a differential: left to the rule-based pass
    whole: set = {root}
    for n in E.postorder(root):
        for a in n.args:
            if not _elementwise(n) or a.shape != n.shape:
                whole.add(a)
    import sympy  # noqa: F401 - imported here, not under a deadline (see run_with_deadline)

    def fn(node, args):
        new = node if all(a is b for a, b in zip(args, node.args)) else node.rebuild(args)
        if node in whole and _elementwise(new) and type(new) is not E.Expand:
            return _simplify_entrywise(new)
        return new
    return E.transform(root, fn)


def simplify_derivative(d):
    """The SymPy pass on a Derivative: a scalar result as a whole, then every
    element-wise part of any result as scalars; returns a Derivative. The whole pass
    has one budget (limits.sympy_simplify_seconds); past it, ``d`` is returned as it
    is."""
    import sympy  # noqa: F401 - imported here, not under the deadline
    from ..calculus.result import Kind
    if d.kind in (Kind.ZERO, Kind.DIFFERENTIAL):
        return d

    def both():
        e = sympy_simplify(d.expr) if d.expr.rank == 0 else d.expr
        return sympy_simplify_entrywise(e)
    new = limits.run_with_deadline(both, limits.current().sympy_simplify_seconds)
    if new is None or new is d.expr:
        return d
    return dataclasses.replace(d, expr=new)

