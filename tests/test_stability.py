"""Numerical stability at extreme inputs: a table of expressions and derivatives, each
evaluated at extreme margins (up to ±1000) by every numeric path matcalc has, and
compared with a 50-digit mpmath reference.

Paths: ``matcalc.evaluate`` with ``Derivative.evaluate`` (the interpreter),
``matcalc.lambdify`` (compiled NumPy), and the source of ``Derivative.to_code`` for
the targets numpy, jax and torch, executed in a fresh namespace (jax and torch are
skipped where not installed; jax runs with 64-bit floats).

Reference: the value of f is the mathematical formula computed by mpmath with 50
digits (mpmath's exponent range is unbounded, so exp(1000) is no trap there); the
derivative is ``mpmath.diff`` of that function, entry by entry (a gradient, a
Jacobian, or for ``order=2`` the Hessian's mixed partials). Where 50 digits would
cancel (1 - σ(1000)) the reference is written by an identity, log(1 - σ(u)) = log σ(-u).

Criterion: every entry finite, and |got - ref| <= 1e-6 |ref| + atol, with
atol = 1e-300 + 1e-30 max|ref|: an entry whose true value is below 1e-300 (beyond
float64's normal range: e^-800, σ'(1000)) is 0, and the 1e-30 relative part only
absorbs mpmath.diff's own noise at 50 digits (far below float64's resolution).
Everything else is held to 1e-6 relative, entry by entry: σ'(40) = 4.2e-18 computed
as 0 is a failure.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

import mpmath
import numpy as np
import pytest

import matcalc

DPS = 50
RTOL = 1e-6
TINY = 1e-300          # true values below this are 0 to float64
NOISE = 1e-30          # mpmath.diff's noise, relative to the largest entry


# ------------------------------------------------------------ mpmath formulas

def m_sigmoid(t):
    return 1 / (1 + mpmath.exp(-t))


def m_softplus(t):
    return mpmath.log1p(mpmath.exp(t))


def m_log_sigmoid(t):
    """log σ(t) = -log(1 + e^-t), exact in mpmath for any t (log(1 - σ(u)) is
    m_log_sigmoid(-u): 1 - σ(1000) is 0 at 50 digits)."""
    return -mpmath.log1p(mpmath.exp(-t))


def m_logsumexp(v):
    return mpmath.log(mpmath.fsum(mpmath.exp(t) for t in v))


def m_softmax(v):
    e = [mpmath.exp(t) for t in v]
    s = mpmath.fsum(e)
    return [t / s for t in e]


def m_matvec(A, x):
    return [mpmath.fsum(a * b for a, b in zip(row, x)) for row in A]


# ------------------------------------------------------------ data at extreme margins

def design(targets, w, rest):
    """X whose product with w is ``targets``: the other columns are ``rest``, the
    first solves for the targets."""
    rest = np.asarray(rest, dtype=float)
    first = (np.asarray(targets, dtype=float) - rest @ w[1:]) / w[0]
    return np.column_stack([first, rest])


W = np.array([2.0, -1.0, 0.5])
REST = [[0.3, -1.2], [1.1, 0.4], [-0.7, 0.9], [0.2, -0.5]]
Y_PM = np.array([1.0, -1.0, 1.0, -1.0])        # labels ±1 (logistic loss)
Y01 = np.array([1.0, 0.0, 0.0, 1.0])           # labels 0/1 (cross-entropy)


def logistic_values(margins):
    """y ⊙ (X w) = margins."""
    return {"y": Y_PM, "X": design(Y_PM * np.asarray(margins, dtype=float), W, REST),
            "w": W}


def bce_values(scores):
    """X w = scores."""
    return {"y": Y01, "X": design(scores, W, REST), "w": W}


A3 = np.array([[1.0, 2.0, -0.5], [-0.5, 1.5, 1.0], [0.25, -1.0, 2.0]])
X3 = np.array([0.5, -0.25, 1.0])
LSE_TARGET = np.array([1000.0, 999.5, -800.0])   # A x + z


def vec(*v):
    return np.array(v, dtype=float)


# ------------------------------------------------------------ the table

LOGISTIC = "sum(log(1 + exp(-y*(X@w))))"
BCE = "-mean(y*log(sigmoid(X@w)) + (1-y)*log(1-sigmoid(X@w)))"


def _logistic(v):
    u = m_matvec(v["X"], v["w"])
    return mpmath.fsum(m_softplus(-yi * ui) for yi, ui in zip(v["y"], u))


def _bce(v):
    u = m_matvec(v["X"], v["w"])
    return -mpmath.fsum(yi * m_log_sigmoid(ui) + (1 - yi) * m_log_sigmoid(-ui)
                        for yi, ui in zip(v["y"], u)) / len(u)


def _norm2(v):
    return mpmath.sqrt(mpmath.fsum(t * t for t in v["x"]))


def _lse_affine(v):
    return m_logsumexp([a + b for a, b in zip(m_matvec(v["A"], v["x"]), v["z"])])


@dataclass(frozen=True)
class Row:
    id: str
    text: str
    wrt: str
    values: dict
    ref: Callable          # mp values -> f (an mpf, or a list of them for a vector)
    order: int = 1
    # mp values -> the derivative in closed form (nested lists), where mpmath.diff's
    # absolute step cannot resolve the function (entries ~1e200)
    dref: Callable | None = None
    skip: tuple = ()       # (path, why): a path that cannot represent the inputs


ROWS = [
    Row("sigmoid, x <= -40", "sigmoid(x)", "x", {"x": vec(-1000, -40, -1)},
        lambda v: [m_sigmoid(t) for t in v["x"]]),
    Row("sigmoid, x >= 40", "sigmoid(x)", "x", {"x": vec(1, 40, 1000)},
        lambda v: [m_sigmoid(t) for t in v["x"]]),
    Row("softplus, x <= -40", "softplus(x)", "x", {"x": vec(-1000, -40, -1)},
        lambda v: [m_softplus(t) for t in v["x"]]),
    Row("softplus, x >= 40", "softplus(x)", "x", {"x": vec(1, 40, 1000)},
        lambda v: [m_softplus(t) for t in v["x"]]),
    Row("log(sigmoid), x = -40", "log(sigmoid(x))", "x", {"x": vec(-40, -20, -1)},
        lambda v: [m_log_sigmoid(t) for t in v["x"]]),
    Row("log(sigmoid), x = -1000", "log(sigmoid(x))", "x", {"x": vec(-1000, -745, -710)},
        lambda v: [m_log_sigmoid(t) for t in v["x"]]),
    Row("log(sigmoid), x >= 40", "log(sigmoid(x))", "x", {"x": vec(40, 710, 1000)},
        lambda v: [m_log_sigmoid(t) for t in v["x"]]),
    Row("logsumexp, z = (-800, 0, 0)", "logsumexp(z)", "z", {"z": vec(-800, 0, 0)},
        lambda v: m_logsumexp(v["z"])),
    Row("logsumexp, x ~ -1000", "logsumexp(x)", "x", {"x": vec(-1000, -1001, -1040)},
        lambda v: m_logsumexp(v["x"])),
    Row("logsumexp, x ~ 1000", "logsumexp(x)", "x", {"x": vec(1000, 999, 0)},
        lambda v: m_logsumexp(v["x"])),
    Row("softmax, z = (-800, 0, 0)", "softmax(z)", "z", {"z": vec(-800, 0, 0)},
        lambda v: m_softmax(v["z"])),
    Row("softmax, x ~ -1000", "softmax(x)", "x", {"x": vec(-1000, -1001, -1040)},
        lambda v: m_softmax(v["x"])),
    Row("softmax, x ~ 1000", "softmax(x)", "x", {"x": vec(1000, 999, 0)},
        lambda v: m_softmax(v["x"])),
    Row("logistic loss, margins 3..1000", LOGISTIC, "w",
        logistic_values([1000, 710, 40, 3]), _logistic),
    Row("logistic loss Hessian, margins 3..1000", LOGISTIC, "w",
        logistic_values([1000, 710, 40, 3]), _logistic, order=2),
    Row("logistic loss, margins -1000..1000", LOGISTIC, "w",
        logistic_values([-1000, 710, -40, 3]), _logistic),
    Row("logistic loss Hessian, margins -1000..1000", LOGISTIC, "w",
        logistic_values([-1000, 710, -40, 3]), _logistic, order=2),
    Row("cross-entropy of softmax, z = (-800, 0, 0)", "-y'@log(softmax(z))", "z",
        {"y": vec(1, 0, 0), "z": vec(-800, 0, 0)},
        lambda v: -mpmath.fsum(a * mpmath.log(b) for a, b in zip(v["y"], m_softmax(v["z"])))),
    Row("binary cross-entropy, scores -1.5..3", BCE, "w", bce_values([2.5, -1.5, 0.5, 3.0]),
        _bce),
    Row("binary cross-entropy, scores -710..1000", BCE, "w",
        bce_values([40, -40, 1000, -710]), _bce),
    Row("log(sum(exp)), x ~ -1000", "log(sum(exp(x)))", "x", {"x": vec(-1000, -1001, -1040)},
        lambda v: m_logsumexp(v["x"])),
    Row("log(sum(exp)), x ~ 1000", "log(sum(exp(x)))", "x", {"x": vec(1000, 999, 0)},
        lambda v: m_logsumexp(v["x"])),
    Row("exp/sum(exp), x ~ -1000", "exp(x)/sum(exp(x))", "x",
        {"x": vec(-1000, -1001, -1040)}, lambda v: m_softmax(v["x"])),
    Row("exp/sum(exp), x ~ 1000", "exp(x)/sum(exp(x))", "x", {"x": vec(1000, 999, 0)},
        lambda v: m_softmax(v["x"])),
    Row("logsumexp(A@x+z) Hessian, A x + z = (1000, 999.5, -800)", "logsumexp(A@x+z)", "x",
        {"A": A3, "x": X3, "z": LSE_TARGET - A3 @ X3}, _lse_affine, order=2),
    # a ⊙ b⁻¹ is computed a / b: 1/b overflows for a subnormal b, and is a subnormal
    # (0 where subnormals are flushed, as XLA does) for b > 4.5e307
    Row("quotient, subnormal divisor: exp(a)/exp(b) at (-720, -721)", "exp(a)/exp(b)", "a",
        {"a": np.float64(-720), "b": np.float64(-721)},
        lambda v: mpmath.exp(v["a"]) / mpmath.exp(v["b"]),
        skip=(("jax", "XLA on CPU flushes subnormals to zero: exp(-720) is 0 there"),)),
    Row("quotient, huge divisor: exp(a)/exp(b) at (690, 709)", "exp(a)/exp(b)", "a",
        {"a": np.float64(690), "b": np.float64(709)},
        lambda v: mpmath.exp(v["a"]) / mpmath.exp(v["b"])),
    Row("norm2, x ~ 1e200", "norm2(x)", "x", {"x": vec(1e200, -2e200, 3)}, _norm2,
        dref=lambda v: [t / _norm2(v) for t in v["x"]]),
    # 1 - tanh(x)² would lose all relative accuracy for 12 < |x| < 350 (tanh'(40) =
    # 7e-35 would come out 0): it is evaluated as 4 σ(2x) σ(-2x)
    Row("tanh, x = +-1000", "tanh(x)", "x", {"x": vec(-1000, 0.5, 1000)},
        lambda v: [mpmath.tanh(t) for t in v["x"]]),
    Row("tanh, x = 20, -40, 300", "tanh(x)", "x", {"x": vec(20, -40, 300)},
        lambda v: [mpmath.tanh(t) for t in v["x"]]),
]

# The same functions spelled stably, as the rewrite pass (matcalc.calculus.recognize)
# writes them: these rows check the ops those spellings use (softplus, its derivative
# σ, logsumexp, its derivative softmax) at the same extreme inputs.
STABLE_SPELLINGS = [
    Row("stable spelling: -softplus(-x) = log(sigmoid(x)), x = -1000", "-softplus(-x)", "x",
        {"x": vec(-1000, -745, -710)}, lambda v: [m_log_sigmoid(t) for t in v["x"]]),
    Row("stable spelling: -softplus(-x) = log(sigmoid(x)), x >= 40", "-softplus(-x)", "x",
        {"x": vec(40, 710, 1000)}, lambda v: [m_log_sigmoid(t) for t in v["x"]]),
    Row("stable spelling: logistic loss, margins -1000..1000", "sum(softplus(-y*(X@w)))", "w",
        logistic_values([-1000, 710, -40, 3]), _logistic),
    Row("stable spelling: logistic loss Hessian, margins -1000..1000",
        "sum(softplus(-y*(X@w)))", "w", logistic_values([-1000, 710, -40, 3]), _logistic,
        order=2),
    Row("stable spelling: cross-entropy of softmax, z = (-800, 0, 0)",
        "-y'@(z - logsumexp(z))", "z", {"y": vec(1, 0, 0), "z": vec(-800, 0, 0)},
        lambda v: -mpmath.fsum(a * mpmath.log(b) for a, b in zip(v["y"], m_softmax(v["z"])))),
    Row("stable spelling: binary cross-entropy, scores -710..1000",
        "-mean(y*(-softplus(-(X@w))) + (1-y)*(-softplus(X@w)))", "w",
        bce_values([40, -40, 1000, -710]), _bce),
]
ROWS += STABLE_SPELLINGS
assert len({r.id for r in ROWS}) == len(ROWS), "row ids are unique"


# ------------------------------------------------------------ the references

def _to_mp(a):
    a = np.asarray(a, dtype=float)
    if a.ndim == 0:
        return mpmath.mpf(float(a))
    return [_to_mp(r) for r in a]


def _to_float(v) -> np.ndarray:
    if isinstance(v, list):
        return np.array([_to_float(t) for t in v], dtype=float)
    return np.array(float(v))


_CACHE: dict = {}


def reference(row: Row) -> tuple[np.ndarray, np.ndarray]:
    """(f, derivative) at the row's values, with DPS digits; the derivative has
    matcalc's shape f.shape + wrt.shape (order 2: the Hessian)."""
    if row.id in _CACHE:
        return _CACHE[row.id]
    with mpmath.workdps(DPS):
        base = {k: _to_mp(a) for k, a in row.values.items()}
        wshape = np.shape(row.values[row.wrt])
        point = [mpmath.mpf(float(t)) for t in np.ravel(row.values[row.wrt])]

        def f_at(*entries):
            v = dict(base)
            v[row.wrt] = (entries[0] if not wshape else
                          np.array(entries, dtype=object).reshape(wshape).tolist())
            return row.ref(v)

        def partial(fn, *axes):
            orders = [0] * len(point)
            for j in axes:
                orders[j] += 1
            return mpmath.diff(fn, point, orders)

        value = row.ref(base)
        n = len(point)
        if row.dref is not None:
            deriv = row.dref(base)
        elif row.order == 2:
            deriv = [[partial(f_at, j, k) for k in range(n)] for j in range(n)]
        elif isinstance(value, list):
            deriv = [[partial(lambda *e, i=i: f_at(*e)[i], j) for j in range(n)]
                     for i in range(len(value))]
        else:
            deriv = [partial(f_at, j) for j in range(n)]
        value = _to_float(value)
        fshape = wshape if row.order == 2 else value.shape   # a Hessian: ∇f by wrt
        out = value, _to_float(deriv).reshape(fshape + wshape)
    _CACHE[row.id] = out
    return out


# ------------------------------------------------------------ the paths

def _run_evaluate(row, d):
    return matcalc.evaluate(row.text, row.values), d.evaluate(row.values)


def _call(fn, row):
    return fn(*[row.values[p] for p in inspect.signature(fn).parameters])


def _run_lambdify(row, d):
    return _call(matcalc.lambdify(d, with_value=True), row)


def _exec_source(row, d, target):
    src = d.to_code(target=target, with_value=True)
    namespace: dict = {}
    exec(compile(src, f"<stability {target}>", "exec"), namespace)
    fns = [v for k, v in namespace.items() if k.startswith("f_and_")]
    assert len(fns) == 1, src
    return _call(fns[0], row)


def _run_numpy(row, d):
    return _exec_source(row, d, "numpy")


def _x64(jax):
    """64-bit floats in a block (jax's default is float32)."""
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64   # older jax
    return enable_x64()


def _run_jax(row, d):
    jax = pytest.importorskip("jax")
    with _x64(jax):
        value, deriv = _exec_source(row, d, "jax")
        return np.asarray(value), np.asarray(deriv)


def _run_torch(row, d):
    pytest.importorskip("torch")
    value, deriv = _exec_source(row, d, "torch")
    return np.asarray(value), np.asarray(deriv)


PATHS = {"evaluate": _run_evaluate, "lambdify": _run_lambdify, "numpy": _run_numpy,
         "jax": _run_jax, "torch": _run_torch}


def close(got, ref) -> tuple[bool, str]:
    """Finite and within the criterion, entry by entry (see the module's docstring)."""
    got = np.asarray(got, dtype=float)
    if got.shape != ref.shape:
        return False, f"shape {got.shape}, expected {ref.shape}"
    if not np.all(np.isfinite(got)):
        return False, f"not finite: {got.ravel()[~np.isfinite(got.ravel())][:3]}"
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    err = np.abs(got - ref)
    bound = RTOL * np.abs(ref) + TINY + NOISE * scale
    if np.all(err <= bound):
        return True, ""
    i = int(np.argmax(err / bound))
    return False, (f"entry {np.unravel_index(i, ref.shape)}: {got.ravel()[i]!r}, expected "
                   f"{ref.ravel()[i]!r} (relative error {err.ravel()[i] / max(abs(ref.ravel()[i]), TINY):.2g})")


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_stable(row, path):
    why = dict(row.skip).get(path)
    if why:
        pytest.skip(why)
    d = matcalc.diff(row.text, row.wrt, order=row.order)
    value, deriv = PATHS[path](row, d)
    ref_value, ref_deriv = reference(row)
    problems = []
    for what, got, ref in (("f", value, ref_value), ("derivative", deriv, ref_deriv)):
        ok, why = close(got, ref)
        if not ok:
            problems.append(f"{what}: {why}")
    assert not problems, f"{row.text} by {row.wrt} ({path}): " + "; ".join(problems)


# ------------------------------------------------------------ the references themselves

def test_references_match_closed_forms():
    """The mpmath.diff references against derivatives known in closed form."""
    row = ROWS[0]
    _, d = reference(row)
    with mpmath.workdps(DPS):
        want = [float(m_sigmoid(t) * m_sigmoid(-t)) for t in map(mpmath.mpf, row.values["x"])]
    np.testing.assert_allclose(np.diag(d), want, rtol=1e-12)
    # -y'log(softmax(z)) at z = (-800, 0, 0), y = e1: f = 800 + log 2, gradient (-1, ½, ½)
    ce = next(r for r in ROWS if r.text.startswith("-y'@log(softmax"))
    f, g = reference(ce)
    np.testing.assert_allclose(f, 800 + np.log(2), rtol=1e-15)
    np.testing.assert_allclose(g, [-1.0, 0.5, 0.5], rtol=1e-15)
    # logistic loss: the gradient is -Xᵀ(y ⊙ σ(-m)), m = y ⊙ Xw
    row = next(r for r in ROWS if r.text == LOGISTIC and r.order == 1)
    _, g = reference(row)
    X, y, w = row.values["X"], row.values["y"], row.values["w"]
    with mpmath.workdps(DPS):
        s = [m_sigmoid(-mpmath.mpf(yi) * t) for yi, t in zip(y, m_matvec(_to_mp(X), _to_mp(w)))]
        want = [-float(mpmath.fsum(X[i, j] * y[i] * s[i] for i in range(len(y))))
                for j in range(X.shape[1])]
    np.testing.assert_allclose(g, want, rtol=1e-12)
