"""matcalc: symbolic matrix calculus, with the rules of Parr & Howard's
"The Matrix Calculus You Need For Deep Learning" and the Matrix Cookbook."""
from . import limits, ops
from .errors import (DiffError, EvalError, LimitError, MatcalcError, MatcalcWarning, ParseError,
                     ShapeError, UsageError)
from .core.expr import Expr
from .parser import parse
from .backends.numeric import evaluate
from .calculus.derivative import diff
from .calculus.result import Derivative, Kind
from .backends.codegen import lambdify
from .backends.sympy_bridge import from_sympy

__version__ = "0.1.0"

__all__ = [
    "parse", "evaluate", "diff", "Derivative", "Kind", "Expr", "lambdify", "from_sympy",
    "MatcalcError", "MatcalcWarning", "ParseError", "ShapeError", "DiffError", "EvalError",
    "UsageError", "LimitError", "limits", "ops",
    "__version__",
]
