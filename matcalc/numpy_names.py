"""NumPy's spellings that the parser reads: ``np.sum``, ``np.linalg.inv``, ``X.sum(axis=1)``.

Data only: each dotted name (``np.`` and ``numpy.`` are one prefix, keyed ``np.``) and
each method maps to ``(kind, target)``; ``matcalc/parser.py`` reads the arguments as
the kind says and builds matcalc's own node, so that NumPy text parses to the very node
its matcalc spelling gives. The keys are spelled with their prefix (``np.sum``,
``.sum``): a function of the language is named only in ``matcalc/ops``.

Kinds:

- ``func``: the op (a record of ``matcalc.ops``), positional arguments only;
- ``reduce``: a reduction, ``op(x, axis=..., keepdims=...)``; NumPy's second
  positional argument is the axis (``np.sum(X, 0)``, ``X.sum(1)``);
- ``np_norm``: ``np.linalg.norm(x, axis=..., keepdims=...)``, the 2-norm (Frobenius for
  a matrix); its second positional argument would be ``ord``, which is refused;
- ``np_dot``: NumPy's ``dot``: a product with a scalar, the dot product of two vectors,
  else ``@``; ``matmul``: ``@``; ``outer``: ``x @ y'`` of two vectors;
- ``np_diag``: a vector's diagonal matrix, a matrix's diagonal; ``transpose``;
- ``const``: ``ones``/``zeros``/``eye`` (target: the constant's name in
  ``ops.CONSTANTS``), their size a dimension, a whole number, or a tuple of them;
- ``slogdet``: the pair (sign, log |det|), of which only ``[1]`` is taken: matcalc's
  logdet (the target);
- ``module`` (``np.linalg``) and ``newaxis`` (``np.newaxis``, only in a subscript).
"""
from __future__ import annotations

import difflib

from . import ops

# The names that start a NumPy dotted name, and the prefix they are keyed by.
MODULES = {"np": "np", "numpy": "np"}

FUNCTIONS: dict[str, tuple] = {
    "np.linalg": ("module", None),
    "np.newaxis": ("newaxis", None),
    # reductions: np.sum(X), np.sum(X, axis=0), np.sum(X, 0), keepdims=True
    "np.sum": ("reduce", ops.SUM),
    "np.mean": ("reduce", ops.MEAN),
    "np.max": ("reduce", ops.MAX),
    "np.min": ("reduce", ops.MIN),
    "np.amax": ("reduce", ops.MAX),
    "np.amin": ("reduce", ops.MIN),
    "np.var": ("reduce", ops.VAR),     # written with mean: NumPy's ddof 0
    "np.std": ("reduce", ops.STD),
    # element-wise
    "np.exp": ("func", ops.EXP),
    "np.log": ("func", ops.LOG),
    "np.tanh": ("func", ops.TANH),
    "np.sin": ("func", ops.SIN),
    "np.cos": ("func", ops.COS),
    "np.tan": ("func", ops.TAN),
    "np.abs": ("func", ops.ABS),
    "np.absolute": ("func", ops.ABS),
    "np.sqrt": ("func", ops.SQRT),
    "np.sign": ("func", ops.SIGN),
    "np.maximum": ("func", ops.MAX),   # element-wise, of two arrays
    "np.minimum": ("func", ops.MIN),
    # products
    "np.dot": ("np_dot", None),
    "np.matmul": ("matmul", None),
    "np.outer": ("outer", None),
    # linear algebra
    "np.trace": ("func", ops.TR),
    "np.diag": ("np_diag", None),
    "np.transpose": ("transpose", None),
    "np.linalg.inv": ("func", ops.INV),
    "np.linalg.det": ("func", ops.DET),
    "np.linalg.norm": ("np_norm", ops.NORM2),
    "np.linalg.slogdet": ("slogdet", ops.LOGDET),
    "np.linalg.matrix_power": ("func", ops.MATPOW),
    # constants
    "np.ones": ("const", "ones"),
    "np.zeros": ("const", "zeros"),
    "np.eye": ("const", "eye"),
}

# Methods of an array: X.sum(axis=1), x.dot(y), X.transpose(). (.T is the transpose.)
METHODS: dict[str, tuple] = {
    ".sum": ("reduce", ops.SUM),
    ".mean": ("reduce", ops.MEAN),
    ".max": ("reduce", ops.MAX),
    ".min": ("reduce", ops.MIN),
    ".var": ("reduce", ops.VAR),
    ".std": ("reduce", ops.STD),
    ".dot": ("np_dot", None),
    ".transpose": ("transpose", None),
    ".trace": ("func", ops.TR),
    ".diagonal": ("func", ops.DIAGONAL),
}


def closest(key: str, table=FUNCTIONS, n: int = 4, exclude: str = "") -> list[str]:
    """The known keys whose last part is closest to ``key``'s (``np.summ`` -> ``np.sum``;
    ``np.inv`` -> ``np.linalg.inv``), best first."""
    last = key.rsplit(".", 1)[-1]
    scored = []
    for k in table:
        if k == exclude:
            continue
        score = difflib.SequenceMatcher(None, last, k.rsplit(".", 1)[-1]).ratio()
        if score >= 0.6:
            scored.append((-score, k))
    return [k for _, k in sorted(scored)[:n]]
