"""Code generation: a :class:`~matcalc.calculus.result.Derivative` as a self-contained
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

The function's forms (``form``):

- ``dense``: the tensor of the numeric contract, ``f.shape + wrt.shape``, as
  :meth:`Derivative.evaluate` returns it (a last step broadcasts a value the algebra
  left smaller). A derivative with a matrix form (derivative, gradient, Jacobian) is
  computed from it as above; one of kind ``Kind.DIFFERENTIAL`` (vector or matrix by a
  matrix, matrix by a vector, a vector's Hessian, a third order) from its index form
  (:func:`matcalc.calculus.index.index_form`): one ``einsum`` per term over its
  factors, a Kronecker delta between free indices written as an identity matrix and
  a free index no factor has as a vector of ones, contracted in the order the
  target's einsum finds best. No Kronecker product, commutation matrix or array
  beyond the result's size is formed unless a factor is that large;
- ``einsum``: the same tensor, by einsum over the index form for every kind (a check
  of the matrix algebra, and the code a reader of index notation expects);
- ``jvp``: the linear map ``dW ↦ df`` (:func:`~matcalc.calculus.index.jvp_expr`), a
  last parameter ``dW`` of wrt's shape, the tensor never formed;
- ``vjp``: its adjoint ``G ↦ ∇⟨G, f⟩`` (:func:`~matcalc.calculus.index.vjp_expr`), a
  last parameter ``G`` of f's shape, returning an array of wrt's shape: backprop.

Every function converts its arguments to the target's float64 arrays (JAX: its
default float) and checks their shapes on entry, each array's rank and every
dimension against the first argument that has it: ``ValueError`` naming the expected
shapes. ``with_value`` returns ``(f, result)`` from one body (shared
sub-expressions computed once).

``check=True`` (generation) adds a keyword-only ``check=False`` parameter: called with
``check=True`` the function evaluates f (for order k, the order k-1 derivative, from
a second function ``_primal``) at ``V ± h·D`` along a fixed-seed random direction D
(symmetric by a symmetric variable) and compares the central difference with its
result applied to D, raising ``ValueError`` with the measured error beyond a
tolerance set by the arguments' machine epsilon (:func:`to_code` gives the numbers).
JAX: outside ``jax.jit`` only (a traced value has no number to compare).

Safety. No input text reaches the generated source except as a checked identifier
or a numeric literal:

- every variable gets its code identifier from one renaming table
  (:func:`_code_names`): its own name when Python reads that name as itself and
  nothing else, a fresh one otherwise (``lambda -> lambda_``, ``sum -> sum_``);
- the names generated code uses itself are never a variable's: a parameter ``dW``
  (jvp) or ``G`` (vjp) is renamed ``dW_``, ``G_`` where a variable has that name, and
  with ``check=True`` so are ``check`` and the function's own name (the jvp's check
  calls it); the docstring names each renamed parameter's variable;
- dimensions are read from the arguments (``x.shape[0]``), never named in code;
- the docstring, and the shape check's message, the only places the expression's
  text or a dimension's name appears, are a ``repr``;
- a temporary is, while the body is generated, a marker ``"\\x00k\\x00"`` that no
  identifier, number or escaped string can contain; references are found by
  splitting on it (never by a pattern over the source). At the end dead lines are
  dropped, short lines used once are inlined, and the others are named ``_t1,
  _t2...``: no variable's identifier starts with ``_``.

Arithmetic follows NumPy (inf and nan, never ZeroDivisionError or OverflowError): a
literal that meets Python's own float arithmetic is made a float64 value first, and a
size is ``np.float64(x.shape[0])``. Generation never recurses on the expression: each
node is generated after its children, from a post-order walk.
"""
from __future__ import annotations

import builtins
import keyword
import re
import unicodedata
from fractions import Fraction
from typing import Callable, Optional

from ..calculus.recognize import stabilize
from ..calculus.result import Kind
from ..core import expr as E
from ..core import shapes as S
from ..errors import DiffError, MatcalcError, UsageError, quote
from ..ops import DIAG
from .interpreter import Interpreter
from .numeric import reciprocal_of

TARGETS = {
    "numpy": ("import numpy as np", "np"),
    "jax": ("import jax.numpy as jnp", "jnp"),
    "torch": ("import torch", "torch"),
}

_BIG = 100          # the cost model's value of a symbolic dimension
_INLINE_MAX = 60    # a temporary used once whose code is this short is inlined
_CHUNK = 32         # operands of one + or * chain: Python's compiler recurses on a chain
_DP_MAX = 40        # longer matrix chains skip the cubic dynamic programme
_DOC_NODES = 1000   # f is shown in the docstring up to this size (tree nodes)...
_DOC_CHARS = 200    # ...and this many characters

# Names a variable's identifier must not take: Python's words, the builtins a reader
# expects, and the module aliases the generated code uses.
_ALIASES = frozenset({"np", "jnp", "jax", "torch"})
_SOFT_KEYWORDS = frozenset(getattr(keyword, "softkwlist", ())) | {"_", "case", "match", "type"}
_RESERVED = frozenset(keyword.kwlist) | _SOFT_KEYWORDS | frozenset(dir(builtins)) | _ALIASES

# A reference to a temporary or a helper while the body is being generated.
_MARK = "\x00"

# Helpers a generated module defines when (and only when) its code uses them: the
# generic ones here; an op's own (``Op.helpers``) is named after the op (_softmax).
_HELPERS = {
    "numpy": {
        "_full": "def _full(a, shape):\n    return np.broadcast_to(np.asarray(a, dtype=float), "
                 "shape)\n",
        # the numeric contract's shape, copying only a value the algebra left smaller
        "_result": "def _result(a, shape):\n    a = np.asarray(a, dtype=float)\n"
                   "    if a.shape != shape:\n        a = np.broadcast_to(a, shape).copy()\n"
                   "    return a\n",
    },
    "jax": {
        "_full": "def _full(a, shape):\n    return jnp.broadcast_to(jnp.asarray(a), shape)\n",
        "_result": "def _result(a, shape):\n    a = jnp.asarray(a)\n"
                   "    if a.shape != shape:\n        a = jnp.broadcast_to(a, shape)\n"
                   "    return a\n",
    },
    "torch": {
        "_full": "def _full(a, shape):\n    return torch.broadcast_to("
                 "torch.as_tensor(a, dtype=torch.float64), shape)\n",
        "_t": "def _t(a):\n    return torch.as_tensor(a, dtype=torch.float64)\n",
        "_result": "def _result(a, shape):\n    a = torch.as_tensor(a, dtype=torch.float64)\n"
                   "    if tuple(a.shape) != shape:\n"
                   "        a = torch.broadcast_to(a, shape).clone()\n"
                   "    return a\n",
    },
}
_GENERIC_HELPERS = frozenset(h for table in _HELPERS.values() for h in table)
# the names a module with a self-check (check=True) uses besides those
_PRIVATE = frozenset({"_check", "_primal", "_out", "_value"})


def _for_target(table, target: str):
    """An op's entry for ``target`` (``"*"``: every target), or None."""
    hit = table.get(target)
    return table.get("*") if hit is None else hit


# ------------------------------------------------------------------ identifiers

def _usable(name: object) -> bool:
    """Does Python read ``name`` as this very identifier, one no other meaning takes?
    (Python NFKC-normalises identifiers: ``u₁`` would silently become ``u1``.)"""
    return (isinstance(name, str) and name.isidentifier()
            and unicodedata.normalize("NFKC", name) == name
            and not keyword.iskeyword(name) and name not in _RESERVED
            and not name.startswith("_"))


def _rename_base(name: object) -> Optional[str]:
    """The start of a fresh identifier for a name not usable as it is (``_`` is added
    until it is free); None if nothing of the name is an identifier."""
    if not isinstance(name, str):
        return None
    name = unicodedata.normalize("NFKC", name)
    if not name.isidentifier() or unicodedata.normalize("NFKC", name) != name:
        return None
    return "v" + name if name.startswith("_") else name


def _fresh(name: object, used: set) -> str:
    base = _rename_base(name)
    if base is None:
        k = 1
        while f"v{k}" in used:
            k += 1
        return f"v{k}"
    while not _usable(base) or base in used:
        base += "_"
    return base


def _wanted(v) -> str:
    """The identifier a variable asks for: its name; ``dW`` for the tangent of W."""
    return "d" + v.name if v.tangent else v.name


def _code_names(variables: list, reserved=()) -> dict:
    """The renaming table: variable -> the identifier it has in the code. Names usable
    as they are are kept first, so that a renamed one never takes theirs; ``reserved``
    names (the ``check`` keyword, the function's own name) are taken by none."""
    table: dict = {}
    used: set = set(reserved)
    for v in variables:
        name = _wanted(v)
        if _usable(name) and name not in used:
            table[v] = name
            used.add(name)
    for v in variables:
        if v not in table:
            table[v] = _fresh(_wanted(v), used)
            used.add(table[v])
    return table


def _check_function_name(name: object) -> str:
    if not (_usable(name) and name.isascii()):
        raise UsageError(f"bad function name {quote(name)}: use an ASCII Python identifier "
                         "that is not a keyword, a builtin or a module alias "
                         f"({', '.join(sorted(_ALIASES))}) and does not start with _")
    return name


# ---------------------------------------------------------------- code fragments

def _fmt_num(v: Fraction, xp: str) -> str:
    """A constant as a Python literal (beyond float64's range, ``np.inf``)."""
    if v.denominator == 1 and abs(v.numerator) < 10 ** 15:
        return f"{v.numerator}.0"
    f = E.to_float(v)
    if f == float("inf"):
        return f"{xp}.inf"
    if f == float("-inf"):
        return f"-{xp}.inf"
    return repr(f)


_ID = r"(?:[^\W\d]\w*|\x00\w+\x00)"   # an identifier, or a marker
_ATOM = re.compile(rf"{_ID}(?:\.{_ID})*(?:\([^()]*\)|\[[^\[\]]*\])*(?:\.T)?|[0-9.]+")


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


class _Fac:
    """A factor (or a sub-product) of a matrix chain while its code is built.

    ``form``: "2d" (a 2-D array), "col" (1-D, an n×1 column), "row" (1-D, a 1×n
    row), "scalar" (a 1×1 product held as a 0-D value), "scaling" (the vector v of
    diag(v)). ``add`` is the Add node of a sum factor, kept to distribute it."""

    __slots__ = ("code", "form", "rows", "cols", "add", "untransposed")

    def __init__(self, code, form, rows, cols, add=None, untransposed=None):
        self.code, self.form, self.rows, self.cols, self.add = code, form, rows, cols, add
        self.untransposed = untransposed  # for Xᵀ, the code of X


class _Gen(Interpreter):
    """Generates the body: ``lines`` of (temporary's key, code), code referring to
    temporaries and helpers by markers only.

    An :class:`Interpreter` whose value of a node is ``(code, lazy)``: the code of
    its value (a marker when it is assigned to a temporary) and whether it is lazy (a
    broadcastable stand-in for a scalar expansion, smaller than the node's shape).
    Each ``_eval_<Kind>`` returns ``(code, lazy, atom)``; :meth:`visit` assigns the
    code to a temporary unless it is an atom. The memo also holds ``("full", node)``
    and ``("product", code)`` entries."""

    def __init__(self, target: str, names: dict, dims: dict):
        if target not in TARGETS:
            raise UsageError(f"unknown code target {target!r}: use one of "
                             f"{', '.join(TARGETS)}")
        super().__init__()
        self.target = target
        self.xp = TARGETS[target][1]
        self.names = names            # variable -> its code identifier
        self.dims = dims              # symbolic dimension -> code (e.g. "w.shape[0]")
        self.lines: list[tuple[str, str]] = []
        self.literals: set[str] = set()   # the code of every numeric literal emitted
        self.op_helpers: dict = {}    # op -> the name of its helper function
        self.helper_sources: dict = {}    # an op's helper name -> its source

    # ---- small pieces

    def dim(self, d) -> str:
        d = S.resolve(d)
        if isinstance(d, int):
            return str(int(d))
        if d not in self.dims:
            raise DiffError(f"the size of dimension {quote(d)} cannot be read from the "
                            f"arguments")
        return self.dims[d]

    def shape_code(self, shape) -> str:
        parts = [self.dim(d) for d in shape]
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"

    def helper(self, name: str) -> str:
        return _MARK + name + _MARK

    def op_helper(self, op) -> str:
        """A reference to ``op``'s helper function (``Op.helpers``), named after the op
        (``_softmax``) unless that name is taken; its source is kept for the module."""
        name = self.op_helpers.get(op)
        if name is None:
            source = _for_target(op.helpers, self.target)
            if source is None:
                raise DiffError(f"no {self.target} helper for the function {op.name}()")
            base = op.name if op.name.isascii() and op.name.isidentifier() else "op"
            name = "_" + base
            # not a generic helper's, another op's, or a temporary's (_t1, _t2...)
            while name in _GENERIC_HELPERS or name in _PRIVATE \
                    or name in self.helper_sources \
                    or re.fullmatch(r"_t[0-9]+", name):
                name += "_"
            self.op_helpers[op] = name
            self.helper_sources[name] = source.format(name=name)
        return self.helper(name)

    def assign(self, code: str) -> str:
        key = str(len(self.lines) + 1)
        self.lines.append((key, code))
        return _MARK + key + _MARK

    def number(self, text: str) -> str:
        self.literals.add(text)
        return text

    def as_float(self, code: str) -> str:
        """``code`` as a float64 value of the target (NumPy semantics from then on)."""
        if self.target == "numpy":
            return f"np.float64({code})"
        if self.target == "jax":
            return f"jnp.asarray({code}, dtype=float)"
        return f"{self.helper('_t')}({code})"

    def scalar(self, code: str) -> str:
        """A literal as a float64 value: Python's own float arithmetic raises
        (``2.0 ** 5000``) or turns complex (``(-8.0) ** 0.5``) where NumPy gives inf
        or nan. Any other code is a value of the target already."""
        return self.as_float(code) if code in self.literals else code

    def t(self, code: str) -> str:
        """A value torch needs as a tensor (a literal is fine elsewhere)."""
        return self.scalar(code) if self.target == "torch" else code

    def chunked(self, codes: list, join: Callable[[list], str]) -> str:
        """``join(codes)``, with at most _CHUNK operands per line."""
        while len(codes) > _CHUNK:
            codes = [self.assign(join(codes[i:i + _CHUNK]))
                     for i in range(0, len(codes), _CHUNK)]
        return join(codes)

    def template(self, template: str, codes: list, op=None) -> str:
        """An op's code template filled in: ``{xp}``, ``{0}``, ``{1}`` (the arguments'
        code), ``{p0}``, ``{p1}`` (parenthesised unless atomic), ``{helper}``."""
        keys = {"xp": self.xp}
        keys.update((f"p{i}", _paren(c)) for i, c in enumerate(codes))
        if op is not None and "{helper}" in template:
            keys["helper"] = self.op_helper(op)
        return template.format(*codes, **keys)

    # ---- values

    def visit(self, node: E.Expr, args: list) -> tuple[str, bool]:
        """One node's ``(code, lazy)`` from its children's: ``_eval_<Kind>`` gives
        ``(code, lazy, atom)``, and code that is not an atom is assigned to a
        temporary. :meth:`Interpreter.value` walks the DAG in post-order (no recursion
        down the expression) and memoises; values nobody uses are dropped at the end."""
        code, lazy, atom = super().visit(node, args)
        return (code if atom else self.assign(code)), lazy

    def full(self, node: E.Expr) -> str:
        code, lazy = self.value(node)
        if not lazy:
            return code
        key = ("full", node)
        hit = self.memo.get(key)
        if hit is not None:
            return hit[0]
        name = self.assign(f"{self.helper('_full')}({code}, {self.shape_code(node.shape)})")
        self.memo[key] = (name, False)
        return name

    def zeros(self, shape: tuple) -> str:
        if self.target == "torch":
            return f"torch.zeros({self.shape_code(shape)}, dtype=torch.float64)"
        return f"{self.xp}.zeros({self.shape_code(shape)})"

    # ---- one method per node kind: (code, lazy, atom); atom: no assignment needed

    def _eval_Var(self, e, args):
        if e not in self.names:
            raise DiffError(f"the variable {quote(e.name)} is not an argument")
        return self.names[e], False, True

    def _eval_Num(self, e, args):
        return self.number(_fmt_num(e.value, self.xp)), False, True

    def _eval_Size(self, e, args):
        return self.as_float(self.dim(e.dim)), False, True

    def _eval_Eye(self, e, args):
        dtype = ", dtype=torch.float64" if self.target == "torch" else ""
        return f"{self.xp}.eye({self.dim(e.n)}{dtype})", False, False

    def _eval_Select(self, e, args):
        dtype = ", dtype=torch.float64" if self.target == "torch" else ""
        cols = str(e.start) if e.stop is None else f"{e.start}:{self.dim(e.stop)}"
        return f"{self.xp}.eye({self.dim(e.n)}{dtype})[:, {cols}]", False, False

    def _eval_Expand(self, e, args):
        code, _ = args[0]
        if e.axis == 1:  # a vector as each column: NumPy's x[:, None], broadcast lazily
            return f"{_paren(self.full(e.arg))}[:, None]", True, False
        return code, True, True

    def _eval_Add(self, e, args):  # a term -1 ⊙ y is written "- y"
        vals = [self._term(a) for a in e.args]
        code = self.chunked([c for c, _ in vals], _sum_code)
        return code, all(lz for _, lz in vals), False

    def _eval_Mul(self, e, args):
        """The product; a factor b⁻ᵏ (k ≤ 3) is k divisions by b, ``a / b / b`` (no
        overflow of 1/b where b is subnormal, nor of b², and no general power), as the
        evaluator computes it."""
        nums, dens, recips = [], [], []
        for node, (code, _) in zip(e.args, args):
            hit = reciprocal_of(node)
            if hit is None:
                nums.append(code)
            else:
                dens.append([self.scalar(self.value(hit[0])[0])] * hit[1])
                recips.append(code)
        lazy = all(lz for _, lz in args)
        if not dens:
            return self._product(nums), lazy, False
        if not nums:  # only reciprocals: b₁⁻ᵏ / b₂ ...
            nums, dens = recips[:1], dens[1:]
        code = "-1.0" if nums == ["-1.0"] else self._product(nums)
        for b in (b for divisions in dens for b in divisions):
            code = f"{code} / {_paren(b)}"
        return code, lazy, False

    def _eval_Pow(self, e, args):
        c = E.const_value(e.exp)
        base_op = e.base.op if type(e.base) is E.Call else None
        if c == 2 and base_op is not None and base_op.code_squared is not None:
            # op(x)² written at once (‖v‖² = sum(v ⊙ v), no square root)
            return self._call_code(e.base, base_op.code_squared), False, False
        (b, bl), (x, xl) = args
        base = _paren(self.scalar(b))
        if c == -1:
            return f"1.0 / {base}", bl, False
        if c == Fraction(1, 2):
            return f"{self.xp}.sqrt({self.t(b)})", bl, False
        if c is not None and c.denominator == 1:
            return f"{base} ** {c.numerator}", bl, False
        # a scalar exponent is expanded implicitly: lazy if the base is
        return f"{base} ** {_paren(x)}", bl and (xl or e.exp.rank == 0), False

    def _eval_MatMul(self, e, args):
        return self._matmul(e), False, False

    def _eval_Transpose(self, e, args):
        a = e.arg
        if a.rank == 1:
            return f"{self.full(a)}[None, :]", False, False
        if e.rank == 1:
            return f"{self.full(a)}[0]", False, False
        return f"{self.full(a)}.T", False, False

    def _eval_Call(self, e, args):
        op = e.op
        x = e.args[0] if e.args else None
        if op.code_matmul2 is not None and op.arity == 1 and type(x) is E.MatMul \
                and len(x.args) == 2 and all(f.rank == 2 for f in x.args):
            # op(A B) written at once (tr(A B) = sum(A ⊙ Bᵀ): O(n²), no product formed)
            return self.template(op.code_matmul2, [self.full(f) for f in x.args], op), \
                False, False
        template = _for_target(op.code, self.target)
        if template is None:
            raise DiffError(f"no {self.target} code for the function {op.name}()")
        if op.category == "elementwise":
            codes = [self.t(c) for c, _ in args]
            return self.template(template, codes, op), all(lz for _, lz in args), False
        return self._call_code(e, template), False, False

    def _call_code(self, e, template: str) -> str:
        """``template`` over the full values of the arguments of the call ``e``."""
        return self.template(template, [self.full(a) for a in e.args], e.op)

    def _eval_VecLit(self, e, args):
        items = [c for c, _ in args]
        if self.target == "torch":
            items = [f"{self.helper('_t')}({c})" for c in items]
            return f"torch.stack([{', '.join(items)}])", False, False
        return f"{self.xp}.array([{', '.join(items)}])", False, False

    def _eval_Entry(self, e, args):
        return f"{self.full(e.args[0])}[{int(e.index)}]", False, False

    # ---- pieces of sums and products

    def _product(self, codes: list) -> str:
        if codes[0] == "-1.0":
            return "-" + _paren(self.chunked(codes[1:], self._join_product))
        return self.chunked(codes, self._join_product)

    def _join_product(self, codes: list) -> str:
        # a negative literal in front needs no parentheses: -2.0 * x
        head = codes[0] if codes[0] in self.literals else _paren(codes[0])
        return " * ".join([head] + [_paren(c) for c in codes[1:]])

    def _term(self, a: E.Expr) -> tuple[str, bool]:
        if type(a) is E.Mul and E.const_value(a.args[0]) == -1:
            rest = a.args[1:]
            code, lazy = self.value(rest[0] if len(rest) == 1 else E.mul(*rest))
            return "-" + _paren(code), lazy
        return self.value(a)

    # ---- matrix products

    def _factor(self, node: E.Expr) -> _Fac:
        rows, cols = E.as2d(node.shape)
        if type(node) is E.Transpose and node.arg.rank == 1:
            return _Fac(self.full(node.arg), "row", 1, node.arg.shape[0])
        if type(node) is E.Transpose and node.rank == 2 and node.arg.rank == 2:
            code = self.full(node.arg)
            return _Fac(code + ".T", "2d", rows, cols, untransposed=code)
        if type(node) is E.Call and node.op is DIAG:
            return _Fac(self.full(node.args[0]), "scaling", rows, cols)
        if node.rank == 1:
            return _Fac(self.full(node), "col", rows, cols)
        if node.rank == 0:
            return _Fac(self.full(node), "scalar", 1, 1)
        if type(node) is E.Add and node.rank == 2:
            vecs = [_diag_vector(t) for t in node.args]
            if all(v is not None for v in vecs):  # diag(a) + c diag(b) = diag(a + c b)
                return _Fac(self.full(E.add(*vecs)), "scaling", rows, cols)
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
        if n > _DP_MAX:
            return self._chain_in_order(facs)

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

        def build(i, j):  # recursion depth at most _DP_MAX
            if i == j:
                return facs[i]
            k = split[i][j]
            return self._combine(build(i, k), build(k + 1, j))
        return build(0, n - 1)

    def _chain_in_order(self, facs: list) -> _Fac:
        """A long chain, in one direction (the programme is cubic in its length):
        right to left when it ends in a vector, else left to right."""
        if facs[-1].form == "col":
            out = facs[-1]
            for f in reversed(facs[:-1]):
                out = self._combine(f, out)
            return out
        out = facs[0]
        for f in facs[1:]:
            out = self._combine(out, f)
        return out

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

    def _distribute(self, add: E.Expr, other: _Fac, left: bool) -> Optional[_Fac]:
        """``(Σ terms) other`` (or ``other (Σ terms)``) as a sum of products; None if
        the products are not all of one form (then the sum is computed instead)."""
        parts, forms = [], set()
        for coeff, facs in self._terms(add):
            r = self._chain((facs + [other]) if left else ([other] + facs))
            forms.add(r.form)
            code = self._code(r)
            if coeff is None:
                parts.append(code)
            elif coeff == "-1.0":
                parts.append(f"-{_paren(code)}")
            else:
                parts.append(f"{_paren(coeff)} * {_paren(code)}")
        if len(forms) != 1:
            return None
        # the form of the products, not of `other`: a row times (x - y) is a scalar
        code = self.chunked(parts, _sum_code)
        return _Fac(f"({code})", forms.pop(), other.rows if not left else add.shape[0],
                    other.cols if left else add.shape[1])

    def _combine(self, a: _Fac, b: _Fac) -> _Fac:
        r = self._combine_code(a, b)
        if r.add is None and "@" in r.code:
            # a product is a value of its own: the same product in another chain (f and
            # its gradient, say) is computed once; used once, it is inlined again
            key = ("product", r.code)
            hit = self.memo.get(key)
            if hit is None:
                hit = (self.assign(r.code), False)
                self.memo[key] = hit
            r.code = hit[0]
        return r

    def _combine_code(self, a: _Fac, b: _Fac) -> _Fac:
        rows, cols = a.rows, b.cols
        if a.add is not None and a.code is None and b.form in ("col", "scalar") \
                or (a.add is not None and a.code is None and b.form == "2d"
                    and S.resolve(b.cols) == 1):
            r = self._distribute(a.add, b, left=True)
            if r is not None:
                return r
        if b.add is not None and b.code is None and a.form in ("row",):
            r = self._distribute(b.add, a, left=False)
            if r is not None:
                return r
        x, y = self._code(a), self._code(b)
        fa, fb = a.form, b.form
        if fa == "scalar" or fb == "scalar":
            form = fb if fa == "scalar" else fa
            return _Fac(f"{_paren(x)} * {_paren(y)}", form, rows, cols)
        if fa == "scaling":
            if fb in ("col", "scaling"):
                return _Fac(f"{_paren(x)} * {_paren(y)}", fb, rows, cols)
            return _Fac(f"{_paren(x)}[:, None] * {_paren(y)}", "2d", rows, cols)
        if fb == "scaling":
            return _Fac(f"{_paren(x)} * {_paren(y)}", fa, rows, cols)
        if fa == "col":  # n×1 times 1×m (a row, or a one-row matrix): the outer product
            if fb == "row":
                return _Fac(f"{self.xp}.outer({x}, {y})", "2d", rows, cols)
            return _Fac(f"{_paren(x)}[:, None] * {_paren(y)}", "2d", rows, cols)
        if fb == "row":  # (p×1) times (1×m)
            return _Fac(f"{_paren(x)} * {_paren(y)}[None, :]", "2d", rows, cols)
        if fa == "row" and fb == "col":
            return _Fac(f"{_paren(x)} @ {_paren(y)}", "scalar", 1, 1)
        # Xᵀv is written v @ X, and vᵀXᵀ as X @ v: XLA (JAX on CPU) copies a transposed
        # matrix before a matrix-vector product (13x slower at n = 2000); NumPy and torch
        # run either form without a copy
        if a.untransposed is not None and fb == "col":
            return _Fac(f"{_paren(y)} @ {_paren(a.untransposed)}", "col", rows, cols)
        if fa == "row" and b.untransposed is not None:
            return _Fac(f"{_paren(b.untransposed)} @ {_paren(x)}", "row", rows, cols)
        if fa == "row":
            return _Fac(f"{_paren(x)} @ {_paren(y)}", "row", rows, cols)
        if fb == "col":
            return _Fac(f"{_paren(x)} @ {_paren(y)}", "col", rows, cols)
        return _Fac(f"{_paren(x)} @ {_paren(y)}", "2d", rows, cols)

    def _matmul(self, e: E.Expr) -> str:
        gram = _weighted_gram(e)
        if gram is not None:
            # Aᵀ diag(s) A with s ≥ 0 is ZᵀZ, Z = √s ⊙ A: NumPy's A.T @ A of one buffer
            # is a symmetric rank-k update (half the work of a general product), and the
            # result is exactly symmetric
            a, weights = gram
            z = self.assign(f"{_paren(self.full(E.power(weights, E.num(Fraction(1, 2)))))}"
                            f"[:, None] * {_paren(self.full(a))}")
            return f"{z}.T @ {z}"
        r = self._chain([self._factor(a) for a in e.args])
        code, form = self._code(r), r.form
        shape = e.shape
        if len(shape) == 0:
            return {"scalar": code, "2d": f"{_paren(code)}[0, 0]"}.get(form, f"{_paren(code)}[0]")
        if len(shape) == 1:
            if form in ("col", "row"):
                return code
            if form == "scaling":
                return self._diag_matrix(code)  # pragma: no cover (n×1 diag)
            return f"{_paren(code)}.reshape(-1)"
        if form == "row":
            return f"{_paren(code)}[None, :]"
        if form == "col":
            return f"{_paren(code)}[:, None]"
        if form == "scaling":
            return self._diag_matrix(code)
        if form == "scalar":
            return f"{_paren(code)}.reshape(1, 1)"
        return code

    def _diag_matrix(self, code: str) -> str:
        """The dense diagonal matrix of a scaling (DIAG's own code)."""
        return self.template(_for_target(DIAG.code, self.target), [code], DIAG)


def _weighted_gram(e: E.Expr) -> Optional[tuple]:
    """(A, s) for a product Aᵀ diag(s) A with s provably ≥ 0 (a Hessian's
    Xᵀ diag(σ ⊙ (1 - σ)) X), else None."""
    if len(e.args) != 3:
        return None
    at, mid, a = e.args
    if not (a.rank == 2 and type(at) is E.Transpose and at.arg is a):
        return None
    s = _diag_vector(mid)
    return (a, s) if s is not None and _nonnegative(s) else None


def _nonnegative(e: E.Expr) -> bool:
    """Is every entry of ``e`` ≥ 0 by its form: constants ≥ 0, sizes, functions whose
    values are positive (``Op.positive``), even integer powers, and products and sums
    of these? (A deep expression is not looked into: no.)"""
    t = type(e)
    if e.depth > 64:
        return False
    if t is E.Num:
        return e.value >= 0
    if t is E.Size:
        return True
    if t is E.Expand:
        return _nonnegative(e.arg)
    if t is E.Call:
        return e.op.positive
    if t is E.Pow:
        c = E.const_value(e.exp)
        return c is not None and c.denominator == 1 and c.numerator % 2 == 0 \
            or _nonnegative(e.base)
    if t in (E.Mul, E.Add):
        return all(_nonnegative(x) for x in e.args)
    return False


def _diag_vector(t: E.Expr) -> Optional[E.Expr]:
    """v for a term diag(v) or c diag(v) (c a scalar), else None."""
    if type(t) is E.Call and t.op is DIAG:
        return t.args[0]
    if type(t) is E.Mul and len(t.args) == 2 and type(t.args[0]) is E.Expand \
            and t.args[0].arg.rank == 0 and type(t.args[1]) is E.Call and t.args[1].op is DIAG:
        v = t.args[1].args[0]
        return E.mul(E.expand(t.args[0].arg, v.shape), v)
    return None


# ------------------------------------------------- temporaries: the final pass

def _refs(code: str) -> list:
    """The markers in ``code`` (every other piece between NULs)."""
    return code.split(_MARK)[1::2]


def _live(lines: list, roots: list) -> list:
    """Dead-code elimination: the lines the roots need, in order."""
    needed = {r for code in roots for r in _refs(code)}
    live = []
    for key, code in reversed(lines):
        if key in needed:
            live.append((key, code))
            needed.update(_refs(code))
    live.reverse()
    return live


def _is_argument(before: str, after: str) -> bool:
    """Is a reference alone between ``(`` or ``, `` and ``,`` or ``)``?"""
    return before.endswith(("(", ", ")) and after.startswith((",", ")"))


def _substitute(code: str, subst: dict) -> str:
    """``code`` with the temporaries of ``subst`` replaced by their code."""
    parts = code.split(_MARK)
    for i in range(1, len(parts), 2):
        new = subst.get(parts[i])
        if new is None:
            parts[i] = _MARK + parts[i] + _MARK
            continue
        before, after = parts[i - 1], parts[i + 1]
        if _is_argument(before, after) and new.startswith("(") and _balanced_outer(new):
            new = new[1:-1]  # an argument needs no parentheses of its own
        elif after.startswith((".", "[")) and new[:1].isdigit():
            new = f"({new})"  # 2.0.T is not Python
        parts[i] = new
    return "".join(parts)


def _resolve(code: str, names: dict, helpers: set) -> str:
    """``code`` with every marker replaced by a final name; the helpers it uses are
    added to ``helpers``."""
    parts = code.split(_MARK)
    for i in range(1, len(parts), 2):
        ref = parts[i]
        if ref in names:
            parts[i] = names[ref]
        elif ref.startswith("_"):
            helpers.add(ref)
        else:  # pragma: no cover (a live temporary is either kept or inlined)
            raise AssertionError(f"temporary {ref} has no name")
    return "".join(parts)


def _finish(lines: list, roots: list) -> tuple[list, list, set]:
    """Drop dead lines, inline short ones used once, name the others ``_t1, _t2...``.
    Returns (body as (name, code), roots, helpers used)."""
    lines = _live(lines, roots)
    uses: dict = {}
    for code in [c for _, c in lines] + roots:
        for r in _refs(code):
            uses[r] = uses.get(r, 0) + 1
    subst: dict = {}
    kept = []
    for key, code in lines:
        code = _substitute(code, subst)
        if uses.get(key) == 1 and len(code) <= _INLINE_MAX:
            subst[key] = _paren(code)
        else:
            kept.append((key, code))
    roots = [_substitute(r, subst) for r in roots]
    names = {key: f"_t{i}" for i, (key, _) in enumerate(kept, 1)}
    helpers: set = set()
    body = [(names[key], _resolve(code, names, helpers)) for key, code in kept]
    roots = [_resolve(r, names, helpers) for r in roots]
    return body, roots, helpers


# ------------------------------------------------------------------ the module

def _dim_codes(args: list, names: dict) -> dict:
    """Each symbolic dimension -> the code reading it from the first argument that has it."""
    dims: dict = {}
    for v in args:
        for axis, dd in enumerate(v.shape):
            dd = S.resolve(dd)
            if not isinstance(dd, int) and dd not in dims:
                dims[dd] = f"{names[v]}.shape[{axis}]"
    return dims


def _function_name(d, wrt_codes: list, with_value: bool, name: object, form: str) -> str:
    if name is not None:
        return _check_function_name(name)
    wrt_code = wrt_codes[-1]
    if d.mixed:  # d2_f_d_w_d_b
        base = f"d{d.order}_f_" + "_".join(f"d_{c}" for c in wrt_codes)
    else:
        base = f"d{d.order}_f_d_{wrt_code}{d.order}" if d.order > 1 else f"d_f_d_{wrt_code}"
    if form in ("jvp", "vjp"):
        base = f"{form}_{base}"
    return f"f_and_{base}" if with_value else base


def _shape_check(args: list, names: dict, g: _Gen) -> list:
    """Lines raising ValueError unless every argument has its variable's shape (the
    dimensions of one name agreeing)."""
    wrong = []
    for v in args:
        p = names[v]
        expected = [g.dim(dd) for dd in v.shape]
        wrong.append(f"{p}.ndim != {len(v.shape)}")
        for axis, code in enumerate(expected):
            if code != f"{p}.shape[{axis}]":
                wrong.append(f"{p}.shape[{axis}] != {code}")
    what = "; ".join(f"{names[v]}: {S.describe(v.shape)}" for v in args)
    if not wrong:
        return []
    lines = []
    cond = " or\n            ".join(" or ".join(wrong[i:i + 4]) for i in range(0, len(wrong), 4))
    lines.append(f"    if ({cond}):")
    lines.append(f"        raise ValueError({('the arguments must have the shapes ' + what)!r})")
    return lines


def _expression_text(e: E.Expr) -> str:
    """``e`` as the docstring shows it: cut short, or described if large."""
    from ..printing.text import to_unicode
    if E.tree_size(e) > _DOC_NODES:
        return f"(an expression of {E.count_nodes(e):,} distinct nodes)"
    try:
        text = to_unicode(e)
    except MatcalcError:
        return "(an expression too large to print)"
    return text if len(text) <= _DOC_CHARS else text[:_DOC_CHARS - 1] + "…"


def _docstring(d, names: dict, out_shape: tuple, form: str, extra=None,
               with_value: bool = False, check: bool = False) -> str:
    """The function's docstring (a ``repr`` in the source): what it computes, which
    parameter is which variable where a name had to change, and the extras."""
    from ..printing.report import derivative_name
    w = d.wrt.name
    what = derivative_name(d)
    p = names[extra] if extra is not None else None
    # what the derivative differentiates: f, or for order k the order k-1 derivative
    k = d.order - 1
    base = "f" if k < 1 else derivative_name(d.of)
    if form == "jvp":
        doc = (f"The linear map of {what}, applied to a direction {p} of {w}'s shape: "
               f"{'df' if k < 1 else 'the change of ' + base}, of shape "
               f"{S.shape_str(out_shape)}; f = {_expression_text(d.f)}.")
    elif form == "vjp":
        doc = (f"The adjoint of {what}, applied to a cotangent {p} of {base}'s shape: the "
               f"gradient of <{p}, {base}> by {w}, of shape {S.shape_str(out_shape)}; "
               f"f = {_expression_text(d.f)}.")
    else:
        doc = f"{what} of f = {_expression_text(d.f)}; shape {S.shape_str(out_shape)}."
    for v, code in names.items():
        if v is not extra and code != _wanted(v):
            doc += f" Parameter {code} is the variable {v.name}."
    if with_value:
        doc += " Returns the pair (f, that)."
    if check:
        primal = "f" if d.order == 1 else f"the order {d.order - 1} derivative"
        doc += (f" With check=True, {primal} is also evaluated at {names[d.wrt]} ± h·D (D a "
                f"fixed random direction) and the central difference compared with the "
                f"result applied to D: ValueError if they differ (relative tolerance "
                f"{_CHECK_RTOL:g} in float64).")
    return doc


def _dense_code(g: _Gen, d, form: str, out_shape: tuple) -> str:
    """The tensor ``f.shape + wrt.shape``: the matrix form's code where there is one
    (form "dense"), else (and for form "einsum") the index form's einsum."""
    if d.kind is Kind.ZERO:
        return g.zeros(out_shape) if out_shape else g.number("0.0")
    if form == "einsum" or d.kind is Kind.DIFFERENTIAL:
        from ..calculus.index import index_form
        return _einsum_code(g, index_form(d), out_shape)
    result = g.full(stabilize(d.expr))
    if not S.unify_shapes(d.expr.shape, out_shape):
        result = f"{g.xp}.reshape({result}, {g.shape_code(out_shape)})"
    return result


def _einsum_code(g: _Gen, form, out_shape: tuple) -> str:
    """Σ terms, each one einsum over its factors (:func:`~.numeric.einsum_plan`: a
    delta between free indices is an identity matrix; a free index no factor has, a
    vector of ones), contracted in the order the target's einsum finds best
    (``optimize``): no Kronecker product, no array beyond the result's size unless a
    factor is that large."""
    from .numeric import einsum_plan
    dtype = ", dtype=torch.float64" if g.target == "torch" else ""
    optimize = "" if g.target == "torch" else ", optimize=True"

    def operand(op) -> str:
        if op[0] == "factor":
            code, shape = g.full(stabilize(op[1])), op[2]
            # axes of literal size 1 take no index
            return code if len(shape) == op[1].rank else \
                f"{_paren(code)}.reshape({g.shape_code(shape)})"
        return f"{g.xp}.{op[0]}({g.dim(op[1])}{dtype})"

    parts = []
    for coeff, scalars, operands, spec in einsum_plan(form):
        code = None if spec is None else g.assign(
            f"{g.xp}.einsum({spec!r}, {', '.join(map(operand, operands))}{optimize})")
        factors = ([] if coeff == 1 else [g.number(_fmt_num(coeff, g.xp))]) + \
            [g.t(g.full(stabilize(e))) for e in scalars] + ([code] if code else [])
        # a term of a coefficient alone (-1: every index of size 1) is that number
        parts.append(g._product(factors) if len(factors) > 1 else
                     factors[0] if factors else g.number("1.0"))
    if not parts:
        return g.zeros(out_shape) if out_shape else g.number("0.0")
    total = g.chunked(parts, _sum_code)
    if None in form.free:  # axes of literal size 1 are put back
        total = f"{g.xp}.reshape({g.t(total)}, {g.shape_code(out_shape)})"
    return total


FORMS = ("dense", "einsum", "jvp", "vjp")


def to_code(d, target: str = "numpy", with_value: bool = False,
            name: Optional[str] = None, form: str = "dense", check: bool = False) -> str:
    """The source of a Python module defining one function computing ``d``.

    The function takes the variables of ``f`` (in order of appearance; a name Python
    cannot use as it is is renamed, and the docstring says so). ``form``:

    - ``"dense"``: returns the derivative with the shape ``f.shape + wrt.shape``, from
      its matrix form, or, where it has none, by einsum over its index form;
    - ``"einsum"``: the same tensor, always by einsum over the index form;
    - ``"jvp"``: the linear map itself: a last parameter ``dW`` (a direction, of
      ``wrt``'s shape) and returns ``df`` (of f's shape), never forming the tensor;
    - ``"vjp"``: its adjoint: a last parameter ``G`` (of f's shape) and returns the
      gradient of ``⟨G, f⟩`` (of ``wrt``'s shape), never forming the tensor.

    (``dW`` and ``G`` are renamed ``dW_``, ``G_`` where a variable has that name.)
    With ``with_value`` it returns ``(f, result)``, sharing the work between the two.
    Every argument's shape is checked on entry (ValueError). ``name`` (an ASCII
    identifier, not a keyword or builtin, not starting with ``_``) names the
    function, else :class:`UsageError`.

    ``check``: the function gets a keyword-only parameter ``check=False`` (a variable
    named ``check`` is renamed ``check_``). Called with ``check=True``, it also
    computes f (for order k, the order k-1 derivative, densely) at ``V ± h·D``, ``V``
    the variable differentiated by, ``D`` a fixed-seed random direction (symmetric
    by a symmetric variable), and compares the central difference with the result
    applied to ``D`` (dense and einsum: the tensor contracted with ``D``; jvp: the
    function at ``D``; vjp: ``⟨result, D⟩`` with ``⟨G, difference⟩``). It raises
    ``ValueError``, with the measured error, when they differ by more than ``1e-4``
    times the values compared plus ``1e-9`` times f's size (the differences'
    rounding). The step is ``h = ε^(1/3)·max(1, max|V|)``, ε the arguments' machine
    epsilon (h = 6e-6 in float64); in float32 (JAX's default) the tolerances are
    ``2.4e-3`` and ``7e-4``. A failure means wrong code, or a point where f is not
    smooth (a kink of relu or abs within h). With the jax target the check needs
    concrete arrays: call the function with ``check=True`` outside ``jax.jit``
    (inside, leave it False; a traced call with check=True raises ValueError)."""
    return _source(d, target, with_value, name, form, check)[0]


def _form_roots(g: _Gen, d, form: str) -> tuple[list, tuple]:
    """The returned value's code and shape."""
    from ..calculus.index import jvp_expr, vjp_expr
    if form in ("jvp", "vjp"):
        e, shape = (jvp_expr(d), tuple(d.f_shape)) if form == "jvp" else \
            (vjp_expr(d), tuple(d.wrt.shape))
        code = g.full(stabilize(e))
        if not S.unify_shapes(e.shape, shape):  # differing only by axes of size 1
            code = f"{g.xp}.reshape({g.t(code)}, {g.shape_code(shape)})"
        return code, shape
    out_shape = tuple(d.f_shape) + tuple(d.wrt.shape)
    return _dense_code(g, d, form, out_shape), out_shape


def _form_arguments(d, form: str) -> tuple[list, Optional[E.Expr]]:
    """The parameters: the variables of f (and of the derivative), then the direction
    (jvp) or the cotangent (vjp); and that last one (None for dense and einsum)."""
    from ..calculus.index import cotangent
    from ..calculus.jvp import tangent_of
    args = d.variables
    extra = tangent_of(d.wrt) if form == "jvp" else cotangent(d) if form == "vjp" else None
    return args + ([extra] if extra is not None else []), extra


def _source(d, target: str, with_value: bool, name: object,
            form: str = "dense", check: bool = False) -> tuple[str, str]:
    if target not in TARGETS:
        raise UsageError(f"unknown code target {target!r}: use one of {', '.join(TARGETS)}")
    if form not in FORMS:
        raise UsageError(f"unknown code form {quote(form)}: use one of {', '.join(FORMS)}")
    if not isinstance(check, bool):
        raise UsageError(f"check must be True or False, not {quote(check)}")
    args, extra = _form_arguments(d, form)
    reserved = {"check"} if check else set()
    names = _code_names(args, reserved)
    fname = _function_name(d, [names[v] for v in d.wrts], with_value, name, form)
    if check and fname == "check":
        raise UsageError("bad function name 'check': with check=True that is the keyword's name")
    if check and fname in names.values():
        # the check calls the function by its name (jvp): no parameter may hide it
        names = _code_names(args, reserved | {fname})
    g = _Gen(target, names, _dim_codes(args, names))
    code, out_shape = _form_roots(g, d, form)
    roots = [_returned(g, code, out_shape)]
    if with_value:
        roots.insert(0, _returned(g, g.full(stabilize(d.f)), d.f.shape))
    body, roots, helpers = _finish(g.lines, roots)
    params = [names[v] for v in args]
    primal_params = [names[v] for v in args if v is not extra]

    functions = []
    if check:
        functions.append(_primal_function(d, g, primal_params, [v for v in args
                                                                if v is not extra], helpers))
    conv = {"numpy": "np.asarray({0}, dtype=float)", "jax": "jnp.asarray({0})",
            "torch": "torch.as_tensor({0}, dtype=torch.float64)"}[target]
    doc = _docstring(d, names, out_shape, form, extra, with_value, check)
    lines = [f"def {fname}({', '.join(params + (['*', 'check=False'] if check else []))}):",
             "    " + repr(doc)]
    lines += [f"    {p} = {conv.format(p)}" for p in params]
    lines += _shape_check(args, names, g)
    lines += [f"    {n} = {c}" for n, c in body]
    if not check:
        lines.append(f"    return {', '.join(roots)}")
    else:
        returned = ["_value", "_out"] if with_value else ["_out"]
        lines.append(f"    {', '.join(returned)} = {', '.join(roots)}")
        lines.append("    if check:")
        k = primal_params.index(names[d.wrt])
        packed = "(" + ", ".join(primal_params) + ("," if len(primal_params) == 1 else "") + ")"
        # what the check applies to the direction: the tensor, the function itself (jvp:
        # called at the direction), or the result with the cotangent (vjp)
        last = {"jvp": fname, "vjp": f"_out, {params[-1]}"}.get(form, "_out")
        lines.append(f"        _check(_primal, {packed}, {k}, {last})")
        lines.append(f"    return {', '.join(returned)}")
        helpers.add("_check")
        g.helper_sources["_check"] = _check_helper(target, form, d, out_shape, with_value)
    functions.append("\n".join(lines))

    out = [TARGETS[target][0], ""]
    if check and target == "jax":
        out[1:1] = ["import numpy as np"]
    for h in sorted(helpers):
        out += [g.helper_sources.get(h) or _HELPERS[target][h], ""]
    out.append("\n\n\n".join(functions))
    return "\n".join(out) + "\n", fname


def _primal_function(d, g: _Gen, params: list, variables: list, helpers: set) -> str:
    """``_primal``: what check=True differences, f, or for order k the order k-1
    derivative (densely), from the same (converted) arguments; its helpers are added
    to ``helpers``."""
    p = _Gen(g.target, g.names, _dim_codes(variables, g.names))
    p.op_helpers, p.helper_sources = g.op_helpers, g.helper_sources
    if d.order > 1:
        of = d.of
        shape = tuple(of.f_shape) + tuple(of.wrt.shape)
        root = _returned(p, _dense_code(p, of, "dense", shape), shape)
    else:
        root = _returned(p, p.full(stabilize(d.f)), d.f.shape)
    body, roots, used = _finish(p.lines, [root])
    helpers.update(used)
    what = "f" if d.order == 1 else f"the order {d.order - 1} derivative"
    lines = [f"def _primal({', '.join(params)}):",
             f"    {('The self-check differences ' + what + ' (check=True).')!r}"]
    lines += [f"    {n} = {c}" for n, c in body]
    lines.append(f"    return {roots[0]}")
    return "\n".join(lines)


# The self-check's numbers, from the arguments' machine epsilon ε (2.2e-16 for float64,
# 1.2e-7 for JAX's default float32): the step h = ε^(1/3)·max(1, max|V|) (6e-6 in float64)
# balances truncation and rounding; the tolerance is RTOL times the values compared
# (at least 100 ε^(2/3): 2.4e-3 in float32), plus FLOOR·ε^(2/3) times f's size (the
# differences' rounding, ε·|f|/h, with a margin of 30).
_CHECK_RTOL = 1e-4
_CHECK_FLOOR = 30

_CHECK_XP = {   # per target: the module, the epsilon, the direction D, max |a|
    "numpy": {"xp": "np", "eps": "float(np.finfo(v.dtype).eps)",
              "direction": "np.random.default_rng(0).standard_normal(v.shape)",
              "absmax": "float(np.max(np.abs({0})))"},
    "jax": {"xp": "jnp", "eps": "float(jnp.finfo(v.dtype).eps)",
            "direction": "jnp.asarray(np.random.default_rng(0).standard_normal(v.shape))",
            "absmax": "float(jnp.max(jnp.abs({0})))"},
    "torch": {"xp": "torch", "eps": "float(torch.finfo(v.dtype).eps)",
              "direction": "torch.randn(tuple(v.shape), generator=torch.Generator()"
                           ".manual_seed(0), dtype=torch.float64)",
              "absmax": "float(torch.max(torch.abs({0})))"},
}


def _check_helper(target: str, form: str, d, out_shape: tuple, with_value: bool) -> str:
    """The source of ``_check(primal, args, k, ...)`` for one form: central differences
    of ``primal`` at ``args[k] ± h·D`` against the result applied to ``D``. Only fixed
    text: the form, the ranks and the symmetry convention are known when generating."""
    t = _CHECK_XP[target]
    xp = t["xp"]

    def amax(code):
        return t["absmax"].format(code)
    tail = {"jvp": "fn", "vjp": "result, cotangent"}.get(form, "result")
    lines = [f"def _check(primal, args, k, {tail}):",
             '    """check=True: central differences of primal (f, or the order k-1 '
             'derivative) at\n    args[k] +- h d, d a fixed random direction, against the '
             'result applied to d."""',
             "    v = args[k]"]
    if target == "jax":  # a traced value (inside jax.jit) has no number to compare
        lines += ["    try:",
                  f"        scale = max(1.0, {amax('v')})",
                  "    except TypeError as e:",
                  "        raise ValueError('check=True needs concrete arrays: call the function "
                  "with check=True outside jax.jit') from e"]
    else:
        lines.append(f"    scale = max(1.0, {amax('v')})")
    lines += [f"    d = {t['direction']}",
              f"    d = d / max(1.0, {amax('d')})"]
    convention = d.symmetric_gradient
    if convention not in (None, "sym", "cookbook"):
        raise UsageError(f"check=True: unknown symmetric convention {quote(convention)}")
    if convention is not None and d.wrt.rank == 2:
        lines.append("    d = (d + d.T) / 2")
    applied = f"{xp}.triu(d)" if convention == "cookbook" and d.wrt.rank == 2 else "d"
    lines += [f"    eps = {t['eps']}",
              "    h = eps ** (1 / 3) * scale",
              f"    rtol = max({_CHECK_RTOL!r}, 100 * eps ** (2 / 3))",
              "    plus = primal(*args[:k], v + h * d, *args[k + 1:])",
              "    minus = primal(*args[:k], v - h * d, *args[k + 1:])",
              "    fd = (plus - minus) / (2 * h)",
              f"    floor = {_CHECK_FLOOR!r} * eps ** (2 / 3) * max(1.0, {amax('plus')}, "
              f"{amax('minus')})"]
    if form == "jvp":
        lines.append(f"    got = fn(*args, {applied})" + ("[1]" if with_value else ""))
    elif form == "vjp":
        lines += [f"    got = {xp}.sum(result * {applied})",
                  f"    fd = {xp}.sum(cotangent * fd)",
                  f"    floor = floor * max(1.0, float({xp}.sum({xp}.abs(cotangent))))"]
    else:
        rank, wrank = len(out_shape), d.wrt.rank
        if wrank == 0:
            lines.append(f"    got = result * {applied}")
        else:
            axes = tuple(range(rank - wrank, rank))
            key = "dim" if target == "torch" else "axis"
            lines.append(f"    got = {xp}.sum(result * {applied}, {key}={axes!r})")
    lines += [f"    err = {amax('got - fd')}",
              f"    tol = rtol * max({amax('got')}, {amax('fd')}) + floor",
              "    if not err <= tol:",
              "        raise ValueError(f'check failed: along a random direction the derivative "
              "differs from central differences of {h:.2g} by {err:.3g} (tolerance {tol:.3g}, "
              "largest entries {" + amax('got') + ":.3g} and {" + amax('fd') + ":.3g}): "
              "the code is wrong, or f is not smooth at this point')",
              ""]
    return "\n".join(lines)


def _returned(g: _Gen, code: str, shape: tuple) -> str:
    """A returned value, converted to the target's float array of ``shape``."""
    return f"{g.helper('_result')}({code}, {g.shape_code(shape)})"


def lambdify(d, target: str = "numpy", with_value: bool = False,
             form: str = "dense", check: bool = False) -> Callable:
    """The compiled function of :func:`to_code` (its source is in ``__source__``)."""
    src, name = _source(d, target, with_value, None, form, check)
    namespace: dict = {}
    exec(compile(src, f"<matcalc {target} code>", "exec"), namespace)
    fn = namespace[name]
    fn.__source__ = src
    return fn
