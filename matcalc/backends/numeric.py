"""NumPy evaluation of expressions (the numeric contract).

Vectors are 1-D arrays, matrices 2-D, scalars 0-D; a row vector (the transpose of
a vector) is a ``(1, n)`` array. Symbolic dimensions are bound from the arrays
given and checked against each other.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..calculus.recognize import stabilize
from ..core import expr as E
from .. import limits
from ..core import shapes as S
from ..errors import EvalError, ShapeError, UsageError
from .interpreter import Interpreter


def bind_dims(variables, values: Mapping[str, object]) -> tuple[dict, dict]:
    """Check the values against the variables' shapes; return (arrays, dims)."""
    if not isinstance(values, Mapping):
        raise UsageError(f"values must be a dict of name -> array, not a "
                         f"{type(values).__name__}")
    arrays: dict[str, np.ndarray] = {}
    dims: dict[str, int] = {}
    where: dict[str, str] = {}
    for v in variables:
        if v.tangent:
            continue
        if v.name not in values:
            raise EvalError(f"no value given for {v.name} ({S.describe(v.shape)})")
        a = as_real_array(values[v.name], v.name)
        if a.ndim != len(v.shape):
            raise ShapeError(f"{v.name} is a {S.describe(v.shape)} but its value has "
                             f"shape {a.shape}")
        for d, n in zip(v.shape, a.shape):
            if isinstance(d, int):
                if d != n:
                    raise ShapeError(f"{v.name} has shape {S.shape_str(v.shape)} but its "
                                     f"value has shape {a.shape}")
            elif d in dims and dims[d] != n:
                raise ShapeError(f"dimension {d} is {dims[d]} from {where[d]} but {n} "
                                 f"from {v.name}")
            else:
                dims.setdefault(d, n)
                where.setdefault(d, v.name)
        _check_structure(v, a)
        arrays[v.name] = a
    for d, n in dims.items():
        if n == 0:
            raise EvalError(f"dimension {d} is 0 (from the value of {where[d]}): sizes must "
                            f"be positive")
    return arrays, dims


def _check_structure(v, a: np.ndarray) -> None:
    """A value must have its variable's declared structure: the derivative relies on
    it (Sᵀ = S was used; sum(y) = 1 was folded)."""
    s = v.structure
    if s in (S.SYM, S.SPD):
        scale = max(1.0, float(np.max(np.abs(a)))) if a.size else 1.0
        if not np.all(np.abs(a - a.T) <= 1e-9 * scale):
            raise EvalError(f"{v.name} is declared {s} but its value is not symmetric")
    elif s == S.PROB and a.ndim == 2:
        sums = np.sum(a, axis=1)
        if np.any(a < 0) or np.any(np.abs(sums - 1.0) > 1e-6):
            raise EvalError(f"{v.name} is declared prob but its rows are not probability "
                            f"vectors (entries ≥ 0, each row summing to 1)")
    elif s == S.PROB:
        if np.any(a < 0) or abs(float(np.sum(a)) - 1.0) > 1e-6:
            raise EvalError(f"{v.name} is declared prob but its value is not a probability "
                            f"vector (entries ≥ 0 summing to 1; they sum to {np.sum(a):.6g})")


def as_real_array(raw, name: str) -> np.ndarray:
    """A value as a float array: numbers only (bool, integer or real); complex, text
    and objects are refused, not silently converted."""
    try:
        a = np.asarray(raw)
    except (TypeError, ValueError, OverflowError):
        raise EvalError(f"the value of {name} is not an array of numbers") from None
    if a.dtype.kind not in "biuf":
        what = "complex" if a.dtype.kind == "c" else "not numeric"
        raise EvalError(f"the value of {name} is {what} (dtype {a.dtype}): give real numbers")
    limits.check(a.size, "max_elements", f"the number of entries of {name}'s value",
                 EvalError)
    return a.astype(float, copy=False)


def check_size(shape: tuple, what: str) -> None:
    """Refuse to build an array of ``shape`` (concrete) beyond limits.max_elements."""
    n = 1
    for d in shape:
        n *= int(d)
    limits.check(n, "max_elements", f"the number of entries of {what}")


def concrete(shape: tuple, dims: Mapping[str, int]) -> tuple:
    try:
        return tuple(d if isinstance(d, int) else dims[d] for d in shape)
    except KeyError as err:
        raise EvalError(f"the size of dimension {err.args[0]} is not known from the values "
                        f"given") from None


MAX_DIVISIONS = 3   # b⁻ᵏ in a product is k divisions by b up to this k


def reciprocal_of(node: E.Expr):
    """``(b, k)`` for a node b⁻ᵏ (a power with a constant exponent -k, k = 1, 2 or 3),
    else None: a product divides by b k times instead of multiplying by b⁻ᵏ (no
    overflow of 1/b where b is subnormal, nor of bᵏ where b⁻ᵏ is still a number; and
    NumPy's general power, which ``b ** -2`` takes, costs more than two divisions). A
    scalar b⁻ᵏ expanded counts: the division broadcasts."""
    if type(node) is E.Expand and node.arg.rank == 0:
        node = node.arg
    if type(node) is E.Pow:
        c = E.const_value(node.exp)
        if c is not None and c.denominator == 1 and -MAX_DIVISIONS <= c < 0:
            return node.base, int(-c)
    return None


def _as2d(a: np.ndarray) -> np.ndarray:
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(-1, 1)
    return a


class Evaluator(Interpreter):
    """NumPy values of nodes (the numeric contract); shared sub-expressions are
    computed once, and no array is built beyond limits.max_elements."""

    def __init__(self, arrays: Mapping[str, np.ndarray], dims: Mapping[str, int],
                 tangents: Mapping[E.Expr, np.ndarray] | None = None):
        super().__init__(tangents)
        self.arrays = arrays
        self.dims = dims

    def visit(self, node: E.Expr, args: list) -> np.ndarray:
        if node.rank:  # no array beyond the budget, whatever the values given
            check_size(concrete(node.shape, self.dims), "an intermediate result")
        return super().visit(node, args)

    def _eval_Var(self, e, args):
        return self.tangents[e] if e.tangent else self.arrays[e.name]

    def _eval_Num(self, e, args):
        return np.asarray(E.to_float(e.value))

    def _eval_Size(self, e, args):
        return np.asarray(float(concrete((e.dim,), self.dims)[0]))

    def _eval_Eye(self, e, args):
        return np.eye(concrete((e.n,), self.dims)[0])

    def _eval_Select(self, e, args):
        n = concrete((e.n,), self.dims)[0]
        stop = None if e.stop is None else concrete((e.stop,), self.dims)[0]
        last = e.start if stop is None else stop - 1
        if not (-n <= e.start < n and -n <= last < n) or stop is not None and stop > n:
            raise EvalError(f"index {e.start if stop is None else f'{e.start}:{stop}'} is "
                            f"out of range for an axis of length {n}")
        return np.eye(n)[:, e.start] if stop is None else np.eye(n)[:, e.start:stop]

    def _eval_Mul(self, e, args):
        """The product; a factor b⁻ᵏ (k ≤ 3) divides by b k times (no overflow of 1/b:
        e/s with e, s ~ 1e-313 is 0.7, where e ⊙ (1/s) is inf)."""
        nums, dens, recips = [], [], []
        for node, a in zip(e.args, args):
            hit = reciprocal_of(node)
            if hit is not None and hit[0] in self.memo:
                dens.append([self.memo[hit[0]]] * hit[1])
                recips.append(a)
            else:
                nums.append(a)
        if not nums:  # only reciprocals: b₁⁻ᵏ / b₂ ...
            nums, dens = recips[:1], dens[1:]
        out = nums[0]
        for a in nums[1:]:
            out = out * a
        for b in (b for divisions in dens for b in divisions):
            out = out / b
        return out

    def _eval_Pow(self, e, args):
        return np.power(args[0], args[1])

    def _eval_MatMul(self, e, args):
        out = _as2d(args[0])
        for a in args[1:]:
            out = out @ _as2d(a)
        return out.reshape(concrete(e.shape, self.dims))

    def _eval_Transpose(self, e, args):
        a = args[0]
        if a.ndim == 1:
            return a.reshape(1, -1)
        if e.shape and len(e.shape) == 1:
            return a.reshape(-1)
        return a.T

    def _eval_Expand(self, e, args):
        a = args[0][:, None] if e.axis == 1 else args[0]  # a vector as each column
        return np.broadcast_to(a, concrete(e.shape, self.dims)).copy()

    def _eval_Call(self, e, args):
        try:
            return np.asarray(e.op.numpy(*args), dtype=float)
        except np.linalg.LinAlgError as err:   # inv of a singular matrix
            text = str(e)
            text = text if len(text) <= 40 else text[:37] + "..."
            raise EvalError(f"cannot evaluate {text}: {str(err).lower()}") from None

    def _eval_VecLit(self, e, args):
        return np.array([float(a) for a in args])

    def _eval_Entry(self, e, args):
        a = args[0]
        if not e.index < a.shape[0]:
            raise EvalError(f"index {e.index} is out of range for a vector of length "
                            f"{a.shape[0]}")
        return np.asarray(a[e.index])


def evaluate(expr, values: Mapping[str, object], shapes=None,
             dialect: str = "default") -> np.ndarray:
    """The value of ``expr`` (text or Expr) for the given values, as a NumPy array."""
    variables = None
    if isinstance(expr, str):
        from ..parser import parse_with_variables
        expr, named = parse_with_variables(expr, shapes, dialect)
        # a variable the algebra removed (x - x, inv(A) @ A) still gives its dimensions
        variables = E.variables(expr)
        variables += [v for v in named if v not in variables and v.name in values]
    arrays, dims = bind_dims(variables or E.variables(expr), values)
    with np.errstate(all="ignore"):
        out = Evaluator(arrays, dims).value(stabilize(expr))
    return np.asarray(out, dtype=float).reshape(concrete(expr.shape, dims))


def _unit(j: int, count: int) -> np.ndarray:
    u = np.zeros(count)
    u[j] = 1.0
    return u


def evaluate_derivative(d, values: Mapping[str, object]) -> np.ndarray:
    """Derivative ``d`` at ``values``: an array of shape ``f.shape + wrt.shape``; a
    differential is applied to each basis direction of ``wrt`` in turn."""
    from ..calculus.jvp import tangent_of
    from ..calculus.result import Kind
    arrays, dims = bind_dims(d.variables, values)
    out_shape = concrete(d.shape, dims)
    check_size(out_shape, "the derivative")
    with np.errstate(all="ignore"):
        if d.kind is Kind.ZERO:
            return np.zeros(out_shape)
        ev = Evaluator(arrays, dims)
        expr = stabilize(d.expr)
        if d.kind is not Kind.DIFFERENTIAL:
            return np.asarray(ev.value(expr), dtype=float).reshape(out_shape)
        vshape = concrete(d.wrt.shape, dims)
        fshape = concrete(d.f_shape, dims)
        count = int(np.prod(vshape, dtype=int))
        basis = (_unit(j, count).reshape(vshape) for j in range(count))
        cols = [np.asarray(c, dtype=float).reshape(fshape)
                for c in ev.columns(expr, tangent_of(d.wrt), basis)]
        out = np.stack(cols, axis=-1) if cols else np.zeros(tuple(fshape) + (0,))
        return out.reshape(out_shape)


def _einsum_letters(form) -> dict:
    """Each index of ``form`` -> a letter einsum accepts (a-z, then A-Z)."""
    names: list = []
    for t in form.terms:
        for i, _ in t.sizes:
            if i not in names:
                names.append(i)
    pool = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if len(names) > len(pool):
        raise EvalError(f"the index form has {len(names)} distinct indices; einsum takes "
                        f"at most {len(pool)}")
    return dict(zip(names, pool))


def einsum_plan(form) -> list:
    """Each term of an :class:`~matcalc.calculus.index.IndexForm` as one einsum, for
    the evaluator and the code generator alike: ``(coeff, scalars, operands, spec)``,
    ``scalars`` the factors without indices (Exprs), ``operands`` a list of
    ``("factor", expr, dims)`` (dims: those of its indexed axes; an axis of literal
    size 1 takes no index), ``("eye", dim)`` for a delta and ``("ones", dim)`` for a
    free index no factor has; ``spec`` the subscripts (letters only) or None when the
    term has no operand."""
    letters = _einsum_letters(form)
    free = [i for i in form.free if i is not None]
    plan = []
    for t in form.terms:
        sizes = dict(t.sizes)
        scalars, operands, subs, seen = [], [], [], set()
        for fac in t.factors:
            kept = [i for i in fac.indices if i is not None]
            if not kept:
                scalars.append(fac.expr)
                continue
            operands.append(("factor", fac.expr, [sizes[i] for i in kept]))
            subs.append("".join(letters[i] for i in kept))
            seen.update(kept)
        for a, b in t.deltas:
            operands.append(("eye", sizes[a]))
            subs.append(letters[a] + letters[b])
            seen.update((a, b))
        for i in free:
            if i not in seen:  # constant along a free index
                operands.append(("ones", sizes[i]))
                subs.append(letters[i])
        spec = ",".join(subs) + "->" + "".join(letters[i] for i in free) if operands else None
        plan.append((t.coeff, scalars, operands, spec))
    return plan


def evaluate_index_form(form, values: Mapping[str, object]) -> np.ndarray:
    """The tensor of an :class:`~matcalc.calculus.index.IndexForm` at ``values``, by
    einsum over the factors' values (``f.shape + wrt.shape``)."""
    d = form.derivative
    seen, uniq = set(), []
    for t in form.terms:
        for fac in t.factors:
            for v in E.variables(fac.expr):
                if v not in seen:
                    seen.add(v)
                    uniq.append(v)
    for v in E.variables(d.f) + [d.wrt]:
        if v not in seen and not v.tangent:
            seen.add(v)
            uniq.append(v)
    arrays, dims = bind_dims(uniq, values)
    out_shape = concrete(d.shape, dims)
    check_size(out_shape, "the derivative")
    if not form.terms:
        return np.zeros(out_shape)
    ev = Evaluator(arrays, dims)

    def value(e):
        return np.asarray(ev.value(stabilize(e)), dtype=float)

    def array(operand):
        if operand[0] == "factor":
            return value(operand[1]).reshape(concrete(operand[2], dims))
        n = concrete((operand[1],), dims)[0]
        return np.eye(n) if operand[0] == "eye" else np.ones(n)

    total = np.zeros(())  # over the indexed axes; the axes of size 1 are put back last
    with np.errstate(all="ignore"):
        for coeff, scalars, operands, spec in einsum_plan(form):
            part = np.asarray(float(coeff))
            for e in scalars:
                part = part * value(e)
            if spec is not None:
                part = part * np.einsum(spec, *map(array, operands), optimize=True)
            total = total + part
    return total.reshape(out_shape)
