"""The matrix power ``matpow(A, k)`` (the matlab dialect's ``A^k``) and the identities
of det, logdet and inv over products and powers: parsing in both dialects, shapes
and errors, the algebra of adjacent powers, printing, values against NumPy,
derivatives against finite differences (tests/oracle.py) at square sizes 2, 3 and
4, code generation, and proofs by ``Derivative.verify``."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from oracle import check

import matcalc as M
from matcalc import LimitError, ParseError, ShapeError, ops
from matcalc.core import expr as E
from matcalc.printing.latex import to_latex
from matcalc.printing.text import to_unicode

SQ = {"A": "n,n", "B": "n,n", "C": "n,n", "X": "n,n", "x": "n"}
SIZES = [2, 3, 4]


def p(text, shapes=SQ, dialect="default"):
    return M.parse(text, shapes, dialect)


def _rand(n, seed=0, shift=0.0):
    rng = np.random.default_rng(seed + 10 * n)
    return rng.standard_normal((n, n)) + shift * np.eye(n)


# ------------------------------------------------------------------ parsing

def test_a_call_in_the_default_dialect():
    e = p("matpow(A, 3)")
    assert type(e) is E.Call and e.op is ops.MATPOW
    assert e.args[0] is p("A") and E.const_value(e.args[1]) == 3
    assert e.shape == ("n", "n")
    assert str(e) == "matpow(A, 3)"
    assert p(str(e)) is e                       # the text parses back
    assert p("matrix_power(A, 3)") is e         # NumPy's name, an alias
    assert p("matpow(A, 1 + 2)") is e           # a constant expression is a constant


def test_the_power_makes_its_argument_square():
    e = M.parse("matpow(A, 2) @ x")
    a, x = E.variables(e)
    assert a.shape == ("n", "n") and x.shape == ("n",)


@pytest.mark.parametrize("matlab, default", [
    ("A^2", "matpow(A, 2)"),
    ("A^3", "matpow(A, 3)"),
    ("A^1", "A"),
    ("A^0", "eye(n)"),
    ("A^-1", "inv(A)"),
    ("A^-2", "matpow(inv(A), 2)"),
    ("A^64", "matpow(A, 64)"),
    ("(A*B)^2", "matpow(A @ B, 2)"),
    ("A^2*A", "matpow(A, 3)"),
    ("inv(A^2)", "matpow(inv(A), 2)"),
    ("a^2", "a ^ 2"),                           # a scalar: the scalar power
    ("A.^2", "A ^ 2"),                          # element-wise
])
def test_the_matlab_caret(matlab, default):
    assert p(matlab, dialect="matlab") is p(default)


@pytest.mark.parametrize("text, dialect, error, words", [
    ("A^2.5", "matlab", ParseError, "whole-number exponent"),
    ("A^a", "matlab", ParseError, "whole-number exponent"),
    ("A^65", "matlab", ParseError, "at most 64"),
    ("x^2", "matlab", ShapeError, "square matrix"),
    ("((((A^64)^64)^64)^64)^64", "matlab", LimitError, "max_power_factors"),
    ("matpow(W, 2)", "default", ShapeError, r"matpow\(\) needs a square matrix, got a matrix \(m×n\)"),
    ("matpow(x, 2)", "default", ShapeError, "needs a square matrix"),
    ("matpow(A, 0)", "default", ParseError, "whole-number constant k ≥ 1, not 0"),
    ("matpow(A, -1)", "default", ParseError, "whole-number constant k ≥ 1, not -1"),
    ("matpow(A, 2.5)", "default", ParseError, "not 2.5"),
    ("matpow(A, a)", "default", ParseError, "not a"),
    ("matpow(A, x)", "default", ParseError, "not x"),
    ("matpow(A)", "default", ParseError, r"matpow\(\) takes 2 arguments, got 1"),
    ("matpow(A, 2000)", "default", LimitError, "max_power_factors"),
    ("matpow(matpow(A, 64), 64)", "default", LimitError, "max_power_factors"),
])
def test_refused(text, dialect, error, words):
    with pytest.raises(error, match=words) as info:
        M.parse(text, {"W": "m,n", "A": "n,n", "x": "n"}, dialect)
    assert info.value.pos is not None   # located: a caret under the operator or name


def test_a_declared_dimension_is_not_an_exponent():
    with pytest.raises(ParseError, match="not n"):
        M.parse("matpow(A, n)", {"A": "n,n"})


# ------------------------------------------------------------------ algebra

@pytest.mark.parametrize("text, same", [
    ("matpow(A, 2) @ A", "matpow(A, 3)"),
    ("A @ matpow(A, 2)", "matpow(A, 3)"),
    ("matpow(A, 2) @ matpow(A, 3)", "matpow(A, 5)"),
    ("A @ matpow(A, 2) @ A", "matpow(A, 4)"),
    ("matpow(A, 3) @ inv(A)", "matpow(A, 2)"),
    ("inv(A) @ matpow(A, 2)", "A"),
    ("matpow(A, 2) @ matpow(inv(A), 2)", "eye(n)"),
    ("matpow(inv(A), 2) @ A", "inv(A)"),
    ("inv(A) @ inv(A)", "matpow(inv(A), 2)"),
    ("matpow(A, 1)", "A"),
    ("matpow(matpow(A, 2), 3)", "matpow(A, 6)"),
    ("matpow(A', 3)", "matpow(A, 3)'"),        # one form: the transpose outside
    ("matpow(2 * A, 2)", "4 * matpow(A, 2)"),
    ("matpow(-A, 3)", "-matpow(A, 3)"),
    ("matpow(diag(x), 3)", "diag(x ^ 3)"),
    ("matpow(eye(n), 5)", "eye(n)"),
    ("matpow(zeros(n, n), 2)", "zeros(n, n)"),
    ("B @ matpow(A, 2) @ A @ C", "B @ matpow(A, 3) @ C"),
])
def test_powers_of_one_matrix_combine(text, same):
    assert p(text) is p(same)


def test_a_symmetric_power_is_its_own_transpose():
    from matcalc.calculus.simplify import simplify
    s = p("matpow(A' @ A, 3)")
    assert simplify(E.transpose(s)) is s


# ------------------------------------------------------------------ printing

@pytest.mark.parametrize("text, uni, tex", [
    ("matpow(A, 3)", "A³", r"\mathbf{A}^{3}"),
    ("matpow(A, 12)", "A¹²", r"\mathbf{A}^{12}"),
    ("matpow(A, 3)'", "(A³)ᵀ", r"\left( \mathbf{A}^{3} \right)^{\top}"),
    ("matpow(inv(A), 2)", "(A⁻¹)²", r"\left( \mathbf{A}^{-1} \right)^{2}"),
    ("matpow(A @ B, 2)", "(AB)²", r"\left( \mathbf{A} \mathbf{B} \right)^{2}"),
    ("matpow(A + B, 2)", "(A + B)²", r"\left( \mathbf{A} + \mathbf{B} \right)^{2}"),
    ("x' @ matpow(A, 2) @ x", "xᵀA²x", r"\mathbf{x}^{\top} \mathbf{A}^{2} \mathbf{x}"),
    ("tr(matpow(A, 3))", "tr(A³)", r"\operatorname{tr}\left( \mathbf{A}^{3} \right)"),
])
def test_printed(text, uni, tex):
    e = p(text)
    assert to_unicode(e) == uni
    assert to_latex(e) == tex
    assert p(str(e)) is e


# ------------------------------------------------------------------ values

@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("k", [2, 3, 5])
def test_value_is_numpys(n, k):
    A, B = _rand(n), _rand(n, seed=1)
    vals = {"A": A, "B": B}
    mp = np.linalg.matrix_power
    np.testing.assert_allclose(M.evaluate(f"matpow(A, {k})", vals, SQ), mp(A, k))
    np.testing.assert_allclose(M.evaluate(f"matpow(A, {k})'", vals, SQ), mp(A, k).T)
    np.testing.assert_allclose(M.evaluate(f"matpow(A @ B, {k})", vals, SQ), mp(A @ B, k))
    np.testing.assert_allclose(M.evaluate(f"A^{k}", vals, SQ, dialect="matlab"), mp(A, k))
    np.testing.assert_allclose(M.evaluate(f"A^-{k}", vals, SQ, dialect="matlab"),
                               mp(np.linalg.inv(A), k))


# ------------------------------------------------------------------ derivatives

@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("k", [2, 3, 4])
def test_differential_by_the_matrix(n, k):
    d = check(f"matpow(A, {k})", "A", SQ, dims={"n": n})
    assert d.kind == "differential"


def test_differential_printed():
    assert str(M.diff("matpow(A, 2)", "A", SQ)) == "dA A + A dA"
    assert str(M.diff("matpow(A, 3)", "A", SQ)) == "dA A² + A dA A + A² dA"
    assert str(M.diff("matpow(A, 3)'", "A", SQ)) == \
        "(dA A² + A dA A + A² dA)ᵀ"


@pytest.mark.parametrize("k, printed", [(2, "2 Aᵀ"), (3, "3 (A²)ᵀ"), (4, "4 (A³)ᵀ"),
                                        (5, "5 (A⁴)ᵀ")])
def test_gradient_of_the_trace(k, printed):
    d = M.diff(f"tr(matpow(A, {k}))", "A", SQ)
    assert str(d) == printed
    for n in SIZES:
        check(f"tr(matpow(A, {k}))", "A", SQ, dims={"n": n}, d=d)
        A = _rand(n)
        np.testing.assert_allclose(d.evaluate({"A": A}),
                                   k * np.linalg.matrix_power(A, k - 1).T, rtol=1e-10)


@pytest.mark.parametrize("n", SIZES)
def test_quadratic_form_of_a_power(n):
    d = check("x' @ matpow(A, 2) @ x", "x", SQ, dims={"n": n})
    assert str(d) == "xᵀ(A² + (A²)ᵀ)"
    A, x = _rand(n), np.arange(1.0, n + 1)
    A2 = A @ A
    np.testing.assert_allclose(d.evaluate({"A": A, "x": x}), x @ (A2 + A2.T))
    check("x' @ matpow(A, 3) @ x", "A", SQ, dims={"n": n})
    check("x' @ matpow(A, 2) @ x", "x", SQ, dims={"n": n}, order=2)


@pytest.mark.parametrize("text, wrt", [
    ("tr(B @ matpow(A, 3))", "A"),
    ("sum(matpow(A, 2) @ x)", "A"),
    ("tr(matpow(A', 3) @ B)", "A"),
    ("matpow(A @ B, 2)", "B"),
    ("tr(matpow(inv(A), 2))", "A"),
    ("matpow(A, 3) @ x", "x"),
    ("tr(X @ X @ X)", "X"),
])
@pytest.mark.parametrize("n", SIZES)
def test_more_derivatives_against_finite_differences(text, wrt, n):
    check(text, wrt, SQ, dims={"n": n})


@pytest.mark.parametrize("text, wrt", [
    ("matpow(A, 3)", "A"),
    ("tr(matpow(A, 3))", "A"),
    ("x' @ matpow(A, 2) @ x", "x"),
    ("x' @ matpow(A, 2) @ x", "A"),
])
def test_proved(text, wrt):
    report = M.diff(text, wrt, SQ).verify(dims=(2, 3), budget=10)
    assert report.ok and report.proved, str(report)


# ------------------------------------------------------------------ code

def _run(source: str, name: str, *args, **kwargs):
    scope: dict = {}
    exec(source, scope)  # noqa: S102 - our own generated code
    return scope[name](*args, **kwargs)


@pytest.mark.parametrize("text, wrt", [
    ("tr(matpow(A, 3)) + x' @ matpow(A, 2) @ x", "A"),
    ("x' @ matpow(A, 2) @ x", "x"),
])
def test_numpy_code(text, wrt):
    d = M.diff(text, wrt, SQ)
    A, x = _rand(3), np.array([1.0, -2.0, 0.5])
    source = d.to_code()
    assert "np.linalg.matrix_power(" in source
    got = _run(source, f"d_f_d_{wrt}", A=A, x=x)
    np.testing.assert_allclose(got, d.evaluate({"A": A, "x": x}), rtol=1e-10)
    value, _ = M.lambdify(d, with_value=True)(A=A, x=x)
    np.testing.assert_allclose(value, M.evaluate(d.f, {"A": A, "x": x}))


def test_jax_code():
    jnp = pytest.importorskip("jax.numpy")
    d = M.diff("tr(matpow(A, 3))", "A", SQ)
    source = d.to_code("jax", with_value=True)
    assert "jnp.linalg.matrix_power(" in source
    A = _rand(3)
    value, grad = _run(source, "f_and_d_f_d_A", jnp.asarray(A))
    np.testing.assert_allclose(np.asarray(grad), d.evaluate({"A": A}), rtol=1e-5)


def test_torch_code():
    torch = pytest.importorskip("torch")
    d = M.diff("tr(matpow(A, 3))", "A", SQ)
    source = d.to_code("torch", with_value=True)
    assert "torch.linalg.matrix_power(" in source
    A = _rand(3)
    value, grad = _run(source, "f_and_d_f_d_A", torch.tensor(A))
    np.testing.assert_allclose(grad.numpy(), d.evaluate({"A": A}), rtol=1e-10)
    np.testing.assert_allclose(float(value), np.trace(np.linalg.matrix_power(A, 3)))


def test_sympy_form():
    sp = pytest.importorskip("sympy")
    s = p("matpow(A, 3)").to_sympy()
    assert isinstance(s, sp.MatPow) and s.args[1] == 3


# ------------------------------------------------------- det, logdet and inv identities

@pytest.mark.parametrize("text, same", [
    ("det(X @ X)", "det(X)^2"),
    ("det(A @ X @ B)", "det(A @ X @ B)"),      # three determinants: not simpler
    ("det(X @ A @ X)", "det(X)^2 * det(A)"),   # a repeated factor: a power
    ("det(matpow(A, 3))", "det(A)^3"),
    ("det(A')", "det(A)"),
    ("det(inv(A))", "det(A)^-1"),
    ("det(matpow(inv(A), 2))", "det(A)^-2"),
    ("det(eye(n))", "1"),
    ("logdet(A @ X @ B)", "logdet(A @ X @ B)"),
    ("logdet(X @ X)", "2 * logdet(X)"),
    ("logdet(matpow(A, 3))", "3 * logdet(A)"),
    ("logdet(A')", "logdet(A)"),
    ("logdet(inv(A))", "-logdet(A)"),
    ("inv(A @ B)", "inv(B) @ inv(A)"),
    ("inv(A @ X @ B)", "inv(B) @ inv(X) @ inv(A)"),
    ("inv(X @ X)", "matpow(inv(X), 2)"),
    ("inv(matpow(A, 3))", "matpow(inv(A), 3)"),
    ("inv(matpow(inv(A), 3))", "matpow(A, 3)"),
    ("inv(A @ B) @ A @ B", "eye(n)"),
])
def test_identities(text, same):
    e, f = p(text), p(same)
    assert e is f
    vals = {"A": _rand(3, shift=3), "B": _rand(3, seed=1, shift=3),
            "X": _rand(3, seed=2, shift=3)}
    # the identity holds: the original formula, computed by NumPy directly
    A, B, X = vals["A"], vals["B"], vals["X"]
    inv, det, mp = np.linalg.inv, np.linalg.det, np.linalg.matrix_power
    direct = {
        "det(X @ X)": det(X @ X), "det(A @ X @ B)": det(A @ X @ B),
        "det(X @ A @ X)": det(X @ A @ X),
        "det(matpow(A, 3))": det(mp(A, 3)), "det(A')": det(A.T),
        "det(inv(A))": det(inv(A)), "det(matpow(inv(A), 2))": det(inv(A) @ inv(A)), "det(eye(n))": 1.0,
        "logdet(A @ X @ B)": np.log(abs(det(A @ X @ B))), "logdet(X @ X)": np.log(det(X) ** 2),
        "logdet(matpow(A, 3))": np.log(abs(det(mp(A, 3)))), "logdet(A')": np.log(abs(det(A))),
        "logdet(inv(A))": -np.log(abs(det(A))), "inv(A @ B)": inv(A @ B),
        "inv(A @ X @ B)": inv(A @ X @ B), "inv(X @ X)": inv(X @ X),
        "inv(matpow(A, 3))": inv(mp(A, 3)), "inv(matpow(inv(A), 3))": mp(A, 3),
        "inv(A @ B) @ A @ B": np.eye(3),
    }[text]
    if E.variables(e):
        np.testing.assert_allclose(M.evaluate(e, vals), direct, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("text, printed", [
    ("det(X @ X)", "det(X)²"),
    ("inv(X @ X)", "(X⁻¹)²"),
    ("inv(A @ B)", "B⁻¹A⁻¹"),
    ("logdet(X @ A @ X)", "2 log|det X| + log|det A|"),
    ("det(matpow(A, 3))", "det(A)³"),
])
def test_identities_printed(text, printed):
    assert to_unicode(p(text)) == printed


def test_det_of_a_scaled_matrix():
    assert to_unicode(p("det(2 * X)")) == "2^n det(X)"
    assert p("det(2 * X)", {"X": "3,3"}) is p("8 * det(X)", {"X": "3,3"})
    assert p("det(-X)", {"X": "3,3"}) is p("-det(X)", {"X": "3,3"})
    assert p("det(a * X)", {"X": "3,3"}) is p("a^3 * det(X)", {"X": "3,3"})
    for kept in ["det(-X)", "det(a * X)"]:     # (-1)ⁿ, aⁿ: n symbolic, the sign unknown
        assert type(p(kept).args[0]) is E.Mul
    X = _rand(3, shift=2)
    np.testing.assert_allclose(M.evaluate("det(2 * X)", {"X": X}, {"X": "n,n"}),
                               np.linalg.det(2 * X))
    for n in SIZES:
        check("det(2 * X)", "X", SQ, dims={"n": n})
        check("det(a * X)", "a", {"X": f"{n},{n}"})


@pytest.mark.parametrize("text, shapes", [
    ("det(W @ V)", {"W": "m,n", "V": "n,m"}),       # the factors are not square
    ("logdet(X' @ X)", {"X": "m,n"}),
    ("inv(W @ V)", {"W": "m,n", "V": "n,m"}),
    ("det(A @ B)", None),                          # nothing says A is square
])
def test_a_product_of_factors_not_square_is_kept(text, shapes):
    e = M.parse(text, shapes)
    assert type(e) is E.Call and type(e.args[0]) is E.MatMul


@pytest.mark.parametrize("text, printed", [
    ("det(A @ B @ A) + tr(A)", "det(A)² det(B) + tr(A)"),   # A square once tr(A) is read
    ("inv(A @ B) @ x + diag(A)", "B⁻¹A⁻¹x + diag(A)"),
])
def test_squareness_learned_later_in_the_text(text, printed):
    assert to_unicode(M.parse(text)) == printed


@pytest.mark.parametrize("text, wrt, printed", [
    ("det(X @ X)", "X", "2 det(X)² X⁻ᵀ"),
    ("logdet(A @ X @ B)", "X", "X⁻ᵀ"),
    ("logdet(X @ X)", "X", "2 X⁻ᵀ"),
    ("det(matpow(X, 3))", "X", "3 det(X)³ X⁻ᵀ"),
    ("inv(X @ X)", "X", "-X⁻¹ dX (X⁻¹)² - (X⁻¹)² dX X⁻¹"),
])
def test_derivatives_through_the_identities(text, wrt, printed):
    d = M.diff(text, wrt, SQ)
    assert str(d) == printed
    for n in SIZES:
        check(text, wrt, SQ, dims={"n": n}, d=d)


@pytest.mark.parametrize("text, wrt", [
    ("det(A @ X @ B)", "X"),
    ("inv(A @ X @ B)", "X"),
    ("logdet(X @ B)", "B"),
    ("tr(inv(X @ X))", "X"),
])
@pytest.mark.parametrize("n", SIZES)
def test_more_identity_derivatives(text, wrt, n):
    check(text, wrt, SQ, dims={"n": n})


@pytest.mark.parametrize("text, wrt, dims", [
    ("det(X @ X)", "X", (2, 3)),
    ("logdet(A @ X @ B)", "X", (2, 3)),
    ("det(A @ X @ B)", "X", (2, 3)),
    ("inv(X @ X)", "X", (2,)),
])
def test_identity_derivatives_are_proved(text, wrt, dims):
    report = M.diff(text, wrt, SQ).verify(dims=dims, budget=10)
    assert report.ok and report.proved, str(report)


# ------------------------------------------------------------------ KaTeX

def test_latex_renders_with_katex():
    """The LaTeX of powers, their transposes, derivatives and steps renders (as
    tests/test_latex.py checks for the other functions)."""
    katex = Path(__file__).parent / "katex"
    node = shutil.which("node")
    if node is None or not (katex / "node_modules" / "katex").is_dir():
        pytest.skip("node or KaTeX is not installed")
    texts = []
    for src in ["matpow(A, 3)", "matpow(A, 3)'", "tr(matpow(A, 3))", "x' @ matpow(A, 2) @ x",
                "matpow(inv(A), 2)", "det(X @ X)", "inv(X @ X)", "det(2 * X)"]:
        e = p(src)
        texts.append(to_latex(e))
        for v in E.variables(e):
            d = M.diff(e, v.name)
            texts += [d.latex(), d.steps_text(fmt="latex")]
    proc = subprocess.run([node, str(katex / "render.js")], input=json.dumps(texts),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    bad = [(t, err) for t, err in zip(texts, json.loads(proc.stdout)) if err]
    assert not bad, bad[:3]
