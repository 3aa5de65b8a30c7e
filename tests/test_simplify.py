"""The rule-based simplifier (matcalc/calculus/simplify.py) and the recognition of
naive spellings (matcalc/calculus/recognize.py).

Property: on random well-shaped expressions and on their raw derivatives
(``simplify=False``), simplification never makes the tree larger and never changes
the value (at least 500 examples a run; ``--hypothesis-profile=nightly`` for more).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, note, settings

import oracle
from test_property import SHAPES, cases

import matcalc
from matcalc.calculus import recognize as R
from matcalc.calculus.simplify import MAX_NESTED, MAX_REWRITES, RULES, simplify
from matcalc.core import expr as E
from matcalc.parser import parse

MAX_EXAMPLES = max(500, settings().max_examples)


def _same_value(a: E.Expr, b: E.Expr, values: dict, what: str) -> None:
    with np.errstate(all="ignore"):
        va, vb = matcalc.evaluate(a, values), matcalc.evaluate(b, values)
    assume(np.all(np.isfinite(va)) and np.max(np.abs(va), initial=0.0) < 1e8)
    oracle.assert_close(vb, va, what, rtol=1e-7, atol=1e-9)


@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large])
@given(cases())
def test_simplify_never_grows_and_keeps_value(case):
    text, wrt, seed = case
    note(f"expression: {text}   wrt: {wrt}   seed: {seed}")
    f = parse(text, SHAPES)
    raw = matcalc.diff(f, wrt, SHAPES, simplify=False)
    rng = np.random.default_rng(seed)
    try:
        values = oracle.random_values(f, raw.wrt, rng, dims={}, tries=20)
    except AssertionError:
        assume(False)
    for e, what in ((f, "f"), (raw.expr, "raw derivative")):
        if raw.kind == "differential" and e is raw.expr:
            continue  # a differential holds dX: evaluated through Derivative only
        s = simplify(e)
        note(f"{what}: {e}  ->  {s}")
        assert E.tree_size(s) <= E.tree_size(e)
        _same_value(e, s, values, f"simplify({what})")


@pytest.mark.parametrize("text, named", [
    ("log(sum(exp(x)))", "logsumexp(x)"),
    ("exp(x) / sum(exp(x))", "softmax(x)"),
    ("log(1 + exp(x))", "softplus(x)"),
    ("1 / (1 + exp(-x))", "sigmoid(x)"),
    ("exp(x) / (1 + exp(x))", "sigmoid(x)"),
    ("log(sigmoid(x))", "-softplus(-x)"),
    ("log(1 - sigmoid(x))", "-softplus(x)"),
    ("log(softmax(x))", "x - logsumexp(x)"),
    ("log(exp(x))", "x"),
    ("1 / (1 + exp(x))^2", "sigmoid(-x)^2"),
])
def test_naive_spellings_are_recognised(text, named):
    assert R.recognize(parse(text)) is parse(named)


@pytest.mark.parametrize("text", ["log(sum(exp(X)))", "exp(x) / sum(exp(y))",
                                  "log(2 + exp(x))", "1 / (2 + exp(-x))",
                                  "log(sigmoid(x) + 1)", "exp(x) * sigmoid(x)"])
def test_lookalikes_are_left_alone(text):
    e = parse(text)
    assert R.recognize(e) is e


def test_stable_only_rewrite_is_not_printed():
    d = matcalc.diff("sigmoid(a)", "a")
    assert str(d) == "σ(a) (1 - σ(a))"                  # as the paper prints it
    assert R.stabilize(d.expr) is parse("sigmoid(a) * sigmoid(-a)")  # as it is computed
    np.testing.assert_allclose(d.evaluate({"a": 40.0}), np.exp(-40.0), rtol=1e-12)


@pytest.mark.parametrize("text, wrt, printed", [
    ("diag(2*c*ones(n)) + 2*X'@X", "X", None),
    ("-y'@log(softmax(z))", "z", "(sum(y) softmax(z) - y)ᵀ"),
    ("norm2(X - mean(X))^2", "X", "2 (X - mean(X)𝟏𝟏ᵀ)"),
    ("sum(2^x)", "x", "log(2) (2^x)ᵀ"),
    ("sqrt(det(S))", "S", "0.5 √det(S) S⁻ᵀ"),
    ("-k*norm2(x - y)^2/(2*sigma^2)", "x", "-k(x - y)ᵀ / sigma²"),
    ("x'@A'@A'@A'@A'@x", "x", "xᵀ(A⁴ + (A⁴)ᵀ)"),
    ("tr(X@X@B)", "X", "(BX + XB)ᵀ"),
])
def test_issue_forms(text, wrt, printed):
    d = oracle.check(text, wrt)
    if printed is not None:
        assert str(d) == printed


def test_rules_are_records_with_their_identity():
    assert len({r.name for r in RULES}) == len(RULES)
    for r in RULES:
        assert r.identity and "=" in r.identity or "written" in r.identity, r.name


def test_limits_are_stated_and_hold_on_deep_input():
    assert MAX_REWRITES >= 1 and MAX_NESTED >= 1
    e = parse("sum(" + "sigmoid(" * 300 + "x" + ")" * 300 + ")")
    d = matcalc.diff(e, "x")  # the simplifier walks 300 nested element-wise nodes
    assert d.kind == "gradient"


def test_docs_list_every_rule():
    from pathlib import Path
    page = (Path(__file__).resolve().parent.parent / "docs" / "simplify.md").read_text()
    for r in RULES + R.STABLE:
        assert f"`{r.name}`" in page, r.name
