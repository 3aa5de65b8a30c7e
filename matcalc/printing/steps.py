"""The derivation as numbered steps: the records of :mod:`matcalc.calculus.steps`
formatted as text (Unicode, ASCII) or a LaTeX ``align*`` block. Nothing here
differentiates.

Each step reads: the intermediate, its shape and its rule; then its Jacobian by the
variable as the vector chain rule builds it (``∂f/∂u₂ ∂u₂/∂w = 𝟏ᵀ diag(x) = xᵀ``).
"""
from __future__ import annotations

from typing import Optional

from ..calculus.result import Kind
from ..core import shapes as S
from .base import PREC_MUL, OutputBudget
from .latex import LatexPrinter, escape_text, latex_name, shape_latex
from .text import AsciiPrinter, UnicodePrinter

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_PRINTERS = {"ascii": AsciiPrinter, "unicode": UnicodePrinter, "latex": LatexPrinter}
_MATRIX_KINDS = (Kind.DERIVATIVE, Kind.GRADIENT, Kind.JACOBIAN)


def step_name(step, fmt: str) -> str:
    """``u₁`` (``u1`` in ASCII), or ``f``."""
    if step.number is None:
        return step.base
    return step.name if fmt == "ascii" else f"{step.base}{str(step.number).translate(_SUB)}"


class _Format:
    """One format's printers, with the steps' names (u₁ in Unicode)."""

    def __init__(self, steps, fmt: str):
        if fmt not in _PRINTERS:
            raise ValueError(f"unknown steps format {fmt!r}")
        self.fmt = fmt
        names = {s.var: step_name(s, fmt) for s in steps} if fmt == "unicode" else {}
        self.printer = _PRINTERS[fmt](names)

    def show(self, e) -> str:
        self.printer._memo.clear()
        return self.printer.doprint(e)

    def group(self, e) -> str:
        """A factor of a product of Jacobians, bracketed unless it binds tightly."""
        self.show(e)
        text, prec = self.printer.print(e)
        if prec > PREC_MUL or (prec == PREC_MUL and not any(
                s in text for s in ("⊙", "⊘", "/", "odot", "frac", "oslash", "*"))):
            return text
        return self.printer.paren(text)

    def shape(self, shape) -> str:
        if self.fmt == "latex":
            return shape_latex(shape)
        s = S.shape_str(shape)
        return s.replace("×", "x") if self.fmt == "ascii" else s


def _chain_text(step, layout: str, out: _Format) -> Optional[str]:
    """``∂f/∂u₂ ∂u₂/∂w = 𝟏ᵀ diag(x)``: the vector chain rule, or None when the step
    is a rule applied to the variable itself (nothing to chain)."""
    if layout != "numerator" or not step.chain:
        return None
    if len(step.chain) == 1 and step.chain[0][1] is None:
        return None
    if not all(loc.kind in _MATRIX_KINDS and (prev is None or prev.jacobian.kind in
                                              _MATRIX_KINDS) for loc, prev in step.chain):
        return None
    if any(loc.kind is Kind.GRADIENT and loc.wrt.rank == 2 for loc, _ in step.chain):
        return None
    terms = []
    for loc, prev in step.chain:
        if prev is None:
            terms.append(out.show(loc.display(layout)))
            continue
        a, b = loc.display(layout), prev.jacobian.display(layout)
        if loc.wrt.rank == 0 or prev.jacobian.f.rank == 0:
            sep = " \\cdot " if out.fmt == "latex" else " · "
        else:
            sep = " " if out.fmt != "ascii" else " @ "
        terms.append(f"{out.group(a)}{sep}{out.group(b)}")
    return " + ".join(terms)


def render_steps(d, layout: str = "numerator", fmt: str = "unicode") -> str:
    """The derivation of ``d`` as text (``unicode``, ``ascii``) or a LaTeX ``align*``."""
    steps = d.steps
    out = _Format(steps, fmt)
    wrt = d.wrt.name
    if not steps:
        msg = f"{wrt} does not occur in f: the derivative is zero (constant rule)"
        return f"\\text{{{msg}}}" if fmt == "latex" else msg
    if fmt == "latex":
        return _render_latex(d, steps, layout, out)
    lines = []
    budget = OutputBudget()
    d_ = "d" if fmt == "ascii" else "∂"
    for s in steps:
        name = step_name(s, fmt)
        res = out.show(s.jacobian.display(layout))
        chain = _chain_text(s, layout, out)
        lines.append(f"{s.index}. {name} = {out.show(s.shown)}  ({out.shape(s.node.shape)}): "
                     f"{s.rule}")
        lhs = f"d{name}" if s.jacobian.kind is Kind.DIFFERENTIAL else f"{d_}{name}/{d_}{wrt}"
        eq = f"{lhs} = {chain} = {res}" if chain and chain != res else f"{lhs} = {res}"
        lines.append(f"   {eq}  ({out.shape(s.jacobian.display_shape(layout))})")
        budget.add(lines[-2] + lines[-1])
    return "\n".join(lines)


def _render_latex(d, steps, layout, out: _Format) -> str:
    wrt = latex_name(d.wrt.name, d.wrt.rank)
    rows = []
    budget = OutputBudget()
    for s in steps:
        name = out.show(s.var)
        rows.append(f"{name} &= {out.show(s.shown)} && ({out.shape(s.node.shape)}) "
                    f"&& \\text{{{escape_text(s.rule)}}}")
        res = out.show(s.jacobian.display(layout))
        chain = _chain_text(s, layout, out)
        if s.jacobian.kind is Kind.DIFFERENTIAL:
            lhs = f"\\mathrm{{d}}{name}"
        else:
            lhs = f"\\frac{{\\partial {name}}}{{\\partial {wrt}}}"
        rhs = f"{chain} = {res}" if chain and chain != res else res
        rows.append(f"{lhs} &= {rhs} && ({out.shape(s.jacobian.display_shape(layout))})")
        budget.add(rows[-2] + rows[-1])
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"
