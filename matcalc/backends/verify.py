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

Declared structure is respected by both: a symmetric variable (sym, spd) is a matrix
of symbols with ``S[i,j]`` and ``S[j,i]`` the same symbol, and a random symmetric
matrix (``A Aᵀ + n I`` for spd); a probability vector has its last entry
``1 - (the sum of the others)``, and random values positive and summing to 1. The
derivative by a symmetric variable follows its convention: the cookbook's entry i,j is
the derivative by the shared symbol (``S[i,j]`` and ``S[j,i]`` move together), the sym
convention's half that off the diagonal; numerically, the directional derivative
along (Eᵢⱼ + Eⱼᵢ)/2 (sym) or Eᵢⱼ + Eⱼᵢ, Eᵢᵢ on the diagonal (cookbook).
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
from ..calculus.jvp import tangent_of
from ..calculus.result import Kind
from ..errors import EvalError, UsageError, quote
from ..limits import run_with_deadline
from .interpreter import Interpreter


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


class SymEvaluator(Interpreter):
    """Evaluates matcalc nodes over explicit SymPy matrices (2-D, vectors as columns)
    and scalars. Functions are read from their ``Op`` record: an element-wise one
    entry by entry (through ``explicit_kinked`` where it has a kink, with a sign symbol
    per kink argument, else ``sympy_scalar``), any other through ``explicit``."""

    def __init__(self, env: dict, dims: dict, signs: _SignTable,
                 tangents: Optional[dict] = None):
        import sympy as sp
        super().__init__(tangents)
        self.sp = sp
        self.env = env
        self.dims = dims
        self.signs = signs

    def _shape(self, e) -> tuple:
        return _sym_shape(e.shape, self.dims)

    def _eval_Var(self, e, args):
        return self.tangents[e] if e.tangent else self.env[e.name]

    def _eval_Num(self, e, args):
        return self.sp.Rational(e.value.numerator, e.value.denominator)

    def _eval_Size(self, e, args):
        d = S.resolve(e.dim)
        return self.sp.Integer(d if isinstance(d, int) else self.dims[d])

    def _eval_Eye(self, e, args):
        return self.sp.eye(self._shape(e)[0])

    def _eval_Select(self, e, args):
        n = self._shape(e)[0]
        eye = self.sp.eye(n)
        if e.stop is None:
            return eye[:, e.start % n]
        return eye[:, e.start:e.start + self._shape(e)[1]]

    def _eval_Mul(self, e, args):
        out = args[0]
        for a in args[1:]:
            out = out.multiply_elementwise(a) if isinstance(out, self.sp.MatrixBase) \
                else out * a
        return out

    def _eval_Pow(self, e, args):
        return _entrywise(self.sp, lambda p, q: p ** q, args)

    def _eval_MatMul(self, e, args):
        out = _m2(args[0])
        for a in args[1:]:
            out = out * _m2(a)
        return out[0, 0] if e.rank == 0 else out

    def _eval_Transpose(self, e, args):
        return args[0].T

    def _eval_Expand(self, e, args):
        a = args[0]
        r, c = self._shape(e)
        if e.args[0].rank == 0:
            return self.sp.Matrix(r, c, lambda i, j: a)
        if e.axis == 1:  # the vector as each column
            return self.sp.Matrix(r, c, lambda i, j: a[i, 0])
        return self.sp.Matrix(r, c, lambda i, j: a[j, 0])

    def _eval_Call(self, e, args):
        op, sp, sign = e.op, self.sp, self.signs.sign
        if op.category != "elementwise":
            return op.explicit(sp, args, sign)
        if op.kink is not None:
            return _entrywise(sp, lambda *z: op.explicit_kinked(sp, sign, *z), args)
        return _entrywise(sp, lambda *z: op.sympy_scalar(sp, *z), args)

    def _eval_VecLit(self, e, args):
        return self.sp.Matrix([[a] for a in args])

    def _eval_Entry(self, e, args):
        return args[0][e.index, 0]


def _entrywise(sp, f, args):
    """``f`` applied entry by entry: the entries of the matrix arguments (all of one
    shape) are paired, a scalar argument goes with every entry."""
    mats = [a for a in args if isinstance(a, sp.MatrixBase)]
    if not mats:
        return f(*args)
    r, c = mats[0].shape

    def entry(i, j):
        return f(*(a[i, j] if isinstance(a, sp.MatrixBase) else a for a in args))
    return sp.Matrix(r, c, entry)


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
    """A variable as an explicit SymPy matrix of real scalar symbols (a Symbol if
    scalar). A symmetric one (sym, spd) has one symbol for ``[i,j]`` and ``[j,i]``; a
    probability vector's last entry is 1 minus the sum of the others (each row's, for a
    matrix of probability rows)."""
    import sympy as sp
    if v.rank == 0:
        return sp.Symbol(v.name, real=True)
    r, c = _sym_shape(v.shape, dims)
    if v.rank == 1:
        entries = [sp.Symbol(f"{v.name}[{i}]", real=True) for i in range(r)]
        if v.structure == S.PROB:
            entries[-1] = 1 - sum(entries[:-1])
        return sp.Matrix([[x] for x in entries])
    if v.symmetric:
        return sp.Matrix(r, c, lambda i, j: sp.Symbol(
            f"{v.name}[{min(i, j)},{max(i, j)}]", real=True))
    m = sp.Matrix(r, c, lambda i, j: sp.Symbol(f"{v.name}[{i},{j}]", real=True))
    if v.structure == S.PROB:  # rows of probabilities: each row's last entry
        for i in range(r):
            m[i, c - 1] = 1 - sum(m[i, j] for j in range(c - 1))
    return m


def _entry_factors(d, count: int, cols: int) -> list:
    """What the derivative by each entry's symbol is multiplied by in ``d``'s
    convention: by a symmetric variable in the sym convention, ½ off the diagonal (the
    shared symbol moves both entries; sym(G) is half that); 1 everywhere else."""
    import sympy as sp
    if d.symmetric_gradient != "sym":
        return [sp.Integer(1)] * count
    return [sp.Integer(1) if k // cols == k % cols else sp.Rational(1, 2)
            for k in range(count)]


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
    """The variables of ``d``, one per name (a structured one rather than a plain one
    of the same name: its values must respect the declaration)."""
    by_name: dict = {}
    for v in E.variables(d.f) + list(d.wrts) + E.variables(d.expr) + (
            E.variables(d.of.expr) if d.of is not None else []):
        if not v.tangent and (v.name not in by_name or by_name[v.name].structure is None):
            by_name[v.name] = v
    return list(by_name.values())


def _dimnames(d) -> list:
    out: list = []
    for e in (d.f, *d.wrts, d.expr):
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
    levels = [d]  # the derivative of each order, the first order's first
    while levels[0].of is not None:
        levels.insert(0, levels[0].of)
    expected = _flat(ev.value(d.f))
    for level in levels:  # the lower orders' derivatives, then this one's (by its variable)
        fvals = expected
        wvals = _flat(env[level.wrt.name])
        factors = _entry_factors(level, len(wvals), _sym_shape(level.wrt.shape, inst)[1])
        expected = [sp.diff(fv, w) * k for fv in fvals for w, k in zip(wvals, factors)]
    out_shape = tuple(_sym_shape(d.f_shape, inst)[:len(d.f_shape)]) + \
        tuple(_sym_shape(d.wrt.shape, inst)[:d.wrt.rank])
    if d.kind is Kind.ZERO:
        got = [sp.Integer(0)] * len(expected)
    elif d.kind is not Kind.DIFFERENTIAL:
        got = _flat(ev.value(d.expr))
    else:
        r, c = _sym_shape(d.wrt.shape, inst)

        def basis(j):
            if not d.wrt.rank:
                return sp.Integer(1)
            b = sp.zeros(r, c)
            b[j] = 1
            return b
        cols = [_flat(v) for v in ev.columns(d.expr, tangent_of(d.wrt),
                                             (basis(j) for j in range(len(wvals))))]
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


def _calls(f: E.Expr) -> list:
    return [n for n in E.postorder(f) if type(n) is E.Call]


def _kink_args(f: E.Expr) -> list:
    """The expressions whose zeros are kinks of ``f`` (each op's ``kink``)."""
    return [n.op.kink(n.args) for n in _calls(f) if n.op.kink is not None]


def _domain_args(f: E.Expr, domain: str) -> list:
    """The arguments of the calls in ``f`` whose op has ``domain``."""
    return [a for n in _calls(f) if n.op.domain == domain for a in n.args]


def _well_conditioned(a: np.ndarray) -> bool:
    with np.errstate(all="ignore"):
        return bool(np.all(np.isfinite(a))) and np.linalg.cond(a) < 1e8


def _sample(d, sizes: dict, rng, positive: bool) -> dict:
    vals = {}
    for v in _all_vars(d):
        shape = tuple(s if isinstance(s, int) else sizes[s]
                      for s in (S.resolve(x) for x in v.shape))
        if positive or v.structure == S.PROB:
            a = rng.uniform(0.5, 1.5, size=shape)
        else:
            a = rng.standard_normal(size=shape)
        if v.structure == S.PROB:  # positive, summing to 1 (each row of a matrix)
            a = a / (np.sum(a, axis=1, keepdims=True) if a.ndim == 2 else np.sum(a))
        elif v.structure == S.SPD:
            a = a @ a.T + shape[0] * np.eye(shape[0])
        elif v.structure == S.SYM:
            a = (a + a.T) / 2 + shape[0] * np.eye(shape[0])
        elif v.rank == 2 and shape[0] == shape[1]:
            a = a + shape[0] * np.eye(shape[0])  # well conditioned for inv / logdet
        vals[v.name] = a
    return vals


def directions(shape: tuple, convention) -> list:
    """The direction of each entry of a variable of ``shape`` (row-major), for finite
    differences: the unit Eⱼ, or by a symmetric variable its convention's direction,
    (Eᵢⱼ + Eⱼᵢ)/2 (sym) or Eᵢⱼ + Eⱼᵢ and Eᵢᵢ on the diagonal (cookbook)."""
    out = []
    for j in np.ndindex(*shape) if shape else [()]:
        e = np.zeros(shape)
        e[j] = 1.0
        if convention is not None:
            both = e + e.T
            e = both / 2 if convention == "sym" else both - np.diag(np.diag(e))
        out.append((j, e))
    return out


def numeric_check(d, sizes: dict, seed: int = 0, points: int = 3, tol: float = 1e-5) -> Check:
    """Central finite differences of f against ``d.evaluate`` at random points."""
    from .numeric import evaluate
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    kinks = _kink_args(d.f)
    logs = _domain_args(d.f, "positive")
    # finite differences mean nothing where an inverse or determinant is (nearly)
    # singular
    mats = _domain_args(d.f, "invertible")
    target = d.of.expr if d.order > 1 else d.f   # order k: the order k - 1 derivative
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
            fd = _finite_differences(target, vals, d.wrt.name, f0.shape,
                                     d.symmetric_gradient)
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


def _finite_differences(target: E.Expr, vals: dict, name: str, fshape: tuple,
                        convention=None) -> np.ndarray:
    """Central differences of ``target`` by the variable ``name`` at ``vals``, along each
    entry's direction (``directions``: by a symmetric variable, its convention's)."""
    from .numeric import evaluate
    x0 = np.asarray(vals[name], dtype=float)
    fd = np.zeros(fshape + x0.shape)
    for j, direction in directions(x0.shape, convention):
        h = 1e-6 * max(1.0, abs(float(x0[j])))
        xp, xm = x0 + h * direction, x0 - h * direction
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
