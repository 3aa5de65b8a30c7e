"""A function registered at run time (docs/extending.md) goes through every part of
matcalc: the parser, the chain rule, evaluation, verification, code generation, the
SymPy bridge, the printers, --steps and the command line."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import matcalc
from matcalc.cli import main
from matcalc.core import expr as E
from matcalc.ops import REGISTRY, SQRT, Form, Op, register, unregister
from matcalc.ops.registry import field_names

ROOT = Path(__file__).resolve().parent.parent


def arcsinh_op() -> Op:
    return Op(
        name="arcsinh", arity=1, category="elementwise",
        shape=lambda args: (args, args[0].shape), numpy=np.arcsinh,
        rule="element-wise function (scalar derivative rule, diagonal Jacobian)",
        doc="d arcsinh(x) = dx ⊘ sqrt(1 + x²)",
        derivative=lambda x: E.div(E.constant(1, x.shape), E.call(
            SQRT, E.add(E.constant(1, x.shape), E.power(x, E.num(2))))),
        code={"*": "{xp}.arcsinh({0})", "torch": "torch.asinh({0})"},
        sympy_scalar=lambda sp, z: sp.asinh(z),
        sympy_match=lambda sp, e: e.args if isinstance(e, sp.asinh) else None,
        unicode=Form("arcsinh"), latex=Form(r"\operatorname{arcsinh}"),
        applies="elementwise function", example=("arcsinh(x)", "x"))


@pytest.fixture
def arcsinh():
    assert "arcsinh" not in REGISTRY
    op = register(arcsinh_op())
    try:
        yield op
    finally:
        unregister("arcsinh")


# ------------------------------------------------------------------ helpers

def central_differences(f, values: dict, name: str, out_shape: tuple, h: float = 1e-6):
    """∂f/∂name at ``values`` by central differences: shape out_shape + shape of name."""
    x = np.asarray(values[name], dtype=float)
    jac = np.zeros(tuple(out_shape) + x.shape)
    for idx in np.ndindex(*x.shape):
        step = np.zeros_like(x)
        step[idx] = h
        hi = np.asarray(f({**values, name: x + step}))
        lo = np.asarray(f({**values, name: x - step}))
        jac[(Ellipsis,) + idx] = (hi - lo) / (2 * h)
    return jac


def sample(m: int, n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"W": rng.standard_normal((m, n)), "x": rng.standard_normal(n)}


CASES = [("sum(arcsinh(W @ x))", "W"), ("sum(arcsinh(W @ x))", "x"), ("arcsinh(x)", "x")]


def reference(expr: str):
    """The value of ``expr`` with NumPy alone."""
    if expr == "arcsinh(x)":
        return lambda v: np.arcsinh(v["x"])
    return lambda v: np.sum(np.arcsinh(v["W"] @ v["x"]))


# ------------------------------------------------------------------ the tests

def test_parse(arcsinh):
    e = matcalc.parse("2 * arcsinh(W @ x)")
    assert str(e) == "2 * arcsinh(W @ x)"
    assert e.shape == ("m",)
    assert matcalc.parse(str(e)) is e
    assert np.allclose(matcalc.evaluate("arcsinh(x)", {"x": np.array([0.0, 1.0])}),
                       np.arcsinh([0.0, 1.0]))


def test_unknown_once_unregistered():
    with pytest.raises(matcalc.ParseError, match="unknown function 'arcsinh'"):
        matcalc.parse("arcsinh(x)")


def test_diff(arcsinh):
    assert str(matcalc.diff("arcsinh(x)", "x")) == "diag(√(1 + x²)⁻¹)"
    dx = matcalc.diff("sum(arcsinh(W @ x))", "x")
    assert dx.kind == "gradient" and str(dx) == "√(1 + (Wx)²)⁻¹ᵀ W"
    dW = matcalc.diff("sum(arcsinh(W @ x))", "W")
    assert dW.kind == "gradient" and dW.display_shape() == ("m", "n")
    assert matcalc.diff("arcsinh(a)", "a").text(ascii=True) == "sqrt(1 + a^2)^-1"


@pytest.mark.parametrize("m, n", [(2, 2), (3, 3), (2, 3), (3, 2)])
@pytest.mark.parametrize("expr, wrt", CASES)
def test_evaluate_against_finite_differences(arcsinh, expr, wrt, m, n):
    d = matcalc.diff(expr, wrt)
    values = sample(m, n, seed=m * 10 + n)
    if expr == "arcsinh(x)":
        values = {"x": values["x"]}
    f = reference(expr)
    assert np.allclose(matcalc.evaluate(expr, values), f(values))
    out_shape = np.shape(f(values))
    got = d.evaluate(values)
    assert got.shape == out_shape + np.shape(values[wrt])
    assert np.allclose(got, central_differences(f, values, wrt, out_shape), atol=1e-6)


@pytest.mark.parametrize("expr, wrt", CASES)
def test_verify(arcsinh, expr, wrt):
    report = matcalc.diff(expr, wrt).verify(dims=(2, 3))
    assert report.ok, str(report)
    symbolic = [c for c in report if c.name.startswith("symbolic")]
    assert symbolic and all(c.status == "holds" for c in symbolic), str(report)
    assert [c.status for c in report if c.name == "numeric"] == ["holds"], str(report)


def test_verify_catches_a_wrong_derivative():
    wrong = dataclasses.replace(arcsinh_op(), derivative=lambda x: E.constant(1, x.shape))
    register(wrong)
    try:
        report = matcalc.diff("arcsinh(x)", "x").verify(dims=(2,))
        assert not report.ok
    finally:
        unregister("arcsinh")


def _compiled(source: str, name: str):
    namespace: dict = {}
    exec(compile(source, "<generated>", "exec"), namespace)
    return namespace[name]


@pytest.mark.parametrize("expr, wrt", CASES)
def test_numpy_code(arcsinh, expr, wrt):
    d = matcalc.diff(expr, wrt)
    values = sample(3, 2)
    if expr == "arcsinh(x)":
        values = {"x": values["x"]}
    source = d.to_code()
    fn = _compiled(source, f"d_f_d_{wrt}")
    args = [values[k] for k in ("W", "x") if k in values]
    assert np.allclose(fn(*args), d.evaluate(values))
    value, grad = _compiled(d.to_code(with_value=True), f"f_and_d_f_d_{wrt}")(*args)
    assert "np.arcsinh(" in d.to_code(with_value=True)
    assert np.allclose(value, reference(expr)(values))
    assert np.allclose(grad, d.evaluate(values))


@pytest.mark.parametrize("target", ["jax", "torch"])
def test_jax_and_torch_code(arcsinh, target):
    d = matcalc.diff("sum(arcsinh(W @ x))", "x")
    source = d.to_code(target, with_value=True)
    assert ("torch.asinh(" if target == "torch" else "jnp.arcsinh(") in source
    if target == "jax":
        pytest.importorskip("jax")
        import jax
        jax.config.update("jax_enable_x64", True)
    else:
        pytest.importorskip("torch")
    values = sample(3, 2)
    value, grad = _compiled(source, "f_and_d_f_d_x")(values["W"], values["x"])
    assert np.allclose(np.asarray(value), np.sum(np.arcsinh(values["W"] @ values["x"])))
    assert np.allclose(np.asarray(grad), d.evaluate(values))


def test_sympy(arcsinh):
    import sympy as sp
    a = sp.Symbol("a", real=True)
    assert str(matcalc.from_sympy(sp.asinh(a))) == "arcsinh(a)"
    d = matcalc.diff("arcsinh(a)", "a")
    assert sp.simplify(d.to_sympy() - 1 / sp.sqrt(1 + a ** 2)) == 0


def test_latex(arcsinh):
    d = matcalc.diff("a * arcsinh(x)", "a")
    assert r"\operatorname{arcsinh}" in d.latex()
    assert d.latex() == (r"\frac{\partial f}{\partial a} = "
                         r"\operatorname{arcsinh}\left( \mathbf{x} \right)")
    assert r"\operatorname{arcsinh}" in matcalc.parse("arcsinh(x)")._repr_latex_()


def test_steps(arcsinh):
    d = matcalc.diff("sum(arcsinh(W @ x))", "x")
    text = d.steps_text()
    assert "u₂ = arcsinh(u₁)  (m): element-wise function (scalar derivative rule, " \
           "diagonal Jacobian)" in text
    assert "arcsinh" in d.steps_text(fmt="ascii")
    assert r"\operatorname{arcsinh}" in d.steps_text(fmt="latex")


def test_cli(arcsinh, capsys):
    assert main(["diff", "sum(arcsinh(W @ x))", "--wrt", "x"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "∂f/∂x = √(1 + (Wx)²)⁻¹ᵀ W"
    assert main(["diff", "arcsinh(x)", "--wrt", "x", "--steps"]) == 0
    assert "arcsinh(x)" in capsys.readouterr().out
    assert main(["diff", "sum(arcsinh(W @ x))", "--wrt", "W", "--verify"]) == 0
    out = capsys.readouterr().out
    assert "verify d/dW:" in out and "fails" not in out
    assert main(["diff", "sum(arcsinh(W @ x))", "--wrt", "x", "--format", "torch"]) == 0
    assert "torch" in capsys.readouterr().out
    assert main(["parse", "arcsinh(x)"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "arcsinh(x)"


def test_rules_page_lists_it(arcsinh):
    from matcalc.rules_doc import rules_markdown
    text = rules_markdown()
    assert ("### `arcsinh`: element-wise function (scalar derivative rule, diagonal "
            "Jacobian)") in text
    assert '\nmatcalc diff "arcsinh(x)" --wrt x\n∂f/∂x = diag(√(1 + x²)⁻¹)\n' in text


# ------------------------------------------------------------------ register's checks

def test_register_refuses_an_op_without_a_derivative():
    op = dataclasses.replace(arcsinh_op(), derivative=None)
    with pytest.raises(matcalc.UsageError, match="the op arcsinh lacks derivative or jvp"):
        register(op)
    assert "arcsinh" not in REGISTRY


def test_register_refuses_a_name_taken(arcsinh):
    with pytest.raises(matcalc.UsageError, match="an op named arcsinh is registered already"):
        register(arcsinh_op())
    assert REGISTRY["arcsinh"] is arcsinh
    with pytest.raises(matcalc.UsageError, match="an op named exp is registered already"):
        register(dataclasses.replace(arcsinh_op(), name="exp"))


def test_register_refuses_other_incomplete_records():
    base = arcsinh_op()
    for changes, missing in [
        (dict(code={}), "code"),
        (dict(sympy_scalar=None), "sympy_scalar"),
        (dict(doc=""), "doc"),
        (dict(category="scalar"), "category"),
        (dict(kink=lambda args: args[0]), "explicit_kinked"),
    ]:
        with pytest.raises(matcalc.UsageError, match=missing):
            register(dataclasses.replace(base, **changes))
    with pytest.raises(matcalc.UsageError, match="name of the language"):
        register(dataclasses.replace(base, name="not a name"))
    assert "arcsinh" not in REGISTRY


def test_extending_md_lists_every_field():
    page = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    for name in field_names():
        assert f"`{name}`" in page, name
    assert "python -m matcalc.rules_doc" in page


def test_register_refuses_what_is_not_an_op_and_a_bad_notation():
    with pytest.raises(matcalc.UsageError, match="register\\(\\) needs an Op, not dict"):
        register({"name": "arcsinh"})
    with pytest.raises(matcalc.UsageError, match="unknown notation style 'infix'"):
        Form("asinh", "infix")


def test_a_target_without_code_is_a_clear_error():
    op = register(dataclasses.replace(arcsinh_op(), code={"numpy": "{xp}.arcsinh({0})"}))
    try:
        d = matcalc.diff("sum(arcsinh(x))", "x")
        assert "np.arcsinh(" in d.to_code("numpy", with_value=True)
        with pytest.raises(matcalc.MatcalcError,
                           match=r"no jax code for the function arcsinh\(\)"):
            d.to_code("jax", with_value=True)
    finally:
        unregister(op.name)
