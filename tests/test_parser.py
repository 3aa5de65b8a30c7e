"""The parser, table-driven: every syntax row and every function of the language
contract (docs/language.md), in both dialects.

Each row is (text, the printed form ``str(parse(text))``, the shape of the result).
The printed form is the input language (default dialect) after the constructors'
light algebra; every expected value below was checked by hand against the meaning
the contract gives the syntax (e.g. ``x @ y`` of two vectors is ``x' @ y``, ``-2 ** 2``
is ``-4`` as in Python, ``2 ^ 3 ^ 2`` is ``2 ^ 9``).

Undeclared dimensions get deterministic names: the columns of the matrices first
(``A @ x`` makes ``A`` m×n and ``x`` n), then the other dimensions in order.
"""
import pytest

from matcalc import ParseError, ShapeError, parse
from matcalc.core import expr as E

# --------------------------------------------------------------------- syntax
# (text, printed, shape)
SYNTAX = [
    # a + b, a - b: element-wise, scalar expansion on either side
    ("x + y", "x + y", ("n",)),
    ("x - y", "x - y", ("n",)),
    ("a + x", "a + x", ("n",)),
    ("x + a", "x + a", ("n",)),
    ("x - 1", "x - 1", ("n",)),
    ("1 - x", "1 - x", ("n",)),
    ("a + b", "a + b", ()),
    ("A + B", "A + B", ("m", "n")),
    # a * b, a / b: element-wise (Hadamard) product and quotient; A @ B: matrix product
    ("x * y", "x * y", ("n",)),
    ("a * x", "a * x", ("n",)),
    ("A * B", "A * B", ("m", "n")),
    ("x / y", "x / y", ("n",)),
    ("x / 2", "0.5 * x", ("n",)),
    ("2 / x", "2 / x", ("n",)),
    ("A @ x", "A @ x", ("m",)),
    ("W@x", "W @ x", ("m",)),
    ("A @ B", "A @ B", ("p", "m")),
    ("x @ y", "x' @ y", ()),                 # two vectors: the dot product
    ("x @ A", "x' @ A", (1, "n")),           # a vector left of a matrix: a row
    ("x @ y'", "x @ y'", ("n", "m")),        # the outer product
    ("x' @ y", "x' @ y", ()),
    ("x' @ A @ x", "x' @ A @ x", ()),        # a 1×1 result is a scalar
    ("A @ x @ y", "x' @ A' @ y", ()),        # (A x) · y = xᵀ Aᵀ y
    ("A' @ B", "A' @ B", ("n", "m")),
    ("(A @ B)'", "B' @ A'", ("n", "p")),
    # one precedence level for * / @, left to right (Python's)
    ("x * A @ y", "A * x @ y", ("m",)),  # (x * A) @ y, x broadcast as rows
    ("A @ x * y", "y * (A @ x)", ("m",)),
    ("a / b / c", "a / b / c", ()),
    ("a / (b / c)", "a * c / b", ()),
    ("a / b * c", "a * c / b", ()),
    ("x + y * z", "x + y * z", ("n",)),
    ("a - b - c", "a - b - c", ()),
    ("a - (b - c)", "a - (b - c)", ()),
    # -a
    ("-x", "-x", ("n",)),
    ("-a", "-a", ()),
    ("--x", "x", ("n",)),
    ("+x", "x", ("n",)),
    ("a * -b", "-a * b", ()),
    # a ^ b, a ** b: element-wise power, right-associative, above unary minus
    ("x ^ 2", "x^2", ("n",)),
    ("x ** 2", "x^2", ("n",)),
    ("x ^ a", "x^a", ("n",)),
    ("x ^ y", "x^y", ("n",)),
    ("a ^ x", "a^x", ("n",)),
    ("2 ^ 3 ^ 2", "512", ()),
    ("-x ^ 2", "-x^2", ("n",)),
    ("(-x) ^ 2", "x^2", ("n",)),
    ("-2 ** 2", "-4", ()),
    ("2 ** -1", "0.5", ()),
    # a', a.T: transpose
    ("x'", "x'", (1, "n")),
    ("x.T", "x'", (1, "n")),
    ("A'", "A'", ("n", "m")),
    ("A.T", "A'", ("n", "m")),
    ("x''", "x", ("n",)),
    ("A.T.T", "A", ("m", "n")),
    ("a'", "a", ()),
    # f(...), ( ... )
    ("exp(x)", "exp(x)", ("n",)),
    ("(x + y) * z", "z * (x + y)", ("n",)),
    ("((x))", "x", ("n",)),
    ("a * (b + c)", "a * (b + c)", ()),
    ("(x + y) @ (x - y)", "(x' + y') @ (x - y)", ()),
    # [a, b, c]: a vector of scalar expressions
    ("[a, b, c]", "[a, b, c]", (3,)),
    ("[1, 2]", "[1, 2]", (2,)),
    ("[log(a ^ 2), sin(3 * a)]", "[log(a^2), sin(3 * a)]", (2,)),
    # x[i]: an entry (0-based)
    ("x[0]", "x[0]", ()),
    ("x[2]", "x[2]", ()),
    # numbers
    ("2", "2", ()),
    ("0.5", "0.5", ()),
    ("1e-3", "0.001", ()),
    ("1.5e2", "150", ()),
    ("2E+2", "200", ()),
    (".25", "0.25", ()),
    ("3.", "3", ()),
    ("1/3", "1/3", ()),                     # exact rational constants
    # Unicode aliases
    ("x · y", "x' @ y", ()),                 # dot product of vectors
    ("a · x", "a * x", ("n",)),              # with a scalar: a product
    ("x ⊙ y", "x * y", ("n",)),
    ("x ⊗ y", "x * y", ("n",)),
    ("x ⊘ y", "x / y", ("n",)),
    ("A ⊙ B", "A * B", ("m", "n")),
    ("xᵀ", "x'", (1, "n")),
    ("Aᵀ", "A'", ("n", "m")),
    ("σ(x)", "sigmoid(x)", ("n",)),
    ("∑(x)", "sum(x)", ()),
    ("∑(A)", "sum(A)", ()),
    ("x − y", "x - y", ("n",)),              # U+2212 minus sign
    ("−x", "-x", ("n",)),
    ("α + β", "α + β", ()),
    ("alpha * x", "alpha * x", ("n",)),
    ("lambda * x", "lambda * x", ("n",)),
    # white space
    (" x\t+\ny ", "x + y", ("n",)),
]

# ------------------------------------------------------------------ functions
FUNCTIONS = [
    # element-wise, any shape
    ("exp(x)", "exp(x)", ("n",)),
    ("log(x)", "log(x)", ("n",)),
    ("sin(x)", "sin(x)", ("n",)),
    ("cos(x)", "cos(x)", ("n",)),
    ("tan(x)", "tan(x)", ("n",)),
    ("tanh(x)", "tanh(x)", ("n",)),
    ("sqrt(x)", "sqrt(x)", ("n",)),
    ("abs(x)", "abs(x)", ("n",)),
    ("sign(x)", "sign(x)", ("n",)),
    ("sigmoid(x)", "sigmoid(x)", ("n",)),
    ("relu(x)", "relu(x)", ("n",)),
    ("softplus(x)", "softplus(x)", ("n",)),
    ("exp(A)", "exp(A)", ("m", "n")),
    ("sqrt(A)", "sqrt(A)", ("m", "n")),
    ("log(a)", "log(a)", ()),
    ("tanh(a)", "tanh(a)", ()),
    # max, min: element-wise, binary
    ("max(x, y)", "max(x, y)", ("n",)),
    ("min(x, y)", "min(x, y)", ("n",)),
    ("max(0, z)", "max(0, z)", ("n",)),
    ("min(z, 0)", "min(z, 0)", ("n",)),
    ("max(a, x)", "max(a, x)", ("n",)),
    ("max(A, x)", "max(A, x)", ("m", "n")),
    ("max(a, b)", "max(a, b)", ()),
    # step
    ("step(x)", "step(x)", ("n",)),
    ("step(a)", "step(a)", ()),
    # reductions
    ("sum(x)", "sum(x)", ()),
    ("sum(A)", "sum(A)", ()),
    ("sum(a)", "a", ()),
    ("mean(x)", "mean(x)", ()),
    ("mean(A)", "mean(A)", ()),
    ("dot(x, y)", "x' @ y", ()),
    ("norm1(x)", "norm1(x)", ()),
    ("norm2(x)", "norm2(x)", ()),
    ("norm(x)", "norm2(x)", ()),
    ("norm1(A)", "norm1(A)", ()),
    ("norm2(A)", "norm2(A)", ()),
    # square matrices
    ("tr(A)", "tr(A)", ()),
    ("trace(A)", "tr(A)", ()),
    ("det(A)", "det(A)", ()),
    ("logdet(A)", "logdet(A)", ()),
    ("inv(A)", "inv(A)", ("n", "n")),
    # diag
    ("diag(x)", "diag(x)", ("n", "n")),
    ("diag(A)", "diag(A)", ("n",)),
    # softmax, logsumexp
    ("softmax(x)", "softmax(x)", ("n",)),
    ("logsumexp(x)", "logsumexp(x)", ()),
    # constants
    ("ones(n)", "ones(n)", ("n",)),
    ("zeros(n)", "zeros(n)", ("n",)),
    ("eye(n)", "eye(n)", ("n", "n")),
    ("ones(m, n)", "ones(m, n)", ("m", "n")),
    ("zeros(m, n)", "zeros(m, n)", ("m", "n")),
    ("ones(3)", "ones(3)", (3,)),
    ("zeros(2, 3)", "zeros(2, 3)", (2, 3)),
    ("eye(4)", "eye(4)", (4, 4)),
    # the constructors' exact algebra
    ("inv(inv(A))", "A", ("n", "n")),
    ("tr(A')", "tr(A)", ()),
    ("sum(x')", "sum(x)", ()),
    ("diag(diag(x))", "x", ("n",)),
    ("sin(0)", "0", ()),
    ("exp(0)", "1", ()),
    ("max(2, 3)", "3", ()),
    ("abs(-2)", "2", ()),
]

LANGUAGE_FUNCTIONS = ("exp log sin cos tan tanh sqrt abs sign sigmoid relu softplus max min "
                      "step sum mean dot norm1 norm2 norm tr trace det logdet inv diag "
                      "softmax logsumexp ones zeros eye").split()

# ------------------------------------------------------------ matlab dialect
# (matlab text, the same thing in the default dialect, printed, shape)
MATLAB = [
    ("A*B", "A @ B", "A @ B", ("p", "m")),
    ("A*x", "A @ x", "A @ x", ("m",)),
    ("x'*A*x", "x' @ A @ x", "x' @ A @ x", ()),
    ("x'*y", "x @ y", "x' @ y", ()),
    ("x*y'", "x @ y.T", "x @ y'", ("n", "m")),
    ("(A*x)'*y", "(A @ x) @ y", "x' @ A' @ y", ()),
    ("A'*A", "A.T @ A", "A' @ A", ("n", "n")),
    ("2*x", "2 * x", "2 * x", ("n",)),        # * with a scalar is a product
    ("x*a", "x * a", "a * x", ("n",)),
    ("a*b", "a * b", "a * b", ()),
    ("x.*y", "x * y", "x * y", ("n",)),
    ("A.*B", "A ⊙ B", "A * B", ("m", "n")),
    ("x./y", "x / y", "x / y", ("n",)),
    ("1./x", "1 / x", "x^-1", ("n",)),
    ("x.^2", "x ** 2", "x^2", ("n",)),
    ("A.^2", "A ^ 2", "A^2", ("m", "n")),
    ("2.^x", "2 ** x", "2^x", ("n",)),
    ("a^2", "a ** 2", "a^2", ()),             # ^ of a scalar: the scalar power
    ("A^2", "matpow(A, 2)", "matpow(A, 2)", ("n", "n")),    # ^ of a matrix: the matrix power
    ("A^3", "matpow(A, 3)", "matpow(A, 3)", ("n", "n")),
    ("A^1", "A @ eye(n)", "A", ("n", "n")),
    ("A^0", "eye(n)", "eye(n)", ("n", "n")),
    ("A^-1", "inv(A)", "inv(A)", ("n", "n")),
    ("A^-2", "matpow(inv(A), 2)", "matpow(inv(A), 2)", ("n", "n")),
    ("x/2", "x / 2", "0.5 * x", ("n",)),
    ("x'", "x.T", "x'", (1, "n")),
    ("vector(2)", "2 * ones(n)", "2 * ones(n)", ("n",)),
    ("matrix(3)", "3 * ones(n, m)", "3 * ones(n, m)", ("n", "m")),
    ("A + matrix(1)", "A + 1", "1 + A", ("m", "n")),
    ("x + vector(a)", "x + a", "x + a", ("n",)),
    ("x'*vector(1)", "x @ ones(n)", "x' @ ones(n)", ()),
    ("eye(n)*x", "eye(n) @ x", "x", ("n",)),
    ("exp(x) - log(y)", "exp(x) - log(y)", "exp(x) - log(y)", ("n",)),
]


def _table_ids(rows):
    return [r[0] for r in rows]


@pytest.mark.parametrize("text, printed, shape", SYNTAX, ids=_table_ids(SYNTAX))
def test_syntax(text, printed, shape):
    e = parse(text)
    assert isinstance(e, E.Expr)
    assert str(e) == printed
    assert e.shape == shape


@pytest.mark.parametrize("text, printed, shape", FUNCTIONS, ids=_table_ids(FUNCTIONS))
def test_functions(text, printed, shape):
    e = parse(text)
    assert str(e) == printed
    assert e.shape == shape


# the rows without the operators the dialects read differently (* / ^, tested below)
SAME_IN_BOTH = [r[0] for r in SYNTAX + FUNCTIONS
                if not any(op in r[0] for op in ("*", "/", "^", "@"))]


@pytest.mark.parametrize("text", SAME_IN_BOTH)
def test_same_in_matlab_dialect_when_no_operator_differs(text):
    assert parse(text, dialect="matlab") is parse(text)


@pytest.mark.parametrize("mtext, dtext, printed, shape", MATLAB, ids=_table_ids(MATLAB))
def test_matlab_dialect(mtext, dtext, printed, shape):
    m = parse(mtext, dialect="matlab")
    assert m is parse(dtext)          # interned nodes: `is` compares structure
    assert m == parse(dtext)
    assert str(m) == printed
    assert m.shape == shape


def test_every_function_of_the_contract_is_in_the_table():
    called = {row[0].split("(")[0] for row in FUNCTIONS}
    assert set(LANGUAGE_FUNCTIONS) <= called, set(LANGUAGE_FUNCTIONS) - called


def test_every_alias_is_in_the_table():
    texts = "".join(row[0] for row in SYNTAX)
    for alias in "·⊙⊗⊘ᵀσ∑":
        assert alias in texts
    for op in ["+", "-", "*", "/", "@", "^", "**", "'", ".T", "[", "("]:
        assert op in texts


# -------------------------------------------------------- shapes in the table

def test_matrix_product_ties_the_inner_dimensions():
    e = parse("A @ B")
    a, b = E.variables(e)
    assert a.shape[1] == b.shape[0]
    assert e.shape == (a.shape[0], b.shape[1])
    assert len({a.shape[0], a.shape[1], b.shape[1]}) == 3


def test_x_at_A_is_the_row_xT_A():
    assert parse("x @ A") is parse("x' @ A")
    assert parse("x @ A") is parse("(A' @ x)'")


def test_x_at_row_matrix_is_the_outer_product():
    """A vector left of a matrix of one row: the outer product x yᵀ (as in the paper)."""
    e = parse("x @ R", shapes={"R": (1, "m")})
    assert e.shape == ("n", "m")


def test_names_are_interned():
    assert parse("x + y") is parse("x+y")
    assert parse("W @ x", shapes={"W": "m,n"}) is parse("W@x")


def test_number_is_exact():
    from fractions import Fraction
    e = parse("0.1")
    assert type(e) is E.Num and e.value == Fraction(1, 10)
    assert parse("1/3 + 1/6") is parse("0.5")
    assert parse("0.1 + 0.2") is parse("0.3")    # no floating-point rounding


def test_dimension_name_used_as_value_is_its_size():
    e = parse("sum(x) / n", shapes={"x": "n"})
    assert e.shape == ()
    assert [v.name for v in E.variables(e)] == ["x"]
    assert any(type(node) is E.Size and node.dim == "n" for node in E.postorder(e))
    # undeclared, n is a variable (a vector by the naming convention)
    assert [v.name for v in E.variables(parse("sum(x) / n"))] == ["x", "n"]


def test_deeply_nested_but_legal_expression_prints():
    """3,999 nested calls are legal (the limit is 4,000 levels): they parse and print."""
    text = "exp(" * 3999 + "x" + ")" * 3999
    e = parse(text)
    assert str(e) == text


# ------------------------------------------------------------------ round trip

# The algebra can drop a constraint the text carried (inv(inv(A)) is A, which no longer
# says that A is square): those rows are round-tripped with the constraint declared.
KEEP_SQUARE = {"inv(inv(A))", "A^1", "A @ eye(n)"}


def _all_rows():
    rows = [(t, "default") for t, _, _ in SYNTAX + FUNCTIONS]
    rows += [(m, "matlab") for m, _, _, _ in MATLAB]
    rows += [(d, "default") for _, d, _, _ in MATLAB]
    rows = [(t, d, {"A": "n,n"} if t in KEEP_SQUARE else None) for t, d in rows]
    rows += [(t, "default", s) for t, s, _ in DECLARED]
    return rows


# expressions with declarations (round-tripped with the same declarations)
DECLARED = [
    ("sum(x) / n", {"x": "n"}, ()),
    ("sum(ones(n))", {"x": "n"}, ()),
    ("tr(eye(n)) * a", {"x": "n"}, ()),
    ("W @ x + b", {"W": "m,n", "b": "m"}, ("m",)),
    ("x + 1", {"x": ()}, ()),
    ("A @ x", {"A": "3,4"}, (3,)),
    ("x'", {"x": 1}, (1, 1)),
    ("Sigma @ x", {"Sigma": "n,n"}, ("n",)),
]


@pytest.mark.parametrize("text, shapes, shape", DECLARED, ids=[r[0] for r in DECLARED])
def test_declared(text, shapes, shape):
    assert parse(text, shapes).shape == shape


@pytest.mark.parametrize("text, dialect, shapes", _all_rows(),
                         ids=[f"{d}:{t}" for t, d, _ in _all_rows()])
def test_round_trip(text, dialect, shapes):
    e = parse(text, shapes, dialect=dialect)
    again = parse(str(e), shapes)
    assert again is e, (str(e), str(again))
    assert again == e


# Expressions whose printed form used to lose their shape or their structure (an
# expanded scalar written as a bare scalar, a sum expanded as one term written as
# separate terms...): they print to text that parses back to the same node, with
# the inferred shapes declared.
TRICKY_PRINTING = [
    ("ones(n) - alpha", "ones(n) - alpha * ones(n)"),
    ("ones(3) - b", "ones(3) - b * ones(3)"),
    ("zeros(m, n) - norm2(A)", "-norm2(A) * ones(m, n)"),
    ("ones(n) + a * b", "ones(n) + (a * b) * ones(n)"),
    ("(a * b) * ones(n)", "(a * b) * ones(n)"),
    ("2 * (a * ones(n))", "2 * (a * ones(n))"),
    ("x + (1 - a)", "x + (1 - a)"),
    ("(1 - x[0]) + x", "(1 - x[0]) + x"),
    ("(b + x) + A", "(b + x) + A"),
    ("-min(a, 2) ** -0.5", "-min(a, 2)^-0.5"),
    ("ones(n) @ -A ^ 2", "-(ones(n)' @ A^2)"),
    ("-(dot(ones(3), x))", "-(ones(3)' @ x)"),
    ("-a / (ones(m, n) * b)", "-(a / b) * ones(m, n)"),
    ("-a ^ -3 ^ -2", "-a^(-1/9)"),          # not a^-1/9, which is (a^-1)/9
    ("x ^ (-1/3)", "x^(-1/3)"),
]


@pytest.mark.parametrize("text, printed", TRICKY_PRINTING, ids=[t for t, _ in TRICKY_PRINTING])
def test_printing_keeps_shape_and_structure(text, printed):
    e = parse(text)
    assert str(e) == printed
    shapes = {v.name: v.shape for v in E.variables(e)}
    assert parse(printed, shapes) is e


def test_parentheses_end_a_chain():
    """(a * b) * ones(n) expands the product a b; a * b * ones(n) expands a and b."""
    grouped = parse("(a * b) * ones(n)")
    assert type(grouped) is E.Expand and str(grouped.arg) == "a * b"
    assert grouped is parse("ones(n) * (a * b)")
    assert parse("a * b * ones(n)") is parse("a * (b * ones(n))")


def test_unicode_keeps_the_shape_of_expanded_scalars():
    from matcalc.printing.text import to_unicode
    assert to_unicode(parse("a * b * ones(n)")) == "ab𝟏"
    assert to_unicode(parse("x + a * b")) == "x + ab"
    assert to_unicode(parse("x' @ A @ x")) == "xᵀAx"
