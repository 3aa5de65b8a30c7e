"""A complete LaTeX document for one or more derivatives (``--document``)."""
from __future__ import annotations

from ..calculus.result import Kind
from ..errors import LimitError
from .latex import derivative_latex, derivative_notes, document, escape_text, to_latex
from .steps import render_steps


def index_block(d) -> list[str]:
    """The derivative in index notation as a display equation, or a line saying why
    it is not shown (a form beyond its budget of terms)."""
    from .index import index_latex
    try:
        return ["In index notation:", "\\[", index_latex(d.index_form()), "\\]"]
    except LimitError as err:
        return [f"Index notation not shown: {escape_text(str(err))}."]


def derivative_document(derivs, layout: str = "numerator", steps: bool = False,
                        index: bool = False) -> str:
    """A complete LaTeX document: each derivative as a display equation (with its index
    form for a differential, which no matrix shows, and for every derivative with
    ``index``), its shape as a note, and (``steps``) its derivation as an ``align*``
    block."""
    body = []
    for i, d in enumerate(derivs):
        if i:
            body.append("")
        body.append(f"Input: ${to_latex(d.f)}$.")
        body.append("\\[")
        body.append(derivative_latex(d, layout))
        body.append("\\]")
        if index or d.kind is Kind.DIFFERENTIAL:
            body += index_block(d)
        body.append(r"\\ ".join(derivative_notes(d, layout)))
        if steps and d.steps:
            body.append("")
            body.append(render_steps(d, layout, "latex"))
    return document("\n".join(body))
