"""Shape inference: the naming convention, declarations, unification of the
dimensions across operators and functions, integer dimensions, and conflicts."""
import re

import pytest

from matcalc import MatcalcError, ShapeError, UsageError, parse
from matcalc.core import expr as E
from matcalc.core import shapes as S


def shapes_of(e):
    """{variable name: shape} of an expression."""
    return {v.name: v.shape for v in E.variables(e)}


def rank_of(name, declared=None):
    return len(parse(name, declared).shape)


# ------------------------------------------------------------- the convention

@pytest.mark.parametrize("name", ["a", "b", "c", "d", "e", "f", "g", "a1", "b_2", "cost",
                                  "eps", "gamma2"])
def test_lower_case_a_to_g_is_a_scalar(name):
    assert rank_of(name) == 0


@pytest.mark.parametrize("name", ["h", "i", "j", "k", "n", "p", "q", "s", "t", "u", "v", "w",
                                  "x", "y", "z", "x1", "x_2", "h_prev", "weights"])
def test_lower_case_h_to_z_is_a_vector(name):
    assert rank_of(name) == 1


@pytest.mark.parametrize("name", ["A", "B", "W", "X", "Z", "W1", "X_train", "Hidden"])
def test_upper_case_is_a_matrix(name):
    assert rank_of(name) == 2


@pytest.mark.parametrize("name", ["alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta",
                                  "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau",
                                  "phi", "chi", "psi", "omega", "α", "β", "λ", "μ", "ρ"])
def test_greek_names_are_scalars(name):
    # mu, nu, xi, pi, rho, sigma, ... would be vectors by their first letter
    assert rank_of(name) == 0


@pytest.mark.parametrize("name", ["Sigma", "Lambda", "Σ", "Λ"])
def test_upper_case_greek_names_are_matrices(name):
    """An upper-case name is a matrix, a Greek one too (a covariance Σ)."""
    assert rank_of(name) == 2


def test_convention_in_an_expression():
    e = parse("alpha * W @ x + b")
    assert shapes_of(e) == {"alpha": (), "W": ("m", "n"), "x": ("n",), "b": ()}
    assert e.shape == ("m",)


# ------------------------------------------------------------ declarations

@pytest.mark.parametrize("name, spec, shape", [
    ("x", (), ()),
    ("x", "scalar", ()),
    ("x", "()", ()),
    ("a", ("n",), ("n",)),
    ("a", "n", ("n",)),
    ("a", 3, (3,)),
    ("a", "3", (3,)),
    ("a", ["k"], ("k",)),
    ("A", "scalar", ()),
    ("A", "n", ("n",)),
    ("x", "m,n", ("m", "n")),
    ("x", " m , n ", ("m", "n")),
    ("x", "mxn", ("m", "n")),
    ("x", "m×n", ("m", "n")),
    ("x", "3,4", (3, 4)),
    ("x", "3x4", (3, 4)),
    ("x", ("m", "n"), ("m", "n")),
    ("x", (3, 4), (3, 4)),
    ("x", ("m", 4), ("m", 4)),
    ("x", "nx,ny", ("nx", "ny")),        # a name with an x in it needs the comma
    ("alpha", "n,n", ("n", "n")),
])
def test_declaration_wins_over_the_convention(name, spec, shape):
    e = parse(name, {name: spec})
    assert e.shape == shape


def test_declarations_of_several_names():
    e = parse("W @ x + b", {"W": "m,n", "x": "n", "b": "m"})
    assert shapes_of(e) == {"W": ("m", "n"), "x": ("n",), "b": ("m",)}
    assert e.shape == ("m",)


def test_declared_dimension_names_are_not_reused_for_fresh_ones():
    e = parse("x + y", {"z": "n"})          # n is declared (by z), so x, y get another
    assert shapes_of(e) == {"x": ("m",), "y": ("m",)}


def test_fresh_dimension_names_avoid_variable_names():
    e = parse("n @ m")                       # two vectors called n and m
    (d1,), (d2,) = shapes_of(e).values()
    assert d1 == d2 and d1 not in ("n", "m")


def test_cli_shape_forms(capsys):
    from matcalc.cli import main
    assert main(["parse", "W @ x + b", "--shape", "W=3,4", "--shape", "x=n",
                 "--shape", "b=scalar"]) == 2    # x declared n but W says 4: a conflict
    err = capsys.readouterr().err
    assert "shape error" in err and "4" in err and "(n)" in err
    for spec, shape in [("W=m,n", "matrix (m×n)"), ("W=mxn", "matrix (m×n)"),
                        ("W=3,4", "matrix (3×4)"), ("W=3x4", "matrix (3×4)"),
                        ("W=scalar", "scalar"), ("W=n", "vector (n)")]:
        assert main(["parse", "W", "--shape", spec]) == 0
        out = capsys.readouterr().out
        assert f"  W: {shape}" in out.splitlines()


# ---------------------------------------------------------------- unification

@pytest.mark.parametrize("text, expected", [
    ("w * x", {"w": ("n",), "x": ("n",)}),
    ("x + y", {"x": ("n",), "y": ("n",)}),
    ("x - y / z", {"x": ("n",), "y": ("n",), "z": ("n",)}),
    ("W @ x", {"W": ("m", "n"), "x": ("n",)}),
    ("x' @ A @ x", {"x": ("n",), "A": ("n", "n")}),
    ("W @ x + y", {"W": ("m", "n"), "x": ("n",), "y": ("m",)}),
    ("x @ y", {"x": ("n",), "y": ("n",)}),
    ("x @ y'", {"x": ("n",), "y": ("m",)}),
    ("A' @ x", {"A": ("m", "n"), "x": ("m",)}),
    ("x @ A @ y", {"x": ("m",), "A": ("m", "n"), "y": ("n",)}),
    ("det(W) + sum(W @ x)", {"W": ("n", "n"), "x": ("n",)}),
    ("tr(A)", {"A": ("n", "n")}),
    ("inv(A) @ x", {"A": ("n", "n"), "x": ("n",)}),
    ("logdet(X)", {"X": ("n", "n")}),
    ("diag(x) @ A", {"x": ("m",), "A": ("m", "n")}),
    ("diag(A) + x", {"A": ("n", "n"), "x": ("n",)}),
    ("max(x, y) + dot(y, z)", {"x": ("n",), "y": ("n",), "z": ("n",)}),
    ("softmax(W @ x) + b", {"W": ("m", "n"), "x": ("n",), "b": ()}),
    ("sum(W * V)", {"W": ("m", "n"), "V": ("m", "n")}),
    ("W + x", {"W": ("m", "n"), "x": ("n",)}),      # x broadcast as the rows of W
])
def test_unification(text, expected):
    assert shapes_of(parse(text)) == expected


def test_unification_through_a_chain_of_products():
    e = parse("X @ Y @ Z")
    x, y, z = (v.shape for v in E.variables(e))
    assert x[1] == y[0] and y[1] == z[0]
    assert e.shape == (x[0], z[1])
    assert len({x[0], x[1], y[1], z[1]}) == 4          # nothing else is tied


def test_unification_through_transposes():
    e = parse("A' @ B")
    a, b = (v.shape for v in E.variables(e))
    assert a[0] == b[0] and a[1] != b[1]
    assert e.shape == (a[1], b[1])
    e = parse("(A @ B)' + C")
    shp = shapes_of(e)
    assert shp["C"] == (shp["B"][1], shp["A"][0])


def test_tr_of_a_product_ties_both_ends():
    s = shapes_of(parse("tr(A @ B)"))
    assert s["A"] == (s["B"][1], s["B"][0])


def test_unification_with_a_declared_dimension():
    e = parse("x' @ A @ y", {"A": "m,n"})
    assert shapes_of(e) == {"x": ("m",), "A": ("m", "n"), "y": ("n",)}
    e = parse("W @ x + y", {"y": "k"})
    assert shapes_of(e) == {"W": ("k", "n"), "x": ("n",), "y": ("k",)}


@pytest.mark.parametrize("text, declared, expected", [
    ("[a, b] + x", None, {"a": (), "b": (), "x": (2,)}),
    ("x + ones(3)", None, {"x": (3,)}),
    ("A @ ones(4)", None, {"A": ("n", 4)}),
    ("A @ x", {"A": "3,4"}, {"A": (3, 4), "x": (4,)}),
    ("x' @ A @ x", {"x": 3}, {"x": (3,), "A": (3, 3)}),
    ("eye(5) @ x", None, {"x": (5,)}),
    ("zeros(2, 3) + W", None, {"W": (2, 3)}),
    ("eye(n) @ x", None, {"x": ("n",)}),     # a dimension name as the size
    ("eye(k) @ x", None, {"x": ("k",)}),
])
def test_integer_and_named_dimensions(text, declared, expected):
    assert shapes_of(parse(text, declared)) == expected


def test_vector_of_scalars_has_an_integer_length():
    assert parse("[a, b, c]").shape == (3,)
    assert parse("[a, b, c] @ [1, 2, 3]").shape == ()


# ------------------------------------------------------------------ conflicts

def _conflict(text, declared=None, dialect="default"):
    with pytest.raises(ShapeError) as info:
        parse(text, declared, dialect=dialect)
    return str(info.value)


def test_declared_n_vs_m_in_add():
    msg = _conflict("x + y", {"x": "n", "y": "m"})
    assert "vector (n)" in msg and "vector (m)" in msg
    assert "line 1, column 3" in msg and msg.splitlines()[-1] == "    ^"


def test_declared_n_vs_m_in_elementwise_product():
    msg = _conflict("x * y", {"x": "n", "y": "m"})
    assert "vector (n)" in msg and "vector (m)" in msg


def test_integer_dimensions_conflict():
    msg = _conflict("x + ones(4)", {"x": 3})
    assert "vector (3)" in msg and "vector (4)" in msg
    msg = _conflict("x + ones(3)", {"x": "n"})
    assert "vector (n)" in msg and "vector (3)" in msg


def test_inner_dimensions_in_matmul():
    msg = _conflict("W @ x", {"W": "m,n", "x": "m"})
    assert "matrix (m×n)" in msg and "vector (m)" in msg
    assert "inner dimensions n and m differ" in msg
    assert "line 1, column 3" in msg
    msg = _conflict("A @ B", {"A": "2,3", "B": "4,5"})
    assert "matrix (2×3)" in msg and "matrix (4×5)" in msg and "3 and 4" in msg


def test_inner_dimensions_through_unification():
    """x is tied to n by the first product, then used where m is needed."""
    msg = _conflict("x' @ A @ x", {"A": "m,n"})      # x'A is 1×n, x has length m
    assert "row vector (1×n)" in msg and "vector (m)" in msg and "column 8" in msg
    msg = _conflict("W @ x + y", {"W": "m,n", "y": "n"})
    assert "vector (m)" in msg and "vector (n)" in msg and "column 7" in msg


@pytest.mark.parametrize("fn", ["det", "inv", "tr", "trace", "logdet"])
def test_non_square_matrix(fn):
    msg = _conflict(f"{fn}(A)", {"A": "m,n"})
    assert "square matrix" in msg and "matrix (m×n)" in msg
    msg = _conflict(f"{fn}(A)", {"A": "3,4"})
    assert "matrix (3×4)" in msg


def test_non_square_diag_of_a_matrix():
    assert "matrix (2×3)" in _conflict("diag(A)", {"A": "2,3"})


@pytest.mark.parametrize("fn", ["softmax", "logsumexp"])
def test_vector_expected(fn):
    msg = _conflict(f"{fn}(A)")
    assert "needs a vector" in msg and "matrix (" in msg
    msg = _conflict(f"{fn}(a)")
    assert "needs a vector" in msg and "scalar" in msg


def test_matrix_power_of_a_vector_in_matlab():
    msg = _conflict("x^2", dialect="matlab")
    assert "square matrix" in msg and "vector (n)" in msg


@pytest.mark.parametrize("text", ["a @ x", "x @ a", "2 @ A", "A @ 2"])
def test_scalar_in_matmul(text):
    msg = _conflict(text)
    assert "scalar" in msg and ("vector (n)" in msg or "matrix (" in msg)
    assert "use * to scale" in msg


def test_row_vector_plus_column_vector():
    msg = _conflict("x' + y")
    assert "row vector (1×n)" in msg and "vector (n)" in msg


def test_vector_plus_row_vector_is_refused():
    """A vector (a column) and a row vector do not combine element-wise: which one is
    meant to stretch is not clear. x + y' + A is refused at x + y'."""
    msg = _conflict("x + y' + A")
    assert "vector (n)" in msg and "row vector (1×n)" in msg


def test_a_row_vector_broadcasts_over_a_matrix_as_numpy():
    """A 1×n row stretches over the rows of a matrix of unknown size, as in NumPy:
    x + A + y' is m×n (A is not made a single row)."""
    for text in ["x + A + y'", "A + x + y'", "(x + A) * y'"]:
        e = parse(text)
        assert len(e.shape) == 2 and e.shape[0] != 1, (text, e.shape)


def test_vector_broadcast_needs_matching_columns():
    msg = _conflict("x + A", {"x": "m", "A": "m,n"})
    assert "vector (m)" in msg and "matrix (m×n)" in msg


def test_dot_needs_two_vectors():
    msg = _conflict("dot(A, y)")
    assert "matrix (" in msg and "vector (" in msg
    msg = _conflict("dot(x, y)", {"x": "n", "y": "m"})
    assert "(1×n)" in msg and "vector (m)" in msg


def test_max_of_different_lengths():
    msg = _conflict("max(x, y)", {"x": "n", "y": "m"})
    assert "vector (n)" in msg and "vector (m)" in msg


def test_vector_literal_of_vectors():
    msg = _conflict("[x, y]")
    assert "entry 1" in msg and "scalar" in msg and "vector (n)" in msg


def test_index_of_a_scalar_or_out_of_range():
    assert "too many indices (1) for a scalar" in _conflict("a[0]")
    msg = _conflict("x[3]", {"x": 3})
    assert "index 3" in msg and "length 3" in msg


def test_power_with_a_vector_exponent_of_a_matrix():
    msg = _conflict("A ^ x")
    assert "matrix (" in msg and "vector (" in msg


def test_no_unknown_dimension_leaks_into_a_message():
    """Messages name dimensions as the user would (n, m), never the internal ?1."""
    for text in ["x + A' + y'", "W @ x + y @ W", "tr(x)", "x @ A + A @ x"]:
        try:
            parse(text)
        except MatcalcError as err:
            assert not re.search(r"\?\d", str(err)), str(err)


# ------------------------------------------------------------- the helpers

def test_shape_helpers():
    assert S.shape_str(()) == "scalar"
    assert S.describe(("n",)) == "vector (n)"
    assert S.describe((1, "n")) == "row vector (1×n)"
    assert S.describe(("m", 3)) == "matrix (m×3)"
    assert S.parse_shape_spec("mxn") == ("m", "n")
    assert S.parse_shape_spec("3,4") == (3, 4)
    assert S.parse_shape_spec("scalar") == ()
    assert S.parse_shape_spec(5) == (5,)


@pytest.mark.parametrize("spec", ["0", "n-1", "1,2,3", "m,0", -3, 1.5, None, True, "a b"])
def test_bad_declarations(spec):
    with pytest.raises(UsageError):
        parse("x", {"x": spec})


def test_bad_declared_name():
    with pytest.raises(UsageError, match="bad variable name"):
        parse("x", {"1x": "n"})
