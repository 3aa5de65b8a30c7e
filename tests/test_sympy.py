"""The SymPy bridge: AST -> SymPy -> AST round trips, from_sympy on SymPy's own
matrix expressions, and the optional SymPy simplification pass."""
import numpy as np
import pytest

sp = pytest.importorskip("sympy")

import matcalc as M
from matcalc.core import expr as E
from matcalc.errors import BridgeError, MatcalcError
from matcalc.backends.sympy_bridge import from_sympy, sympy_simplify, to_sympy

SHAPES = {"A": "n,n", "X": "n,n", "B": "n,n", "W": "m,n", "x": "n", "y": "n", "w": "n"}

# (expression, where it comes from)
ROUND_TRIP = [
    ("x'@A@x", "paper / Cookbook (81): quadratic form"),
    ("tr(A@X@B)", "Cookbook (100)"),
    ("logdet(X)", "Cookbook (57)"),
    ("det(X)", "Cookbook (49)"),
    ("inv(X)@y", "Cookbook (59)"),
    ("sum(w*x+b)", "paper: neuron sum"),
    ("max(0, dot(w,x)+b)", "paper: neuron activation"),
    ("mean((W@w - max(0, W@x + b))^2)", "paper: loss"),
    ("exp(x)*sin(x) + cos(x)/x", "element-wise functions"),
    ("sigmoid(W@x + b)", "layer"),
    ("softmax(x)", "softmax"),
    ("logsumexp(x)", "log-sum-exp"),
    ("norm2(x) + norm1(A)", "norms"),
    ("diag(x)@y + diag(A)", "diag both ways"),
    ("x@y'", "outer product"),
    ("W'@W", "Gram matrix"),
    ("relu(x) + abs(x) - sign(x) + step(x)*x", "kinks"),
    ("sqrt(x)*tanh(x) + softplus(x)", "more element-wise"),
    ("[a^2, sin(a)*c]", "paper: vector of scalar functions"),
    ("max(x, y) + min(A, B)@x", "binary max / min"),
    ("tan(a)*a + log(a)", "scalars"),
    ("x^3 + 2*x^(1/2)", "Hadamard powers"),
    ("mean(A) * tr(inv(A))", "mean, inverse"),
]


def _values(e: E.Expr, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    dims = {}
    out = {}
    for v in E.variables(e):
        shape = tuple(d if isinstance(d, int) else dims.setdefault(d, 2 + len(dims) % 2)
                      for d in v.shape)
        a = rng.uniform(0.3, 1.5, size=shape)
        if len(shape) == 2 and shape[0] == shape[1]:
            a = a + shape[0] * np.eye(shape[0])
        out[v.name] = a
    return out


@pytest.mark.parametrize("text,source", ROUND_TRIP, ids=[c[0] for c in ROUND_TRIP])
def test_round_trip(text, source):
    e = M.parse(text, SHAPES)
    s = to_sympy(e)
    assert str(s) == str(e.to_sympy())  # (Dummy symbols differ between calls)
    back = from_sympy(s)
    assert back.shape == e.shape, (source, back, e)
    vals = _values(e)
    np.testing.assert_allclose(M.evaluate(back, vals), M.evaluate(e, vals), rtol=1e-10,
                               err_msg=f"{text} ({source}) -> {s} -> {back}")


def _n():
    return sp.Symbol("n", integer=True, positive=True)


@pytest.mark.parametrize("build,text,wrt", [
    (lambda x, A, X: x.T * A * x, "x'@A@x", "x"),
    (lambda x, A, X: sp.Trace(A * X), "tr(A@X)", "X"),
    (lambda x, A, X: sp.log(sp.Determinant(X)), "logdet(X)", "X"),
    (lambda x, A, X: sp.Trace(X * X), "tr(X@X)", "X"),           # SymPy writes X**2
    (lambda x, A, X: x.T * X.I * x, "x'@inv(X)@x", "X"),
    (lambda x, A, X: sp.Determinant(X), "det(X)", "X"),
])
def test_from_sympy_same_derivative(build, text, wrt):
    n = _n()
    x, A, X = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("X", n, n)
    e = M.from_sympy(build(x, A, X))
    d1 = M.diff(e, wrt)
    d2 = M.diff(text, wrt, shapes=SHAPES)
    assert d1.kind == d2.kind
    assert d1.expr is d2.expr or np.allclose(
        d1.evaluate(_values(d1.f)), d2.evaluate(_values(d1.f)))


def test_derivative_to_sympy():
    d = M.diff("x'@A@x", "x", shapes=SHAPES)
    n = _n()
    x, A = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("A", n, n)
    assert sp.simplify(d.to_sympy() - (A + A.T) * x) == sp.ZeroMatrix(n, 1)


def test_bridge_errors_are_matcalc_errors():
    e = M.parse("x ^ y", SHAPES)  # element-wise power with a vector exponent
    with pytest.raises(BridgeError, match="matrix exponent"):
        to_sympy(e)
    n = _n()
    K = sp.KroneckerProduct(sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("B", n, n))
    with pytest.raises(MatcalcError, match="no matcalc form"):
        from_sympy(K)
    with pytest.raises(BridgeError):
        from_sympy("x'@A@x")


# ---------------------------------------------------------------- simplification

SIMPLIFY_CASES = [
    ("x'@A@x", "x"), ("tr(A@X@B)", "X"), ("logdet(X)", "X"), ("sum(w*x+b)", "w"),
    ("max(0, dot(w,x)+b)", "w"), ("mean((y - max(0, W@w + b))^2)", "w"),
    ("sin(a)^2 + cos(a)^2", "a"), ("exp(log(a)*2)", "a"), ("a*b/(a+c)", "a"),
    ("sigmoid(a)", "a"), ("log(exp(a) + exp(a))", "a"), ("tanh(a)^2", "a"),
    ("(a + b)^2 - a^2", "a"), ("x'@x", "x"), ("W@x + W@(A@x)", "x"), ("softmax(x)", "x"),
    ("norm2(W@x - y)^2", "x"), ("[a^2, sin(a)]", "a"),
]


@pytest.mark.parametrize("text,wrt", SIMPLIFY_CASES, ids=[c[0] for c in SIMPLIFY_CASES])
def test_simplify_never_grows_and_keeps_value(text, wrt):
    shapes = {"W": "m,n", "y": "m"} if "W" in text else SHAPES
    raw = M.diff(text, wrt, shapes=shapes, simplify=False)
    rule = M.diff(text, wrt, shapes=shapes)
    symp = M.diff(text, wrt, shapes=shapes, simplify="sympy")
    assert E.count_nodes(rule.expr) <= E.count_nodes(raw.expr)
    assert E.count_nodes(symp.expr) <= E.count_nodes(rule.expr)
    for seed in range(2):
        vals = _values(raw.f, seed)
        ref = raw.evaluate(vals)
        np.testing.assert_allclose(rule.evaluate(vals), ref, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(symp.evaluate(vals), ref, rtol=1e-9, atol=1e-12)


def test_sympy_pass_makes_a_scalar_smaller():
    e = M.parse("a*b/(a*c) + sin(a)^2 + cos(a)^2 + a*b/(a*c)")
    s = sympy_simplify(e)
    assert E.count_nodes(s) < E.count_nodes(e)
    np.testing.assert_allclose(M.evaluate(s, {"a": 0.7, "b": 1.3, "c": 2.0}),
                               M.evaluate(e, {"a": 0.7, "b": 1.3, "c": 2.0}))


def test_sympy_pass_leaves_matrices_alone():
    e = M.parse("x'@A@x", SHAPES)
    assert sympy_simplify(e) is e


def test_sympy_pass_has_one_budget_for_all_its_parts():
    """limits.sympy_simplify_seconds bounds the whole pass: past it the rule-based
    result is returned as it is (never a half-checked candidate)."""
    from matcalc import limits
    text = "sum(tanh(W2@tanh(W1@x + b1) + b2))"
    rule = M.diff(text, "W1")
    with limits.override(sympy_simplify_seconds=1e-9):
        assert M.diff(text, "W1", simplify="sympy").expr is rule.expr
    # an element-wise part of a vector result goes through SymPy as a scalar
    d = M.diff("(x/exp(x) + a)*exp(x)", "x", simplify="sympy")
    assert str(d) == "diag(1 + a exp(x))"
