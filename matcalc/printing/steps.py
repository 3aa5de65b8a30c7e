"""The derivation as numbered steps: the records of :mod:`matcalc.calculus.steps`
formatted as text (Unicode, ASCII) or one LaTeX ``align*`` block. Nothing here
differentiates.

Each step reads: the intermediate, its shape and its rule; its local Jacobian by each
earlier name it uses (``∂u₂/∂u₁ = diag([u₁ > 0])``, the diagonal Jacobian of an
element-wise step); then the chain rule that gives its Jacobian by the variable, as
the paper writes it (``vector chain rule: ∂u₂/∂w = ∂u₂/∂u₁ · ∂u₁/∂w = ...``), with
the earlier Jacobians by name once they are long. By a matrix, or where no matrix
holds a Jacobian, a step is its differential as the Matrix Cookbook writes it
(``du₁ = -X⁻¹ dX X⁻¹``), and a scalar's gradient is read off by the trace
(``df = tr(Gᵀ dX) ⇒ ∂f/∂X = G``). A product in which the variable occurs twice is
expanded by the product rule (``df = dxᵀAx + xᵀA dx = xᵀ(A + Aᵀ) dx``).
"""
from __future__ import annotations

from typing import Optional

from .. import ops
from ..calculus.jvp import tangent_of
from ..calculus.result import Kind
from ..core import expr as E
from ..core import shapes as S
from .base import PREC_MUL, OutputBudget
from .latex import LatexPrinter, derivative_lhs, escape_text, shape_latex
from .linebreak import LINE_WIDTH_EM, break_math, estimate_width, lead
from .text import AsciiPrinter, UnicodePrinter

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_PRINTERS = {"ascii": AsciiPrinter, "unicode": UnicodePrinter, "latex": LatexPrinter}
_MATRIX_KINDS = (Kind.DERIVATIVE, Kind.GRADIENT, Kind.JACOBIAN)
IVERSON = " is 1 where P holds, else 0 (the Iverson bracket)"  # after [P]
TRACE = "trace identification"
GRADIENT = "the gradient read off"
PRODUCT = "product rule"


def step_name(step, fmt: str) -> str:
    """``u₁`` (``u1`` in ASCII), or ``f``."""
    if step.number is None:
        return step.base
    return step.name if fmt == "ascii" else f"{step.base}{str(step.number).translate(_SUB)}"


class _Format:
    """One format's printers and symbols, with the steps' names (u₁ in Unicode)."""

    def __init__(self, steps, fmt: str, style: str = "bold"):
        if fmt not in _PRINTERS:
            raise ValueError(f"unknown steps format {fmt!r}")
        self.fmt = fmt
        names = {}
        if fmt != "ascii":
            for s in steps:
                names[s.var] = names[tangent_of(s.var)] = step_name(s, "unicode")
        self.printer = LatexPrinter(names, style) if fmt == "latex" else _PRINTERS[fmt](names)
        self.latex = fmt == "latex"

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
        if self.latex:
            return shape_latex(shape)
        s = S.shape_str(shape)
        return s.replace("×", "x") if self.fmt == "ascii" else s

    def name(self, v) -> str:
        return self.show(v)

    def d(self, v) -> str:
        """The differential of a variable: ``du₁``."""
        return self.show(tangent_of(v))

    def partial(self, top, by) -> str:
        """``∂u₂/∂u₁``."""
        if self.latex:
            return f"\\frac{{\\partial {self.name(top)}}}{{\\partial {self.name(by)}}}"
        d = "d" if self.fmt == "ascii" else "∂"
        return f"{d}{self.name(top)}/{d}{self.name(by)}"

    def times(self, scalar: bool) -> str:
        if self.fmt == "ascii":
            return " * " if scalar else " @ "
        return (" \\cdot " if self.latex else " · ") if scalar else " "

    def implies(self) -> str:
        return " \\Rightarrow " if self.latex else "  =>  " if self.fmt == "ascii" else "  ⇒  "

    def math(self, text: str) -> str:
        """Math within words: ``$...$`` in LaTeX."""
        return f"${text}$" if self.latex else text

    def words(self, text: str) -> str:
        return escape_text(text) if self.latex else text

    def aside(self, shape) -> str:
        """A shape after an equation: ``  (n×n)``."""
        return f"\\quad ({self.shape(shape)})" if self.latex else f"  ({self.shape(shape)})"


def _jacobian_steps(steps, layout: str) -> set:
    """The steps whose chain rule is a product of Jacobian matrices (numerator layout,
    by a scalar or a vector, every factor a matrix); the others are shown as
    differentials."""
    out = set()
    for s in steps:
        if layout == "numerator" and s.wrt.rank < 2 and all(
                link.local.kind in _MATRIX_KINDS and link.local.wrt.rank < 2 and
                (link.prev is None or link.prev in out) for link in s.chain):
            out.add(s)
    return out


def _scalar(*es) -> bool:
    return any(e.rank == 0 for e in es)


def _local_lines(s, out: _Format, layout: str) -> list[tuple[str, str]]:
    """(left, right) of the local derivative lines: ``∂u₂/∂u₁ = I``, or by the product
    rule ``du = ... = J dq ⇒ ∂u/∂q = J``."""
    rows = []
    for link in s.chain:
        if link.prev is None and len(s.chain) > 1:
            continue  # a direct term of the total-derivative rule: shown in the sum
        q = link.prev.var if link.prev is not None else s.wrt
        shown = out.show(link.local.display(layout))
        shape = out.aside(link.local.display_shape(layout))
        if link.product and len(s.chain) == 1:
            expanded = out.show(link.differential)
            scalar = q.rank == 0 or link.local.f.rank == 0 and q.rank == 0
            sep = out.times(scalar) if out.fmt == "ascii" else " "
            right = (f"{expanded} = {out.group(link.local.display(layout))}{sep}{out.d(q)}"
                     f"{out.implies()}{out.partial(s.var, q)} = {shown}{shape}")
            rows.append((f"d{out.name(s.var)}" if not out.latex else
                         f"\\mathrm{{d}}{out.name(s.var)}", right))
            rows[-1] = (rows[-1][0], rows[-1][1] + "  " + _note(out, PRODUCT))
        else:
            rows.append((out.partial(s.var, q), f"{shown}{shape}"))
    return rows


def _note(out: _Format, words: str) -> str:
    return f"\\quad \\text{{({escape_text(words)})}}" if out.latex else f"({words})"


def _chain_line(s, out: _Format, layout: str) -> Optional[tuple[str, str]]:
    """(left, right) of the chain rule: ``∂u₂/∂w`` and ``∂u₂/∂u₁ · ∂u₁/∂w = I X = X``."""
    if s.chain_rule is None:
        return None
    v = s.wrt
    symbols, products = [], []
    for link in s.chain:
        local = out.group(link.local.display(layout))
        if link.prev is None:
            symbols.append(local)
            products.append(local)
            continue
        p = link.prev
        a, b = out.partial(s.var, p.var), out.partial(p.var, v)
        if layout == "denominator":
            a, b = b, a
        symbols.append(f"{a}{out.times(True)}{b}")
        if layout != "numerator":
            continue
        prev = out.group(p.value.display(layout)) if p.value is not None else b
        scalar = _scalar(p.var, v) or link.local.display_shape(layout) == ()
        products.append(f"{local}{out.times(scalar)}{prev}")
    right = " + ".join(symbols)
    if len(products) == len(symbols):
        right += " = " + " + ".join(products)
    if s.value is not None:
        value = out.show(s.value.display(layout))
        if not right.endswith(" = " + value):
            right += " = " + value
    right += out.aside(s.value.display_shape(layout) if s.value else _shape(s, layout))
    return out.partial(s.var, v), right


def _shape(s, layout: str) -> tuple:
    """The shape of ``∂s/∂wrt`` shown in ``layout``, from the shapes alone."""
    fs, vs = tuple(s.node.shape), tuple(s.wrt.shape)
    if not fs and len(vs) == 1:
        return (1, vs[0]) if layout == "numerator" else vs
    if len(fs) == 1 and len(vs) == 1 and layout == "denominator":
        return vs + fs
    return fs + vs


def _differential_lines(s, out: _Format) -> list[tuple[str, str]]:
    """The step as a differential: ``du₂ = xᵀ du₁ x = -xᵀu₁ dX u₁x``; a scalar's
    gradient read off it (by a matrix: ``df = tr(Gᵀ dX) ⇒ ∂f/∂X = G``, the trace)."""
    left = f"\\mathrm{{d}}{out.name(s.var)}" if out.latex else f"d{out.name(s.var)}"
    right = " + ".join(out.show(link.differential) for link in s.chain)
    value = s.dvalue
    if value is None and s.value is not None and s.value.kind is Kind.DIFFERENTIAL:
        value = s.value.expr
    if value is not None and out.show(value) != right:
        right += " = " + out.show(value)
    rows = [(left, right + out.aside(s.node.shape))]
    v = s.wrt
    if s.value is not None and s.value.kind is Kind.GRADIENT and v.rank in (1, 2):
        taken = {u.name for u in E.variables(s.value.expr)} | {v.name}
        g = E.var(next(c for c in (("G", "M", "Z") if v.rank == 2 else ("g", "p", "z"))
                       if c not in taken), v.shape)
        if v.rank == 2:
            form, shown, note = E.call(ops.TR, E.matmul(E.transpose(g), tangent_of(v))), g, TRACE
        else:
            form, shown, note = E.matmul(E.transpose(g), tangent_of(v)), E.transpose(g), GRADIENT
        rows.append((left, f"{out.show(form)}{out.implies()}{out.partial(s.var, v)} = "
                           f"{out.show(shown)} = {out.show(s.value.display())}"
                           f"{out.aside(s.value.display_shape())}  {_note(out, note)}"))
    return rows


def _uses_iverson(steps) -> bool:
    """Whether any printed expression has an Iverson bracket ``[P]``."""
    exprs = []
    for s in steps:
        exprs.append(s.shown)
        exprs.extend(link.local.expr for link in s.chain)
        if s.value is not None:
            exprs.append(s.value.expr)
    return any(type(n) is E.Call and n.op.unicode.style == "wrap" and
               n.op.unicode.text.startswith("[") for e in exprs for n in E.postorder(e))


def _headings(d, steps, out: _Format) -> dict:
    """For a higher derivative: the heading before each section's first step (the
    gradient g = ∇f first, then its derivative)."""
    if d.order == 1:
        return {}
    heads = {}
    roots = {s.section: s for s in steps if s.number is None}
    for s in steps:
        if any(h.section == s.section for h in heads):
            continue
        root = roots[s.section]
        if s.section > 1:
            heads[s] = (f"Then the derivative of {out.math(out.name(root.var))} by "
                        f"{out.math(out.name(root.wrt))}:")
        elif root.node.rank == 0 and root.wrt.rank == 1:
            g = roots[2].var if 2 in roots else E.var("g", root.wrt.shape)
            grad = "\\nabla " if out.latex else "grad " if out.fmt == "ascii" else "∇"
            transposed = {"latex": "^{\\top}", "ascii": "'", "unicode": "ᵀ"}[out.fmt]
            f = out.name(root.var)
            formula = (f"{out.name(g)} = {grad}{f} = ({out.partial(root.var, root.wrt)})"
                       f"{transposed}")
            heads[s] = f"First, the gradient of {out.math(f)}, {out.math(formula)}:"
        else:
            heads[s] = f"First, the derivative of {out.math(out.name(root.var))}:"
    return heads


def _rows(d, layout: str, out: _Format) -> list[tuple]:
    """The derivation as rows: ("head", text), ("node", index, name, shown, shape, rule)
    and ("eq", left, right)."""
    steps = d.steps
    jac = _jacobian_steps(steps, layout)
    heads = _headings(d, steps, out)
    rows = []
    for s in steps:
        if s in heads:
            rows.append(("head", heads[s]))
        rule = s.rule if s.chain_rule is None or s.chain_rule in s.rule else \
            f"{s.rule}; {s.chain_rule}"
        rows.append(("node", s.index, out.name(s.var), out.show(s.shown),
                     out.shape(s.node.shape), rule))
        if s in jac:
            rows += [("eq",) + r for r in _local_lines(s, out, layout)]
            chain = _chain_line(s, out, layout)
            if chain is not None:
                rows.append(("eq",) + chain)
        else:
            rows += [("eq",) + r for r in _differential_lines(s, out)]
    if d.order > 1 and steps and steps[-1].section < d.order:
        rows.append(("head", f"{out.math(out.name(steps[-1].var))} does not depend on "
                             f"{out.math(out.name(d.wrt))}: its derivative is zero"))
    if _uses_iverson(steps):
        rows.append(("head", f"{out.math('[P]')}{out.words(IVERSON)}"))
    return rows


def render_steps(d, layout: str = "numerator", fmt: str = "unicode", result: bool = False,
                 style: str = "bold") -> str:
    """The derivation of ``d`` as text (``unicode``, ``ascii``) or one LaTeX ``align*``
    block that compiles on its own (long lines broken within the page); ``result``:
    ending with the derivative itself; ``style``: LaTeX's bold or plain letters."""
    out = _Format(d.steps, fmt, style)
    if d.steps:
        rows = _rows(d, layout, out)
    else:
        rows = [("head", out.words(f"{d.wrt.name} does not occur in f: the derivative is "
                                   f"zero (constant rule)"))]
    if result:
        lhs = derivative_lhs(d, layout, style) if out.latex else d.text(layout).split(" = ")[0]
        rows += [("head", "The result:"),
                 ("eq", lhs, out.show(d.display(layout)) + out.aside(d.display_shape(layout)))]
    budget = OutputBudget()
    if out.latex:
        return _latex(rows, budget)
    lines = []
    for row in rows:
        if row[0] == "head":
            lines.append(row[1])
        elif row[0] == "node":
            _, i, name, shown, shape, rule = row
            lines.append(f"{i}. {name} = {shown}  ({shape}): {rule}")
        else:
            lines.append(f"   {row[1]} = {row[2]}")
        budget.add(lines[-1])
    return "\n".join(lines)


def _latex(rows, budget: OutputBudget) -> str:
    """One ``align*``: each step's rule as ``\\intertext``, its equations aligned at
    ``=``, each broken to fit the line beside the widest left side."""
    eqs = [(row[2], row[3]) if row[0] == "node" else row[1:] for row in rows
           if row[0] != "head"]
    widest = max((estimate_width(left) for left, _ in eqs), default=0)
    room = max(LINE_WIDTH_EM - widest - 4, LINE_WIDTH_EM / 2)
    body = []
    for row in rows:
        if row[0] == "head":
            body.append(f"\\intertext{{{row[1]}}}")
            continue
        if row[0] == "node":
            _, i, name, shown, shape, rule = row
            body.append(f"\\intertext{{{i}. ${name}$ (${shape}$): {escape_text(rule)}}}")
            left, right = name, shown
        else:
            left, right = row[1:]
        pieces = break_math(right, room)
        body.append(f"{left} &= {pieces[0]} \\\\")
        body += [f"&\\quad {lead(p)} \\\\" for p in pieces[1:]]
        budget.add(body[-1])
    if body[-1].endswith(" \\\\"):
        body[-1] = body[-1][:-3]  # no empty row at the end
    return "\\begin{align*}\n" + "\n".join(body) + "\n\\end{align*}"
