"""NumPy text pastes unchanged: ``np.`` names, keyword arguments (``axis=``,
``keepdims=``), subscripts, attributes and methods (``X.sum(axis=1)``, ``x.dot(y)``).

Each NumPy spelling must parse to the very node its matcalc spelling gives (nodes are
interned: ``is``); where a subscript or a keyword has no other spelling, the value is
compared with what NumPy itself computes from the same text. Every wrong input is a
``ParseError`` or a ``ShapeError`` with its position, the caret under the offending
name, keyword or bracket.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import matcalc
from matcalc import MatcalcError, ParseError, ShapeError, parse

ROOT = Path(__file__).resolve().parent.parent

SHAPES = {"X": "m,n", "Z": "m,n", "W": "n,p", "A": "n,n", "x": "n", "y": "n", "w": "n",
          "u": "m", "z": "n", "b": ()}


def same(numpy_text, matcalc_text, shapes=SHAPES, dialect="default"):
    a = parse(numpy_text, shapes, dialect=dialect)
    b = parse(matcalc_text, shapes)
    assert a is b, f"{numpy_text!r} gave {a}, {matcalc_text!r} gave {b}"


# ------------------------------------------------------------------ np. names
NP_NAMES = [
    ("np.sum((X @ w - y) ** 2)", "sum((X@w - y)^2)", {"X": "m,n", "w": "n", "y": "m"}),
    ("np.sum(x)", "sum(x)", SHAPES),
    ("np.mean(X)", "mean(X)", SHAPES),
    ("np.exp(x)", "exp(x)", SHAPES),
    ("np.log(x)", "log(x)", SHAPES),
    ("np.tanh(X)", "tanh(X)", SHAPES),
    ("np.sin(x)", "sin(x)", SHAPES),
    ("np.cos(x)", "cos(x)", SHAPES),
    ("np.tan(x)", "tan(x)", SHAPES),
    ("np.abs(x)", "abs(x)", SHAPES),
    ("np.absolute(x)", "abs(x)", SHAPES),
    ("np.sqrt(x)", "sqrt(x)", SHAPES),
    ("np.sign(x)", "sign(x)", SHAPES),
    ("np.maximum(0, z)", "max(0, z)", SHAPES),
    ("np.maximum(x, y)", "max(x, y)", SHAPES),
    ("np.minimum(x, 1)", "min(x, 1)", SHAPES),
    ("np.dot(x, y)", "dot(x, y)", SHAPES),
    ("np.dot(x, y)", "x @ y", SHAPES),
    ("np.dot(A, x)", "A @ x", SHAPES),
    ("np.dot(X, W)", "X @ W", SHAPES),
    ("np.dot(b, x)", "b * x", SHAPES),           # NumPy's dot with a scalar: a product
    ("np.matmul(X, W)", "X @ W", SHAPES),
    ("np.matmul(x, y)", "x @ y", SHAPES),
    ("np.outer(x, y)", "x @ y'", SHAPES),
    ("np.outer(u, x)", "u @ x'", SHAPES),
    ("np.trace(A)", "tr(A)", SHAPES),
    ("np.diag(x)", "diag(x)", SHAPES),
    ("np.diag(A)", "diag(A)", SHAPES),
    ("np.transpose(X)", "X'", SHAPES),
    ("np.eye(n)", "eye(n)", SHAPES),
    ("np.eye(3)", "eye(3)", SHAPES),
    ("np.ones(n)", "ones(n)", SHAPES),
    ("np.ones((m, n))", "ones(m, n)", SHAPES),
    ("np.zeros((m, n))", "zeros(m, n)", SHAPES),
    ("np.zeros((3,))", "zeros(3)", SHAPES),
    ("np.ones((2, 3))", "ones(2, 3)", SHAPES),
    ("ones((m, n))", "ones(m, n)", SHAPES),     # the tuple in matcalc's spelling too
    ("np.linalg.inv(A)", "inv(A)", SHAPES),
    ("np.linalg.det(A)", "det(A)", SHAPES),
    ("np.linalg.norm(x)", "norm2(x)", SHAPES),
    ("np.linalg.norm(X)", "norm(X)", SHAPES),
    ("np.linalg.slogdet(A)[1]", "logdet(A)", SHAPES),
    ("np.linalg.slogdet(A)[-1]", "logdet(A)", SHAPES),
    ("np.linalg.matrix_power(A, 3)", "matpow(A, 3)", SHAPES),
    ("numpy.exp(x)", "exp(x)", SHAPES),
    ("numpy.linalg.inv(A)", "inv(A)", SHAPES),
    ("np.log(np.sum(np.exp(z)))", "log(sum(exp(z)))", SHAPES),
    ("np.maximum(0, X @ W).sum()", "sum(max(0, X @ W))", SHAPES),
    ("-np.sum(y * np.log(x))", "-sum(y * log(x))", SHAPES),
    ("x.T @ A @ x", "x' @ A @ x", SHAPES),
    ("np.linalg.slogdet(A)[1] - np.trace(np.linalg.inv(A) @ X.T @ X)",
     "logdet(A) - tr(inv(A) @ X' @ X)", {"X": "m,n", "A": "n,n"}),
]


@pytest.mark.parametrize("numpy_text, matcalc_text, shapes", NP_NAMES,
                         ids=[r[0] for r in NP_NAMES])
def test_numpy_name_is_the_matcalc_node(numpy_text, matcalc_text, shapes):
    same(numpy_text, matcalc_text, shapes)


def test_the_whole_name_table_is_tested():
    """Every function of the table (numpy_names.py) appears in NP_NAMES above, or in
    the keyword and method tests below."""
    from matcalc import numpy_names as NP
    texts = " ".join(r[0] for r in NP_NAMES) + " " + " ".join(r[0] for r in KWARGS)
    missing = [k for k, (kind, _) in NP.FUNCTIONS.items()
               if kind not in ("module", "newaxis") and k + "(" not in texts]
    assert not missing, missing
    methods = " ".join(r[0] for r in METHODS)
    assert not [m for m in NP.METHODS if m + "(" not in methods]


def test_np_declared_as_a_variable_is_a_variable():
    """A declared ``np`` is a vector like any other: ``np.sum()`` is its method."""
    assert parse("np.sum()", {"np": "n"}) is parse("sum(np)", {"np": "n"})
    assert parse("np + 1").shape == ("n",)      # undeclared and alone: a vector


# --------------------------------------------------------------- keywords
KWARGS = [
    ("np.var(X, axis=0)", "var(X, axis=0)"),
    ("np.std(X, axis=1, keepdims=True)", "std(X, axis=1, keepdims=True)"),
    ("np.var(x)", "mean((x - mean(x))^2)"),
    ("np.std(X)", "sqrt(mean((X - mean(X))^2))"),
    ("sum(X, axis=None)", "sum(X)"),
    ("np.sum(X, axis=None)", "sum(X)"),
    ("np.sum(X, None)", "sum(X)"),
    ("np.sum(X, axis=0)", "sum(X, axis=0)"),
    ("np.sum(X, 0)", "sum(X, axis=0)"),
    ("np.sum(X, -1)", "sum(X, axis=1)"),
    ("np.mean(X, 1)", "mean(X, axis=1)"),
    ("np.max(X, 1)", "max(X, axis=1)"),
    ("np.min(X, axis=0)", "min(X, axis=0)"),
    ("np.amax(X, axis=0)", "max(X, axis=0)"),
    ("np.amin(X)", "min(X)"),
    ("np.max(x)", "max(x)"),
    ("sum(X, axis=-1)", "sum(X, axis=1)"),
    ("sum(X, axis=-2)", "sum(X, axis=0)"),
    ("sum(x, axis=0)", "sum(x)"),                # the only axis of a vector: all of it
    ("sum(x, axis=-1)", "sum(x)"),
    ("softmax(Z, axis=-1)", "softmax(Z, axis=1)"),
    ("logsumexp(Z, axis=-2)", "logsumexp(Z, axis=0)"),
    ("norm(X, axis=1)", "norm2(X, axis=1)"),
    ("np.linalg.norm(X, axis=1)", "norm2(X, axis=1)"),
    ("np.linalg.norm(x, axis=0)", "norm2(x)"),
    ("mean(X, axis=1, keepdims=False)", "mean(X, axis=1)"),
    ("mean(X, keepdims=False, axis=1)", "mean(X, axis=1)"),
    ("np.sum(X, 1, keepdims=True)", "sum(X, axis=1, keepdims=True)"),
    ("np.mean(X, axis=0, keepdims=True)", "mean(X, axis=0, keepdims=True)"),
]


@pytest.mark.parametrize("numpy_text, matcalc_text", KWARGS, ids=[r[0] for r in KWARGS])
def test_keyword_arguments(numpy_text, matcalc_text):
    same(numpy_text, matcalc_text)


@pytest.mark.parametrize("text, shape", [
    ("sum(X, axis=0)", ("n",)),
    ("sum(X, axis=1)", ("m",)),
    ("mean(X, axis=1, keepdims=True)", ("m", 1)),
    ("mean(X, axis=0, keepdims=True)", (1, "n")),
    ("softmax(Z, axis=1)", ("m", "n")),
    ("logsumexp(Z, axis=0)", ("n",)),
    ("norm2(X, axis=0)", ("n",)),
    ("max(X)", ()),
    ("min(X)", ()),
    ("max(x)", ()),
    ("max(X, axis=0)", ("n",)),
    ("min(X, axis=1)", ("m",)),
    ("max(x, 0)", ("n",)),                        # two positional arguments: element-wise
    ("max(X, 1)", ("m", "n")),
])
def test_reduction_shapes(text, shape):
    assert parse(text, SHAPES).shape == shape


X_VALUE = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])


@pytest.mark.parametrize("text", [
    "np.sum(X, axis=0)", "np.sum(X, axis=1)", "np.sum(X, 0)", "np.mean(X, axis=-1)",
    "np.max(X, axis=0)", "np.min(X, 1)", "np.max(X)", "np.min(X)",
    "np.mean(X, axis=1, keepdims=True)", "np.sum(X, axis=0, keepdims=True)",
    "X.sum(axis=1)", "X.max(axis=0)", "X.min()", "X.mean(0)",
    "np.linalg.norm(X, axis=1)", "np.linalg.norm(X)",
    "X - X.mean(axis=0, keepdims=True)",
])
def test_reduction_values_are_numpys(text):
    value = matcalc.evaluate(parse(text, {"X": (2, 3)}), {"X": X_VALUE})
    expected = eval(text, {"np": np, "X": X_VALUE})  # noqa: S307 - our own test text
    np.testing.assert_allclose(value, expected)


# ---------------------------------------------------------------- methods
METHODS = [
    ("X.var()", "mean((X - mean(X))^2)"),
    ("X.var(axis=1)", "mean((X - mean(X, axis=1, keepdims=True))^2, axis=1)"),
    ("X.std(axis=0)", "sqrt(mean((X - mean(X, axis=0))^2, axis=0))"),
    ("X.sum()", "sum(X)"),
    ("X.sum(axis=1)", "sum(X, axis=1)"),
    ("X.sum(1)", "sum(X, axis=1)"),
    ("X.sum(axis=0, keepdims=True)", "sum(X, axis=0, keepdims=True)"),
    ("X.mean()", "mean(X)"),
    ("X.mean(axis=0)", "mean(X, axis=0)"),
    ("X.max(axis=0)", "max(X, axis=0)"),
    ("X.max()", "max(X)"),
    ("X.min()", "min(X)"),
    ("X.min(-1)", "min(X, axis=1)"),
    ("x.dot(y)", "x @ y"),
    ("A.dot(x)", "A @ x"),
    ("X.transpose()", "X'"),
    ("A.trace()", "tr(A)"),
    ("A.diagonal()", "diag(A)"),
    ("(X @ W).sum(axis=1)", "sum(X @ W, axis=1)"),
    ("(x - y).dot(x - y)", "(x - y)' @ (x - y)"),
    ("X.T.sum(axis=0)", "sum(X', axis=0)"),
    ("X.T.dot(X).trace()", "tr(X' @ X)"),
    ("np.exp(X).sum(axis=1)", "sum(exp(X), axis=1)"),
    ("-x.sum()", "-sum(x)"),                      # the method binds tighter than -
    ("x.sum() ** 2", "sum(x)^2"),
    ("2 * X.mean()", "2 * mean(X)"),
]


@pytest.mark.parametrize("numpy_text, matcalc_text", METHODS, ids=[r[0] for r in METHODS])
def test_methods(numpy_text, matcalc_text):
    same(numpy_text, matcalc_text)


# -------------------------------------------------------- dots in the lexer

@pytest.mark.parametrize("text, matcalc_text, dialect", [
    ("x.T", "x'", "default"),
    ("A.T.T", "A", "default"),
    ("A.T@x", "A' @ x", "default"),
    (".5*x", "0.5 * x", "default"),
    ("3.*x", "3 * x", "default"),                 # 3 .* x, as before
    ("A.*B", "A * B", "matlab"),
    ("1./x", "1 / x", "matlab"),
    ("x.^2", "x^2", "matlab"),
    ("x.^2 + 1./x", "x^2 + 1 / x", "matlab"),
])
def test_dots_in_the_lexer(text, matcalc_text, dialect):
    assert parse(text, dialect=dialect) is parse(matcalc_text)


# ------------------------------------------------------------- subscripts
SUB_SHAPES = {"X": "m,n", "K": "m,k", "x": "n", "v": 5, "M": (4, 6), "u": "m"}


@pytest.mark.parametrize("text, shape", [
    ("X[1, 2]", ()),
    ("X[:, 1]", ("m",)),
    ("X[1, :]", ("n",)),
    ("X[1]", ("n",)),
    ("x[1:3]", (2,)),
    ("x[:3]", (3,)),
    ("v[2:]", (3,)),
    ("K[:, :k]", ("m", "k")),
    ("M[1:, :]", (3, 6)),
    ("M[:, :2]", (4, 2)),
    ("M[1:3, 2:5]", (2, 3)),
    ("x[-1]", ()),
    ("v[-1]", ()),
    ("x[:, None]", ("n", 1)),
    ("x[None, :]", (1, "n")),
    ("x[None]", (1, "n")),
    ("x[:, np.newaxis]", ("n", 1)),
    ("x[numpy.newaxis, :]", (1, "n")),
    ("x[1:3:1]", (2,)),
    ("x[::1]", ("n",)),
])
def test_subscript_shapes(text, shape):
    assert parse(text, SUB_SHAPES).shape == shape


@pytest.mark.parametrize("numpy_text, matcalc_text", [
    ("x[0]", "x[0]"),
    ("v[-1]", "v[4]"),
    ("v[-5]", "v[0]"),
    ("X[1]", "X[1, :]"),
    ("x[:, np.newaxis]", "x[:, None]"),
    ("x[None]", "x'"),
    ("x[None, :]", "x'"),
    ("K[:, :k]", "K"),
    ("x[:]", "x"),
    ("M[0:4, 0:6]", "M"),
])
def test_subscript_nodes(numpy_text, matcalc_text):
    assert parse(numpy_text, SUB_SHAPES) is parse(matcalc_text, SUB_SHAPES)


M_VALUE = np.arange(24.0).reshape(4, 6) - 7
V_VALUE = np.array([3.0, -1.0, 4.0, 1.5, -5.0])


@pytest.mark.parametrize("text", [
    "M[1, 2]", "M[:, 1]", "M[2, :]", "M[3]", "M[-1, -2]", "M[1:, :]", "M[:, :2]",
    "M[1:3, 2:5]", "M[:, -1]", "v[1:3]", "v[:3]", "v[2:]", "v[-1]", "v[-2:]",
    "v[:, None]", "v[None, :]", "v[None]", "M[:, 1][:, None]",
    "M[1:3, 2:5].sum(axis=0)", "v[:, None] * v[None, :]", "M - M[:, 0][:, None]",
    "M / M.sum(axis=1, keepdims=True)",
])
def test_subscript_values_are_numpys(text):
    shapes = {"M": (4, 6), "v": 5}
    value = matcalc.evaluate(parse(text, shapes), {"M": M_VALUE, "v": V_VALUE})
    expected = eval(text, {"np": np, "M": M_VALUE, "v": V_VALUE})  # noqa: S307
    np.testing.assert_allclose(value, expected)


@pytest.mark.parametrize("text, shape", [
    ("Z - Z.max(axis=1, keepdims=True)", ("m", "n")),
    ("X - X.mean(axis=0, keepdims=True)", ("m", "n")),
    ("np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)", ("m", "n")),
    ("x[:, None] * y[None, :]", ("n", "m")),
    ("y[:, None] + x", ("n", "m")),
])
def test_size_one_stretches_over_an_undeclared_size(text, shape):
    """Without declarations, a size-1 dimension (keepdims, None) broadcasts over an
    unknown one as NumPy does: the unknown is not made 1."""
    assert parse(text).shape == shape


def test_stable_softmax_text_evaluates_as_numpy():
    Z = np.array([[1.0, 2.0, -3.0, 0.5], [0.0, 10.0, 2.0, -1.0], [4.0, 4.0, 4.0, 4.0]])
    text = "np.exp(Z - Z.max(axis=1, keepdims=True)) / " \
           "np.exp(Z - Z.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True)"
    expected = eval(text, {"np": np, "Z": Z})  # noqa: S307
    np.testing.assert_allclose(matcalc.evaluate(text, {"Z": Z}), expected)
    np.testing.assert_allclose(matcalc.evaluate("softmax(Z, axis=1)", {"Z": Z}), expected)


# ------------------------------------------------------------------ errors

def error_of(text, shapes=SHAPES, kind=MatcalcError, dialect="default"):
    with pytest.raises(kind) as info:
        parse(text, shapes, dialect=dialect)
    return info.value


def assert_caret(err, text, col):
    """The error is at column ``col`` of line 1, and the message shows the caret
    under it."""
    assert err.pos == (1, col), (err.pos, str(err))
    first, shown, caret = str(err).split("\n")[-3:]
    assert f"(line 1, column {col})" in first
    assert shown == "  " + text and caret == "  " + " " * (col - 1) + "^"


@pytest.mark.parametrize("text, col, words", [
    ("np.summ(x)", 4, ["np.summ", "np.sum"]),
    ("x + np.exps(x)", 8, ["np.exps", "closest: np.exp"]),
    ("numpy.inv(A)", 7, ["numpy.inv", "numpy.linalg.inv"]),
    ("np.linalg.nrm(x)", 11, ["np.linalg.nrm", "np.linalg.norm"]),
    ("np.linalgg.inv(A)", 4, ["np.linalgg", "np.linalg"]),
    ("np.foo(x)", 4, ["unknown NumPy name np.foo", "known: np.abs", "np.sum"]),
    ("np.linalg.foo(A)", 11, ["np.linalg.foo", "np.linalg.det, np.linalg.inv"]),
    ("np.softmax(z)", 4, ["np.softmax", "softmax(...) needs no prefix"]),
])
def test_unknown_numpy_name(text, col, words):
    err = error_of(text, kind=ParseError)
    for w in words:
        assert w in err.message, err.message
    assert_caret(err, text, col)


@pytest.mark.parametrize("text, col, words", [
    ("sum(X, foo=1)", 8, ["unknown keyword argument 'foo'", "axis, keepdims"]),
    ("np.sum(X, dtype=b)", 11, ["'dtype'"]),
    ("np.linalg.norm(x, ord=1)", 19, ["'ord'"]),
    ("X.sum(axs=0)", 7, ["'axs'"]),
    ("sum(X, axis=1.5)", 13, ["axis must be a whole number", "'1.5'"]),
    ("sum(X, axis=b)", 13, ["axis must be", "'b'"]),
    ("sum(X, axis=True)", 13, ["axis must be", "'True'"]),
    ("sum(X, axis=-0.5)", 13, ["'-0.5'"]),
    ("sum(X, keepdims=1)", 17, ["keepdims must be True or False", "'1'"]),
    ("sum(X, keepdims=None)", 17, ["keepdims must be True or False"]),
    ("sum(X, keepdims=true)", 17, ["keepdims must be True or False", "'true'"]),
    ("exp(x, axis=0)", 8, ["exp() takes no keyword argument axis"]),
    ("np.exp(x, axis=0)", 11, ["np.exp() takes no keyword argument axis"]),
    ("max(x, y, axis=0)", 11, ["element-wise", "max(X, axis=0)"]),
    ("sum(X, axis=0, axis=1)", 16, ["axis repeated"]),
    ("np.sum(X, 0, axis=1)", 14, ["axis twice"]),
    ("sum(axis=0, X)", 13, ["positional argument cannot follow a keyword"]),
    ("np.max(X, x)", 4, ["the axis", "np.maximum(a, b)"]),
    ("np.linalg.norm(x, 2)", 11, ["ord is not supported"]),
    ("X.sum(1, 0)", 3, ["at most 1 argument"]),
])
def test_keyword_errors(text, col, words):
    err = error_of(text, kind=ParseError)
    for w in words:
        assert w in err.message, err.message
    assert_caret(err, text, col)


@pytest.mark.parametrize("text, col, words", [
    ("sum(X, axis=2)", 13, ["axis 2", "out of range"]),
    ("np.sum(X, axis=-3)", 16, ["axis -3", "out of range"]),
    ("X.mean(axis=5)", 13, ["axis 5"]),
    ("sum(x, axis=1)", 13, ["axis 1"]),
])
def test_axis_out_of_range(text, col, words):
    err = error_of(text, kind=ShapeError)
    for w in words:
        assert w in err.message, err.message
    assert_caret(err, text, col)


@pytest.mark.parametrize("text, col, words", [
    ("np.linalg.slogdet(A)[0]", 22, ["[0]", "sign", "only [1]", "logdet(X)"]),
    ("np.linalg.slogdet(A)[-2]", 22, ["only [1]"]),
    ("np.linalg.slogdet(A)[1:]", 22, ["pair", "only its [1]"]),
    ("np.linalg.slogdet(A)", 11, ["pair", "take its [1]"]),
    ("2 * np.linalg.slogdet(A)", 15, ["pair"]),
])
def test_slogdet_errors(text, col, words):
    err = error_of(text, kind=ParseError)
    for w in words:
        assert w in err.message, err.message
    assert_caret(err, text, col)


@pytest.mark.parametrize("text, col, words, kind", [
    ("x[::2]", 5, ["step", "not supported"], ParseError),
    ("x[1:5:-1]", 7, ["step"], ParseError),
    ("X[:, 0:4:2]", 10, ["step"], ParseError),
    ("x[k]", 3, ["whole number", "'k'"], ParseError),
    ("x[:q]", 4, ["q is not a declared dimension"], ParseError),
    ("x[1.5]", 3, ["whole number"], ParseError),
    ("x[np.foo]", 3, ["np.foo cannot be an index"], ParseError),
    ("v[5]", 3, ["index 5", "length 5"], ShapeError),
    ("v[-6]", 3, ["-6"], ShapeError),
    ("M[4, 0]", 2, ["4"], ShapeError),
    ("M[:, 1:7]", 2, ["1:7"], ShapeError),
    ("v[1, 2]", 2, ["too many indices"], ShapeError),
])
def test_subscript_errors(text, col, words, kind):
    err = error_of(text, {"v": 5, "M": (4, 6), "x": "n", "X": "m,n"}, kind=kind)
    for w in words:
        assert w in err.message, err.message
    assert_caret(err, text, col)


@pytest.mark.parametrize("text, col, words", [
    ("X.Tr", 3, ["unknown attribute .Tr", ".T", ".sum()"]),
    ("x.y", 3, ["unknown attribute .y"]),
    ("X.foo()", 3, ["unknown method .foo()", "known: .sum(), .mean()"]),
    ("X.summ(axis=0)", 3, ["unknown method .summ()", "did you mean .sum()"]),
    ("X.sum", 3, [".sum is a method: call it as .sum()"]),
    ("np.sum", 4, ["np.sum is a function: call it as np.sum(...)"]),
    ("np.linalg", 4, ["np.linalg is a module"]),
    ("np.linalg + 1", 4, ["np.linalg is a module"]),
    ("np.linalg(x)", 4, ["np.linalg is not a function"]),
    ("np.newaxis", 4, ["only valid in a subscript"]),
    ("x.dot()", 3, [".dot() takes 1 argument, got 0"]),
    ("X.transpose(1)", 3, [".transpose() takes 0 arguments, got 1"]),
    ("np.dot(x)", 4, ["np.dot() takes 2 arguments, got 1"]),
    ("np.ones(m, n)", 4, ["np.ones((m, n))"]),
    ("np.exp(x, y)", 4, ["takes 1 argument, got 2"]),
])
def test_attribute_and_method_errors(text, col, words):
    err = error_of(text, kind=ParseError)
    for w in words:
        assert w in err.message, err.message
    assert_caret(err, text, col)


@pytest.mark.parametrize("text, col", [
    ("None + 1", 1), ("x + True", 5), ("sum(None)", 5), ("False", 1), ("[a, None]", 5),
    ("X[None + 1]", 8),
])
def test_python_constants_only_where_documented(text, col):
    err = error_of(text, kind=ParseError)
    assert_caret(err, text, col)


@pytest.mark.parametrize("text, col", [("(m, n)", 1), ("x + (1, 2)", 5), ("exp((x, y))", 5),
                                       ("(x,)", 1)])
def test_a_tuple_is_only_a_shape(text, col):
    err = error_of(text, kind=ParseError)
    assert "only allowed as a shape" in err.message
    assert_caret(err, text, col)


def test_outer_needs_vectors():
    err = error_of("np.outer(X, x)", kind=ShapeError)
    assert "two vectors" in err.message
    assert_caret(err, "np.outer(X, x)", 4)


def test_lark_hint_names_the_new_tokens():
    """A syntax error's "expected ..." names every token in words, none by its
    grammar name."""
    for text in ["x[1 2]", "sum(X, axis=)", "np.", "x[:,", "f(x, axis 0)"]:
        err = error_of(text, kind=ParseError)
        assert not any(name in err.message for name in
                       ("COLON", "EQUAL", "DOT", "NONE", "TRUE", "FALSE", "RSQB")), err.message


def test_deeply_nested_numpy_calls():
    text = "np.exp(" * 3000 + "x" + ")" * 3000
    assert parse(text).shape == ("n",)
    text = "(" * 10000 + "x" + ")" * 10000 + ".sum()"
    assert parse(text) is parse("sum(x)")


def test_cli_error_is_one_line_and_a_caret():
    proc = subprocess.run([sys.executable, "-m", "matcalc", "diff", "np.summ(x) + 1",
                           "--wrt", "x"], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.rstrip("\n").split("\n")
    assert len(lines) == 3 and "Traceback" not in proc.stderr
    assert lines[0].startswith("matcalc: parse error: unknown NumPy name np.summ")
    assert lines[1] == "  np.summ(x) + 1" and lines[2] == "     ^"


def test_cli_differentiates_numpy_text():
    proc = subprocess.run([sys.executable, "-m", "matcalc", "diff",
                           "np.sum((X @ w - y) ** 2)", "--wrt", "w"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    ref = subprocess.run([sys.executable, "-m", "matcalc", "diff", "sum((X@w - y)^2)",
                          "--wrt", "w"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert proc.stdout == ref.stdout
