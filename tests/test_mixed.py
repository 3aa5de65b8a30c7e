"""Mixed second derivatives ∂²f/∂w∂b (``diff(f, ("w", "b"), order=2)``, ``matcalc diff
f --wrt w --wrt b --order 2``): the derivative by b of the derivative by w, an array
of shape f.shape + w.shape + b.shape whose entry (.., i, j) is ∂²f/∂wᵢ∂bⱼ.

Each is checked against nested central finite differences of f itself (by b of the
differences by w: nothing of matcalc's derivatives is used) at sizes 2, 3 and 4; for
a scalar f, against the transpose of ∂²f/∂b∂w and against the block of the Hessian
by the stacked variable z = [w; b]; and through every form a derivative has (text,
LaTeX, JSON, index form, code, verify, steps, Kronecker)."""
import json
import re

import numpy as np
import pytest

from oracle import assert_close, finite_differences, random_values

import matcalc
from matcalc import DiffError
from matcalc.cli import main
from matcalc.core import expr as E
from matcalc.core import shapes as S
from matcalc.parser import parse

MLP = "norm2(V@tanh(W@x + c) + d - y)^2"
NET = {"V": "k,m", "W": "m,n", "x": "n", "c": "m", "d": "k", "y": "k"}
# (f, (w, b), shapes): scalar, vector and matrix variables in every pairing
CASES = [
    ("sum(max(0, X@w + b))", ("w", "b"), {"X": "m,n"}),               # the paper's neuron
    ("sum(log(1 + exp(-y * (X@w + b))))", ("w", "b"), {"X": "m,n"}),  # logistic loss
    ("norm2(X@w + b - y)^2", ("w", "b"), {"X": "m,n"}),               # least squares
    ("x'@A@y", ("x", "y"), {"A": "m,n"}),
    ("sum(A@x * y)", ("x", "y"), {"A": "m,n"}),
    ("sum(tanh(W@x + c))", ("W", "c"), {"W": "m,n", "c": "m"}),       # MLP layer
    ("sum(tanh(W@x + c))", ("c", "W"), {"W": "m,n", "c": "m"}),
    (MLP, ("W", "c"), NET),
    (MLP, ("c", "d"), NET),
    (MLP, ("V", "c"), NET),
    ("sum(tanh(W@x + c))", ("W", "x"), {"W": "m,n", "c": "m"}),       # matrix, vector
    ("x'@A@y", ("x", "A"), {"A": "m,n"}),                             # vector, matrix
    ("trace(A@B@A)", ("A", "B"), {"A": "n,n", "B": "n,n"}),           # matrix, matrix
    ("logsumexp(W@x + c)", ("W", "c"), {"W": "m,n", "c": "m"}),
    ("w'@x * b^2", ("w", "b"), None),                                 # vector, scalar
    ("exp(a * b) + a^3 * b", ("a", "b"), {"a": (), "b": ()}),         # scalar, scalar
    ("sum(sigmoid(a * x + y))", ("a", "x"), {"a": ()}),               # scalar, vector
    ("x'@inv(A)@y", ("x", "y"), {"A": "n,n"}),
    ("sum((W@x + c)^2)", ("x", "c"), {"W": "m,n", "c": "m"}),
    ("softmax(W@x)", ("x", "W"), {"W": "m,n"}),                       # vector f: a tensor
    ("W@x * b", ("x", "b"), {"W": "m,n"}),                            # vector f
]
IDS = [f"{t}:{w[0]},{w[1]}" for t, w, _ in CASES]
SIZES = (2, 3, 4)


def sizes(f, k: int) -> dict:
    """The symbolic dimensions of ``f`` with sizes k, k + 1, ... (distinct: a missing
    transpose cannot hide)."""
    names = list(dict.fromkeys(S.resolve(d) for d in E.dims_of(f)))
    return {d: k + i for i, d in enumerate(n for n in names if isinstance(n, str))}


def values_at(f, pair, k: int, seed: int = 0) -> dict:
    return random_values(f, f_var(f, pair[0]), np.random.default_rng(seed + k), sizes(f, k))


def f_var(f, name):
    return next(v for v in E.variables(f) if v.name == name)


def mixed_differences(f, values, a: str, b: str) -> np.ndarray:
    """∂²f/∂a∂b by central differences of f: by b, of the differences by a."""
    def by_a(vals):
        return finite_differences(lambda v: matcalc.evaluate(f, v), vals, a, h=1e-4)
    return finite_differences(by_a, values, b, h=1e-4)


@pytest.mark.parametrize("k", SIZES)
@pytest.mark.parametrize("text, pair, shapes", CASES, ids=IDS)
def test_finite_differences(text, pair, shapes, k):
    f = parse(text, shapes)
    d = matcalc.diff(f, pair, shapes, order=2)
    assert d.order == 2 and [v.name for v in d.wrts] == list(pair) and d.mixed
    values = values_at(f, pair, k)
    got = d.evaluate(values)
    a, b = (f_var(f, n) for n in pair)
    assert d.shape == tuple(f.shape) + tuple(a.shape) + tuple(b.shape)
    assert_close(got, mixed_differences(f, values, *pair), f"∂²({text})/∂{pair[0]}∂{pair[1]}",
                 rtol=1e-4, atol=1e-5)


SCALAR = [c for c in CASES if parse(c[0], c[2]).rank == 0]


@pytest.mark.parametrize("text, pair, shapes", SCALAR, ids=[f"{t}:{w}" for t, w, _ in SCALAR])
def test_symmetry(text, pair, shapes):
    """For a scalar f, ∂²f/∂w∂b is ∂²f/∂b∂w with its axes swapped (the transpose)."""
    f = parse(text, shapes)
    wb = matcalc.diff(f, pair, shapes, order=2)
    bw = matcalc.diff(f, pair[::-1], shapes, order=2)
    values = values_at(f, pair, 3)
    ra, rb = (f_var(f, n).rank for n in pair)
    swapped = np.transpose(bw.evaluate(values), list(range(rb, rb + ra)) + list(range(rb)))
    np.testing.assert_allclose(wb.evaluate(values), swapped, rtol=1e-9, atol=1e-12)


def _stacked(text: str, shapes, pair, k: int):
    """f of z = [w; b] (each a vector or a scalar, of size k or k + 1), with the sizes
    fixed: (the text of f(z), shapes, the slices of w and b in z)."""
    f = parse(text, shapes)
    dims = sizes(f, k)
    fixed = {v.name: tuple(dims.get(S.resolve(d), d) for d in v.shape)
             for v in E.variables(f)}
    parts, at = {}, 0
    for name in pair:
        n = fixed[name][0] if fixed[name] else 1
        entries = ", ".join(f"z[{at + i}]" for i in range(n))
        parts[name] = (f"[{entries}]" if fixed[name] else f"z[{at}]", slice(at, at + n))
        at += n
    out = re.sub(r"\b(" + "|".join(pair) + r")\b", lambda m: f"({parts[m.group(1)][0]})", text)
    fixed = {n: s for n, s in fixed.items() if n not in pair}
    return out, {**fixed, "z": (at,)}, [parts[n][1] for n in pair]


STACKABLE = [c for c in SCALAR if all(parse(c[0], c[2]).rank == 0 and
                                      f_var(parse(c[0], c[2]), n).rank <= 1 for n in c[1])]


@pytest.mark.parametrize("k", (2, 3))
@pytest.mark.parametrize("text, pair, shapes", STACKABLE,
                         ids=[f"{t}:{w}" for t, w, _ in STACKABLE])
def test_block_of_the_full_hessian(text, pair, shapes, k):
    """∂²f/∂w², ∂²f/∂w∂b and ∂²f/∂b² are the blocks of the Hessian by z = [w; b]."""
    ztext, zshapes, (sw, sb) = _stacked(text, shapes, pair, k)
    f = parse(text, shapes)
    values = values_at(f, pair, k)
    z = np.concatenate([np.atleast_1d(values[n]) for n in pair])
    zvalues = {n: v for n, v in values.items() if n not in pair}
    hessian = matcalc.diff(ztext, "z", zshapes, order=2).evaluate({**zvalues, "z": z})
    w, b = (f_var(f, n) for n in pair)
    for (p, q), (rows, cols) in {(pair[0], pair[0]): (sw, sw), pair: (sw, sb),
                                 (pair[1], pair[1]): (sb, sb)}.items():
        block = matcalc.diff(text, (p, q), shapes, order=2).evaluate(values)
        want = hessian[rows, cols].reshape(block.shape)
        np.testing.assert_allclose(block, want, rtol=1e-9, atol=1e-12, err_msg=f"{p},{q}")
    assert len(STACKABLE) >= 8


def test_api_tuple_list_and_hessian():
    f = "x'@A@y"
    as_list = matcalc.diff(f, ["x", "y"], order=2)
    assert str(as_list) == str(matcalc.diff(f, ("x", "y"), order=2)) == "A"
    # the same variable twice is the Hessian
    h = matcalc.diff("x'@A@x", ("x", "x"), order=2)
    assert not h.mixed and str(h) == str(matcalc.diff("x'@A@x", "x", order=2))
    # by a declared variable not in f: zero, of shape w.shape + q.shape
    z = matcalc.diff("w'@x", ("w", "q"), {"q": "k"}, order=2)
    assert z.kind is matcalc.Kind.ZERO and z.evaluate(
        {"w": np.ones(2), "x": np.ones(2), "q": np.ones(3)}).shape == (2, 3)


@pytest.mark.parametrize("wrt, order, message", [
    (("w", "b"), 1, "pass order=2"),
    (("w", "b", "x"), 2, "pass order=3"),
    (("w", "b", "x", "w"), 2, "one variable per order"),
    ((), 1, "0 variables"),
])
def test_api_wrong_number_of_variables(wrt, order, message):
    with pytest.raises(DiffError, match=re.escape(message)):
        matcalc.diff("sum(W@x + b) + w'@x", wrt, {"W": "m,n"}, order=order)


def test_no_matrix_form_below_is_refused():
    """∂²f/∂W∂b of a vector f by a matrix W: the Jacobian by W has no matrix form."""
    with pytest.raises(DiffError, match=r"order 2 by b is not available"):
        matcalc.diff("tanh(W@x + b)", ("W", "b"), {"W": "m,n", "b": "m"}, order=2)


def test_third_order_mixed():
    f = "exp(a * b) * c^2"
    shapes = {"a": (), "b": (), "c": ()}
    d = matcalc.diff(f, ("a", "b", "c"), shapes, order=3)
    a, b, c = 0.3, -0.7, 1.1
    want = 2 * c * (np.exp(a * b) + a * b * np.exp(a * b))
    np.testing.assert_allclose(d.evaluate({"a": a, "b": b, "c": c}), want, rtol=1e-12)
    assert d.report().startswith("∂³f/∂a∂b∂c = ")


# ---------------------------------------------------------------- the forms


def test_labels_text_latex_json():
    d = matcalc.diff("sum(log(1 + exp(-y * (X@w + b))))", ("w", "b"), {"X": "m,n"}, order=2)
    assert d.report().startswith("∂²f/∂w∂b = ")
    assert d.report(ascii=True).startswith("d2f/dw db = ")
    assert d.latex().startswith(r"\frac{\partial^2 f}{\partial \mathbf{w} \, \partial b} = ")
    data = json.loads(d.to_json())
    assert data["wrts"] == ["w", "b"] and data["wrt"] == "b" and data["order"] == 2
    assert data["evaluate_shape"] == ["n"]
    j = matcalc.diff("x'@A@y", ("x", "y"), order=2)
    assert "entry i,j is ∂²f/∂xᵢ∂yⱼ" in j.layout_note()
    # a Hessian keeps its name
    assert matcalc.diff("x'@A@x", "x", order=2).report().startswith("∂²f/∂x² = ")
    assert "wrts" not in matcalc.diff("x'@A@x", "x", order=2).to_dict()


def test_index_form_of_a_tensor():
    d = matcalc.diff("x'@A@y", ("x", "A"), order=2)
    form = d.index_form()
    assert str(form) == "∂²f/∂xᵢ∂Aⱼₖ = yₖ δᵢⱼ"
    assert form.text(ascii=True) == "d2f/dx[i] dA[j,k] = y[k] * delta(i,j)"
    assert form.latex().startswith(r"\frac{\partial^{2} f}{\partial x_{i} \, \partial A_{jk}}")
    values = {"x": np.array([1.0, -2.0]), "A": np.arange(6.0).reshape(2, 3),
              "y": np.array([0.5, 1.0, 2.0])}
    np.testing.assert_allclose(form.evaluate(values), d.evaluate(values))
    assert d.kronecker() == "∂vec(∂f/∂x)/∂vec(A) = yᵀ ⊗ I"


@pytest.mark.parametrize("target", ["jax", "torch"])
@pytest.mark.parametrize("text, pair, shapes", CASES[3:14], ids=IDS[3:14])
def test_code_on_jax_and_torch(text, pair, shapes, target):
    pytest.importorskip(target)
    d = matcalc.diff(text, pair, shapes, order=2)
    values = values_at(parse(text, shapes), pair, 3)
    fn = matcalc.lambdify(d, target)
    got = np.asarray(fn(*[values[v.name] for v in d.variables]), dtype=float)
    # jax computes in float32 unless configured otherwise
    np.testing.assert_allclose(got, d.evaluate(values), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("text, pair, shapes", CASES[3:14], ids=IDS[3:14])
def test_code(text, pair, shapes):
    d = matcalc.diff(text, pair, shapes, order=2)
    f = parse(text, shapes)
    values = values_at(f, pair, 3)
    want = d.evaluate(values)
    args = [values[v.name] for v in d.variables]
    got = np.asarray(matcalc.lambdify(d, "numpy")(*args), dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert f"def d2_f_d_{pair[0]}_d_{pair[1]}(" in d.to_code()
    assert f"∂²f/∂{pair[0]}∂{pair[1]} of f" in d.to_code()
    # the generated self-check differences the order-1 derivative by the second variable
    checked = matcalc.lambdify(d, "numpy", check=True)
    np.testing.assert_allclose(checked(*args, check=True), want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d.index_form().evaluate(values), want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("text, pair, shapes", [CASES[2], CASES[5], CASES[11], CASES[16]],
                         ids=[IDS[2], IDS[5], IDS[11], IDS[16]])
def test_verify(text, pair, shapes):
    report = matcalc.diff(text, pair, shapes, order=2).verify(dims=(2, 3), budget=30)
    assert [c.status for c in report.checks] == ["holds"] * len(report.checks), \
        [c.line() for c in report.checks]


def test_verify_catches_a_wrong_mixed_derivative():
    from dataclasses import replace
    d = matcalc.diff("x'@A@y", ("x", "y"), order=2)
    wrong = replace(d, expr=parse("2*A", {"A": "m,n"}))
    statuses = {c.name.split(" ")[0]: c.status for c in wrong.verify(dims=(2,)).checks}
    assert statuses == {"symbolic": "fails", "numeric": "fails"}


def test_steps_do_not_crash():
    for text, pair, shapes in CASES[:14]:
        d = matcalc.diff(text, pair, shapes, order=2)
        assert isinstance(d.steps_text(), str) and isinstance(d.steps_text(fmt="latex"), str)


# ----------------------------------------------------------------------- the CLI


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_every_block_of_the_hessian(capsys):
    status, out, err = run(capsys, "diff", "sum(log(1 + exp(-y * (X@w + b))))",
                           "--wrt", "w", "--wrt", "b", "--order", "2")
    assert status == 0 and not err
    heads = [line.split(" = ")[0] for line in out.split("\n") if line and line[0] != " "]
    assert heads == ["∂²f/∂w²", "∂²f/∂w∂b", "∂²f/∂b²"]


def test_cli_three_variables_and_duplicates(capsys):
    _, out, _ = run(capsys, "diff", "x'@A@y + c*sum(x)", "--wrt", "x", "--wrt", "y",
                    "--wrt", "c", "--wrt", "x", "--order", "2")
    heads = [line.split(" = ")[0] for line in out.split("\n") if line and line[0] != " "]
    assert heads == ["∂²f/∂x²", "∂²f/∂x∂y", "∂²f/∂x∂c", "∂²f/∂y²", "∂²f/∂y∂c", "∂²f/∂c²"]


def test_cli_order_1_and_3_unchanged(capsys):
    _, out, _ = run(capsys, "diff", "x'@A@y", "--wrt", "x", "--wrt", "y")
    heads = [line.split(" = ")[0] for line in out.split("\n") if line and line[0] != " "]
    assert heads == ["∂f/∂x", "∂f/∂y"]


def test_cli_json_and_verify(capsys):
    status, out, err = run(capsys, "diff", "x'@A@y", "--wrt", "x", "--wrt", "y", "--order",
                           "2", "--format", "json", "--verify")
    assert status == 0
    data = json.loads(out)
    assert [d.get("wrts") for d in data] == [None, ["x", "y"], None]
    assert data[1]["derivative"]["text"] == "A" and data[1]["shape"] == ["m", "n"]
    assert "verify ∂²f/∂x∂y:" in err and "fails" not in err


def test_cli_latex(capsys):
    _, out, _ = run(capsys, "diff", "w'@x * b^2", "--wrt", "w", "--wrt", "b", "--order", "2",
                    "--format", "latex")
    assert r"\frac{\partial^2 f}{\partial \mathbf{w} \, \partial b} = " in out


def test_cli_refusal(capsys):
    status, _, err = run(capsys, "diff", "tanh(W@x + b)", "--shape", "W=m,n", "--shape",
                         "b=m", "--wrt", "W", "--wrt", "b", "--order", "2")
    # the first block, ∂²f/∂W², is refused already
    assert status == 2 and "W has no matrix form, so order 2 is not available" in err
