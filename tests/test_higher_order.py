"""Orders beyond the Hessian: the second derivatives of a vector-valued f (a 3rd-order
tensor) and the third derivatives of a scalar f, each checked against central finite
differences of the order below (tests/oracle.py), by the index form's einsum, and
by SymPy (``verify``); and the clear refusal where the order below has no matrix
form."""
import numpy as np
import pytest

from oracle import check, random_values

import matcalc
from matcalc import DiffError
from matcalc.cli import main

# (expression, wrt, shapes, order, the shape of the result with m=2, n=3)
CASES = [
    ("softmax(x)", "x", None, 2),
    ("tanh(W@x)", "x", {"W": "m,n"}, 2),
    ("sigmoid(A@x + b)", "x", {"A": "m,n"}, 2),
    ("exp(x) * x", "x", None, 2),
    ("x * (x'@x)", "x", None, 2),
    ("A@x / norm2(x)", "x", {"A": "m,n"}, 2),
    ("log(1 + exp(x))", "x", None, 2),
    ("c * x^3", "c", {"c": ()}, 2),
    ("sum(exp(A@x))", "x", {"A": "m,n"}, 3),
    ("logsumexp(A@x)", "x", {"A": "m,n"}, 3),
    ("log(sum(exp(x)))", "x", None, 3),
    ("sum(log(1 + exp(-y * (X@w))))", "w", {"X": "m,n", "y": "m"}, 3),
    ("norm2(x)^4", "x", None, 3),
    ("sum(sin(x) * x)", "x", None, 3),
    ("x'@A@x", "x", {"A": "n,n"}, 3),
    ("sum(tanh(W@x))", "x", {"W": "m,n"}, 3),
    ("x^5", "x", {"x": ()}, 3),
]
IDS = [f"order{r[3]}:{r[0]}:{r[1]}" for r in CASES]


@pytest.mark.parametrize("text, wrt, shapes, order", CASES, ids=IDS)
def test_finite_differences(text, wrt, shapes, order):
    d = check(text, wrt, shapes, order=order, points=2)
    assert d.order == order
    assert d.shape == tuple(d.f.shape) + order * tuple(d.wrt.shape)


@pytest.mark.parametrize("text, wrt, shapes, order", CASES, ids=IDS)
def test_index_form_and_code(text, wrt, shapes, order):
    d = matcalc.diff(text, wrt, shapes, order=order)
    values = random_values(d.f, d.wrt, np.random.default_rng(5))
    want = d.evaluate(values)
    np.testing.assert_allclose(d.index_form().evaluate(values), want, rtol=1e-9, atol=1e-12)
    names = [v.name for v in matcalc.core.expr.variables(d.f)]
    got = matcalc.lambdify(d)(*[values[n] for n in names])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("text, wrt, shapes, order",
                         [r for r in CASES if "W" not in (r[2] or {})][:6],
                         ids=IDS[:6])
def test_sympy_proves(text, wrt, shapes, order):
    report = matcalc.diff(text, wrt, shapes, order=order).verify(dims=(2,), budget=20)
    assert report.ok, str(report)


def test_order_needs_a_matrix_form_below():
    with pytest.raises(DiffError, match="order 1 .* has no matrix form, so order 2"):
        matcalc.diff("tanh(W@x)", "W", order=2)
    with pytest.raises(DiffError, match="order must be 1, 2 or 3"):
        matcalc.diff("sum(x)", "x", order=4)


def test_cli_order_3(capsys):
    assert main(["diff", "sum(exp(A@x))", "--wrt", "x", "--order", "3"]) == 0
    out = capsys.readouterr().out
    assert "∂³f/∂xᵢ∂xⱼ∂xₖ = " in out and "n×n×n" in out
    assert main(["diff", "sum(exp(A@x))", "--wrt", "x", "--order", "4"]) == 2
    assert "invalid choice" in capsys.readouterr().err
