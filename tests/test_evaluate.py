"""``matcalc.evaluate`` against NumPy written by hand.

The dimensions all differ (x, y, z have 3 entries, u has 2, W is 2×3, C is 3×4,
S and P are 3×3), so a missing or extra transpose cannot give a result of the
right shape by accident.
"""
import numpy as np
import pytest

import matcalc
from matcalc import EvalError, ShapeError, evaluate, parse

rng = np.random.default_rng(20240611)
a, b = 0.7, -1.3
x = np.array([0.5, -1.5, 2.0])
y = np.array([1.25, 0.5, -0.75])
z = np.array([-2.0, 0.0, 3.0])          # a zero entry: step, sign, relu at the kink
u = np.array([0.3, -0.4])
W = rng.normal(size=(2, 3))
V = rng.normal(size=(2, 3))
C = rng.normal(size=(3, 4))
S = rng.normal(size=(3, 3)) + 3 * np.eye(3)          # well conditioned
P = (lambda M: M @ M.T + np.eye(3))(rng.normal(size=(3, 3)))   # positive definite
N = np.diag([2.0, -1.0, 0.5])            # det < 0: logdet is log|det|
R = rng.normal(size=(1, 3))              # a matrix of one row

VALUES = dict(a=a, b=b, x=x, y=y, z=z, u=u, W=W, V=V, C=C, S=S, P=P, N=N, R=R)


def sigmoid(t):
    return 1 / (1 + np.exp(-t))


# (text, NumPy by hand)
CASES = [
    ("x + y", x + y),
    ("a * x - y / b", a * x - y / b),
    ("x * y * z", x * y * z),
    ("x / y", x / y),
    ("2 - x", 2 - x),
    ("-x + 1/3", -x + 1 / 3),
    ("W @ x", W @ x),
    ("W' @ u", W.T @ u),
    ("x @ y", x @ y),
    ("x' @ y", x @ y),
    ("x' @ S @ x", x @ S @ x),
    ("u' @ W @ x", u @ W @ x),
    ("W @ x @ u", (W @ x) @ u),
    ("x @ y'", np.outer(x, y)),
    ("x'", x.reshape(1, 3)),
    ("x' + y'", (x + y).reshape(1, 3)),
    ("x @ C", (x @ C).reshape(1, 4)),            # a vector left of a matrix: a row
    ("W @ C", W @ C),
    ("(W @ C)'", (W @ C).T),
    ("C' @ W'", C.T @ W.T),
    ("W * V", W * V),
    ("W / V + a", W / V + a),
    ("W + x", W + x),                            # NumPy row broadcasting
    ("x * W", x * W),
    ("W - a", W - a),
    ("x * W @ y", (x * W) @ y),                  # * and @: one level, left to right
    ("W @ x * u", (W @ x) * u),
    ("x ^ 2", x ** 2),
    ("x ** 3 - 2 ** x", x ** 3 - 2 ** x),
    ("abs(x) ^ y", np.abs(x) ** y),
    ("-x ^ 2", -(x ** 2)),
    ("2 ^ 3 ^ 0.5", 2 ** (3 ** 0.5)),
    ("exp(x) + log(abs(y) + 1)", np.exp(x) + np.log(np.abs(y) + 1)),
    ("sin(x) * cos(y) - tan(z / 4)", np.sin(x) * np.cos(y) - np.tan(z / 4)),
    ("tanh(W)", np.tanh(W)),
    ("sqrt(x ^ 2 + 1)", np.sqrt(x ** 2 + 1)),
    ("sign(z) * abs(y)", np.sign(z) * np.abs(y)),
    ("sigmoid(x)", sigmoid(x)),
    ("σ(W)", sigmoid(W)),
    ("relu(z)", np.maximum(z, 0)),
    ("softplus(x)", np.log1p(np.exp(x))),
    ("max(x, y)", np.maximum(x, y)),
    ("min(z, 0)", np.minimum(z, 0)),
    ("max(0, W @ x + u)", np.maximum(0, W @ x + u)),
    ("max(a, x)", np.maximum(a, x)),
    ("step(z)", np.array([0.0, 0.0, 1.0])),       # 0 at 0
    ("sum(W)", W.sum()),
    ("∑(x * y)", np.sum(x * y)),
    ("mean(W)", W.mean()),
    ("dot(x, y)", np.dot(x, y)),
    ("x · y", np.dot(x, y)),
    ("a · x", a * x),
    ("x ⊙ z ⊘ y", x * z / y),
    ("norm1(x)", np.abs(x).sum()),
    ("norm2(x)", np.linalg.norm(x)),
    ("norm(W)", np.linalg.norm(W, "fro")),
    ("norm1(W)", np.abs(W).sum()),                 # entry-wise, not the induced 1-norm
    ("tr(S)", np.trace(S)),
    ("trace(S @ S)", np.trace(S @ S)),
    ("det(S)", np.linalg.det(S)),
    ("logdet(P)", np.log(np.linalg.det(P))),
    ("logdet(N)", np.log(abs(np.linalg.det(N)))),   # log|det N|
    ("inv(S) @ x", np.linalg.solve(S, x)),
    ("inv(P) @ P", np.eye(3)),
    ("diag(x)", np.diag(x)),
    ("diag(S)", np.diag(S)),
    ("diag(x) @ C", np.diag(x) @ C),
    ("softmax(x)", np.exp(x) / np.exp(x).sum()),
    ("logsumexp(x)", np.log(np.exp(x).sum())),
    ("ones(n) @ x", x.sum()),
    ("x + ones(3)", x + 1),
    ("zeros(2, 3) + W", W),
    ("eye(3) @ x", x),
    ("eye(n) * S", np.diag(np.diag(S))),
    ("ones(2, 3) * W", W),
    ("[a, b, a * b]", np.array([a, b, a * b])),
    ("[a, b, a * b] @ x", np.array([a, b, a * b]) @ x),
    ("x[0] + 2 * x[2]", x[0] + 2 * x[2]),
    ("(W @ x)[1]", (W @ x)[1]),
    ("alpha * x", 0.25 * x),
    ("x.T @ S.T @ y", x @ S.T @ y),
    ("xᵀ @ y", x @ y),
    ("sum((W @ x - u) ^ 2) / 2", np.sum((W @ x - u) ** 2) / 2),
    ("mean(log(1 + exp(-u * (W @ x))))", np.mean(np.log1p(np.exp(-u * (W @ x))))),
]


@pytest.mark.parametrize("text, want", CASES, ids=[c[0] for c in CASES])
def test_against_numpy(text, want):
    values = dict(VALUES, alpha=0.25)
    got = evaluate(text, values)
    want = np.asarray(want, dtype=float)
    assert isinstance(got, np.ndarray)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


MATLAB_CASES = [
    ("x'*S*x", x @ S @ x),
    ("W*x", W @ x),
    ("S^2", S @ S),
    ("S^3*x", S @ S @ S @ x),
    ("S^-1", np.linalg.inv(S)),
    ("S^0", np.eye(3)),
    ("x.^2./y", x ** 2 / y),
    ("1./x", 1 / x),
    ("2*x.*y", 2 * x * y),
    ("x*y'", np.outer(x, y)),
    ("W.*V", W * V),
    ("x + vector(2)", x + 2),
    ("W + matrix(a)", W + a),
]


@pytest.mark.parametrize("text, want", MATLAB_CASES, ids=[c[0] for c in MATLAB_CASES])
def test_matlab_dialect_against_numpy(text, want):
    got = evaluate(text, VALUES, dialect="matlab")
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert got.shape == np.shape(want)


def test_vector_left_of_a_one_row_matrix_is_the_outer_product():
    got = evaluate("x @ R", VALUES, shapes={"R": (1, "m")})
    np.testing.assert_allclose(got, np.outer(x, R[0]))
    assert got.shape == (3, 3)


@pytest.mark.parametrize("text, want", [
    ("x - x", np.zeros(3)),
    ("0 * W", np.zeros((2, 3))),
    ("inv(S) @ S", np.eye(3)),
    ("W @ x - W @ x + u", u),
])
def test_variables_removed_by_the_algebra_still_give_their_dimensions(text, want):
    got = evaluate(text, VALUES)
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert got.shape == want.shape


def test_evaluate_a_parsed_expression_and_declared_shapes():
    e = parse("W @ x + b", {"b": "m"})
    got = evaluate(e, {"W": W, "x": x, "b": u})
    np.testing.assert_allclose(got, W @ x + u)
    got = evaluate("sum(x) / n", {"x": x}, shapes={"x": "n"})   # n is x's length
    assert float(got) == pytest.approx(x.mean())


def test_scalar_result_is_a_0d_array():
    got = evaluate("x @ y", VALUES)
    assert got.shape == () and got.ndim == 0
    assert float(got) == pytest.approx(x @ y)


def test_values_may_be_lists_and_numbers():
    got = evaluate("A @ x + b", {"A": [[1, 2], [3, 4], [5, 6]], "x": [1, 1], "b": 1})
    np.testing.assert_array_equal(got, [4.0, 8.0, 12.0])


def test_dimensions_are_bound_from_the_arrays():
    for rows in (1, 2, 5):
        M = rng.normal(size=(rows, 3))
        got = evaluate("M @ x", {"M": M, "x": x})
        assert got.shape == (rows,)
        np.testing.assert_allclose(got, M @ x)
    got = evaluate("ones(n) + x", {"x": np.arange(7.0)})
    np.testing.assert_array_equal(got, np.arange(7.0) + 1)


def test_exact_rational_constants_evaluate_exactly():
    assert float(evaluate("1/3 + 1/6", {})) == 0.5
    assert float(evaluate("0.1 + 0.2", {})) == 0.3


# ------------------------------------------------------------------- errors

@pytest.mark.parametrize("text, values, words", [
    ("x + y", {"x": np.ones(3), "y": np.ones(2)}, ["3", "2", "x", "y"]),
    ("W @ x", {"W": np.ones((2, 3)), "x": np.ones(2)}, ["3", "2"]),
    ("x' @ S @ x", {"S": np.eye(2), "x": np.ones(3)}, ["3", "2"]),
    ("tr(A)", {"A": np.ones((2, 3))}, ["2", "3"]),
])
def test_conflicting_arrays(text, values, words):
    with pytest.raises(ShapeError) as info:
        evaluate(text, values)
    msg = str(info.value)
    assert all(w in msg for w in words), msg


def test_wrong_number_of_dimensions():
    with pytest.raises(ShapeError, match=r"matrix \(m×n\).*\(3,\)"):
        evaluate("W @ x", {"W": np.ones(3), "x": np.ones(3)})
    with pytest.raises(ShapeError, match="scalar"):
        evaluate("a * x", {"a": np.ones(2), "x": np.ones(2)})


def test_value_of_a_declared_integer_dimension():
    with pytest.raises(ShapeError, match=r"\(4,\)"):
        evaluate("x + ones(3)", {"x": np.ones(4)})


def test_missing_value():
    with pytest.raises(EvalError, match="no value given for y"):
        evaluate("x + y", {"x": x})
    assert issubclass(EvalError, matcalc.MatcalcError)


def test_non_numeric_value():
    with pytest.raises(EvalError, match="not numeric"):
        evaluate("x + 1", {"x": ["a", "b"]})


def test_unknown_dimension_size():
    """n is declared (by x) but x is not in the expression: its size is unknown."""
    with pytest.raises(EvalError, match="dimension n"):
        evaluate("sum(ones(n))", {"x": x}, shapes={"x": "n"})


def test_singular_matrix_is_an_eval_error():
    with pytest.raises(EvalError, match="singular"):
        evaluate("inv(A) @ x", {"A": np.ones((2, 2)), "x": np.ones(2)})
    # det and logdet of a singular matrix are values, not errors
    assert float(evaluate("det(A)", {"A": np.ones((2, 2))})) == 0.0
    assert float(evaluate("logdet(A)", {"A": np.ones((2, 2))})) == -np.inf
