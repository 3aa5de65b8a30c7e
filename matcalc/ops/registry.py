"""The ``Op`` record: everything matcalc knows about one function, in one place.

Every other module reads these records; none of them names a function. Adding an
element-wise function is one ``register(Op(...))`` (see docs/extending.md).

The record imports nothing from matcalc but the errors: the core builds ``Call``
nodes over an ``Op`` without knowing the registry, and the op definitions
(:mod:`matcalc.ops.elementwise`, ...) build their rules from the core.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from fractions import Fraction
from typing import Callable, Mapping, Optional

from ..core.shapes import NAME_RE
from ..errors import UsageError

CATEGORIES = ("elementwise", "reduction", "vector", "matrix")
DOMAINS = (None, "positive", "invertible")
TARGETS = ("numpy", "jax", "torch")


@dataclass(frozen=True)
class Form:
    """How a function is written in one notation.

    ``style``:
    - ``"call"``: ``text(a, b)`` (``text`` is the function's name there);
    - ``"wrap"``: ``text`` with ``{0}`` replaced by the argument (``|{0}|``, ``[{0} > 0]``);
    - ``"postfix"``: the argument, bracketed if it does not bind tightly, then ``text``
      (``X⁻¹``); in LaTeX ``text`` is a superscript (``X^{-1}``); ``{1}``, ``{2}``...
      in ``text`` stand for the further arguments, written as an exponent (``A³``);
    - ``"prefix"``: ``text`` then the argument, bracketed likewise (``√x``);
    - ``"product"``: a product with the argument, ``{x}`` (bracketed as a factor) or
      ``{xT}`` (transposed) in ``text`` (``{xT}𝟏``: the column sums Xᵀ𝟏).

    ``"wrap"`` may name further arguments, ``{1}``... (``[{0} = {1}]``).
    """
    text: str
    style: str = "call"

    def __post_init__(self):
        if self.style not in ("call", "wrap", "postfix", "prefix", "product"):
            raise UsageError(f"unknown notation style {self.style!r}")


@dataclass(frozen=True, eq=False)
class Op:
    """One function of the language. Equality is identity (one record per name).

    Required: ``name``, ``arity``, ``category``, ``shape``, ``numpy``, ``rule``,
    ``doc``, a derivative (``derivative`` for an element-wise function of one
    argument, else ``jvp``; a linear op needs ``transpose`` too), ``code``, and a
    SymPy form (``sympy_scalar`` for an element-wise op, ``sympy`` otherwise).
    """
    name: str
    arity: int
    category: str
    # shape rule: (args) -> (args, shape); may broadcast the arguments, raises ShapeError
    shape: Callable
    # NumPy implementation of the value (numerically stable where it matters)
    numpy: Callable
    rule: str                  # the rule's name, as --steps prints it
    doc: str                   # its mathematics
    # ---- calculus
    # element-wise, one argument: x -> f'(x), an Expr; the JVP is f'(x) ⊙ dx
    derivative: Optional[Callable] = None
    # otherwise: (args, i, d) -> the differential of the result through argument i,
    # whose differential is d (never a symbolic zero: the driver skips those, and
    # adds the contributions of several arguments)
    jvp: Optional[Callable] = None
    linear: bool = False       # linear in its one argument: op(dx) is its own JVP
    # linear ops: (arg, g) -> the cotangent of the argument given the result's, g
    transpose: Optional[Callable] = None
    # linear ops with a Jacobian matrix: (node, J) -> the Jacobian of node, J that of
    # its argument (row count 1 or a vector length); None: no matrix form
    jacobian: Optional[Callable] = None
    # linear ops: (arg) -> (spec, scale): the index form, einsum-like ("ij->j": the
    # column sums; "i->ii": diag(v)ᵢⱼ = vᵢ δᵢⱼ), times scale (an Expr, or None)
    index: Optional[Callable] = None
    # ---- algebra (applied when a node is built)
    exact: Optional[Callable] = None      # constants folded exactly: (*Fractions) -> Fraction|None
    simplify: Optional[Callable] = None   # local identities: (*args) -> Expr | None
    products: tuple = ()                  # identities of adjacent factors of a matrix product
    symmetric: bool = False               # op(x)ᵀ = op(x)
    keeps_symmetry: bool = False          # op(S)ᵀ = op(S) when Sᵀ = S
    as_power: Optional[Fraction] = None   # op(x) = x^p (powers of it fold)
    # ---- backends
    # code per target ("*": every target): a template with {xp} (np, jnp, torch), {0},
    # {1} (argument code) and {helper} (a helper function, ``helpers[target]``)
    code: Mapping[str, str] = field(default_factory=dict)
    helpers: Mapping[str, str] = field(default_factory=dict)
    code_squared: Optional[str] = None    # code for op(x)² when cheaper (‖x‖² = sum(x ⊙ x))
    code_matmul2: Optional[str] = None    # code for op(A @ B) when cheaper (tr: sum(A ⊙ Bᵀ))
    # SymPy: element-wise ops give the scalar form (sp, z, ...) -> expr; the others
    # their matrix-expression form (sp, node, args) -> expr and their explicit form
    # over explicit matrices (sp, args, sign) -> matrix or scalar
    sympy_scalar: Optional[Callable] = None
    sympy: Optional[Callable] = None
    explicit: Optional[Callable] = None
    # from_sympy: (sp, e) -> the SymPy arguments if e is this function, else None
    # (None: SymPy writes it with other functions, e.g. sigmoid)
    sympy_match: Optional[Callable] = None
    # ---- notation
    text: str = ""             # the name in the input language
    axis: Optional[int] = None  # an axis-wise function's axis, written text(x, axis=N)
    public: bool = True        # False: written by another name only (diag(A) is diagonal)
    unicode: Optional[Form] = None
    latex: Optional[Form] = None
    unicode_transposed: Optional[Form] = None   # op(x)ᵀ written at once (X⁻ᵀ)
    latex_transposed: Optional[Form] = None
    # ---- smoothness and domain
    # where it is not differentiable: (args) -> the expression whose zeros are the
    # kinks (|x|: x; max(a, b): a - b); None: smooth
    kink: Optional[Callable] = None
    # explicit SymPy form with kinks: (sp, sign, *scalars) -> expr, sign(z) a symbol
    # for the sign of z (used to prove derivatives away from the kinks)
    explicit_kinked: Optional[Callable] = None
    domain: Optional[str] = None          # "positive" (log), "invertible" (inv, det)
    positive: bool = False                # its values are > 0 (exp, σ, softmax): a fact
    #                                       the SymPy pass may use ((a ⊘ p) ⊙ p = a)
    # ---- documentation (docs/rules.md is generated from these)
    applies: str = ""          # where the rule applies, in a sentence
    example: tuple = ()        # (expression, wrt): a derivative that shows the rule

    def __post_init__(self):
        setv = object.__setattr__
        if not self.text:
            setv(self, "text", self.name)
        if self.unicode is None:
            setv(self, "unicode", Form(self.text))
        if self.latex is None:
            setv(self, "latex", Form(rf"\operatorname{{{self.text}}}"))

    @property
    def smooth(self) -> bool:
        return self.kink is None

    def __repr__(self) -> str:
        return f"<Op {self.name}>"

    def __reduce__(self):
        # pickled by name: the functions in the record are not picklable, and there is
        # one record per name
        return (lookup, (self.name,))


REGISTRY: dict[str, Op] = {}


def missing_fields(op: Op) -> list[str]:
    """The required fields ``op`` lacks (empty when it is complete)."""
    out = []
    for name in ("name", "arity", "category", "shape", "numpy", "rule", "doc"):
        if getattr(op, name) in (None, ""):
            out.append(name)
    if op.category not in CATEGORIES:
        out.append(f"category (one of {', '.join(CATEGORIES)})")
    if op.domain not in DOMAINS:
        out.append(f"domain (one of {', '.join(map(str, DOMAINS))})")
    if op.derivative is None and op.jvp is None and not op.linear:
        out.append("derivative or jvp")
    if op.derivative is not None and not (op.category == "elementwise" and op.arity == 1):
        out.append("jvp (derivative is for element-wise functions of one argument)")
    if op.linear and op.transpose is None:
        out.append("transpose (a linear op needs one)")
    if op.linear and op.index is None:
        out.append("index (a linear op needs its index form)")
    if not any(t in op.code or "*" in op.code for t in TARGETS):
        out.append("code")
    for t, template in op.code.items():
        if t != "*" and t not in TARGETS:
            out.append(f"code target {t!r}")
        if "{helper}" in template:
            for need in (TARGETS if t == "*" else (t,)):
                if need not in op.helpers and "*" not in op.helpers:
                    out.append(f"helpers[{need!r}]")
    if op.category == "elementwise":
        if op.sympy_scalar is None:
            out.append("sympy_scalar")
    elif op.sympy is None or op.explicit is None:
        out.append("sympy and explicit")
    if op.kink is not None and op.category == "elementwise" and op.explicit_kinked is None:
        out.append("explicit_kinked (a kinked function is proved away from its kinks)")
    return out


def register(op: Op) -> Op:
    """Add ``op`` to the registry; refuses an incomplete record or a name taken."""
    if not isinstance(op, Op):
        raise UsageError(f"register() needs an Op, not {type(op).__name__}")
    if not isinstance(op.name, str) or not NAME_RE.fullmatch(op.name):
        raise UsageError(f"an op's name must be a name of the language, not {op.name!r}")
    missing = missing_fields(op)
    if missing:
        raise UsageError(f"the op {op.name} lacks {', '.join(missing)}")
    if op.name in REGISTRY:
        raise UsageError(f"an op named {op.name} is registered already")
    REGISTRY[op.name] = op
    return op


def unregister(name: str) -> None:
    """Remove a function registered at run time (tests, plug-ins)."""
    REGISTRY.pop(name, None)


def lookup(name: str) -> Op:
    return REGISTRY[name]


def field_names() -> list[str]:
    return [f.name for f in fields(Op)]
