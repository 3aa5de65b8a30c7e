"""Declared structure: symmetric (sym), symmetric positive definite (spd) and
probability-vector (prob) variables; the two conventions for the gradient by a
symmetric matrix, checked against finite differences that follow them."""
import dataclasses
import json
import pickle
import re

import numpy as np
import pytest

import matcalc
from matcalc.cli import main
from matcalc.core import expr as E
from matcalc.core import shapes as S
from oracle import check, direction

SYM = {"S": "n,n,sym", "x": "n"}
GAUSS = "-0.5*logdet(S) - 0.5*(x-mu)'@inv(S)@(x-mu)"


def _spd(n, rng):
    b = rng.standard_normal((n, n))
    return b @ b.T + n * np.eye(n)


def _cookbook(g):
    """The Matrix Cookbook's gradient from an unconstrained gradient G."""
    return g + g.T - np.diag(np.diag(g))


def _sym(g):
    return (g + g.T) / 2


def _run(capsys, *argv):
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


# ------------------------------------------------------------------ declarations

@pytest.mark.parametrize("spec, shape, structure", [
    ("n,n,sym", ("n", "n"), "sym"),
    (("n", "n", "sym"), ("n", "n"), "sym"),
    ("n, n, spd", ("n", "n"), "spd"),
    (["m", "m", "spd"], ("m", "m"), "spd"),
    ("nxn,sym", ("n", "n"), "sym"),
    ("3,3,sym", (3, 3), "sym"),
    ("n,prob", ("n",), "prob"),
    (("k", "prob"), ("k",), "prob"),
    ("n,n", ("n", "n"), None),
])
def test_declarations_are_parsed(spec, shape, structure):
    assert S.parse_declaration(spec) == (shape, structure)
    v = matcalc.parse("V", shapes={"V": spec})
    assert type(v) is E.Var and v.shape == shape and v.structure == structure


@pytest.mark.parametrize("spec, words", [
    ("n,m,sym", ["sym", "square", "matrix (n×m)"]),
    ("n,sym", ["sym", "square", "vector (n)"]),
    ("sym", ["sym", "square", "scalar"]),
    ("n,3,spd", ["spd", "square"]),
    ("prob", ["prob", "vector", "scalar"]),
    ("n,n,n,sym", ["at most 2"]),
    ("sym,n,n", ["sym", "structure", "last"]),
    (("prob", "n"), ["prob", "structure", "last"]),
])
def test_bad_declarations_are_refused(spec, words):
    with pytest.raises(matcalc.UsageError) as err:
        matcalc.parse("V", shapes={"V": spec})
    for w in words:
        assert w in str(err.value)
    assert "the shape of V" in str(err.value)


def test_var_checks_its_structure():
    with pytest.raises(matcalc.UsageError, match="square"):
        E.var("S", ("n", "m"), structure="sym")
    with pytest.raises(matcalc.UsageError, match="unknown structure"):
        E.var("S", ("n", "n"), structure="diagonal")


def test_structure_is_part_of_the_identity():
    plain = matcalc.parse("S", shapes={"S": "n,n"})
    sym = matcalc.parse("S", shapes={"S": "n,n,sym"})
    spd = matcalc.parse("S", shapes={"S": "n,n,spd"})
    assert len({plain, sym, spd}) == 3
    assert sym.symmetric and spd.symmetric and not plain.symmetric
    assert E.transpose(sym) is sym and E.transpose(spd) is spd
    assert E.transpose(plain) is not plain
    # Sᵀ = S, and the inverse of a symmetric matrix is symmetric: S⁻ᵀ = S⁻¹
    assert matcalc.parse("S' + S", shapes=SYM) is matcalc.parse("2*S", shapes=SYM)
    assert matcalc.parse("inv(S)'", shapes=SYM) is matcalc.parse("inv(S)", shapes=SYM)
    assert pickle.loads(pickle.dumps(sym)) is sym


def test_printing_round_trips_with_the_declarations():
    for text in ["x' @ S @ x", "inv(S) @ x + S' @ x"]:
        e = matcalc.parse(text, shapes=SYM)
        assert matcalc.parse(str(e), shapes=SYM) is e


def test_sum_of_a_probability_vector_is_one():
    assert matcalc.parse("sum(y)", shapes={"y": "n,prob"}) is E.ONE
    assert matcalc.parse("3*sum(2*y)", shapes={"y": "n,prob"}) is E.num(6)
    assert matcalc.parse("sum(y)", shapes={"y": "n"}) is not E.ONE


def test_cli_parse_lists_the_structures(capsys):
    status, out, _ = _run(capsys, "parse", "x'@S@x + y'@z", "--shape", "S=n,n,sym",
                          "--shape", "y=m,prob", "--shape", "T=n,n,spd")
    assert status == 0
    assert "  S: symmetric matrix (n×n)" in out.splitlines()
    assert "  y: probability vector (m)" in out.splitlines()
    status, out, _ = _run(capsys, "parse", "logdet(T)", "--shape", "T=n,n,spd")
    assert "  T: symmetric positive definite matrix (n×n)" in out.splitlines()


@pytest.mark.parametrize("spec, words", [
    ("S=n,m,sym", ["--shape 'S=n,m,sym'", "square"]),
    ("S=n,spd", ["--shape 'S=n,spd'", "square"]),
    ("y=prob", ["--shape 'y=prob'", "vector"]),
])
def test_cli_bad_declarations_name_the_option(capsys, spec, words):
    status, out, err = _run(capsys, "parse", "S", "--shape", spec)
    assert status == 2 and out == ""
    assert err.startswith("matcalc: usage error: ") and len(err.splitlines()) == 1
    for w in words:
        assert w in err


# ------------------------------------------------------------- symmetric gradients

def test_quadratic_form_by_x_uses_the_symmetry():
    d = matcalc.diff("x'@S@x", "x", SYM)
    assert d.text() == "2 xᵀS"
    assert d.text(layout="denominator") == "2 Sx"
    assert d.symmetric_gradient is None
    check("x'@S@x", "x", SYM)


@pytest.mark.parametrize("structure", ["sym", "spd"])
def test_known_gradients_by_a_symmetric_matrix(structure):
    shapes = {"S": f"n,n,{structure}", "x": "n", "a": "n", "b": "n", "mu": "n"}
    rng = np.random.default_rng(3)
    n = 4
    s, A = _spd(n, rng), rng.standard_normal((n, n))
    x, mu, a, b = (rng.standard_normal(n) for _ in range(4))
    si = np.linalg.inv(s)
    v = x - mu
    vals = {"S": s, "A": A, "x": x, "mu": mu, "a": a, "b": b}
    unconstrained = {
        "x'@S@x": np.outer(x, x),
        "logdet(S)": si.T,
        "tr(A@S)": A.T,
        GAUSS: -0.5 * si + 0.5 * si @ np.outer(v, v) @ si,
        "a'@inv(S)@b": -si @ np.outer(a, b) @ si,
    }
    for text, g in unconstrained.items():
        for conv, want in (("sym", _sym(g)), ("cookbook", _cookbook(g))):
            d = matcalc.diff(text, "S", shapes, symmetric_gradient=conv)
            assert d.symmetric_gradient == conv
            assert np.allclose(d.evaluate(vals), want), (text, conv)
            assert "Sᵀ" not in str(d) and "S⁻ᵀ" not in str(d), (text, str(d))
    # the Gaussian log-likelihood by the mean: S⁻¹(x - mu), as a row in numerator layout
    d = matcalc.diff(GAUSS, "mu", shapes)
    assert np.allclose(d.evaluate(vals), si @ v)
    assert d.text(layout="denominator") == "S⁻¹(x - mu)"


def test_printed_forms():
    assert str(matcalc.diff("x'@S@x", "S", SYM)) == "xxᵀ"
    assert str(matcalc.diff("logdet(S)", "S", SYM)) == "S⁻¹"
    cook = matcalc.diff("logdet(S)", "S", SYM, symmetric_gradient="cookbook")
    assert "I" in str(cook) and "Sᵀ" not in str(cook)  # 2S⁻¹ - S⁻¹ ⊙ I, in some form
    gauss = matcalc.diff(GAUSS, "S", {**SYM, "mu": "n"})
    # ½(Σ⁻¹(x−μ)(x−μ)ᵀΣ⁻¹ − Σ⁻¹), however the simplifier groups the ½
    assert "S⁻¹(x - mu)(x - mu)ᵀS⁻¹" in str(gauss) and "S⁻ᵀ" not in str(gauss)


CASES = [
    ("x'@S@x", {}),
    ("logdet(S)", {}),
    ("tr(A@S)", {}),
    ("x'@S@S@x", {}),
    (GAUSS, {"mu": "n"}),
    ("a'@inv(S)@b", {"a": "n", "b": "n"}),
    ("det(S)", {}),
    ("sum(exp(S))", {}),
]


@pytest.mark.parametrize("structure", ["sym", "spd"])
@pytest.mark.parametrize("convention", ["sym", "cookbook"])
@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("text, extra", CASES, ids=[c[0] for c in CASES])
def test_conventions_against_finite_differences(text, extra, n, convention, structure):
    shapes = {"S": f"n,n,{structure}", "x": "n", **extra}
    check(text, "S", shapes, dims={"n": n}, symmetric_gradient=convention)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_sym_is_the_gradient_on_symmetric_matrices(n):
    """⟨sym(G), D⟩ is the directional derivative along any symmetric D (the Frobenius
    inner product), and sym(G) is itself symmetric."""
    rng = np.random.default_rng(n)
    shapes = {"S": "n,n,sym", "mu": "n", "x": "n"}
    d = matcalc.diff(GAUSS, "S", shapes)
    vals = {"S": _spd(n, rng), "x": rng.standard_normal(n), "mu": rng.standard_normal(n)}
    g = d.evaluate(vals)
    assert np.allclose(g, g.T)
    for _ in range(3):
        m = rng.standard_normal((n, n))
        D = m + m.T
        h = 1e-6
        fp = matcalc.evaluate(GAUSS, {**vals, "S": vals["S"] + h * D}, shapes)
        fm = matcalc.evaluate(GAUSS, {**vals, "S": vals["S"] - h * D}, shapes)
        assert np.isclose((fp - fm) / (2 * h), np.sum(g * D), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_cookbook_moves_both_entries(n):
    """Cookbook entry i,j: the derivative when S_ij and S_ji move together (S_ii
    alone)."""
    rng = np.random.default_rng(10 + n)
    d = matcalc.diff("a'@inv(S)@b", "S", {"S": "n,n,spd", "a": "n", "b": "n"},
                     symmetric_gradient="cookbook")
    vals = {"S": _spd(n, rng), "a": rng.standard_normal(n), "b": rng.standard_normal(n)}
    got = d.evaluate(vals)
    f = lambda s: vals["a"] @ np.linalg.inv(s) @ vals["b"]  # noqa: E731
    h = 1e-6
    for i in range(n):
        for j in range(n):
            e = np.zeros((n, n))
            e[i, j] = e[j, i] = 1.0
            fd = (f(vals["S"] + h * e) - f(vals["S"] - h * e)) / (2 * h)
            assert np.isclose(got[i, j], fd, rtol=1e-6, atol=1e-9)
    assert np.allclose(direction((n, n), 1, "cookbook"), direction((n, n), n, "cookbook"))


@pytest.mark.parametrize("convention", ["sym", "cookbook"])
def test_a_matrix_valued_function_by_a_symmetric_matrix(convention):
    shapes = {"S": "n,n,spd"}
    for text in ["inv(S)", "S@S"]:
        d = check(text, "S", shapes, symmetric_gradient=convention)
        assert d.kind is matcalc.Kind.DIFFERENTIAL


@pytest.mark.parametrize("convention", ["sym", "cookbook"])
@pytest.mark.parametrize("text", ["logdet(S)", "x'@inv(S)@x", "tr(S@S@A)"])
def test_hessian_by_a_symmetric_matrix(text, convention):
    """The Hessian differentiates the convention's gradient, in the same convention."""
    h = check(text, "S", {"S": "n,n,spd", "x": "n"}, order=2,
              symmetric_gradient=convention)
    assert h.symmetric_gradient == convention and h.of.symmetric_gradient == convention
    assert "Hessian" in h.report()


@pytest.mark.parametrize("convention", ["sym", "cookbook"])
def test_verify_samples_structured_values(convention):
    d = matcalc.diff("logdet(S) + x'@S@x", "S", {"S": "n,n,spd", "x": "n"},
                     symmetric_gradient=convention)
    report = d.verify(dims=(2, 3))
    assert report.proved, report.lines()
    d = matcalc.diff(GAUSS, "S", {"S": "n,n,spd", "x": "n", "mu": "n"},
                     symmetric_gradient=convention)
    report = d.verify(dims=(2,))
    assert report.proved, report.lines()


def test_verify_catches_the_other_convention():
    shapes = {"S": "n,n,sym", "x": "n"}
    sym = matcalc.diff("x'@S@x", "S", shapes)
    cook = matcalc.diff("x'@S@x", "S", shapes, symmetric_gradient="cookbook")
    wrong = dataclasses.replace(sym, expr=cook.expr)
    report = wrong.verify(dims=(2,))
    assert [c.status for c in report] == ["fails", "fails"], report.lines()


def test_verify_sampling_and_symbols():
    pytest.importorskip("sympy")
    from matcalc.backends import verify as V
    d = matcalc.diff("logdet(S) + y'@x + sum(T)", "x",
                     {"S": "n,n,spd", "T": "n,n,sym", "y": "n,prob", "x": "n"})
    rng = np.random.default_rng(0)
    for positive in (False, True):
        vals = V._sample(d, {"n": 4}, rng, positive)
        assert np.allclose(vals["S"], vals["S"].T)
        assert np.min(np.linalg.eigvalsh(vals["S"])) > 0
        assert np.allclose(vals["T"], vals["T"].T)
        assert np.isclose(vals["y"].sum(), 1.0) and np.min(vals["y"]) > 0
    s = V.explicit_var(E.var("S", ("n", "n"), structure="sym"), {"n": 3})
    assert s == s.T and len(s.free_symbols) == 6
    y = V.explicit_var(E.var("y", ("n",), structure="prob"), {"n": 3})
    assert sum(y).expand() == 1 and len(y.free_symbols) == 2


def test_oracle_samples_structured_values():
    from oracle import random_values
    f = matcalc.parse("logdet(S) + x'@T@x + y'@x",
                      shapes={"S": "n,n,spd", "T": "n,n,sym", "y": "n,prob"})
    x = matcalc.parse("x", shapes={"x": "n"})
    vals = random_values(f, x, np.random.default_rng(1))
    assert np.allclose(vals["T"], vals["T"].T)
    assert np.min(np.linalg.eigvalsh(vals["S"])) > 0
    assert np.isclose(vals["y"].sum(), 1.0) and np.min(vals["y"]) > 0


def test_steps_follow_the_convention():
    d = matcalc.diff("x'@S@x", "S", SYM, symmetric_gradient="cookbook")
    assert d.steps[-1].jacobian.expr is d.expr


def test_bad_convention_is_refused(capsys):
    with pytest.raises(matcalc.UsageError, match="symmetric_gradient"):
        matcalc.diff("x'@S@x", "S", SYM, symmetric_gradient="half")
    status, _, err = _run(capsys, "diff", "x'@S@x", "--wrt", "S", "--shape", "S=n,n,sym",
                          "--symmetric-gradient", "half")
    assert status == 2 and "usage error" in err and "--symmetric-gradient" in err


# --------------------------------------------------------------- CLI and JSON output

def test_report_says_which_convention_is_printed(capsys):
    status, out, _ = _run(capsys, "diff", "x'@S@x", "--wrt", "S", "--shape", "S=n,n,sym")
    assert status == 0
    assert out.splitlines()[0] == "∂f/∂S = xxᵀ"
    assert "  declared: S symmetric (Sᵀ = S)" in out.splitlines()
    assert any(line.startswith("  convention: sym, the gradient on symmetric matrices")
               for line in out.splitlines())
    status, out, _ = _run(capsys, "diff", "x'@S@x", "--wrt", "S", "--shape", "S=n,n,sym",
                          "--symmetric-gradient", "cookbook")
    assert status == 0
    assert any(line.startswith("  convention: cookbook, the Matrix Cookbook's G + Gᵀ - G ⊙ I")
               for line in out.splitlines())
    status, out, _ = _run(capsys, "diff", "x'@S@x", "--wrt", "x", "--shape", "S=n,n,sym")
    assert "convention" not in out


def test_cli_verify_with_a_symmetric_variable(capsys):
    status, out, _ = _run(capsys, "diff", GAUSS, "--wrt", "S", "--wrt", "mu",
                          "--shape", "S=n,n,spd", "--shape", "mu=n", "--verify",
                          "--verify-dims", "2", "--symmetric-gradient", "cookbook")
    assert status == 0, out
    assert "fails" not in out and "numeric: max rel err" in out


def test_json_carries_the_structure():
    d = matcalc.diff("x'@S@x + y'@x", "S", {"S": "n,n,spd", "y": "n,prob", "x": "n"},
                     symmetric_gradient="cookbook")
    data = json.loads(d.to_json())
    assert data["structure"] == {"S": "spd", "y": "prob"}
    assert data["symmetric_gradient"] == "cookbook"
    data = json.loads(matcalc.diff("x'@S@x", "x", SYM).to_json())
    assert data["structure"] == {"S": "sym"} and "symmetric_gradient" not in data
    plain = json.loads(matcalc.diff("x'@A@x", "x").to_json())
    assert "structure" not in plain and "symmetric_gradient" not in plain


# ------------------------------------------------------------ probability vectors

CE = "-y'@log(softmax(z))"


def test_softmax_cross_entropy_uses_sum_one():
    shapes = {"y": "n,prob"}
    d = matcalc.diff(CE, "z", shapes)
    for text in (d.text(), d.text(ascii=True), d.text(layout="denominator"), d.latex()):
        assert "sum" not in text, text
    rng = np.random.default_rng(0)
    for n in (2, 3, 5):
        p = rng.uniform(0.1, 1.0, n)
        y, z = p / p.sum(), rng.standard_normal(n)
        s = np.exp(z - z.max())
        s /= s.sum()
        assert np.allclose(d.evaluate({"y": y, "z": z}), s - y)
    check(CE, "z", shapes)
    assert d.verify(dims=(2, 3)).proved
    # not declared, sum(y) stays
    assert "sum(y)" in matcalc.diff(CE, "z").text(ascii=True)


def test_derivative_by_a_probability_vector_is_refused(capsys):
    for f in (CE, "sum(z)"):
        with pytest.raises(matcalc.DiffError) as err:
            matcalc.diff(f, "y", {"y": "n,prob"})
        assert "probability vector" in str(err.value)
        assert 'shapes={"y": ("n",)}' in str(err.value)
    status, out, err = _run(capsys, "diff", CE, "--wrt", "z", "--wrt", "y",
                            "--shape", "y=n,prob")
    assert status == 2 and out == ""
    assert err.startswith("matcalc: diff error: y is declared a probability vector")
    assert "--shape y=n" in err


@pytest.mark.parametrize("text, shapes, values, message", [
    ("x'@S@x", {"S": "n,n,sym"}, {"x": [1.0, 2.0], "S": [[1.0, 2.0], [0.0, 1.0]]},
     "S is declared sym but its value is not symmetric"),
    ("logdet(S)", {"S": "n,n,spd"}, {"S": [[2.0, 1.0], [0.0, 2.0]]},
     "S is declared spd but its value is not symmetric"),
    ("y'@z", {"y": "n,prob"}, {"y": [0.5, 0.6], "z": [1.0, 2.0]},
     "y is declared prob but its value is not a probability vector"),
    ("y'@z", {"y": "n,prob"}, {"y": [1.5, -0.5], "z": [1.0, 2.0]},
     "not a probability vector"),
])
def test_values_must_have_the_declared_structure(text, shapes, values, message):
    """The derivative relies on the declaration (Sᵀ = S used, sum(y) = 1 folded): a
    value without that structure is refused, not silently given a wrong answer."""
    from matcalc.errors import EvalError
    with pytest.raises(EvalError, match=re.escape(message)):
        matcalc.evaluate(text, values, shapes)
    wrt = next(iter(v for v in values if not shapes.get(v, "").endswith("prob")))
    with pytest.raises(EvalError, match=re.escape(message)):
        matcalc.diff(text, wrt, shapes).evaluate(values)
