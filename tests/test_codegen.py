"""Generated code (matcalc.codegen) against the reference Derivative.evaluate."""
import re

import numpy as np
import pytest

import matcalc
from matcalc.core import expr as E
from matcalc.cli import main
from matcalc.errors import DiffError, UsageError

# (expression, wrt, order, source)
CASES = [
    ("sum(w*x+b)", "w", 1, "paper: neuron, gradient by the weights"),
    ("sum(w*x+b)", "b", 1, "paper: neuron, derivative by the bias"),
    ("x'@A@x", "x", 1, "Cookbook (81): quadratic form"),
    ("tr(A@X@B)", "X", 1, "Cookbook (100)"),
    ("logdet(X)", "X", 1, "Cookbook (57)"),
    ("det(X)", "X", 1, "Cookbook (49)"),
    ("norm2(A@x - y)^2", "x", 1, "least squares"),
    ("softmax(x)", "x", 1, "softmax Jacobian"),
    ("tanh(W@x)", "x", 1, "layer Jacobian"),
    ("mean((y - max(0, X@w + b))^2)", "w", 1, "paper: ReLU neuron loss"),
    ("sum(log(1 + exp(-y * (X@w))))", "w", 1, "logistic loss"),
    ("x'@A@x", "x", 2, "Hessian of the quadratic form: A + Aᵀ"),
    ("norm2(A@x - y)^2", "x", 2, "Hessian of least squares: 2 AᵀA"),
    ("sum(tanh(W2 @ tanh(W1 @ x)))", "W1", 1, "two-layer network"),
    ("x' @ diag(v) @ A @ y", "v", 1, "diag inside a chain"),
    ("logsumexp(W@x) + sum(sigmoid(x)) + norm1(x)", "x", 1, "reductions"),
    ("tr(inv(X) @ A)", "X", 1, "Cookbook (63)"),
    ("u @ v' @ x", "x", 1, "outer product in a chain"),
    ("sum(exp(A) * B)", "A", 1, "element-wise gradient by a matrix"),
    ("sum(log(1 + exp(-y * (X@w))))", "w", 2, "logistic Hessian: Xᵀ diag(·) X"),
    ("sum(tanh(W@x)) + x'@x", "x", 2, "Hessian with diag terms and an identity"),
]

SIZES = (2, 3, 4)


def _values(d, seed=0):
    rng = np.random.default_rng(seed)
    dims: dict = {}
    vals = {}
    for v in E.variables(d.f) + [d.wrt]:
        if v.name in vals:
            continue
        shape = tuple(dims.setdefault(x, SIZES[len(dims) % 3]) if isinstance(x, str) else x
                      for x in v.shape)
        a = rng.normal(size=shape)
        if len(shape) == 2 and shape[0] == shape[1] and v.name == "X":
            a = a @ a.T + 3 * np.eye(shape[0])  # well conditioned, positive determinant
        vals[v.name] = a
    return vals


@pytest.mark.parametrize("text, wrt, order, source", CASES, ids=[c[0] + " d" + c[1] + str(c[2])
                                                               for c in CASES])
def test_generated_numpy_equals_evaluate(text, wrt, order, source):
    d = matcalc.diff(text, wrt, order=order)
    fn = matcalc.lambdify(d)
    args = [v.name for v in E.variables(d.f)]
    assert re.search(r"def \w+\(" + ", ".join(args), fn.__source__)
    for seed in range(3):
        vals = _values(d, seed)
        ref = d.evaluate(vals)
        got = fn(*[vals[a] for a in args])
        assert got.shape == ref.shape, (source, got.shape, ref.shape)
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12, err_msg=source)


@pytest.mark.parametrize("text, wrt, order, source", CASES[:13])
def test_with_value_returns_f_and_derivative(text, wrt, order, source):
    d = matcalc.diff(text, wrt, order=order)
    fn = matcalc.lambdify(d, with_value=True)
    args = [v.name for v in E.variables(d.f)]
    vals = _values(d, 1)
    f, g = fn(*[vals[a] for a in args])
    np.testing.assert_allclose(f, matcalc.evaluate(d.f, vals), rtol=1e-9)
    np.testing.assert_allclose(g, d.evaluate(vals), rtol=1e-9, atol=1e-12)


def test_quadratic_form_gradient_is_two_matvecs():
    src = matcalc.diff("x'@A@x", "x").to_code()
    assert "diag(" not in src
    assert "A + A.T" not in src and "(A + A.T) @" not in src
    assert "A @ x" in src and "x @ A" in src and ".T @ x" not in src  # no transposed copy (JAX)


def test_diag_is_never_dense_in_a_product():
    src = matcalc.diff("tanh(W@x)", "x").to_code()
    assert "diag(" not in src and "[:, None] *" in src
    src = matcalc.diff("sum(tanh(W2 @ tanh(W1 @ x)))", "W1").to_code()
    assert "diag(" not in src and "eye(" not in src


def test_shared_subexpressions_computed_once():
    src = matcalc.diff("sum(log(1 + exp(-y * (X@w))))", "w").to_code()
    assert src.count("np.exp(") == 1
    d = matcalc.diff("norm2(A@x - y)^2", "x")
    src = matcalc.backends.codegen.to_code(d, with_value=True)
    body = src.split('"""')[-1]
    assert body.count("A @ x") == 1 and "sqrt" not in body


def test_zero_derivative():
    d = matcalc.diff("sum(x)", "y", shapes={"y": "n"})
    fn = matcalc.lambdify(d)
    assert fn(np.ones(3), np.ones(3)).shape == (3,)


def test_differential_from_its_kronecker_form():
    d = matcalc.diff("W@x", "W")
    assert d.kind == "differential"
    src = d.to_code()
    assert "np.kron" in src and "order='F'" in src
    rng = np.random.default_rng(3)
    W, x = rng.normal(size=(2, 3)), rng.normal(size=3)
    np.testing.assert_allclose(matcalc.lambdify(d)(W, x), d.evaluate({"W": W, "x": x}))


def test_differential_without_kronecker_form_is_refused_clearly():
    d = matcalc.diff("X*X", "X")
    assert d.kind == "differential"
    with pytest.raises(DiffError, match="no Kronecker form"):
        d.to_code()
    with pytest.raises(DiffError, match="NumPy only"):
        matcalc.diff("W@x", "W").to_code(target="jax")


def _golden():
    from test_golden import CASES
    return CASES


@pytest.mark.parametrize("source,text,wrt,shapes,expected", _golden(),
                         ids=[c[0] for c in _golden()])
def test_generated_code_on_the_golden_table(source, text, wrt, shapes, expected):
    """Every derivative of the differentiator's golden table, generated NumPy code
    against Derivative.evaluate, with dimensions of different sizes."""
    import inspect

    import oracle
    d = matcalc.diff(text, wrt, shapes=shapes)
    fn = matcalc.lambdify(d)
    vals = oracle.random_values(d.f, d.wrt, np.random.default_rng(11))
    got = fn(*[vals[p] for p in inspect.signature(fn).parameters])
    want = d.evaluate(vals)
    assert np.shape(got) == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10, err_msg=source)


def test_unknown_target():
    with pytest.raises(UsageError):
        matcalc.diff("x'@x", "x").to_code(target="fortran")


@pytest.mark.parametrize("target", ["jax", "torch"])
def test_other_targets_generate_the_same_structure(target):
    src = matcalc.diff("x'@A@x", "x").to_code(target=target)
    compile(src, "<gen>", "exec")
    assert "A @ x" in src and "x @ A" in src


@pytest.mark.parametrize("target, module", [("jax", "jax"), ("torch", "torch")])
def test_other_targets_run_if_installed(target, module):
    pytest.importorskip(module)
    for text, wrt, order, source in CASES[:13]:
        d = matcalc.diff(text, wrt, order=order)
        fn = matcalc.lambdify(d, target=target)
        args = [v.name for v in E.variables(d.f)]
        vals = _values(d)
        got = np.asarray(fn(*[vals[a] for a in args]), dtype=float)
        np.testing.assert_allclose(got, d.evaluate(vals), rtol=1e-4, atol=1e-5, err_msg=source)


def test_cli_prints_code(capsys):
    assert main(["diff", "sum(w*x+b)", "--wrt", "w", "--format", "numpy"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("import numpy as np") and "def d_f_d_w(w, x, b):" in out
    assert main(["diff", "x'@A@x", "--wrt", "x", "--format", "jax"]) == 0
    assert "jnp" in capsys.readouterr().out
