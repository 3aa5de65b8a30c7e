"""Property test for batched expressions: random well-shaped expressions with axis-wise
reductions (``axis=0|1``, ``keepdims=True``), row- and column-wise softmax, indexing
and slices, ``x[:, None]`` and ``x[None, :]``, broadcasting of size-1 dimensions and
NumPy spellings (``np.sum``, ``.sum(axis=1)``, ``.T``, ``**``), 500 per run; each
derivative, by a random variable, equals central finite differences.

Run more examples with ``--hypothesis-profile=nightly``.
"""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_property import cases_of, check_case

MAX_EXAMPLES = max(500, settings().max_examples)

SHAPES = {"a": (), "x": (3,), "u": (4,), "v": (2,), "X": (4, 3), "Y": (4, 3),
          "W": (3, 2), "Z": (4, 2)}
VARS: dict = {}
for _name, _shape in SHAPES.items():
    VARS.setdefault(_shape, []).append(_name)

ALL_SHAPES = [(), (3,), (4,), (2,), (4, 3), (4, 2)]
UNARY = ["sin({})", "tanh({})", "np.tanh({})", "sigmoid({})", "softplus({})", "({})**2",
         "np.exp(-({})**2)", "relu({})", "np.abs({})", "-{}", "np.sqrt(1 + ({})**2)"]
REDUCE = ["sum", "mean", "max", "min", "logsumexp", "norm2"]


@st.composite
def expr_of(draw, shape, depth):
    """Text of an expression of ``shape``, nested ``depth`` deep."""
    if depth <= 0 or draw(st.integers(0, 5)) == 0:
        choices = list(VARS[shape])
        if shape == ():
            choices += ["2", "0.5"]
        return draw(st.sampled_from(choices))
    sub = lambda s: draw(expr_of(s, depth - 1))  # noqa: E731
    pick = lambda xs: draw(st.sampled_from(xs))  # noqa: E731
    options = ["unary", "binary", "scalar"]
    if shape == ():
        options += ["reduce_all", "entry", "method_all"]
    if shape in ((3,), (2,)):  # a reduction of each column of a 4×3 (4×2) matrix
        options += ["reduce_cols", "row"]
    if shape == (4,):
        options += ["reduce_rows", "column"]
    if shape == (2,):
        options += ["slice"]
    if shape == (4, 3):
        options += ["colbcast", "rowbcast", "keepdims", "softmax", "outer", "matmul"]
    if shape == (4, 2):
        options += ["slice_cols", "softmax", "matmul2"]
    kind = pick(options)
    if kind == "unary":
        return "(" + pick(UNARY).format(sub(shape)) + ")"
    if kind == "binary":
        return f"({sub(shape)} {pick(['+', '-', '*'])} {sub(shape)})"
    if kind == "scalar":
        return f"({sub(())} * {sub(shape)})"
    if kind == "reduce_all":
        s = pick(ALL_SHAPES[1:])
        fn = pick(["sum", "mean", "max", "min", "np.sum", "np.mean", "norm2"])
        return f"{fn}({sub(s)})"
    if kind == "method_all":
        return f"({sub((4, 3))}).{pick(['sum', 'mean', 'max', 'min'])}()"
    if kind == "entry":
        if pick([True, False]):
            return f"({sub((4, 3))})[{pick([0, 1, 3, -1])}, {pick([0, 2, -2])}]"
        return f"({sub((3,))})[{pick([0, 2, -1])}]"
    if kind == "reduce_cols":
        src = (4, shape[0])
        fn = pick(REDUCE)
        if pick([True, False]):
            return f"({sub(src)}).{fn}(axis=0)" if fn in ("sum", "mean", "max", "min") \
                else f"{fn}({sub(src)}, axis=0)"
        return f"{fn}({sub(src)}, axis=0)"
    if kind == "reduce_rows":
        src = pick([(4, 3), (4, 2)])
        return f"{pick(REDUCE)}({sub(src)}, axis={pick(['1', '-1'])})"
    if kind == "row":  # a row of a 4×k matrix, as a vector
        return f"({sub((4, shape[0]))})[{pick(['1', '2, :', '-1'])}]"
    if kind == "column":
        src = pick([(4, 3), (4, 2)])
        return f"({sub(src)})[:, {pick([0, 1, -1])}]"
    if kind == "slice":
        return pick([f"({sub((4,))})[1:3]", f"({sub((3,))})[:2]", f"({sub((3,))})[1:]"])
    if kind == "colbcast":
        return f"({sub((4, 3))} {pick(['*', '+', '-'])} ({sub((4,))})[:, None])"
    if kind == "rowbcast":
        return pick([f"({sub((4, 3))} + {sub((3,))})",
                     f"({sub((4, 3))} * ({sub((3,))})[None, :])"])
    if kind == "keepdims":
        fn = pick(["sum", "mean", "max", "min", "logsumexp", "norm2"])
        return f"({sub((4, 3))} - {fn}({sub((4, 3))}, axis={pick([0, 1])}, keepdims=True))"
    if kind == "softmax":
        return f"softmax({sub(shape)}, axis={pick([0, 1, -1])})"
    if kind == "outer":
        return f"(({sub((4,))})[:, None] {pick(['*', '-'])} ({sub((3,))})[None, :])"
    if kind == "matmul":
        return f"({sub((4, 2))} @ W.T)"
    if kind == "matmul2":
        return f"({sub((4, 3))} @ W)"
    if kind == "slice_cols":
        return f"({sub((4, 3))})[:, {pick(['1:', ':2', '1:3'])}]"
    raise AssertionError(kind)


@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large])
@given(cases_of(expr_of, ALL_SHAPES, SHAPES, 5))
def test_batched_derivative_matches_finite_differences(case):
    check_case(*case, SHAPES)
