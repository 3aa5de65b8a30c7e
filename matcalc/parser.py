"""Text -> shaped expression: the Lark grammar, the Transformer, error translation.

The LALR parser runs the Transformer inline (no parse tree is built and nothing
recurses), so 10,000 nested parentheses or a 100,000-character sum parse in well
under a second. Undeclared dimensions are unknowns unified while the expression is
built (``shapes.Unifier``); at the end they get readable names and the tree is
rebuilt with them.
"""
from __future__ import annotations

import contextvars
import re
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from .core import expr as E
from . import limits
from .core import shapes as S
from .errors import (LimitError, MatcalcError, ParseError, ShapeError, UsageError,
                     declaration, did_you_mean, quote, spelled, warn)
from . import ops
from . import numpy_names as NP

DIALECTS = ("default", "matlab")

_STATE: contextvars.ContextVar["_State"] = contextvars.ContextVar("parse_state")

# What a syntax error says the parser expected: the operators as one group, the other
# tokens by name, in this order.
_OPERATORS = {
    "PLUS": "+", "MINUS": "-", "STAR": "*", "SLASH": "/", "AT": "@", "POW": "^",
    "TICK": "'", "DOTSTAR": ".*", "DOTSLASH": "./", "DOTPOW": ".^", "ODOT": "⊙",
    "OSLASH": "⊘", "CDOT": "·",
}
_TOKEN_NAMES = {
    "NAME": "a name", "NUMBER": "a number", "LPAR": "'('", "LSQB": "'['", "DOT": "'.'",
    "RPAR": "')'", "RSQB": "']'", "COMMA": "','", "COLON": "':'", "EQUAL": "'='",
    "NONE": "None", "TRUE": "True", "FALSE": "False", "$END": "the end of the input",
}


def grammar_text() -> str:
    """The grammar: from the installed package, or from the source tree."""
    try:
        from importlib.resources import files
        return (files("matcalc.grammar") / "matcalc.lark").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        here = Path(__file__).resolve().parent.parent / "grammar" / "matcalc.lark"
        return here.read_text(encoding="utf-8")


class _Name:
    """A bare name, resolved to a variable or a dimension size once it is used."""
    __slots__ = ("token",)

    def __init__(self, token):
        self.token = token


class _Partial:
    """A value the grammar builds that is not an expression: valid only where the
    parser looks for it (a tuple as a shape, ``np.linalg`` before a name, the pair of
    ``slogdet`` before ``[1]``); anywhere else, ``error()``."""
    __slots__ = ("token",)

    def error(self) -> ParseError:
        raise NotImplementedError


class _Tuple(_Partial):
    """``(m, n)``: NumPy's shape argument, ``np.ones((m, n))``."""
    __slots__ = ("items",)

    def __init__(self, items, token):
        self.items, self.token = items, token

    def error(self):
        return ParseError("a tuple ( , ) is only allowed as a shape, as in np.ones((m, n))",
                          _pos(self.token))


class _Module(_Partial):
    """``np``, ``numpy``, ``np.linalg``: the start of a NumPy dotted name."""
    __slots__ = ("key", "spelled")

    def __init__(self, key, spelled, token):
        self.key, self.spelled, self.token = key, spelled, token

    def error(self):
        return ParseError(f"{self.spelled} is a module, not a value: call one of its "
                          f"functions, {self.spelled}.name(...)", _pos(self.token))


class _Pair(_Partial):
    """``np.linalg.slogdet(X)``: (sign, log |det X|); only ``[1]`` is taken."""
    __slots__ = ("value", "spelled")

    def __init__(self, value, spelled, token):
        self.value, self.spelled, self.token = value, spelled, token

    def error(self):
        return ParseError(f"{self.spelled}(...) is a pair (sign, log |det|): take its [1], "
                          f"log |det| (matcalc's logdet)", _pos(self.token))


class _Kwarg:
    """``axis=0``, ``keepdims=True`` in a call, its value checked."""
    __slots__ = ("name", "token", "value", "value_token")

    def __init__(self, name, token, value, value_token):
        self.name, self.token, self.value, self.value_token = name, token, value, value_token


class _Bound:
    """A subscript's index or slice bound: an int (possibly negative) or a name."""
    __slots__ = ("value", "token")

    def __init__(self, value, token):
        self.value, self.token = value, token


class _Item:
    """One subscript item as ``E.subscript`` takes it: an int, a slice, or None."""
    __slots__ = ("value", "token")

    def __init__(self, value, token):
        self.value, self.token = value, token


_KEYWORDS = ("axis", "keepdims")
# Python's constants: valid as keyword values (axis=None, keepdims=True) and as a new
# axis in a subscript (x[:, None]); the lexer reads them as names elsewhere.
_CONSTANT_NAMES = ("None", "True", "False")
# The functions that take axis= and keepdims=
_AXIS_OPS = {op.name: op for op in (ops.SUM, ops.MEAN, ops.MAX, ops.MIN, ops.SOFTMAX,
                                    ops.LOGSUMEXP, ops.NORM2, ops.NORM1, ops.VAR, ops.STD)}


def _pos(tok) -> tuple[int, int] | None:
    line = getattr(tok, "line", None)
    col = getattr(tok, "column", None)
    return (line, col) if line is not None and col is not None else None


class _State:
    def __init__(self, text: str, declared: dict, dialect: str):
        self.text = text
        # name -> shape, and name -> structure (sym, spd, prob) for the structured ones
        self.shapes = {name: shape for name, (shape, _) in declared.items()}
        self.structures = {name: st for name, (_, st) in declared.items() if st is not None}
        self.dialect = dialect
        self.unifier = S.Unifier()
        self.vars: dict[str, E.Expr] = {}
        self.declared_dims = {d for shp in self.shapes.values() for d in shp
                              if isinstance(d, str)}
        self.warnings: list[tuple[str, tuple | None]] = []  # (message, position)

    def warn(self, message: str, tok) -> None:
        self.warnings.append((message, _pos(tok)))


def _lark_transformer():
    from lark import Transformer

    def st() -> _State:
        return _STATE.get()

    expr = _resolve_name

    def at(tok, fn, *args):
        """Run a constructor; an error without a position gets the operator's."""
        try:
            return fn(*args)
        except MatcalcError as err:
            raise err.located(_pos(tok), None)

    def binary(what, fn):
        def method(self, c):
            a, op, b = c
            a, b = expr(a), expr(b)
            return at(op, _named(fn, what), a, b)
        return method

    class T(Transformer):
        def number(self, c):
            return E.num(_number(c[0]))

        def name(self, c):
            return _Name(c[0])

        def group(self, c):
            # (a * b) * c: the parenthesized chain is finished, not continued
            return c[1].finish() if isinstance(c[1], _Pending) else c[1]

        def arglist(self, c):
            return [x for x in c if not _is_token(x, "COMMA")]

        def add(self, c):
            return _push("add", c[0], c[1], expr(c[2]))

        def sub(self, c):
            return _push("add", c[0], c[1], at(c[1], E.neg, expr(c[2])))

        def emul(self, c):
            return _push("mul", c[0], c[1], expr(c[2]))

        def ediv(self, c):
            b = expr(c[2])
            _count_warning(c[0], b, c[1])
            return _push("mul", c[0], c[1], at(c[1], E.power, b, E.num(-1)), b)

        def matmul(self, c):
            return _push("matmul", c[0], c[1], expr(c[2]))

        epow = binary("raise element-wise", _epow)
        cdot = binary("take the dot product of", _cdot)

        def star(self, c):
            a, op, b = c
            b = expr(b)
            if st().dialect == "matlab" and b.rank:
                a_shape = a.shape if isinstance(a, _Pending) else expr(a).shape
                if a_shape:
                    return _push("matmul", a, op, b)
            return _push("mul", a, op, b)

        def slash(self, c):
            a, op, b = c
            b = expr(b)
            if st().dialect == "matlab" and b.rank:
                raise ParseError("'/' by a matrix or vector is not supported: use ./ "
                                 "(element-wise) or inv()", _pos(op))
            _count_warning(a, b, op)
            return _push("mul", a, op, at(op, E.power, b, E.num(-1)), b)

        def caret(self, c):
            a, op, b = c
            a = expr(a)
            if str(op) == "^" and isinstance(b, _Name) and str(b.token) in ("T", "t"):
                _power_by_t(a, b.token)
            b = expr(b)
            if st().dialect == "matlab" and a.rank:
                return at(op, _matrix_power, a, b)
            if str(op) == "^":
                _caret_warning(a, b, op)
            return at(op, _named(_epow, "raise"), a, b)

        def neg(self, c):
            return at(c[0], E.neg, expr(c[1]))

        def pos(self, c):
            return expr(c[1])

        def transpose(self, c):
            return at(c[1], E.transpose, expr(c[0]))

        def subscript(self, c):
            x, lsq, items, _ = c
            if isinstance(x, _Pair):
                return _slogdet_item(x, items)
            x = expr(x)
            if len(items) == 1 and type(items[0].value) is int and x.rank == 1:
                # x[i] past the end of a vector of known length: the caret under i
                i, length = items[0].value, S.resolve(x.shape[0])
                if isinstance(length, int) and not -length <= i < length:
                    raise ShapeError(f"index {i} is out of range for a vector of length "
                                     f"{length}", _pos(items[0].token))
            return at(lsq, E.subscript, x, [it.value for it in items])

        def subscripts(self, c):
            return [x for x in c if not _is_token(x, "COMMA")]

        def subitem(self, c):
            return _subitem(c)

        def bound(self, c):
            if len(c) == 2:  # - NUMBER
                return _Bound(-_integer(c[1]), c[0])
            tok = c[0]
            return _Bound(str(tok) if tok.type == "NAME" else _integer(tok), tok)

        def attribute(self, c):
            target, _, name_tok = c
            return at(name_tok, _attribute, target, name_tok)

        def method0(self, c):
            return self.method([c[0], c[1], c[2], c[3], [], c[4]])

        def method(self, c):
            target, _, name_tok, _, args, _ = c
            return at(name_tok, _method, target, name_tok, args)

        def tuple(self, c):
            return _Tuple([x for x in c[1:-1] if not _is_token(x, "COMMA")], c[0])

        def veclit(self, c):
            return at(c[0], E.veclit, [expr(x) for x in c[1]])

        def call0(self, c):
            return self.call([c[0], c[1], [], c[2]])

        def call(self, c):
            name_tok, lpar, args, _ = c
            if not args or not isinstance(args[-1], _Kwarg):  # no keyword argument
                return at(name_tok, _call, name_tok, args)
            return at(name_tok, _call, name_tok,
                      [a for a in args if not isinstance(a, _Kwarg)],
                      [a for a in args if isinstance(a, _Kwarg)])

        def callargs(self, c):
            out, seen = [], set()
            for i, x in enumerate(c):
                if _is_token(x, "COMMA"):
                    continue
                if isinstance(x, _Kwarg):
                    if x.name in seen:
                        raise ParseError(f"keyword argument {x.name} repeated",
                                         _pos(x.token))
                    seen.add(x.name)
                elif seen:
                    where = x.token if isinstance(x, _Name) else c[i - 1]
                    raise ParseError("a positional argument cannot follow a keyword "
                                     "argument", _pos(where))
                out.append(x)
            return out

        def kwarg(self, c):
            return _kwarg(c[0], c[2])

        def kwvalue(self, c):
            return c

    return T()


def _named(fn, what):
    """Wrap a constructor so that a shape error names the operands."""
    def run(a, b):
        try:
            return fn(a, b)
        except ShapeError as err:
            if err.pos is None and not err.message.startswith("cannot " + what):
                err.message = (f"cannot {what} {_short(a)}: {S.describe(S.resolved(a.shape))} "
                               f"and {_short(b)}: {S.describe(S.resolved(b.shape))} "
                               f"({err.message})")
            raise
    return run


def _short(e: E.Expr) -> str:
    text = str(e)
    return text if len(text) <= 30 else text[:27] + "..."


def _is_token(x, type_: str) -> bool:
    return getattr(x, "type", None) == type_


def _number(tok) -> Fraction:
    """A numeric literal, exactly, within the budgets (limits.max_number_chars, and
    float64's range: a larger literal could not be evaluated)."""
    text = str(tok)
    lim = limits.current()
    if len(text) > lim.max_number_chars:
        raise LimitError(f"the number {text[:20]}... has {len(text):,} characters; at most "
                         f"{lim.max_number_chars} (limits.max_number_chars)", _pos(tok))
    mantissa, _, exponent = text.lower().partition("e")
    if exponent and abs(int(exponent)) > 400 + len(mantissa):
        value = None  # 1e999999999: do not build a 10^999999999 to find out
    else:
        value = Fraction(text)
    if value is None or value > Fraction(lim.max_number):
        if value is None and int(exponent) < 0:
            raise LimitError(f"the number {text} is too small to be told from 0 "
                             f"(write 0)", _pos(tok))
        raise LimitError(f"the number {text} is beyond float64's range (at most "
                         f"{lim.max_number:.4g}, limits.max_number)", _pos(tok))
    return value


def _integer(tok) -> int:
    text = str(tok)
    if not re.fullmatch(r"[0-9]+", text):
        raise ParseError(f"an index must be a whole number, not {quote(text)}", _pos(tok))
    if len(text) > 18:
        raise ParseError(f"index {text[:20]}... is too large", _pos(tok))
    return int(text)


def _epow(a: E.Expr, b: E.Expr) -> E.Expr:
    return E.power(a, b)


def _cdot(a: E.Expr, b: E.Expr) -> E.Expr:
    """``·``: the dot product of two vectors; with a scalar, a product."""
    if a.rank == 0 or b.rank == 0:
        return E.mul(*E.broadcast(a, b, "multiply"))
    return E.matmul_op(a, b)


def _matrix_power(a: E.Expr, b: E.Expr) -> E.Expr:
    k = E.const_value(b)
    if k is None or k.denominator != 1:
        raise ParseError("a matrix power (matlab ^) needs a whole-number exponent; "
                         "use .^ for an element-wise power")
    if a.rank != 2 or not S.same_dim(a.shape[0], a.shape[1]):
        raise ShapeError(f"a matrix power needs a square matrix, not a "
                         f"{S.describe(S.resolved(a.shape))}")
    if abs(k) > 64:
        raise ParseError(f"matrix power {k} is too large (at most 64)")
    k = int(k)
    if k == 0:
        return E.eye(S.resolve(a.shape[0]))
    base = a if k > 0 else E.call(ops.INV, a)
    # A^k is matpow(A, k), A^-k matpow(inv(A), k) (k ≥ 2): one node, not k factors
    return base if abs(k) == 1 else E.call(ops.MATPOW, base, E.num(abs(k)))


def _power_by_t(a: E.Expr, tok) -> None:
    """``x^T``: a power by T. A transpose is almost surely meant: an error when T is not
    declared (the naming convention would make it a matrix, t a vector), a warning when
    it is (a power by it may be meant)."""
    s = _STATE.get()
    name = str(tok)
    base = _operand_text(a)
    hint = f"for the transpose write {base}' or {base}.T"
    if name not in s.shapes and name not in s.declared_dims:
        raise ParseError(f"{base}^{name} is a power by {name}, not a transpose: {hint}",
                         _pos(tok))
    s.warn(f"{base}^{name} is a power by the declared {name}, not a transpose; {hint}", tok)


def _count_warning(a, b: E.Expr, tok) -> None:
    """``sum(x) / N``: a scalar computed from arrays divided by an undeclared name that
    the naming convention made a matrix (or ``n`` a vector): the quotient is that array,
    where a count (a number) is almost surely meant."""
    s = _STATE.get()
    if type(b) is not E.Var or not b.rank or b.name in s.shapes:
        return
    if not isinstance(a, _Pending):
        a = _resolve_name(a)
    items = a.items if isinstance(a, _Pending) else [a]
    if len(a.shape) or not any(v.rank for i in items for v in E.variables(i)):
        return
    if isinstance(a, _Pending):
        a = a.build()
    kind = ("scalar", "vector", "matrix")[b.rank]
    s.warn(f"{_operand_text(a, power=False)} / {b.name} divides a scalar by {b.name}, which "
           f"the naming convention takes as a {kind}, so the result is a {kind}; if "
           f"{b.name} is a number, declare it ({declaration(b.name, ())})", tok)


def _caret_warning(a: E.Expr, b: E.Expr, tok) -> None:
    """``A^-1``, ``A^-2`` of a matrix that may be square, in the default dialect: each
    entry inverted, where the inverse (or its power) is almost surely meant. A positive
    power (``sum(X^2)``) is the common element-wise square and goes unremarked."""
    k = E.const_value(b)
    if a.rank != 2 or k is None or k.denominator != 1 or k >= 0 \
            or not _Trial(_STATE.get().unifier, rigid=False).unify(*a.shape):
        return
    base = _operand_text(a)
    inverse = f"{ops.INV.name}({base})"
    power = inverse if k == -1 else f"{ops.MATPOW.name}({inverse}, {-k})"
    matlab = spelled("--dialect matlab", 'dialect="matlab"', "the matlab dialect")
    _STATE.get().warn(f"{base}^{k} raises each entry to the power {k}: for the matrix "
                      f"{'inverse' if k == -1 else 'power'} write {power} (or use {matlab}, "
                      f"where ^ is the matrix power); {base}.^{k} is element-wise without "
                      f"this warning", tok)


def _operand_text(e: E.Expr, power: bool = True) -> str:
    """``e`` as the operand of a power (or of a product) in a hint, in the input
    language."""
    from .printing.base import PREC_MUL, PREC_POW
    from .printing.text import AsciiPrinter
    return AsciiPrinter().parenthesize(e, PREC_POW if power else PREC_MUL, strict=True)


def _dim_arg(x) -> S.Dim:
    if isinstance(x, _Name):
        return str(x.token)
    v = E.const_value(x) if isinstance(x, E.Expr) else None
    if v is not None and v.denominator == 1 and v > 0 and type(x) is E.Num:
        return int(v)
    if isinstance(x, E.Expr) and type(x) is E.Size:
        return x.dim
    raise ParseError("the size of ones/zeros/eye must be a dimension name or a positive "
                     "whole number")


def _call(name_tok, args, kwargs=()):
    """``name(args, kwargs)`` in matcalc's own spelling."""
    s = _STATE.get()
    name = str(name_tok)
    name = ops.ALIASES.get(name, name)
    axis_op = _AXIS_OPS.get(name)
    if axis_op is not None and (kwargs or axis_op in (ops.MAX, ops.MIN) and len(args) == 1
                                or axis_op in (ops.VAR, ops.STD)):
        # sum(X, axis=0), mean(X, keepdims=True); max(X) and min(X) of one argument
        if len(args) == 2 and axis_op in (ops.MAX, ops.MIN):
            raise ParseError(f"{name}(a, b) is element-wise and takes no keyword argument "
                             f"(the {'largest' if axis_op is ops.MAX else 'smallest'} "
                             f"entries along an axis: {name}(X, axis=0))",
                             _pos(kwargs[0].token))
        return _reduction(axis_op, name_tok, args, kwargs, str(name_tok), np_axis=False)
    if kwargs and (name in ops.CONSTANTS or name in ops.FILLED or name in ops.SUGAR
                   or name in ops.spelled_ops()):
        raise _no_keyword(str(name_tok), kwargs[0])
    if name in ops.CONSTANTS:
        if len(args) == 1 and isinstance(args[0], _Tuple):  # ones((m, n)), as NumPy
            args = args[0].items
        lo, hi, build = ops.CONSTANTS[name]
        if not lo <= len(args) <= hi:
            raise ParseError(f"{name}() takes {lo}{'' if lo == hi else ' or ' + str(hi)} "
                             f"size argument{'s' if hi > 1 else ''}, got {len(args)}")
        return build(tuple(_dim_arg(a) for a in args))
    exprs = [_resolve_name(a) for a in args]
    if name in ops.FILLED:  # matlab: constant-filled, shape from context
        if len(exprs) != 1 or exprs[0].rank != 0:
            raise ParseError(f"{name}(c) takes one scalar")
        return E.expand(exprs[0], tuple(s.unifier.fresh() for _ in range(ops.FILLED[name])))
    if name in ops.SUGAR:
        arity, build = ops.SUGAR[name]
        if len(exprs) != arity:
            raise ParseError(f"{name}() takes {arity} arguments, got {len(exprs)}")
        return build(*exprs)
    op = ops.spelled_ops().get(name)
    if op is None:
        numpy = [k for k in (f"np.{name}", f"np.linalg.{name}") if k in NP.FUNCTIONS]
        hint = f"; NumPy's {numpy[0]}(...) is known" if numpy else \
            did_you_mean(name, [*ops.known_names(), *ops.ALIASES])
        raise ParseError(f"unknown function {name!r}{hint} (known: "
                         f"{', '.join(ops.known_names())})")
    return E.call(op, *exprs)


def _no_keyword(shown: str, k: _Kwarg) -> ParseError:
    return ParseError(f"{shown}() takes no keyword argument {k.name}", _pos(k.token))


def _reduction(op, tok, args, kwargs, shown, np_axis, method=False):
    """``op(x, axis=..., keepdims=...)``: one of the functions of ``_AXIS_OPS``; with
    ``np_axis``, NumPy's second positional argument is the axis (``np.sum(X, 0)``)."""
    axis, keepdims, where, axis_given = None, False, tok, False
    if np_axis and len(args) == 2:
        axis, args, axis_given = _positional_axis(args[1], shown, op), args[:1], True
    if len(args) != 1:
        if method:
            raise ParseError(f"{shown}() takes at most 1 argument (the axis), got "
                             f"{len(args) - 1 + axis_given}", _pos(tok))
        raise ParseError(f"{shown}() takes 1 argument{' and an axis' if np_axis else ''}, "
                         f"got {len(args) + axis_given}", _pos(tok))
    for k in kwargs:
        if k.name == "axis":
            if axis_given:
                raise ParseError(f"{shown}() got the axis twice", _pos(k.token))
            axis, where = k.value, k.value_token
        else:
            keepdims = k.value
    x = _resolve_name(args[0])
    if axis is None and not keepdims and op not in (ops.MAX, ops.MIN, ops.VAR, ops.STD):
        return _with_pos(tok, E.call, op, x)
    return _with_pos(where, ops.reduce_call, op.name, x, axis, keepdims)


def _positional_axis(arg, shown, op):
    """NumPy's axis given as the second positional argument: a whole number or None."""
    if isinstance(arg, _Name) and str(arg.token) == "None":
        return None
    v = E.const_value(arg) if isinstance(arg, E.Expr) and arg.rank == 0 else None
    if v is not None and v.denominator == 1 and abs(v) < 2 ** 62:
        return int(v)
    other = {ops.MAX: "maximum", ops.MIN: "minimum"}.get(op)
    hint = f" (the element-wise {other} of two arrays is np.{other}(a, b))" if other else ""
    raise ParseError(f"the second argument of {shown}() is the axis: a whole number or "
                     f"None{hint}")


def _kwarg(key, toks) -> _Kwarg:
    """``axis=0``, ``axis=-1``, ``axis=None``, ``keepdims=True``: checked here."""
    name = str(key)
    if name not in _KEYWORDS:
        raise ParseError(f"unknown keyword argument {quote(name)}"
                         f"{did_you_mean(name, _KEYWORDS)} (known: {', '.join(_KEYWORDS)})",
                         _pos(key))
    first, last = toks[0], toks[-1]
    text = "".join(str(t) for t in toks)
    if name == "keepdims":
        if last.type not in ("TRUE", "FALSE"):
            raise ParseError(f"keepdims must be True or False, not {quote(text)}", _pos(first))
        return _Kwarg(name, key, last.type == "TRUE", first)
    if last.type == "NONE":
        return _Kwarg(name, key, None, first)
    if last.type != "NUMBER" or not re.fullmatch(r"[0-9]{1,18}", str(last)):
        raise ParseError(f"axis must be a whole number (0, 1, -1) or None, not "
                         f"{quote(text)}", _pos(first))
    value = int(str(last))
    return _Kwarg(name, key, -value if len(toks) == 2 else value, first)


def _subitem(c) -> _Item:
    """One item of ``x[...]``: ``i``, ``a:b`` (with an optional step of 1), ``None``,
    ``np.newaxis``."""
    first = c[0]
    if _is_token(first, "NONE"):
        return _Item(None, first)
    if _is_token(first, "NAME"):  # np.newaxis
        mod, attr = str(first), str(c[2])
        if mod in NP.MODULES and attr == "newaxis" and mod not in _STATE.get().shapes:
            return _Item(None, first)
        raise ParseError(f"{mod}.{attr} cannot be an index: an index is a whole number, "
                         f"a slice a:b, None or np.newaxis", _pos(first))
    parts: list[list] = [[]]
    for x in c:
        if _is_token(x, "COLON"):
            parts.append([])
        else:
            parts[-1].append(x)
    bounds = [p[0] if p else None for p in parts]
    if len(bounds) == 1:
        b = bounds[0]
        if isinstance(b.value, str):
            raise ParseError(f"an index must be a whole number, not {quote(b.value)} (a "
                             f"dimension name may only end a slice, as in :{b.value})",
                             _pos(b.token))
        return _Item(b.value, b.token)
    if len(bounds) == 3 and bounds[2] is not None and bounds[2].value != 1:
        raise ParseError(f"a slice step other than 1 is not supported "
                         f"(step {bounds[2].value})", _pos(bounds[2].token))
    declared = _STATE.get().declared_dims
    for b in bounds[:2]:
        if b is not None and isinstance(b.value, str) and b.value not in declared:
            raise ParseError(f"{b.value} is not a declared dimension: a slice bound is a "
                             f"whole number or the name of a declared dimension",
                             _pos(b.token))
    start, stop = (None if b is None else b.value for b in bounds[:2])
    return _Item(slice(start, stop), first.token if isinstance(first, _Bound) else first)


def _slogdet_item(pair: _Pair, items) -> E.Expr:
    """``np.linalg.slogdet(X)[1]`` is logdet(X); ``[0]``, the sign, is refused."""
    if len(items) == 1 and type(items[0].value) is int:
        i = items[0].value
        if i in (1, -1):
            return pair.value
        if i in (0, -2):
            raise ParseError(f"{pair.spelled}(X)[0], the sign of the determinant, is not "
                             f"supported: only [1], log |det X| (matcalc's "
                             f"{ops.LOGDET.name}(X))", _pos(items[0].token))
    raise ParseError(f"{pair.spelled}(X) is a pair (sign, log |det X|): only its [1] is "
                     f"supported", _pos(items[0].token))


def _module_of(target) -> _Module | None:
    """``np``, ``numpy`` (unless declared a variable) or ``np.linalg``; else None."""
    if isinstance(target, _Module):
        return target
    if isinstance(target, _Name):
        name = str(target.token)
        if name in NP.MODULES and name not in _STATE.get().shapes:
            return _Module(NP.MODULES[name], name, target.token)
    return None


def _numpy_entry(mod: _Module, name_tok) -> tuple[str, str, tuple]:
    """(key, spelling, table entry) of ``mod.name``, or the error naming the closest."""
    name = str(name_tok)
    key, spelled = f"{mod.key}.{name}", f"{mod.spelled}.{name}"
    entry = NP.FUNCTIONS.get(key)
    if entry is None:
        root = mod.spelled.split(".")[0]

        def shown(k):
            return root + k[len("np"):]
        close = [shown(k) for k in NP.closest(key, exclude=mod.key)]
        known = close or sorted(shown(k) for k in NP.FUNCTIONS
                                if k.rpartition(".")[0] == mod.key)
        own = ops.is_function_name(name)
        raise ParseError(f"unknown NumPy name {spelled} "
                         f"({'closest' if close else 'known'}: {', '.join(known)})"
                         + (f"; matcalc's own {name}(...) needs no prefix" if own else ""),
                         _pos(name_tok))
    return key, spelled, entry


def _attribute(target, name_tok):
    """``np.linalg``; ``X.T`` is a transpose (the lexer reads it so); no other
    attribute exists."""
    mod = _module_of(target)
    name = str(name_tok)
    if mod is not None:
        key, spelled, (kind, _) = _numpy_entry(mod, name_tok)
        if kind == "module":
            return _Module(key, spelled, name_tok)
        if kind == "newaxis":
            raise ParseError(f"{spelled} is only valid in a subscript, as x[:, {spelled}]",
                             _pos(name_tok))
        raise ParseError(f"{spelled} is a function: call it as {spelled}(...)",
                         _pos(name_tok))
    _resolve_name(target)
    if "." + name in NP.METHODS:
        raise ParseError(f".{name} is a method: call it as .{name}()", _pos(name_tok))
    raise ParseError(f"unknown attribute .{name}: the only attribute is .T (the "
                     f"transpose); the methods are {_method_list()}", _pos(name_tok))


def _method_list() -> str:
    return ", ".join(m + "()" for m in NP.METHODS)


def _method(target, name_tok, args):
    """``np.sum(X, axis=0)``, ``np.linalg.inv(A)``; ``X.sum(axis=1)``, ``x.dot(y)``."""
    args, kwargs = ([a for a in args if not isinstance(a, _Kwarg)],
                    [a for a in args if isinstance(a, _Kwarg)])
    mod = _module_of(target)
    if mod is not None:
        _, spelled, (kind, target_op) = _numpy_entry(mod, name_tok)
        if kind in ("module", "newaxis"):
            raise ParseError(f"{spelled} is not a function", _pos(name_tok))
        return _apply(kind, target_op, name_tok, args, kwargs, spelled)
    x = _resolve_name(target)
    name = str(name_tok)
    entry = NP.METHODS.get("." + name)
    if entry is None:
        close = NP.closest("." + name, NP.METHODS)
        hint = f"; did you mean {', '.join(m + '()' for m in close)}?" if close else ""
        raise ParseError(f"unknown method .{name}() (known: {_method_list()}){hint}",
                         _pos(name_tok))
    kind, target_op = entry
    return _apply(kind, target_op, name_tok, [x, *args], kwargs, "." + name, method=True)


def _apply(kind, op, tok, args, kwargs, shown, method=False):
    """A NumPy function or method of the table (numpy_names.py), by its kind."""
    if kind == "np_norm" and len(args) > 1:
        raise ParseError(f"{shown}(x, ord): ord is not supported; the norm is the 2-norm "
                         f"(Frobenius for a matrix): write {shown}(x), or "
                         f"{ops.NORM1.name}(x) for the 1-norm", _pos(tok))
    if kind in ("reduce", "np_norm"):
        return _reduction(op, tok, args, kwargs, shown, np_axis=kind == "reduce",
                          method=method)
    if kwargs:
        raise _no_keyword(shown, kwargs[0])
    if kind == "const":
        if len(args) != 1:
            raise ParseError(f"{shown}() takes one size, or a tuple of sizes as in "
                             f"{shown}((m, n)), got {len(args)} arguments", _pos(tok))
        return _with_pos(tok, _call, tok.update(value=op), args)
    exprs = [_resolve_name(a) for a in args]
    want = 2 if kind in ("np_dot", "matmul", "outer") else op.arity if kind == "func" else 1
    if len(exprs) != want:
        n, got = want - method, len(exprs) - method
        raise ParseError(f"{shown}() takes {n} argument{'s' if n != 1 else ''}, got {got}",
                         _pos(tok))
    return _with_pos(tok, _BUILD[kind], op, shown, tok, *exprs)


def _outer(x, y):
    if x.rank != 1 or y.rank != 1:
        raise ShapeError(f"outer() needs two vectors, got a "
                         f"{S.describe(S.resolved(x.shape))} and a "
                         f"{S.describe(S.resolved(y.shape))}")
    return E.matmul(x, E.transpose(y))


_BUILD = {
    "func": lambda op, shown, tok, *xs: E.call(op, *xs),
    "np_dot": lambda op, shown, tok, x, y: _cdot(x, y),
    "matmul": lambda op, shown, tok, x, y: E.matmul_op(x, y),
    "outer": lambda op, shown, tok, x, y: _outer(x, y),
    "np_diag": lambda op, shown, tok, x: E.call(ops.DIAGONAL if x.rank == 2 else ops.DIAG, x),
    "transpose": lambda op, shown, tok, x: E.transpose(x),
    "slogdet": lambda op, shown, tok, x: _Pair(E.call(op, x), shown, tok),
}


@lru_cache(maxsize=1)
def _parser():
    from lark import Lark
    t = _lark_transformer()
    # No cache=True: Lark's cache is a pickle in the shared temp directory, and loading
    # a pickle someone else planted there runs their code. Building the tables from
    # the packaged grammar costs about 20 ms, once per process.
    return Lark(grammar_text(), parser="lalr", transformer=t, maybe_placeholders=False)


def _translate_lark_error(err, text: str) -> ParseError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken
    if isinstance(err, UnexpectedToken):
        tok = err.token
        names = _acceptable(text, tok)
        if tok.type == "$END":
            pos = _end_pos(text)
            what = "unexpected end of input"
        else:
            pos = (tok.line, tok.column)
            what = f"unexpected {str(tok)!r}"
        before = (getattr(err, "token_history", None) or [None])[-1]
        if _is_token(before, "NAME") and ops.is_function_name(str(before)) \
                and tok.type in ("NAME", "NUMBER"):
            what += (f" after the function {before}: its argument goes in parentheses, "
                     f"{before}(...)")
        return ParseError(what + _expected(names), pos, text)
    if isinstance(err, UnexpectedCharacters):
        ch = text[err.pos_in_stream] if err.pos_in_stream < len(text) else "?"
        return ParseError(f"unexpected character {ch!r}", (err.line, err.column), text)
    if isinstance(err, UnexpectedEOF):
        return ParseError("unexpected end of input", _end_pos(text), text)
    return ParseError(str(err), None, text)


@lru_cache(maxsize=1)
def _bare_parser():
    """The grammar without the Transformer: to replay a parse that failed."""
    from lark import Lark
    return Lark(grammar_text(), parser="lalr", maybe_placeholders=False)


def _acceptable(text: str, bad) -> set:
    """Every token the parser would take where the token ``bad`` came. (Lark's error
    lists those of the state it reached after the reductions ``bad`` caused: after
    ``(x)`` read before the end, ``+``, ``-``, ``)`` and ``,``, not ``*`` nor ``@``.)
    The text is read again up to ``bad``, and the parser asked there."""
    from lark.exceptions import LarkError
    cursor = _bare_parser().parse_interactive(text)
    try:
        for tok in cursor.iter_parse():
            if bad.type != "$END" and tok.start_pos >= bad.start_pos:
                break
    except LarkError:  # the lexer refused ``bad`` itself: the tokens before it are read
        pass
    return cursor.accepts()


def _expected(names: set) -> str:
    """``"; expected an operator (+ - * / @ ^ ' ...), '(' or the end of the input"``: every
    token the parser would take, the operators as one group (where an operand is
    expected, + and - are its sign)."""
    operators = " ".join(sym for t, sym in _OPERATORS.items() if t in names)
    others = [shown for t, shown in _TOKEN_NAMES.items() if t in names]
    others += sorted(t for t in names - set(_TOKEN_NAMES) - set(_OPERATORS))
    if operators and {"NAME", "NUMBER"} & names:
        others.append(f"a sign ({operators})")
    elif operators:
        others.insert(0, f"an operator ({operators})" if " " in operators else
                      f"'{operators}'")
    if not others:
        return ""
    return "; expected " + (others[0] if len(others) == 1 else
                            f"{', '.join(others[:-1])} or {others[-1]}")


def _end_pos(text: str) -> tuple[int, int]:
    """Where the input ends: just after its last character that is not white space."""
    lines = text.rstrip().split("\n")
    return len(lines), len(lines[-1]) + 1


def parse(text: str, shapes: Mapping[str, object] | None = None,
          dialect: str = "default") -> E.Expr:
    """Parse ``text`` into a shaped expression.

    ``shapes`` declares variables (``{"x": ("n",), "W": "m,n", "b": ()}``), with an
    optional structure last (``"n,n,sym"``, ``("n", "n", "spd")``, ``"n,prob"``); other
    names follow the naming convention, and undeclared dimensions are inferred.

    A likely mistake in a valid text (``W * x`` with a matrix W, a multi-letter name
    whose shape the naming convention guessed, ``x^T`` with T declared) is reported
    with ``warnings.warn`` as a :class:`matcalc.MatcalcWarning` (docs/language.md).
    """
    expr, _, warned = _parse(text, shapes, dialect)
    _issue(warned)
    return expr


def parse_with_variables(text: str, shapes: Mapping[str, object] | None = None,
                         dialect: str = "default") -> tuple[E.Expr, list[E.Expr]]:
    """``parse(text)`` and every variable the text names, with its shape, even one the
    algebra removed (``x - x`` is ``zeros(n)``; the value of ``x`` still gives ``n``)."""
    expr, named, warned = _parse(text, shapes, dialect)
    _issue(warned)
    return expr, named


def parse_reporting(text: str, shapes: Mapping[str, object] | None = None,
                    dialect: str = "default") -> tuple[E.Expr, tuple[str, ...]]:
    """``parse(text)`` and its warnings, not issued: for a caller that reports them
    itself (``diff`` keeps them on the Derivative)."""
    expr, _, warned = _parse(text, shapes, dialect)
    return expr, warned


def _issue(warned) -> None:
    for message in warned:
        warn(message)


def _parse(text, shapes, dialect) -> tuple[E.Expr, list[E.Expr], tuple[str, ...]]:
    """The expression, its variables and its warnings; an error is raised without the
    parser's frames (its traceback starts here) and without a chained exception."""
    try:
        return _parse_text(text, shapes, dialect)
    except MatcalcError as err:
        failure = err
    except RecursionError:
        failure = ParseError("the expression is nested too deeply", None, text)
    failure.__context__ = failure.__cause__ = None
    raise failure.with_traceback(None)


def _parse_text(text, shapes, dialect):
    from lark.exceptions import LarkError
    if not isinstance(text, str):
        raise UsageError(f"parse() needs a string, got {type(text).__name__}")
    if not isinstance(dialect, str) or dialect not in DIALECTS:
        raise UsageError(f"unknown dialect {quote(dialect)}: use one of {', '.join(DIALECTS)}")
    limits.check(len(text), "max_input_chars", "the input's length in characters",
                 ParseError)
    if not text.strip():
        raise ParseError("the expression is empty", (1, 1), text)
    declared = S.normalize_declarations(shapes)
    state = _State(text, declared, dialect)
    token = _STATE.set(state)
    try:
        with S.inference(state.unifier):
            try:
                result = _parser().parse(text)
            except LarkError as err:
                inner = getattr(err, "orig_exc", None)
                if isinstance(inner, MatcalcError):
                    raise inner
                raise _translate_lark_error(err, text) from None
            result = _resolve_name(result)
        return _finish(result, state), state.named, state.reported
    except MatcalcError as err:
        # what was noticed before the error may explain it (mu @ x: mu is a scalar)
        _issue(str(MatcalcError(_readable_unknowns(message, state), pos))
               for message, pos in state.warnings)
        err.message = _readable_unknowns(err.message, state)
        raise err.located(None, text)
    finally:
        _STATE.reset(token)


class _Pending:
    """A chain ``a + b - c + ...`` (or ``a * b / c``, ``A @ B @ C``) being read.

    Building the node once at the end, instead of one node per operator, keeps a
    100,000-character sum linear: each new term is only shape-checked on the way.
    """
    __slots__ = ("kind", "items", "shape", "ops")

    def __init__(self, kind: str, first: E.Expr):
        self.kind = kind
        self.items = [first]
        self.shape = first.shape
        self.ops: list = []  # the operator before each item but the first

    def finish(self) -> E.Expr:
        """The node, once the chain is complete (with the warning of ``_star_warning``)."""
        if self.kind == "mul":
            _star_warning(self)
        return self.build()

    def build(self) -> E.Expr:
        if self.kind == "matmul":
            return E.matmul(*self.items)
        # each operand broadcast to the chain's shape (x[:, None] * y[None, :]: maybe
        # none of them has it)
        items = [E.broadcast_to(i, self.shape) for i in self.items]
        return E.add(*items) if self.kind == "add" else E.mul(*items)


_VERBS = {"add": "add", "mul": "multiply", "matmul": "multiply (@)"}


def _push(kind: str, acc, op, b: E.Expr, shown: E.Expr | None = None):
    """Append ``b`` to the chain ``acc`` (checking shapes), or start a chain."""
    if not (isinstance(acc, _Pending) and acc.kind == kind):
        acc = _resolve_name(acc)
        if kind == "matmul" and acc.rank == 1:
            # NumPy's reading of a vector on the left (a dot or a row): not a chain
            return _with_pos(op, _named(E.matmul_op, _VERBS[kind]), acc, b)
        if kind == "matmul" and (acc.rank == 0 or b.rank == 0):
            return _with_pos(op, _named(E.matmul_op, _VERBS[kind]), acc, b)
        acc = _Pending(kind, acc)
    elif kind == "matmul" and len(acc.shape) == 1:
        # (A @ x) @ y: the product so far is a vector, read as NumPy does
        return _with_pos(op, _named(E.matmul_op, _VERBS[kind]), acc.build(), b)
    try:
        if kind == "matmul":
            acc.shape = _chain_shape(acc.shape, b)
        else:
            acc.shape = _broadcast_shape(acc.shape, b.shape)
    except ShapeError as err:
        left = acc.build()
        raise err.located(_pos(op), None) if err.pos else ShapeError(
            f"cannot {_VERBS[kind]} {_short(left)}: {S.describe(S.resolved(left.shape))} "
            f"and {_short(shown or b)}: {S.describe(S.resolved((shown or b).shape))}"
            + (f" ({err.message})" if err.message else "") + _star_hint(op, left, b),
            _pos(op)) from None
    acc.items.append(b)
    acc.ops.append(op)
    return acc


class _Trial(S.Unifier):
    """The parse's unifier, copied to try another reading without committing to it: it
    binds an unknown dimension to another or to a size other than 1 (a size 1 would
    turn a vector into a number), or, ``rigid``, binds nothing more."""

    def __init__(self, base: S.Unifier, rigid: bool):
        super().__init__()
        self.parent, self.counter, self.rigid = dict(base.parent), base.counter, rigid

    def unify(self, a, b) -> bool:
        a, b = self.find(a), self.find(b)
        if a == b:
            return True
        return not self.rigid and 1 not in (a, b) and super().unify(a, b)


def _matmul_fits(operands: list, rigid: bool) -> bool:
    """Would ``operands`` joined by ``@`` be a matrix product (a vector first is read as
    a row, as NumPy does)?"""
    with S.inference(_Trial(_STATE.get().unifier, rigid)):
        shape = operands[0].shape
        shape = (1, *shape) if len(shape) == 1 else shape
        try:
            for b in operands[1:]:
                shape = _chain_shape(shape, b)
        except ShapeError:
            return False
    return True


def _star_warning(chain: _Pending) -> None:
    """Warn about ``W * x``, ``x' * A * x``: a product written with ``*`` alone, of a
    matrix and at least one other array, that reads as a matrix product too. Where
    all the arrays have one shape (``A * B``), only if it fits without equating more
    dimensions (declared n×n both); where ``*`` broadcasts, if ``@`` fits equating
    unknown dimensions. ``.*`` and ``⊙`` say element-wise and never warn."""
    s = _STATE.get()
    items = chain.items
    # which items are arrays (eye(n) * S and ones(m, n) * x are a mask and a broadcast)
    at = [i for i, x in enumerate(items) if x.rank and not (
        type(x) is E.Eye or type(x) is E.Expand and type(x.arg) is E.Num)]
    arrays = [items[i] for i in at]
    if s.dialect != "default" or len(arrays) < 2 or max(x.rank for x in arrays) < 2:
        return
    if any(chain.ops[i - 1].type != "STAR" for i, x in enumerate(items) if i and x.rank) \
            or any(S.resolve(x.shape[-1]) == 1 for x in arrays[:-1]):
        return  # said element-wise; or x[:, None] * y[None, :], which @ also is
    shapes = {S.resolved(x.shape) for x in arrays}
    if not _matmul_fits(arrays, rigid=len(shapes) == 1):
        return
    first = chain.ops[at[1] - 1]
    texts = [_operand_text(x, power=False) for x in arrays]
    how = "broadcasting to" if len(shapes) > 1 else "giving"
    s.warn(f"{' * '.join(texts)} multiplies element-wise, {how} a "
           f"{S.describe(S.resolved(chain.shape))}: {_matmul_is(texts)}; "
           f"{' .* '.join(texts)} is element-wise without this warning", first)


def _matmul_is(texts: list[str]) -> str:
    matlab = spelled("--dialect matlab", 'dialect="matlab"', "the matlab dialect")
    return (f"for the matrix product write {' @ '.join(texts)} (or use {matlab}, where * "
            f"is the matrix product)")


def _star_hint(op, left: E.Expr, b: E.Expr) -> str:
    """A product ``*`` refused that ``@`` would take (``x' * x``): say which is which."""
    if op.type != "STAR" or _STATE.get().dialect != "default" or not left.rank \
            or not b.rank or not _matmul_fits([left, b], rigid=False):
        return ""
    return "; * multiplies element-wise: " + _matmul_is(
        [_operand_text(left, False), _operand_text(b, False)])


def _broadcast_shape(a: tuple, b: tuple) -> tuple:
    """The shape of an element-wise chain so far, as NumPy broadcasts
    (``S.broadcast_shapes``): a size 1 stretches over an unknown size, which stays
    unknown (``X - X.max(axis=1, keepdims=True)`` keeps X m×n)."""
    try:
        return S.broadcast_shapes(a, b)
    except ShapeError:
        raise ShapeError("") from None


def _chain_shape(a: tuple, b: E.Expr) -> tuple:
    if b.rank == 0 or (len(a) == 0 and S.resolve(E.as2d(b.shape)[0]) != 1):
        raise ShapeError("a scalar cannot be in a matrix product (@): use * to scale")
    if len(a) == 0:  # x' @ x @ u' @ u: a 1×1 product so far, times a row, goes on
        a = (1, 1)
    inner_l, inner_r = E.as2d(a)[1], E.as2d(b.shape)[0]
    if not S.same_dim(inner_l, inner_r):
        raise ShapeError(f"inner dimensions {S.resolve(inner_l)} and {S.resolve(inner_r)} "
                         f"differ")
    rows, cols = S.resolve(E.as2d(a)[0]), S.resolve(E.as2d(b.shape)[1])
    if rows == 1 and cols == 1:
        return ()
    return (rows,) if b.rank == 1 else (rows, cols)


def _with_pos(tok, fn, *args):
    try:
        return fn(*args)
    except MatcalcError as err:
        raise err.located(_pos(tok), None)


def _resolve_name(x):
    """The value of an operand: a finished chain, or a bare name resolved to a declared
    variable, else a declared dimension (its size), else a variable whose rank the
    naming convention gives."""
    if isinstance(x, _Pending):
        return x.finish()
    if not isinstance(x, _Name):
        if isinstance(x, _Partial):
            raise x.error()
        return x
    s = _STATE.get()
    name = str(x.token)
    if name in s.vars:
        return s.vars[name]
    if name in s.shapes:
        v = E.var(name, s.shapes[name], structure=s.structures.get(name))
    elif name in s.declared_dims:
        return E.size(name)
    elif ops.is_function_name(name):
        raise ParseError(f"{name} is a function: call it as {name}(...)", _pos(x.token))
    elif name in _CONSTANT_NAMES:
        raise ParseError(f"{name} is valid only as a keyword's value (axis=None, "
                         f"keepdims=True) or in a subscript (x[:, None])", _pos(x.token))
    else:
        rank = S.convention_rank(name)
        v = E.var(name, tuple(s.unifier.fresh() for _ in range(rank)))
        if len(re.match(r"[^\W\d_]*", name).group()) > 1:
            # mu, cost, beta1: a word, which says nothing of a shape (W1, x_i, h_prev
            # are the letter the convention reads)
            kind = ("scalar", "vector", "matrix")[rank]
            s.warn(f"{name} is taken as a {kind} by the naming convention; declare its "
                   f"shape if it is not ({declaration(name, () if rank else ('n',))})",
                   x.token)
    s.vars[name] = v
    return v


def _readable_unknowns(message: str, state: _State) -> str:
    found = list(dict.fromkeys(re.findall(r"\?\d+", message)))
    if not found:
        return message
    taken = set(state.declared_dims) | set(state.vars)
    names = S.fresh_names(found, taken)
    return re.sub(r"\?\d+", lambda m: names[m.group(0)], message)


def _finish(result: E.Expr, state: _State) -> E.Expr:
    """Give every unknown dimension its readable name and rebuild the tree with it."""
    u = state.unifier
    for node in E.postorder(result):
        # x + A with A's rows unknown broadcasts x as the rows of A; if A turns out to
        # have one row (x + A + y'), that is a vector plus a row vector: refused, as
        # x + y' is, whatever the order
        if type(node) is E.Expand and node.arg.rank == 1 and u.find(node.shape[0]) == 1:
            n = u.find(node.shape[1])
            raise ShapeError(f"cannot combine vector ({n}) and row vector (1×{n}) "
                             f"element-wise: transpose one of them")
    order: dict[str, None] = {}  # an ordered set: membership in O(1)

    def note(d):
        r = u.find(d)
        if S.is_unknown(r):
            order.setdefault(r, None)
    # Matrix columns first, then the rest in order of appearance: W@x makes x's
    # length n and W m×n, as a textbook writes it.
    variables = E.variables(result)
    for v in variables:
        if v.rank == 2:
            note(v.shape[1])
    for v in variables:
        for d in v.shape:
            note(d)
    for d in u.order:
        note(d)
    limits.check(len(order), "max_dims", "the number of distinct dimensions in the expression")
    taken = set(state.declared_dims) | {v.name for v in variables}
    taken |= {d for d in E.dims_of(result) if not S.is_unknown(d)}
    names = S.fresh_names(order, taken)

    def f(d):
        r = u.find(d)
        return names.get(r, r)
    state.named = [E.map_dims(v, f) for v in state.vars.values()]
    state.reported = tuple(
        str(MatcalcError(re.sub(r"\?\d+", lambda m: S.dim_str(f(m.group())), message), pos))
        for message, pos in state.warnings)
    return E.map_dims(result, f)
