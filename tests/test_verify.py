"""verify(): symbolic proofs of golden derivatives on small sizes, finite differences,
and that a wrong rule is caught with the differing entry named."""
import dataclasses

import numpy as np
import pytest

pytest.importorskip("sympy")

import matcalc as M
from matcalc import cli
from matcalc.core import expr as E
from matcalc import ops
from matcalc.calculus.derivative import Derivative

# (expression, wrt, shapes, source)
GOLDEN = [
    ("x'@A@x", "x", None, "Cookbook (81)"),
    ("x'@A@x", "A", None, "Cookbook (70)"),
    ("tr(A@X@B)", "X", None, "Cookbook (100)"),
    ("logdet(X)", "X", None, "Cookbook (57)"),
    ("det(X)", "X", None, "Cookbook (49), Jacobi"),
    ("sum(w*x+b)", "w", None, "paper: neuron sum"),
    ("max(0, dot(w,x)+b)", "w", None, "paper: neuron activation"),
    ("max(0, dot(w,x)+b)", "b", None, "paper: activation by the bias"),
    ("mean((y - max(0, X@w + b))^2)", "w", None, "paper: loss gradient"),
    ("W@x", "x", None, "paper: Jacobian of Wx"),
    ("w*x", "w", None, "paper: element-wise product, diag(x)"),
    ("[log(a^2), sin(3*a)]", "a", None, "paper: vector of scalar functions"),
    ("X@Y", "X", None, "matrix by matrix: differential"),
    ("sigmoid(W@x + b)", "x", None, "layer Jacobian"),
    ("softmax(x)", "x", None, "softmax Jacobian"),
    ("norm2(x)", "x", None, "Cookbook (129)"),
    ("abs(x)", "x", None, "kink: sign"),
    ("min(x, y) + max(x, y)", "y", None, "kinks: binary min / max"),
    ("inv(X)", "X", None, "Cookbook (59): differential of the inverse"),
]


@pytest.mark.parametrize("text,wrt,shapes,source", GOLDEN,
                         ids=[f"{c[0]} by {c[1]}" for c in GOLDEN])
def test_golden_derivatives_are_proved(text, wrt, shapes, source):
    d = M.diff(text, wrt, shapes=shapes)
    report = d.verify(dims=(2, 3), budget=10)  # a generous budget: a proof, not a timing
    assert report.ok and report.proved, f"{source}:\n{report}"
    names = [c.name for c in report]
    assert names[-1] == "numeric"
    assert any(n.startswith("symbolic") for n in names)
    for c in report:
        assert c.status == "holds", c.line()


def test_hessian_is_proved():
    d = M.diff("x'@A@x + sum(exp(x))", "x", order=2)
    assert d.verify().ok


def test_kinks_are_reported_honestly():
    d = M.diff("max(0, dot(w,x)+b)", "w")
    lines = d.verify(dims=(2,), numeric=False).lines()
    assert lines == ["symbolic (n=2): holds where b + w[0]*x[0] + w[1]*x[1] ≠ 0"]


def test_distinct_sizes_per_dimension():
    d = M.diff("W@x", "x")
    names = [c.name for c in d.verify(dims=(2, 3), numeric=False)]
    assert names == ["symbolic (m=2, n=3)", "symbolic (m=3, n=2)"]


@pytest.fixture
def wrong_sin(monkeypatch):
    """d sin(x) = sin(x) dx: a deliberately wrong rule."""
    bad = dataclasses.replace(ops.SIN, derivative=lambda x: E.call(ops.SIN, x))
    monkeypatch.setitem(ops.REGISTRY, "sin", bad)


def test_wrong_rule_is_caught(wrong_sin):
    d = M.diff("sum(sin(W@x))", "x")
    report = d.verify(dims=(2, 3))
    assert not report.ok
    first = report.checks[0]
    assert first.status == "fails"
    assert first.entry == (0,)
    assert "fails at entry [0]: expected" in first.line() and "cos" in first.line()
    assert report.checks[-1].status == "fails"  # finite differences disagree too


def test_wrong_expression_is_caught_at_the_right_entry():
    good = M.diff("W@x", "x")
    # the transpose of the Jacobian: right shape only when m = n, so a square case
    d = M.diff("A@x", "x")
    bad = Derivative(d.f, d.wrt, "jacobian", E.transpose(d.expr))
    report = bad.verify(dims=(2,))
    assert not report.ok
    assert report.checks[0].entry == (0, 1)
    assert "expected A[0,1], got A[1,0]" in report.checks[0].line()
    assert good.verify(dims=(2,)).ok


def test_wrong_differential_is_caught():
    d = M.diff("X@Y", "X")
    bad = Derivative(d.f, d.wrt, "differential", E.scale(2, d.expr))
    assert not bad.verify(dims=(2,)).ok


def test_numeric_error_is_small():
    d = M.diff("tr(A@X@B)", "X")
    num = d.verify(numeric=True, symbolic=False).checks[0]
    assert num.name == "numeric" and num.status == "holds"
    assert float(num.detail.split()[-1]) < 1e-6


def test_cli_verify_exit_codes(capsys, wrong_sin, monkeypatch):
    rc = cli.main(["diff", "sum(sin(W@x))", "--wrt", "x", "--verify", "--verify-dims", "2"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "fails at entry [0]" in out


def test_cli_verify_ok(capsys):
    rc = cli.main(["diff", "x'@A@x", "--wrt", "x", "--verify", "--verify-dims", "2,3"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "symbolic (n=2): holds" in out and "symbolic (n=3): holds" in out
    assert "numeric: max rel err" in out


def test_cli_no_simplify_and_bad_dims(capsys):
    assert cli.main(["diff", "x'@A@x", "--wrt", "x", "--no-simplify"]) == 0
    assert cli.main(["diff", "x'@A@x", "--wrt", "x", "--verify", "--verify-dims", "a"]) == 2
    assert "verify-dims" in capsys.readouterr().err


def test_report_values_match_evaluate():
    d = M.diff("x'@A@x", "x")
    rng = np.random.default_rng(0)
    vals = {"x": rng.standard_normal(3), "A": rng.standard_normal((3, 3))}
    np.testing.assert_allclose(d.evaluate(vals), (vals["A"] + vals["A"].T) @ vals["x"])


def _golden_table():
    from test_golden import CASES
    return CASES


@pytest.mark.parametrize("source,text,wrt,shapes,expected", _golden_table(),
                         ids=[c[0] for c in _golden_table()])
def test_every_golden_table_derivative_verifies(source, text, wrt, shapes, expected):
    """The differentiator's whole golden table, with the default budget: nothing fails,
    and the symbolic proof holds wherever SymPy decides it in time."""
    import time
    d = M.diff(text, wrt, shapes=shapes)
    t0 = time.perf_counter()
    report = d.verify()
    elapsed = time.perf_counter() - t0
    assert report.ok, f"{source}:\n{report}"
    assert report.checks[-1].status == "holds", report.checks[-1].line()
    for c in report:
        assert c.status in ("holds", "unproven"), c.line()
    # not a timing assertion: the budget bounds each symbolic check (0.9 s by default)
    assert elapsed < 60


def test_most_golden_derivatives_are_proved_within_the_budget():
    cases = _golden_table()
    proved = sum(M.diff(t, w, shapes=s).verify(numeric=False).proved
                 for _, t, w, s, _ in cases)
    assert proved >= 0.9 * len(cases), f"{proved} of {len(cases)} proved"


def test_a_proof_past_its_budget_is_unproven_not_holds():
    d = M.diff("inv(X)", "X")
    report = d.verify(dims=(3,), numeric=False, budget=0.01)
    (check,) = report.checks
    assert check.status == "unproven"
    assert check.line().startswith("symbolic (n=3): undecided within 0.01 s")
    assert report.ok and not report.proved  # undecided is not a failure
