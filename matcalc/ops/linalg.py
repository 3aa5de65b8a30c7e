"""Matrix functions (trace, determinant, inverse, diagonal): each one ``Op`` record."""
from __future__ import annotations

import numpy as np

from ..core import expr as E
from ..core import shapes as S
from ..errors import ShapeError
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
    return None


def _inverse_pair(a, b):
    """A⁻¹ A = I and A A⁻¹ = I."""
    if type(a) is E.Call and a.op is INV and a.args[0] is b:
        return E.eye(S.resolve(b.shape[0]))
    if type(b) is E.Call and b.op is INV and b.args[0] is a:
        return E.eye(S.resolve(a.shape[0]))
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
    rule="trace (linear)", doc="d tr(X) = tr(dX)", simplify=_tr_simplify,
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
    sympy=lambda kit, node, args: kit.sp.Determinant(args[0]),
    explicit=lambda sp, args, sign: _det(sp, args[0]), sympy_match=_match("Determinant"),
    latex=Form(r"\det"), applies="matrix function", example=("det(X)", "X")))

LOGDET = register(Op(
    name="logdet", arity=1, category="matrix", shape=square("logdet", lambda x: ()),
    numpy=lambda x: np.linalg.slogdet(x)[1], jvp=_logdet_jvp, rule="log-determinant",
    doc="d log|det X| = tr(X⁻¹ dX)", domain="invertible",
    code={"*": "{xp}.linalg.slogdet({0})[1]"},
    sympy=lambda kit, node, args: kit.sp.log(kit.sp.Determinant(args[0])),
    explicit=lambda sp, args, sign: sp.log(_det(sp, args[0])), sympy_match=_logdet_match,
    latex=Form(r"\log\det"), applies="matrix function", example=("logdet(X)", "X")))

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
    transpose=lambda a, g: E.call(DIAGONAL, g), rule="diagonal matrix (linear)",
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
    transpose=lambda a, g: E.call(DIAG, g), rule="diagonal of a matrix (linear)",
    doc="d diag(X) = diag(dX)", simplify=_diagonal_simplify,
    code={"*": "{xp}.diagonal({0})"},
    sympy=lambda kit, node, args: kit.diagonal_of(args[0]),
    explicit=lambda sp, args, sign: sp.Matrix([[args[0][i, i]] for i in range(args[0].shape[0])]),
    sympy_match=_match("DiagonalOf"),
    text="diag", public=False, unicode=Form("diag"), latex=Form(r"\operatorname{diag}"),
    applies="matrix function", example=("sum(diag(X))", "X")))
