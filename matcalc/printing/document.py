"""A complete LaTeX document for one or more derivatives (``--document``)."""
from __future__ import annotations

from .latex import derivative_latex, derivative_notes, document, to_latex
from .steps import render_steps


def derivative_document(derivs, layout: str = "numerator", steps: bool = False) -> str:
    """A complete LaTeX document: each derivative as a display equation, its shape as a
    note, and (``steps``) its derivation as an ``align*`` block."""
    body = []
    for i, d in enumerate(derivs):
        if i:
            body.append("")
        body.append(f"Input: ${to_latex(d.f)}$.")
        body.append("\\[")
        body.append(derivative_latex(d, layout))
        body.append("\\]")
        body.append(r"\\ ".join(derivative_notes(d, layout)))
        if steps and d.steps:
            body.append("")
            body.append(render_steps(d, layout, "latex"))
    return document("\n".join(body))
