"""Matrix functions (trace, determinant, inverse, matrix power, diagonal): each one
``Op`` record."""
from __future__ import annotations

import numpy as np

from .. import limits
from ..core import expr as E
from ..core import shapes as S
from ..errors import ParseError, ShapeError
from .reductions import needs, scalar_times
from .registry import Form, Op, register


def square(name: str, shape):
    """A shape rule: a square matrix in, ``shape(x)`` out."""
    def check(args):
        x = args[0]
        if x.rank != 2 or not S.same_dim(x.shape[0], x.shape[1]):
            raise ShapeError(f"{name}() needs a square matrix, got a "
                             f"{S.describe(S.resolved(x.shape))}")
        return args, shape(x)
    return check


def _tr_simplify(x):
    if type(x) is E.Eye:
        return E.size(x.n)
    if type(x) is E.Expand and x.arg.rank == 0:
        return E.mul(x.arg, E.size(S.resolve(x.shape[0])))
    st = scalar_times(x)
    if st is not None:
        return E.mul(st[0], E.call(TR, st[1]))
    if type(x) is E.Transpose:
        return E.call(TR, x.arg)
    if type(x) is E.Call and x.op is DIAG:
        from .reductions import SUM
        return E.call(SUM, x.args[0])
    if type(x) is E.Add:
        return E.add(*[E.call(TR, a) for a in x.args])
    if type(x) is E.MatMul:
        r = _rotated(x)
        if r is not None:
            return E.call(TR, r)
    return None


def _is_tangent(f) -> bool:
    f = f.arg if type(f) is E.Transpose else f
    return type(f) is E.Var and f.tangent


def _merged(chain):
    """Adjacent powers of one matrix merged (A A² -> A³, A A⁻¹ -> I); None: none to
    merge."""
    out = [chain[0]]
    for f in chain[1:]:
        ra, ja = _root(out[-1])
        rb, jb = _root(f)
        if ra is rb and _known_square(ra) and not _is_tangent(f):
            out[-1] = power_of(ra, ja + jb)
        else:
            out.append(f)
    return out if len(out) < len(chain) else None


def _rotated(x):
    """In a differential, tr(P dX Q) = tr(Q P dX), written so when powers of one matrix
    then merge: tr(A dX A) = tr(A² dX), tr(dX A A) = tr(A² dX), tr(A⁻¹ dX A) = tr(dX).
    The terms of d tr(A³) become one (its gradient is 3 (A²)ᵀ, as for d tr(AAA))."""
    chain = x.args
    hits = [i for i, f in enumerate(chain) if _is_tangent(f)]
    if len(hits) != 1 or any(f.rank != 2 for f in chain):
        return None
    i = hits[0]
    merged = _merged(chain[i + 1:] + chain[:i + 1])
    if merged is None:
        return None
    out = E.matmul(*merged)
    return out if out.rank == 2 else None


def _is(e, op) -> bool:
    return type(e) is E.Call and e.op is op


def _known_square(x) -> bool:
    """A square matrix as far as its shape is known now (never unifies two unknown
    dimensions: the identities below must not make a matrix square)."""
    return x.rank == 2 and S.resolve(x.shape[0]) == S.resolve(x.shape[1])


def _square_factors(x):
    """The factors of a product of square matrices (AB... with each factor square),
    else None: det, logdet and inv split such a product."""
    if type(x) is E.MatMul and len(x.args) > 1 and all(_known_square(f) for f in x.args):
        return x.args
    return None


def _exponent(k) -> int:
    return int(E.const_value(k))


def _root(f):
    """``f`` as a power of a matrix: A^k -> (A, k), (A⁻¹)^k -> (A, -k), A⁻¹ -> (A, -1),
    anything else -> (f, 1)."""
    if _is(f, MATPOW):
        base, k = f.args[0], _exponent(f.args[1])
        return (base.args[0], -k) if _is(base, INV) else (base, k)
    if _is(f, INV):
        return f.args[0], -1
    return f, 1


def power_of(a, k: int):
    """The matrix power A^k for a whole number k: I, A, A⁻¹, matpow(A, k) or
    matpow(A⁻¹, -k) (the canonical form of a negative power)."""
    if k == 0:
        return E.eye(S.resolve(a.shape[0]))
    if k < 0:
        a, k = E.call(INV, a), -k
    return a if k == 1 else E.call(MATPOW, a, E.num(k))


def _splits(factors) -> bool:
    """Whether det of this product is simpler as a product of dets."""
    return len(set(factors)) < len(factors) or any(_is(f, MATPOW) or _is(f, INV)
                                                   for f in factors)


def _det_simplify(x):
    if type(x) is E.Eye:
        return E.ONE
    if type(x) is E.Transpose:                       # det(Aᵀ) = det(A)
        return E.call(DET, x.arg)
    if _is(x, INV):                                  # det(A⁻¹) = det(A)⁻¹
        return E.power(E.call(DET, x.args[0]), E.num(-1))
    if _is(x, MATPOW):                               # det(A^k) = det(A)^k
        return E.power(E.call(DET, x.args[0]), x.args[1])
    factors = _square_factors(x)
    if factors is not None and _splits(factors):
        # det(AB) = det(A) det(B) where a factor repeats or is a power: det(XX) =
        # det(X)², det(A³B) = det(A)³ det(B) (det(AXB) stays: three determinants
        # are longer, not simpler)
        return E.mul(*[E.call(DET, f) for f in factors])
    st = scalar_times(x)
    n = S.resolve(x.shape[0])
    if st is not None and (isinstance(n, int) or (E.const_value(st[0]) or 0) > 0):
        # det(cA) = cⁿ det(A), where cⁿ is a plain power: n a number, or c > 0
        # (a symbolic n over any c would be a power that reads as fractional)
        return E.mul(E.power(st[0], E.size(n)), E.call(DET, st[1]))
    return None


def _logdet_simplify(x):
    if type(x) is E.Eye:
        return E.ZERO
    if type(x) is E.Transpose:                       # log|det Aᵀ| = log|det A|
        return E.call(LOGDET, x.arg)
    if _is(x, INV):                                  # log|det A⁻¹| = -log|det A|
        return E.neg(E.call(LOGDET, x.args[0]))
    if _is(x, MATPOW):                               # log|det A^k| = k log|det A|
        return E.mul(x.args[1], E.call(LOGDET, x.args[0]))
    factors = _square_factors(x)
    if factors is not None and _splits(factors):
        # log|det AB| = log|det A| + log|det B| where a factor repeats or is a power
        return E.add(*[E.call(LOGDET, f) for f in factors])
    return None


def _det_jvp(args, i, dx):
    x = args[0]
    return E.mul(E.call(DET, x), E.call(TR, E.matmul(E.call(INV, x), dx)))


def _logdet_jvp(args, i, dx):
    x = args[0]
    return E.call(TR, E.matmul(E.call(INV, x), dx))


def _inv_jvp(args, i, dx):
    x = args[0]
    xi = E.call(INV, x)
    return E.neg(E.matmul(xi, dx, xi))


def _inv_simplify(x):
    if type(x) is E.Eye:
        return x
    if type(x) is E.Call and x.op is INV:
        return x.args[0]
    if _is(x, MATPOW):                               # (A^k)⁻¹ = (A⁻¹)^k
        root, k = _root(x)
        return power_of(root, -k)
    factors = _square_factors(x)
    if factors is not None:                          # (AB)⁻¹ = B⁻¹A⁻¹
        return E.matmul(*[E.call(INV, f) for f in reversed(factors)])
    return None


def _inverse_pair(a, b):
    """A⁻¹ A = I and A A⁻¹ = I; A⁻¹ A⁻¹ = (A⁻¹)²."""
    if type(a) is E.Call and a.op is INV and a.args[0] is b:
        return E.eye(S.resolve(b.shape[0]))
    if type(b) is E.Call and b.op is INV and b.args[0] is a:
        return E.eye(S.resolve(a.shape[0]))
    if _is(a, INV) and a is b:
        return E.call(MATPOW, a, E.num(2))
    return None


def _det(sp, x):
    return x.det(method="berkowitz")


def _explicit_inv(sp, args, sign):
    x = args[0]  # adj(X) / det(X): no invertibility test (it costs a det)
    det = _det(sp, x)
    return x.adjugate(method="berkowitz").applyfunc(lambda v: v / det)


def _match(cls: str):
    def match(sp, e):
        return e.args[:1] if type(e).__name__ == cls else None
    return match


def _logdet_match(sp, e):
    if isinstance(e, sp.log) and isinstance(e.args[0], sp.Determinant):
        return e.args[0].args
    return None


TR = register(Op(
    name="tr", arity=1, category="matrix", shape=square("tr", lambda x: ()), numpy=np.trace,
    linear=True, transpose=lambda a, g: E.mul(E.expand(g, a.shape), E.eye(a.shape[0])),
    index=lambda a: ("ii->", None), rule="trace (linear)", doc="d tr(X) = tr(dX)",
    simplify=_tr_simplify,
    code={"*": "{xp}.trace({0})"}, code_matmul2="{xp}.sum({0} * {1}.T)",
    sympy=lambda kit, node, args: kit.sp.Trace(args[0]),
    explicit=lambda sp, args, sign: args[0].trace(), sympy_match=_match("Trace"),
    unicode=Form("tr"), latex=Form(r"\operatorname{tr}"),
    applies="matrix function", example=("tr(X)", "X")))

DET = register(Op(
    name="det", arity=1, category="matrix", shape=square("det", lambda x: ()),
    numpy=np.linalg.det, jvp=_det_jvp, rule="determinant (Jacobi's formula)",
    doc="d det(X) = det(X) tr(X⁻¹ dX)", domain="invertible",
    code={"*": "{xp}.linalg.det({0})"},
    simplify=_det_simplify, sympy=lambda kit, node, args: kit.sp.Determinant(args[0]),
    explicit=lambda sp, args, sign: _det(sp, args[0]), sympy_match=_match("Determinant"),
    latex=Form(r"\det"), applies="matrix function", example=("det(X)", "X")))

LOGDET = register(Op(
    name="logdet", arity=1, category="matrix", shape=square("logdet", lambda x: ()),
    numpy=lambda x: np.linalg.slogdet(x)[1], jvp=_logdet_jvp, rule="log-determinant",
    doc="d log|det X| = tr(X⁻¹ dX)", domain="invertible",
    code={"*": "{xp}.linalg.slogdet({0})[1]"}, simplify=_logdet_simplify,
    sympy=lambda kit, node, args: kit.sp.log(kit.sp.Determinant(args[0])),
    explicit=lambda sp, args, sign: sp.log(_det(sp, args[0])), sympy_match=_logdet_match,
    unicode=Form("log|det {0}|", "wrap"), latex=Form(r"\log\left|\det {0}\right|", "wrap"),
    applies="matrix function", example=("logdet(X)", "X")))

INV = register(Op(
    name="inv", arity=1, category="matrix",
    shape=square("inv", lambda x: S.resolved(x.shape)), numpy=np.linalg.inv,
    jvp=_inv_jvp, rule="matrix inverse", doc="d X⁻¹ = -X⁻¹ dX X⁻¹", domain="invertible",
    simplify=_inv_simplify, products=(_inverse_pair,), keeps_symmetry=True,
    code={"*": "{xp}.linalg.inv({0})"},
    sympy=lambda kit, node, args: kit.sp.Inverse(args[0]), explicit=_explicit_inv,
    sympy_match=_match("Inverse"),
    unicode=Form("⁻¹", "postfix"), latex=Form("-1", "postfix"),
    unicode_transposed=Form("⁻ᵀ", "postfix"), latex_transposed=Form(r"-\top", "postfix"),
    applies="matrix function", example=("tr(inv(X))", "X")))


# ---- matpow: A^k, k a whole-number constant

def _matpow_shape(args):
    """A square matrix and a whole-number constant k ≥ 1 (within the budget
    limits.max_power_factors: the differential has k terms)."""
    a, k = args
    if a.rank != 2 or not S.same_dim(a.shape[0], a.shape[1]):
        raise ShapeError(f"matpow() needs a square matrix, got a "
                         f"{S.describe(S.resolved(a.shape))}")
    v = E.const_value(k) if k.rank == 0 else None
    if v is None or v.denominator != 1 or v < 1:
        text = str(k)
        text = text if len(text) <= 30 else text[:27] + "..."
        raise ParseError(f"matpow(A, k) needs a whole-number constant k ≥ 1, not {text} "
                         f"(write eye(n) for A⁰, inv(A) for A⁻¹, matpow(inv(A), k) for "
                         f"A⁻ᵏ)")
    limits.check(int(v), "max_power_factors", "the exponent of a matrix power")
    return (a, E.num(v)), S.resolved(a.shape)


def _matpow_simplify(a, k):
    k = _exponent(k)
    if k == 1 or type(a) is E.Eye or E.is_zero(a):
        return a
    if _is(a, MATPOW):
        root, j = _root(a)                            # (A^j)^k = A^(jk)
        return power_of(root, j * k)
    if type(a) is E.Transpose:                        # (Aᵀ)^k = (A^k)ᵀ: one form of both
        return E.transpose(power_of(a.arg, k))
    if _is(a, DIAG):                                  # diag(x)^k = diag(x^k)
        return E.call(DIAG, E.power(a.args[0], E.num(k)))
    st = scalar_times(a)
    if st is not None:                                # (cA)^k = c^k A^k
        p = power_of(st[1], k)
        return E.mul(E.expand(E.power(st[0], E.num(k)), p.shape), p)
    return None


def _power_pair(a, b):
    """A^j A^k = A^(j+k), A^k A = A^(k+1), A^k A⁻¹ = A^(k-1)... (A⁻¹ counts as A^-1)."""
    if not (_is(a, MATPOW) or _is(b, MATPOW)) or a.rank != 2 or b.rank != 2:
        return None
    ra, ja = _root(a)
    rb, jb = _root(b)
    if ra is not rb:
        return None
    return power_of(ra, ja + jb)


def _matpow_jvp(args, i, d):
    """d(A^k) = Σ A^j dA A^(k-1-j), j = 0 ... k-1."""
    a, k = args[0], _exponent(args[1])
    return E.add(*[E.matmul(power_of(a, j), d, power_of(a, k - 1 - j)) for j in range(k)])


def _explicit_matpow(sp, args, sign):
    x, k = args[0], int(args[1])
    out = x
    for _ in range(k - 1):  # by products: SymPy's own power may diagonalize
        out = out * x
    return out


MATPOW = register(Op(
    name="matpow", arity=2, category="matrix", shape=_matpow_shape,
    numpy=lambda a, k: np.linalg.matrix_power(a, int(k)), jvp=_matpow_jvp,
    rule="matrix power rule", doc="d(Aᵏ) = Σⱼ Aʲ dA Aᵏ⁻¹⁻ʲ (j = 0 ... k-1; A⁰ = I)",
    simplify=_matpow_simplify, products=(_power_pair,), keeps_symmetry=True,
    code={"*": "{xp}.linalg.matrix_power({0}, int({1}))"},
    sympy=lambda kit, node, args: kit.sp.MatPow(args[0], args[1]),
    explicit=_explicit_matpow,
    # A³: the exponent {1} as a superscript (the printers write a postfix form's {1},
    # {2}... from the further arguments); transposed, (A³)ᵀ
    unicode=Form("{1}", "postfix"), latex=Form("{1}", "postfix"),
    applies="matrix function: a square matrix to a whole-number power k ≥ 1 "
            "(`matpow(A, 3)`; the matlab dialect's `A^3`)",
    example=("matpow(X, 3)", "X")))


# ---- diag: a vector to a diagonal matrix; diagonal: a matrix's diagonal

def _diag_simplify(x):
    if type(x) is E.Expand and x.arg.rank == 0:  # diag(z𝟏) = zI
        n = S.resolve(x.shape[0])
        return E.mul(E.expand(x.arg, (n, n)), E.eye(n))
    return None


def _diagonal_simplify(x):
    if type(x) is E.Call and x.op is DIAG:
        return x.args[0]
    if type(x) is E.Eye:
        return E.ones((x.n,))
    return None


def _is_diag(e):
    return type(e) is E.Call and e.op is DIAG


def _diag_pair(a, b):
    """The identities of a diagonal matrix in a product."""
    # 1ᵀ diag(x) = xᵀ and diag(x) 1 = x
    if _is_diag(b) and a.rank == 2 and E.is_one(a) and S.resolve(a.shape[0]) == 1:
        return E.transpose(b.args[0])
    if _is_diag(a) and b.rank == 1 and E.is_one(b):
        return a.args[0]
    # diag(x) diag(y) = diag(x ⊙ y)
    if _is_diag(a) and _is_diag(b):
        return E.call(DIAG, E.mul(a.args[0], b.args[0]))
    # diag(x) v = x ⊙ v for a vector v
    if _is_diag(a) and b.rank == 1:
        return E.mul(a.args[0], b)
    # vᵀ diag(x) = (v ⊙ x)ᵀ
    if _is_diag(b) and type(a) is E.Transpose and a.arg.rank == 1:
        return E.transpose(E.mul(a.arg, b.args[0]))
    return None


DIAG = register(Op(
    name="diag", arity=1, category="vector",
    shape=needs(lambda x: x.rank == 1, "a vector or a square matrix", "diag",
                lambda x: (S.resolve(x.shape[0]), S.resolve(x.shape[0]))),
    numpy=lambda x: np.diag(np.asarray(x, dtype=float)), linear=True,
    transpose=lambda a, g: E.call(DIAGONAL, g), index=lambda a: ("i->ii", None),
    rule="diagonal matrix (linear)",
    doc="d diag(x) = diag(dx)", simplify=_diag_simplify, products=(_diag_pair,),
    symmetric=True, code={"*": "{xp}.diag({0})"},
    sympy=lambda kit, node, args: kit.diag_matrix(args[0]),
    explicit=lambda sp, args, sign: sp.diag(*list(args[0])), sympy_match=_match("DiagMatrix"),
    latex=Form(r"\operatorname{diag}"), applies="vector function",
    example=("sum(diag(x) @ y)", "x")))

DIAGONAL = register(Op(
    name="diagonal", arity=1, category="matrix",
    shape=square("diag", lambda x: (S.resolve(x.shape[0]),)),
    numpy=lambda x: np.diag(np.asarray(x, dtype=float)).copy(), linear=True,
    transpose=lambda a, g: E.call(DIAG, g), index=lambda a: ("ii->i", None),
    rule="diagonal of a matrix (linear)",
    doc="d diag(X) = diag(dX)", simplify=_diagonal_simplify,
    code={"*": "{xp}.diagonal({0})"},
    sympy=lambda kit, node, args: kit.diagonal_of(args[0]),
    explicit=lambda sp, args, sign: sp.Matrix([[args[0][i, i]] for i in range(args[0].shape[0])]),
    sympy_match=_match("DiagonalOf"),
    text="diag", public=False, unicode=Form("diag"), latex=Form(r"\operatorname{diag}"),
    applies="matrix function", example=("sum(diag(X))", "X")))
