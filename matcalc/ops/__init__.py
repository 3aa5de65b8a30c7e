"""The operations of the language: one ``Op`` record per function.

Importing this package registers matcalc's own functions; ``register`` adds one at
run time (docs/extending.md). The records are also importable by name (``EXP``,
``SUM``, ``INV``...) for code that builds a particular function.
"""
from ..core.shapes import NoMatrixForm  # raised by an op's jacobian rule
from .registry import REGISTRY, Form, Op, lookup, register, unregister
from .elementwise import (ABS, COS, EXP, LOG, MAX, MIN, RELU, SIGMOID, SIGN, SIN,
                          SOFTPLUS, SQRT, STEP, TAN, TANH)
from .reductions import LOGSUMEXP, MEAN, NORM1, NORM2, SOFTMAX, SUM
from .linalg import DET, DIAG, DIAGONAL, INV, LOGDET, MATPOW, TR
from .axes import (AXIS_OPS, EQUAL, STATISTICS, STD, VAR, along, axis_sum,
                   base_of, reduce_call)
from .sugar import (ALIASES, CONSTANTS, FILLED, SUGAR, is_function_name, known_names,
                    spelled_ops)

__all__ = [
    "REGISTRY", "Form", "NoMatrixForm", "Op", "lookup", "register", "unregister",
    "ALIASES", "CONSTANTS", "FILLED", "SUGAR", "is_function_name", "known_names",
    "spelled_ops",
    "ABS", "COS", "EXP", "LOG", "MAX", "MIN", "RELU", "SIGMOID", "SIGN", "SIN", "SOFTPLUS",
    "SQRT", "STEP", "TAN", "TANH", "LOGSUMEXP", "MEAN", "NORM1", "NORM2", "SOFTMAX", "SUM",
    "DET", "DIAG", "DIAGONAL", "INV", "LOGDET", "MATPOW", "TR",
    "AXIS_OPS", "EQUAL", "STATISTICS", "STD", "VAR", "along", "axis_sum",
    "base_of", "reduce_call",
]
