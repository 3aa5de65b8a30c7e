"""Generated code is right for every name a user can give: variables and dimensions
named like Python's keywords and soft keywords, builtins, the module aliases, and the
names the generated code uses itself (the cotangent G, the direction dW, the check
keyword, the function's own name, the helpers and temporaries), in every form
(dense, einsum, jvp, vjp), with and without the value and the self-check, on every
target (JAX and torch where installed).

For each: the code compiles, runs and equals Derivative.evaluate (contracted with the
direction or the cotangent for jvp and vjp); every parameter is an identifier Python
reads as itself; the docstring says which parameter is which variable; and no input
text reaches the source but as an identifier so checked or inside a string literal
(a repr), which the injection tests below try to break.
"""
from __future__ import annotations

import ast
import builtins
import functools
import inspect
import keyword
import subprocess
import sys

import numpy as np
import pytest

import matcalc
from matcalc import ops
from matcalc.backends import codegen
from matcalc.calculus.result import Derivative, Kind
from matcalc.cli import main
from matcalc.core import expr as E

TARGETS = ("numpy", "jax", "torch")
FORMS = codegen.FORMS
BUILTINS = frozenset(dir(builtins))
ALIASES = {"numpy": {"np"}, "jax": {"jnp", "np"}, "torch": {"torch"}}

# names a variable or a dimension may have that generated code must not confuse
NAMES = sorted(set(
    ["lambda", "def", "class", "in", "is", "match", "case", "type", "None", "True", "if",
     "yield", "async", "await",                                  # keywords, soft keywords
     "sum", "max", "abs", "len", "print", "float", "id", "input", "tuple", "range",
     "ValueError", "TypeError", "exec", "self",                  # builtins
     "np", "jnp", "jax", "torch",                                # module aliases
     "G", "G_", "dW", "dW_", "check", "check_", "d_f_d_W", "jvp_d_f_d_W", "f_and_d_f_d_W",
     "vjp_d_f_d_W", "d2_f_d_x2", "t1", "v1", "h", "d", "fn", "args", "result", "primal",
     "eps", "shape", "a"]))                                      # generated code's own
# names no variable can take (they start with _), given past the checks
RAW_NAMES = ["_result", "_t1", "_t", "_full", "_check", "_primal", "_out", "_value",
             "_softmax", "_tanh", "_"]


@pytest.fixture(scope="module", autouse=True)
def _jax_float64():
    try:
        import jax
    except ImportError:
        yield
        return
    before = jax.config.values["jax_enable_x64"]
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)


def _need(target):
    if target != "numpy":
        pytest.importorskip(target)


def _var(name, shape):
    """A variable of any name: through the constructor where it allows the name, else
    built past the checks (codegen must not rely on them)."""
    try:
        return E.var(name, shape)
    except matcalc.MatcalcError:
        return E._make(E.Var, (name, tuple(shape), False, None), (), tuple(shape))


def _renamed(text, shapes, mapping):
    """``text`` parsed, then its variables renamed (old -> new name)."""
    f = matcalc.parse(text, shapes)
    return E.substitute(f, {v: _var(mapping[v.name], v.shape)
                            for v in E.variables(f) if v.name in mapping})


@functools.lru_cache(maxsize=None)
def _derivatives(name):
    """Derivatives in which ``name`` is the variable differentiated by, another
    variable (a matrix, a vector beside W and x, a scalar), and a dimension."""
    out = []
    raw = name.startswith("_")  # no tangent can be built for it: never differentiated by
    q = _renamed("tanh(Q @ x) * sum(Q) + softmax(Q @ x)", {"Q": ("m", "n")}, {"Q": name})
    if not raw:
        out.append(matcalc.diff(q, name))                  # vector by a matrix
    f = _renamed("sum(exp(Q @ x)) + x'@x", {"Q": ("m", "n")}, {"Q": name})
    out.append(matcalc.diff(f, "x"))                       # gradient
    out.append(matcalc.diff(f, "x", order=2))              # Hessian
    f = _renamed("tanh(W @ x) * u + W @ x * c", {"u": ("m",), "c": ()}, {"u": name})
    out.append(matcalc.diff(f, "W"))                       # beside W: dW, G, d_f_d_W...
    f = _renamed("c * (x @ x') + tanh(x @ y')", {"c": ()}, {"c": name})
    out.append(matcalc.diff(f, "x"))                       # matrix by a vector
    if not raw:
        out.append(matcalc.diff(f, name))                  # matrix by a scalar
    if name.isidentifier() and not raw and name not in ("None", "True"):
        shapes = {"x": (name,), "Q": ("m", name)}
        f = matcalc.parse("tanh(Q @ x) + softmax(Q @ x)", shapes)
        out.append(matcalc.diff(f, "Q"))                   # a dimension named so
        out.append(matcalc.diff(matcalc.parse("sum(exp(Q @ x))", shapes), "x", order=2))
    return tuple(out)


def _params(d) -> list:
    out: list = []
    for v in E.variables(d.f) + [d.wrt] + E.variables(d.expr):
        if v not in out and not v.tangent:
            out.append(v)
    return out


def _values(d, seed=0):
    rng = np.random.default_rng(seed)
    sizes: dict = {}
    vals = {}
    for v in _params(d):
        shape = tuple(sizes.setdefault(s, (3, 2, 4)[len(sizes) % 3]) if isinstance(s, str)
                      else s for s in v.shape)
        vals[v.name] = rng.uniform(0.3, 1.2, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return vals


def _np(a):
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=float)


def _main_function(src):
    return next(n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef)
                and not n.name.startswith("_"))


def _check_source(src, d, form, target, check):
    """The generated module is made of checked identifiers and fixed text only."""
    tree = ast.parse(src)
    fn = _main_function(src)
    params = [a.arg for a in fn.args.args]
    variables = _params(d)
    assert len(params) == len(variables) + (form in ("jvp", "vjp"))
    assert len(set(params)) == len(params)
    for p in params:   # an identifier Python reads as itself, shadowing nothing used
        assert p.isidentifier() and not keyword.iskeyword(p) and not p.startswith("_")
        assert p not in keyword.softkwlist and p not in BUILTINS, p
        assert p not in ("np", "jnp", "jax", "torch"), p
        if check:   # the keyword, and the function the jvp's check calls by name
            assert p not in ("check", fn.name), p
    assert [a.arg for a in fn.args.kwonlyargs] == (["check"] if check else [])
    doc = ast.get_docstring(fn)
    for p, v in zip(params, variables):
        if p != v.name:
            assert f"Parameter {p} is the variable {v.name}." in doc, (p, v.name, doc)
    if form == "jvp":
        assert f"applied to a direction {params[-1]} of" in doc
    if form == "vjp":
        assert f"applied to a cotangent {params[-1]} of " in doc
    # every name in the code: a parameter, a module alias, the check keyword, the
    # function itself, a private name (helper, temporary), or a builtin no parameter
    # shadows
    allowed = set(params) | ALIASES[target] | {"check", fn.name}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in allowed:
            assert node.id.startswith("_") or node.id in BUILTINS \
                or node.id in ("v", "d", "h", "e", "k", "a", "shape", "args", "fn", "primal",
                               "result", "cotangent", "plus", "minus", "fd", "got", "err",
                               "tol", "floor", "scale", "eps", "rtol"), node.id
            if not node.id.startswith("_") and node.id in BUILTINS:
                assert node.id not in params


@functools.lru_cache(maxsize=None)
def _reference(d, seed):
    vals = _values(d, seed)
    return vals, d.evaluate(vals)


def _run(d, target, form, with_value, check, seed=0):
    fn = codegen.lambdify(d, target, with_value=with_value, form=form, check=check)
    _check_source(fn.__source__, d, form, target, check)
    vals, T = _reference(d, seed)
    rng = np.random.default_rng(seed + 1)
    wshape = np.shape(vals[d.wrt.name])
    fshape = T.shape[:T.ndim - len(wshape)]
    extra, want = [], T
    if form == "jvp":
        D = rng.standard_normal(wshape)
        extra, want = [D], np.tensordot(T, D, axes=len(wshape))
    elif form == "vjp":
        G = rng.standard_normal(fshape)
        extra, want = [G], np.tensordot(G, T, axes=len(fshape))
    kwargs = {"check": True} if check else {}
    out = fn(*[vals[v.name] for v in _params(d)], *extra, **kwargs)
    if with_value:
        np.testing.assert_allclose(_np(out[0]), matcalc.evaluate(d.f, vals), rtol=1e-9,
                                   atol=1e-12)
        out = out[1]
    np.testing.assert_allclose(_np(out), want, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", NAMES + RAW_NAMES)
def test_every_name_in_every_form(name, target):
    _need(target)
    for i, d in enumerate(_derivatives(name)):
        for j, form in enumerate(FORMS):
            # with the value and the self-check, each on or off, over the derivatives
            _run(d, target, form, with_value=(i + j) % 2 == 0, check=(i + j) % 4 < 2, seed=i)


def test_the_names_that_collide_are_renamed_as_documented():
    d = _derivatives("dW")[3]      # tanh(W x) ⊙ dW + ...: the direction is dW_
    src = codegen.to_code(d, form="jvp")
    assert "def jvp_d_f_d_W(dW, W, x, c, dW_):" in src
    assert "applied to a direction dW_ of W's shape" in src
    d = _derivatives("G")[3]       # the cotangent of f is G_
    src = codegen.to_code(d, form="vjp")
    assert "def vjp_d_f_d_W(G, W, x, c, G_):" in src
    assert "applied to a cotangent G_ of f's shape: the gradient of <G_, f>" in src
    d = _derivatives("check")[3]
    assert "def d_f_d_W(check, W, x, c):" in codegen.to_code(d)
    src = codegen.to_code(d, check=True)
    assert "def d_f_d_W(check_, W, x, c, *, check=False):" in src
    assert "Parameter check_ is the variable check." in src
    d = _derivatives("jvp_d_f_d_W")[3]   # the jvp's check calls the function by name
    src = codegen.to_code(d, form="jvp", check=True)
    assert "def jvp_d_f_d_W(jvp_d_f_d_W_, W, x, c, dW, *, check=False):" in src
    for name in ("lambda", "sum", "np", "ValueError", "_result"):
        src = codegen.to_code(_derivatives(name)[0], form="vjp")
        fn = _main_function(src)
        want = "v_result" if name == "_result" else name + "_"
        assert fn.args.args[0].arg == want
        assert f"Parameter {want} is the variable {name}." in ast.get_docstring(fn)


def test_dimension_names_are_never_code():
    """Dimensions named like code: read from the arguments' shapes, so the code is the
    same as with a plain name (strings aside: the docstring and the shape error name
    them), and a wrong shape is reported with the dimension's name."""
    def code(dim, form, target):
        shapes = {"x": (dim,), "Q": ("m", dim)}
        d = matcalc.diff(matcalc.parse("tanh(Q @ x) + sum(Q)", shapes), "Q")
        return _strings_and_code(codegen.to_code(d, target, True, form=form, check=True))
    for target in TARGETS:
        for form in FORMS:
            plain = code("k", form, target)[1]
            for name in ("lambda", "np", "jnp", "torch", "G", "check", "sum", "x", "Q"):
                strings, src = code(name, form, target)
                assert src == plain, (name, form, target)
                assert any(f"x: vector ({name})" in s for s in strings)
    d = matcalc.diff(matcalc.parse("tanh(Q @ x)", {"x": ("lambda",)}), "Q")
    with pytest.raises(ValueError, match=r"x: vector \(lambda\)"):
        codegen.lambdify(d, "numpy")(np.ones((3, 2)), np.ones(3))


# ------------------------------------------------------------------ the CLI pipe

@pytest.mark.parametrize("code", ["dense", "einsum", "jvp", "vjp"])
def test_cli_output_runs_with_python(code):
    """``matcalc diff "lambda*sum(w^2)" --wrt w --format numpy`` piped into python."""
    out = subprocess.run([sys.executable, "-m", "matcalc", "diff", "lambda*sum(w^2)", "--wrt",
                          "w", "--format", "numpy", "--code", code],
                         capture_output=True, text=True, check=True).stdout
    fname = {"jvp": "jvp_d_f_d_w", "vjp": "vjp_d_f_d_w"}.get(code, "d_f_d_w")
    extra = {"jvp": ", np.array([1.0, 0.0, 2.0])", "vjp": ", 0.5"}.get(code, "")
    script = out + f"\nprint(repr({fname}(1.5, np.array([1.0, 2.0, 3.0]){extra}).tolist()))\n"
    got = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True,
                         check=True).stdout
    want = {"dense": [3.0, 6.0, 9.0], "einsum": [3.0, 6.0, 9.0], "jvp": 21.0,
            "vjp": [1.5, 3.0, 4.5]}[code]
    assert eval(got) == pytest.approx(want)


def test_cli_names_like_code(capsys):
    for text, wrt, args in [("lambda*sum(w^2)", "w", (2.0, np.array([1.0, -1.0]))),
                            ("sum(np * exp(jnp))", "jnp", (np.array([1.0, 2.0]),
                                                          np.array([0.0, 1.0]))),
                            ("G'@tanh(W@x)", "W", None)]:
        for code in FORMS:
            assert main(["diff", text, "--wrt", wrt, "--format", "numpy", "--code", code]) == 0
            src = capsys.readouterr().out
            namespace: dict = {}
            exec(compile(src, "<cli>", "exec"), namespace)
            fn = namespace[_main_function(src).name]
            d = matcalc.diff(text, wrt)
            _check_source(src, d, code, "numpy", False)
            if args is not None and code in ("dense", "einsum"):
                vals = dict(zip([v.name for v in _params(d)], args))
                np.testing.assert_allclose(fn(*args), d.evaluate(vals))


# ------------------------------------------------------------------ injection

HOSTILE = ['x"""; open("SENTINEL","w"); """', "x'''; open('SENTINEL','w'); '''",
           "__import__('os').system('touch SENTINEL')", 'x\n"""\nopen("SENTINEL","w")#',
           "open('SENTINEL','w')", "x\\", "x\x00y", "x\ny", "{open('SENTINEL','w')}",
           "f'{x}'", "u₁", "ｘ"]


def _hostile_derivatives(name):
    """Hostile text, past every check: as a variable and a dimension of a gradient by
    it, built as data (differentiation itself refuses such names: no tangent, index
    form or jvp is made of them, so its only form is dense); and as the name of a
    variable beside the one differentiated by (all forms): a vector by a matrix, a
    Hessian."""
    dim = name if name not in ("u₁", "ｘ") else "n"
    v = _var(name, (dim,))
    grad = Derivative(E.call(ops.SUM, E.mul(v, E.call(ops.EXP, _var("w", (dim,))))), v,
                      Kind.GRADIENT, E.call(ops.EXP, _var("w", (dim,))))
    u, M = _var(name, ("n",)), E.var("M", ("m", "n"))
    H, w = _var(name, ("m", "n")), E.var("w", ("n",))
    return [grad, matcalc.diff(E.call(ops.TANH, E.matmul(M, u)), M),
            matcalc.diff(E.call(ops.SUM, E.call(ops.EXP, E.matmul(H, w))), w, order=2)]


def _has_tangent(v):
    """Can differentiation make the tangent of ``v`` (is its name and shape valid)?"""
    try:
        E.var(v.name, v.shape, tangent=True)
        return True
    except matcalc.MatcalcError:
        return False


def _strings_and_code(src):
    """(every string constant in the module, the module with them emptied)."""
    tree = ast.parse(src)
    strings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.append(node.value)
            node.value = ""
        elif isinstance(node, ast.Constant):
            assert isinstance(node.value, (int, float)) and not isinstance(node.value, bool) \
                or node.value in (None, False, True), node.value
    return strings, ast.unparse(tree)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_and_dimensions_never_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for d in _hostile_derivatives(name):
        forms = FORMS if _has_tangent(d.wrt) else ("dense",)
        for target in TARGETS:
            for form in FORMS:
                for check in (False, True):
                    if form not in forms:
                        with pytest.raises(matcalc.MatcalcError):
                            codegen.to_code(d, target, form=form, check=check)
                        continue
                    src = codegen.to_code(d, target, with_value=True, form=form, check=check)
                    strings, code = _strings_and_code(src)
                    assert "\x00" not in src
                    assert "SENTINEL" not in code and "open(" not in code
                    if not name.isidentifier():
                        assert name not in code
                    for s in strings:   # the name is only ever inside a docstring or a message
                        if name in s and name.isprintable():
                            assert s.startswith(("∂", "The ", "the arguments must")), s
        for form in forms:
            _run(d, "numpy", form, with_value=True, check=True)
    assert not (tmp_path / "SENTINEL").exists()



@pytest.mark.parametrize("text", [
    "x * 1e308 * 10", "x * 123456789012345678901234567890", "x ^ (1/3) + 0.1*x",
    "x * 1e-400", "x * 2^-1074", "x*(-0.5)", "x * 1000",
])
def test_numbers_are_literals(text, tmp_path, monkeypatch):
    """Numbers reach the source as Python float literals (or np.inf), nothing else."""
    monkeypatch.chdir(tmp_path)
    d = matcalc.diff(f"sum({text})", "x")
    for target in TARGETS:
        for form in FORMS:
            src = codegen.to_code(d, target, with_value=True, form=form, check=True)
            _strings_and_code(src)   # every non-string constant is an int or a float
    with np.errstate(all="ignore"):
        for form in ("dense", "vjp"):
            fn = codegen.lambdify(d, "numpy", form=form)
            x = np.array([0.5, 2.0])
            got = fn(x, *([1.0] if form == "vjp" else []))
            np.testing.assert_allclose(got, d.evaluate({"x": x}))


def test_function_names_are_checked_in_every_form():
    d = matcalc.diff("tanh(W@x)", "W")
    for form in FORMS:
        for bad in ("lambda", "check", "_f", "f()", "np", "sum"):
            with pytest.raises(matcalc.MatcalcError):
                codegen.to_code(d, form=form, name=bad, check=True)
        src = codegen.to_code(d, form=form, name="layer_grad", check=True)
        assert "def layer_grad(" in src
        assert inspect.signature(codegen.lambdify).parameters["check"].default is False
