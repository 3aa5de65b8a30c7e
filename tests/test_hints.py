"""Hints for the classic mistakes: the warnings (``W * x`` with a matrix W, a name whose
shape the naming convention guessed, ``x^T``), did-you-mean, the complete list of
expected tokens, ``ln``; each through the API (``MatcalcWarning``,
``Derivative.warnings``, messages in Python's spelling, no parser frames) and the
command (``matcalc: warning: ...`` on stderr, ``--shape`` in messages, ``--strict``)."""
import traceback
import warnings

import numpy as np
import pytest

import matcalc
from matcalc import MatcalcError, ParseError, ShapeError, evaluate, parse
from matcalc.cli import main
from matcalc.errors import MatcalcWarning

SIZES = (2, 3, 4)


def warned(text, shapes=None, dialect="default") -> list[str]:
    """The warnings ``parse`` issues for ``text``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parse(text, shapes, dialect)
    return [str(w.message) for w in caught if issubclass(w.category, MatcalcWarning)]


def cli(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def rng_values(names_shapes, n, m, seed=0):
    rng = np.random.default_rng(seed)
    dims = {"n": n, "m": m}
    return {k: rng.normal(size=tuple(dims[d] for d in shape))
            for k, shape in names_shapes.items()}


# ------------------------------------------------- * where @ may be meant

STAR_WARNED = [
    # (text, shapes, the product written, the matrix product suggested)
    ("W*x", None, "W * x", "W @ x"),
    ("sum(W*x)", None, "W * x", "W @ x"),
    ("x'*A*x", None, "x' * A * x", "x' @ A @ x"),
    ("2*W*x", None, "W * x", "W @ x"),
    ("W*x/2", None, "W * x", "W @ x"),
    ("x*W", None, "x * W", "x @ W"),
    ("A*B", {"A": "n,n", "B": "n,n"}, "A * B", "A @ B"),
    ("(W + V)*x", None, "(W + V) * x", "(W + V) @ x"),
]


@pytest.mark.parametrize("text, shapes, written, suggested", STAR_WARNED)
def test_star_where_matmul_fits_warns(text, shapes, written, suggested):
    (message,) = warned(text, shapes)
    assert message.startswith(f"{written} multiplies element-wise")
    assert f"for the matrix product write {suggested}" in message
    assert 'dialect="matlab"' in message and "--dialect" not in message
    assert f"{written.replace(' * ', ' .* ')} is element-wise without this warning" in message


@pytest.mark.parametrize("n, m", [(2, 3), (3, 4), (4, 2)])
def test_star_warning_says_what_each_product_computes(n, m):
    """W * x is the broadcast product, as the warning says; the suggestion W @ x is the
    matrix product (both checked by value)."""
    v = rng_values({"W": ("m", "n"), "x": ("n",)}, n, m, seed=n)
    (message,) = warned("W*x")
    assert "broadcasting to a matrix (m×n)" in message
    with pytest.warns(MatcalcWarning):
        assert np.allclose(evaluate("W*x", v), v["W"] * v["x"][None, :])
    with warnings.catch_warnings():
        warnings.simplefilter("error", MatcalcWarning)  # the suggestion is silent
        assert np.allclose(evaluate("W @ x", v), v["W"] @ v["x"])
        assert np.allclose(evaluate("W .* x", v), v["W"] * v["x"][None, :])


def test_star_warning_column_is_the_first_star_between_arrays():
    (message,) = warned("2 * W * x")
    assert message.endswith("(line 1, column 7)")
    (message,) = warned("x' * A * x")
    assert message.endswith("(line 1, column 4)")


@pytest.mark.parametrize("text, shapes", [
    ("x*y", None),                       # two vectors: element-wise (x @ y is a number)
    ("2*W", None), ("a*W", None),        # a scalar times a matrix
    ("A*B", None),                       # equal shapes, inferred m×n: @ would not fit
    ("A*B", {"A": "m,n", "B": "m,n"}),   # declared m×n: @ does not fit
    ("W .* x", None), ("W ⊙ x", None),   # said element-wise
    ("x[:, None] * y[None, :]", None),   # an outer product, which @ also is
    ("eye(n) * S", {"S": "n,n"}),        # a mask
    ("W @ x", None), ("x' @ A @ x", None),
    ("x * W", {"W": "m,n", "x": "n"}),   # x @ W needs x of length m
])
def test_no_star_warning_where_star_is_right(text, shapes):
    assert warned(text, shapes) == []


def test_no_star_warning_in_matlab_dialect():
    assert warned("W*x", dialect="matlab") == []
    assert parse("W*x", dialect="matlab").shape == ("m",)


@pytest.mark.parametrize("text, left, right", [
    ("x'*x", "x'", "x"), ("x'*y", "x'", "y"), ("u'*v + 1", "u'", "v"),
])
def test_star_refused_says_it_is_element_wise(text, left, right):
    with pytest.raises(ShapeError) as info:
        parse(text)
    msg = str(info.value)
    assert "* multiplies element-wise" in msg
    assert f"for the matrix product write {left} @ {right}" in msg
    assert 'dialect="matlab"' in msg and "--dialect" not in msg
    # and the suggestions are right
    for n in SIZES:
        v = rng_values({"x": ("n",), "y": ("n",), "u": ("n",), "v": ("n",)}, n, n)
        fixed = text.replace("*", "@")
        expected = {"x'*x": v["x"] @ v["x"], "x'*y": v["x"] @ v["y"],
                    "u'*v + 1": v["u"] @ v["v"] + 1}[text]
        assert np.allclose(evaluate(fixed, v), expected)
        assert np.allclose(evaluate(text, v, dialect="matlab"), expected)


def test_star_refused_on_the_command_line_names_the_option(capsys):
    status, out, err = cli(capsys, "parse", "x'*x")
    assert status == 2 and out == ""
    assert "or use --dialect matlab, where * is the matrix product" in err
    assert "dialect=" not in err


# ---------------------------------------------- the naming convention

@pytest.mark.parametrize("text, name, kind, python", [
    ("mu*x", "mu", "scalar", 'shapes={"mu": ("n",)}'),
    ("sum(hidden)", "hidden", "vector", 'shapes={"hidden": ()}'),
    ("tr(Sigma)", "Sigma", "matrix", 'shapes={"Sigma": ()}'),
    ("beta1 + x", "beta1", "scalar", 'shapes={"beta1": ("n",)}'),
    ("cost*2", "cost", "scalar", 'shapes={"cost": ("n",)}'),
])
def test_a_word_typed_by_the_convention_warns(text, name, kind, python):
    (message,) = warned(text)
    assert message == (f"{name} is taken as a {kind} by the naming convention; declare "
                       f"its shape if it is not ({python}) (line 1, column "
                       f"{text.index(name) + 1})")


@pytest.mark.parametrize("text, shapes", [
    ("W1 @ x_i + h_prev", None),       # a letter and a suffix: the letter is the convention
    ("X_train @ w", None), ("α * x + λ", None),
    ("mu * x", {"mu": ("n",)}),        # declared
    ("a * x + b", None),
])
def test_letters_and_declared_names_do_not_warn(text, shapes):
    assert warned(text, shapes) == []


def test_convention_warning_is_once_per_name_and_declaring_silences_it():
    assert len(warned("mu*x + mu")) == 1
    for n in SIZES:
        mu, x = np.arange(1.0, n + 1), np.linspace(-1, 1, n)
        with warnings.catch_warnings():
            warnings.simplefilter("error", MatcalcWarning)
            got = evaluate("mu * x", {"mu": mu, "x": x}, shapes={"mu": ("n",)})
        assert np.allclose(got, mu * x)


def test_warnings_seen_before_an_error_are_reported(capsys):
    status, out, err = cli(capsys, "parse", "mu @ x")
    assert status == 2
    first, second = err.splitlines()[:2]
    assert first.startswith("matcalc: warning: mu is taken as a scalar")
    assert "--shape mu=n" in first
    assert second.startswith("matcalc: shape error: cannot multiply (@) mu: scalar")


# ------------------------------------------------------------------ x^T

@pytest.mark.parametrize("text, dialect, base, name", [
    ("x^T", "default", "x", "T"), ("sum(x^t)", "default", "x", "t"),
    ("A^T @ x", "matlab", "A", "T"), ("(W @ x)^T", "default", "(W @ x)", "T"),
])
def test_caret_t_is_an_error_when_t_is_not_declared(text, dialect, base, name):
    with pytest.raises(ParseError) as info:
        parse(text, dialect=dialect)
    msg = str(info.value)
    assert f"{base}^{name} is a power by {name}, not a transpose" in msg
    assert f"for the transpose write {base}' or {base}.T" in msg
    assert info.value.pos == (1, text.index("^") + 2)


@pytest.mark.parametrize("n", SIZES)
def test_caret_t_declared_is_a_power_with_a_warning(n):
    shapes = {"T": ()}
    (message,) = warned("x^T", shapes)
    assert message.startswith("x^T is a power by the declared T, not a transpose")
    x = np.linspace(0.5, 2, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MatcalcWarning)
        assert np.allclose(evaluate("x^T", {"x": x, "T": 3.0}, shapes), x ** 3)
    # a declared dimension T is a power by its size
    (message,) = warned("x^T", {"X": "T,n"})
    assert "power by the declared T" in message


@pytest.mark.parametrize("text, shapes, says", [
    ("A^-1 @ y", None, "A^-1 raises each entry to the power -1: for the matrix inverse "
                       "write inv(A)"),
    ("S^-2", {"S": "n,n"}, "S^-2 raises each entry to the power -2: for the matrix power "
                           "write matpow(inv(S), 2)"),
])
def test_caret_of_a_square_matrix_warns(text, shapes, says):
    (message,) = warned(text, shapes)
    assert message.startswith(says) and 'dialect="matlab"' in message
    for n in SIZES:  # what it computes, and what the suggestion computes
        A = np.random.default_rng(n).normal(size=(n, n)) + n * np.eye(n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MatcalcWarning)
            assert np.allclose(evaluate("A^-1", {"A": A}), 1 / A)
        assert np.allclose(evaluate("inv(A)", {"A": A}), np.linalg.inv(A))
        assert np.allclose(evaluate("A^-1", {"A": A}, dialect="matlab"), np.linalg.inv(A))


@pytest.mark.parametrize("text, shapes", [
    ("x^2", None), ("W^2", {"W": "m,n"}), ("A.^2", None), ("A**2", None), ("A^1", None),
    ("A^2", None), ("sum(X^2)", None), ("S^3", {"S": "n,n"}),
])
def test_no_caret_warning_where_no_matrix_power_fits(text, shapes):
    assert warned(text, shapes) == []


def test_function_without_parentheses():
    with pytest.raises(ParseError, match="unexpected 'det' after the function log: its "
                                         r"argument goes in parentheses, log\(\.\.\.\)"):
        parse("log det(X)")


# ---------------------------------------------------------- did you mean

@pytest.mark.parametrize("text, hint", [
    ("tnh(x)", "did you mean tanh?"),
    ("sigmod(x)", "did you mean sigmoid?"),
    ("sofmax(x)", "did you mean softmax?"),
    ("inverse(A)", "did you mean inv?"),
    ("Exp(x)", "did you mean exp?"),
    ("sigma(x)", "did you mean sigmoid or sign?"),
    ("transpose(x)", "NumPy's np.transpose(...) is known"),
    ("outer(x, y)", "NumPy's np.outer(...) is known"),
])
def test_unknown_function_did_you_mean(text, hint):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert hint in str(info.value)
    assert "(known: abs, cos" in str(info.value)


def test_no_far_fetched_suggestion():
    with pytest.raises(ParseError) as info:
        parse("arctan(x)")
    assert "did you mean" not in str(info.value)  # not tan: arctan is not known


def test_unknown_keyword_did_you_mean():
    with pytest.raises(ParseError, match=r"unknown keyword argument 'axs'; did you mean "
                                         r"axis\? \(known: axis, keepdims\)"):
        parse("sum(X, axs=0)")


@pytest.mark.parametrize("wrt, hint", [("xx", "x"), ("X", "x"), ("yy", "y")])
def test_unknown_wrt_did_you_mean(wrt, hint):
    with pytest.raises(matcalc.DiffError) as info:
        matcalc.diff("sum(x * y)", wrt)
    msg = str(info.value)
    assert f"did you mean {hint}?" in msg
    assert f'shapes={{"{wrt}": ("n",)}}' in msg and "--shape" not in msg


def test_unknown_wrt_on_the_command_line(capsys):
    status, out, err = cli(capsys, "diff", "sum(x * y)", "--wrt", "xx")
    assert status == 2 and out == ""
    assert "did you mean x?" in err and "--shape xx=n" in err and "shapes=" not in err


@pytest.mark.parametrize("n", SIZES)
def test_shape_declared_for_a_wrt_not_in_the_expression(capsys, n):
    status, out, err = cli(capsys, "diff", "sum(x)", "--wrt", "y", "--shape", "y=n")
    assert status == 0 and err == ""
    assert out.startswith("∂f/∂y = 𝟎ᵀ")
    d = matcalc.diff("sum(x)", "y", shapes={"y": "n"})
    got = d.evaluate({"x": np.ones(n), "y": np.ones(n)})
    assert got.shape == (n,) and not got.any()


# ------------------------------------------------------------- ln

@pytest.mark.parametrize("n", SIZES)
def test_ln_is_log(n):
    x = np.linspace(0.5, 3, n)
    assert parse("ln(x)") is parse("log(x)")
    assert np.allclose(evaluate("ln(x)", {"x": x}), np.log(x))
    g = matcalc.diff("sum(ln(x))", "x").evaluate({"x": x})
    h = 1e-6
    fd = [(np.log(x + h * e).sum() - np.log(x - h * e).sum()) / (2 * h) for e in np.eye(n)]
    assert np.allclose(g, fd, atol=1e-6)


# ------------------------------------------------ the expected tokens

@pytest.mark.parametrize("text, expected", [
    ("((x)", "an operator (+ - * / @ ^ ' .* ./ .^ ⊙ ⊘ ·)"),
    ("W x", "an operator (+ - * / @ ^ ' .* ./ .^ ⊙ ⊘ ·)"),
    ("sum(x y)", "an operator (+ - * / @ ^ ' .* ./ .^ ⊙ ⊘ ·)"),
    ("x *", "a name, a number, '(', '[' or a sign (+ -)"),
    ("sum(x, keepdims=", "None, True, False"),
    ("W x", "or the end of the input"),
])
def test_expected_lists_every_token(text, expected):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert expected in str(info.value).split("\n")[0]


# ------------------------------------------ the API speaks Python

@pytest.mark.parametrize("text", ["sum(tnh(x))", "sum(x", "W x", "x'*x", "inv(x)", "x^T",
                                  "sum(X, axs=0)", "np.sun(x)", "x @ y @"])
def test_api_errors_have_no_parser_frames(text):
    with pytest.raises(MatcalcError) as info:
        parse(text)
    err = info.value
    frames = traceback.extract_tb(err.__traceback__)
    assert all("lark" not in f.filename for f in frames)
    assert len(frames) <= 3  # this test's call, parse, _parse
    assert err.__context__ is None and err.__cause__ is None


def test_diff_keeps_and_issues_the_warnings():
    with pytest.warns(MatcalcWarning, match="W \\* x multiplies element-wise"):
        d = matcalc.diff("sum(W*x)", "x")
    assert len(d.warnings) == 1 and d.warnings[0].startswith("W * x multiplies")
    with pytest.warns(MatcalcWarning):
        assert matcalc.diff("mu * x", "x", order=2).warnings[0].startswith("mu is taken")
    with warnings.catch_warnings():
        warnings.simplefilter("error", MatcalcWarning)
        assert matcalc.diff(parse("sum(W @ x)"), "x").warnings == ()


def test_a_warning_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        matcalc.diff("sum(W*x)", "x")
    assert caught[0].filename == __file__


def test_warnings_can_be_made_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error", MatcalcWarning)
        with pytest.raises(MatcalcWarning):
            parse("W*x")


# ------------------------------------------------------ the command

def test_cli_prints_each_warning_on_one_line(capsys):
    status, out, err = cli(capsys, "diff", "sum(W*x) + mu", "--wrt", "x")
    assert status == 0
    assert out.startswith("∂f/∂x = ")
    lines = err.splitlines()
    assert len(lines) == 2 and all(line.startswith("matcalc: warning: ") for line in lines)
    assert "for the matrix product write W @ x" in lines[0]
    assert "--dialect matlab" in lines[0] and "dialect=" not in lines[0]
    assert "(--shape mu=n)" in lines[1] and "shapes=" not in lines[1]


def test_cli_strict_makes_warnings_errors(capsys):
    status, out, err = cli(capsys, "parse", "W*x", "--strict")
    assert status == 2 and out == ""
    assert err.startswith("matcalc: warning: W * x multiplies element-wise")
    assert cli(capsys, "parse", "W@x", "--strict")[0] == 0


def test_cli_warns_once_when_the_text_is_read_twice(capsys):
    status, out, err = cli(capsys, "eval", "sum(W*x)", "--value", "W=1,2;3,4",
                           "--value", "x=1,1")
    assert status == 0 and float(out) == 10.0
    assert len(err.splitlines()) == 1


def test_no_warning_no_stderr(capsys):
    status, out, err = cli(capsys, "diff", "sum(W@x)", "--wrt", "x")
    assert status == 0 and err == ""


def test_value_for_a_misspelt_variable_is_refused(capsys):
    for command in (["eval", "sum(x*y)"], ["diff", "sum(x*y)", "--wrt", "x"]):
        status, out, err = cli(capsys, *command, "--value", "x=1,2", "--value", "yy=3,4")
        assert status == 2 and out == ""
        assert err == ("matcalc: usage error: --value yy: yy is not a variable of the "
                       "expression (its variables are x, y); did you mean y?\n")


def test_shape_of_a_name_not_in_the_expression_warns(capsys):
    for command in (["parse", "sum(x*y)"], ["eval", "sum(x*y)", "--value", "x=1,2",
                                            "--value", "y=3,4"],
                    ["diff", "sum(x*y)", "--wrt", "x"]):
        status, out, err = cli(capsys, *command, "--shape", "yy=n")
        assert status == 0 and out
        assert err == ("matcalc: warning: --shape yy: yy is not in the expression, so its "
                       "declaration is not used; did you mean y?\n")
    # a declared variable differentiated by is used (its derivative is zero)
    status, out, err = cli(capsys, "diff", "sum(x)", "--wrt", "y", "--shape", "y=n")
    assert status == 0 and err == "" and out.startswith("∂f/∂y = 𝟎ᵀ")


@pytest.mark.parametrize("name", ["softmax", "logsumexp"])
def test_axis_wise_function_of_a_matrix_suggests_the_axis(name):
    with pytest.raises(ShapeError, match=rf"; of a matrix, give the axis: {name}\(X, axis=1\) "
                                         r"for each row, axis=0 for each column"):
        parse(f"{name}(X)")
    X = np.arange(6.0).reshape(2, 3)  # the suggestion parses and is the row-wise form
    assert evaluate(f"{name}(X, axis=1)", {"X": X}).shape in ((2, 3), (2,))


@pytest.mark.parametrize("text, name, kind", [
    ("sum(x)/N", "N", "matrix"), ("norm2(X@w - y)^2 / N", "N", "matrix"),
    ("x'@y/n", "n", "vector"), ("2 * sum(x) / N", "N", "matrix"),
])
def test_a_scalar_divided_by_a_guessed_array_warns(text, name, kind):
    (message,) = warned(text)
    assert f"divides a scalar by {name}, which the naming convention takes as a {kind}" \
        in message and f'shapes={{"{name}": ()}}' in message
    assert parse(text).rank == (2 if kind == "matrix" else 1)   # what was computed
    assert warned(text, {name: ()}) == [] and parse(text, {name: ()}).rank == 0


@pytest.mark.parametrize("text", ["1/x", "b/x", "x/y", "sum(x)/2", "mean(x)/sum(y)",
                                  "sum(x)/N"])
def test_no_division_warning_where_an_array_is_meant_or_declared(text):
    assert warned(text, {"N": ()} if "N" in text else None) == []
