"""Readers of the printers' own notations back into expressions: :func:`read_text` for
the Unicode text (``xᵀ(A + Aᵀ)``, ``X⁻¹``, ``2 AᵀA``, ``diag(-1 ⊘ x²)``, ``[z > 0]``,
``log|det X|``) and :func:`read_latex` for the LaTeX (``\\frac``, ``\\mathbf{x}^{\\top}``,
``\\odot``, ``\\operatorname{diag}\\left( \\right)``). The input language (``--ascii``)
needs no reader of its own: :func:`matcalc.parse` reads it.

They read what the printers write, not mathematics at large: a small recursive
descent over the printers' subset, driven by the notations of the ops' records
(:class:`matcalc.ops.Form`) and the printers' own spellings of names, so that a test
can check that every notation means the expression it was printed from
(tests/test_readback.py). Juxtaposition is a product: with a scalar, scalar
multiplication, else the matrix product; a superscript on a matrix is its matrix
power (``X²``, ``X⁻¹``), ``∘`` marks the element-wise one (``X∘²``). The sizes a
notation leaves open (the length of 𝟏, the size of I) are inferred from the rest of
the expression and from ``shape``, the shape the result must have.
"""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Iterable, Mapping, Optional, Union

from .. import ops
from ..core import expr as E
from ..core import shapes as S
from ..errors import MatcalcError, ParseError
from .latex import STYLES, call_name, dim_latex, latex_name
from .text import _SUB, _SUP

Variables = Union[Mapping[str, tuple], Iterable[E.Expr]]

_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_UNSUP = {chr(v): chr(k) for k, v in _SUP.items()}
_UNSUB = {chr(v): chr(k) for k, v in _SUB.items()}
_SUPERSCRIPT = re.compile("⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_SUBSCRIPT = re.compile("[₀₁₂₃₄₅₆₇₈₉]+")
_MARK = re.compile("\0[0-9]\0")


def _pieces(form) -> list[str]:
    """The literal text of a ``wrap`` notation around its arguments:
    ``[{0} = {1}]`` -> ``["[", "=", "]"]``."""
    return [p.strip() for p in _MARK.split(form.text.format(*[f"\0{i}\0" for i in range(9)]))]


def _juxtapose(a: E.Expr, b: E.Expr) -> E.Expr:
    """``a b``: a product by a scalar, else the matrix product (vectors are columns)."""
    if a.rank == 0 or b.rank == 0:
        return E.mul(*E.broadcast(a, b, "multiply"))
    return E.matmul(a, b)


def _hadamard(a: E.Expr, b: E.Expr) -> E.Expr:
    return E.mul(*E.broadcast(a, b, "multiply"))


def _sum(a: E.Expr, b: E.Expr) -> E.Expr:
    """``a + b``; a scalar beside a vector is the paper's scalar expansion, beside a
    matrix it is not mathematics (the printers write the matrix: I - n⁻¹𝟏𝟏ᵀ)."""
    if {a.rank, b.rank} == {0, 2}:
        raise ParseError("a scalar plus a matrix: write the matrix it stands for (c𝟏𝟏ᵀ)")
    return E.add(*E.broadcast(a, b, "add"))


def _power(base: E.Expr, exp: E.Expr, hadamard: bool) -> E.Expr:
    """``base`` raised to ``exp``: for a matrix, its matrix power (the inverse for -1)
    unless ``hadamard`` (X∘², the element-wise power)."""
    if hadamard or base.rank < 2:
        return E.power(base, exp)
    k = E.const_value(exp)
    if k is None or k.denominator != 1 or k == 0:
        raise ParseError("a matrix power needs a whole non-zero exponent")
    if k < 0:
        base = E.call(ops.INV, base)
    return base if abs(k) == 1 else E.call(ops.MATPOW, base, E.num(abs(k)))


def _variables(variables: Variables) -> list[E.Expr]:
    if isinstance(variables, Mapping):
        return [E.var(name, S.parse_shape_spec(shape, f"the shape of {name}"))
                for name, shape in variables.items()]
    return list(variables)


class _Reader:
    """The recursive descent both notations share: sums, products (written or by
    juxtaposition), a leading minus, postfix operators on atoms. A notation gives its
    symbols (``products``, ``spaces``) and its atoms and postfix operators."""

    spaces: tuple = (" ", "\t", "\n")
    products: dict = {}          # symbol -> builder of the product
    tuple_pieces: tuple = ()     # a vector [a, b]: (opener, separator, closer)

    def __init__(self, text: str, variables: Variables):
        if not isinstance(text, str):
            raise ParseError(f"the text to read must be a string, not {type(text).__name__}")
        self.text, self.pos = text, 0
        self.unifier = S.Unifier()
        self.closers: list[list[str]] = [[]]
        self.vars = _variables(variables)
        self.words: dict = {}  # spelling -> a function building the node
        self.functions: dict = {}  # spelling of a function -> its ops
        self.wraps: dict = {}  # opener -> [(pieces, op)]

    # ---- the text

    def error(self, message: str, at: Optional[int] = None) -> ParseError:
        at = self.pos if at is None else at
        line = self.text.count("\n", 0, at) + 1
        col = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return ParseError(message, (line, col), self.text)

    def skip(self) -> None:
        moved = True
        while moved:
            moved = False
            for s in self.spaces:
                if self.text.startswith(s, self.pos):
                    self.pos += len(s)
                    moved = True

    def take(self, literal: str) -> bool:
        """Consume ``literal`` (its words, each after optional space), or nothing."""
        start = self.pos
        for word in literal.split():
            self.skip()
            if not self.text.startswith(word, self.pos):
                self.pos = start
                return False
            self.pos += len(word)
        return True

    def peek(self, literal: str) -> bool:
        start = self.pos
        found = self.take(literal)
        self.pos = start
        return found

    def expect(self, literal: str) -> None:
        if not self.take(literal):
            self.skip()
            found = self.text[self.pos:self.pos + 12] or "the end"
            raise self.error(f"expected {literal.strip()!r}, found {found!r}")

    def fresh(self) -> str:
        return self.unifier.fresh()

    # ---- the grammar

    def read(self, shape: Optional[tuple]) -> E.Expr:
        try:
            with S.inference(self.unifier):
                e = self.sum()
                self.skip()
                if self.pos != len(self.text):
                    raise self.error(f"unexpected {self.text[self.pos:self.pos + 12]!r}")
                if shape is not None:
                    e = self._fit(e, tuple(shape))
        except MatcalcError as err:  # a constructor's error: where the reader stood
            if err.pos is None:
                raise self.error(err.message) from None
            raise
        e = E.map_dims(e, self.unifier.find)
        if any(S.is_unknown(d) for d in E.dims_of(e)):
            raise ParseError("the size of a 𝟏 or an I is not determined by the text: "
                             "give the shape of the result")
        return e

    def _fit(self, e: E.Expr, shape: tuple) -> E.Expr:
        if e.rank == 0 and shape:
            return E.expand(e, shape)  # 𝟎, or a constant, standing for a whole array
        if not S.unify_shapes(e.shape, shape):
            raise ParseError(f"the text reads as a {S.describe(S.resolved(e.shape))}, not a "
                             f"{S.describe(shape)}")
        return e

    def sum(self) -> E.Expr:
        e = self.signed()
        while True:
            self.skip()
            at = self.pos
            if self.take("+"):
                e = self.located(at, _sum, e, self.signed())
            elif self.take("-"):
                e = self.located(at, _sum, e, E.neg(self.signed()))
            else:
                return e

    def located(self, at: int, build, *args) -> E.Expr:
        """``build(*args)``; its error placed at the operator, ``at``."""
        try:
            return build(*args)
        except MatcalcError as err:
            raise self.error(err.message, at) from None

    def signed(self) -> E.Expr:
        """A term: a leading minus negates the whole product, -AB = -(AB)."""
        if self.take("-"):
            return E.neg(self.signed())
        return self.product()

    def product(self) -> E.Expr:
        e = self.unary()
        while True:
            self.skip()
            at = self.pos
            for symbol, build in self.products.items():
                if self.take(symbol):
                    e = self.located(at, build, e, self.unary())
                    break
            else:
                if not self.starts_operand():
                    return e
                e = self.located(at, _juxtapose, e, self.unary())

    def unary(self) -> E.Expr:
        if self.take("-"):
            return E.neg(self.unary())
        return self.postfix(self.atom())

    def starts_operand(self) -> bool:
        self.skip()
        if self.pos >= len(self.text) or any(self.peek(c) for c in self.closers[-1]):
            return False
        return self.operand_start(self.text[self.pos:])

    def inside(self, closers: list, read):
        """``read()`` with ``closers`` ending the operands (``|`` closes ``|x|``)."""
        self.closers.append(closers)
        try:
            return read()
        finally:
            self.closers.pop()

    def number(self) -> Optional[E.Expr]:
        self.skip()
        m = _NUMBER.match(self.text, self.pos)
        if m is None:
            return None
        self.pos = m.end()
        return E.num(Fraction(m.group(0)))

    def notation(self) -> Optional[E.Expr]:
        """A function in its op's notation: wrapped around its argument (``|x|``), or
        before it (``√x``); None if none starts here."""
        e = self.wrapped()
        if e is not None:
            return e
        for text, op in self.prefixes.items():
            if self.take(text):
                return E.call(op, self.postfix(self.atom()))
        return None

    def name(self) -> E.Expr:
        """A variable, a name or a number: what is left for an atom (else ParseError)."""
        e = self.word()
        if e is None:
            self.skip()
            found = self.text[self.pos:self.pos + 12] or "the end"
            raise self.error(f"unknown or unexpected {found!r}")
        return e

    def word(self) -> Optional[E.Expr]:
        """The longest spelling of a name (variable, dimension, constant) or, before
        its bracket, of a function."""
        self.skip()
        best, function = None, False
        for spelling in self.words:
            if self.text.startswith(spelling, self.pos) and \
                    (best is None or len(spelling) > len(best)):
                best = spelling
        for spelling in self.functions:
            if self.text.startswith(spelling, self.pos) and \
                    (best is None or len(spelling) >= len(best)):
                start = self.pos
                self.pos += len(spelling)
                if self.peek(self.call_open):  # σ(x) is sigmoid, σ a scalar named σ
                    best, function = spelling, True
                self.pos = start
        if best is None:
            return None
        self.pos += len(best)
        return self.call(best) if function else self.words[best]()

    def call(self, name: str) -> E.Expr:
        at = self.pos
        self.expect(self.call_open)
        args, axis = [], None
        while True:
            if self.take(", axis ="):
                axis = int(self.number().value)
            else:
                if args:
                    self.expect(",")
                args.append(self.inside([",", self.call_close], self.sum))
            if self.take(self.call_close):
                break
        for op in self.functions[name]:
            if op.arity == len(args) and op.axis == axis:
                try:
                    return E.call(op, *args)
                except MatcalcError:
                    continue
        raise self.error(f"{name} does not take these arguments", at)

    def wrapped(self) -> Optional[E.Expr]:
        """A notation around its arguments (``|x|``, ``[z > 0]``, ``‖x‖₁``), or a
        vector ``[a, b]``."""
        self.skip()
        for opener in sorted(self.wraps, key=len, reverse=True):
            if self.take(opener):
                return self._wrap_rest(opener)
        return None

    def _wrap_rest(self, opener: str) -> E.Expr:
        forms = self.wraps[opener]
        args: list = []
        k = 1
        is_tuple = bool(self.tuple_pieces) and opener == self.tuple_pieces[0]
        while True:
            nexts = sorted({p[k] for p, _ in forms if len(p) > k}, key=len, reverse=True)
            seps = list(self.tuple_pieces[1:]) if is_tuple else []
            args.append(self.inside(nexts + seps, self.sum))
            found = next((p for p in nexts if self.take(p)), None)
            if found is None and is_tuple and self.take(self.tuple_pieces[1]):
                forms = []  # a vector [a, b, ...]
                continue
            if found is None and is_tuple and self.take(self.tuple_pieces[2]):
                return E.veclit(args)
            if found is None:
                raise self.error(f"expected one of {', '.join(map(repr, nexts))}")
            forms = [(p, op) for p, op in forms if len(p) > k and p[k] == found]
            done = [op for p, op in forms if len(p) == k + 1]
            if done:
                return E.call(done[0], *args)
            k += 1
            is_tuple = False

    # ---- the notation's parts

    call_open = call_close = ""

    def operand_start(self, rest: str) -> bool:
        raise NotImplementedError

    def atom(self) -> E.Expr:
        raise NotImplementedError

    def postfix(self, e: E.Expr) -> E.Expr:
        raise NotImplementedError

    def add_forms(self, forms) -> None:
        """The functions' notations, ``(form, op)`` pairs: calls by their name, the
        others around their arguments."""
        for form, op in forms:
            if form.style == "call":
                self.functions.setdefault(self.call_spelling(form), []).append(op)
            elif form.style == "wrap":
                pieces = _pieces(form)
                self.wraps.setdefault(pieces[0], []).append((pieces, op))
        if self.tuple_pieces:
            self.wraps.setdefault(self.tuple_pieces[0], [])

    def call_spelling(self, form) -> str:
        return form.text


class _TextReader(_Reader):
    """The Unicode text of :class:`matcalc.printing.text.UnicodePrinter`."""

    products = {"⊙": _hadamard, "⊘": E.div, "/": E.div, "·": _juxtapose}
    tuple_pieces = ("[", ",", "]")
    call_open, call_close = "(", ")"

    def __init__(self, text, variables):
        super().__init__(text, variables)
        for v in self.vars:
            self.words[v.name] = lambda v=v: v
            self.words["d" + v.name] = lambda v=v: E.var(v.name, v.shape, True, v.structure)
            for d in v.shape:
                if isinstance(d, str):
                    self.words.setdefault(d, lambda d=d: E.size(d))
        self.words.setdefault("I", lambda: E.eye(self.fresh()))
        self.words["𝟏"] = lambda: E.ones((self.fresh(),))
        self.words["𝟎"] = lambda: E.num(0)
        self.prefixes = {op.unicode.text: op for op in ops.REGISTRY.values()
                         if op.unicode.style == "prefix"}
        self.postfixes = {op.unicode.text: op for op in ops.REGISTRY.values()
                          if op.unicode.style == "postfix" and "{1}" not in op.unicode.text}
        self.transposed = {op.unicode_transposed.text: op for op in ops.REGISTRY.values()
                           if op.unicode_transposed is not None}
        self.add_forms((op.unicode, op) for op in ops.REGISTRY.values())

    def operand_start(self, rest):
        return rest[0].isalnum() or rest[0] in "(√𝟏𝟎" or any(
            rest.startswith(o) for o in list(self.wraps) + list(self.prefixes))

    def atom(self):
        e = self.number()
        if e is not None:
            return e
        if self.take("("):
            e = self.inside([")"], self.sum)
            self.expect(")")
            return e
        e = self.notation()
        if e is not None:
            return e
        if self.take("e"):  # a unit vector eᵢ
            m = _SUBSCRIPT.match(self.text, self.pos)
            if m is not None and "e" not in self.words:
                self.pos = m.end()
                return E.select(self.fresh(), int("".join(_UNSUB[c] for c in m.group(0))))
            self.pos -= 1
        return self.name()

    def postfix(self, e):
        while True:
            if self.text.startswith("[", self.pos):  # X[:, j] (no space before it)
                e = self.subscript(e)
                continue
            rest = self.text[self.pos:]
            if rest.startswith("ᵀ"):
                self.pos += 1
                e = E.transpose(e)
                continue
            done = False
            for text, op in self.transposed.items():
                if rest.startswith(text):
                    self.pos += len(text)
                    e, done = E.transpose(E.call(op, e)), True
                    break
            if done:
                continue
            ring = rest.startswith("∘")
            m = _SUPERSCRIPT.match(self.text, self.pos + ring)
            if m is not None:
                self.pos = m.end()
                k = int("".join(_UNSUP[c] for c in m.group(0)))
                e = _power(e, E.num(k), ring)
                continue
            if rest.startswith("^"):
                self.pos += 1
                ring = self.take("∘")
                e = _power(e, self.unary_exponent(), ring)
                continue
            for text, op in self.postfixes.items():
                if rest.startswith(text) and not _SUPERSCRIPT.fullmatch(text):
                    self.pos += len(text)
                    e, done = E.call(op, e), True
                    break
            if not done:
                return e

    def unary_exponent(self) -> E.Expr:
        """An exponent after ^: a number, a name or a bracket, perhaps negated."""
        if self.take("-"):
            return E.neg(self.unary_exponent())
        return self.postfix(self.atom())

    def subscript(self, e: E.Expr) -> E.Expr:
        """``X[i, j]``, ``X[:, j]``, ``x[1:3]``, ``X[1:3, :]`` (0-based, as NumPy)."""
        at = self.pos
        self.pos += 1
        items = []
        while True:
            items.append(self.subitem())
            if self.take("]"):
                break
            self.expect(",")
        try:
            return E.subscript(e, items)
        except MatcalcError as err:
            raise self.error(err.message, at) from None

    def subitem(self):
        def bound():
            self.skip()
            m = re.compile(r"-?[0-9]+|[A-Za-z][A-Za-z0-9_]*").match(self.text, self.pos)
            if m is None:
                return None
            self.pos = m.end()
            return int(m.group(0)) if m.group(0).lstrip("-").isdigit() else m.group(0)
        start = bound()
        if not self.take(":"):
            if not isinstance(start, int):
                raise self.error("expected an index")
            return start
        return slice(start, bound())


class _LatexReader(_Reader):
    """The LaTeX of :class:`matcalc.printing.latex.LatexPrinter`, in either style."""

    spaces = (" ", "\t", "\n", r"\,")
    products = {r"\odot": _hadamard, r"\oslash": E.div, r"\cdot": _juxtapose, "/": E.div}
    tuple_pieces = (r"\begin{bmatrix}", r"\\", r"\end{bmatrix}")
    call_open, call_close = r"\left(", r"\right)"
    _NOT_OPERANDS = (r"\odot", r"\oslash", r"\cdot", r"\right", r"\end", "\\\\")

    def __init__(self, text, variables):
        super().__init__(text, variables)
        for style in STYLES:
            for v in self.vars:
                name = latex_name(v.name, v.rank, style)
                self.words[name] = lambda v=v: v
                self.words[r"\mathrm{d}" + name] = \
                    lambda v=v: E.var(v.name, v.shape, True, v.structure)
            for letter in (r"\mathbf{I}", "I"):
                self.words.setdefault(letter, lambda: E.eye(self.fresh()))
        for v in self.vars:
            for d in v.shape:
                if isinstance(d, str):
                    self.words.setdefault(dim_latex(d), lambda d=d: E.size(d))
        self.words[r"\mathbf{1}"] = lambda: E.ones((self.fresh(),))
        self.words[r"\mathbf{0}"] = lambda: E.num(0)
        self.transposed = {op.latex_transposed.text: op for op in ops.REGISTRY.values()
                           if op.latex_transposed is not None}
        self.prefixes = {op.latex.text: op for op in ops.REGISTRY.values()
                         if op.latex.style == "prefix"}
        self.add_forms((op.latex, op) for op in ops.REGISTRY.values())

    def call_spelling(self, form):
        return call_name(form)

    def operand_start(self, rest):
        if rest[0] == "\\":
            return not rest.startswith(self._NOT_OPERANDS)
        return rest[0].isalnum() or rest[0] == "{"

    def atom(self):
        e = self.number()
        if e is not None:
            return e
        if self.take("{"):  # a group; {x}_{i} is entry i (1-based)
            e = self.inside(["}"], self.sum)
            self.expect("}")
            if self.take("_{"):
                i = self.number()
                self.expect("}")
                e = E.subscript(e, [int(i.value) - 1])
            return e
        if self.take(self.call_open):
            e = self.inside([self.call_close], self.sum)
            self.expect(self.call_close)
            return e
        if self.take(r"\frac{"):
            top = self.inside(["}"], self.sum)
            self.expect("}{")
            bottom = self.inside(["}"], self.sum)
            self.expect("}")
            return E.div(top, bottom)
        e = self.notation()
        if e is not None:
            return e
        for letter in (r"\mathbf{e}_{", "e_{"):  # a unit vector, 0-based
            if letter[:-2] not in self.words and self.take(letter):
                i = self.number()
                self.expect("}")
                return E.select(self.fresh(), int(i.value))
        return self.name()

    def postfix(self, e):
        while self.take("^{"):
            e = self.superscript(e)
            self.expect("}")
        return e

    def superscript(self, e: E.Expr) -> E.Expr:
        if self.take(r"\top"):
            return E.transpose(e)
        for text, op in self.transposed.items():
            if self.take(text):
                return E.transpose(E.call(op, e))
        ring = self.take(r"\circ")
        return _power(e, self.inside(["}"], self.sum), ring)


def read_text(text: str, variables: Variables, shape: Optional[tuple] = None) -> E.Expr:
    """The expression the Unicode ``text`` (as :func:`~matcalc.printing.text.to_unicode`
    writes it) stands for. ``variables``: the variables it may name (Var nodes, or
    a mapping name -> shape); ``shape``: the shape of the result, which fixes the
    sizes the text leaves open (𝟏, I). Raises ParseError (with the position) on text
    the printer does not write."""
    return _TextReader(text, variables).read(shape)


def read_latex(text: str, variables: Variables, shape: Optional[tuple] = None) -> E.Expr:
    """The expression the LaTeX ``text`` (as :func:`~matcalc.printing.latex.to_latex`
    writes it, bold or plain) stands for; see :func:`read_text`."""
    return _LatexReader(text, variables).read(shape)
