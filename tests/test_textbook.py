"""The textbook table: for the losses and identities of deep learning, the Matrix
Cookbook and ML texts, matcalc's derivative is (1) right, by finite differences at
dimensions of different sizes; (2) equal in value to the form a textbook prints;
and (3) printed at most as long, in tokens of the input language, as that form.

Each row: (what, f, by, shapes, order, the textbook form written in the input
language). The textbook form has the numeric contract's orientation (a gradient by
a vector is a column, by a matrix has the matrix's shape; a Jacobian is
rows-of-f by columns-of-the-variable), so the length compared is that of
``d.expr`` (what ``--layout mixed`` shows). A dimension named in a textbook form
(``/ m``) stands for its size.
"""
import re

import numpy as np
import pytest

from oracle import assert_close, check, dim_sizes, random_values

import matcalc
from matcalc.backends.numeric import Evaluator, concrete
from matcalc.core import expr as E
from matcalc.parser import parse
from matcalc.printing.text import to_text

# (what, f, by, shapes, order, textbook form)
TEXTBOOK = [
    ('softmax cross-entropy by z', "-y'@log(softmax(z))", 'z', None, 1, 'sum(y)*softmax(z) - y'),
    ('softmax cross-entropy of a layer by b', "-y'@log(softmax(W@x + b))", 'b', {'b': ('m',)}, 1, 'sum(y)*softmax(W@x + b) - y'),
    ('softmax cross-entropy of a layer by W', "-y'@log(softmax(W@x + b))", 'W', {'b': ('m',)}, 1, "(sum(y)*softmax(W@x + b) - y)@x'"),
    ('softmax cross-entropy of a layer by x', "-y'@log(softmax(W@x + b))", 'x', {'b': ('m',)}, 1, "W'@(sum(y)*softmax(W@x + b) - y)"),
    ('log-sum-exp spelled out', 'log(sum(exp(x)))', 'x', None, 1, 'softmax(x)'),
    ('logsumexp gradient', 'logsumexp(x)', 'x', None, 1, 'softmax(x)'),
    ('logsumexp Hessian', 'logsumexp(x)', 'x', None, 2, "diag(softmax(x)) - softmax(x)@softmax(x)'"),
    ('logsumexp of an affine map, Hessian', 'logsumexp(A@x + z)', 'x', {'z': ('m',)}, 2, "A'@(diag(softmax(A@x + z)) - softmax(A@x + z)@softmax(A@x + z)')@A"),
    ('logsumexp of an affine map, gradient', 'logsumexp(A@x + z)', 'x', {'z': ('m',)}, 1, "A'@softmax(A@x + z)"),
    ('softmax Jacobian', 'softmax(z)', 'z', None, 1, "diag(softmax(z)) - softmax(z)@softmax(z)'"),
    ('softmax spelled out, Jacobian', 'exp(x)/sum(exp(x))', 'x', None, 1, "diag(softmax(x)) - softmax(x)@softmax(x)'"),
    ('log-softmax Jacobian', 'log(softmax(z))', 'z', None, 1, "eye(n) - ones(n)@softmax(z)'"),
    ('logistic loss by w', 'sum(log(1 + exp(-y*(X@w))))', 'w', None, 1, "-X'@(y*sigmoid(-y*(X@w)))"),
    ('logistic loss Hessian', 'sum(log(1 + exp(-y*(X@w))))', 'w', None, 2, "X'@diag(y^2*sigmoid(y*(X@w))*sigmoid(-y*(X@w)))@X"),
    ('logistic NLL with 0/1 labels by w', 'sum(log(1 + exp(X@w)) - y*(X@w))', 'w', None, 1, "X'@(sigmoid(X@w) - y)"),
    ('binary cross-entropy (mean) by w', '-mean(y*log(sigmoid(X@w)) + (1-y)*log(1-sigmoid(X@w)))', 'w', None, 1, "X'@(sigmoid(X@w) - y)/m"),
    ('binary cross-entropy (mean) Hessian', '-mean(y*log(sigmoid(X@w)) + (1-y)*log(1-sigmoid(X@w)))', 'w', None, 2, "X'@diag(sigmoid(X@w)*(1 - sigmoid(X@w)))@X/m"),
    ('binary cross-entropy (sum) by w', '-sum(y*log(sigmoid(X@w)) + (1-y)*log(1-sigmoid(X@w)))', 'w', None, 1, "X'@(sigmoid(X@w) - y)"),
    ('binary cross-entropy by the logits', '-sum(y*log(sigmoid(z)) + (1-y)*log(1-sigmoid(z)))', 'z', None, 1, 'sigmoid(z) - y'),
    ('log-sigmoid', 'log(sigmoid(a))', 'a', None, 1, '1 - sigmoid(a)'),
    ('sigmoid', 'sigmoid(a)', 'a', None, 1, 'sigmoid(a)*(1 - sigmoid(a))'),
    ('sigmoid spelled out', '1/(1 + exp(-a))', 'a', None, 1, 'sigmoid(a)*(1 - sigmoid(a))'),
    ('softplus spelled out', 'log(1 + exp(a))', 'a', None, 1, 'sigmoid(a)'),
    ('softplus Jacobian', 'softplus(x)', 'x', None, 1, 'diag(sigmoid(x))'),
    ('sum of softplus of a layer by w', 'sum(softplus(X@w))', 'w', None, 1, "X'@sigmoid(X@w)"),
    ('sigmoid Hessian', 'sum(sigmoid(x))', 'x', None, 2, 'diag(sigmoid(x)*(1 - sigmoid(x))*(1 - 2*sigmoid(x)))'),
    ('ridge by w', 'norm2(X@w - y)^2 + c*norm2(w)^2', 'w', None, 1, "2*X'@(X@w - y) + 2*c*w"),
    ('ridge Hessian', 'norm2(X@w - y)^2 + c*norm2(w)^2', 'w', None, 2, "2*(X'@X + c*eye(n))"),
    ('least squares by x', 'norm2(A@x - b)^2', 'x', {'b': ('m',)}, 1, "2*A'@(A@x - b)"),
    ('least squares Hessian', 'norm2(A@x - b)^2', 'x', {'b': ('m',)}, 2, "2*A'@A"),
    ('mean squared error by w', 'mean((X@w - y)^2)', 'w', None, 1, "2*X'@(X@w - y)/m"),
    ('weighted least squares by w', "(y - X@w)'@W@(y - X@w)", 'w', None, 1, "-X'@(W + W')@(y - X@w)"),
    ('norm', 'norm2(x)', 'x', None, 1, 'x/norm2(x)'),
    ('squared norm', 'norm2(x)^2', 'x', None, 1, '2*x'),
    ('centred Frobenius norm', 'norm2(X - mean(X))^2', 'X', None, 1, '2*(X - mean(X))'),
    ('variance-like sum', 'sum((x - mean(x))^2)', 'x', None, 1, '2*(x - mean(x))'),
    ('Mahalanobis by x', "(x - mu)'@inv(S)@(x - mu)", 'x', {'mu': ('n',)}, 1, "(inv(S) + inv(S)')@(x - mu)"),
    ('Mahalanobis by mu', "(x - mu)'@inv(S)@(x - mu)", 'mu', {'mu': ('n',)}, 1, "-(inv(S) + inv(S)')@(x - mu)"),
    ('Mahalanobis by S', "(x - mu)'@inv(S)@(x - mu)", 'S', {'mu': ('n',)}, 1, "-inv(S)'@(x - mu)@(x - mu)'@inv(S)'"),
    ('logdet', 'logdet(S)', 'S', None, 1, "inv(S)'"),
    ('log of det', 'log(det(S))', 'S', None, 1, "inv(S)'"),
    ('square root of det', 'sqrt(det(S))', 'S', None, 1, "0.5*sqrt(det(S))*inv(S)'"),
    ('det', 'det(X)', 'X', None, 1, "det(X)*inv(X)'"),
    ('det of a square', 'det(X@X)', 'X', None, 1, "2*det(X)^2*inv(X)'"),
    ('trace of a product', 'tr(A@X@B)', 'X', None, 1, "A'@B'"),
    ('trace of a quadratic form', "tr(X'@A@X)", 'X', None, 1, "(A + A')@X"),
    ('trace of the inverse', 'tr(inv(X))', 'X', None, 1, "-inv(X)'@inv(X)'"),
    ('trace of a cube', 'tr(X@X@X)', 'X', None, 1, "3*matpow(X, 2)'"),
    ('bilinear form by X', "u'@X@v", 'X', None, 1, "u@v'"),
    ('bilinear form of the transpose by X', "u'@X'@v", 'X', None, 1, "v@u'"),
    ('bilinear form of the inverse by X', "u'@inv(X)@v", 'X', None, 1, "-inv(X)'@u@v'@inv(X)'"),
    ('quadratic form', "x'@A@x", 'x', None, 1, "(A + A')@x"),
    ('quadratic form Hessian', "x'@A@x", 'x', None, 2, "A + A'"),
    ('inner product with itself', "x'@x", 'x', None, 1, '2*x'),
    ('Frobenius norm squared', "tr(X'@X)", 'X', None, 1, '2*X'),
    ('cosine similarity by x', "x'@y/(norm2(x)*norm2(y))", 'x', None, 1, "y/(norm2(x)*norm2(y)) - x'@y*x/(norm2(x)^3*norm2(y))"),
    ('RBF kernel by x', 'exp(-norm2(x - y)^2/(2*sigma^2))', 'x', None, 1, '-exp(-norm2(x - y)^2/(2*sigma^2))*(x - y)/sigma^2'),
    ('scaled RBF exponent', '-k*norm2(x - y)^2/(2*sigma^2)', 'x', {'k': ()}, 1, '-k*(x - y)/sigma^2'),
    ('centring Jacobian', 'x - mean(x)', 'x', None, 1, "eye(n) - ones(n)@ones(n)'/n"),
    ('attention-like readout by q', "V'@softmax(K@q)", 'q', None, 1, "V'@(diag(softmax(K@q)) - softmax(K@q)@softmax(K@q)')@K"),
    ('neuron activation by w', "max(0, w'@x + b)", 'w', None, 1, "step(w'@x + b)*x"),
    ('squared loss of a ReLU layer by w', 'mean((y - max(0, X@w + b))^2)', 'w', None, 1, "2*X'@(step(X@w + b)*(X@w + b - y))/m"),
    ('sum of exp Hessian', 'sum(exp(x))', 'x', None, 2, 'diag(exp(x))'),
    ('exponential of base 2', 'sum(2^x)', 'x', None, 1, 'log(2)*2^x'),
    ('trace with an inverse', 'tr(A@inv(X)@B)', 'X', None, 1, "-inv(X)'@A'@B'@inv(X)'"),
    ('logdet of a Gram matrix', "logdet(X'@X)", 'X', None, 1, "2*X@inv(X'@X)"),
    ('det of a product', 'det(A@X@B)', 'X', {'A': ('n', 'n'), 'B': ('n', 'n'), 'X': ('n', 'n')}, 1, "det(A@X@B)*inv(X)'"),
    ('tanh layer Jacobian', 'tanh(W@x)', 'x', None, 1, 'diag(1 - tanh(W@x)^2)@W'),
    ('tanh squared', 'tanh(a)^2', 'a', None, 1, '2*tanh(a)*(1 - tanh(a)^2)'),
    ('sum of logs Hessian', 'sum(log(x))', 'x', None, 2, '-diag(1/x^2)'),
    ('entropy', '-sum(p*log(p))', 'p', None, 1, '-log(p) - 1'),
    ('KL divergence by q', 'sum(p*log(p/q))', 'q', None, 1, '-p/q'),
    ('softmax is shift-invariant: cross-entropy by a common shift', "-y'@log(softmax(z + c))", 'c', None, 1, '0'),
    ('log-partition of a linear model by w', 'logsumexp(X@w)', 'w', None, 1, "X'@softmax(X@w)"),
]

# Declared structure: symmetric, positive definite, probability vectors.
STRUCTURED = [
    ("quadratic form, S symmetric", "x'@S@x", "x", {"S": "n,n,sym"}, 1, "2*S@x"),
    ("quadratic form by a symmetric S", "x'@S@x", "S", {"S": "n,n,sym"}, 1, "x@x'"),
    ("logdet of an SPD matrix", "logdet(S)", "S", {"S": "n,n,spd"}, 1, "inv(S)"),
    ("Gaussian log-likelihood by the covariance",
     "-0.5*logdet(S) - 0.5*(x - mu)'@inv(S)@(x - mu)", "S", {"S": "n,n,spd", "mu": "n"}, 1,
     "0.5*(inv(S)@(x - mu)@(x - mu)'@inv(S) - inv(S))"),
    ("Gaussian log-likelihood by the mean",
     "-0.5*logdet(S) - 0.5*(x - mu)'@inv(S)@(x - mu)", "mu", {"S": "n,n,spd", "mu": "n"}, 1,
     "inv(S)@(x - mu)"),
    ("softmax cross-entropy, y a probability vector", "-y'@log(softmax(z))", "z",
     {"y": "n,prob"}, 1, "softmax(z) - y"),
    ("softmax cross-entropy of a layer, y a probability vector",
     "-y'@log(softmax(W@x + b))", "W", {"y": "m,prob", "b": "m"}, 1, "(softmax(W@x + b) - y)@x'"),
]

ROWS = TEXTBOOK + STRUCTURED
IDS = [r[0] for r in ROWS]

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+\.?\d*(?:[eE][-+]?\d+)?|\*\*|\S")


def tokens(text: str) -> int:
    """Tokens of the input language: names, numbers, operators, brackets."""
    return len(_TOKEN.findall(text))


def _textbook_value(text, f, shapes, values, dims):
    """The textbook form at ``values``: f's variables, and a dimension named in it
    as a scalar equal to its size."""
    declared = dict(shapes or {})
    for v in E.variables(f):
        declared.setdefault(v.name, v.shape)
    named = {t for t in re.findall(r"[A-Za-z_]\w*", text)}
    scalars = {d: float(n) for d, n in dims.items() if d in named and d not in declared}
    e = parse(text, {**declared, **{d: () for d in scalars}})
    arrays = {k: np.asarray(v, dtype=float) for k, v in {**values, **scalars}.items()}
    out = Evaluator(arrays, dims).value(e)  # dims given: eye(n) alone knows its size
    return np.asarray(out, dtype=float).reshape(concrete(e.shape, dims))


def test_enough_rows():
    assert len(ROWS) >= 60


@pytest.mark.parametrize("what, f, wrt, shapes, order, textbook", ROWS, ids=IDS)
def test_right_by_finite_differences(what, f, wrt, shapes, order, textbook):
    check(f, wrt, shapes, order=order)


@pytest.mark.parametrize("what, f, wrt, shapes, order, textbook", ROWS, ids=IDS)
def test_equals_the_textbook_form(what, f, wrt, shapes, order, textbook):
    assert_textbook(what, matcalc.diff(f, wrt, shapes, order=order), shapes, textbook)


def assert_textbook(what, d, shapes, textbook):
    """``d`` equals the textbook form in value, at two rotations of sizes (3, 2, 4)."""
    rng = np.random.default_rng(7)
    for sizes in ((3, 2, 4), (4, 3, 2)):  # different sizes, rotated
        names = list(dim_sizes([d.f, d.wrt]))
        dims = {n: sizes[i % 3] for i, n in enumerate(names)}
        values = random_values(d.f, d.wrt, rng, dims)
        got = d.evaluate(values)
        want = _textbook_value(textbook, d.f, shapes, values, dims)
        assert_close(got, want, f"{what}: {to_text(d.expr)} against {textbook}")


@pytest.mark.parametrize("what, f, wrt, shapes, order, textbook", ROWS, ids=IDS)
def test_no_longer_than_the_textbook_form(what, f, wrt, shapes, order, textbook):
    printed = to_text(matcalc.diff(f, wrt, shapes, order=order).expr)
    assert tokens(printed) <= tokens(textbook), f"{what}: {printed}  vs  {textbook}"
