"""The grammar's alias table: names the parser accepts that are not one op each.

Aliases (``trace`` is ``tr``), sugar that builds other nodes (``dot``; ``diag`` of
a matrix is its diagonal), and constants whose arguments are dimensions.
"""
from __future__ import annotations

from ..core import expr as E
from ..core import shapes as S
from ..errors import ShapeError
from .linalg import DIAG, DIAGONAL
from .registry import REGISTRY

ALIASES = {"trace": "tr", "norm": "norm2", "matrix_power": "matpow", "σ": "sigmoid",
           "∑": "sum", "ln": "log"}


def _dot(x, y):
    if x.rank != 1 or y.rank != 1:
        raise ShapeError(f"dot() needs two vectors, got a {S.describe(S.resolved(x.shape))} "
                         f"and a {S.describe(S.resolved(y.shape))}; the matrix product is @")
    return E.matmul_op(x, y)


def _diag(x):
    """diag(x) of a vector is a diagonal matrix; diag(A) of a matrix, its diagonal."""
    return E.call(DIAGONAL if x.rank == 2 else DIAG, x)


SUGAR = {"dot": (2, _dot), "diag": (1, _diag)}

# Constants whose arguments are dimensions, not expressions: ones(n), zeros(m, n), eye(n).
CONSTANTS = {
    "ones": (1, 2, lambda dims: E.ones(dims)),
    "zeros": (1, 2, lambda dims: E.zeros(dims)),
    "eye": (1, 1, lambda dims: E.eye(dims[0])),
}

# MATLAB dialect: a constant filled to the shape the context gives (rank).
FILLED = {"vector": 1, "matrix": 2}


def spelled_ops() -> dict:
    """The registered ops a user can write by their own name."""
    return {name: op for name, op in REGISTRY.items() if op.public}


def known_names() -> list[str]:
    """The function names the language lists (aliases aside)."""
    from .axes import STATISTICS
    return sorted(set(spelled_ops()) | set(SUGAR) | set(CONSTANTS) | set(STATISTICS))


def is_function_name(name: str) -> bool:
    """Is ``name`` a function of the language (or an alias)? (``known_names`` without
    building the list: the parser asks this for every undeclared name.)"""
    from .axes import STATISTICS
    op = REGISTRY.get(name)
    return (op is not None and op.public) or name in SUGAR or name in CONSTANTS \
        or name in STATISTICS or name in ALIASES
