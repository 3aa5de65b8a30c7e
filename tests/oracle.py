"""The numerical oracle every derivative test goes through.

``check(text, wrt, shapes=None, order=1)`` parses ``text``, gives every variable
(and ``wrt``, even when it does not occur) a random value, and compares
``Derivative.evaluate`` with central finite differences of ``matcalc.evaluate``
(for ``order=2``: finite differences of the gradient's ``evaluate``).

- Symbolic dimensions get DIFFERENT sizes (3, 2, 4, 5, ...) so that a missing or
  extra transpose cannot hide behind a square shape.
- Domains, read from the ops' records (``Op.domain``, ``Op.kink``): values are
  re-drawn until every call of a ``"positive"`` op (log, sqrt) and every fractional
  power has a positive argument, every negative power a base away from 0, every
  call of an ``"invertible"`` op (det, logdet, inv) a well-conditioned argument,
  and every kink expression (``op.kink(args)``: x for abs, a - b for max...) is
  away from 0, so that finite differences are meaningful. Square matrices that
  reach an ``"invertible"`` op start as ``2I + noise``; variables under a
  ``"positive"`` op start positive.
- Declared structure: a ``sym`` variable gets a symmetric value, an ``spd`` one
  ``B Bᵀ + n I``, a ``prob`` one positive entries summing to 1. By a symmetric
  variable the finite differences follow the derivative's convention
  (``Derivative.symmetric_gradient``): entry i,j is the directional derivative along
  (Eᵢⱼ + Eⱼᵢ)/2 for ``sym`` (so that it is ⟨sym(G), D⟩), along Eᵢⱼ + Eⱼᵢ (Eᵢᵢ on the
  diagonal) for ``cookbook`` (Sᵢⱼ and Sⱼᵢ perturbed together).
"""
from __future__ import annotations

import numpy as np

import matcalc
from matcalc import ops
from matcalc.core import expr as E
from matcalc.parser import parse

SIZES = [3, 2, 4, 5, 6, 7]
RTOL, ATOL = 1e-5, 1e-6
POSITIVE = "positive"     # Op.domain: arguments must be > 0
MATRIX = "invertible"     # Op.domain: arguments must be invertible


def dim_sizes(exprs) -> dict:
    """A distinct size for every symbolic dimension."""
    out: dict = {}
    for e in exprs:
        for d in E.dims_of(e):
            if d not in out:
                out[d] = SIZES[len(out) % len(SIZES)]
    return out


def _concrete(shape, dims):
    return tuple(d if isinstance(d, int) else dims[d] for d in shape)


def _under(f: E.Expr, domain: str) -> set:
    """Names of the variables occurring under a call of an op with ``domain`` (and, for
    ``POSITIVE``, under the base of a fractional power)."""
    out: set = set()
    for n in E.postorder(f):
        if type(n) is E.Call and n.op.domain == domain:
            out.update(v.name for v in E.variables(n))
        if domain == POSITIVE and type(n) is E.Pow:
            c = E.const_value(n.exp)
            if c is None or c.denominator != 1:
                out.update(v.name for v in E.variables(n.base))
    return out


def _draw(rng, variables, dims, f):
    positive = _under(f, POSITIVE)
    matrix = _under(f, MATRIX)
    values = {}
    for v in variables:
        shape = _concrete(v.shape, dims)
        if v.name in positive:
            a = rng.uniform(0.5, 2.0, size=shape)
        else:
            a = rng.uniform(0.3, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        if len(shape) == 2 and shape[0] == shape[1] and v.name in matrix:
            a = 2.0 * np.eye(shape[0]) + 0.3 * rng.standard_normal(shape)
        a = _structured(v.structure, a, rng)
        values[v.name] = a if shape else float(a)
    return values


def _structured(structure, a, rng):
    """A value ``a`` made to respect a declared structure (sym, spd, prob)."""
    if structure == "sym":
        return (a + a.T) / 2
    if structure == "spd":
        b = rng.standard_normal(a.shape)
        return b @ b.T + a.shape[0] * np.eye(a.shape[0])
    if structure == "prob":
        p = rng.uniform(0.2, 1.0, size=a.shape)
        return p / (p.sum(axis=1, keepdims=True) if p.ndim == 2 else p.sum())
    return a


def direction(shape, j, convention=None):
    """The unit direction of entry ``j`` (a flat index) of a variable of ``shape``; by a
    symmetric variable, its convention's: (Eᵢⱼ + Eⱼᵢ)/2 (sym), Eᵢⱼ + Eⱼᵢ off the
    diagonal and Eᵢᵢ on it (cookbook)."""
    e = np.zeros(int(np.prod(shape, dtype=int)))
    e[j] = 1.0
    e = e.reshape(shape)
    if convention == "sym":
        return (e + e.T) / 2
    if convention == "cookbook":
        i, k = np.unravel_index(j, shape)
        return e if i == k else e + e.T
    return e


def _sub_value(e: E.Expr, values):
    try:
        return np.asarray(matcalc.evaluate(e, values), dtype=float)
    except matcalc.MatcalcError:
        return None


def domain_ok(f: E.Expr, values, margin: float = 1e-3) -> bool:
    """Is ``values`` a point where finite differences of ``f`` are meaningful?"""
    for n in E.postorder(f):
        if type(n) is E.Call and (n.op.kink is not None or n.op.domain is not None):
            op = n.op
            args = [_sub_value(a, values) for a in n.args]
            if any(a is None for a in args):
                continue
            if not all(np.all(np.isfinite(a)) for a in args):
                return False
            if op.kink is not None:
                z = _sub_value(op.kink(n.args), values)
                if z is not None and np.min(np.abs(z)) < margin:
                    return False
            if op.domain == POSITIVE:
                if any(np.min(a) < 1e-2 for a in args):
                    return False
            elif op.domain == MATRIX:
                if any(np.linalg.cond(a) > 1e3 or abs(np.linalg.det(a)) < 1e-3
                       for a in args):
                    return False
        elif type(n) is E.Pow:
            b = _sub_value(n.base, values)
            c = E.const_value(n.exp)
            if b is None:
                continue
            if c is None or c.denominator != 1:
                if np.min(b) < 1e-2:
                    return False
            elif c < 0 and np.min(np.abs(b)) < 5e-2:
                return False
        elif type(n) is E.Call and n.op is ops.NORM2:
            # not differentiable at 0, which no field of the record says (its ``kink``
            # would mean "where an entry is 0")
            a = _sub_value(n.args[0], values)
            if a is not None and np.sqrt(np.sum(a * a)) < 1e-2:
                return False
    val = _sub_value(f, values)
    return val is not None and bool(np.all(np.isfinite(val)))


def random_values(f: E.Expr, wrt: E.Expr, rng, dims=None, tries: int = 200):
    dims = dims or dim_sizes([f, wrt])
    variables = E.variables(f)
    if wrt not in variables:
        variables = variables + [wrt]
    for _ in range(tries):
        values = _draw(rng, variables, dims, f)
        if domain_ok(f, values):
            return values
    raise AssertionError(f"no point in the domain of {f} found")


def finite_differences(fn, values, name, h=1e-6, convention=None):
    """Central differences of ``fn(values)`` by ``values[name]``: shape fn.shape + v.shape.
    ``convention`` (``sym``, ``cookbook``) for a symmetric variable: each entry moves
    along its convention's symmetric ``direction``."""
    x0 = np.array(values[name], dtype=float)
    f0 = np.asarray(fn(values), dtype=float)
    out = np.zeros(f0.shape + x0.shape)
    flat = x0.reshape(-1)
    for j in range(flat.size):
        step = h * max(1.0, abs(flat[j]))
        move = direction(x0.shape, j, convention).reshape(-1) if x0.ndim else np.ones(1)
        xp, xm = flat + step * move, flat - step * move
        vp, vm = dict(values), dict(values)
        vp[name] = xp.reshape(x0.shape) if x0.ndim else float(xp[0])
        vm[name] = xm.reshape(x0.shape) if x0.ndim else float(xm[0])
        d = (np.asarray(fn(vp), dtype=float) - np.asarray(fn(vm), dtype=float)) / (2 * step)
        idx = np.unravel_index(j, x0.shape) if x0.ndim else ()
        out[(Ellipsis,) + tuple(idx)] = d
    return out


def assert_close(got, want, what="", rtol=RTOL, atol=ATOL):
    got = np.asarray(got, dtype=float)
    want = np.asarray(want, dtype=float)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, finite differences {want.shape}"
    scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    err = np.abs(got - want)
    bad = err > atol * scale + rtol * np.abs(want)
    assert not np.any(bad), (f"{what}: derivative differs from finite differences\n"
                             f"derivative:\n{got}\nfinite differences:\n{want}")


def check(text, wrt, shapes=None, order=1, points=3, seed=0, d=None, dims=None,
          rtol=RTOL, atol=ATOL, symmetric_gradient="sym"):
    """Assert that ``matcalc.diff(text, wrt, shapes, order, symmetric_gradient=...)``
    matches finite differences at ``points`` random points. Returns the Derivative."""
    f = parse(text, shapes) if isinstance(text, str) else text
    if d is None:
        d = matcalc.diff(f, wrt, shapes, order=order, symmetric_gradient=symmetric_gradient)
    v = d.wrt
    # order k: finite differences of the order k - 1 derivative
    lower = matcalc.diff(f, wrt, shapes, order=order - 1,
                         symmetric_gradient=d.symmetric_gradient or "sym") \
        if order > 1 else None
    rng = np.random.default_rng(seed)
    for _ in range(points):
        values = random_values(f, v, rng, dims)
        got = d.evaluate(values)
        conv = d.symmetric_gradient
        if order == 1:
            want = finite_differences(lambda vals: matcalc.evaluate(f, vals), values, v.name,
                                      convention=conv)
        else:
            want = finite_differences(lower.evaluate, values, v.name, h=1e-5,
                                      convention=conv)
            atol, rtol = max(atol, 1e-5), max(rtol, 1e-4)
        assert_close(got, want, f"d{'⁰¹²³'[order] if order > 1 else ''}({text})/d{v.name}^{order} "
                                f"at {values}", rtol, atol)
    return d
