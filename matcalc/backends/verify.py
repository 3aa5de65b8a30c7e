"""Verification of a derivative: a symbolic proof on small sizes, and finite differences.

Symbolic check (``symbolic (n=2, m=3): holds``): every symbolic dimension gets a small
integer (each value of ``dims`` in turn, distinct sizes where there are several
dimensions, so that a missing transpose fails), every variable becomes an explicit
SymPy matrix of scalar symbols (``x -> [x[0], x[1]]``), ``f`` and the rule-based
derivative are evaluated over them, ``f`` is differentiated entry by entry with
SymPy's scalar ``diff``, and each entry of the difference is proved to be 0
(``expand``, then ``cancel``, then ``simplify`` with a time budget).

Non-smooth functions are proved *where their arguments are not 0*: before anything is
differentiated, each kink argument ``z`` gets a sign symbol ``s`` (= sign(z), locally
constant away from 0) and ``|z| = s z``, ``step(z) = (1 + s)/2``, ``max(a, b) = b +
(a - b)(1 + s)/2``...; the identity is then proved for every combination of signs.
The report says ``holds where z ≠ 0`` rather than claiming more.

Numeric check (``numeric: max rel err 2e-10``): central finite differences of ``f``
at random points (away from kinks, inside the domains of log and sqrt) against
``Derivative.evaluate``.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from ..core import expr as E
from .. import limits
from ..core import shapes as S
from ..calculus.chain import tangent_of
from ..errors import EvalError, UsageError, quote
from ..limits import run_with_deadline

_KINKED = ("abs", "sign", "relu", "step", "max", "min", "norm1")


@dataclass
class Check:
    """One check: ``name`` (``symbolic (n=2)``, ``numeric``), ``status`` (``holds``,
    ``fails``, ``unproven``, ``skipped``) and a one-line ``detail``."""
    name: str
    status: str
    detail: str = ""
    entry: Optional[tuple] = None
    expected: object = None
    got: object = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("holds", "skipped")

    def line(self) -> str:
        return f"{self.name}: {self.detail or self.status}"


@dataclass
class Report:
    checks: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No check found the derivative wrong (an undecided check is not a failure)."""
        return not any(c.status == "fails" for c in self.checks)

    @property
    def proved(self) -> bool:
        """Every check holds."""
        return all(c.ok for c in self.checks)

    def __bool__(self) -> bool:
        return self.ok

    def __iter__(self):
        return iter(self.checks)

    def __len__(self) -> int:
        return len(self.checks)

    def lines(self) -> list[str]:
        return [c.line() for c in self.checks]

    def __str__(self) -> str:
        return "\n".join(self.lines())


# ------------------------------------------------------------ explicit SymPy evaluation

class _SignTable:
    """Sign symbols for kink arguments, shared up to sign (z and -z)."""

    def __init__(self):
        self.syms: dict = {}
        self.args: list = []

    def sign(self, z):
        import sympy as sp
        z = sp.expand(z)
        if z == 0:
            return sp.Integer(0)
        if z.is_number:
            return sp.sign(z)
        flip = z.could_extract_minus_sign()
        key = -z if flip else z
        s = self.syms.get(key)
        if s is None:
            s = sp.Symbol(f"s{len(self.syms)}", real=True)
            self.syms[key] = s
            self.args.append(key)
        return -s if flip else s


def _sym_shape(shape, dims):
    return E.as2d(tuple(d if isinstance(d, int) else dims[d] for d in
                        (S.resolve(x) for x in shape)))


class SymEvaluator:
    """Evaluates matcalc nodes over explicit SymPy matrices (2-D, vectors as columns)
    and scalars."""

    def __init__(self, env: dict, dims: dict, signs: _SignTable,
                 tangents: Optional[dict] = None):
        self.env = env
        self.dims = dims
        self.signs = signs
        self.tangents = tangents or {}
        self.memo: dict = {}

    def value(self, root: E.Expr):
        memo = self.memo
        for n in E.postorder(root):
            if n not in memo:
                memo[n] = self._eval(n, [memo[a] for a in n.args])
        return memo[root]

    def _ew(self, f, m):
        import sympy as sp
        if isinstance(m, sp.MatrixBase):
            return m.applyfunc(f)
        return f(m)

    def _ew2(self, f, a, b):
        import sympy as sp
        if isinstance(a, sp.MatrixBase):
            return sp.Matrix(a.shape[0], a.shape[1], lambda i, j: f(a[i, j], b[i, j]))
        return f(a, b)

    def _eval(self, e, args):
        import sympy as sp
        t = type(e)
        shp = _sym_shape(e.shape, self.dims) if e.rank else None
        if t is E.Var:
            if e.tangent:
                return self.tangents[e]
            return self.env[e.name]
        if t is E.Num:
            return sp.Rational(e.value.numerator, e.value.denominator)
        if t is E.Size:
            d = S.resolve(e.dim)
            return sp.Integer(d if isinstance(d, int) else self.dims[d])
        if t is E.Eye:
            return sp.eye(shp[0])
        if t is E.Add:
            out = args[0]
            for a in args[1:]:
                out = out + a
            return out
        if t is E.Mul:
            out = args[0]
            for a in args[1:]:
                out = out.multiply_elementwise(a) if isinstance(out, sp.MatrixBase) \
                    else out * a
            return out
        if t is E.Pow:
            b, x = args
            if isinstance(b, sp.MatrixBase):
                if isinstance(x, sp.MatrixBase):
                    return self._ew2(lambda p, q: p ** q, b, x)
                return b.applyfunc(lambda p: p ** x)
            return b ** x
        if t is E.MatMul:
            out = _m2(args[0])
            for a in args[1:]:
                out = out * _m2(a)
            return out[0, 0] if e.rank == 0 else out
        if t is E.Transpose:
            return args[0].T
        if t is E.Expand:
            a = args[0]
            if e.args[0].rank == 0:
                return sp.Matrix(shp[0], shp[1], lambda i, j: a)
            return sp.Matrix(shp[0], shp[1], lambda i, j: a[j, 0])
        if t is E.Call:
            return self._call(e, args, shp)
        if t is E.VecLit:
            return sp.Matrix([[a] for a in args])
        if t is E.Entry:
            return args[0][e.index, 0]
        raise TypeError(f"cannot evaluate {t.__name__}")  # pragma: no cover

    def _call(self, e, args, shp):
        import sympy as sp
        fn = e.fn
        sg = self.signs.sign
        unary = {
            "exp": sp.exp, "log": sp.log, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
            "tanh": sp.tanh, "sqrt": sp.sqrt,
            "sigmoid": lambda z: 1 / (1 + sp.exp(-z)),
            "softplus": lambda z: sp.log(1 + sp.exp(z)),
            "abs": lambda z: sg(z) * z,
            "sign": sg,
            "relu": lambda z: z * (1 + sg(z)) / 2,
            "step": lambda z: (1 + sg(z)) / 2 if sg(z) != 0 else sp.Integer(0),
        }
        if fn in unary:
            return self._ew(unary[fn], args[0])
        if fn in ("max", "min"):
            def mx(a, b, is_max=fn == "max"):
                # s = 1 where the result is a: max: a > b; min: a < b
                s = sg(a - b) if is_max else sg(b - a)
                if s == 0:
                    return a
                return b + (a - b) * (1 + s) / 2
            return self._ew2(mx, args[0], args[1])
        x = args[0]
        if fn == "sum":
            return sum(x) if isinstance(x, sp.MatrixBase) else x
        if fn == "mean":
            return sum(x) / len(x) if isinstance(x, sp.MatrixBase) else x
        if fn == "norm2":
            return sp.sqrt(sum(v ** 2 for v in x))
        if fn == "norm1":
            return sum(sg(v) * v for v in x)
        if fn == "tr":
            return x.trace()
        if fn == "det":
            return x.det(method="berkowitz")
        if fn == "logdet":
            return sp.log(x.det(method="berkowitz"))
        if fn == "inv":  # adj(X) / det(X): no invertibility test (it costs a det)
            det = x.det(method="berkowitz")
            return x.adjugate(method="berkowitz").applyfunc(lambda v: v / det)
        if fn == "diag":
            return sp.diag(*list(x))
        if fn == "diagonal":
            return sp.Matrix([[x[i, i]] for i in range(x.shape[0])])
        if fn == "softmax":
            ex = x.applyfunc(sp.exp)
            tot = sum(ex)
            return ex.applyfunc(lambda v: v / tot)
        if fn == "logsumexp":
            return sp.log(sum(x.applyfunc(sp.exp)))
        raise TypeError(f"no explicit SymPy form for {fn}()")  # pragma: no cover


def _m2(a):
    import sympy as sp
    if isinstance(a, sp.MatrixBase):
        return a
    return sp.Matrix([[a]])


def _flat(v) -> list:
    import sympy as sp
    if isinstance(v, sp.MatrixBase):
        return list(v)  # row-major, as NumPy's reshape
    return [v]


def explicit_var(v: E.Expr, dims: dict):
    """A variable as an explicit SymPy matrix of real scalar symbols (a Symbol if scalar)."""
    import sympy as sp
    if v.rank == 0:
        return sp.Symbol(v.name, real=True)
    r, c = _sym_shape(v.shape, dims)
    if v.rank == 1:
        return sp.Matrix([[sp.Symbol(f"{v.name}[{i}]", real=True)] for i in range(r)])
    return sp.Matrix(r, c, lambda i, j: sp.Symbol(f"{v.name}[{i},{j}]", real=True))


# ------------------------------------------------------------------- proving zero

def _probe(d, rng):
    """The value of ``d`` at a random rational point (exact where possible)."""
    import sympy as sp
    point = {s: sp.Rational(int(rng.integers(3, 12)), int(rng.integers(7, 13)))
             for s in d.free_symbols}
    v = d.xreplace(point)
    if not v.is_Rational:
        v = v.evalf(30)
    return complex(v)


def _is_zero(diff_expr, budget: float) -> Optional[bool]:
    """True: proved 0. False: shown nonzero at a point. None: could not decide."""
    import sympy as sp
    if diff_expr == 0:
        return True
    d = diff_expr
    # a quick probe at two points: a wrong derivative fails here, before any costly
    # symbolic work
    rng = np.random.default_rng(1)
    nonzero = 0
    for _ in range(2):
        try:
            val = _probe(d, rng)
        except (TypeError, ValueError, ArithmeticError):
            continue
        if abs(val) > 1e-12:
            nonzero += 1
    if nonzero == 2:
        return False
    # a rational function of the symbols: exact arithmetic in QQ(symbols), fast
    from sympy.polys.polyerrors import CoercionFailed
    try:
        syms = sorted(d.free_symbols, key=lambda x: x.name)
        if syms:
            return sp.QQ.frac_field(*syms).from_sympy(d) == 0 or None
    except (CoercionFailed, sp.PolynomialError, ValueError, TypeError,
            NotImplementedError):
        pass
    try:
        if sp.expand(d) == 0 or sp.cancel(sp.together(d)) == 0:
            return True
    except sp.PolynomialError:
        pass
    r = run_with_deadline(lambda: sp.simplify(d), budget)
    if r is not None and r == 0:
        return True
    return None


def _sign_combos(d, signs: _SignTable, limit: int = 256):
    """Substitutions of ±1 for the sign symbols present in ``d`` (all of them up to
    ``limit``, else a deterministic sample)."""
    present = [s for s in signs.syms.values() if s in d.free_symbols]
    if not present:
        return [{}]
    if 2 ** len(present) <= limit:
        combos = itertools.product((1, -1), repeat=len(present))
        return [dict(zip(present, c)) for c in combos]
    rng = np.random.default_rng(0)
    return [dict(zip(present, rng.choice((1, -1), size=len(present)).tolist()))
            for _ in range(limit)]


# ------------------------------------------------------------------ the checks

def _contract_index(k: int, shape: tuple) -> tuple:
    return tuple(int(i) for i in np.unravel_index(k, shape)) if shape else ()


def _short(x, width: int = 70) -> str:
    s = str(x)
    return s if len(s) <= width else s[:width - 3] + "..."


def _instantiations(dimnames: list, dims: Sequence[int]) -> list[dict]:
    dims = list(dims) or [2]
    if not dimnames:
        return [{}]
    out = []
    for k in range(len(dims)):
        inst = {d: dims[(i + k) % len(dims)] for i, d in enumerate(dimnames)}
        if inst not in out:
            out.append(inst)
    return out


def _all_vars(d) -> list:
    seen, out = set(), []
    for v in E.variables(d.f) + [d.wrt] + E.variables(d.expr) + (
            E.variables(d.of.expr) if d.of is not None else []):
        if not v.tangent and v not in seen:
            seen.add(v)
            out.append(v)
    return out


def _dimnames(d) -> list:
    out: list = []
    for e in (d.f, d.wrt, d.expr):
        for x in E.dims_of(e):
            x = S.resolve(x)
            if isinstance(x, str) and x not in out:
                out.append(x)
    return out


def symbolic_check(d, inst: dict, budget: Optional[float] = None) -> Check:
    """Prove ``d`` entry by entry with all dimensions fixed by ``inst``, within
    ``budget`` seconds (limits.verify_seconds unless given); past it the check is
    "unproven", never a false "holds"."""
    budget = _check_budget(budget)
    name = "symbolic" + (f" ({', '.join(f'{k}={v}' for k, v in inst.items())})"
                         if inst else "")
    import sympy  # noqa: F401 - imported before the deadline starts (see run_with_deadline)
    t0 = time.perf_counter()
    try:
        out = run_with_deadline(lambda: _symbolic_check(d, inst, name, budget), budget)
    except (RecursionError, MemoryError, ArithmeticError, LookupError, TypeError,
            ValueError, NotImplementedError) as err:
        # SymPy could not handle it (too deep, too large, an unsupported case): the
        # check is undecided, never a false "holds"
        return Check(name, "unproven", f"SymPy could not decide it "
                     f"({type(err).__name__})", seconds=time.perf_counter() - t0)
    if out is None:
        return Check(name, "unproven", f"undecided within {budget:g} s (raise the budget, "
                     f"or use smaller --verify-dims)", seconds=time.perf_counter() - t0)
    return out


def _symbolic_check(d, inst: dict, name: str, budget: float) -> Check:
    import sympy as sp
    t0 = time.perf_counter()
    signs = _SignTable()
    env = {v.name: explicit_var(v, inst) for v in _all_vars(d)}
    ev = SymEvaluator(env, inst, signs)
    fvals = _flat(ev.value(d.f))
    wvals = _flat(env[d.wrt.name])
    if d.order == 2:
        fvals = [sp.diff(fv, w) for fv in fvals for w in wvals]
    expected = [sp.diff(fv, w) for fv in fvals for w in wvals]
    out_shape = tuple(_sym_shape(d.f_shape, inst)[:len(d.f_shape)]) + \
        tuple(_sym_shape(d.wrt.shape, inst)[:d.wrt.rank])
    if d.kind == "zero":
        got = [sp.Integer(0)] * len(expected)
    elif d.kind != "differential":
        got = _flat(ev.value(d.expr))
    else:
        dv = tangent_of(d.wrt)
        r, c = _sym_shape(d.wrt.shape, inst)
        cols = []
        lin: set = set()
        for n in E.postorder(d.expr):  # the nodes that depend on the tangent
            if n is dv or any(a in lin for a in n.args):
                lin.add(n)
        for j in range(len(wvals)):
            basis = sp.zeros(r, c)
            basis[j] = 1
            ev.tangents = {dv: basis if d.wrt.rank else sp.Integer(1)}
            for n in lin:
                ev.memo.pop(n, None)
            cols.append(_flat(ev.value(d.expr)))
        got = [cols[j][i] for i in range(len(fvals)) for j in range(len(wvals))]
    if len(got) != len(expected):
        return Check(name, "fails", f"fails: the derivative has {len(got)} entries, "
                     f"expected {len(expected)}", seconds=time.perf_counter() - t0)
    unproven = None
    for k, (a, b) in enumerate(zip(expected, got)):
        diff_expr = a - b
        for combo in _sign_combos(diff_expr, signs):
            z = _is_zero(diff_expr.subs(combo) if combo else diff_expr, budget)
            if z is False:
                idx = _contract_index(k, out_shape)
                exp_s, got_s = (a.subs(combo), b.subs(combo)) if combo else (a, b)
                where = ""
                if combo:
                    where = " where " + ", ".join(
                        f"{arg} {'>' if combo[s] > 0 else '<'} 0"
                        for arg, s in signs.syms.items() if s in combo)
                return Check(name, "fails",
                             f"fails at entry {list(idx)}{_short(where, 80)}: "
                             f"expected {_short(exp_s)}, got {_short(got_s)}",
                             entry=idx, expected=exp_s, got=got_s,
                             seconds=time.perf_counter() - t0)
            if z is None and unproven is None:
                unproven = _contract_index(k, out_shape)
    secs = time.perf_counter() - t0
    if unproven is not None:
        return Check(name, "unproven", f"unproven at entry {list(unproven)} (SymPy could "
                     f"not reduce the difference to 0)", entry=unproven, seconds=secs)
    if signs.args:
        conds = ", ".join(f"{_short(a, 40)} ≠ 0" for a in signs.args[:4])
        more = f" (and {len(signs.args) - 4} more)" if len(signs.args) > 4 else ""
        return Check(name, "holds", f"holds where {conds}{more}", seconds=secs)
    return Check(name, "holds", "holds", seconds=secs)


def _kink_args(f: E.Expr) -> list:
    out = []
    for n in E.postorder(f):
        if type(n) is E.Call and n.fn in _KINKED:
            out.append(E.sub(n.args[0], n.args[1]) if n.fn in ("max", "min") else n.args[0])
    return out


def _matrix_args(f: E.Expr) -> list:
    """Arguments of inverses and determinants: finite differences mean nothing where
    they are (nearly) singular."""
    return [n.args[0] for n in E.postorder(f)
            if type(n) is E.Call and n.fn in ("inv", "det", "logdet")]


def _well_conditioned(a: np.ndarray) -> bool:
    with np.errstate(all="ignore"):
        return bool(np.all(np.isfinite(a))) and np.linalg.cond(a) < 1e8


def _domain_args(f: E.Expr) -> list:
    return [n.args[0] for n in E.postorder(f)
            if type(n) is E.Call and n.fn in ("log", "sqrt")]


def _sample(d, sizes: dict, rng, positive: bool) -> dict:
    vals = {}
    for v in _all_vars(d):
        shape = tuple(s if isinstance(s, int) else sizes[s]
                      for s in (S.resolve(x) for x in v.shape))
        if positive:
            a = rng.uniform(0.5, 1.5, size=shape)
        else:
            a = rng.standard_normal(size=shape)
        if v.rank == 2 and shape[0] == shape[1]:
            a = a + shape[0] * np.eye(shape[0])  # well conditioned for inv / logdet
        vals[v.name] = a
    return vals


def numeric_check(d, sizes: dict, seed: int = 0, points: int = 3, tol: float = 1e-5) -> Check:
    """Central finite differences of f against ``d.evaluate`` at random points."""
    from .numeric import evaluate
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    kinks = _kink_args(d.f)
    logs = _domain_args(d.f)
    mats = _matrix_args(d.f)
    target = d.of.expr if d.order == 2 else d.f
    worst = 0.0
    done = 0
    for attempt in range(60):
        if done >= points:
            break
        vals = _sample(d, sizes, rng, positive=attempt % 2 == 1)
        try:
            with np.errstate(all="ignore"):
                if any(np.min(np.abs(evaluate(z, vals))) < 1e-2 for z in kinks):
                    continue
                if any(np.min(evaluate(z, vals)) <= 1e-2 for z in logs):
                    continue
                if not all(_well_conditioned(evaluate(m, vals)) for m in mats):
                    continue
                an = d.evaluate(vals)
                f0 = evaluate(target, vals)
        except EvalError:
            continue  # a singular matrix at this point: try another one
        if not (np.all(np.isfinite(an)) and np.all(np.isfinite(f0))):
            continue
        try:
            fd = _finite_differences(target, vals, d.wrt.name, f0.shape)
        except EvalError:
            continue
        scale = max(1.0, float(np.max(np.abs(fd))) if fd.size else 1.0)
        err = float(np.max(np.abs(fd - an))) / scale if fd.size else 0.0
        worst = max(worst, err)
        done += 1
    secs = time.perf_counter() - t0
    if done == 0:
        return Check("numeric", "skipped", "skipped (no valid random point found)",
                     seconds=secs)
    status = "holds" if worst <= tol else "fails"
    return Check("numeric", status, f"max rel err {worst:.1e}" +
                 ("" if status == "holds" else f" (> {tol:g})"), seconds=secs)


def _check_dims(dims) -> tuple:
    """The sizes to give the dimensions: whole numbers within the verify budgets."""
    lim = limits.current()
    try:
        dims = tuple(dims)
    except TypeError:
        dims = None
    if not dims or len(dims) > lim.max_verify_sizes or any(
            isinstance(k, bool) or not isinstance(k, (int, np.integer))
            or not 1 <= k <= lim.max_verify_dim for k in dims):
        raise UsageError(f"verify dims must be 1 to {lim.max_verify_sizes} whole numbers from "
                         f"1 to {lim.max_verify_dim} (limits.max_verify_dim), not "
                         f"{quote(dims)}")
    return tuple(int(k) for k in dims)


def _check_budget(budget) -> float:
    """Seconds for one symbolic proof: ``budget``, or limits.verify_seconds."""
    if budget is None:
        return limits.current().verify_seconds
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget > 0:
        raise UsageError(f"budget must be a positive number of seconds, not {quote(budget)}")
    return float(budget)


def _finite_differences(target: E.Expr, vals: dict, name: str, fshape: tuple) -> np.ndarray:
    """Central differences of ``target`` by the variable ``name`` at ``vals``."""
    from .numeric import evaluate
    x0 = np.asarray(vals[name], dtype=float)
    fd = np.zeros(fshape + x0.shape)
    for j in np.ndindex(*x0.shape) if x0.shape else [()]:
        h = 1e-6 * max(1.0, abs(float(x0[j])))
        xp, xm = x0.copy(), x0.copy()
        xp[j] += h
        xm[j] -= h
        with np.errstate(all="ignore"):
            fp = evaluate(target, {**vals, name: xp})
            fm = evaluate(target, {**vals, name: xm})
        fd[(Ellipsis,) + tuple(j)] = (fp - fm) / (2 * h)
    return fd


def verify(d, dims: Sequence[int] = (2, 3), numeric: bool = True, symbolic: bool = True,
           budget: Optional[float] = None) -> Report:
    """Check a Derivative: one symbolic proof per instantiation of the dimensions, then
    finite differences. Returns a :class:`Report` (``bool(report)`` is whether all hold)."""
    dims = _check_dims(dims)
    budget = _check_budget(budget)
    report = Report()
    names = _dimnames(d)
    insts = _instantiations(names, dims)
    if symbolic:
        for inst in insts:
            report.checks.append(symbolic_check(d, inst, budget))
    if numeric:
        report.checks.append(numeric_check(d, insts[-1] if insts else {}))
    return report
