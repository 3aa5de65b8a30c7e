"""Batched models: axis-wise reductions, row-wise softmax, indexing, broadcasting and
NumPy text, each derivative checked by finite differences at dimensions of different
sizes and, for the standard results, against the form a textbook prints (equal in
value; printed in at most as many tokens).

Each row: (what, f, by, shapes, textbook form or None). Textbook forms follow the
numeric contract's orientation (a gradient by a matrix has the matrix's shape), as in
tests/test_textbook.py; a dimension named in a form stands for its size.
"""
import numpy as np
import pytest

from oracle import assert_close, check, dim_sizes, random_values
from test_textbook import assert_textbook, tokens

import matcalc
from matcalc.printing.text import to_text

CE = {"X": "N,n", "W": "n,k", "b": "k", "Y": "N,k,prob"}
CE_ANY = {"X": "N,n", "W": "n,k", "b": "k", "Y": "N,k"}
MLP = {"X": "N,n", "W1": "n,h", "b1": "h", "W2": "h,k", "b2": "k", "Y": "N,k"}
ATT = {"Q": "N,d", "K": "M,d", "V": "M,e", "G": "N,e"}
MAT = {"X": "N,n", "A": "N,n", "G": "N,n", "Z": "N,n"}

P_ATT = "softmax(Q@K.T/2, axis=1)"
DELTA2 = "(tanh(X@W1 + b1)@W2 + b2 - Y)"
DELTA1 = f"({DELTA2}@W2.T*(1 - tanh(X@W1 + b1)**2))"
MLP_LOSS = "0.5*sum((tanh(X@W1 + b1)@W2 + b2 - Y)**2)"
LN_H = ("((X - mean(X, axis=1, keepdims=True))"
        "/sqrt(mean((X - mean(X, axis=1, keepdims=True))**2, axis=1, keepdims=True) + 1))")
LN_S = "sqrt(mean((X - mean(X, axis=1, keepdims=True))**2, axis=1, keepdims=True) + 1)"

BATCHED = [
    # ---- batched softmax cross-entropy
    ("batched cross-entropy by W, one-hot rows", "-sum(Y * log(softmax(X@W + b, axis=1)))",
     "W", CE, "X.T@(softmax(X@W + b, axis=1) - Y)"),
    ("batched cross-entropy by b, one-hot rows", "-sum(Y * log(softmax(X@W + b, axis=1)))",
     "b", CE, "sum(softmax(X@W + b, axis=1) - Y, axis=0)"),
    ("batched cross-entropy by X, one-hot rows", "-sum(Y * log(softmax(X@W + b, axis=1)))",
     "X", CE, "(softmax(X@W + b, axis=1) - Y)@W.T"),
    ("batched cross-entropy by W, any Y", "-sum(Y * log(softmax(X@W + b, axis=1)))",
     "W", CE_ANY, "X.T@(sum(Y, axis=1)[:, None]*softmax(X@W + b, axis=1) - Y)"),
    ("mean batched cross-entropy by W", "-mean(sum(Y * log(softmax(X@W, axis=1)), axis=1))",
     "W", CE, "X.T@(softmax(X@W, axis=1) - Y)/N"),
    ("cross-entropy through logsumexp rows", "sum(logsumexp(X@W, axis=1)) - sum(Y*(X@W))",
     "W", CE_ANY, "X.T@(softmax(X@W, axis=1) - Y)"),
    ("pasted NumPy cross-entropy by the logits",
     "-np.sum(Y * np.log(np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)))", "Z",
     {"Z": "N,k", "Y": "N,k,prob"}, "softmax(Z, axis=1) - Y"),
    ("row-wise softmax, upstream G", "sum(softmax(Z, axis=1) * G)", "Z", MAT,
     "softmax(Z, axis=1)*(G - sum(softmax(Z, axis=1)*G, axis=1, keepdims=True))"),
    ("column-wise softmax, upstream G", "sum(softmax(Z, axis=0) * G)", "Z", MAT,
     "softmax(Z, axis=0)*(G - sum(softmax(Z, axis=0)*G, axis=0))"),
    ("row-wise softmax, Jacobian (block-diagonal)", "softmax(Z, axis=1)", "Z", {"Z": "N,k"},
     None),
    ("softmax rows spelled out", "exp(Z) / sum(exp(Z), axis=1, keepdims=True)", "Z",
     {"Z": "N,k"}, None),
    ("logsumexp of columns", "logsumexp(X, axis=0) @ w", "X", {"X": "N,n", "w": "n"},
     "softmax(X, axis=0)*w"),
    # ---- the 2-layer batched MLP: the backprop deltas
    ("2-layer MLP by W2", MLP_LOSS, "W2", MLP, f"tanh(X@W1 + b1).T@{DELTA2}"),
    ("2-layer MLP by b2", MLP_LOSS, "b2", MLP, f"sum({DELTA2}, axis=0)"),
    ("2-layer MLP by W1", MLP_LOSS, "W1", MLP, f"X.T@{DELTA1}"),
    ("2-layer MLP by b1", MLP_LOSS, "b1", MLP, f"sum({DELTA1}, axis=0)"),
    ("2-layer MLP by X", MLP_LOSS, "X", MLP, f"{DELTA1}@W1.T"),
    ("ReLU MLP layer by W", "sum(relu(X@W + b) * G)", "W",
     {"X": "N,n", "W": "n,k", "b": "k", "G": "N,k"}, "X.T@(G*step(X@W + b))"),
    ("ReLU as np.maximum by W", "np.sum(np.maximum(0, X @ W) * G)", "W",
     {"X": "N,n", "W": "n,k", "G": "N,k"}, "X.T@(G*step(X@W))"),
    ("bias broadcast over the batch", "sum((X@W + b)**2)", "b",
     {"X": "N,n", "W": "n,k", "b": "k"}, "2*sum(X@W + b, axis=0)"),
    ("a column broadcast x[:, None]", "sum((X + c[:, None])**2)", "c",
     {"X": "N,n", "c": "N"}, "2*sum(X + c[:, None], axis=1)"),
    # ---- scaled dot-product attention
    ("attention by V", f"sum(G * ({P_ATT}@V))", "V", ATT, f"{P_ATT}.T@G"),
    ("attention by Q", f"sum(G * ({P_ATT}@V))", "Q", ATT,
     f"({P_ATT}*(G@V.T - sum({P_ATT}*(G@V.T), axis=1, keepdims=True)))@K/2"),
    ("attention by K", f"sum(G * ({P_ATT}@V))", "K", ATT,
     f"({P_ATT}*(G@V.T - sum({P_ATT}*(G@V.T), axis=1, keepdims=True))).T@Q/2"),
    ("attention output by V, Jacobian", f"{P_ATT}@V", "V", ATT, None),
    # ---- normalisation and centring
    ("layer norm by X", f"sum(G * {LN_H})", "X", MAT,
     f"(G - mean(G, axis=1, keepdims=True) - {LN_H}*mean(G*{LN_H}, axis=1, keepdims=True))"
     f"/{LN_S}"),
    ("layer norm with np.var, by X",
     "np.sum(G * (X - X.mean(axis=1, keepdims=True)) / np.sqrt(X.var(axis=1, keepdims=True)"
     " + 1))", "X", MAT, None),
    ("layer norm's scale g", f"sum(G * (g * {LN_H} + beta))", "g",
     {**MAT, "g": "n", "beta": "n"}, f"sum(G * {LN_H}, axis=0)"),
    ("layer norm's shift beta", f"sum(G * (g * {LN_H} + beta))", "beta",
     {**MAT, "g": "n", "beta": "n"}, "sum(G, axis=0)"),
    ("batch norm (columns) by X",
     "sum(G * (X - mean(X, axis=0)) / sqrt(mean((X - mean(X, axis=0))**2, axis=0) + 1))",
     "X", MAT, None),
    ("centring the columns, Jacobian", "X - mean(X, axis=0)", "X", {"X": "N,n"}, None),
    ("centred sum of squares (rows, keepdims)", "sum((X - X.mean(axis=1, keepdims=True))**2)",
     "X", {"X": "N,n"}, "2*(X - mean(X, axis=1, keepdims=True))"),
    ("centred sum of squares (columns)", "norm2(X - mean(X, axis=0))**2", "X", {"X": "N,n"},
     "2*(X - mean(X, axis=0))"),
    ("column normalisation, Jacobian", "X / sum(X, axis=0)", "X", {"X": "N,n"}, None),
    ("row normalisation (keepdims)", "sum(A * (X / sum(X, axis=1, keepdims=True)))", "X", MAT,
     None),
    ("row 2-norms", "sum(norm2(X, axis=1))", "X", {"X": "N,n"},
     "X/norm2(X, axis=1, keepdims=True)"),
    ("column sums against w", "sum(X, axis=0) @ w", "X", {"X": "N,n", "w": "n"},
     "ones(N)@w.T"),
    ("row sums against u", "sum(X, axis=1) @ u", "X", {"X": "N,n", "u": "N"},
     "u@ones(n).T"),
    ("column means", "mean(X, axis=0) @ w", "X", {"X": "N,n", "w": "n"}, "ones(N)@w.T/N"),
    ("row maxima", "sum(max(X, axis=1))", "X", {"X": "N,n"},
     "equal(X, max(X, axis=1, keepdims=True))"
     "/sum(equal(X, max(X, axis=1, keepdims=True)), axis=1, keepdims=True)"),
    ("row maxima tied by construction (rows equal): the tie is shared",
     "sum(max(x[None, :] + zeros(3, n), axis=0))", "x", {"x": "n"}, "ones(n)"),
    ("column minima against w", "min(X, axis=0) @ w", "X", {"X": "N,n", "w": "n"}, None),
    ("mean per-sample quadratic form", "mean(sum((X@A)*X, axis=1))", "A",
     {"X": "N,n", "A": "n,n"}, "X.T@X/N"),
    ("method form (X@W).sum(axis=1).dot(u)", "(X @ W).sum(axis=1).dot(u)", "W",
     {"X": "N,n", "W": "n,k", "u": "N"}, "X.T@u@ones(k).T"),
    # ---- broadcasting: outer differences
    ("outer differences by x", "sum(exp(-(x[:, None] - y[None, :])**2))", "x",
     {"x": "m", "y": "n"},
     "-2*sum((x[:, None] - y[None, :])*exp(-(x[:, None] - y[None, :])**2), axis=1)"),
    ("outer differences by y", "sum(exp(-(x[:, None] - y[None, :])**2))", "y",
     {"x": "m", "y": "n"},
     "2*sum((x[:, None] - y[None, :])*exp(-(x[:, None] - y[None, :])**2), axis=0)"),
    ("outer product by broadcasting, Jacobian", "x[:, None] * y[None, :]", "x",
     {"x": "m", "y": "n"}, None),
    ("outer product against A", "sum(A * (x[:, None] * y))", "x",
     {"x": "m", "y": "n", "A": "m,n"}, "A@y"),
    # ---- indexing: the adjoint scatters
    ("a column X[:, 0]", "X[:, 0] @ y", "X", {"X": "m,n", "y": "m"}, "y@eye(n)[:, 0].T"),
    ("a row X[1]", "X[1] @ w", "X", {"X": "m,n", "w": "n"}, "eye(m)[:, 1]@w.T"),
    ("an entry X[1, 0]", "X[1, 0] * X[0, 1]", "X", {"X": (3, 2)}, None),
    ("a slice x[1:3]", "sum(exp(x[1:3]))", "x", {"x": (5,)}, None),
    ("a slice of columns X[:, :2]", "sum((X[:, :2] @ W)**2)", "W",
     {"X": ("N", 4), "W": (2, "m")}, "2*X[:, :2].T@(X[:, :2]@W)"),
    ("a slice of columns by X", "sum((X[:, 1:3] @ W)**2)", "X", {"X": ("N", 4), "W": (2, "m")},
     None),
    ("a negative index x[-1]", "x[-1] * sum(x)", "x", {"x": (4,)}, None),
    # ---- NumPy pasted as it is
    ("pasted mean squared error", "np.mean((X @ w - y) ** 2)", "w", {"X": "N,n", "y": "N"},
     "2*X.T@(X@w - y)/N"),
    ("pasted ridge", "np.sum((X @ w - y) ** 2) + lam * np.dot(w, w)", "w",
     {"X": "N,n", "y": "N", "lam": ()}, "2*X.T@(X@w - y) + 2*lam*w"),
    ("pasted norm squared", "np.linalg.norm(X @ w - y) ** 2", "w", {"X": "N,n", "y": "N"},
     "2*X.T@(X@w - y)"),
    ("pasted logistic loss", "np.sum(np.log(1 + np.exp(-y * (X @ w))))", "w",
     {"X": "N,n", "y": "N"}, "-X.T@(y*sigmoid(-y*(X@w)))"),
    ("pasted trace", "np.trace(A @ X @ B)", "X", None, "A.T@B.T"),
    ("pasted slogdet", "np.linalg.slogdet(X)[1]", "X", None, "np.linalg.inv(X).T"),
    ("pasted outer and diag", "np.sum(np.outer(x, x) * np.diag(d))", "x", {"d": "n"},
     "2*d*x"),
]

IDS = [r[0] for r in BATCHED]
TEXTBOOK = [r for r in BATCHED if r[4] is not None]


def test_enough_rows():
    assert len(BATCHED) >= 40
    assert len(TEXTBOOK) >= 30


@pytest.mark.parametrize("what, f, wrt, shapes, textbook", BATCHED, ids=IDS)
def test_right_by_finite_differences(what, f, wrt, shapes, textbook):
    d = check(f, wrt, shapes)
    # and at other sizes: (4, 3, 2) rotated through the dimensions
    names = [n for n in dim_sizes([d.f, d.wrt])]
    check(f, wrt, shapes, d=d, dims={n: (4, 3, 2)[i % 3] for i, n in enumerate(names)},
          seed=1, points=1)


@pytest.mark.parametrize("what, f, wrt, shapes, textbook", TEXTBOOK,
                         ids=[r[0] for r in TEXTBOOK])
def test_equals_the_textbook_form(what, f, wrt, shapes, textbook):
    assert_textbook(what, matcalc.diff(f, wrt, shapes), shapes, textbook)


@pytest.mark.parametrize("what, f, wrt, shapes, textbook", TEXTBOOK,
                         ids=[r[0] for r in TEXTBOOK])
def test_no_longer_than_the_textbook_form(what, f, wrt, shapes, textbook):
    printed = to_text(matcalc.diff(f, wrt, shapes).expr)
    assert tokens(printed) <= tokens(textbook), f"{what}: {printed}  vs  {textbook}"


def _inputs(target, values):
    if target == "jax":
        jnp = pytest.importorskip("jax.numpy")
        return {k: jnp.asarray(v) for k, v in values.items()}
    if target == "torch":
        torch = pytest.importorskip("torch")
        return {k: torch.tensor(np.asarray(v, dtype=float)) for k, v in values.items()}
    return values


@pytest.mark.parametrize("target", ["numpy", "jax", "torch"])
@pytest.mark.parametrize("what, f, wrt, shapes, textbook", BATCHED, ids=IDS)
def test_code_and_evaluate_agree(what, f, wrt, shapes, textbook, target):
    """The generated code (NumPy, JAX with axis=, PyTorch with dim=) computes what
    ``evaluate`` does, for every kind: a derivative that no matrix shows (a 3rd- or
    4th-order tensor, such as row-wise softmax by its argument) by einsum over its
    index form."""
    if target != "numpy":
        pytest.importorskip({"jax": "jax.numpy", "torch": "torch"}[target])
    d = matcalc.diff(f, wrt, shapes)
    rng = np.random.default_rng(3)
    values = random_values(d.f, d.wrt, rng)
    fn = matcalc.lambdify(d, target)
    got = np.asarray(fn(**_inputs(target, values)), dtype=float)
    tol = 1e-4 if target == "jax" else 1e-6  # jax computes in float32 by default
    assert_close(got, d.evaluate(values), f"{what}: generated {target} code", rtol=tol,
                 atol=tol)


# Bad input: each a MatcalcError with what is wrong and a caret under where; the CLI
# prints it (one message line, the input, the caret) on stderr and exits 2.
# (arguments, words of the message, the caret's column)
BAD = [
    (["diff", "sum(X, axis=2)", "--wrt", "X"], ["axis 2 is out of range", "matrix"], 13),
    (["diff", "softmax(x, axis=1)", "--wrt", "x"], ["axis 1 is out of range", "vector"], 17),
    (["diff", "sum(X, axis=-3)", "--wrt", "X"], ["axis -3 is out of range"], 13),
    (["diff", "X - Y.sum(axis=1)", "--wrt", "X", "--shape", "X=3,4", "--shape", "Y=3,4"],
     ["cannot", "matrix (3×4)", "vector (3)"], 3),
    (["diff", "x[:, None] + y[:, None]", "--wrt", "x", "--shape", "x=3", "--shape", "y=4"],
     ["cannot", "(3×1)", "(4×1)"], 12),
    (["diff", "X[4, 0]", "--wrt", "X", "--shape", "X=4,2"],
     ["index 4 is out of range", "length 4"], 2),
    (["diff", "x[1:7]", "--wrt", "x", "--shape", "x=5"], ["slice 1:7", "length 5"], 2),
    (["diff", "np.softmax(x)", "--wrt", "x"], ["np.softmax", "closest"], 4),
    (["diff", "np.linalg.pinv(X)", "--wrt", "X"], ["np.linalg.pinv", "np.linalg.inv"], 11),
    (["diff", "sum(X, axes=1)", "--wrt", "X"], ["axes"], 8),
    (["diff", "x[::2]", "--wrt", "x"], ["step"], 5),
    (["diff", "X.frobnicate()", "--wrt", "X"], ["frobnicate"], 3),
]


@pytest.mark.parametrize("args, words, column", BAD, ids=[a[1] for a, _, _ in BAD])
def test_bad_batched_input_is_one_clear_line_and_exit_2(capsys, args, words, column):
    from matcalc.cli import main
    assert main(args) == 2
    out, err = capsys.readouterr()
    lines = err.rstrip("\n").split("\n")
    assert out == "" and lines[0].startswith("matcalc: "), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, err)
    assert f"column {column})" in lines[0], err
    assert lines[2] == " " * (column + 1) + "^", err   # the caret under that column


# The standard results, proved: SymPy over explicit 2×2 matrices (every entry a
# symbol; the rows of a prob matrix summing to 1), and finite differences.
PROVED = [r for r in TEXTBOOK if any(w in r[0] for w in (
    "cross-entropy by", "2-layer MLP by W2", "2-layer MLP by b1", "attention by V",
    "row-wise softmax", "column sums", "outer differences by x", "a column X[:, 0]"))]


@pytest.mark.parametrize("what, f, wrt, shapes, textbook", PROVED,
                         ids=[r[0] for r in PROVED])
def test_verify_proves_the_standard_results(what, f, wrt, shapes, textbook):
    report = matcalc.diff(f, wrt, shapes).verify(dims=(2,), budget=20)
    assert report.ok, "\n".join(report.lines())
    assert all(c.status == "holds" for c in report.checks), "\n".join(report.lines())


def test_a_slice_to_a_declared_dimension():
    """X[:, :k] with k a declared dimension: an N×k block, checked at sizes where k ≤ n
    (and refused, when evaluated, where k > n)."""
    shapes = {"X": "N,n", "W": "k,m"}
    f = matcalc.parse("sum((X[:, :k] @ W)**2)", shapes)
    assert str(f) == "sum((X[:, :k] @ W)^2)"
    for dims in ({"N": 3, "n": 4, "k": 2, "m": 2}, {"N": 2, "n": 3, "k": 3, "m": 4}):
        check(f, "X", shapes, dims=dims, points=1)
        check(f, "W", shapes, dims=dims, points=1)
    values = {"X": np.ones((3, 2)), "W": np.ones((3, 2))}
    with pytest.raises(matcalc.EvalError, match="out of range"):
        matcalc.evaluate(f, values)


@pytest.mark.parametrize("text", [
    "max(X)", "min(X, axis=0)", "max(X, axis=1)", "logsumexp(X, axis=0)",
    "softmax(X, axis=1)", "softmax(X, axis=0)", "norm2(X, axis=1)", "sum(X, axis=0)",
    "mean(X, axis=1)", "X[:, 1]", "X[1, 0:2]", "X - X.mean(axis=1, keepdims=True)",
    "X.var(axis=0)", "X - X.max(axis=0, keepdims=True)"])
def test_sympy_form_of_batched_expressions(text):
    """The SymPy bridge (``--sympy-simplify``, ``Expr.to_sympy``) gives the same values."""
    sp = pytest.importorskip("sympy")
    from matcalc.backends.sympy_bridge import to_sympy
    X = np.random.default_rng(0).standard_normal((2, 3))
    e = matcalc.parse(text, {"X": (2, 3)})
    v = to_sympy(e).subs(sp.MatrixSymbol("X", 2, 3), sp.Matrix(X)).doit()
    want = matcalc.evaluate(e, {"X": X})
    got = np.array(sp.Matrix(v).evalf() if hasattr(v, "shape") else v, dtype=float)
    assert_close(got.reshape(np.shape(want)), want, text)
