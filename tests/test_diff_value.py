"""``matcalc diff ... --value x=1,2`` (and ``--values FILE.npz``): the derivative's value
printed after the formula, checked against ``Derivative.evaluate`` and against
central finite differences of ``matcalc.evaluate``, in text, JSON and LaTeX; and the
errors (a missing variable, a wrong shape, bad numbers, a format without values)."""
import json
import re

import numpy as np
import pytest

from oracle import finite_differences

import matcalc
from matcalc.cli import main

X, A = "x=1,2", "A=1,2;3,4.5"


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def numbers(text: str) -> np.ndarray:
    return np.array([float(t) for t in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)])


def value_part(block: str) -> str:
    """The printed value: what follows the derivative's name after the point."""
    lines = block.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("  at "))
    end = next(i for i in range(start + 1, len(lines))
               if lines[i].startswith("  ") and not lines[i].startswith("    "))
    text = "\n".join(lines[start:end])
    return text[text.index("∂"):].split(" = ", 1)[1]


def test_gradient(capsys):
    status, out, err = run(capsys, "diff", "x'@A@x", "--wrt", "x", "--value", X, "--value", A)
    assert status == 0 and not err
    lines = out.split("\n")
    assert lines[0] == "∂f/∂x = xᵀ(A + Aᵀ)"
    assert lines[1] == "  at x = [1, 2], A = [[1, 2], [3, 4.5]]: ∂f/∂x = [12, 23]"
    assert lines[2].startswith("  shape: ")


# (expression, wrt, order, values): gradients, Jacobians, Hessians, by a scalar,
# differentials; sizes 2, 3 and 4 among the values
CASES = [
    ("x'@A@x", ["x"], 1, {"x": [1.0, -2.0, 0.5], "A": np.arange(9.0).reshape(3, 3)}),
    ("sum(tanh(W@x + c))", ["W"], 1, {"W": np.arange(8.0).reshape(2, 4) / 10,
                                      "x": [0.1, 0.2, -0.3, 0.4], "c": 0.5}),
    ("tanh(W@x)", ["x"], 1, {"W": np.arange(6.0).reshape(3, 2) / 7, "x": [0.5, -1.0]}),
    ("exp(a * x)", ["a"], 1, {"a": 0.3, "x": [1.0, 2.0, 3.0, 4.0]}),
    ("logsumexp(A@x)", ["x"], 2, {"A": np.arange(12.0).reshape(4, 3) / 10,
                                  "x": [0.2, -0.1, 0.3]}),
    ("x'@A@y", ["x", "y"], 2, {"x": [1.0, 2.0], "A": np.arange(6.0).reshape(2, 3),
                               "y": [1.0, 0.0, -1.0]}),
    ("tanh(W@x)", ["W"], 1, {"W": np.arange(6.0).reshape(3, 2) / 7, "x": [0.5, -1.0]}),
    ("x'@A@y", ["x", "A"], 2, {"x": [1.0, 2.0], "A": np.arange(6.0).reshape(2, 3),
                               "y": [1.0, 0.0, -1.0]}),
]


def _option(name, a) -> str:
    a = np.asarray(a, dtype=float)
    if a.ndim == 2:
        return f"{name}=" + ";".join(",".join(repr(float(v)) for v in row) for row in a)
    if a.ndim == 1:
        return f"{name}=" + ",".join(repr(float(v)) for v in a)
    return f"{name}={float(a)!r}"


def _argv(text, wrt, order, values, *more):
    argv = ["diff", text, "--order", str(order)]
    for w in wrt:
        argv += ["--wrt", w]
    for name, a in values.items():
        argv += ["--value", _option(name, a)]
    return argv + list(more)


@pytest.mark.parametrize("text, wrt, order, values", CASES,
                         ids=[f"{c[0]}:{','.join(c[1])}:{c[2]}" for c in CASES])
def test_json_value_is_evaluate_and_finite_differences(capsys, text, wrt, order, values):
    status, out, _ = run(capsys, *_argv(text, wrt, order, values, "--format", "json"))
    assert status == 0
    data = json.loads(out)
    data = data if isinstance(data, list) else [data]
    for item in data:
        by = item.get("wrts") or [item["wrt"]] * item["order"]
        d = matcalc.diff(text, tuple(by) if len(by) > 1 else by[0], order=len(by))
        got = np.array(item["value"])
        np.testing.assert_allclose(got, d.evaluate(values), rtol=1e-12)
        assert len(item["evaluate_shape"]) == got.ndim
        assert item["at"] == {k: np.asarray(v, dtype=float).tolist() for k, v in values.items()
                              if k in item["at"]}
        if len(by) == 1:  # independently: finite differences of f
            want = finite_differences(lambda v: matcalc.evaluate(text, v), values, by[0])
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("text, wrt, order, values", CASES,
                         ids=[f"{c[0]}:{','.join(c[1])}:{c[2]}" for c in CASES])
def test_text_value_is_evaluate(capsys, text, wrt, order, values):
    status, out, _ = run(capsys, *_argv(text, wrt, order, values))
    assert status == 0
    blocks = re.split(r"\n\n(?=\S)", out)
    derivs = [matcalc.diff(text, w, order=order) for w in wrt] if len(wrt) == 1 or order != 2 \
        else [matcalc.diff(text, p, order=2) for p in
              [(wrt[0], wrt[0]), (wrt[0], wrt[1]), (wrt[1], wrt[1])]]
    assert len(blocks) == len(derivs)
    for block, d in zip(blocks, derivs):
        want = d.evaluate(values)
        got = numbers(value_part(block))
        if want.ndim > 2:  # a tensor: its shape is shown too
            assert f"({'×'.join(map(str, want.shape))}) = " in block
        np.testing.assert_allclose(got, want.reshape(-1), rtol=1e-5, atol=1e-6)


def test_matrix_as_aligned_rows(capsys):
    _, out, _ = run(capsys, "diff", "x'@A@x", "--wrt", "x", "--order", "2", "--value", X,
                    "--value", "A=1,2;3,40")
    assert "  at x = [1, 2], A = [[1, 2], [3, 40]]:\n    ∂²f/∂x² = [[ 2,  5],\n" \
           "               [ 5, 80]]\n  shape: n×n" in out


def test_denominator_layout_transposes_a_jacobian(capsys):
    values = ["--value", "W=1,2;3,4;5,6", "--value", "x=0.5,-1"]
    _, num, _ = run(capsys, "diff", "W@x", "--wrt", "x", *values)
    _, den, _ = run(capsys, "diff", "W@x", "--wrt", "x", "--layout", "denominator", *values)
    assert "∂f/∂x = [[1, 2],\n" in num and "∂f/∂x = [[1, 3, 5],\n" in den


def test_differential_shows_its_shape(capsys):
    _, out, _ = run(capsys, "diff", "tanh(W@x)", "--wrt", "W", "--value", "W=1,0;0,1;1,1",
                    "--value", "x=0.5,-1", "--ascii")
    assert "  at W = [[1, 0], [0, 1], [1, 1]], x = [0.5, -1]:\n    df/dW (3x3x2) = [[[" in out


def test_latex(capsys):
    _, out, _ = run(capsys, "diff", "x'@A@x", "--wrt", "x", "--value", X, "--value", A,
                    "--format", "latex")
    assert out.split("\n")[1] == (
        r"\text{at } \mathbf{x} = \begin{bmatrix} 1 \\ 2 \end{bmatrix}, "
        + re.search(r"(\\math[a-z]+\{A\})", out).group(1)
        + r" = \begin{bmatrix} 1 & 2 \\ 3 & 4.5 \end{bmatrix}: \quad "
        r"\frac{\partial f}{\partial \mathbf{x}} = \begin{bmatrix} 12 & 23 \end{bmatrix}")
    _, out, _ = run(capsys, "diff", "x'@A@y", "--wrt", "x", "--wrt", "A", "--order", "2",
                    "--value", X, "--value", "A=1,2,3;4,5,6", "--value", "y=1,2,3",
                    "--format", "latex")
    assert "% the value at this point (2×2×3) is shown by --format text or json" in out


def test_values_file(capsys, tmp_path):
    path = tmp_path / "point.npz"
    np.savez(path, x=np.array([1.0, 2.0]), A=np.array([[1.0, 2.0], [3.0, 4.5]]))
    _, out, _ = run(capsys, "diff", "x'@A@x", "--wrt", "x", "--values", str(path))
    assert "at x = [1, 2], A = [[1, 2], [3, 4.5]]: ∂f/∂x = [12, 23]" in out
    # --value wins over the file
    _, out, _ = run(capsys, "diff", "x'@A@x", "--wrt", "x", "--values", str(path),
                    "--value", "x=0,1")
    assert "at x = [0, 1], A = [[1, 2], [3, 4.5]]: ∂f/∂x = [5, 9]" in out


def test_api_report_and_to_dict():
    d = matcalc.diff("x'@A@x", "x")
    values = {"x": [1, 2], "A": [[1, 2], [3, 4.5]]}
    assert "at x = [1, 2], A = [[1, 2], [3, 4.5]]: ∂f/∂x = [12, 23]" in d.report(values=values)
    assert d.to_dict(values=values)["value"] == [12.0, 23.0]
    assert "value" not in d.to_dict()


def test_precision():
    d = matcalc.diff("x / 3", "x", {"x": ()})
    assert "∂f/∂x = 0.333333" in d.report(values={"x": 1.0})
    d = matcalc.diff("x'@x / 1000000000", "x")
    assert "∂f/∂x = [2e-09, 4e-09]" in d.report(values={"x": [1, 2]})


@pytest.mark.parametrize("argv, message", [
    (["--value", X], "no value for A: the value of ∂f/∂x needs one for every variable "
                     "(x: vector (n), A: matrix (n×n)); give each with --value NAME=VALUES"),
    (["--value", "x=1,2,3", "--value", A], "dimension n is 3 from x but 2 from A"),
    (["--value", "x=1,2;3,4", "--value", A], "x is a vector (n) but its value has shape (2, 2)"),
    (["--value", "x=1,two", "--value", A], "bad --value 'x=1,two': the values must be numbers"),
    (["--value", "x", "--value", A], "bad --value 'x': write NAME=VALUES"),
    (["--value", "A=1,2;3", "--value", X], "the rows have different lengths"),
    (["--value", X, "--value", A, "--format", "numpy"], "--value and --values need --format"),
    (["--value", X, "--value", A, "--format", "latex", "--document"],
     "without --document"),
])
def test_errors(capsys, argv, message):
    status, out, err = run(capsys, "diff", "x'@A@x", "--wrt", "x", *argv)
    assert status == 2 and not out
    assert message in err, err


def test_missing_variable_of_a_mixed_derivative(capsys):
    status, _, err = run(capsys, "diff", "x'@A@y", "--wrt", "x", "--wrt", "y", "--order", "2",
                         "--value", X, "--value", "y=1,2,3")
    assert status == 2 and "no value for A: the value of ∂²f/∂x² needs" in err
