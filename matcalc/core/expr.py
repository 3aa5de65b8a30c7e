"""The expression nodes and their smart constructors.

Nodes are small, immutable and *interned*: building the same node twice gives the
same object, so equality is identity, hashing is O(1) and equal sub-trees are
shared (derivatives are cached by node, nothing is differentiated twice).

Every node knows its shape, computed when it is built by a smart constructor
(lower-case functions below: ``add``, ``mul``, ``matmul``...), which also does the
cheap algebra that keeps results readable: flattening, 0/1/identity folding,
numeric constants folded, equal terms collected, transposes pushed through sums
and products. A badly shaped node cannot exist: the constructors raise
:class:`ShapeError`.

Vectors are columns. Inside a matrix product a vector ``(n,)`` is an ``n×1``
matrix and the transpose of a vector is the row vector ``(1, n)``; a ``1×1``
result is a scalar.
"""
from __future__ import annotations

import threading
import weakref
from fractions import Fraction
from typing import Callable, Iterable, Sequence

from .. import limits
from . import shapes as S
from ..errors import LimitError, ParseError, ShapeError, UsageError

_TABLE: "weakref.WeakValueDictionary[tuple, Expr]" = weakref.WeakValueDictionary()
# Interning is a get-then-set on _TABLE: under a lock, so that two threads building
# the same node get the same object (equality is identity).
_LOCK = threading.Lock()


class Expr:
    """Base of all nodes. ``args`` are the child nodes, ``params`` the other data."""

    __slots__ = ("args", "params", "shape", "depth", "_hash", "__weakref__")
    args: tuple
    params: tuple
    shape: tuple
    depth: int

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} nodes are immutable")

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self):
        # flat, children first: pickling a 10,000-deep tree does not recurse
        index: dict = {}
        flat = []
        for n in postorder(self):
            index[n] = len(flat)
            flat.append((type(n), n.params, tuple(index[a] for a in n.args), n.shape))
        return (_rebuild_nodes, (flat,))

    def __copy__(self):
        return self  # immutable and interned: a copy is the node itself

    def __deepcopy__(self, memo):
        return self

    def rebuild(self, args: Sequence["Expr"]) -> "Expr":
        """The same kind of node over new children (through the smart constructor)."""
        raise NotImplementedError

    def map_dims(self, f: Callable[[S.Dim], S.Dim], args: Sequence["Expr"]) -> "Expr":
        """Rebuild with every dimension in ``params`` passed through ``f``."""
        return self.rebuild(args)

    @property
    def rank(self) -> int:
        return len(self.shape)

    def __str__(self) -> str:
        from ..printing.text import to_text  # printers depend on the core, not the reverse
        return to_text(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self} : {S.shape_str(self.shape)}>"

    def _repr_latex_(self) -> str:
        from ..printing.latex import to_latex  # for Jupyter; printers stay out of the core
        return f"$\\displaystyle {to_latex(self)}$"

    def to_sympy(self):
        from ..backends.sympy_bridge import to_sympy
        return to_sympy(self)


def _rebuild_nodes(flat):
    """The inverse of ``Expr.__reduce__``: the same nodes, children first."""
    built: list = []
    for cls, params, idx, shape in flat:
        built.append(_make(cls, params, tuple(built[i] for i in idx), shape))
    return built[-1]


def _make(cls, params: tuple, args: tuple, shape: tuple | None) -> Expr:
    key = (cls, params, args)
    node = _TABLE.get(key)
    if node is not None:
        return node
    depth = 1 + max((a.depth for a in args), default=0)
    if depth > limits.current().max_depth:
        raise ParseError(f"expression is nested more than {limits.current().max_depth:,} "
                         f"levels deep")
    new = object.__new__(cls)
    osa = object.__setattr__
    osa(new, "args", args)
    osa(new, "params", params)
    osa(new, "shape", shape)
    osa(new, "depth", depth)
    osa(new, "_hash", hash((cls.__name__, params, tuple(a._hash for a in args))))
    with _LOCK:
        node = _TABLE.get(key)
        if node is None:  # no other thread built it meanwhile
            _TABLE[key] = node = new
    return node


def _map_shape(f, shape):
    return tuple(f(d) for d in shape)


# --------------------------------------------------------------------------- leaves

class Var(Expr):
    """A variable. ``tangent`` marks the differential ``dv`` used by the differentiator;
    ``structure`` is its declared structure (``shapes.STRUCTURES``: sym, spd, prob) or
    None, part of its identity (S declared symmetric is not the plain S)."""
    __slots__ = ()

    @property
    def name(self) -> str:
        return self.params[0]

    @property
    def tangent(self) -> bool:
        return self.params[2]

    @property
    def structure(self):
        return self.params[3]

    @property
    def symmetric(self) -> bool:
        """Declared symmetric (sym or spd): its transpose is itself."""
        return self.params[3] in S.SYMMETRIC

    def rebuild(self, args):
        return self

    def map_dims(self, f, args):
        return var(self.name, _map_shape(f, self.shape), self.tangent, self.structure)


class Num(Expr):
    """An exact rational constant (a scalar)."""
    __slots__ = ()

    @property
    def value(self) -> Fraction:
        return self.params[0]

    def rebuild(self, args):
        return self


class Size(Expr):
    """The size of a dimension, as a scalar (``sum(ones(n))`` is ``n``)."""
    __slots__ = ()

    @property
    def dim(self):
        return self.params[0]

    def rebuild(self, args):
        return self

    def map_dims(self, f, args):
        return size(f(self.dim))


class Eye(Expr):
    """The identity matrix I of size n."""
    __slots__ = ()

    @property
    def n(self):
        return self.params[0]

    def rebuild(self, args):
        return self

    def map_dims(self, f, args):
        return eye(f(self.n))


class Select(Expr):
    """Columns of the identity matrix I of size n, for indexing: ``stop`` None, the
    unit vector eᵢ (``i = start``, 0-based, negative from the end); else the n×k
    selection matrix of columns ``start``..``stop - 1``. ``X[:, j]`` is ``X eⱼ``,
    ``x[1:3]`` is ``Sᵀx``: indexing is a matrix product, so its derivative and its
    adjoint (a scatter: ``g eⱼᵀ``) are the product rule's."""
    __slots__ = ()

    @property
    def n(self):
        return self.params[0]

    @property
    def start(self) -> int:
        return self.params[1]

    @property
    def stop(self):
        return self.params[2]

    def rebuild(self, args):
        return self

    def map_dims(self, f, args):
        stop = self.stop if self.stop is None or isinstance(self.stop, int) else f(self.stop)
        return select(f(self.n), self.start, stop)


# ------------------------------------------------------------------ interior nodes

class Add(Expr):
    """Element-wise sum of terms of one shape."""
    __slots__ = ()

    def rebuild(self, args):
        return add(*args)


class Mul(Expr):
    """Element-wise (Hadamard) product of factors of one shape."""
    __slots__ = ()

    def rebuild(self, args):
        return mul(*args)


class Pow(Expr):
    """Element-wise power ``base ^ exp``; ``exp`` is a scalar or has the base's shape."""
    __slots__ = ()

    @property
    def base(self) -> Expr:
        return self.args[0]

    @property
    def exp(self) -> Expr:
        return self.args[1]

    def rebuild(self, args):
        return power(*args)


class MatMul(Expr):
    """A matrix product chain (vectors are columns inside it)."""
    __slots__ = ()

    def rebuild(self, args):
        return matmul(*args)


class Transpose(Expr):
    """Transpose: a vector becomes a 1×n row vector and back."""
    __slots__ = ()

    @property
    def arg(self) -> Expr:
        return self.args[0]

    def rebuild(self, args):
        return transpose(args[0])


class Expand(Expr):
    """Scalar expansion (paper): a scalar repeated into a vector or matrix; also a
    vector broadcast along a new axis of a matrix (NumPy broadcasting): ``axis`` 0,
    the vector is every row (``x[None, :]`` stretched), 1, every column (``x[:, None]``);
    None for a scalar."""
    __slots__ = ()

    @property
    def arg(self) -> Expr:
        return self.args[0]

    @property
    def axis(self):
        return self.params[1]

    def rebuild(self, args):
        return expand(args[0], self.shape, self.axis)

    def map_dims(self, f, args):
        return expand(args[0], _map_shape(f, self.shape), self.axis)


class Call(Expr):
    """A function (an ``Op`` record of :mod:`matcalc.ops`) applied to arguments."""
    __slots__ = ()

    @property
    def op(self):
        return self.params[0]

    @property
    def fn(self) -> str:
        return self.params[0].name

    def rebuild(self, args):
        return call(self.op, *args)


class VecLit(Expr):
    """A vector built from scalar expressions: ``[a, b, c]``."""
    __slots__ = ()

    def rebuild(self, args):
        return veclit(args)


class Entry(Expr):
    """Entry ``i`` (0-based) of a vector of known length (used by derivatives of ``[...]``)."""
    __slots__ = ()

    @property
    def index(self) -> int:
        return self.params[0]

    @property
    def arg(self) -> Expr:
        return self.args[0]

    def rebuild(self, args):
        return entry(args[0], self.index)


# Every kind of node: each interpreter and printer has one method per kind.
NODE_KINDS = (Var, Num, Size, Eye, Select, Add, Mul, Pow, MatMul, Transpose, Expand, Call,
              VecLit, Entry)


# ---------------------------------------------------------------- constructors

def var(name: str, shape: tuple = (), tangent: bool = False, structure=None) -> Expr:
    """A variable; ``name`` must be a name of the language (``S.check_name``);
    ``structure`` (sym, spd, prob or None) must fit the shape (``S.check_structure``)."""
    S.check_name(name, "variable name", internal=True)
    shape = tuple(shape)
    for d in shape:
        S.check_dim(d)
    S.check_structure(structure, shape, f"the declaration of {name}")
    return _make(Var, (name, shape, bool(tangent), structure), (), shape)


def as_fraction(value) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        raise UsageError("a constant must be a number, not a bool")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if value != value or abs(value) == float("inf"):
            raise UsageError(f"a constant must be finite, not {value!r}")
        return Fraction(str(value))  # 0.1 is 1/10, as written, not the nearest binary
    raise UsageError(f"a constant must be a number, not {type(value).__name__}")


def exact(value: Fraction) -> Fraction:
    """``value``, checked against the exact-arithmetic budget (limits.max_exact_bits)."""
    bits = max(value.numerator.bit_length(), value.denominator.bit_length())
    if bits > limits.current().max_exact_bits:
        raise LimitError(f"a constant in this expression needs {bits:,} bits; the limit is "
                         f"{limits.current().max_exact_bits:,} (limits.max_exact_bits)")
    return value


def to_float(value: Fraction) -> float:
    """The nearest float; beyond float64's range, ±inf (never OverflowError)."""
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def num(value) -> Expr:
    return _make(Num, (exact(as_fraction(value)),), (), ())


ZERO = None  # set below, after the constructors exist
ONE = None


def size(dim) -> Expr:
    S.check_dim(dim)
    if isinstance(dim, int):
        return num(dim)
    return _make(Size, (dim,), (), ())


def eye(n) -> Expr:
    S.check_dim(n)
    return _make(Eye, (n,), (), (n, n))


def select(n, start: int, stop=None) -> Expr:
    """Column ``start`` of I(n) (``stop`` None), or columns ``start``..``stop - 1``
    (``stop`` an int, or a dimension when ``start`` is 0: ``X[:, :k]``)."""
    S.check_dim(n)
    if stop is None:
        return _make(Select, (n, start, None), (), (n,))
    S.check_dim(stop)
    k = stop if start == 0 else stop - start
    return _make(Select, (n, start, stop), (), (n, k))


def zeros(shape: tuple) -> Expr:
    return expand(num(0), tuple(shape))


def ones(shape: tuple) -> Expr:
    return expand(num(1), tuple(shape))


def const_value(e: Expr) -> Fraction | None:
    """The number a constant node stands for (a Num, or a Num expanded), else None."""
    if type(e) is Num:
        return e.value
    if type(e) is Expand and type(e.arg) is Num:
        return e.arg.value
    return None


def is_zero(e: Expr) -> bool:
    return const_value(e) == 0


def is_one(e: Expr) -> bool:
    return const_value(e) == 1


def constant(value, shape: tuple) -> Expr:
    return expand(num(value), shape)


def expand(x: Expr, shape: tuple, axis: int | None = None) -> Expr:
    """Scalar expansion: ``x`` (scalar) repeated to ``shape``; a vector repeated along
    a new ``axis`` of a matrix: 0 (the default) as its rows, 1 as its columns."""
    shape = tuple(shape)
    if x.rank == len(shape) and S.unify_shapes(x.shape, shape):
        return x
    if type(x) is Expand and x.arg.rank == 0:
        x = x.arg
    if x.rank == 1 and len(shape) == 2:
        s = _scalar_of(x)
        if s is not None:  # a scalar repeated, then broadcast: the scalar expanded
            x = s
    if x.rank == 0:
        axis = None
    elif x.rank == 1 and len(shape) == 2 and axis in (None, 0, 1):
        axis = axis or 0
        if not S.same_dim(x.shape[0], shape[1 - axis]):
            raise ShapeError(f"cannot broadcast {S.describe(S.resolved(x.shape))} as the "
                             f"{'rows' if axis == 0 else 'columns'} of a "
                             f"{S.describe(S.resolved(shape))}")
    else:
        raise ShapeError(f"cannot expand {S.describe(S.resolved(x.shape))} "
                         f"to {S.describe(S.resolved(shape))}")
    if type(x) is Mul and x.rank == 0 and type(x.args[0]) is Num:
        # keep the coefficient outside: (-a) expanded is -1 ⊙ (a expanded)
        return mul(_make(Expand, (shape, None), (x.args[0],), shape),
                   expand(x.args[1] if len(x.args) == 2 else _make(Mul, (), x.args[1:], ()),
                          shape))
    if type(x) is Mul and x.rank == 1 and type(x.args[0]) is Expand and x.args[0].arg.rank == 0:
        # and of a broadcast vector: (-v)𝟏ᵀ is -1 ⊙ (v𝟏ᵀ), (v/N)𝟏ᵀ is (v𝟏ᵀ)/N
        scalars = [f for f in x.args if type(f) is Expand and f.arg.rank == 0]
        rest = [f for f in x.args if f not in scalars]
        if rest:
            inner = rest[0] if len(rest) == 1 else _make(Mul, (), tuple(rest), x.shape)
            return mul(*[expand(f.arg, shape) for f in scalars], expand(inner, shape, axis))
    return _make(Expand, (shape, axis), (x,), shape)


def _merge_broadcasts(flat: list, shape: tuple) -> list:
    """Factors broadcast along one axis multiply as vectors, broadcast once:
    (u𝟏ᵀ) ⊙ (v𝟏ᵀ) = (u ⊙ v)𝟏ᵀ."""
    for axis in (0, 1):
        group = [f for f in flat if type(f) is Expand and f.arg.rank == 1 and f.axis == axis]
        if len(group) > 1:
            rest = [f for f in flat if f not in group]
            flat = rest + [expand(mul(*[f.arg for f in group]), shape, axis)]
    return flat


def _scalar_of(x: Expr) -> Expr | None:
    """The scalar a vector repeats (an expanded scalar, or a product of them), else None."""
    if type(x) is Expand and x.arg.rank == 0:
        return x.arg
    if type(x) is Mul and all(type(f) is Expand and f.arg.rank == 0 for f in x.args):
        return mul(*[f.arg for f in x.args])
    return None


def _as_broadcast(t: Expr):
    """(axis, v) for a term that is the vector v broadcast along axis (its coefficient
    kept on v), ("s", c) for an expanded scalar c, else None."""
    c, rest = _split_coeff(t)
    if rest is None:
        return "s", num(c)
    if type(rest) is Expand:
        return ("s" if rest.arg.rank == 0 else rest.axis), scale(c, rest.arg)
    return None


def _is_one(d) -> bool:
    return S.resolve(d) == 1


def _squeezed(x: Expr, axis: int) -> Expr | None:
    """A 1×n (axis 0) or m×1 (axis 1) matrix built from broadcasts, scalars and
    element-wise operations, as the vector it holds; None if it is not so built."""
    t = type(x)
    if t is Expand:
        if x.arg.rank == 0:
            return expand(x.arg, (S.resolve(x.shape[1 - axis]),))
        return x.arg if x.axis == axis else None
    if t in (Add, Mul):
        parts = [_squeezed(a, axis) for a in x.args]
        if any(p is None for p in parts):
            return None
        return (add if t is Add else mul)(*parts)
    if t is Pow and x.exp.rank == 0:
        base = _squeezed(x.base, axis)
        return None if base is None else power(base, x.exp)
    if t is Call and x.op.category == "elementwise":
        parts = [_squeezed(a, axis) if a.rank else a for a in x.args]
        return None if any(p is None for p in parts) else call(x.op, *parts)
    return None


def row_to_vector(x: Expr) -> Expr:
    """A 1×n row as the vector (n,)."""
    if x.rank != 2 or not _is_one(x.shape[0]):
        return x
    v = _squeezed(x, 0)
    return v if v is not None else transpose(x)


def column_to_vector(x: Expr) -> Expr:
    """An m×1 matrix (``x[:, None]``) as the vector (m,)."""
    v = _squeezed(x, 1)
    if v is not None:
        return v
    if type(x) is Transpose and x.arg.rank == 2 and _is_one(x.arg.shape[0]):
        return row_to_vector(x.arg)
    return matmul(x, ones((1,)))  # X 𝟏 with 𝟏 of length 1: the column itself


def broadcast_to(x: Expr, shape: tuple) -> Expr:
    """``x`` broadcast to ``shape`` as NumPy does (``S.broadcast_shapes``)."""
    shape = S.resolved(shape)
    if S.resolved(x.shape) == shape:
        return x
    if x.rank == 0:
        return expand(x, shape)
    s = _scalar_of(x)
    if s is not None:   # a scalar kept with size-1 axes (sum(X, keepdims=True))
        return expand(s, shape)
    if x.rank == 1 and _is_one(x.shape[0]) and not (len(shape) == 2 and _is_one(shape[1])):
        return expand(entry(x, 0), shape)      # a vector of length 1: its one entry
    if x.rank == 1 and len(shape) == 2:
        return expand(x, shape, 0)
    if x.rank == 2 and len(shape) == 2:
        r, c = x.shape
        if _is_one(r) and _is_one(c):
            return expand(matmul(transpose(ones((1,))), x, ones((1,))), shape)
        if _is_one(r) and S.same_dim(c, shape[1]):
            return expand(row_to_vector(x), shape, 0)
        if _is_one(c) and S.same_dim(r, shape[0]):
            return expand(column_to_vector(x), shape, 1)
    raise ShapeError(f"cannot broadcast {S.describe(S.resolved(x.shape))} to "
                     f"{S.describe(shape)}")


def broadcast(a: Expr, b: Expr, what: str) -> tuple[Expr, Expr]:
    """Bring two operands of an element-wise operation to one shape, as NumPy
    broadcasts (scalar expansion, a vector as rows, size-1 dimensions stretched)."""
    if S.resolved(a.shape) == S.resolved(b.shape):
        return a, b
    try:
        shape = S.broadcast_shapes(a.shape, b.shape)
    except ShapeError as err:
        raise ShapeError(f"cannot {what} {S.describe(S.resolved(a.shape))} and "
                         f"{S.describe(S.resolved(b.shape))}"
                         + (f" ({err.message})" if err.message else "")) from None
    return broadcast_to(a, shape), broadcast_to(b, shape)


def _split_coeff(e: Expr) -> tuple[Fraction, Expr | None]:
    """``3*x`` -> (3, x); a constant -> (c, None)."""
    c = const_value(e)
    if c is not None:
        return c, None
    if type(e) is Mul:
        c0 = const_value(e.args[0])
        if c0 is not None:
            rest = e.args[1:]
            return c0, (rest[0] if len(rest) == 1 else _make(Mul, (), rest, e.shape))
    return Fraction(1), e


def scale(c, e: Expr) -> Expr:
    """The constant ``c`` times ``e``."""
    c = as_fraction(c)
    if c == 1:
        return e
    return mul(constant(c, e.shape) if e.rank else num(c), e)


def add(*terms: Expr) -> Expr:
    """Element-wise sum: flattened, zeros dropped, constants folded, equal terms collected."""
    if not terms:
        raise ValueError("add() needs at least one term")
    shape = terms[0].shape
    for t in terms[1:]:
        S.check_same(shape, t.shape, "add", "left", "right")
    flat: list[Expr] = []
    for t in terms:
        if type(t) is Add:
            flat.extend(t.args)
        else:
            flat.append(t)
    shape = S.resolved(shape)
    if len(flat) > 1 and all(type(t) is VecLit for t in flat):
        # [a, b] + [c, d] = [a + c, b + d]
        return veclit([add(*col) for col in zip(*(t.args for t in flat))])
    const = Fraction(0)
    coeffs: dict[Expr, Fraction] = {}
    for t in flat:
        c, rest = _split_coeff(t)
        if rest is None:
            const += c
        else:
            coeffs[rest] = coeffs.get(rest, Fraction(0)) + c
    out = [scale(c, r) for r, c in coeffs.items() if c != 0]
    if len(shape) == 2 and len(out) + (const != 0) > 1:
        # v𝟏ᵀ + w𝟏ᵀ = (v + w)𝟏ᵀ: a sum of broadcasts along one axis is broadcast once
        parts = [_as_broadcast(t) for t in out] + ([("s", num(const))] if const else [])
        axes = {p[0] for p in parts if p is not None}
        if None not in parts and len(axes - {"s"}) == 1:
            ax = (axes - {"s"}).pop()
            n = shape[1 - ax]
            return expand(add(*[v if a != "s" else expand(v, (n,)) for a, v in parts]),
                          shape, ax)
    if const > 0:  # a positive constant first, as the paper writes 1 + 2x
        out.insert(0, constant(const, shape))
    elif const < 0:  # a negative one last: x - 1
        out.append(constant(const, shape))
    if not out:
        return zeros(shape)
    if len(out) == 1:
        return out[0]
    return _make(Add, (), tuple(out), shape)


def _base_exp(e: Expr) -> tuple[Expr, Fraction]:
    """``x^3`` -> (x, 3); ``sqrt(x)`` -> (x, 1/2) (a function that is a power);
    anything else (a non-constant exponent too) -> (e, 1)."""
    if type(e) is Pow:
        c = const_value(e.exp)
        if c is not None:
            if type(e.base) is Call and e.base.op.as_power is not None:
                return e.base.args[0], e.base.op.as_power * c  # √x⁻¹ = x^(-1/2)
            return e.base, c
    if type(e) is Call and e.op.as_power is not None:
        return e.args[0], e.op.as_power
    return e, Fraction(1)


def _is_leafy(e: Expr) -> bool:
    return type(e) in (Var, Size) or (type(e) is Expand and type(e.arg) in (Var, Size))


def _leaf_key(e: Expr) -> tuple:
    if type(e) is Expand:
        e = e.arg
    return (0 if type(e) is Size else 1, str(e.params[0]))


def mul(*factors: Expr) -> Expr:
    """Element-wise product: flattened, constants folded into one leading coefficient,
    equal bases combined into powers (``x * x^2 = x^3``)."""
    if not factors:
        raise ValueError("mul() needs at least one factor")
    shape = factors[0].shape
    for f in factors[1:]:
        S.check_same(shape, f.shape, "multiply element-wise", "left", "right")
    shape = S.resolved(shape)
    flat: list[Expr] = []
    for f in factors:
        flat.extend(f.args if type(f) is Mul else (f,))
    if len(shape) == 2:
        flat = _merge_broadcasts(flat, shape)
    coeff = Fraction(1)
    powers: dict[Expr, Fraction] = {}
    first: dict[Expr, Expr] = {}  # the factor as written, kept when it is the only one
    others: list[Expr] = []
    scalars: list[Expr] = []  # expanded scalars: multiplied as scalars, expanded once
    for f in flat:
        c = const_value(f)
        if c is not None:
            coeff *= c
            continue
        if shape and type(f) is Expand and f.arg.rank == 0:
            scalars.append(f.arg)
            continue
        base, e = _base_exp(f)
        if base in powers:
            powers[base] += e
            first[base] = None
        else:
            powers[base] = e
            first[base] = f
            others.append(base)
    if scalars:
        s = mul(*scalars)
        c = const_value(s)
        if c is not None:
            coeff *= c
        else:
            c, rest = _split_coeff(s)
            coeff *= c
            base = expand(rest, shape)
            powers[base], first[base] = Fraction(1), base
            others.append(base)
    if coeff == 0:
        return zeros(shape)
    # Canonical order, as a textbook writes a product: variables and their powers
    # first (by name), then the rest in the order given: 2x cos(x²), not 2 cos(x²) x.
    if shape:  # expanded scalars in front: c x, not x c
        front = [f for f in others if type(f) is Expand and f.arg.rank == 0]
        others = front + [f for f in others if not (type(f) is Expand and f.arg.rank == 0)]
    else:
        front = []
    leaves = sorted((f for f in others if _is_leafy(f) and f not in front), key=_leaf_key)
    others = front + leaves + [f for f in others if not _is_leafy(f) and f not in front]
    # divisors last, where a reader (and the printer's a / b) puts them
    divisors = {f for f, e in powers.items() if e.numerator < 0}
    if divisors:
        others = [f for f in others if f not in divisors] + \
            [f for f in others if f in divisors]
    out: list[Expr] = []
    for f in others:
        if f in powers:
            e = powers.pop(f)
            if first[f] is not None:
                out.append(first[f])
            elif e != 0:
                out.append(f if e == 1 else power(f, num(e)))
        else:
            out.append(f)
    if coeff != 1 or not out:
        out.insert(0, constant(coeff, shape))
    if len(out) == 1:
        return out[0]
    return _make(Mul, (), tuple(out), shape)


def neg(x: Expr) -> Expr:
    return scale(-1, x)


def sub(a: Expr, b: Expr) -> Expr:
    a, b = broadcast(a, b, "subtract")
    return add(a, neg(b))


def div(a: Expr, b: Expr) -> Expr:
    """``a / b = a * b^-1`` (element-wise)."""
    a, b = broadcast(a, b, "divide")
    return mul(a, power(b, num(-1)))


def _exact_pow(b: Fraction, e: Fraction) -> Fraction | None:
    """``b ** e`` folded exactly, or None (not rational, or beyond the bit budget:
    then the power stays a node, and evaluates in floating point)."""
    if e.denominator != 1 or abs(e) > 64 or b == 0 and e < 0:
        return None
    bits = max(b.numerator.bit_length(), b.denominator.bit_length()) * abs(int(e))
    if bits > limits.current().max_exact_bits:
        return None
    return b ** int(e)


def power(base: Expr, exp: Expr) -> Expr:
    """Element-wise power; a scalar exponent is kept scalar (it is expanded implicitly)."""
    if exp.rank and not S.unify_shapes(exp.shape, base.shape):
        if base.rank == 0:
            base = expand(base, exp.shape)
        else:
            raise ShapeError(f"cannot raise {S.describe(S.resolved(base.shape))} to the power "
                             f"{S.describe(S.resolved(exp.shape))}")
    if type(exp) is Expand and exp.arg.rank == 0:
        exp = exp.arg
    e = const_value(exp)
    if e is not None and e < 0 and is_zero(base):
        raise ShapeError("division by zero")
    if e is not None:
        if e == 0:
            return ones(S.resolved(base.shape))
        if e == 1:
            return base
        b = const_value(base)
        if b is not None:
            r = _exact_pow(b, e)
            if r is not None:
                return constant(r, S.resolved(base.shape))
        if type(base) is Pow:
            e0 = const_value(base.exp)
            if e0 is not None and e.denominator == 1 and e0.denominator == 1:
                return power(base.base, num(e0 * e))
        if type(base) is Call and base.op.as_power is not None and e.denominator == 1:
            p = base.op.as_power * e  # sqrt(x)^4 = x^2
            if p.denominator == 1:
                return power(base.args[0], num(p))
        if e.denominator == 1 and type(base) is Mul:
            # (2σ²)⁻¹ = ½ σ⁻²: the constants of a product fold with the ones around it
            return mul(*[power(f, num(e)) for f in base.args])
        if type(base) is Expand:  # (x𝟏ᵀ)^k = x^k 𝟏ᵀ
            return expand(power(base.arg, num(e)), S.resolved(base.shape), base.axis)
    return _make(Pow, (), (base, exp), S.resolved(base.shape))


# ---- matrix products

def as2d(shape: tuple) -> tuple:
    """The 2-D view inside a matrix product: a vector is a column."""
    if len(shape) == 0:
        return (1, 1)
    if len(shape) == 1:
        return (shape[0], 1)
    return shape


def _pair_rule(a: Expr, b: Expr) -> Expr | None:
    """Local identities of a product of two adjacent factors (each function's
    ``products``: A⁻¹A = I, diag(x)𝟏 = x...), or None."""
    for f in (a, b):
        if type(f) is Call:
            for rule in f.op.products:
                r = rule(a, b)
                if r is not None:
                    return r
    return None


def matmul(*factors: Expr) -> Expr:
    """The matrix product of a chain (column semantics: a vector is n×1)."""
    if not factors:
        raise ValueError("matmul() needs at least one factor")
    flat: list[Expr] = []
    for f in factors:
        if f.rank == 0:
            raise ShapeError("cannot use a scalar in a matrix product (@): use * to scale")
        flat.extend(f.args if type(f) is MatMul else (f,))
    for left, right in zip(flat, flat[1:]):
        if not S.same_dim(as2d(left.shape)[1], as2d(right.shape)[0]):
            raise ShapeError(
                f"cannot multiply {S.describe(S.resolved(left.shape))} by "
                f"{S.describe(S.resolved(right.shape))}: inner dimensions "
                f"{S.resolve(as2d(left.shape)[1])} and {S.resolve(as2d(right.shape)[0])} differ")
    rows = S.resolve(as2d(flat[0].shape)[0])
    cols = S.resolve(as2d(flat[-1].shape)[1])
    if rows == 1 and cols == 1:
        shape: tuple = ()
    elif flat[-1].rank == 1:
        shape = (rows,)
    else:
        shape = (rows, cols)
    # Pull scalar factors out: (c A) B = c (A B)
    scalars: list[Expr] = []
    items: list[Expr] = []
    for f in flat:
        while type(f) is Mul and f.args[0].rank and type(f.args[0]) is Expand \
                and f.args[0].arg.rank == 0:  # c (s A): both scalars come out
            scalars.append(f.args[0].arg)
            rest = f.args[1:]
            f = rest[0] if len(rest) == 1 else mul(*rest)
        if type(f) is Expand and f.arg.rank == 0 and const_value(f) is None:
            scalars.append(f.arg)  # ones(n) (s ones(1, n)) = s (ones(n) ones(1, n))
            f = ones(f.shape)
        if is_zero(f):
            return zeros(shape)
        if type(f) is Expand and f.arg.rank == 1:
            # a broadcast is an outer product with ones, 𝟏vᵀ or v𝟏ᵀ: its factors join
            # the chain (diag(x)𝟏 = x can apply), and a chain that still starts or ends
            # with ones is a broadcast again (_broadcast_product)
            items.extend((ones((f.shape[0],)), transpose(f.arg)) if f.axis == 0 else
                         (f.arg, transpose(ones((f.shape[1],)))))
            continue
        # a product left once its scalar is out: flatten it too, (c AB) C = c ABC
        items.extend(f.args if type(f) is MatMul else (f,))
    # Local identities, applied until none fits
    changed = True
    while changed and len(items) > 1:
        changed = False
        items = [f for f in items if type(f) is not Eye] or items[:1]
        for i in range(len(items) - 1):
            r = _pair_rule(items[i], items[i + 1])
            if r is not None:
                if r.rank == 0:
                    scalars.append(r)
                    del items[i:i + 2]
                    changed = True
                    break
                # start again: the new factor may carry a scalar to pull out
                items[i:i + 2] = [r]
                return _scaled(matmul(*items), shape, scalars)
    if not items:
        prod: Expr = num(1) if shape == () else eye(rows)
    elif len(items) == 1:
        prod = items[0]
    elif len(items) == 2 and len(shape) == 2 and _broadcast_product(items, shape) is not None:
        prod = _broadcast_product(items, shape)
    else:
        prod = _make(MatMul, (), tuple(items), shape)
    return _scaled(prod, shape, scalars)


def _is_ones_row(f: Expr) -> bool:
    return f.rank == 2 and const_value(f) == 1 and S.resolve(f.shape[0]) == 1


def _broadcast_product(items: list, shape: tuple) -> Expr | None:
    """The outer product of a vector and ones is a broadcast: ``v 𝟏ᵀ`` repeats v as
    each column, ``𝟏 rᵀ`` the row r as each row (a longer chain stays a product)."""
    first, last = items
    if _is_ones_row(last):
        return expand(first if first.rank == 1 else column_to_vector(first), shape, 1)
    if first.rank == 1 and const_value(first) == 1:
        return expand(row_to_vector(last), shape, 0)
    return None


def _scaled(prod: Expr, shape: tuple, scalars: list) -> Expr:
    """The product with the chain's shape, times the scalars pulled out of it."""
    if prod.shape != shape:
        prod = _reshape_collapsed(prod, shape)
    if scalars:
        s = mul(*scalars)
        prod = mul(expand(s, shape), prod) if shape else mul(s, prod)
    return prod


def _reshape_collapsed(prod: Expr, shape: tuple) -> Expr:
    """A product whose only factor left has the 2-D shape of ``shape``
    (e.g. ``xᵀ`` left of a 1×1 chain): give it the chain's shape."""
    if S.unify_shapes(prod.shape, shape):
        return prod
    if shape == () and prod.rank == 2:
        return _make(MatMul, (), (prod,), ())
    if len(shape) == 1 and prod.rank == 2:
        return transpose(prod) if S.resolve(prod.shape[0]) == 1 else prod
    return prod


def matmul_op(a: Expr, b: Expr) -> Expr:
    """``a @ b`` as NumPy reads it: two vectors give their dot product; a vector on the
    left of a matrix is a row (``x @ A = (Aᵀ x)``) unless the matrix is a single row
    (then ``x @ yᵀ`` is the outer product, as in the paper)."""
    if a.rank == 0 or b.rank == 0:
        raise ShapeError("cannot use a scalar in a matrix product (@): use * to scale")
    if a.rank == 1 and b.rank == 1:
        return matmul(transpose(a), b)
    if a.rank == 1 and b.rank == 2 and S.resolve(b.shape[0]) != 1:
        return transpose(matmul(transpose(b), a))
    return matmul(a, b)


def transpose(x: Expr) -> Expr:
    """Transpose, pushed through sums and products (``(AB)ᵀ = BᵀAᵀ``) to the leaves."""
    if x.rank == 0:
        return x
    t = type(x)
    if t is Var and x.symmetric:
        return x  # declared symmetric: Sᵀ = S
    if t is Call and x.op.keeps_symmetry and type(x.args[0]) is Var and x.args[0].symmetric:
        return x  # S⁻ᵀ = S⁻¹
    if t is Transpose:
        return x.arg
    if t is MatMul:
        return matmul(*[transpose(f) for f in reversed(x.args)])
    if t is Add:
        return add(*[transpose(a) for a in x.args])
    if t is Eye:
        return x
    if t is Expand and x.arg.rank == 0:
        return expand(x.arg, _transposed_shape(x.shape))
    if t is Expand:  # a vector as rows, transposed: the vector as columns
        return expand(x.arg, (x.shape[1], x.shape[0]), 1 - x.axis)
    if t is Call and x.op.symmetric:
        return x
    if t is Mul and x.args[0].rank and type(x.args[0]) is Expand and x.args[0].arg.rank == 0:
        # c·A: keep the scalar in front
        rest = x.args[1:]
        inner = rest[0] if len(rest) == 1 else _make(Mul, (), rest, x.shape)
        tr = transpose(inner)
        return mul(expand(x.args[0].arg, tr.shape), tr)
    return _make(Transpose, (), (x,), _transposed_shape(S.resolved(x.shape)))


def _transposed_shape(shape: tuple) -> tuple:
    if len(shape) == 1:
        return (1, shape[0])
    if len(shape) == 2 and S.resolve(shape[0]) == 1:
        return (shape[1],)
    return (shape[1], shape[0])


def call(op, *args: Expr) -> Expr:
    """Apply a function (an ``Op`` record): checks arity and shapes, folds exact
    constants and the function's own identities."""
    if len(args) != op.arity:
        raise ParseError(f"{op.name}() takes {op.arity} argument"
                         f"{'s' if op.arity != 1 else ''}, got {len(args)}")
    args, shape = op.shape(tuple(args))
    if op.exact is not None:
        values = [const_value(a) for a in args]
        if all(v is not None for v in values):
            r = op.exact(*values)
            if r is not None:
                return constant(r, S.resolved(shape))
    if op.simplify is not None:
        r = op.simplify(*args)
        if r is not None:
            return r
    if op.category == "elementwise" and shape and all(type(a) is Expand for a in args):
        # log(2𝟏) = log(2)𝟏, exp(x𝟏ᵀ) = exp(x)𝟏ᵀ: an element-wise function of
        # broadcasts is the function broadcast
        vec = next((a for a in args if a.arg.rank == 1), None)
        if vec is None:
            return expand(call(op, *[a.arg for a in args]), S.resolved(shape))
        if all(a.arg.rank == 0 or a.axis == vec.axis for a in args):
            inner = [a.arg if a.arg.rank else expand(a.arg, vec.arg.shape) for a in args]
            return expand(call(op, *inner), S.resolved(shape), vec.axis)
    return _make(Call, (op,), tuple(args), shape)


def veclit(items: Iterable[Expr]) -> Expr:
    items = tuple(items)
    if not items:
        raise ShapeError("a vector [ ... ] needs at least one entry")
    for i, it in enumerate(items):
        if it.rank != 0:
            raise ShapeError(f"entry {i + 1} of a vector [ ... ] must be a scalar, "
                             f"not a {S.describe(S.resolved(it.shape))}")
    return _make(VecLit, (), items, (len(items),))


def entry(x: Expr, i: int) -> Expr:
    if x.rank != 1:
        raise ShapeError(f"cannot take an entry of a {S.describe(x.shape)}")
    if type(x) is VecLit:
        return x.args[i]
    if type(x) is Expand:
        return x.arg
    if type(x) is Add:
        return add(*[entry(a, i) for a in x.args])
    if type(x) is Mul:
        return mul(*[entry(a, i) for a in x.args])
    return _make(Entry, (i,), (x,), ())


def _axis_index(i: int, length, what: str) -> int:
    """Index ``i`` of an axis of ``length`` (negative from the end), range-checked
    where the length is known."""
    length = S.resolve(length)
    if isinstance(length, int):
        if not -length <= i < length:
            raise ShapeError(f"index {i} is out of range for {what} of length {length}")
        return i % length
    return i


def _axis_slice(sl: slice, length, what: str):
    """(start, stop) of a slice of an axis of ``length``, or None for all of it."""
    length = S.resolve(length)
    known = isinstance(length, int)
    start, stop = sl.start, sl.stop
    if sl.step not in (None, 1):
        raise ShapeError("a slice with a step is not supported (only a:b)")
    if isinstance(start, str):
        raise ShapeError(f"a slice may start at a number only, not at {start}")
    if start is None:
        start = 0
    if start < 0 or isinstance(stop, int) and stop < 0:
        if not known:
            raise ShapeError(f"a negative slice bound needs the length of {what}: "
                             f"declare it")
        start = start % length if start < 0 else start
        stop = stop % length if isinstance(stop, int) and stop < 0 else stop
    if stop is None:
        if start == 0:
            return None
        if not known:
            raise ShapeError(f"a slice {start}: needs the length of {what}: declare it "
                             f"(or write {start}:k with k a declared dimension)")
        stop = length
    if isinstance(stop, str):
        if start != 0:
            raise ShapeError(f"a slice {start}:{stop} has no length a shape can name: "
                             f"write 0:{stop} or literal bounds")
        if S.same_dim(stop, length):
            return None
        return (0, stop)
    if known and stop > length:
        raise ShapeError(f"slice {start}:{stop} is out of range for {what} of length "
                         f"{length}")
    if stop <= start:
        raise ShapeError(f"slice {start}:{stop} is empty")
    if known and (start, stop) == (0, length):
        return None
    return (start, stop)


def subscript(x: Expr, items: Sequence) -> Expr:
    """``x[items]`` as NumPy indexes (0-based): each item an int, a ``slice`` (bounds
    ints, or a dimension name as the stop of ``:k``) or None (a new axis of length 1:
    ``x[:, None]`` is m×1, ``x[None, :]`` the row 1×n). Built from products with
    ``Select`` (``X[:, j] = X eⱼ``), ``entry`` and broadcasts."""
    items = list(items)
    real = [it for it in items if it is not None]
    if len(real) > x.rank:
        raise ShapeError(f"too many indices ({len(real)}) for a "
                         f"{S.describe(S.resolved(x.shape))}")
    if not real and not items:
        return x
    # pad with full slices, as NumPy: X[i] is X[i, :]
    items += [slice(None)] * (x.rank - len(real))
    # where each None goes in the result: after the axes that are kept before it
    new_axes = [sum(1 for it in items[:k] if not isinstance(it, int))
                for k, it in enumerate(items) if it is None]
    real = [it for it in items if it is not None]
    out = x
    if x.rank == 1:
        it = real[0]
        n = x.shape[0]
        if isinstance(it, int):
            i = _axis_index(it, n, "a vector")
            out = entry(x, i) if isinstance(S.resolve(n), int) else \
                matmul(transpose(select(n, i)), x)
        else:
            sl = _axis_slice(it, n, "a vector")
            if sl is not None:
                out = matmul(transpose(select(n, *sl)), x)
    elif x.rank == 2:
        r_it, c_it = real
        m, n = x.shape
        left = right = None
        row_int, col_int = isinstance(r_it, int), isinstance(c_it, int)
        if row_int:
            left = transpose(select(m, _axis_index(r_it, m, "axis 0")))
        else:
            sl = _axis_slice(r_it, m, "axis 0")
            left = None if sl is None else transpose(select(m, *sl))
        if col_int:
            right = select(n, _axis_index(c_it, n, "axis 1"))
        else:
            sl = _axis_slice(c_it, n, "axis 1")
            right = None if sl is None else select(n, *sl)
        if row_int and not col_int:
            # a row of X is the vector (n,): (eᵢᵀ X S)ᵀ = Sᵀ Xᵀ eᵢ
            chain = ([transpose(right)] if right is not None else []) + \
                [transpose(x), transpose(left)]
            out = matmul(*chain)
        else:
            out = matmul(*[f for f in (left, x, right) if f is not None])
    elif real:
        raise ShapeError("a scalar cannot be indexed")
    for k in new_axes:
        out = _new_axis(out, k)
    return out


def _new_axis(x: Expr, k: int) -> Expr:
    """``x`` with a new axis of length 1 at position ``k`` (NumPy's None)."""
    if x.rank == 0:
        return expand(x, (1,))
    if x.rank == 1 and k == 0:
        return transpose(x)   # x[None, :]: the row 1×n
    if x.rank == 1 and k == 1:
        return expand(x, (S.resolve(x.shape[0]), 1), 1)   # x[:, None]: m×1
    raise ShapeError(f"a new axis (None) on a {S.describe(S.resolved(x.shape))} would "
                     f"make a 3-D array: matcalc's values are scalars, vectors and "
                     f"matrices")


ZERO = num(0)
ONE = num(1)


# ------------------------------------------------------------------- traversal

def postorder(root: Expr) -> list[Expr]:
    """Every distinct node under ``root``, children before parents (no recursion)."""
    seen: set[int] = set()
    order: list[Expr] = []
    stack: list[tuple[Expr, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for a in reversed(node.args):
            if id(a) not in seen:
                stack.append((a, False))
    return order


def count_nodes(e: Expr) -> int:
    """Number of distinct nodes (the size of the DAG)."""
    return len(postorder(e))


def tree_size(e: Expr) -> int:
    """Number of nodes when printed as a tree (shared sub-trees counted each time)."""
    sizes: dict[int, int] = {}
    for n in postorder(e):
        sizes[id(n)] = 1 + sum(sizes[id(a)] for a in n.args)
    return sizes[id(e)]


def transform(root: Expr, fn: Callable[[Expr, tuple], Expr]) -> Expr:
    """Rebuild bottom-up: ``fn(node, new_args)`` gives each node's replacement."""
    memo: dict[Expr, Expr] = {}
    for n in postorder(root):
        memo[n] = fn(n, tuple(memo[a] for a in n.args))
    return memo[root]


def substitute(root: Expr, mapping: dict[Expr, Expr]) -> Expr:
    """Replace sub-trees (typically variables) by others, rebuilding through the constructors."""
    def fn(node, args):
        if node in mapping:
            return mapping[node]
        if all(a is b for a, b in zip(args, node.args)):
            return node
        return node.rebuild(args)
    return transform(root, fn)


def map_dims(root: Expr, f: Callable[[S.Dim], S.Dim]) -> Expr:
    return transform(root, lambda node, args: node.map_dims(f, args))


def variables(e: Expr) -> list[Expr]:
    """The variables of ``e`` in order of first appearance (left to right).

    Each node of the DAG is visited once: a shared sub-tree seen before has had its
    variables recorded already (the walk is depth first, left to right)."""
    out: list[Expr] = []
    seen: set = set()
    stack = [e]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if type(n) is Var:
            out.append(n)
        else:
            stack.extend(reversed(n.args))
    return out


def dims_of(e: Expr) -> list:
    """The symbolic dimensions used in ``e``, in order of appearance."""
    out: dict = {}
    for n in postorder(e):
        ds: tuple = n.shape
        if type(n) is Size:
            ds = ds + (n.dim,)
        for d in ds:
            if isinstance(d, str):
                out.setdefault(d, None)
    return list(out)


def depends_on(e: Expr, v: Expr) -> bool:
    return any(n is v for n in postorder(e))
