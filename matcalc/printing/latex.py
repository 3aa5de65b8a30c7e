"""The LaTeX printer, in the Matrix Cookbook's conventions: bold vectors and matrices
(``\\mathbf{x}``, ``\\mathbf{X}``, ``\\boldsymbol{\\mu}``), or with ``style="plain"``
italic letters (``x``, ``X``); ``\\mathbf{1}`` for a vector of ones (``\\mathbf{1}
\\mathbf{1}^{\\top}`` for a matrix of them),
``\\operatorname{diag}``, ``\\odot`` and ``\\oslash`` for element-wise products and
quotients, ``^{\\circ 2}`` for an element-wise power of a matrix (``^{2}`` is the matrix
power), ``^\\top``, ``^{-1}``, ``^{-\\top}``, ``\\frac`` for scalar divisions and
``[z > 0]`` for the step function. :mod:`matcalc.printing.readback` reads it back.

Every string it writes is checked to render with KaTeX (``tests/test_latex.py``).
"""
from __future__ import annotations

import re
from fractions import Fraction

from ..calculus.result import Kind
from ..core import expr as E
from ..errors import UsageError
from .base import (PREC_ADD, PREC_ATOM, PREC_MUL, PREC_POSTFIX, PREC_SIGNED, Printer,
                   power_base)
from .report import kinks

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
    "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi",
    "Psi", "Omega",
}
_SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_NAME = re.compile(r"^(?P<base>[A-Za-z]+?)(?P<sub>_?[0-9₀-₉]+|_[A-Za-z0-9_]+)?$")
STYLES = ("bold", "plain")


def check_style(style: str) -> str:
    if style not in STYLES:
        raise UsageError(f"unknown LaTeX style {style!r}: use one of {', '.join(STYLES)}")
    return style


def latex_name(name: str, rank: int, style: str = "bold") -> str:
    """A variable's name: bold vectors and matrices (``\\mathbf{x}``, ``\\mathbf{W}``,
    ``\\boldsymbol{\\mu}``) in the ``bold`` style, italic letters in ``plain``; scalars
    ``b``, ``\\beta``, ``\\mathit{lr}``; a trailing index becomes a subscript (``u₁`` ->
    ``u_{1}``)."""
    m = _NAME.match(name)
    base, sub = (m.group("base"), m.group("sub")) if m else (name, None)
    bold = rank > 0 and check_style(style) == "bold"
    if base in GREEK:
        core = "\\" + base
        if bold:
            core = f"\\boldsymbol{{{core}}}"
    else:
        base = base.replace("_", r"\_")
        if bold:
            core = f"\\mathbf{{{base}}}"
        elif len(base) == 1:
            core = base
        else:
            core = f"\\mathit{{{base}}}"
    if sub:
        sub = sub.lstrip("_").translate(_SUBSCRIPT_DIGITS).replace("_", r"\_")
        core += f"_{{{sub}}}"
    return core


def _fraction(v: Fraction) -> tuple[str, int]:
    sign = "-" if v < 0 else ""
    a = abs(v)
    if a.denominator == 1:
        text, prec = str(a.numerator), PREC_ATOM
    else:
        text, prec = f"\\frac{{{a.numerator}}}{{{a.denominator}}}", PREC_ATOM
    if sign:
        return sign + text, PREC_SIGNED
    return text, prec


def dim_latex(d) -> str:
    s = str(d)
    if s.isdigit() or len(s) == 1:
        return s
    return latex_name(s, 0)


class LatexPrinter(Printer):
    """Expressions as LaTeX math (no surrounding ``$``); ``style``: ``"bold"`` (vectors
    and matrices bold, as the Matrix Cookbook) or ``"plain"`` (italic letters)."""

    def __init__(self, names=None, style: str = "bold") -> None:
        super().__init__(names)
        self.style = check_style(style)

    def paren(self, text: str) -> str:
        return f"\\left( {text} \\right)"

    # ---- leaves

    def _print_Var(self, e):
        name = latex_name(self.names.get(e, e.name), e.rank, self.style)
        if e.tangent:
            return f"\\mathrm{{d}}{name}", PREC_ATOM
        return name, PREC_ATOM

    def _print_Num(self, e):
        return _fraction(e.value)

    def _print_Size(self, e):
        return dim_latex(e.dim), PREC_ATOM

    def _letter(self, letter: str) -> str:
        """The identity's I and the unit vectors' e, in the style."""
        return f"\\mathbf{{{letter}}}" if self.style == "bold" else letter

    def _print_Eye(self, e):
        return self._letter("I"), PREC_ATOM

    def _print_Select(self, e):
        if e.stop is None:  # the unit vector e_i, 0-based as the index was written
            return f"{self._letter('e')}_{{{e.start}}}", PREC_ATOM
        lo = "" if e.start == 0 else e.start
        return f"{self._letter('I')}_{{:,\\,{lo}:{dim_latex(e.stop)}}}", PREC_ATOM

    def _print_Expand(self, e):
        if e.arg.rank == 1 and e.axis == 1:  # each column the vector: x 1ᵀ
            return f"{self.parenthesize(e.arg, PREC_POSTFIX)} \\mathbf{{1}}^{{\\top}}", PREC_MUL
        if e.arg.rank == 1:  # a vector repeated as rows
            top = self._sup(e.arg, r"\top")
            return f"\\mathbf{{1}} {top}", PREC_MUL
        c = E.const_value(e)
        ones = _ones(e.shape)
        if c == 1:
            return ones, (PREC_ATOM if e.rank == 1 else PREC_POSTFIX if _is_row(e.shape)
                          else PREC_MUL)
        if c == 0:
            return (r"\mathbf{0}^{\top}", PREC_POSTFIX) if _is_row(e.shape) else \
                (r"\mathbf{0}", PREC_ATOM)
        if c is not None and c < 0:  # -1, -2 1: the sign in front, not (-1) 1
            return f"-{'' if c == -1 else _fraction(-c)[0] + ' '}{ones}", PREC_SIGNED
        a = e.arg
        ev = E.const_value(a.exp) if type(a) is E.Pow else None
        if ev == -1:  # (1/N) 1ᵀ, not N⁻¹ 1ᵀ
            return f"\\frac{{1}}{{{self.print(a.base)[0]}}} {ones}", PREC_MUL
        return f"{self.parenthesize(a, PREC_MUL, strict=True)} {ones}", PREC_MUL

    # ---- element-wise sums and products

    def _operand(self, e, full, prec, strict=False):
        if full and type(e) is E.Expand and e.arg.rank == 0:
            return self.parenthesize(e.arg, prec, strict)
        return self.parenthesize(e, prec, strict)

    def _print_Add(self, e):
        # a scalar beside a vector is the paper's scalar expansion (x + z); beside a
        # matrix it is written as the matrix it stands for (I - (1/n) 1 1ᵀ)
        full = e.rank < 2 and any(self.is_full(t) for t in e.args)
        out = []
        for i, t in enumerate(e.args):
            c, factors = self.split_coeff(t)
            if i > 0 and c < 0:
                text, p = self._mul_parts(-c, factors, full) if factors else \
                    self.print(E.constant(-c, t.shape))
                if p <= PREC_ADD:
                    text = self.paren(text)
                out.append(" - " + text)
            else:
                out.append((" + " if i else "") + self._operand(t, full, PREC_ADD))
        return "".join(out), PREC_ADD

    def _print_Mul(self, e):
        c, factors = self.split_coeff(e)
        return self._mul_parts(c, factors, False)

    def _mul_parts(self, c: Fraction, factors: list, full: bool) -> tuple[str, int]:
        if not factors:
            return _fraction(c)
        full = full or any(self.is_full(f) for f in factors)
        scalar_shape = all(f.rank == 0 for f in factors)
        scal, num, den = [], [], []  # scalar coefficients, element-wise factors, divisors
        for f in factors:
            if type(f) is E.Pow:
                ev = E.const_value(f.exp)
                if ev is not None and ev < 0:
                    den.append(f.base if ev == -1 else E.power(f.base, E.num(-ev)))
                    continue
            if not scalar_shape and type(f) is E.Expand and f.arg.rank == 0:
                a = f.arg
                ev = E.const_value(a.exp) if type(a) is E.Pow else None
                if ev is not None and ev < 0:
                    den.append(a.base if ev == -1 else E.power(a.base, E.num(-ev)))
                    continue
                scal.append(a)
            else:
                num.append(f)
        neg = c < 0
        c = abs(c)
        den = [d.arg if type(d) is E.Expand and d.arg.rank == 0 else d for d in den]
        scalar_den = [d for d in den if d.rank == 0]
        ew_den = [d for d in den if d.rank != 0]
        if not num and ew_den:  # 1 ⊘ x, a ⊘ x: the coefficients are the numerator
            num, scal, c = [E.num(c) if not scal else E.mul(E.num(c), *scal)], [], Fraction(1)
        # the numerator of a fraction, or the coefficient in front
        if scalar_shape:
            top = " ".join(self.parenthesize(f, PREC_MUL, strict=True) for f in num)
        elif len(num) == 1 and not ew_den:  # c·AB: juxtaposition reads as a product
            top = self.parenthesize(num[0], PREC_MUL)
        else:
            top = r" \odot ".join(self.parenthesize(f, PREC_MUL, strict=True) for f in num)
            for d in ew_den:
                top += r" \oslash " + self._operand(d, full, PREC_MUL, strict=True)
            if len(num) > 1 or ew_den:
                if scal or c != 1 or scalar_den:
                    top = self.paren(top)
        coeff = [self.parenthesize(s, PREC_MUL, strict=True) for s in scal]
        if scalar_den or c.denominator != 1:
            fn = str(c.numerator)
            fd = [str(c.denominator)] if c.denominator != 1 else []
            fd += [self.parenthesize(d, PREC_MUL, strict=True) if len(scalar_den) > 1
                   else self.print(d)[0] for d in scalar_den]
            head = " ".join(([fn] if fn != "1" else []) + coeff)
            if scalar_shape:
                head = " ".join(x for x in (head, top) if x)
                text = f"\\frac{{{head or '1'}}}{{{' '.join(fd)}}}"
            elif not head and top:
                text = f"\\frac{{{top}}}{{{' '.join(fd)}}}"
            else:
                text = f"\\frac{{{head or '1'}}}{{{' '.join(fd)}}} {top}".rstrip()
            prec = PREC_MUL
        else:
            parts = ([str(c.numerator)] if c != 1 else []) + coeff + ([top] if top else [])
            text = " ".join(parts) if parts else "1"
            prec = PREC_MUL
            if len(parts) == 1 and len(num) == 1 and not (scal or den) and c == 1:
                p = self._operand_prec(num[0], full)
                prec = p
        if not (scalar_shape or num or full):  # only scalars, expanded: a 1
            text = f"{text} {_ones(factors[0].shape)}"
        if neg:
            return "-" + (text if prec >= PREC_MUL else self.paren(text)), PREC_SIGNED
        return text, prec

    def _operand_prec(self, e, full):
        if full and type(e) is E.Expand and e.arg.rank == 0:
            p = self.print(e.arg)[1]
        else:
            p = self.print(e)[1]
        return p if p >= PREC_MUL else PREC_ATOM

    # ---- powers, products, transposes

    def _sup(self, base: E.Expr, sup: str) -> str:
        """``base^{sup}``; a base that already has a superscript is parenthesized."""
        return f"{self.parenthesize(base, PREC_POSTFIX, strict=True)}^{{{sup}}}"

    def _print_Pow(self, e):
        ev = E.const_value(e.exp)
        base = power_base(e)
        if ev == Fraction(1, 2) and base.rank < 2:
            return f"\\sqrt{{{self.print(e.base)[0]}}}", PREC_ATOM
        if ev is not None:
            exp = _fraction(ev)[0] if ev.denominator == 1 else f"{ev.numerator}/{ev.denominator}"
            if ev < 0 and ev.denominator != 1:
                exp = f"-{-ev.numerator}/{ev.denominator}"
        else:
            exp = self.print(e.exp)[0]
        if base.rank == 2:  # the Hadamard power: X^{2} is the matrix power
            exp = f"\\circ {exp}"
        return self._sup(base, exp), PREC_POSTFIX

    def _print_MatMul(self, e):
        if len(e.args) == 1:
            return self.print(e.args[0])
        # a thin space around a differential: X^{-1} \, dX \, X^{-1}, not "dXX^{-1}"
        sep = r" \, " if any(_is_tangent(f) for f in e.args) else " "
        return sep.join(self.parenthesize(f, PREC_POSTFIX) for f in e.args), PREC_MUL

    def _print_Transpose(self, e):
        a = e.arg
        if type(a) is E.Call and a.op.latex_transposed is not None:
            return self._form(a.op.latex_transposed, a)
        return self._sup(a, r"\top"), PREC_POSTFIX

    # ---- functions and vectors

    def _args(self, e) -> str:
        full = len(e.args) > 1 and any(self.is_full(a) for a in e.args)
        return ", ".join(self._operand(a, full, 0) for a in e.args)

    def _print_Call(self, e):
        return self._form(e.op.latex, e)

    def _form(self, form, e):
        """A function written in its notation (:class:`matcalc.ops.Form`); a name
        that is not a command is set upright."""
        if form.style == "wrap":
            return form.text.format(*[self.print(a)[0] for a in e.args]), PREC_ATOM
        if form.style == "product":
            x = self.parenthesize(e.args[0], PREC_POSTFIX)
            return form.text.format(x=x, xT=self._sup(e.args[0], r"\top")), PREC_MUL
        if form.style == "postfix":
            # {1}, {2}...: the further arguments, in the superscript (A^{3})
            text = form.text.format(*[self.print(a)[0] for a in e.args]) \
                if "{1}" in form.text else form.text
            return self._sup(e.args[0], text), PREC_POSTFIX
        if form.style == "prefix":
            return form.text + " " + self.parenthesize(e.args[0], PREC_POSTFIX), PREC_POSTFIX
        return f"{call_name(form)}\\left( {self._args(e)} \\right)", PREC_ATOM

    def _print_VecLit(self, e):
        rows = r" \\ ".join(self.print(a)[0] for a in e.args)
        return f"\\begin{{bmatrix}} {rows} \\end{{bmatrix}}", PREC_ATOM

    def _print_Entry(self, e):
        base = self.parenthesize(e.args[0], PREC_ATOM, strict=False)
        return f"{{{base}}}_{{{e.index + 1}}}", PREC_POSTFIX


def call_name(form) -> str:
    """The name of a function written ``name(args)``: a command (``\\log``) or a name
    set upright (``\\operatorname{diag}``)."""
    return form.text if form.text.startswith("\\") else f"\\operatorname{{{form.text}}}"


def _is_row(shape: tuple) -> bool:
    return len(shape) == 2 and str(shape[0]) == "1"


def _ones(shape: tuple) -> str:
    """The ones of ``shape``: ``\\mathbf{1}``, a row ``\\mathbf{1}^{\\top}``, a matrix
    ``\\mathbf{1} \\mathbf{1}^{\\top}``."""
    if _is_row(shape):
        return r"\mathbf{1}^{\top}"
    return r"\mathbf{1} \mathbf{1}^{\top}" if len(shape) == 2 else r"\mathbf{1}"


def to_latex(e: E.Expr, names=None, style: str = "bold") -> str:
    """``e`` as LaTeX math, without delimiters; ``style`` bold or plain."""
    return LatexPrinter(names, style).doprint(e)


def shape_latex(shape: tuple) -> str:
    """``m \\times n``, ``n`` or ``\\text{scalar}``."""
    if not shape:
        return r"\text{scalar}"
    return r" \times ".join(dim_latex(d) for d in shape)


def escape_text(text: str) -> str:
    """Plain text (a shape note, a rule name) for LaTeX's text mode."""
    repl = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
            "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
            "^": r"\textasciicircum{}"}
    out = "".join(repl.get(ch, ch) for ch in text)
    uni = {"ᵢⱼ": r"$_{ij}$", "∂": r"$\partial$", "ᵀ": r"$^\top$", "×": r"$\times$", "↦": r"$\mapsto$",
           "ⱼ": r"$_j$", "ᵢ": r"$_i$", "⊙": r"$\odot$", "⊘": r"$\oslash$",
           "𝟏": r"$\mathbf{1}$", "⁻¹": r"$^{-1}$", "≠": r"$\neq$", "′": "'",
           "σ": r"$\sigma$", "‖": r"$\|$", "₁": r"$_1$", "₂": r"$_2$", "²": r"$^2$"}
    for k, v in uni.items():
        out = out.replace(k, v)
    return out


def derivative_lhs(d, layout: str = "numerator", style: str = "bold") -> str:
    """``\\frac{\\partial f}{\\partial \\mathbf{w}}`` (or ``\\mathrm{d}f`` for a differential)."""
    v = latex_name(d.wrt.name, d.wrt.rank, style)
    if d.kind is Kind.DIFFERENTIAL:
        # the differential of f, or of the derivative of one order less (∇f, the
        # Jacobian of a vector, the Hessian)
        if d.of is None:
            return r"\mathrm{d}f"
        # (∇f is by d's variable: a mixed derivative names the one it differentiates)
        inner = r"\nabla f" if d.of.kind is Kind.GRADIENT and d.of.wrt.name == d.wrt.name \
            else derivative_lhs(d.of, layout, style)
        return f"\\mathrm{{d}}\\left( {inner} \\right)"
    if d.mixed:  # mixed: ∂²f/∂w∂b
        by = " \\, ".join(f"\\partial {latex_name(w.name, w.rank, style)}" for w in d.wrts)
        return f"\\frac{{\\partial^{d.order} f}}{{{by}}}"
    if d.order == 2 and d.wrt.rank == 1:
        return f"\\frac{{\\partial^2 f}}{{\\partial {v} \\, \\partial {v}^{{\\top}}}}"
    if d.order > 1:
        return f"\\frac{{\\partial^{d.order} f}}{{\\partial {v}^{d.order}}}"
    return f"\\frac{{\\partial f}}{{\\partial {v}}}"


def derivative_latex(d, layout: str = "numerator", style: str = "bold") -> str:
    """The derivative as one LaTeX equation (no delimiters); ``style`` bold or plain."""
    return f"{derivative_lhs(d, layout, style)} = {to_latex(d.display(layout), style=style)}"


def derivative_notes(d, layout: str = "numerator") -> list[str]:
    """The report's notes (shape and layout, rule, kinks) as LaTeX text-mode lines."""
    shape = shape_latex(d.display_shape(layout))
    notes = [f"Shape: ${shape}$ ({escape_text(d.layout_note(layout))}).",
             f"Rule: {escape_text(d.rule)}."]
    names = kinks(d.f)
    if names:
        notes.append(f"Note: {escape_text(', '.join(names))} is not differentiable at 0; the "
                     r"paper's convention is used there ($\max'(0) = 0$).")
    return notes


def _is_tangent(e: E.Expr) -> bool:
    """A differential dV or its transpose."""
    e = e.arg if type(e) is E.Transpose else e
    return type(e) is E.Var and e.tangent
