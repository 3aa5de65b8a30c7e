"""The Kronecker (vec) form of derivatives that no matrix shows, checked numerically:
the printed terms are rebuilt as a matrix and compared with Derivative.evaluate."""
import numpy as np
import pytest

import matcalc
from matcalc.core import expr as E
from matcalc.calculus.identify import kronecker_terms
from matcalc.calculus.jvp import tangent_of
from matcalc.backends.numeric import Evaluator, bind_dims

SIZES = {"m": 2, "n": 3, "p": 4}

CASES = [
    # (expression, wrt, shapes, expected Kronecker line)
    ("inv(X)", "X", {"X": "n,n"}, "∂vec(f)/∂vec(X) = -(X⁻ᵀ ⊗ X⁻¹)"),
    ("A@X", "X", {"A": "p,m", "X": "m,n"}, "∂vec(f)/∂vec(X) = I ⊗ A"),
    ("W@x", "W", {"W": "m,n"}, "∂vec(f)/∂vec(W) = xᵀ ⊗ I"),
    ("x@y'", "x", {"x": "n", "y": "m"}, "∂vec(f)/∂vec(x) = y ⊗ I"),
    ("x@x'", "x", {"x": "n"}, "∂vec(f)/∂vec(x) = x ⊗ I + I ⊗ x"),
    ("X'", "X", {"X": "m,n"},
     "∂vec(f)/∂vec(X) = K; K is the commutation matrix, K vec(X) = vec(Xᵀ)"),
    ("2*A@X@B", "X", {"A": "p,m", "X": "m,n", "B": "n,m"}, "∂vec(f)/∂vec(X) = 2(Bᵀ ⊗ A)"),
    ("X@X", "X", {"X": "n,n"}, "∂vec(f)/∂vec(X) = Xᵀ ⊗ I + I ⊗ X"),
    ("X@A@X'", "X", {"X": "m,n", "A": "n,n"},
     "∂vec(f)/∂vec(X) = XAᵀ ⊗ I + (I ⊗ XA) K; K is the commutation matrix, "
     "K vec(X) = vec(Xᵀ)"),
]


def _commutation(m, n):
    k = np.zeros((m * n, m * n))
    for i in range(m):
        for j in range(n):
            k[j + n * i, i + m * j] = 1.0
    return k


def _values(f, rng):
    vals = {}
    for v in E.variables(f):
        shape = tuple(SIZES[d] if isinstance(d, str) else d for d in v.shape)
        a = rng.normal(size=shape)
        if len(shape) == 2 and shape[0] == shape[1]:
            a = a + 3 * np.eye(shape[0])
        vals[v.name] = a
    return vals


def _as2d(a):
    a = np.asarray(a, dtype=float)
    return a.reshape(1, 1) if a.ndim == 0 else a.reshape(-1, 1) if a.ndim == 1 else a


@pytest.mark.parametrize("text,wrt,shapes,line", CASES, ids=[c[0] for c in CASES])
def test_kronecker_form(text, wrt, shapes, line):
    d = matcalc.diff(text, wrt, shapes=shapes)
    assert d.kind == "differential"
    assert d.kronecker() == line
    assert line in d.report()
    rng = np.random.default_rng(7)
    vals = _values(d.f, rng)
    arrays, dims = bind_dims(E.variables(d.f), vals)
    ev = Evaluator(arrays, dims)
    dv = tangent_of(d.wrt)
    vm = _as2d(vals[wrt])
    m_rows, m_cols = vm.shape
    total = 0
    for coeff, right, left, transposed in kronecker_terms(d.expr, dv):
        size = m_rows * m_cols
        r = _as2d(ev.value(right)) if right is not None else None
        l_ = _as2d(ev.value(left)) if left is not None else None
        # the middle factor (dV, dVᵀ, or a vector's dvᵀ) has size entries
        if l_ is not None:
            rows_mid = l_.shape[1]
            cols_mid = r.shape[1] if r is not None else size // rows_mid
        elif r is not None:
            cols_mid = r.shape[1]
            rows_mid = size // cols_mid
        else:
            rows_mid, cols_mid = size, 1
        r = r if r is not None else np.eye(cols_mid)
        l_ = l_ if l_ is not None else np.eye(rows_mid)
        term = np.kron(r, l_)
        if transposed:
            term = term @ _commutation(m_rows, m_cols)
        c = float(ev.value(coeff)) if coeff is not None else 1.0
        total = total + c * term
    out = d.evaluate(vals)
    fnd, vnd = len(d.f.shape), len(d.wrt.shape)
    axes = list(reversed(range(fnd))) + list(reversed(range(fnd, fnd + vnd)))
    jac = out.transpose(axes).reshape(int(np.prod(out.shape[:fnd])),
                                      int(np.prod(out.shape[fnd:])))
    np.testing.assert_allclose(total, jac, rtol=1e-10, atol=1e-12)


def test_no_kronecker_form_for_elementwise():
    d = matcalc.diff("X*X", "X")
    assert d.kind == "differential" and d.kronecker() is None
    assert "vec" not in d.report()
