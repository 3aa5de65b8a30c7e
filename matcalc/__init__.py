"""matcalc: symbolic matrix calculus, with the rules of Parr & Howard's
"The Matrix Calculus You Need For Deep Learning" and the Matrix Cookbook."""
import sys as _sys

from .errors import DiffError, EvalError, MatcalcError, ParseError, ShapeError, UsageError
from .expr import Expr
from .parser import parse
from .evaluate import evaluate
from .derivative import Derivative, diff
from .codegen import lambdify
from .sympy_bridge import from_sympy

__version__ = "0.1.0"

# The parser, the differentiator, the evaluator and the printers walk trees without
# recursing; code generation and the SymPy bridge recurse, and trees are up to
# expr.MAX_DEPTH (4000) deep.
if _sys.getrecursionlimit() < 20000:
    _sys.setrecursionlimit(20000)

__all__ = [
    "parse", "evaluate", "diff", "Derivative", "Expr", "lambdify", "from_sympy",
    "MatcalcError", "ParseError", "ShapeError", "DiffError", "EvalError", "UsageError",
    "__version__",
]
