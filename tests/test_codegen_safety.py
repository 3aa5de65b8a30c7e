"""Generated code is safe and right: no input text runs as code, temporaries cannot
be confused with variables, NumPy semantics (inf/nan, never a Python exception), the
numeric contract's shape always, no recursion on deep expressions.

Every generated function is checked against Derivative.evaluate with dimensions of
sizes 2 and 3 (a missing transpose shows). jax and torch are not installed here:
their source is compiled, not run.
"""
import ast
import re
import sys

import numpy as np
import pytest
import sympy as sp

import matcalc
from matcalc.backends import codegen
from matcalc.core import expr as E
from matcalc.cli import main
from matcalc import ops
from matcalc.calculus.result import Derivative, Kind
from matcalc.errors import MatcalcError, UsageError, quote

import oracle
from threads import on_a_small_stack
from test_golden import CASES as GOLDEN

TARGETS = ("numpy", "jax", "torch")
SIZES = {"n": 2, "m": 3}


# ------------------------------------------------------------------ helpers

def _params(d) -> list:
    """The variables the generated function takes, in order: f's, then wrt, then any
    other the derivative uses (as codegen documents)."""
    out: list = []
    for v in E.variables(d.f) + [d.wrt] + E.variables(d.expr):
        if v not in out and not v.tangent:
            out.append(v)
    return out


def _sizes(d) -> dict:
    """A size for every symbolic dimension: n is 2, m is 3, any other 4, 5..."""
    sizes = dict(SIZES)
    for v in _params(d):
        for s in v.shape:
            if isinstance(s, str) and s not in sizes:
                sizes[s] = len(sizes) + 2
    return sizes


def _concrete(shape, sizes) -> tuple:
    return tuple(sizes[s] if isinstance(s, str) else s for s in shape)


def _values(d, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    sizes = _sizes(d)
    vals = {}
    for v in _params(d):
        shape = _concrete(v.shape, sizes)
        vals[v.name] = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return vals


def _agree(d, with_value=False, seed=0):
    """The generated NumPy function equals evaluate (and f, with with_value)."""
    fn = matcalc.lambdify(d, with_value=with_value)
    vals = _values(d, seed)
    with np.errstate(all="ignore"):
        got = fn(*[vals[v.name] for v in _params(d)])
        want = d.evaluate(vals)
    if with_value:
        fval, got = got
        np.testing.assert_allclose(fval, matcalc.evaluate(d.f, vals), rtol=1e-9)
    assert got.shape == want.shape == _concrete(d.shape, _sizes(d))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)
    return fn


def _compiles_everywhere(d, with_value=False):
    for target in TARGETS:  # a differential too: einsum over its index form, everywhere
        src = codegen.to_code(d, target=target, with_value=with_value)
        compile(src, f"<{target}>", "exec")
        assert "\x00" not in src


def _docstring(src: str) -> str:
    fn = next(n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef)
              and not n.name.startswith("_"))
    return ast.get_docstring(fn)


def _without_docstring(src: str) -> str:
    """The source without its docstrings and its shape-check message (the other
    string, a repr, that names the variables' shapes)."""
    tree = ast.parse(src)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and ast.get_docstring(node) is not None:
            node.body = node.body[1:]
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value.startswith(SHAPE_MESSAGE):
            node.value = SHAPE_MESSAGE
    return ast.unparse(tree)


SHAPE_MESSAGE = "the arguments must have the shapes "


def _check_structure(src: str) -> None:
    """Nothing in the generated function but checked identifiers and fixed text: every
    parameter is an identifier Python reads as itself, every name is a parameter, a
    module alias, the builtin float, ValueError (the shape check), a helper or a
    temporary, and the only strings are order='F', an einsum's indices and the shape
    check's message."""
    main_fn = next(n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef)
                   and not n.name.startswith("_"))
    params = {a.arg for a in main_fn.args.args}
    assert all(codegen._usable(p) for p in params)
    for node in ast.walk(ast.Module(body=main_fn.body[1:], type_ignores=[])):
        if isinstance(node, ast.Name):
            assert node.id in params or node.id in ("np", "jnp", "torch", "float",
                                                    "ValueError") \
                or node.id.startswith("_"), node.id
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert node.value == "F" or node.value.startswith(SHAPE_MESSAGE) \
                or re.fullmatch(r"[a-zA-Z,]*->[a-zA-Z]*", node.value), node.value


def _renamed(text, shapes, old, new):
    """Parse ``text`` and give the variable ``old`` the name ``new`` (a name the
    parser would read as something else: a function, a keyword...)."""
    f = matcalc.parse(text, shapes)
    v = next(v for v in E.variables(f) if v.name == old)
    return E.substitute(f, {v: E.var(new, v.shape)})


# ------------------------------------------------------------ hostile input

HOSTILE = ['1 2', 'x"""; open("SENTINEL","w"); """', "x'''; open('SENTINEL','w'); '''",
           "__import__('os').system('touch SENTINEL')", 'x\n"""\nopen("SENTINEL","w")#']


def _hostile_sympy(name):
    n = sp.Symbol("n", integer=True, positive=True)
    bad_dim = sp.Symbol(name, integer=True, positive=True)
    x, y = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("y", bad_dim, 1)
    v = sp.MatrixSymbol(name, n, 1)
    return [v.T * v, (x.T * v) * sp.Symbol(name), y.T * y, sp.Symbol(name) ** 2 * bad_dim]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_sympy_names_never_run(name, tmp_path, monkeypatch):
    """from_sympy may refuse a name (MatcalcError); if it lets one through, the code
    generated for it is safe and right. Either way the sentinel never appears."""
    monkeypatch.chdir(tmp_path)
    for expr in _hostile_sympy(name):
        try:
            f = matcalc.from_sympy(expr)
        except MatcalcError:
            continue
        for v in E.variables(f):
            d = matcalc.diff(f, v)
            _compiles_everywhere(d, with_value=True)
            _agree(d, with_value=True)
    assert not (tmp_path / "SENTINEL").exists()


def _raw_var(name, shape):
    """A variable whose name bypasses validation (codegen must not rely on it)."""
    return E._make(E.Var, (name, tuple(shape), False, None), (), tuple(shape))


@pytest.mark.parametrize("name", HOSTILE + ["u₁", "lambda", "_t1", "x\x00"])
def test_codegen_is_safe_even_without_validation(name, tmp_path, monkeypatch):
    """Variables and dimensions with any text at all (built past the checks): the
    text appears only in the docstring, as a repr, and nothing runs."""
    monkeypatch.chdir(tmp_path)
    bad_dim = name if name != "u₁" else "n"
    v = _raw_var(name, (bad_dim,))
    w = _raw_var("w", (bad_dim,))
    u1 = _raw_var("u1", (bad_dim,))
    f = E.call(ops.SUM, E.mul(v, E.call(ops.EXP, w), u1))
    d = Derivative(f, v, Kind.GRADIENT, E.mul(E.call(ops.EXP, w), u1))
    for target in TARGETS:
        src = codegen.to_code(d, target=target, with_value=True)
        compile(src, "<gen>", "exec")
        _check_structure(src)
        if not name.isidentifier():
            assert name not in _without_docstring(src)
        if name.isprintable():
            assert name in _docstring(src)
    fn = matcalc.lambdify(d, with_value=True)
    vals = {name: np.array([1.0, 2.0]), "w": np.array([0.5, -0.2]), "u1": np.array([3.0, 4.0])}
    fval, g = fn(*[vals[p.name] for p in _params(d)])
    np.testing.assert_allclose(g, d.evaluate(vals))
    np.testing.assert_allclose(fval, np.sum(vals[name] * np.exp(vals["w"]) * vals["u1"]))
    assert not (tmp_path / "SENTINEL").exists()


@pytest.mark.parametrize("bad", ["", "1x", "x y", "lambda", "match", "case", "_", "sum",
                                 "float", "np", "jnp", "torch", "_private", "é",
                                 "f():\n    pass\nimport os\ndef g", "x\x00", 42, b"f"])
def test_bad_function_names_are_refused(bad):
    d = matcalc.diff("x'@A@x", "x")
    with pytest.raises(UsageError) as err:
        codegen.to_code(d, name=bad)
    assert quote(bad) in err.value.message


def test_good_function_name():
    d = matcalc.diff("x'@A@x", "x")
    src = codegen.to_code(d, name="grad_quadratic")
    assert "def grad_quadratic(x, A):" in src


def test_a_variable_cannot_look_like_a_temporary():
    with pytest.raises(UsageError):
        E.var("_t1")
    with pytest.raises(MatcalcError):
        matcalc.parse("_t1 + x")


def test_dimension_names_appear_in_the_docstring_only():
    d = matcalc.diff("sum(tanh(W @ x))", "W", shapes={"W": ("kdim", "ldim")})
    for target in ("numpy", "jax", "torch"):
        src = codegen.to_code(d, target=target)
        rest = _without_docstring(src)
        assert "kdim" not in rest and "ldim" not in rest
        assert "kdim×ldim" in _docstring(src)
    _agree(matcalc.diff("sum(tanh(W @ x))", "W", shapes={"W": ("n", "m")}))


def test_the_docstring_is_a_repr():
    d = matcalc.diff("x'@A@x", "x")
    src = codegen.to_code(d)
    doc = _docstring(src)
    assert doc.startswith("∂f/∂x of f = ")
    assert f"    {doc!r}" in src.splitlines()


# ---------------------------------------------------------------- renaming

NAMES = ["t1", "t2", "lambda", "sum", "np", "jnp", "jax", "torch", "float", "match",
         "case", "type", "abs", "print", "v1", "d_f_d_x"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("wrt", ["q", "x"])
def test_variables_named_like_code(name, wrt):
    """A variable named like a temporary, a keyword, a builtin or a module alias:
    the generated function still agrees with evaluate (n=2, m=3)."""
    shapes = {"q": ("n",), "A": ("n", "m"), "x": ("m",)}
    f = _renamed("sum(q * exp(A @ x)) + q' @ A @ x + sum(q) * norm2(x)", shapes, "q", name)
    d = matcalc.diff(f, name if wrt == "q" else wrt)
    _compiles_everywhere(d, with_value=True)
    fn = _agree(d)
    _agree(d, with_value=True)
    doc = _docstring(fn.__source__)
    if not codegen._usable(name):
        assert f"is the variable {name}." in doc


def test_renaming_never_collides():
    shapes = {"a": ("n",), "b": ("n",), "c": ("n",)}
    f = matcalc.parse("sum(a * b * exp(c))", shapes)
    a, b, c = E.variables(f)
    f = E.substitute(f, {a: E.var("lambda", ("n",)), b: E.var("lambda_", ("n",)),
                         c: E.var("u₁", ("n",))})
    f = E.add(f, E.call(ops.SUM, E.var("u1", ("n",))))
    d = matcalc.diff(f, "lambda")
    src = _agree(d).__source__
    assert "(lambda__, lambda_, u1_, u1):" in src
    doc = _docstring(src)
    assert "Parameter lambda__ is the variable lambda." in doc
    assert "Parameter u1_ is the variable u₁." in doc


# -------------------------------------------------- temporaries and wrong numbers

def test_a_variable_named_t1_is_not_a_temporary():
    d = matcalc.diff("sum(t1*exp(x))", "x")
    _agree(d)
    _agree(d, with_value=True)
    d = matcalc.diff("sum(t1 * exp(t2) + t2 * exp(t1))", "t1")
    _agree(d)


def test_cli_norm2_of_t1(capsys):
    assert main(["diff", "norm2(t1)", "--wrt", "t1", "--format", "numpy"]) == 0
    src = capsys.readouterr().out
    namespace: dict = {}
    exec(compile(src, "<cli>", "exec"), namespace)
    np.testing.assert_allclose(namespace["d_f_d_t1"](np.array([3.0, 4.0])), [0.6, 0.8])


def test_dead_code_and_helpers_only_when_used():
    src = matcalc.diff("tr(A@B)", "A").to_code()
    assert "@" not in src and "_t1" not in src
    src = matcalc.diff("x'@A@x", "x").to_code()
    assert "def _full" not in src and "def _softmax" not in src and "A + A.T" not in src
    src = matcalc.diff("softmax(x)", "x").to_code()
    assert "def _softmax" in src and "def _logsumexp" not in src


def test_long_products_and_sums_compile():
    """A product or sum of many terms is split: Python's compiler recurses on a chain
    of binary operators."""
    terms = " + ".join(f"sin({i}*x)" for i in range(1, 1200))
    d = matcalc.diff(terms, "x", shapes={"x": ()})
    _agree(d)
    prod = E.mul(*[E.call(ops.COS, E.scale(i, E.var("x", ("n",)))) for i in range(1, 1200)])
    y = E.var("y")
    d = matcalc.diff(E.mul(y, E.call(ops.SUM, prod)), y)  # the derivative is sum(prod)
    assert len(d.expr.args[0].args) == 1199
    _agree(d, with_value=True)


def test_long_matrix_chain():
    text = "x' @ " + " @ ".join(["A"] * 60) + " @ y"
    for wrt in ("x", "A"):
        d = matcalc.diff(text, wrt, shapes={"A": ("n", "n")})
        fn = matcalc.lambdify(d, with_value=True)
        rng = np.random.default_rng(2)
        vals = {"x": rng.normal(size=2), "A": rng.normal(size=(2, 2)) / 2,
                "y": rng.normal(size=2)}
        fval, g = fn(*[vals[v.name] for v in _params(d)])
        np.testing.assert_allclose(g, d.evaluate(vals), rtol=1e-9, atol=1e-30)


# ------------------------------------------------------- NumPy semantics

@pytest.mark.parametrize("text, want", [
    ("x * (1e300*1e300)", np.inf),          # beyond float64: np.inf, never "inf"
    ("-(1e300*1e300) * x", -np.inf),
    ("x * 2^5000", np.inf),                 # Python's 2.0 ** 5000 raises OverflowError
    ("x * (-8)^(1/3)", np.nan),             # Python's (-8.0) ** (1/3) is complex
    ("x / 1e-310", np.inf),
    ("x * (1e300*1e300)^(1/2)", np.inf),
    ("x ^ (2^5000)", np.inf),
])
def test_numpy_semantics_never_an_exception(text, want):
    d = matcalc.diff(text, "x", shapes={"x": ()})
    _compiles_everywhere(d, with_value=True)
    src = d.to_code()
    assert "inf" not in src.replace("np.inf", "")
    fn = matcalc.lambdify(d)
    with np.errstate(all="ignore"):
        got = fn(1.5)
        np.testing.assert_equal(got, d.evaluate({"x": 1.5}))
    np.testing.assert_equal(got, want)


def test_sizes_are_numpy_values():
    d = matcalc.diff("mean(x) * 2^(sum(ones(n)) * 2000)", "x", shapes={"x": ("n",)})
    src = d.to_code()
    assert "np.float64(x.shape[0])" in src and "float(x" not in src
    with np.errstate(all="ignore"):
        got = matcalc.lambdify(d)(np.ones(2))
    assert got.shape == (2,) and np.all(np.isinf(got))


# ------------------------------------------------------------ depth

def _deep(n: int) -> str:
    return "sin(" * n + "x" + ")" * n


def test_ten_thousand_deep_expression():
    """A 10,000-deep f (and its value) at the default recursion limit: generated
    without recursion, and compiled (inlining keeps the nesting shallow)."""
    assert sys.getrecursionlimit() < 10000  # recursion could not do it
    d = matcalc.diff("y * sum(" + _deep(10000) + ")", "y", shapes={"y": ()})
    assert d.f.depth > 10000
    on_a_small_stack(lambda: (_compiles_everywhere(d, with_value=True),
                               _agree(d, with_value=True)))


def test_deep_derivative_a_product_of_thousands_of_factors():
    """d sum(sin(sin(...x))) = a product of 10,000 cosines of 10,000-deep arguments,
    built with the constructors."""
    x = E.var("x", ("n",))
    chain = [x]
    for _ in range(10000):
        chain.append(E.call(ops.SIN, chain[-1]))
    grad = E.mul(*[E.call(ops.COS, a) for a in chain[:-1]])
    d = Derivative(E.call(ops.SUM, chain[-1]), x, Kind.GRADIENT, grad)
    on_a_small_stack(lambda: (_compiles_everywhere(d, with_value=True),
                               _agree(d, with_value=True)))


def test_deep_derivative_from_diff():
    d = matcalc.diff("sum(" + _deep(1000) + ")", "x")
    _agree(d, with_value=True)


def test_the_audit_deep_case():
    d = matcalc.diff("sum(" + _deep(10000) + ")", "x")
    _compiles_everywhere(d)
    _agree(d, with_value=True)


# ------------------------------------------------------------ shapes

@pytest.mark.parametrize("text, wrt, shapes", [
    ("x @ ones(3) .^ b", "x", None),        # the derivative is 1 ^ b: a scalar
    ("x @ ones(3) .^ b", "b", None),
    ("sum(x)", "y", {"y": ("m",)}),
    ("sum(x) + 0 * sum(A)", "A", {"A": ("n", "m")}),
    ("c * x", "x", {"c": ()}),
    ("sum(x * c)", "c", {"c": ()}),
    ("x'@A@x", "x", None),
    ("W @ x", "W", {"W": ("m", "n")}),
])
def test_the_result_has_the_contract_shape(text, wrt, shapes):
    d = matcalc.diff(text, wrt, shapes=shapes)
    _compiles_everywhere(d, with_value=True)
    _agree(d)
    _agree(d, with_value=True)


def test_the_with_value_audit_case():
    d = matcalc.diff("(x-y)'@(x-y)", "x")
    fn = _agree(d, with_value=True)
    fval, g = fn(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 1.0]))
    assert fval.shape == () and float(fval) == 6.0
    np.testing.assert_allclose(g, [2.0, 2.0, 4.0])


@pytest.mark.parametrize("source,text,wrt,shapes,expected", GOLDEN,
                         ids=[c[0] for c in GOLDEN])
def test_with_value_on_the_golden_table(source, text, wrt, shapes, expected):
    d = matcalc.diff(text, wrt, shapes=shapes)
    fn = matcalc.lambdify(d, with_value=True)
    vals = oracle.random_values(d.f, d.wrt, np.random.default_rng(5))
    fval, g = fn(*[vals[v.name] for v in _params(d)])
    want_f = matcalc.evaluate(d.f, vals)
    want = d.evaluate(vals)
    assert np.shape(fval) == want_f.shape and np.shape(g) == want.shape
    np.testing.assert_allclose(fval, want_f, rtol=1e-8, atol=1e-10, err_msg=source)
    np.testing.assert_allclose(g, want, rtol=1e-8, atol=1e-10, err_msg=source)
    _compiles_everywhere(d, with_value=True)


@pytest.mark.parametrize("text, wrt, shapes", [
    ("x'@A@x", "x", None), ("sum(x^3)", "x", None), ("logsumexp(x)", "x", None),
    ("norm2(A@x-b)^2", "x", {"b": ("m",)}), ("sin(x)*x^3", "x", {"x": ()}),
])
def test_with_value_on_hessians(text, wrt, shapes):
    d = matcalc.diff(text, wrt, shapes=shapes, order=2)
    _compiles_everywhere(d, with_value=True)
    _agree(d, with_value=True)
