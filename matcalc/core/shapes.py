"""Shapes, dimensions, the naming convention and dimension inference by unification.

A shape is a tuple of dimensions: ``()`` a scalar, ``(n,)`` a (column) vector,
``(m, n)`` a matrix. A dimension is a positive ``int`` or a ``str`` symbol.
While an expression is being parsed, undeclared dimensions are unknowns, strings
that start with ``?``; a :class:`Unifier` ties them together and, at the end,
gives them readable names.
"""
from __future__ import annotations

import contextvars
import itertools
import re
from typing import Iterable, Iterator, Mapping, Union

from ..errors import ShapeError, UsageError, quote

Dim = Union[int, str]
Shape = tuple  # tuple[Dim, ...] of length 0, 1 or 2

GREEK = frozenset(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron "
    "pi rho sigma tau upsilon phi chi psi omega".split()
)
_FRESH = ["n", "m", "p", "q", "r", "s", "t", "k", "l", "d"]


# A name of the language (the grammar's NAME): a Latin or Greek letter, then letters,
# digits and underscores. Nothing else can name a variable, from any entry point.
_LETTERS = "A-Za-z\u0391-\u03a1\u03a3-\u03a9\u03b1-\u03c9"
NAME_RE = re.compile(f"[{_LETTERS}][{_LETTERS}0-9_]*")
# Names the printers make for intermediates also carry subscript digits (u₁).
_INTERNAL_RE = re.compile(f"[{_LETTERS}][{_LETTERS}0-9_\u2080-\u2089]*")
DIM_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_UNKNOWN_RE = re.compile(r"\?[0-9]+")
MAX_NAME = 100


def check_name(name: object, what: str = "name", internal: bool = False) -> str:
    """``name`` if it is a name of the language, else UsageError."""
    pattern = _INTERNAL_RE if internal else NAME_RE
    if not isinstance(name, str):
        raise UsageError(f"a {what} must be a string, not {type(name).__name__}")
    if len(name) > MAX_NAME or not pattern.fullmatch(name):
        raise UsageError(f"bad {what} {quote(name)}: use a letter followed by letters, "
                         f"digits or _ (at most {MAX_NAME} characters)")
    return name


def check_dim(d: object) -> None:
    """A dimension is a positive int or a name (an unknown ``?k`` while parsing)."""
    if isinstance(d, bool) or not isinstance(d, (int, str)):
        raise UsageError(f"a dimension must be a name or a positive integer, not {d!r}")
    if isinstance(d, int):
        if d <= 0:
            raise UsageError(f"dimension {d} must be positive")
    elif len(d) > MAX_NAME or not (DIM_RE.fullmatch(d) or _UNKNOWN_RE.fullmatch(d)):
        raise UsageError(f"bad dimension {quote(d)}: use a name like n or a positive integer")


def is_unknown(d: Dim) -> bool:
    return isinstance(d, str) and d.startswith("?")


def dim_str(d: Dim) -> str:
    return str(d)


def shape_str(shape: Shape) -> str:
    """Human form of a shape: ``scalar``, ``n``, ``m×n``."""
    if len(shape) == 0:
        return "scalar"
    return "×".join(dim_str(d) for d in shape)


def kind_of(shape: Shape) -> str:
    if len(shape) == 0:
        return "scalar"
    if len(shape) == 1:
        return "vector"
    if shape[0] == 1:
        return "row vector"
    return "matrix"


def describe(shape: Shape) -> str:
    """``vector (n)``, ``matrix (m×n)``, ``scalar``."""
    k = kind_of(shape)
    return k if k == "scalar" else f"{k} ({shape_str(shape)})"


def convention_rank(name: str) -> int:
    """Rank given by the naming convention of matrixcalculus.org.

    Lower-case names starting with a-g and Greek names are scalars, other
    lower-case names vectors, upper-case names matrices: an upper-case Greek name
    (``Sigma``, ``Σ``, ``Lambda``) is a matrix, as a covariance Σ is.
    """
    first = name[0]
    if first.isupper():
        return 2
    if name in GREEK or re.match(r"[\u0370-\u03ff]", first):
        return 0
    if "a" <= first <= "g":
        return 0
    return 1


def _parse_dim(text: str, where: str, strip: bool = True) -> Dim:
    text = text.strip() if strip else text
    if re.fullmatch(r"[0-9]{1,18}", text):
        value = int(text)
        if value <= 0:
            raise UsageError(f"dimension {quote(text)} in {where} must be positive")
        return value
    if text in STRUCTURES:
        raise UsageError(f"{text} in {where} is a structure, not a dimension: it goes "
                         f"last, e.g. n,n,{text}" if text != PROB else
                         f"{text} in {where} is a structure, not a dimension: it goes "
                         f"last, e.g. n,{text}")
    if len(text) <= MAX_NAME and DIM_RE.fullmatch(text):
        return text
    raise UsageError(f"bad dimension {quote(text)} in {where}: use a name like n or a "
                     f"positive integer")


# ---- declared structure: a property of a variable, declared with its shape

SYM, SPD, PROB = "sym", "spd", "prob"
STRUCTURES = (SYM, SPD, PROB)
# how each is written in messages and listings ("S: symmetric matrix (n×n)")
STRUCTURE_NAMES = {SYM: "symmetric", SPD: "symmetric positive definite", PROB: "probability"}
SYMMETRIC = (SYM, SPD)   # the structures whose transpose is the matrix itself


def check_structure(structure: object, shape: Shape, where: str = "a variable") -> None:
    """``structure`` (None, sym, spd, prob) fits ``shape``, else UsageError: sym and spd
    need a square matrix, prob a vector (or a matrix: each row a probability vector,
    as the one-hot rows of a batch of labels)."""
    if structure is None:
        return
    if structure not in STRUCTURES:
        raise UsageError(f"unknown structure {quote(structure)} in {where}: use one of "
                         f"{', '.join(STRUCTURES)}")
    name = STRUCTURE_NAMES[structure]
    if structure in SYMMETRIC:
        if len(shape) != 2 or resolve(shape[0]) != resolve(shape[1]):
            n = dim_str(shape[0]) if shape else "n"
            raise UsageError(f"{structure} ({name}) in {where} needs a square matrix "
                             f"(e.g. {n},{n},{structure}), not a {describe(shape)}")
    elif len(shape) not in (1, 2):
        raise UsageError(f"{structure} (a {name} vector, entries summing to 1) in {where} "
                         f"needs a vector (e.g. n,{structure}) or a matrix whose rows are "
                         f"(N,k,{structure}), not a {describe(shape)}")


def describe_var(shape: Shape, structure: object = None) -> str:
    """``describe`` with the declared structure: ``symmetric matrix (n×n)``,
    ``probability vector (n)``."""
    text = describe(shape)
    if structure == PROB and len(shape) == 2:
        return f"{text} whose rows are probability vectors"
    return f"{STRUCTURE_NAMES[structure]} {text}" if structure in STRUCTURE_NAMES else text


def spec_of(shape: Shape, structure: object = None) -> tuple:
    """The declaration (a tuple ``parse_declaration`` reads back) of a shape and a
    structure: ``("n", "n", "sym")``."""
    return tuple(shape) + ((structure,) if structure is not None else ())


def _split_structure(spec: object) -> tuple[object, object]:
    """(the shape part of a declaration, its structure word or None): the word is the
    last item of a tuple, or the last comma-separated part of a string."""
    if isinstance(spec, (tuple, list)) and spec and isinstance(spec[-1], str) \
            and spec[-1].strip() in STRUCTURES:
        return tuple(spec[:-1]), spec[-1].strip()
    if isinstance(spec, str) and "," in spec:
        rest, _, word = spec.strip().rpartition(",")
        if word.strip() in STRUCTURES:
            return rest.strip() or (), word.strip()
    if isinstance(spec, str) and spec.strip() in STRUCTURES:
        return (), spec.strip()  # "sym" alone: no dimensions, refused below
    return spec, None


def parse_declaration(spec: object, where: str = "shape") -> tuple[Shape, object]:
    """A declaration: a shape spec (``parse_shape_spec``), optionally followed by a
    structure, ``sym`` (symmetric), ``spd`` (symmetric positive definite) or ``prob`` (a
    probability vector): ``"n,n,sym"``, ``("n", "n", "spd")``, ``"n,prob"``,
    ``"nxn,sym"``. Returns (shape, structure or None)."""
    rest, structure = _split_structure(spec)
    shape = parse_shape_spec(rest, where)
    check_structure(structure, shape, where)
    return shape, structure


def parse_shape_spec(spec: object, where: str = "shape") -> Shape:
    """Accept ``("m", "n")``, ``"m,n"``, ``"mxn"``, ``"3,4"``, ``"scalar"``, ``()``, ``3``."""
    if isinstance(spec, (tuple, list)):
        dims = []
        for d in spec:
            if isinstance(d, bool) or not isinstance(d, (int, str)):
                raise UsageError(f"bad dimension {d!r} in {where}: use a name like n or a "
                                 f"positive integer")
            if isinstance(d, int) and d <= 0:
                raise UsageError(f"dimension {d} in {where} must be positive")
            dims.append(d if isinstance(d, int) else _parse_dim(d, where, strip=False))
    elif isinstance(spec, int) and not isinstance(spec, bool):
        dims = [_parse_dim(str(spec), where)]
    elif isinstance(spec, str):
        text = spec.strip()
        if text in ("", "scalar", "()"):
            return ()
        if "," in text:
            parts = text.split(",")
        elif text.count("x") + text.count("×") == 1 and re.fullmatch(r"\w+[x×]\w+", text):
            # "mxn", "3x4", "m×n"; a name with an x in it needs commas ("nx,ny")
            parts = re.split("[x×]", text)
        else:
            parts = [text]
        dims = [_parse_dim(p, where) for p in parts]
    else:
        raise UsageError(f"bad shape {quote(spec)} in {where}")
    if len(dims) > 2:
        raise UsageError(f"shape {quote(spec)} in {where} has {len(dims)} dimensions; at most 2")
    return tuple(dims)


def normalize_declarations(shapes: Mapping[str, object] | None) -> dict[str, tuple]:
    """``shapes`` (name -> declaration) as name -> (shape, structure or None)."""
    if shapes is None:
        return {}
    if not isinstance(shapes, Mapping):
        raise UsageError(f"shapes must be a dict of name -> shape, e.g. "
                         f"{{'x': ('n',)}}, not a {type(shapes).__name__}")
    out = {}
    for name, spec in shapes.items():
        check_name(name, "variable name in shapes")
        out[name] = parse_declaration(spec, where=f"the shape of {name}")
    return out


def normalize_shapes(shapes: Mapping[str, object] | None) -> dict[str, Shape]:
    """``shapes`` (name -> declaration) as name -> shape (the structures checked, then
    left out: ``normalize_declarations`` keeps them)."""
    return {name: shape for name, (shape, _) in normalize_declarations(shapes).items()}


class Unifier:
    """Union-find over dimensions. Declared dims (symbols, ints) are rigid."""

    def __init__(self) -> None:
        self.parent: dict[str, Dim] = {}
        self.counter = 0
        self.order: list[str] = []  # unknowns in order of creation

    def fresh(self) -> str:
        self.counter += 1
        name = f"?{self.counter}"
        self.order.append(name)
        return name

    def find(self, d: Dim) -> Dim:
        path = []
        while is_unknown(d) and d in self.parent:
            path.append(d)
            d = self.parent[d]
        for p in path:
            self.parent[p] = d
        return d

    def unify(self, a: Dim, b: Dim) -> bool:
        a, b = self.find(a), self.find(b)
        if a == b:
            return True
        if is_unknown(a):
            self.parent[a] = b
            return True
        if is_unknown(b):
            self.parent[b] = a
            return True
        return False


_ACTIVE: contextvars.ContextVar[Unifier | None] = contextvars.ContextVar("unifier", default=None)


def active_unifier() -> Unifier | None:
    return _ACTIVE.get()


class inference:
    """Context manager making ``unifier`` the one used by the smart constructors."""

    def __init__(self, unifier: Unifier):
        self.unifier = unifier

    def __enter__(self) -> Unifier:
        self.token = _ACTIVE.set(self.unifier)
        return self.unifier

    def __exit__(self, *exc) -> None:
        _ACTIVE.reset(self.token)


def same_dim(a: Dim, b: Dim) -> bool:
    """Are two dims equal (unifying unknowns while parsing)?"""
    u = _ACTIVE.get()
    if u is None:
        return a == b
    return u.unify(a, b)


def resolve(d: Dim) -> Dim:
    u = _ACTIVE.get()
    return u.find(d) if u is not None else d


def unify_shapes(a: Shape, b: Shape) -> bool:
    return len(a) == len(b) and all(same_dim(x, y) for x, y in zip(a, b))


def _broadcast_dim(x: Dim, y: Dim) -> Dim:
    rx, ry = resolve(x), resolve(y)
    if rx == 1 or ry == 1:  # a literal 1 stretches (an unknown is never made 1 by it)
        return ry if rx == 1 else rx
    if same_dim(x, y):
        return rx
    raise ShapeError(f"dimensions {rx} and {ry} differ")


def broadcast_shapes(a: Shape, b: Shape) -> Shape:
    """The shape of ``a ∘ b`` for an element-wise operation, as NumPy broadcasts: a
    scalar goes with anything, a size-1 dimension stretches, a vector ``(n,)`` is read
    as the row ``(1, n)`` against a matrix. A vector and a row vector are refused (a
    vector is a column: which one is meant is not clear). Raises ShapeError."""
    a, b = resolved(a), resolved(b)
    if not a:
        return b
    if not b:
        return a
    if len(a) == len(b):
        return tuple(_broadcast_dim(x, y) for x, y in zip(a, b))
    vec, mat = (a, b) if len(a) == 1 else (b, a)
    if resolve(mat[0]) == 1:
        same_dim(vec[0], mat[1])  # x' + y: the lengths are tied all the same
        raise ShapeError("a vector is a column: transpose one of them")
    return (mat[0], _broadcast_dim(vec[0], mat[1]))


def check_same(a: Shape, b: Shape, what: str, left: str, right: str) -> None:
    if not unify_shapes(a, b):
        raise ShapeError(
            f"cannot {what} {left}: {describe(resolved(a))} and {right}: {describe(resolved(b))}")


def resolved(shape: Shape) -> Shape:
    return tuple(resolve(d) for d in shape)


def fresh_names(unknowns: Iterable[str], taken: set[str]) -> dict[str, str]:
    """Readable, deterministic names for unknown dims, avoiding ``taken``."""
    names: dict[str, str] = {}
    pool = _name_pool()
    for u in unknowns:
        if u in names:
            continue
        name = next(pool)
        while name in taken:
            name = next(pool)
        names[u] = name
        taken.add(name)
    return names


def _name_pool() -> Iterator[str]:
    """n, m, p, ..., then n1, n2, ... without end (made as they are needed)."""
    yield from _FRESH
    yield from (f"n{i}" for i in itertools.count(1))


class NoMatrixForm(Exception):
    """No plain matrix shows this Jacobian (raised by the Jacobian rules, caught where
    the derivative is identified: the differential is kept instead)."""


def vector_length(shape: tuple):
    """Length of a scalar, vector or row vector (a Jacobian's row count); a matrix
    has none (NoMatrixForm)."""
    if len(shape) == 0:
        return 1
    if len(shape) == 1:
        return shape[0]
    if resolve(shape[0]) == 1:
        return shape[1]
    raise NoMatrixForm
