"""Code generation: a :class:`~matcalc.derivative.Derivative` as a self-contained
Python function over NumPy (or ``jax.numpy``, or ``torch``).

The interned DAG gives common sub-expression elimination for free: each distinct
node is computed once, into a local variable, and a node used once with a short
expression is inlined into its user. The evaluation order is chosen for cost:

- a matrix-product chain is parenthesised by the classic dynamic programme over its
  dimensions (a symbolic dimension counts as large, a literal 1 as 1), so a chain
  that ends in a vector is multiplied right to left: ``A @ (B @ x)``;
- a sum of matrices multiplied by a vector is distributed:
  ``(A + Aᵀ) x -> A @ x + A.T @ x`` (two mat-vecs, no n×n temporary);
- ``diag(v)`` inside a product is a broadcast scaling (``v[:, None] * M``), never a
  dense diagonal matrix; identities are already folded away by the constructors;
- scalar expansion stays a NumPy broadcast unless a non element-wise operation
  needs the full array.

The result has the numeric contract's shape ``f.shape + wrt.shape``, as
:meth:`Derivative.evaluate` returns. A derivative of kind ``"differential"`` (no
matrix form) is generated from its Kronecker form, ``Σ c (Sᵀ ⊗ P) [K]`` reshaped
column-major to that shape (NumPy target); one without a Kronecker form (an
element-wise product with ``dV``...) raises :class:`~matcalc.errors.DiffError`.
"""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Callable, Optional

from . import expr as E
from . import shapes as S
from .errors import DiffError, UsageError

TARGETS = {
    "numpy": ("import numpy as np", "np"),
    "jax": ("import jax.numpy as jnp", "jnp"),
    "torch": ("import torch", "torch"),
}

_BIG = 100  # the cost model's value of a symbolic dimension

# Helpers a generated module defines when (and only when) it uses them.
_HELPERS = {
    "numpy": {
        "_softmax": "def _softmax(x):\n    e = np.exp(x - np.max(x))\n    return e / np.sum(e)\n",
        "_logsumexp": "def _logsumexp(x):\n    m = np.max(x)\n"
                      "    return m + np.log(np.sum(np.exp(x - m)))\n",
        "_full": "def _full(a, shape):\n    return np.broadcast_to(np.asarray(a, dtype=float), "
                 "shape)\n",
        # K with K vec(X) = vec(Xᵀ) for an m×n X (vec stacks columns)
        "_commutation": "def _commutation(m, n):\n"
                        "    idx = np.arange(m * n).reshape((m, n), order='F')\n"
                        "    return np.eye(m * n)[idx.T.ravel(order='F')]\n",
    },
    "jax": {
        "_softmax": "def _softmax(x):\n    e = jnp.exp(x - jnp.max(x))\n"
                    "    return e / jnp.sum(e)\n",
        "_logsumexp": "def _logsumexp(x):\n    m = jnp.max(x)\n"
                      "    return m + jnp.log(jnp.sum(jnp.exp(x - m)))\n",
        "_full": "def _full(a, shape):\n    return jnp.broadcast_to(jnp.asarray(a), shape)\n",
    },
    "torch": {
        "_softmax": "def _softmax(x):\n    return torch.softmax(x, dim=0)\n",
        "_logsumexp": "def _logsumexp(x):\n    return torch.logsumexp(x, dim=0)\n",
        "_full": "def _full(a, shape):\n    return torch.broadcast_to("
                 "torch.as_tensor(a, dtype=torch.float64), shape)\n",
        "_t": "def _t(a):\n    return torch.as_tensor(a, dtype=torch.float64)\n",
    },
}


def _fmt_num(v: Fraction) -> str:
    if v.denominator == 1 and abs(v.numerator) < 10 ** 15:
        return f"{v.numerator}.0"
    return repr(float(v))


class _Fac:
    """A factor (or a sub-product) of a matrix chain while its code is built.

    ``form``: "2d" (a 2-D array), "col" (1-D, an n×1 column), "row" (1-D, a 1×n
    row), "scalar" (a 1×1 product held as a 0-D value), "diag" (the vector v of
    diag(v)). ``add`` is the Add node of a sum factor, kept to distribute it."""

    __slots__ = ("code", "form", "rows", "cols", "add")

    def __init__(self, code, form, rows, cols, add=None):
        self.code, self.form, self.rows, self.cols, self.add = code, form, rows, cols, add


class _Gen:
    def __init__(self, target: str, dims: dict):
        if target not in TARGETS:
            raise UsageError(f"unknown code target {target!r}: use one of "
                             f"{', '.join(TARGETS)}")
        self.target = target
        self.xp = TARGETS[target][1]
        self.dims = dims              # symbolic dimension -> code (e.g. "w.shape[0]")
        self.lines: list[tuple[str, str]] = []   # (name, code)
        self.memo: dict[E.Expr, tuple[str, bool]] = {}   # node -> (code, lazy)
        self.helpers: set[str] = set()
        self.counter = 0

    # ---- small pieces

    def dim(self, d) -> str:
        d = S.resolve(d)
        if isinstance(d, int):
            return str(d)
        if d not in self.dims:
            raise DiffError(f"the size of dimension {d} cannot be read from the arguments")
        return self.dims[d]

    def shape_code(self, shape) -> str:
        parts = [self.dim(d) for d in shape]
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"

    def helper(self, name: str) -> str:
        self.helpers.add(name)
        return name

    def t(self, code: str) -> str:
        """A value torch needs as a tensor (a Python float otherwise)."""
        if self.target == "torch" and re.fullmatch(r"-?[0-9.e+-]+", code):
            return f"{self.helper('_t')}({code})"
        return code

    def assign(self, code: str) -> str:
        self.counter += 1
        name = f"t{self.counter}"
        self.lines.append((name, code))
        return name

    # ---- values

    def value(self, node: E.Expr) -> tuple[str, bool]:
        """Code for the node's value and whether it is lazy (a broadcastable stand-in
        for a scalar expansion, smaller than the node's shape)."""
        hit = self.memo.get(node)
        if hit is not None:
            return hit
        code, lazy, atom = self._emit(node)
        if not atom:
            code = self.assign(code)
        self.memo[node] = (code, lazy)
        return code, lazy

    def full(self, node: E.Expr) -> str:
        code, lazy = self.value(node)
        if not lazy:
            return code
        key = ("full", node)
        hit = self.memo.get(key)  # type: ignore[arg-type]
        if hit is not None:
            return hit[0]
        name = self.assign(f"{self.helper('_full')}({code}, {self.shape_code(node.shape)})")
        self.memo[key] = (name, False)  # type: ignore[index]
        return name

    def _emit(self, e: E.Expr) -> tuple[str, bool, bool]:
        """(code, lazy, atom): atom means no assignment is needed."""
        xp = self.xp
        t = type(e)
        if t is E.Var:
            return e.name, False, True
        if t is E.Num:
            return _fmt_num(e.value), False, True
        if t is E.Size:
            return f"float({self.dim(e.dim)})", False, True
        if t is E.Eye:
            return f"{xp}.eye({self.dim(e.n)})", False, False
        if t is E.Expand:
            code, _ = self.value(e.arg)
            return code, True, True
        if t in (E.Add, E.Mul):
            if t is E.Add:  # a term -1 ⊙ y is written "- y"
                vals = [self._term(a) for a in e.args]
            else:
                vals = [self.value(a) for a in e.args]
            lazy = all(lz for _, lz in vals)
            codes = [c for c, _ in vals]
            if t is E.Add:
                return _sum_code(codes), lazy, False
            if codes[0] == "-1.0":
                return "-" + " * ".join(_paren(c) for c in codes[1:]), lazy, False
            head = [codes[0]] if re.fullmatch(r"-[0-9.e]+", codes[0]) else [_paren(codes[0])]
            return " * ".join(head + [_paren(c) for c in codes[1:]]), lazy, False
        if t is E.Pow:
            c = E.const_value(e.exp)
            if c == 2 and type(e.base) is E.Call and e.base.fn == "norm2":
                a = self.full(e.base.args[0])  # ‖v‖² = sum(v ⊙ v), no square root
                return f"{xp}.sum({a} * {a})", False, False
            (b, bl), (x, xl) = self.value(e.base), self.value(e.exp)
            if c == -1:
                return f"1.0 / {_paren(b)}", bl, False
            if c == Fraction(1, 2):
                return f"{xp}.sqrt({b})", bl, False
            if c is not None and c.denominator == 1:
                return f"{_paren(b)} ** {c.numerator}", bl, False
            return f"{_paren(b)} ** {_paren(x)}", bl and xl, False
        if t is E.MatMul:
            return self._matmul(e), False, False
        if t is E.Transpose:
            a = e.arg
            if a.rank == 1:
                return f"{self.full(a)}[None, :]", False, False
            if e.rank == 1:
                return f"{self.full(a)}[0]", False, False
            return f"{self.full(a)}.T", False, False
        if t is E.Call:
            return self._call(e)
        if t is E.VecLit:
            items = ", ".join(self.value(a)[0] for a in e.args)
            if self.target == "torch":
                return f"torch.stack([{self.helper('_t')}(v) for v in ({items},)])", False, False
            return f"{xp}.array([{items}])", False, False
        if t is E.Entry:
            return f"{self.full(e.args[0])}[{e.index}]", False, False
        raise TypeError(f"cannot generate code for {t.__name__}")  # pragma: no cover

    def _term(self, a: E.Expr) -> tuple[str, bool]:
        if type(a) is E.Mul and E.const_value(a.args[0]) == -1:
            rest = a.args[1:]
            code, lazy = self.value(rest[0] if len(rest) == 1 else E.mul(*rest))
            return "-" + _paren(code), lazy
        return self.value(a)

    def _call(self, e: E.Call) -> tuple[str, bool, bool]:
        xp, fn = self.xp, e.fn
        spec = e.spec
        if spec.kind == "elementwise":
            vals = [self.value(a) for a in e.args]
            lazy = all(lz for _, lz in vals)
            a = vals[0][0]
            if fn == "sigmoid":
                return f"0.5 * (1.0 + {xp}.tanh(0.5 * {_paren(a)}))", lazy, False
            if fn == "relu":
                return f"{xp}.maximum({self.t(a)}, {self.t('0.0')})", lazy, False
            if fn == "softplus":
                if self.target == "torch":
                    return f"torch.nn.functional.softplus({self.t(a)})", lazy, False
                return f"{xp}.logaddexp(0.0, {a})", lazy, False
            if fn == "step":
                return f"{xp}.where({_paren(a)} > 0, 1.0, 0.0)", lazy, False
            if fn in ("max", "min"):
                b = vals[1][0]
                name = "maximum" if fn == "max" else "minimum"
                return f"{xp}.{name}({self.t(a)}, {self.t(b)})", lazy, False
            return f"{xp}.{fn}({self.t(a)})", lazy, False
        if fn == "tr":
            x = e.args[0]
            if type(x) is E.MatMul and len(x.args) == 2 and all(f.rank == 2 for f in x.args):
                # tr(A B) = sum(A ⊙ Bᵀ): O(n²), no product formed
                a, b = self.full(x.args[0]), self.full(x.args[1])
                return f"{xp}.sum({a} * {b}.T)", False, False
            return f"{xp}.trace({self.full(x)})", False, False
        a = self.full(e.args[0])
        simple = {"sum": f"{xp}.sum({a})", "mean": f"{xp}.mean({a})",
                  "norm1": f"{xp}.sum({xp}.abs({a}))",
                  "norm2": f"{xp}.sqrt({xp}.sum({a} * {a}))",
                  "det": f"{xp}.linalg.det({a})", "inv": f"{xp}.linalg.inv({a})",
                  "logdet": f"{xp}.linalg.slogdet({a})[1]",
                  "diag": f"{xp}.diag({a})", "diagonal": f"{xp}.diagonal({a})",
                  "softmax": f"{self.helper('_softmax')}({a})" if fn == "softmax" else "",
                  "logsumexp": f"{self.helper('_logsumexp')}({a})" if fn == "logsumexp"
                  else ""}
        if fn not in simple:
            raise DiffError(f"no code generation for the function {fn}()")
        return simple[fn], False, False

    # ---- matrix products

    def _factor(self, node: E.Expr) -> _Fac:
        rows, cols = E.as2d(node.shape)
        if type(node) is E.Transpose and node.arg.rank == 1:
            return _Fac(self.full(node.arg), "row", 1, node.arg.shape[0])
        if type(node) is E.Transpose and node.rank == 2 and node.arg.rank == 2:
            return _Fac(self.full(node.arg) + ".T", "2d", rows, cols)
        if type(node) is E.Call and node.fn == "diag":
            return _Fac(self.full(node.args[0]), "diag", rows, cols)
        if node.rank == 1:
            return _Fac(self.full(node), "col", rows, cols)
        if node.rank == 0:
            return _Fac(self.full(node), "scalar", 1, 1)
        if type(node) is E.Add and node.rank == 2:
            vecs = [_diag_vector(t) for t in node.args]
            if all(v is not None for v in vecs):  # diag(a) + c diag(b) = diag(a + c b)
                return _Fac(self.full(E.add(*vecs)), "diag", rows, cols)
            return _Fac(None, "2d", rows, cols, add=node)
        return _Fac(self.full(node), "2d", rows, cols)

    def _code(self, f: _Fac) -> str:
        if f.code is None:  # a sum not distributed after all: compute it
            f.code = self.full(f.add)
        return f.code

    def _chain(self, facs: list) -> _Fac:
        n = len(facs)
        if n == 1:
            return facs[0]

        def dv(d):
            d = S.resolve(d)
            return d if isinstance(d, int) else _BIG
        dims = [dv(facs[0].rows)] + [dv(f.cols) for f in facs]
        cost = [[0.0] * n for _ in range(n)]
        split = [[0] * n for _ in range(n)]
        for length in range(2, n + 1):
            for i in range(n - length + 1):
                j = i + length - 1
                best = None
                for k in range(i, j):
                    c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                    if best is None or c < best:
                        best, split[i][j] = c, k
                cost[i][j] = best

        def build(i, j):
            if i == j:
                return facs[i]
            k = split[i][j]
            return self._combine(build(i, k), build(k + 1, j))
        return build(0, n - 1)

    def _terms(self, add: E.Expr) -> list:
        """The terms of a sum factor, each as (coefficient code or None, factors)."""
        out = []
        for term in add.args:
            coeff = None
            if type(term) is E.Mul and type(term.args[0]) is E.Expand \
                    and term.args[0].arg.rank == 0:
                coeff = self.value(term.args[0].arg)[0]
                rest = term.args[1:]
                term = rest[0] if len(rest) == 1 else E.mul(*rest)
            if type(term) is E.Eye:
                out.append((coeff, []))
            elif type(term) is E.MatMul:
                out.append((coeff, [self._factor(a) for a in term.args]))
            else:
                out.append((coeff, [self._factor(term)]))
        return out

    def _distribute(self, add: E.Expr, other: _Fac, left: bool) -> _Fac:
        parts = []
        for coeff, facs in self._terms(add):
            chain = (facs + [other]) if left else ([other] + facs)
            r = self._chain(chain)
            code = self._code(r)
            if coeff is None:
                parts.append(code)
            elif coeff == "-1.0":
                parts.append(f"-{_paren(code)}")
            else:
                parts.append(f"{_paren(coeff)} * {_paren(code)}")
        code = _sum_code(parts)
        return _Fac(f"({code})", other.form, other.rows if not left else add.shape[0],
                    other.cols if left else add.shape[1])

    def _combine(self, a: _Fac, b: _Fac) -> _Fac:
        r = self._combine_code(a, b)
        if r.add is None and "@" in r.code:
            # a product is a value of its own: the same product in another chain (f and
            # its gradient, say) is computed once; used once, it is inlined again
            key = ("product", r.code)
            hit = self.memo.get(key)  # type: ignore[arg-type]
            if hit is None:
                hit = (self.assign(r.code), False)
                self.memo[key] = hit  # type: ignore[index]
            r.code = hit[0]
        return r

    def _combine_code(self, a: _Fac, b: _Fac) -> _Fac:
        rows, cols = a.rows, b.cols
        if a.add is not None and a.code is None and b.form in ("col", "scalar") \
                or (a.add is not None and a.code is None and b.form == "2d"
                    and S.resolve(b.cols) == 1):
            return self._distribute(a.add, b, left=True)
        if b.add is not None and b.code is None and a.form in ("row",):
            return self._distribute(b.add, a, left=False)
        x, y = self._code(a), self._code(b)
        fa, fb = a.form, b.form
        if fa == "scalar" or fb == "scalar":
            form = fb if fa == "scalar" else fa
            return _Fac(f"{_paren(x)} * {_paren(y)}", form, rows, cols)
        if fa == "diag":
            if fb in ("col", "diag"):
                return _Fac(f"{_paren(x)} * {_paren(y)}", fb, rows, cols)
            return _Fac(f"{_paren(x)}[:, None] * {_paren(y)}", "2d", rows, cols)
        if fb == "diag":
            return _Fac(f"{_paren(x)} * {_paren(y)}", fa, rows, cols)
        if fa == "col":  # n×1 times 1×m (a row, or a one-row matrix): the outer product
            if fb == "row":
                return _Fac(f"{self.xp}.outer({x}, {y})", "2d", rows, cols)
            return _Fac(f"{_paren(x)}[:, None] * {_paren(y)}", "2d", rows, cols)
        if fb == "row":  # (p×1) times (1×m)
            return _Fac(f"{_paren(x)} * {_paren(y)}[None, :]", "2d", rows, cols)
        if fa == "row" and fb == "col":
            return _Fac(f"{_paren(x)} @ {_paren(y)}", "scalar", 1, 1)
        if fa == "row":
            return _Fac(f"{_paren(x)} @ {_paren(y)}", "row", rows, cols)
        if fb == "col":
            return _Fac(f"{_paren(x)} @ {_paren(y)}", "col", rows, cols)
        return _Fac(f"{_paren(x)} @ {_paren(y)}", "2d", rows, cols)

    def _matmul(self, e: E.Expr) -> str:
        r = self._chain([self._factor(a) for a in e.args])
        code, form = self._code(r), r.form
        shape = e.shape
        if len(shape) == 0:
            return {"scalar": code, "2d": f"{_paren(code)}[0, 0]"}.get(form, f"{_paren(code)}[0]")
        if len(shape) == 1:
            if form in ("col", "row"):
                return code
            if form == "diag":
                return f"{self.xp}.diag({code})"  # pragma: no cover (n×1 diag)
            return f"{_paren(code)}.reshape(-1)"
        if form == "row":
            return f"{_paren(code)}[None, :]"
        if form == "col":
            return f"{_paren(code)}[:, None]"
        if form == "diag":
            return f"{self.xp}.diag({code})"
        if form == "scalar":
            return f"{_paren(code)}.reshape(1, 1)"
        return code


def _diag_vector(t: E.Expr) -> Optional[E.Expr]:
    """v for a term diag(v) or c diag(v) (c a scalar), else None."""
    if type(t) is E.Call and t.fn == "diag":
        return t.args[0]
    if type(t) is E.Mul and len(t.args) == 2 and type(t.args[0]) is E.Expand \
            and t.args[0].arg.rank == 0 and type(t.args[1]) is E.Call and t.args[1].fn == "diag":
        v = t.args[1].args[0]
        return E.mul(E.expand(t.args[0].arg, v.shape), v)
    return None


_ATOM = re.compile(r"[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*"
                   r"(\([^()]*\)|\[[^\[\]]*\])*(\.T)?|[0-9.]+")


def _paren(code: str) -> str:
    """Parenthesise unless the code is an atom (a name, a call, a literal...)."""
    if _ATOM.fullmatch(code) or (code.startswith("(") and _balanced_outer(code)):
        return code
    return f"({code})"


def _balanced_outer(code: str) -> bool:
    depth = 0
    for i, ch in enumerate(code):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(code) - 1:
            return False
    return depth == 0


def _sum_code(codes: list) -> str:
    """Terms joined by + and -: a term written with a leading minus is subtracted."""
    out = codes[0]
    for c in codes[1:]:
        out += f" - {c[1:]}" if c.startswith("-") else f" + {c}"
    return out


def _inline(lines: list, keep: set) -> list:
    """Inline temporaries used once whose code is short, as a person would write it."""
    uses: dict[str, int] = {}
    for _, code in lines:
        for name in re.findall(r"\bt[0-9]+\b", code):
            uses[name] = uses.get(name, 0) + 1
    for name in keep:
        uses[name] = uses.get(name, 0) + 2
    out: list = []
    subst: dict[str, str] = {}
    for name, code in lines:
        # an argument alone between ( and , or ) needs no parentheses of its own
        code = re.sub(r"(?<=[(,] )t[0-9]+\b(?=[,)])|(?<=\()t[0-9]+\b(?=[,)])",
                      lambda m: subst.get(m.group(0), "(" + m.group(0) + ")")[1:-1]
                      if m.group(0) in subst and subst[m.group(0)].startswith("(")
                      and _balanced_outer(subst[m.group(0)])
                      else subst.get(m.group(0), m.group(0)), code)
        code = re.sub(r"\bt[0-9]+\b", lambda m: subst.get(m.group(0), m.group(0)), code)
        if uses.get(name, 0) == 1 and len(code) <= 60:
            subst[name] = _paren(code)
        else:
            out.append((name, code))
    return out


def _arguments(d) -> list:
    seen, out = set(), []
    for v in E.variables(d.f) + [d.wrt] + E.variables(d.expr):
        if v not in seen and not v.tangent:
            seen.add(v)
            out.append(v)
    return out


def _ident(name: str) -> str:
    return re.sub(r"\W", "_", name) or "v"


def to_code(d, target: str = "numpy", with_value: bool = False,
            name: Optional[str] = None) -> str:
    """The source of a Python module defining one function computing ``d``.

    The function takes the variables of ``f`` (in order of appearance) and returns
    the derivative with the shape ``f.shape + wrt.shape``; with ``with_value`` it
    returns ``(f, derivative)``, sharing the work between the two. A derivative of
    kind ``"differential"`` is built from its Kronecker form (NumPy only), else
    :class:`DiffError`."""
    return _source(d, target, with_value, name)[0]


def _source(d, target: str, with_value: bool, name: Optional[str]) -> tuple[str, str]:
    if target not in TARGETS:
        raise UsageError(f"unknown code target {target!r}: use one of {', '.join(TARGETS)}")
    kron = None
    if d.kind == "differential":
        from .diff import kronecker_terms, tangent_of
        kron = kronecker_terms(d.expr, tangent_of(d.wrt))
        if kron is None or target != "numpy":
            raise DiffError(
                f"no {target} code for d{d.wrt.name}: this derivative is a differential "
                + ("with no Kronecker form" if kron is None else "(Kronecker code is NumPy "
                   "only)") + "; evaluate it with Derivative.evaluate")
    args = _arguments(d)
    dims: dict = {}
    for v in args:
        for axis, dd in enumerate(v.shape):
            dd = S.resolve(dd)
            if not isinstance(dd, int) and dd not in dims:
                dims[dd] = f"{v.name}.shape[{axis}]"
    g = _Gen(target, dims)
    xp = g.xp
    wname = _ident(d.wrt.name)
    if name is None:
        base = f"d2_f_d_{wname}2" if d.order == 2 else f"d_f_d_{wname}"
        name = f"f_and_{base}" if with_value else base
    out_shape = tuple(d.f_shape) + tuple(d.wrt.shape)
    if d.kind == "zero":
        result = f"{xp}.zeros({g.shape_code(out_shape)})" if out_shape else "0.0"
    elif kron is not None:
        result = _kronecker_code(g, d, kron, out_shape)
    else:
        result = g.full(d.expr)
        if not S.unify_shapes(d.expr.shape, out_shape):
            result = f"{xp}.reshape({result}, {g.shape_code(out_shape)})"
    fval = g.full(d.f) if with_value else None
    keep = {result, fval} - {None}
    body = _inline(g.lines, {k for k in keep if re.fullmatch(r"t[0-9]+", k)})
    conv = {"numpy": "np.asarray({0}, dtype=float)", "jax": "jnp.asarray({0})",
            "torch": "torch.as_tensor({0}, dtype=torch.float64)"}[target]
    lines = [TARGETS[target][0], ""]
    for h in sorted(g.helpers):
        lines += [_HELPERS[target][h], ""]
    sig = ", ".join(v.name for v in args)
    lines.append(f"def {name}({sig}):")
    what = f"∂²f/∂{d.wrt.name}²" if d.order == 2 else f"∂f/∂{d.wrt.name}"
    lines.append(f'    """{what} of f = {d.f}; shape '
                 f'{S.shape_str(out_shape)}."""')
    for v in args:
        lines.append(f"    {v.name} = {conv.format(v.name)}")
    for n, code in body:
        lines.append(f"    {n} = {code}")
    ret = conv.format(result)
    if with_value:
        lines.append(f"    return {conv.format(fval)}, {ret}")
    else:
        lines.append(f"    return {ret}")
    return "\n".join(lines) + "\n", name


def _kronecker_code(g: "_Gen", d, terms: list, out_shape: tuple) -> str:
    """∂vec(f)/∂vec(V) = Σ c (Sᵀ ⊗ P) [K], then reshaped (column-major, as vec is) to
    the numeric contract's ``f.shape + V.shape``."""
    v = d.wrt.name
    size = g.assign(f"{v}.size")
    parts = []
    for coeff, right, left, transposed in terms:
        r = g.assign(f"{g.full(right)}.reshape({g.full(right)}.shape[0], -1)") \
            if right is not None else None
        l_ = g.assign(f"{g.full(left)}.reshape({g.full(left)}.shape[0], -1)") \
            if left is not None else None
        if l_ is not None:
            rows = f"{l_}.shape[1]"
            cols = f"{r}.shape[1]" if r is not None else f"{size} // {rows}"
        elif r is not None:
            cols = f"{r}.shape[1]"
            rows = f"{size} // {cols}"
        else:
            rows, cols = size, "1"
        term = f"np.kron({r or f'np.eye({cols})'}, {l_ or f'np.eye({rows})'})"
        if transposed:
            term = f"{term} @ {g.helper('_commutation')}({v}.shape[0], {v}.shape[1])"
        if coeff is not None:
            term = f"{g.full(coeff)} * {term}"
        parts.append(term)
    jac = g.assign(" + ".join(parts))
    return g.assign(f"np.reshape({jac}, {g.shape_code(out_shape)}, order='F')")


def lambdify(d, target: str = "numpy", with_value: bool = False) -> Callable:
    """The compiled function of :func:`to_code` (its source is in ``__source__``)."""
    src, name = _source(d, target, with_value, None)
    namespace: dict = {}
    exec(compile(src, f"<matcalc {target} code>", "exec"), namespace)
    fn = namespace[name]
    fn.__source__ = src
    return fn
