"""The index (Einstein) form of a derivative as text: Unicode, ASCII (the input
language's spirit), LaTeX and plain data. The form itself is computed by
:mod:`matcalc.calculus.index`; nothing here differentiates.

::

    ∂fᵢ/∂Wⱼₖ = (1 - tanh(Wx)²)ᵢ δᵢⱼ xₖ                          Unicode
    df[i]/dW[j,k] = (1 - tanh(W @ x)^2)[i] * delta(i,j) * x[k]     ASCII
    \\frac{\\partial f_{i}}{\\partial W_{jk}} = \\left( ... \\right)_{i} \\delta_{ij} x_{k}

The indices of ``f`` come first, then those of the variable (once per order): the
numeric contract's order. A free index (on the left) is never summed, every other
index is. Each factor is printed by the expression printers, bracketed unless it is
a name or a call (``softmax(Wx)ᵢ``); a factor without indices (a scalar) takes no
subscript; a Kronecker delta is ``δᵢⱼ``. Within a term, a delta is written after
the first factor that shares an index with it. Indices beyond
:data:`~matcalc.calculus.index.LETTERS` (``i1``, ``i2``...) have no Unicode
subscript: such a form is written with brackets throughout (``X[i1, j]``,
``δ[i1, j]``).
"""
from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

from ..core import expr as E
from ..core import shapes as S
from .base import PREC_ATOM, PREC_MUL, PREC_POSTFIX, OutputBudget
from .latex import LatexPrinter, latex_name
from .text import AsciiPrinter, UnicodePrinter, _fraction_text

_SUB = dict(zip("ijklmnprstuvah", "ᵢⱼₖₗₘₙₚᵣₛₜᵤᵥₐₕ"))
_SUP = {1: "", 2: "²", 3: "³"}


def _short_name(text: str) -> bool:
    """Letters only (Greek too, no ᵀ or subscript digits): a subscript attaches."""
    return bool(text) and all(unicodedata.category(c) in ("Lu", "Ll", "Lo") for c in text)


class _Style:
    """One notation: how a factor, a delta, a coefficient and the left side look."""

    def __init__(self, form, printer):
        self.form = form
        self.printer = printer
        self.brackets = any(not (isinstance(i, str) and i in _SUB)
                            for i in _all_indices(form))

    def show(self, e: E.Expr) -> tuple[str, int]:
        self.printer.doprint(e)
        return self.printer.print(e)

    def scalar(self, e: E.Expr, alone: bool) -> str:
        """A factor with no index: bracketed unless it binds tighter than a product
        or is a whole term by itself."""
        text, prec = self.show(e)
        return text if alone or prec > PREC_MUL else self.printer.paren(text)


def _all_indices(form):
    out = [i for i in form.free if i is not None]
    for t in form.terms:
        out += [i for i, _ in t.sizes]
    return out


# ------------------------------------------------------------------ Unicode

class _Unicode(_Style):
    times = " "
    plus, minus = " + ", " - "

    def __init__(self, form):
        super().__init__(form, UnicodePrinter())

    def subscript(self, indices) -> str:
        idx = [i for i in indices if i is not None]
        if not idx:
            return ""
        if self.brackets:
            return "[" + ", ".join(idx) + "]"
        return "".join(_SUB[i] for i in idx)

    def indexed(self, e: E.Expr, indices) -> str:
        text, prec = self.show(e)
        sub = self.subscript(indices)
        if not sub:
            return text
        if prec >= PREC_ATOM and (text.endswith(")") or _short_name(text)):
            return text + sub
        return self.printer.paren(text) + sub

    def delta(self, a: str, b: str) -> str:
        return "δ" + self.subscript((a, b))

    def coeff(self, c: Fraction, empty: bool) -> str:
        """The coefficient's magnitude in front of the factors ('' for 1)."""
        if empty:
            return _fraction_text(c)[0]
        if c == 1:
            return ""
        text, prec = _fraction_text(c)
        return (text if prec >= PREC_ATOM else f"({text})") + self.times

    def name_f(self) -> tuple[str, bool]:
        """f's name on the left: its printed expression when it is a name, or a name
        transposed or inverted (Xᵀ, X⁻¹), in at most 12 characters; else ``f`` (a power
        is not named: X² would read as a matrix power). The flag: bracket it before a
        subscript."""
        f = self.form.derivative.f
        text, prec = self.show(f)
        if len(text) > 12:
            return "f", False
        if type(f) is E.Var:
            return (text, False) if _short_name(text) else ("f", False)
        inner = f.arg if type(f) is E.Transpose else f.args[0] if \
            type(f) is E.Call and len(f.args) == 1 else None
        if type(inner) is E.Call and len(inner.args) == 1:
            inner = inner.args[0]
        if type(inner) is E.Var and prec >= PREC_POSTFIX and not any(c in text for c in "( "):
            return text, True
        return "f", False

    def lhs(self) -> str:
        form, d = self.form, self.form.derivative
        order = len(form.wrt_indices)
        name, bracket = self.name_f()
        sub = self.subscript(form.f_indices)
        if bracket and sub:
            name = f"({name})"
        top = f"∂{_SUP.get(order, str(order))}{name}{sub}"
        names = [v.name for v in d.wrts]
        if not any(i is not None for w in form.wrt_indices for i in w):
            bottom = "".join(f"∂{v}" for v in names) if d.mixed else \
                f"∂{names[0]}{_SUP.get(order, str(order))}"
        else:
            names = [v if _short_name(v) or self.brackets else f"({v})" for v in names]
            bottom = "".join(f"∂{v}{self.subscript(w)}"
                             for v, w in zip(names, form.wrt_indices))
        return f"{top}/{bottom}"


class _Ascii(_Unicode):
    times = " * "

    def __init__(self, form):
        _Style.__init__(self, form, AsciiPrinter())
        self.brackets = True

    def subscript(self, indices) -> str:
        idx = [i for i in indices if i is not None]
        return "[" + ",".join(idx) + "]" if idx else ""

    def indexed(self, e: E.Expr, indices) -> str:
        text, prec = self.show(e)
        sub = self.subscript(indices)
        if not sub:
            return text
        if prec >= PREC_ATOM and (text.endswith(")") or re.fullmatch(r"\w+", text)):
            return text + sub
        return f"({text}){sub}"

    def delta(self, a: str, b: str) -> str:
        return f"delta({a},{b})"

    def coeff(self, c: Fraction, empty: bool) -> str:
        if empty:
            return _fraction_text(c)[0]
        if c == 1:
            return ""
        text, prec = _fraction_text(c)
        return (text if prec >= PREC_MUL else f"({text})") + self.times

    def name_f(self) -> tuple[str, bool]:
        name, bracket = _Unicode(self.form).name_f()
        if name == "f":
            return name, False
        return self.show(self.form.derivative.f)[0], bracket

    def lhs(self) -> str:
        form, d = self.form, self.form.derivative
        order = len(form.wrt_indices)
        name, bracket = self.name_f()
        sub = self.subscript(form.f_indices)
        if bracket:
            name = f"({name})"
        k = "" if order == 1 else str(order)
        names = [v.name for v in d.wrts]
        if not any(i is not None for w in form.wrt_indices for i in w):
            bottom = " ".join(f"d{v}" for v in names) if d.mixed else f"d{names[0]}{k}"
        else:  # a mixed derivative's variables apart: d2f/dc dW[i,j]
            bottom = (" " if d.mixed else "").join(
                f"d{v}{self.subscript(w)}" for v, w in zip(names, form.wrt_indices))
        return f"d{k}{name}{sub}/{bottom}"


class _Latex(_Style):
    times = " "
    plus, minus = " + ", " - "

    def __init__(self, form, style: str = "bold"):
        super().__init__(form, LatexPrinter(style=style))

    def subscript(self, indices) -> str:
        idx = [i for i in indices if i is not None]
        if not idx:
            return ""
        if all(len(i) == 1 for i in idx):
            return "_{" + "".join(idx) + "}"
        return "_{" + ", ".join(i if len(i) == 1 else f"{i[0]}_{{{i[1:]}}}"
                                for i in idx) + "}"

    def entry_name(self, e: E.Expr) -> str:
        """A variable's entries: the name set as a scalar's (``W_{jk}``, ``x_{k}``)."""
        name = latex_name(e.name, 0)
        return "{" + name + "}" if "_" in name or "^" in name else name

    def indexed(self, e: E.Expr, indices) -> str:
        sub = self.subscript(indices)
        if type(e) is E.Var and not e.tangent:
            return self.entry_name(e) + sub if sub else self.show(e)[0]
        text, prec = self.show(e)
        if not sub:
            return text
        if prec >= PREC_ATOM and text.endswith(r"\right)"):
            return text + sub
        return self.printer.paren(text) + sub

    def delta(self, a: str, b: str) -> str:
        return r"\delta" + self.subscript((a, b))

    def coeff(self, c: Fraction, empty: bool) -> str:
        a = abs(c)
        text = str(a.numerator) if a.denominator == 1 else \
            f"\\frac{{{a.numerator}}}{{{a.denominator}}}"
        if empty:
            return text
        return "" if a == 1 else text + self.times

    def lhs(self) -> str:
        form, d = self.form, self.form.derivative
        order = len(form.wrt_indices)
        name, bracket = _Unicode(form).name_f()
        sub = self.subscript(form.f_indices)
        if name == "f":
            top = "f" + sub
        elif type(d.f) is E.Var:
            top = self.entry_name(d.f) + sub
        else:
            text = self.show(d.f)[0]
            top = (self.printer.paren(text) if bracket and sub else text) + sub
        partial = r"\partial" if order == 1 else f"\\partial^{{{order}}}"
        v = d.wrt
        if not any(i is not None for w in form.wrt_indices for i in w):
            if d.mixed:
                bottom = r" \, ".join(f"\\partial {latex_name(w.name, w.rank)}"
                                      for w in d.wrts)
            else:
                vn = latex_name(v.name, v.rank)
                bottom = f"\\partial {vn}" + (f"^{{{order}}}" if order > 1 else "")
        else:
            bottom = r" \, ".join(f"\\partial {self.entry_name(v)}{self.subscript(w)}"
                                  for v, w in zip(d.wrts, form.wrt_indices))
        return f"\\frac{{{partial} {top}}}{{{bottom}}}"


# ------------------------------------------------------------------ the terms

def _term_parts(t, style, first: bool) -> list:
    """The factors and deltas of a term as text, each delta after the first factor
    sharing an index with it. A scalar factor is bracketed unless it binds tightly or
    is the whole of the first term (``a + c``, not ``2 a + c``)."""
    factors = [(f, set(i for i in f.indices if i is not None)) for f in t.factors]
    after: dict = {}
    tail = []
    for a, b in t.deltas:
        for k, (_, idx) in enumerate(factors):
            if a in idx or b in idx:
                after.setdefault(k, []).append((a, b))
                break
        else:
            tail.append((a, b))
    alone = first and t.coeff == 1 and len(t.factors) == 1 and not t.deltas
    parts = []
    for k, (f, idx) in enumerate(factors):
        if any(i is not None for i in f.indices):
            parts.append(style.indexed(f.expr, f.indices))
        else:
            parts.append(style.scalar(f.expr, alone))
        parts += [style.delta(a, b) for a, b in after.get(k, [])]
    parts += [style.delta(a, b) for a, b in tail]
    return parts


def _term(t, style, first: bool, budget: OutputBudget) -> str:
    parts = _term_parts(t, style, first)
    neg = t.coeff < 0
    body = style.coeff(abs(t.coeff), not parts) + style.times.join(parts)
    budget.add(body)
    if first:
        return ("-" if neg else "") + body
    return (style.minus if neg else style.plus) + body


def _render(form, style) -> str:
    budget = OutputBudget()
    lhs = budget.add(style.lhs())
    if not form.terms:
        return f"{lhs} = 0"
    rhs = "".join(_term(t, style, k == 0, budget) for k, t in enumerate(form.terms))
    return f"{lhs} = {rhs}"


def index_text(form, ascii: bool = False) -> str:
    """``∂fᵢ/∂Wⱼₖ = (1 - tanh(Wx)²)ᵢ δᵢⱼ xₖ`` (``ascii``: ``df[i]/dW[j,k] = ...`` in
    the input language's notation)."""
    return _render(form, _Ascii(form) if ascii else _Unicode(form))


def index_latex(form, style: str = "bold") -> str:
    """``\\frac{\\partial f_{i}}{\\partial W_{jk}} = ...`` (LaTeX math, no delimiters;
    ``style``: the factors' letters bold or plain, as :func:`matcalc.printing.latex.to_latex`)."""
    return _render(form, _Latex(form, style))


def _dim(d):
    d = S.resolve(d)
    return d if isinstance(d, int) else str(d)


def index_dict(form) -> dict:
    """The form as plain data: its three notations, the free indices (None for an
    axis of literal size 1) and the terms; each factor's ``expr`` is in the input
    language (a dimension's name there stands for its size), ``coeff`` an exact
    number as a string, ``sizes`` each index's dimension."""
    from .text import to_text
    return {
        "text": index_text(form),
        "ascii": index_text(form, ascii=True),
        "latex": index_latex(form),
        "f_indices": list(form.f_indices),
        "wrt_indices": [list(w) for w in form.wrt_indices],
        "terms": [{
            "coeff": str(t.coeff),
            "factors": [{"expr": to_text(f.expr), "indices": list(f.indices)}
                        for f in t.factors],
            "deltas": [list(p) for p in t.deltas],
            "sizes": {i: _dim(n) for i, n in t.sizes},
        } for t in form.terms],
    }

