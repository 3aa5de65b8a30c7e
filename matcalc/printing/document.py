"""A complete LaTeX document for one or more derivatives (``--document``), for notes.

For each derivative: the definition of f and every symbol with its shape and declared
structure ("where x ∈ ℝⁿ, A ∈ ℝⁿˣⁿ symmetric"), the derivative as display math broken
within the page (:mod:`matcalc.printing.linebreak`), its shape and layout, its
Kronecker (vec) form and index form where they exist, the ``--verify`` checks and
(``steps``) the derivation. The preamble sets the text width the line breaker fills
and loads only amsmath and amssymb.
"""
from __future__ import annotations

from typing import Optional, Sequence

from ..calculus.result import Kind
from ..core import expr as E
from ..core import shapes as S
from ..errors import LimitError
from .base import PREC_MUL
from .latex import (LatexPrinter, derivative_lhs, derivative_notes, escape_text,
                    latex_name, shape_latex, to_latex)
from .linebreak import LINE_WIDTH_EM, TEXT_WIDTH_EM, equation_rows, estimate_width
from .steps import render_steps

PREAMBLE = "\n".join([
    r"\documentclass{article}",  # 10 pt: the em of matcalc.printing.linebreak
    r"\usepackage{amsmath,amssymb}",
    # the text width matcalc.printing.linebreak fills, centred on the page
    f"\\setlength{{\\textwidth}}{{{TEXT_WIDTH_EM * 10:g}pt}}",
    r"\setlength{\oddsidemargin}{\dimexpr(\paperwidth-\textwidth)/2-1in\relax}",
    r"\setlength{\evensidemargin}{\oddsidemargin}",
    r"\allowdisplaybreaks",
    r"\sloppy",
])


def display(left: str, right: str) -> str:
    """``left = right`` as display math: one line when it fits, else a ``split``
    aligned at ``=`` with ``right`` broken within the text width."""
    if estimate_width(f"{left} = {right}") <= LINE_WIDTH_EM:
        return f"\\[\n{left} = {right}\n\\]"
    rows = equation_rows(left, right)
    return "\\begin{equation*}\n\\begin{split}\n" + " \\\\\n".join(rows) + \
        "\n\\end{split}\n\\end{equation*}"


def notebook_latex(d) -> str:
    """A derivative for a notebook's ``_repr_latex_``: display style (``$\\displaystyle
    ...$``, as SymPy writes it, which MathJax and KaTeX both read, unlike ``$$`` in
    some front ends), an ``aligned`` block broken within the line where it is long."""
    left, right = derivative_lhs(d), to_latex(d.display())
    if estimate_width(f"{left} = {right}") <= LINE_WIDTH_EM:
        return f"$\\displaystyle {left} = {right}$"
    return ("$\\displaystyle \\begin{aligned} " + " \\\\ ".join(equation_rows(left, right))
            + " \\end{aligned}$")


def _structure(v) -> str:
    """`` (symmetric)``, or nothing for a variable declared without a structure."""
    if v.structure is None:
        return ""
    if v.structure == S.PROB:
        return " (each row a probability vector)" if v.rank == 2 else " (a probability vector)"
    return f" ({S.STRUCTURE_NAMES[v.structure]})"


def symbols(variables: Sequence, style: str = "bold") -> str:
    """``where $\\mathbf{x} \\in \\mathbb{R}^{n}$ and $b \\in \\mathbb{R}$.``"""
    items = []
    for v in variables:
        space = r"\mathbb{R}" if not v.shape else f"\\mathbb{{R}}^{{{shape_latex(v.shape)}}}"
        items.append(f"${latex_name(v.name, v.rank, style)} \\in {space}$" + _structure(v))
    if len(items) > 1:
        items[-1] = "and " + items[-1]
    return "where " + (", " if len(items) > 2 else " ").join(items) + "."


def kronecker_latex(d, style: str = "bold") -> Optional[tuple[str, bool]]:
    """For a differential of the form Σ c P dV S, the right side of
    ∂vec(f)/∂vec(V) = Σ c (Sᵀ ⊗ P) (K after a transposed dV), and whether K occurs;
    None where the differential has another form."""
    from ..calculus.identify import kronecker_terms
    from ..calculus.jvp import tangent_of
    terms = kronecker_terms(d.expr, tangent_of(d.wrt))
    if not terms:
        return None
    p = LatexPrinter(style=style)
    eye = p.print(E.eye(2))[0]  # the identity's letter in the style
    factor = (lambda e: p.parenthesize(e, PREC_MUL, strict=True) if e is not None else eye)
    parts = []
    for coeff, right, left, transposed in terms:
        text = eye if right is None and left is None else \
            f"{factor(right)} \\otimes {factor(left)}"
        if transposed:
            text = "\\mathbf{K}" if text == eye else f"\\left( {text} \\right) \\mathbf{{K}}"
        c = E.const_value(coeff) if coeff is not None else 1
        if c != 1:
            text = f"\\left( {text} \\right)" if "\\otimes" in text else text
            text = ("-" if c == -1 else p.parenthesize(coeff, PREC_MUL, strict=True) + " ") + text
        parts.append(text)
    return " + ".join(parts).replace("+ -", "- "), any(t[3] for t in terms)


def kronecker_equation(d, style: str = "bold") -> Optional[tuple[str, str, bool]]:
    """For a differential of the Kronecker form, the two sides of
    ``\\frac{\\partial \\operatorname{vec}(f)}{\\partial \\operatorname{vec}(X)} = ...``
    and whether the commutation matrix K occurs; None for any other derivative."""
    form = kronecker_latex(d, style) if d.kind is Kind.DIFFERENTIAL else None
    if form is None:
        return None
    f = "f" if d.of is None else derivative_lhs(d.of, style=style)
    v = latex_name(d.wrt.name, d.wrt.rank, style)
    left = (f"\\frac{{\\partial \\operatorname{{vec}}({f})}}"
            f"{{\\partial \\operatorname{{vec}}({v})}}")
    return left, form[0], form[1]


def _kronecker_block(d, style: str) -> list[str]:
    form = kronecker_equation(d, style)
    if form is None:
        return []
    left, right, commutation = form
    out = ["As a matrix acting on $\\operatorname{vec}$ (columns stacked):",
           display(left, right)]
    if commutation:
        v = latex_name(d.wrt.name, d.wrt.rank, style)
        out.append(f"where $\\mathbf{{K}}$ is the commutation matrix, "
                   f"$\\mathbf{{K}} \\operatorname{{vec}}({v}) = "
                   f"\\operatorname{{vec}}({v}^{{\\top}})$.")
    return out


def _index_block(d, style: str) -> list[str]:
    """The derivative in index notation (where it says more than the matrix form: not
    for a scalar by a scalar), or a line saying why it is not shown."""
    from .index import index_latex
    if not d.f.rank and not d.wrt.rank:
        return []
    try:
        left, _, right = index_latex(d.index_form(), style).partition(" = ")
    except LimitError as err:
        return [f"Index notation not shown: {escape_text(str(err))}."]
    return ["In index notation (summing over repeated indices):", display(left, right)]


def _checks_block(report) -> list[str]:
    """The ``--verify`` checks, one item each."""
    items = [f"\\item {escape_text(check.line())}" for check in report]
    return ["Verification:", "\\begin{itemize}", *items, "\\end{itemize}"]


def derivative_document(derivs, layout: str = "numerator", steps: bool = False,
                        checks: Optional[Sequence] = None, style: str = "bold") -> str:
    """A complete LaTeX document: f and its symbols; for each derivative, the
    derivative, its shape and layout, its Kronecker and index forms, the checks of
    ``checks`` (one :class:`matcalc.backends.verify.Report` per derivative) and, with
    ``steps``, its derivation."""
    body = []
    f = derivs[0].f
    named = E.variables(f)
    declared = named + [w for d in derivs for w in d.wrts if w not in named]
    args = ", ".join(latex_name(v.name, v.rank, style) for v in named)
    body += ["Let", display(f"f({args})" if args else "f", to_latex(f, style=style)),
             symbols(list(dict.fromkeys(declared)), style), ""]
    for i, d in enumerate(derivs):
        body.append(display(derivative_lhs(d, layout, style),
                            to_latex(d.display(layout), style=style)))
        body.append(" \\\\\n".join(derivative_notes(d, layout)))
        derivation = render_steps(d, layout, "latex", style=style) if steps and d.steps \
            else None
        for block in (_kronecker_block(d, style), _index_block(d, style),
                      _checks_block(checks[i]) if checks else [],
                      ["Derivation:", derivation] if derivation else []):
            if block:
                body += [""] + block
        body.append("")
    return PREAMBLE + "\n\\begin{document}\n" + "\n".join(body) + "\\end{document}\n"
