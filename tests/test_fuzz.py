"""Fuzzing the parser with Hypothesis.

1. Strings made of the grammar's tokens (names, numbers, operators, brackets, function
   names, Unicode aliases) in any order, and strings of arbitrary characters: ``parse``
   returns an Expr or raises a MatcalcError, nothing else (no RecursionError, no
   Lark exception, no TypeError...), in both dialects; an error's position is inside
   the text and its message prints.
2. Well-formed random expressions, in both dialects: what parses prints to text (the
   default dialect) that parses back to an expression of the same shape and the same
   value (NumPy evaluation).
"""
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from matcalc import EvalError, Expr, MatcalcError, evaluate, parse
from matcalc.core import expr as E
from matcalc.ops import ALIASES, CONSTANTS, REGISTRY as FUNCTIONS, SUGAR

NAMES = ["a", "b", "x", "y", "z", "n", "m", "A", "B", "W", "X", "alpha", "α", "λ", "x1",
         "W_2", "Sigma", "foo", "e", "T"]
NUMBERS = ["0", "1", "2", "3", "0.5", "1e-3", ".5", "3.", "2E+2", "1.5e2", "10"]
OPERATORS = ["+", "-", "*", "/", "@", "^", "**", "'", ".T", ".*", "./", ".^", "·", "⊙", "⊗",
             "⊘", "ᵀ", "−", ",", "(", ")", "[", "]", ".", "[0]", "[1]"]
FUNCTION_NAMES = sorted(set(FUNCTIONS) | set(ALIASES) | set(SUGAR) | set(CONSTANTS)
                        | {"vector", "matrix", "norm", "trace", "Exp"})
TOKENS = NAMES + NUMBERS + OPERATORS + [f + "(" for f in FUNCTION_NAMES] + FUNCTION_NAMES
SPACE = st.sampled_from(["", "", " ", "  ", "\t", "\n"])

FUZZ = settings(max_examples=2000, deadline=1000,
                suppress_health_check=[HealthCheck.too_slow])


def check_parse(text, dialect):
    """parse(text) is an Expr of rank 0-2 or a MatcalcError with a sensible position."""
    try:
        e = parse(text, dialect=dialect)
    except MatcalcError as err:
        msg = str(err)
        assert msg
        if err.pos is not None:
            line, col = err.pos
            lines = text.split("\n")
            assert 1 <= line <= len(lines), (err.pos, text)
            assert 1 <= col <= len(lines[line - 1]) + 1, (err.pos, text)
            assert msg.split("\n")[-1].strip() == "^"
        return None
    assert isinstance(e, Expr)
    assert len(e.shape) <= 2
    assert isinstance(str(e), str)
    return e


@st.composite
def token_strings(draw):
    tokens = draw(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=25))
    return "".join(t + draw(SPACE) for t in tokens)


@FUZZ
@given(token_strings(), st.sampled_from(["default", "matlab"]))
def test_token_soup(text, dialect):
    check_parse(text, dialect)


@settings(max_examples=1500, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40), st.sampled_from(["default", "matlab"]))
def test_random_characters(text, dialect):
    check_parse(text, dialect)


@settings(max_examples=1000, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="xAa1(+)*'[],^@.T- sin", max_size=60))
def test_random_characters_from_the_grammar(text):
    check_parse(text, "default")


# ------------------------------------------------------- well-formed expressions

LEAVES = ["a", "b", "x", "y", "A", "B", "alpha", "2", "0.5", "3", "ones(n)", "eye(n)",
          "zeros(m, n)", "ones(3)", "x[0]", "[a, b]"]
UNARY = ["exp", "log", "sin", "cos", "tanh", "sqrt", "abs", "sign", "sigmoid", "relu",
         "softplus", "step", "sum", "mean", "norm1", "norm2", "tr", "det", "logdet", "inv",
         "diag", "softmax", "logsumexp", "σ", "∑", "trace", "norm"]
BINARY_FN = ["max", "min", "dot"]
TICKS = ["'", ".T", "ᵀ"]
BINARY_OP = ["+", "-", "*", "/", "@", "^", "**", "·", "⊙", "⊘"]


@st.composite
def expressions(draw, depth=4):
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(LEAVES))
    kind = draw(st.sampled_from(["op", "op", "unary", "binary", "neg", "transpose",
                                 "paren", "veclit"]))
    sub = lambda: draw(expressions(depth - 1))  # noqa: E731
    if kind == "op":
        return f"{sub()} {draw(st.sampled_from(BINARY_OP))} {sub()}"
    if kind == "unary":
        return f"{draw(st.sampled_from(UNARY))}({sub()})"
    if kind == "binary":
        return f"{draw(st.sampled_from(BINARY_FN))}({sub()}, {sub()})"
    if kind == "neg":
        return f"-{sub()}"
    if kind == "transpose":
        return "(" + sub() + ")" + draw(st.sampled_from(TICKS))
    if kind == "veclit":
        return f"[{sub()}, {sub()}]"
    return f"({sub()})"


def _values(e, rng):
    """Concrete sizes for the symbolic dimensions and random positive values."""
    sizes = {}
    for d in E.dims_of(e):
        if isinstance(d, str):
            sizes[d] = 2 + len(sizes) % 3
    values = {}
    for v in E.variables(e):
        shape = tuple(d if isinstance(d, int) else sizes[d] for d in v.shape)
        values[v.name] = rng.uniform(0.5, 1.5, size=shape)
    return values


@settings(max_examples=500, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), st.integers(0, 2**32 - 1), st.sampled_from(["default", "matlab"]))
def test_printed_form_means_the_same(text, seed, dialect):
    e = check_parse(text, dialect)
    assume(e is not None)
    shapes = {v.name: v.shape for v in E.variables(e)}
    for i, d in enumerate(E.dims_of(e)):       # declare every dimension (for n as a size)
        shapes[f"dim_{i}"] = (d,)
    again = parse(str(e), shapes)
    assert again.shape == e.shape, (text, str(e))
    values = _values(e, np.random.default_rng(seed))
    try:
        want = evaluate(e, values)
    except EvalError:                          # a dimension no value gives (sum(ones(n)))
        return
    with np.errstate(all="ignore"):
        got = evaluate(again, values)
    assume(np.all(np.isfinite(want)))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9, err_msg=f"{text} -> {e}")
