"""Property test: for random well-shaped expressions (depth up to 6, every operator
and every function of matcalc/functions.py where its domain allows, scalars,
vectors and matrices of different sizes mixed), the derivative by a random
variable equals central finite differences (tests/oracle.py).

Run more examples with ``--hypothesis-profile=nightly``.
"""

import numpy as np
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

import oracle

import matcalc
from matcalc.parser import parse

# At least 500 examples; more under the profile chosen with --hypothesis-profile.
MAX_EXAMPLES = max(500, settings().max_examples)

SHAPES = {"a": (), "b": (), "x": (3,), "y": (3,), "u": (2,),
          "A": (3, 3), "D": (3, 3), "B": (3, 2), "C": (2, 3)}
VARS = {}
for _name, _shape in SHAPES.items():
    VARS.setdefault(_shape, []).append(_name)

ALL_SHAPES = [(), (3,), (2,), (3, 3), (3, 2), (2, 3)]
EW_UNARY = ["sin({})", "cos({})", "tanh({})", "sigmoid({})", "softplus({})",
            "exp(tanh({}))", "tan(0.5*sin({}))", "log(1 + {}^2)", "sqrt(2 + {}^2)",
            "abs({})", "relu({})", "-{}", "({})^2", "({})^3", "(1 + ({})^2)^0.5",
            "sign({}) * 0.5", "step({}) + 0.5"]


@st.composite
def expr_of(draw, shape, depth):
    """Text of an expression of ``shape`` (integer dimensions), nested ``depth`` deep."""
    if depth <= 0 or draw(st.integers(0, 5)) == 0:
        choices = list(VARS[shape])
        if shape == ():
            choices += ["2", "0.5"]
        return draw(st.sampled_from(choices))
    sub = lambda s: draw(expr_of(s, depth - 1))  # noqa: E731
    rank = len(shape)
    options = ["unary", "binary", "scalar_left", "scalar_right", "quotient", "minmax"]
    if rank == 0:
        options += ["reduce", "dot", "matrix_scalar", "lse", "entry", "bilinear"]
    if rank == 1:
        options += ["matvec", "softmax", "veclit", "diagonal"]
    if rank == 2:
        options += ["transpose", "matmul", "inv", "outer"]
        if shape[0] == shape[1]:
            options += ["diag"]
    kind = draw(st.sampled_from(options))
    if kind == "unary":
        return "(" + draw(st.sampled_from(EW_UNARY)).format(sub(shape)) + ")"
    if kind == "binary":
        op = draw(st.sampled_from(["+", "-", "*"]))
        return f"({sub(shape)} {op} {sub(shape)})"
    if kind == "scalar_left":
        op = draw(st.sampled_from(["+", "-", "*"]))
        return f"({sub(())} {op} {sub(shape)})"
    if kind == "scalar_right":
        op = draw(st.sampled_from(["+", "-", "*", "/ (2 + sin"]))
        if op.startswith("/"):
            return f"({sub(shape)} / (2 + sin({sub(())})))"
        return f"({sub(shape)} {op} {sub(())})"
    if kind == "quotient":
        return f"({sub(shape)} / (1.5 + ({sub(shape)})^2))"
    if kind == "minmax":
        fn = draw(st.sampled_from(["max", "min"]))
        if draw(st.booleans()):
            return f"{fn}(0, {sub(shape)})"
        return f"{fn}({sub(shape)}, {sub(shape)})"
    if kind == "reduce":
        s = draw(st.sampled_from(ALL_SHAPES[1:]))
        fn = draw(st.sampled_from(["sum", "mean", "norm2", "norm1"]))
        return f"{fn}({sub(s)})"
    if kind == "dot":
        n = draw(st.sampled_from([(3,), (2,)]))
        return draw(st.sampled_from(["dot({}, {})", "({} @ {})"])).format(sub(n), sub(n))
    if kind == "bilinear":
        return f"(({sub((3,))})' @ {sub((3, 2))} @ {sub((2,))})"
    if kind == "matrix_scalar":
        fn = draw(st.sampled_from(["tr({})", "det(3*eye(3) + tanh({}))",
                                   "logdet(3*eye(3) + tanh({}))", "det({})", "logdet({})"]))
        return fn.format(sub((3, 3)))
    if kind == "lse":
        return f"logsumexp({sub((3,))})"
    if kind == "entry":
        return f"({sub((3,))})[{draw(st.integers(0, 2))}]"
    if kind == "matvec":
        k = draw(st.sampled_from([3, 2] if shape == (3,) else [3]))
        return f"({sub((shape[0], k))} @ {sub((k,))})"
    if kind == "softmax":
        if shape != (3,):
            return sub(shape)
        return f"softmax({sub((3,))})"
    if kind == "veclit":
        return "[" + ", ".join(sub(()) for _ in range(shape[0])) + "]"
    if kind == "diagonal":
        if shape != (3,):
            return sub(shape)
        return f"diag({sub((3, 3))})"
    if kind == "transpose":
        return f"({sub((shape[1], shape[0]))})'"
    if kind == "matmul":
        k = draw(st.sampled_from([k for k in (3, 2)
                                  if (shape[0], k) in VARS and (k, shape[1]) in VARS]))
        return f"({sub((shape[0], k))} @ {sub((k, shape[1]))})"
    if kind == "outer":
        return f"({sub((shape[0],))} @ ({sub((shape[1],))})')"
    if kind == "inv":
        if shape != (3, 3):
            return sub(shape)
        return f"inv(3*eye(3) + tanh({sub((3, 3))}))"
    if kind == "diag":
        return f"diag({sub((3,))})"
    raise AssertionError(kind)


def cases_of(expr_of, all_shapes, shapes, max_depth):
    """Cases (text, wrt, seed): an expression of a random shape drawn by ``expr_of``,
    nested up to ``max_depth``, a variable of ``shapes`` and a seed for the point."""
    @st.composite
    def cases(draw):
        shape = draw(st.sampled_from(all_shapes))
        text = draw(expr_of(shape, draw(st.integers(1, max_depth))))
        wrt = draw(st.sampled_from(sorted(shapes)))
        seed = draw(st.integers(0, 2**32 - 1))
        return text, wrt, seed
    return cases()


def cases():
    return cases_of(expr_of, ALL_SHAPES, SHAPES, 6)


def _fd_stable(f, values, name):
    """Finite differences with two step sizes; None where they disagree (a nasty point)."""
    fn = lambda vals: matcalc.evaluate(f, vals)  # noqa: E731
    a = oracle.finite_differences(fn, values, name, h=1e-6)
    b = oracle.finite_differences(fn, values, name, h=1e-5)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return None
    scale = max(1.0, float(np.max(np.abs(a))) if a.size else 1.0)
    if np.max(np.abs(a - b), initial=0.0) > 1e-5 * scale:
        return None
    return a


@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large])
@given(cases())
def test_derivative_matches_finite_differences(case):
    check_case(*case, SHAPES)


def check_case(text, wrt, seed, shapes):
    """diff(text) by wrt equals finite differences at a random point (drawn from seed);
    points where f is huge or the differences unstable are skipped (assume)."""
    note(f"expression: {text}   wrt: {wrt}   seed: {seed}")
    f = parse(text, shapes)
    d = matcalc.diff(f, wrt, shapes)
    note(f"derivative ({d.kind}): {d}")
    rng = np.random.default_rng(seed)
    try:
        values = oracle.random_values(f, d.wrt, rng, dims={}, tries=20)
    except AssertionError:
        assume(False)
    fval = matcalc.evaluate(f, values)
    assume(np.all(np.isfinite(fval)) and np.max(np.abs(fval), initial=0.0) < 1e6)
    want = _fd_stable(f, values, d.wrt.name)
    assume(want is not None and np.max(np.abs(want), initial=0.0) < 1e6)
    got = d.evaluate(values)
    note(f"values: {values}")
    oracle.assert_close(got, want, f"d({text})/d{wrt}", rtol=1e-4, atol=1e-5)
