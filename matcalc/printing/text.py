"""Text printers: ``AsciiPrinter`` writes the input language (it parses back to the
same expression); ``UnicodePrinter`` writes mathematics as a textbook does
(``xᵀ``, ``A⁻¹``, ``⊙``, ``𝟏``, ``[z > 0]``)."""
from __future__ import annotations

from fractions import Fraction

from ..core import expr as E
from ..core import shapes as S
from ..errors import UsageError
from .base import (PREC_ADD, PREC_ATOM, PREC_MUL, PREC_NEG, PREC_POSTFIX, PREC_POW,
                   PREC_SIGNED, Printer, power_base)

DIALECTS = ("default", "matlab")


def _fraction_text(v: Fraction) -> tuple[str, int]:
    """An exact number: ``2``, ``0.5``, ``1/3``."""
    sign = "-" if v < 0 else ""
    a = abs(v)
    if a.denominator == 1:
        text = str(a.numerator)
        prec = PREC_ATOM
    else:
        d = a.denominator
        while d % 2 == 0:
            d //= 2
        while d % 5 == 0:
            d //= 5
        decimal = None
        if d == 1:
            digits = 0
            x = a
            while x.denominator != 1 and digits < 12:
                x *= 10
                digits += 1
            if digits <= 6:
                decimal = f"{float(a):.{digits}f}"
        if decimal is not None:
            text, prec = decimal, PREC_ATOM
        else:
            text, prec = f"{a.numerator}/{a.denominator}", PREC_MUL
    if sign:  # -1/9 binds like a product, not like -x: a^(-1/9), not a^-1/9
        return sign + text, min(prec, PREC_NEG)
    return text, prec


class AsciiPrinter(Printer):
    """The input language: ``parse(str(e)) == e``; ``dialect="matlab"`` writes the
    matlab dialect (``*`` the matrix product, ``.*``, ``./``, ``.^`` element-wise)."""

    add_sym, sub_sym = " + ", " - "
    mul_sym, div_sym = " * ", " / "
    matmul_sym = " @ "
    neg_sym = "-"
    # a broadcast vector beside an operand that carries the shape prints as NumPy
    # broadcasts it: x (as rows), x[:, None] (as columns)
    compact_broadcast = True
    tick = "'"

    def __init__(self, names=None, dialect: str = "default") -> None:
        super().__init__(names)
        if dialect not in DIALECTS:
            raise UsageError(f"unknown dialect {dialect!r}: use one of {', '.join(DIALECTS)}")
        self.dialect = dialect
        if dialect == "matlab":
            self.mul_sym, self.div_sym, self.matmul_sym = " .* ", " ./ ", " * "
        self.pow_sym = ".^" if dialect == "matlab" else "^"

    def _print_Var(self, e):
        name = self.names.get(e, e.name)
        return ("d" + name if e.tangent else name), PREC_ATOM

    def _print_Num(self, e):
        return _fraction_text(e.value)

    def _print_Size(self, e):
        return str(e.dim), PREC_ATOM

    def _print_Eye(self, e):
        return f"eye({e.n})", PREC_ATOM

    def _print_Select(self, e):
        return f"eye({e.n})[:, {_select_cols(e)}]", PREC_POSTFIX

    def _print_Expand(self, e):
        # a vector broadcast, alone: the outer product with ones, v 𝟏ᵀ or 𝟏 vᵀ (which
        # parses back to the broadcast); an m×1 column: v[:, None]
        if e.arg.rank == 1 and e.axis == 1:
            if S.resolve(e.shape[1]) == 1:
                return self._column(e.arg), PREC_POSTFIX
            return (f"{self.parenthesize(e.arg, PREC_MUL)}{self.matmul_sym}ones({e.shape[1]})'",
                    PREC_MUL)
        if e.arg.rank == 1:
            return (f"ones({e.shape[0]}){self.matmul_sym}"
                    f"{self.parenthesize(e.arg, PREC_POSTFIX)}'", PREC_MUL)
        dims = ", ".join(str(d) for d in e.shape)
        c = E.const_value(e)
        if c in (0, 1) and len(e.shape) == 2 and e.shape[0] == 1:  # a row: ones(n)'
            return f"{'ones' if c == 1 else 'zeros'}({e.shape[1]})'", PREC_POSTFIX
        if c == 1:
            return f"ones({dims})", PREC_ATOM
        if c == 0:
            return f"zeros({dims})", PREC_ATOM
        # (a * b) * ones(n): a * b * ones(n) would expand a and b one by one
        return f"{self.parenthesize(e.arg, PREC_MUL, strict=True)} * ones({dims})", PREC_MUL

    def is_full(self, e: E.Expr) -> bool:
        """Does ``e`` print at its own shape (with its expanded scalars written as
        scalars)? An expanded scalar does not, nor a product or sum of them only."""
        t = type(e)
        if t is E.Expand:
            return e.arg.rank != 0
        if t is E.Pow:  # in a product, x^-1 prints as "/ x", x stripped like a factor
            ev = E.const_value(e.exp)
            return self.is_full(e.base) if ev is not None and ev < 0 and \
                ev.denominator == 1 else True
        if t is not E.Mul and t is not E.Add:
            return True
        memo = self.__dict__.setdefault("_full", {})
        hit = memo.get(e)
        if hit is None:
            hit = memo[e] = any(self.is_full(a) for a in e.args)
        return hit

    def carries(self, e: E.Expr) -> bool:
        """Does ``e`` print at its full shape with no broadcast of its own? (A scalar
        never does: beside a broadcast vector, ``a^2 * x`` would lose the rows.)"""
        t = type(e)
        if t is E.Expand or e.rank == 0:
            return False
        if t is E.Pow:
            return self.carries(e.base)
        if t is not E.Mul and t is not E.Add:
            return True
        memo = self.__dict__.setdefault("_carries", {})
        hit = memo.get(e)
        if hit is None:
            hit = memo[e] = any(self.carries(a) for a in e.args)
        return hit

    def fullness(self, operands) -> int:
        """2: the operands as NumPy broadcasts them give the shape (one carries it, or
        a column and a row broadcast meet); 1: one prints at its own shape; 0: none."""
        if not any(self.is_full(a) for a in operands):
            return 0
        bare = [E._split_coeff(a)[1] for a in operands]
        axes = {a.axis for a in bare if type(a) is E.Expand and a.arg.rank == 1}
        if self.compact_broadcast and (axes == {0, 1} or any(map(self.carries, operands))):
            return 2
        return 1

    def _operand(self, e: E.Expr, siblings_full: int, prec: int, strict=False) -> str:
        """An operand of an element-wise operation: an expanded scalar prints as the
        scalar when a sibling carries the shape (scalar expansion); a broadcast vector
        as NumPy broadcasts it when the shape comes out anyway (``fullness`` 2)."""
        if siblings_full == 2 and type(e) is E.Expand and e.arg.rank == 1:
            if e.axis == 1:
                return self._column(e.arg)
            return self.parenthesize(e.arg, prec, strict=True)  # (b + x) + A: one term
        if siblings_full and type(e) is E.Expand and e.arg.rank == 0:
            # x + (a + b): a sum (product) expanded as one term (factor) keeps its
            # parentheses, or it would parse as terms (factors) expanded one by one
            return self.parenthesize(e.arg, prec, True)
        return self.parenthesize(e, prec, strict)

    def _sum_fullness(self, e: E.Expr) -> int:
        """``fullness`` of a sum's terms: a scalar prints as the scalar beside a term
        that carries the shape (NumPy's broadcasting)."""
        return self.fullness(e.args)

    def _print_Add(self, e):
        terms = list(e.args)
        full = self._sum_fullness(e)
        out = []
        for i, t in enumerate(terms):
            c, factors = self.split_coeff(t)
            if i > 0 and c < 0:
                body = self._product(-c, factors, t, full)
                out.append(self.sub_sym + self._wrap(body, PREC_ADD, strict=True))
            else:
                body = self._operand(t, full, PREC_ADD) if i == 0 or c >= 0 else None
                out.append((self.add_sym if i else "") + body)
        return "".join(out), PREC_ADD

    def _wrap(self, printed: tuple[str, int], prec: int, strict=False) -> str:
        text, p = printed
        return self.paren(text) if (p < prec or (strict and p == prec)) else text

    def _product(self, c: Fraction, factors: list, whole: E.Expr, full: bool
                 ) -> tuple[str, int]:
        """``c`` times the element-wise product of ``factors``."""
        if not factors:
            return _fraction_text(c) if full or not whole.rank else \
                self.print(E.constant(c, whole.shape))
        if c == 1 and len(factors) == 1:
            return self._operand_pair(factors[0], full)
        return self._print_mul_parts(c, factors, full)

    def _column(self, v: E.Expr) -> str:
        """The vector ``v`` as an m×1 column: ``v[:, None]``, or a reduction along the
        rows with ``keepdims=True``."""
        if type(v) is E.Call and v.op.axis == 1:
            return f"{v.op.text}({self._args(v)}, axis=1, keepdims=True)"
        return f"{self.parenthesize(v, PREC_POSTFIX)}[:, None]"

    def _operand_pair(self, e, full):
        if full == 2 and type(e) is E.Expand and e.arg.rank == 1:
            if e.axis == 1:
                return self._column(e.arg), PREC_POSTFIX
            return self.print(e.arg)
        if full and type(e) is E.Expand and e.arg.rank == 0:
            return self.print(e.arg)
        return self.print(e)

    def _print_Mul(self, e):
        c, factors = self.split_coeff(e)
        return self._print_mul_parts(c, factors, False)

    def _print_mul_parts(self, c: Fraction, factors: list, full: bool) -> tuple[str, int]:
        num, den = [], []
        if full or any(self.is_full(f) for f in factors):
            # a scalar expanded beside a factor that carries the shape prints as the
            # scalar's own factors, divisors last: x / norm2(x), not norm2(x)^-1 * x
            factors = [g for f in factors for g in self._scalar_factors(f)]
        for f in factors:
            d = _broadcast_divisor(f) if any(map(self.carries, factors)) else None
            if d is not None:  # v⁻¹ broadcast: "/ v[:, None]"
                den.append(d)
                continue
            if type(f) is E.Pow:
                ev = E.const_value(f.exp)
                # x^-2 is "/ x^2"; x^-0.5 stays x^-0.5 (1 / x^0.5 is another node)
                if ev is not None and ev < 0 and ev.denominator == 1:
                    den.append(f.base if ev == -1 else E.power(f.base, E.num(-ev)))
                    continue
            num.append(f)
        # an expanded scalar prints as the scalar only when another factor, as printed,
        # carries the shape
        full = max(int(full), self.fullness(num + den))
        neg = c < 0
        c = abs(c)
        parts = []
        if c != 1 or not num:
            if c.denominator != 1 and not num:
                parts.append(str(c.numerator))
                den.insert(0, E.num(c.denominator))
            else:
                parts.append(self._wrap(_fraction_text(c), PREC_MUL))
        scalars_only = True  # so far: then c * A @ B needs no brackets ((cA)B = c(AB))
        for i, f in enumerate(num):
            strict = bool(parts) and not (scalars_only and (type(f) is E.MatMul or type(f)
                                                            is E.Expand and f.arg.rank == 1))
            parts.append(self._operand(f, full, PREC_MUL, strict=strict))
            scalars_only = scalars_only and (f.rank == 0 or type(f) is E.Expand
                                             and f.arg.rank == 0)
        text = self._join_factors(parts, num, full)
        prec = PREC_MUL
        if len(parts) == 1 and not den:
            prec = self._operand_prec(num[0], full) if num else _fraction_text(c)[1]
        for d in den:
            text += self.div_sym + self._operand(d, full, PREC_MUL, strict=True)
        if neg and len(parts) == 1 and num and not den and type(num[0]) is E.MatMul \
                and E.const_value(num[0].args[0]) is not None:
            # -(ones(1, n) @ A): (-ones(1, n)) @ A would be another node
            return f"-({text})", PREC_NEG
        if neg:
            return self._negate(text, prec)
        return text, prec

    def _join_factors(self, parts: list, num: list, full) -> str:
        """The printed factors joined by ``*``; in matlab, ``.*`` between operands
        that both have a shape (``*`` would be their matrix product)."""
        if self.dialect != "matlab":
            return self.mul_sym.join(parts)
        scalar = [True] * (len(parts) - len(num)) + [
            f.rank == 0 or bool(full) and type(f) is E.Expand and f.arg.rank == 0 for f in num]
        out = parts[0]
        for i in range(1, len(parts)):
            out += (" * " if all(scalar[:i]) or scalar[i] else self.mul_sym) + parts[i]
        return out

    def _scalar_factors(self, f: E.Expr) -> list:
        """An expanded product of scalars as its factors (scalars), else ``[f]``."""
        if type(f) is E.Expand and f.arg.rank == 0 and type(f.arg) in (E.Mul, E.Pow) \
                and E.const_value(f) is None:
            return list(f.arg.args) if type(f.arg) is E.Mul else [f.arg]
        return [f]

    def _operand_prec(self, e, full) -> int:
        """Precedence of an operand as printed by ``_operand`` (parenthesized: an atom)."""
        p = self._operand_pair(e, full)[1]
        return p if p >= PREC_MUL else PREC_ATOM

    def _negate(self, text: str, prec: int) -> tuple[str, int]:
        """``-text``: a product needs no parentheses (-(a b) and (-a) b are one thing)."""
        if prec >= PREC_MUL:
            return "-" + text, min(prec, PREC_NEG)
        return f"-({text})", PREC_NEG

    def _print_Pow(self, e):
        base = self.parenthesize(power_base(e), PREC_POW, strict=True)
        ev = E.const_value(e.exp)
        if ev is not None:
            exp = self._wrap(_fraction_text(ev), PREC_POW if ev >= 0 else PREC_NEG)
        else:
            exp = self.parenthesize(e.exp, PREC_POW)
        sym = self.pow_sym if power_base(e).rank else "^"
        return f"{base}{sym}{exp}", PREC_POW

    def _print_MatMul(self, e):
        if len(e.args) == 1:
            return self.print(e.args[0])
        parts = [self.parenthesize(f, PREC_MUL, strict=i > 0) if type(f) is not str else f
                 for i, f in enumerate(_indexed(e.args, self))]
        if len(parts) == 1:   # an entry, a row or a slice: X[:, j]
            return parts[0], PREC_POSTFIX
        return self.matmul_sym.join(parts), PREC_MUL

    def _print_Transpose(self, e):
        return self.parenthesize(e.arg, PREC_POSTFIX) + "'", PREC_POSTFIX

    def _args(self, e: E.Expr) -> str:
        """Arguments; in max(0, z) the expanded 0 prints as 0 (scalar expansion)."""
        full = self.fullness(e.args) if len(e.args) > 1 else 0
        return ", ".join(self._operand(a, full, 0) for a in e.args)

    def _print_Call(self, e):
        return f"{e.op.text}({self._args(e)}{_axis(e)})", PREC_ATOM

    def _print_VecLit(self, e):
        return "[" + ", ".join(self.print(a)[0] for a in e.args) + "]", PREC_ATOM

    def _print_Entry(self, e):
        return f"{self.parenthesize(e.args[0], PREC_POSTFIX)}[{e.index}]", PREC_POSTFIX


_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class UnicodePrinter(AsciiPrinter):
    """Mathematics as printed in the paper: ``xᵀ(A + Aᵀ)``, ``X⁻ᵀ``, ``diag(x)``, ``𝟏``;
    ``X∘²`` the element-wise power of a matrix (``X²`` is the matrix power);
    :mod:`matcalc.printing.readback` reads it back."""

    mul_sym = " ⊙ "
    div_sym = " ⊘ "
    compact_broadcast = False  # x𝟏ᵀ, 𝟏xᵀ: the broadcast is written
    tick = "ᵀ"

    def _print_Num(self, e):
        text, prec = _fraction_text(e.value)
        return text, (PREC_SIGNED if e.value < 0 else prec)

    def _sum_fullness(self, e):
        # a scalar beside a vector is the paper's scalar expansion (x + z); beside a
        # matrix it is written as the matrix it stands for (I - n⁻¹𝟏𝟏ᵀ)
        return 0 if e.rank == 2 else super()._sum_fullness(e)

    def _negate(self, text: str, prec: int) -> tuple[str, int]:
        return ("-" + text if prec >= PREC_MUL else f"-({text})"), PREC_SIGNED

    def _print_Eye(self, e):
        return "I", PREC_ATOM

    def _print_Select(self, e):
        if e.stop is None:  # the unit vector eᵢ (0-based, as the index was written)
            return "e" + str(e.start).translate(_SUB), PREC_ATOM
        return f"I[:, {_select_cols(e)}]", PREC_POSTFIX

    def _print_Expand(self, e):
        if e.arg.rank == 1 and e.axis == 1:  # each column the vector: x𝟏ᵀ
            return f"{self.parenthesize(e.arg, PREC_POSTFIX)}𝟏ᵀ", PREC_MUL
        if e.arg.rank == 1:
            return f"𝟏{self.parenthesize(e.arg, PREC_POSTFIX)}ᵀ", PREC_MUL
        c = E.const_value(e)
        if c == 1:
            return _ones(e.shape), (PREC_ATOM if e.rank == 1 else PREC_POSTFIX
                                    if _is_row(e.shape) else PREC_MUL)
        if c == 0:
            return ("𝟎ᵀ", PREC_POSTFIX) if _is_row(e.shape) else ("𝟎", PREC_ATOM)
        if c is not None and c < 0:  # -𝟏, -2𝟏: the sign in front, not (-1)𝟏
            return f"-{'' if c == -1 else _fraction_text(-c)[0]}{_ones(e.shape)}", PREC_SIGNED
        return f"{self.parenthesize(e.arg, PREC_MUL)}{_ones(e.shape)}", PREC_MUL

    def _print_mul_parts(self, c, factors, full):
        full = full or any(self.is_full(f) for f in factors)
        scalar_shape = all(f.rank == 0 for f in factors)
        # scalars (numbers, expanded scalars) in front, juxtaposed; the rest with ⊙, ⊘
        scal, num, den = [], [], []
        for f in factors:
            if type(f) is E.Pow:
                ev = E.const_value(f.exp)
                if ev is not None and ev < 0:
                    den.append(f.base if ev == -1 else E.power(f.base, E.num(-ev)))
                    continue
            d = _broadcast_divisor(f)
            if d is not None:  # a broadcast divisor: X ⊘ (v𝟏ᵀ)
                den.append(d)
                continue
            if not scalar_shape and type(f) is E.Expand and f.arg.rank == 0:
                ev = E.const_value(f.arg.exp) if type(f.arg) is E.Pow else None
                if ev is not None and ev < 0:  # a scalar divisor: xᵀ / ‖x‖
                    base = f.arg.base if ev == -1 else E.power(f.arg.base, E.num(-ev))
                    den.append(base)
                    continue
                scal.append(f.arg)
            else:
                num.append(f)
        neg = c < 0
        c = abs(c)
        if not scalar_shape and num and den and (c != 1 or scal) and \
                all(d.rank == 0 for d in den):
            return self._coeff_fraction(c, scal, num, den, neg)
        head = []
        if c != 1 or not (num or scal):
            t = _fraction_text(c)
            head.append(self.paren(t[0]) if t[1] < PREC_ATOM and (num or scal) else t[0])
        for s in scal:
            head.append(self.parenthesize(s, PREC_POW))
        sym = " / " if scalar_shape else self.div_sym
        if scalar_shape:
            # one-letter factors are juxtaposed (2xy cos(x)), the others spaced
            groups: list = []
            for f in num:
                if self._short(f) and groups and groups[-1][1]:
                    groups[-1][0] += self.parenthesize(f, PREC_POW)
                else:
                    short = self._short(f)
                    groups.append([self.parenthesize(f, PREC_POW) if short else
                                   self.parenthesize(f, PREC_MUL, strict=True), short])
            body = " ".join(g[0] for g in groups)
        elif len(num) == 1:
            body = self.parenthesize(num[0], PREC_MUL)
        else:
            body = self.mul_sym.join(self.parenthesize(f, PREC_MUL, strict=True) for f in num)
        text = "".join(head) if all(len(h) <= 2 for h in head) else " ".join(head)
        if body:
            text = f"{text} {body}" if text and not self._juxt(text, body, num) else text + body
        if not text:
            text = "1"
        if not (scalar_shape or num or full):  # only expanded scalars: ab𝟏, not ab
            text += _ones(factors[0].shape)
        prec = PREC_MUL
        if len(num) == 1 and not (scal or den) and c == 1:
            prec = self._operand_prec(num[0], full)
        for d in den:
            text += (" / " if d.rank == 0 else sym) + self._operand(d, full, PREC_MUL,
                                                                   strict=True)
        if neg:
            return self._negate(text, prec)
        return text, prec

    def _coeff_fraction(self, c, scal, num, den, neg):
        """A scaled non-scalar over scalar divisors as the paper writes it:
        ``(2/N) eᵀX`` rather than ``2 eᵀX / N``."""
        top = ([str(c.numerator)] if c.numerator != 1 or not scal else [])
        top += [self.parenthesize(x, PREC_POW) for x in scal]
        bottom = ([str(c.denominator)] if c.denominator != 1 else [])
        bottom += [self.parenthesize(d, PREC_POW) for d in den]
        joint = "" if all(len(t) <= 2 for t in top + bottom) else " "
        coeff = f"({joint.join(top)}/{joint.join(bottom)})"
        if len(num) == 1:
            body = self.parenthesize(num[0], PREC_MUL)
        else:
            body = self.mul_sym.join(self.parenthesize(f, PREC_MUL, strict=True) for f in num)
            body = self.paren(body)
        text = f"{coeff} {body}"
        return ("-" + text, PREC_SIGNED) if neg else (text, PREC_MUL)

    @staticmethod
    def _short(e):
        if type(e) is E.Pow and type(e.base) in (E.Var, E.Size) and len(str(e.base)) == 1:
            ev = E.const_value(e.exp)
            return ev is not None and ev.denominator == 1 and 0 < ev < 10
        return type(e) in (E.Var, E.Size) and len(str(e)) == 1

    def _juxt(self, head, body, num):
        return head[-1].isdigit() and bool(num) and body[:1].isalpha() and \
            self._short(num[0])

    def _print_Pow(self, e):
        ev = E.const_value(e.exp)
        # the Hadamard power of a matrix, X∘², X^∘0.5: X² is its matrix power
        ring = "∘" if power_base(e).rank == 2 else ""
        if ev is not None and ev.denominator == 1 and abs(ev) < 100:
            base = self.parenthesize(e.base, PREC_POSTFIX)
            return base + ring + str(ev.numerator).translate(_SUP), PREC_POSTFIX
        if ev == Fraction(1, 2) and not ring:
            return "√" + self.parenthesize(e.base, PREC_POSTFIX), PREC_POSTFIX
        text, prec = AsciiPrinter._print_Pow(self, e)
        return (text.replace("^", "^" + ring, 1) if ring else text), prec

    def _print_MatMul(self, e):
        if len(e.args) == 1:
            return self.print(e.args[0])
        parts = [self.parenthesize(f, PREC_POSTFIX) if type(f) is not str else f
                 for f in _indexed(e.args, self)]
        if len(parts) == 1:   # an entry, a row or a slice: X[:, j]
            return parts[0], PREC_POSTFIX
        tight = all(self._tight(p) for p in parts)
        return ("" if tight else " ").join(parts), PREC_MUL

    @staticmethod
    def _tight(text: str) -> bool:
        """Juxtapose ``xᵀAx`` when every factor is one letter (with super-scripts) or
        a bracketed group."""
        core = text.rstrip("ᵀ⁻¹²³⁴⁵⁶⁷⁸⁹⁰")
        return len(core) == 1 or (text.startswith("(") and text.endswith(("ᵀ", ")", "¹")))

    def _print_Transpose(self, e):
        a = e.arg
        if type(a) is E.Call and a.op.unicode_transposed is not None:
            return self._form(a.op.unicode_transposed, a)
        if type(a) is E.Call and _has_exponent(a.op.unicode):
            return self.paren(self.print(a)[0]) + "ᵀ", PREC_POSTFIX  # (A³)ᵀ, not A³ᵀ
        return self.parenthesize(a, PREC_POSTFIX) + "ᵀ", PREC_POSTFIX

    def _print_Call(self, e):
        return self._form(e.op.unicode, e)

    def _form(self, form, e):
        """A function written in its notation (:class:`matcalc.ops.Form`)."""
        if form.style == "call":
            return f"{form.text}({self._args(e)}{_axis(e)})", PREC_ATOM
        if form.style == "wrap":
            return form.text.format(*[self.print(a)[0] for a in e.args]), PREC_ATOM
        if form.style == "product":
            x = self.parenthesize(e.args[0], PREC_POSTFIX)
            return form.text.format(x=x, xT=x + "ᵀ"), PREC_MUL
        if _has_exponent(form):
            # a power: the base bracketed if it has a superscript already ((A⁻¹)³),
            # the further arguments {1}, {2}... written as superscripts
            base = self.parenthesize(e.args[0], PREC_POSTFIX, strict=True)
            sups = [""] + [self._superscript(a) for a in e.args[1:]]
            return base + form.text.format(*sups), PREC_POSTFIX
        arg = self.parenthesize(e.args[0], PREC_POSTFIX)
        if form.style == "postfix":
            return arg + form.text, PREC_POSTFIX
        return form.text + arg, PREC_POSTFIX

    def _superscript(self, e: E.Expr) -> str:
        """``e`` as a superscript: a number in superscript digits, else ^(e)."""
        text = self.print(e)[0]
        if text and all(ch in "0123456789-" for ch in text):
            return text.translate(_SUP)
        return "^" + self.paren(text)


_SUB = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")


def _is_row(shape: tuple) -> bool:
    return len(shape) == 2 and str(shape[0]) == "1"


def _ones(shape: tuple) -> str:
    """Ones of ``shape``, as the paper writes them: 𝟏, a row 𝟏ᵀ, a matrix 𝟏𝟏ᵀ."""
    if _is_row(shape):
        return "𝟏ᵀ"
    return "𝟏𝟏ᵀ" if len(shape) == 2 else "𝟏"


def _select_cols(e) -> str:
    """The columns of I a ``Select`` takes, as a subscript: ``2`` or ``0:k``."""
    if e.stop is None:
        return str(e.start)
    return f"{'' if e.start == 0 else e.start}:{e.stop}"


def _indexed(factors, printer) -> list:
    """A product's factors with the selections of indexing written as subscripts
    (``X eⱼ`` as ``X[:, j]``, ``Sᵀx`` as ``x[1:3]``), as text; parses back to the
    same product."""
    out: list = []
    tick = printer.tick
    i = 0
    while i < len(factors):
        f = factors[i]
        nxt = factors[i + 1] if i + 1 < len(factors) else None
        after = factors[i + 2] if i + 2 < len(factors) else None
        row = type(f) is E.Transpose and type(f.arg) is E.Select
        if row and f.arg.stop is None and nxt is not None and nxt.rank == 2 and \
                type(after) is E.Select and after.stop is None and not _is_selection(nxt):
            # eᵢᵀ A eⱼ: the entry A[i, j]
            out.append(f"{printer.parenthesize(nxt, PREC_POSTFIX)}"
                       f"[{f.arg.start}, {after.start}]")
            i += 3
            continue
        if nxt is not None and type(nxt) is E.Select and f.rank == 2 and \
                not _is_selection(f):
            if type(f) is E.Transpose and nxt.stop is None:   # Aᵀeᵢ: row i of A
                out.append(f"{printer.parenthesize(f.arg, PREC_POSTFIX)}[{nxt.start}]")
            else:
                out.append(f"{printer.parenthesize(f, PREC_POSTFIX)}[:, {_select_cols(nxt)}]")
            i += 2
            continue
        if nxt is not None and row and not _is_selection(nxt):
            sel, base = f.arg, printer.parenthesize(nxt, PREC_POSTFIX)
            if nxt.rank == 1:
                out.append(f"{base}[{_select_cols(sel)}]")
            elif sel.stop is None:   # eᵢᵀA: row i as a row vector
                out.append(f"{base}[{sel.start}]{tick}")
            else:
                out.append(f"{base}[{_select_cols(sel)}, :]")
            i += 2
            continue
        out.append(f)
        i += 1
    return out


def _is_selection(f) -> bool:
    return type(f) is E.Select or type(f) is E.Transpose and type(f.arg) is E.Select


def _broadcast_divisor(f: E.Expr):
    """For a factor ``v⁻ᵏ`` broadcast, the broadcast ``vᵏ`` it divides by; else None."""
    if type(f) is E.Expand and f.arg.rank == 1 and type(f.arg) is E.Pow:
        ev = E.const_value(f.arg.exp)
        if ev is not None and ev < 0 and ev.denominator == 1:
            base = f.arg.base if ev == -1 else E.power(f.arg.base, E.num(-ev))
            return E.expand(base, f.shape, f.axis)
    return None


def _axis(e) -> str:
    """``, axis=N`` for an axis-wise function."""
    return "" if e.op.axis is None else f", axis={e.op.axis}"


def _has_exponent(form) -> bool:
    """A postfix notation that writes further arguments as an exponent (A³: ``{1}``)."""
    return form.style == "postfix" and "{1}" in form.text


def to_text(e: E.Expr, names=None, dialect: str = "default") -> str:
    """The expression in the input language of ``dialect`` (parses back to ``e``);
    ``names`` maps variables to the names to print instead."""
    return AsciiPrinter(names, dialect).doprint(e)


def to_unicode(e: E.Expr, names=None) -> str:
    """The expression as mathematics, with Unicode symbols."""
    return UnicodePrinter(names).doprint(e)
