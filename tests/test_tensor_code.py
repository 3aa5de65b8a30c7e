"""Generated code for every kind of derivative, in every form, on every target.

Every derivative of the golden tables (tests/test_golden.py, test_textbook.py,
test_batched.py, test_kronecker.py) and of TENSOR below (vector-by-matrix,
matrix-by-matrix, matrix-by-vector, and orders 2 and 3: tensors of rank 3 and 4)
goes through ``lambdify`` in each form (``codegen.FORMS``) for NumPy, and for JAX
and torch where they are installed (CI has neither: those rows skip):

- ``dense`` and ``einsum`` code equal ``Derivative.evaluate``;
- ``jvp`` code along two random directions equals central finite differences of f
  (for order k, of the order k-1 derivative ``d.of``) along that direction, and the
  dense tensor contracted with the direction;
- ``vjp`` code with a random cotangent G equals G contracted with the dense tensor,
  and is the adjoint of the jvp: ⟨G, jvp(D)⟩ = ⟨vjp(G), D⟩;
- ``with_value=True`` returns ``(f, result)`` in every form, f equal to
  ``matcalc.evaluate``;
- the TENSOR rows' dense tensors equal finite differences entry by entry.

Dimensions get different sizes (oracle: 3, 2, 4, ...) so a missing transpose shows.
By a symmetric variable (sym) a direction is symmetric, as the derivative's
convention says (oracle.direction). Every compiled function is made once.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

import matcalc
from matcalc.backends import codegen
from matcalc.core import expr as E

import oracle
from test_batched import BATCHED
from test_golden import COOKBOOK_CASES, PAPER_CASES
from test_kronecker import CASES as KRONECKER
from test_textbook import ROWS as TEXTBOOK

# (what, f, by, shapes, order): derivatives no matrix shows (and two that one does,
# to compare): tensors of rank 3 and 4, and Hessians of vectors, third orders of scalars
TENSOR = [
    ("layer by its weights", "tanh(W@x)", "W", None, 1),
    ("softmax layer by its weights", "softmax(W@x)", "W", None, 1),
    ("affine map by its weights", "W@x + b", "W", None, 1),
    ("batched sigmoid layer by the weights", "sigmoid(X@W)", "W", None, 1),
    ("batched sigmoid layer by the inputs", "sigmoid(X@W)", "X", None, 1),
    ("batched ReLU layer by the weights", "relu(X@W)", "W", None, 1),
    ("batched softmax layer by the weights", "softmax(X@W, axis=1)", "W", None, 1),
    ("row-wise softmax by its logits", "softmax(Z, axis=1)", "Z", None, 1),
    ("column-wise logsumexp by its logits", "logsumexp(Z, axis=0)", "Z", None, 1),
    ("element-wise exp of a matrix", "exp(X)", "X", None, 1),
    ("element-wise square of a matrix", "X*X", "X", None, 1),
    ("element-wise log times a constant", "log(X)*Y", "X", None, 1),
    ("a matrix over the sum of its entries", "X/sum(X)", "X", None, 1),
    ("centred columns", "X - mean(X, axis=0)", "X", None, 1),
    ("column sums", "sum(X, axis=0)", "X", None, 1),
    ("row norms", "norm2(X, axis=1)", "X", None, 1),
    ("inverse", "inv(X)", "X", None, 1),
    ("square of a matrix", "X@X", "X", None, 1),
    ("a matrix between two others", "A@X@B", "X", None, 1),
    ("a transposed factor", "X@W'", "W", None, 1),
    ("transpose", "X'", "X", None, 1),
    ("determinant times inverse (the adjugate)", "det(X)*inv(X)", "X", None, 1),
    ("columns scaled by a vector", "X@diag(x)", "x", None, 1),
    ("rows scaled by a vector", "diag(x)@A", "x", None, 1),
    ("outer product with itself", "x@x'", "x", None, 1),
    ("outer product by its right factor", "x@y'", "y", None, 1),
    ("a matrix by a scalar", "c*X + X@X*c^2", "c", {"c": ()}, 1),
    ("softmax, order 2", "softmax(x)", "x", None, 2),
    ("layer by its input, order 2", "tanh(W@x)", "x", None, 2),
    ("a vector times its squared norm, order 2", "x*sum(x^2)", "x", None, 2),
    ("sum of cubes of a matrix, order 2 (a rank-4 tensor)", "sum(X^3)", "X", None, 2),
    ("log-partition of an affine map, order 3", "sum(exp(A@x))", "x", None, 3),
    ("logsumexp, order 3", "logsumexp(x)", "x", None, 3),
    ("sines and a quadratic form, order 3", "sum(sin(x)) + x'@A@x", "x", None, 3),
    ("least squares, order 3 (zero)", "norm2(A@x - b)^2", "x", {"b": ("m",)}, 3),
]


def _cases() -> list:
    """Every table's rows as (id, f, by, shapes, order), the same derivative once."""
    rows = [(r[0], r[1], r[2], r[3], 1) for r in PAPER_CASES + COOKBOOK_CASES]
    rows += [(r[0], r[1], r[2], r[3], r[4]) for r in TEXTBOOK]
    rows += [(r[0], r[1], r[2], r[3], 1) for r in BATCHED]
    rows += [(f"Kronecker: {r[0]} by {r[1]}", r[0], r[1], r[2], 1) for r in KRONECKER]
    rows += [(f"tensor: {r[0]}",) + r[1:] for r in TENSOR]
    out, seen = [], set()
    for r in rows:
        key = (r[1], r[2], repr(sorted((r[3] or {}).items())), r[4])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


CASES = _cases()
IDS = [c[0] for c in CASES]
MODULES = {"jax": "jax", "torch": "torch"}
TARGETS = ["numpy", "jax", "torch"]
FORMS = ("dense", "einsum", "jvp", "vjp")


@pytest.fixture(scope="module", autouse=True)
def _jax_float64():
    """JAX computes in float64 here (its default is float32), and without its
    optimising passes (they only cost compile time at these sizes); both restored."""
    try:
        import jax
    except ImportError:
        yield
        return
    settings = {"jax_enable_x64": True, "jax_disable_most_optimizations": True}
    before = {k: jax.config.values[k] for k in settings}
    for k, v in settings.items():
        jax.config.update(k, v)
    yield
    for k, v in before.items():
        jax.config.update(k, v)


def _need(target: str) -> None:
    if target in MODULES:
        pytest.importorskip(MODULES[target])


# ------------------------------------------------------------ one case, computed once

def _params(d) -> list:
    """The generated function's variables, in order (as codegen documents): f's, then
    wrt, then any other the derivative uses."""
    out: list = []
    for v in E.variables(d.f) + [d.wrt] + E.variables(d.expr):
        if v not in out and not v.tangent:
            out.append(v)
    return out


def _primal(d):
    """What the derivative differentiates: f, or for order k the order k-1 derivative."""
    if d.order > 1:
        return d.of.evaluate
    return lambda vals: matcalc.evaluate(d.f, vals)


class _Case:
    """A derivative with a point, two directions, a cotangent and their references."""

    def __init__(self, index: int):
        what, text, wrt, shapes, order = CASES[index]
        self.what = what
        self.d = d = matcalc.diff(text, wrt, shapes, order=order)
        rng = np.random.default_rng(index)
        self.values = oracle.random_values(d.f, d.wrt, rng)
        self.args = [self.values[v.name] for v in _params(d)]
        self.T = d.evaluate(self.values)
        wshape = np.shape(self.values[d.wrt.name])
        self.wrank = len(wshape)
        self.fshape = self.T.shape[:self.T.ndim - self.wrank]
        conv = d.symmetric_gradient
        self.directions = [_direction(rng, wshape, conv) for _ in range(2)]
        self.G = rng.standard_normal(self.fshape)
        self.f_value = np.asarray(matcalc.evaluate(d.f, self.values), dtype=float)
        self.tol = (oracle.RTOL, oracle.ATOL) if order == 1 else (1e-4, 1e-5)

    def directional_fd(self, k: int):
        """Central differences of the primal along direction k (D_fd)."""
        D, _ = self.directions[k]
        name = self.d.wrt.name
        v0 = np.asarray(self.values[name], dtype=float)
        h = (1e-6 if self.d.order == 1 else 1e-5) * max(1.0, float(np.max(np.abs(v0))))
        primal = _primal(self.d)
        vp, vm = dict(self.values), dict(self.values)
        vp[name] = v0 + h * D if v0.ndim else float(v0 + h * D)
        vm[name] = v0 - h * D if v0.ndim else float(v0 - h * D)
        diff = np.asarray(primal(vp), dtype=float) - np.asarray(primal(vm), dtype=float)
        return diff / (2 * h)


def _direction(rng, shape, convention):
    """(the direction moved along, the direction the derivative is applied to): the
    same but by a symmetric variable, where the move is symmetric and the "cookbook"
    convention's gradient (entry i, j moves Sᵢⱼ and Sⱼᵢ together) is applied to its
    upper triangle."""
    D = rng.standard_normal(shape)
    D = D / max(1.0, float(np.max(np.abs(D)))) if np.ndim(D) else np.float64(D)
    if convention in ("sym", "cookbook"):
        D = (D + D.T) / 2
    return D, (np.triu(D) if convention == "cookbook" else D)


@functools.lru_cache(maxsize=None)
def _case(index: int) -> _Case:
    return _Case(index)


@functools.lru_cache(maxsize=None)
def _fd(index: int, k: int) -> np.ndarray:
    return _case(index).directional_fd(k)


@functools.lru_cache(maxsize=None)
def _fn(index: int, target: str, form: str, with_value: bool = False):
    return codegen.lambdify(_case(index).d, target, with_value=with_value, form=form)


def _np(a) -> np.ndarray:
    """A target's array as a NumPy float64 array (torch: through .numpy())."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=float)


def _call(index: int, target: str, form: str, extra=None, with_value: bool = False):
    c = _case(index)
    args = list(c.args) + ([] if extra is None else [extra])
    out = _fn(index, target, form, with_value)(*args)
    if with_value:
        return _np(out[0]), _np(out[1])
    return _np(out)


def _close(got, want, what: str, rtol=1e-8, atol=1e-10) -> None:
    """Equal up to rounding (two ways of computing one tensor): relative to the
    tensor's scale, so that a cancellation to 0 in one is not a failure."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale, err_msg=what)


def _contract_wrt(c: _Case, D) -> np.ndarray:
    return np.tensordot(c.T, D, axes=c.wrank)


def _contract_f(c: _Case, G) -> np.ndarray:
    return np.tensordot(G, c.T, axes=len(c.fshape))


INDICES = range(len(CASES))


# -------------------------------------------------------------------- the checks

def test_enough_cases():
    assert len(TENSOR) >= 25
    assert len(CASES) >= 250
    kinds = {_case(i).d.kind for i in INDICES}
    assert kinds == {"derivative", "gradient", "jacobian", "differential", "zero"}
    ranks = {len(_case(i).d.shape) for i in INDICES}
    assert {0, 1, 2, 3, 4} <= ranks


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("index", INDICES, ids=IDS)
def test_dense_and_einsum_equal_evaluate(index, target):
    _need(target)
    c = _case(index)
    for form in ("dense", "einsum"):
        _close(_call(index, target, form), c.T, f"{c.what}: {target} {form} code")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("index", INDICES, ids=IDS)
def test_jvp_is_the_directional_derivative(index, target):
    _need(target)
    c = _case(index)
    rtol, atol = c.tol
    for k, (_, D) in enumerate(c.directions):
        got = _call(index, target, "jvp", D)
        what = f"{c.what}: {target} jvp along direction {k}"
        oracle.assert_close(got, _fd(index, k), what + " against finite differences",
                            rtol, atol)
        _close(got, _contract_wrt(c, D), what + " against the dense tensor")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("index", INDICES, ids=IDS)
def test_vjp_is_the_adjoint(index, target):
    _need(target)
    c = _case(index)
    got = _call(index, target, "vjp", c.G)
    what = f"{c.what}: {target} vjp"
    _close(got, _contract_f(c, c.G), what + " against the dense tensor")
    for k, (_, D) in enumerate(c.directions):
        left = float(np.sum(c.G * _call(index, target, "jvp", D)))
        right = float(np.sum(got * D))
        scale = max(1.0, float(np.sum(np.abs(c.G) * np.abs(_contract_wrt(c, D)))))
        assert abs(left - right) <= 1e-9 * scale, \
            f"{what}: <G, jvp(D{k})> = {left!r} but <vjp(G), D{k}> = {right!r}"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("index", INDICES, ids=IDS)
def test_with_value_in_every_form(index, target):
    _need(target)
    c = _case(index)
    D, G = c.directions[0][1], c.G
    for form in FORMS:
        extra = {"jvp": D, "vjp": G}.get(form)
        f, result = _call(index, target, form, extra, with_value=True)
        what = f"{c.what}: {target} {form} code with its value"
        _close(f, c.f_value, what + ": f")
        _close(result, _call(index, target, form, extra), what + ": the result")


@pytest.mark.parametrize("index", [i for i in INDICES if IDS[i].startswith("tensor: ")],
                         ids=[i for i in IDS if i.startswith("tensor: ")])
def test_tensor_rows_by_finite_differences(index):
    """The TENSOR rows' reference itself, entry by entry (the other tables' rows are
    checked so in their own files)."""
    c = _case(index)
    name = c.d.wrt.name
    h = 1e-6 if c.d.order == 1 else 1e-5
    want = oracle.finite_differences(_primal(c.d), c.values, name, h=h,
                                     convention=c.d.symmetric_gradient)
    oracle.assert_close(c.T, want, f"{c.what}: evaluate", *c.tol)
    assert c.T.shape == tuple(oracle._concrete(c.d.shape, oracle.dim_sizes([c.d.f, c.d.wrt])))


# ------------------------------------------------- the self-check (check=True)

# JAX compiles each new operation and shape (about 50 ms each): there the self-check,
# the same code as NumPy's over jax.numpy, runs on the TENSOR rows only
CHECKED = [pytest.param(i, t, id=f"{IDS[i]}-{t}") for i in INDICES for t in TARGETS
           if t != "jax" or IDS[i].startswith("tensor: ")]


@pytest.mark.parametrize("index, target", CHECKED)
def test_self_check_passes_on_every_derivative(index, target):
    """check=True on right code is silent, in every form (with and without the value,
    alternately), and returns what the function returns without it."""
    _need(target)
    c = _case(index)
    with_value = index % 2 == 0
    for form in FORMS:
        extra = {"jvp": [c.directions[0][1]], "vjp": [c.G]}.get(form, [])
        fn = codegen.lambdify(c.d, target, with_value=with_value, form=form, check=True)
        out = fn(*c.args, *extra, check=True)
        got = _np(out[-1] if with_value else out)
        _close(got, _call(index, target, form, *extra), f"{c.what}: {target} {form} checked")


# a derivative made wrong on purpose: (f, by, shapes, order, how)
WRONG = [
    ("tr(A@X)", "X", {"X": ("n", "n"), "A": ("n", "n")}, 1, "transposed"),
    ("x'@A@x", "x", None, 1, "scaled"),
    ("tanh(W@x)", "x", None, 1, "scaled"),
    ("tanh(W@x)", "W", None, 1, "scaled"),
    ("inv(X)", "X", None, 1, "transposed"),
    ("sum(exp(A@x))", "x", None, 2, "scaled"),
    ("x*sum(x^2)", "x", None, 2, "scaled"),
    ("logsumexp(x)", "x", None, 3, "scaled"),
    ("log(x'@S@x)", "S", {"S": "n,n,sym"}, 1, "scaled"),
]


def _wrong(text, wrt, shapes, order, how):
    """The derivative with its expression changed by 0.1 % (scaled) or transposed
    (built as data: ``dataclasses.replace``)."""
    import dataclasses
    from fractions import Fraction
    d = matcalc.diff(text, wrt, shapes, order=order)
    if how == "scaled":
        expr = E.scale(Fraction(1001, 1000), d.expr)
    else:
        expr = E.transpose(d.expr) if d.kind == "gradient" else \
            E.substitute(d.expr, {v: E.transpose(v) for v in E.variables(d.expr)
                                  if v.tangent})
    return d, dataclasses.replace(d, expr=expr)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("text, wrt, shapes, order, how", WRONG,
                         ids=[f"{w[0]} by {w[1]} order {w[3]} {w[4]}" for w in WRONG])
def test_self_check_catches_a_wrong_derivative(text, wrt, shapes, order, how, target):
    _need(target)
    right, wrong = _wrong(text, wrt, shapes, order, how)
    rng = np.random.default_rng(3)
    vals = oracle.random_values(right.f, right.wrt, rng)
    args = [vals[v.name] for v in _params(right)]
    D, _ = _direction(rng, np.shape(vals[right.wrt.name]), right.symmetric_gradient)
    G = rng.standard_normal(right.evaluate(vals).shape[:len(right.f_shape)])
    for form in FORMS:
        extra = {"jvp": [D], "vjp": [G]}.get(form, [])
        for with_value in (False, True):
            ok = codegen.lambdify(right, target, with_value, form, check=True)
            ok(*args, *extra, check=True)
            bad = codegen.lambdify(wrong, target, with_value, form, check=True)
            bad(*args, *extra)                      # unchecked: no error
            with pytest.raises(ValueError, match=r"check failed: .* by \d") as err:
                bad(*args, *extra, check=True)
            assert "tolerance" in str(err.value)


def test_self_check_is_opt_in():
    """Without check=True at generation the code has no check at all; with it the
    keyword is keyword-only and False by default, and the docstring says what it does."""
    d = matcalc.diff("tanh(W@x)", "W")
    assert "check" not in d.to_code()
    src = codegen.to_code(d, check=True)
    assert "def d_f_d_W(W, x, *, check=False):" in src
    assert "With check=True, f is also evaluated at W ± h·D" in src
    with pytest.raises(matcalc.MatcalcError):
        codegen.to_code(d, check="yes")
    fn = codegen.lambdify(d, check=True)
    with pytest.raises(TypeError):
        fn(np.ones((3, 2)), np.ones(2), True)     # check is keyword-only


def test_self_check_with_jax_in_float32_and_under_jit():
    """JAX's default float32: the check's step and tolerance follow the arguments'
    epsilon, so right code passes and a 1 % error fails; under jax.jit check=True is
    refused clearly, check=False runs."""
    jax = pytest.importorskip("jax")
    from fractions import Fraction
    import dataclasses
    d = matcalc.diff("sum(tanh(W@x))", "W")
    wrong = dataclasses.replace(d, expr=E.scale(Fraction(101, 100), d.expr))
    rng = np.random.default_rng(0)
    W, x = rng.standard_normal((3, 2)), rng.standard_normal(2)
    jax.config.update("jax_enable_x64", False)
    try:
        for form in FORMS:
            extra = {"jvp": [np.ones((3, 2))], "vjp": [np.float32(1.5)]}.get(form, [])
            fn = codegen.lambdify(d, "jax", form=form, check=True)
            assert fn(W, x, *extra, check=True).dtype == np.float32
            with pytest.raises(ValueError, match="check failed"):
                codegen.lambdify(wrong, "jax", form=form, check=True)(W, x, *extra, check=True)
            with pytest.raises(ValueError, match="outside jax.jit"):
                jax.jit(lambda W, x: fn(W, x, *extra, check=True))(W, x)
            jax.jit(lambda W, x: fn(W, x, *extra))(W, x)
    finally:
        jax.config.update("jax_enable_x64", True)


@pytest.mark.parametrize("convention", ["sym", "cookbook"])
@pytest.mark.parametrize("text", ["x'@S@x", "logdet(S) + tr(A@S)", "sum(S@S*B)"])
def test_self_check_by_a_symmetric_variable(text, convention):
    """By a symmetric S the check moves S along a symmetric direction D and applies the
    result to D (sym(G): ⟨sym(G), D⟩ is the change) or, for the "cookbook" convention
    (entry i, j moves Sᵢⱼ and Sⱼᵢ together), to D's upper triangle; in every form."""
    d = matcalc.diff(text, "S", {"S": "n,n,sym"}, symmetric_gradient=convention)
    rng = np.random.default_rng(1)
    vals = oracle.random_values(d.f, d.wrt, rng)
    args = [vals[v.name] for v in _params(d)]
    D, applied = _direction(rng, np.shape(vals["S"]), convention)
    for form in FORMS:
        extra = {"jvp": [applied], "vjp": [1.5]}.get(form, [])
        codegen.lambdify(d, "numpy", form=form, check=True)(*args, *extra, check=True)
    # and the jvp itself is the change along D, by finite differences
    c = _Case.__new__(_Case)
    c.d, c.values, c.directions = d, vals, [(D, applied)]
    got = codegen.lambdify(d, "numpy", form="jvp")(*args, applied)
    oracle.assert_close(got, c.directional_fd(0), f"{text} ({convention}): jvp")


# Axes of literal size 1 (a row vector's transpose, diag of a 1×1): a term may be a
# coefficient alone, and jvp/vjp results may differ from f's or V's shape only by such
# axes (found by the reliability fuzz test).
SIZE_ONE = ["-(diag((x)'))'", "2*(diag((x)'))'", "x'", "(x')'*3"]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("text", SIZE_ONE)
def test_axes_of_size_one(text, target):
    _need(target)
    d = matcalc.diff(matcalc.parse(text), "x")
    x = np.array([2.0])
    want = d.evaluate({"x": x})
    G = np.ones(np.shape(matcalc.evaluate(d.f, {"x": x})))
    expected = {"dense": ((), want), "einsum": ((), want),
                "jvp": ((np.array([1.0]),), np.tensordot(want, np.array([1.0]), axes=1)),
                "vjp": ((G,), np.tensordot(G, want, axes=G.ndim))}
    for form, (extra, wanted) in expected.items():
        got = matcalc.lambdify(d, target, form=form)(x, *extra)
        np.testing.assert_allclose(np.asarray(got, dtype=float), wanted, err_msg=form)
