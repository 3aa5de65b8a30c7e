"""The derivation as numbered steps, as the paper writes it.

``Derivative.steps`` holds one :class:`matcalc.diff.Step` per node whose differential
is non-zero, in the order the chain rule visits them. Each becomes one step: the node
is named (``u₁``, ``u₂``, ... and ``f`` for the whole expression) and written in
terms of the earlier names; the step quotes its rule in the paper's words and shows
the Jacobian of the intermediate by the variable *with its shape*, as the vector
chain rule builds it: the local Jacobian times the Jacobian of the previous
intermediate (``∂f/∂u₂ ∂u₂/∂w = 𝟏ᵀ diag(x) = xᵀ``), summed over the paths when the
variable reaches the node along several (the total-derivative rule).

Transposes are folded into the step that uses them (``wᵀx`` is one step, the dot
product), as the paper does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..core import expr as E
from ..core import shapes as S
from ..printing.base import OutputBudget

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

# What the paper calls the rule, keyed by the start of our rule names.
TOTAL = "total-derivative rule"


@dataclass
class StepView:
    """One printed step: ``name = shown`` (shape), its rule and its Jacobian."""
    index: int
    name: str                 # u₁, u₂, ..., f
    var: E.Expr               # the intermediate as a variable (for later steps)
    node: E.Expr              # the original sub-expression
    shown: E.Expr             # the sub-expression in terms of earlier names
    rule: str
    doc: str
    jacobian: object          # the Derivative of node by wrt
    chain: list = field(default_factory=list)   # [(local Derivative, earlier StepView|None)]


def _names(d, fmt: str) -> tuple[str, str]:
    taken = {v.name for v in E.variables(d.f)}
    base = "u"
    for cand in ("u", "t", "h", "q"):
        if not any(n == cand or n.startswith(cand) and n[len(cand):].isdigit() for n in taken):
            base = cand
            break
    final = "f" if "f" not in taken else "y"
    return base, final


def step_views(d, fmt: str = "unicode") -> list[StepView]:
    """The steps of ``d`` as :class:`StepView` records (names chosen for ``fmt``)."""
    from ..calculus.derivative import _first_order
    v = d.wrt
    base, final = _names(d, fmt)
    root = d.of.expr if d.of is not None else d.f
    kept = []
    for s in d.steps:
        n = s.node
        if n is not root and type(n) is E.Transpose:
            continue  # folded into its user: wᵀx is the dot product
        if n is not root and type(n) is E.Expand and n.arg is not v:
            continue  # shown as the scalar itself (scalar expansion), named in the user's rule
        kept.append(s)
    mapping: dict = {}
    views: list[StepView] = []
    by_var: dict = {}
    count = 0
    for s in kept:
        n = s.node
        shown = E.substitute(n, mapping) if mapping else n
        if n is root:
            name = final
        else:
            count += 1
            name = f"{base}{count}" if fmt == "ascii" else f"{base}{str(count).translate(_SUB)}"
        uvar = E.var(name, n.shape)
        rule = s.rule
        if type(n) is E.Mul and len(n.args) == 2 and any(
                E.const_value(a) is not None for a in n.args):
            rule = "constant multiple rule" + (" with scalar expansion" if n.rank else "")
        deps = [q for q in E.variables(shown) if q is v or q in by_var]
        if len(deps) > 1 or len([a for a in n.args if E.depends_on(a, v)]) > 1:
            rule = f"{rule}; {TOTAL} (sum over the {max(len(deps), 2)} paths)"
        jac = _first_order(n, v, True)
        chain = []
        for q in deps:
            local = _first_order(shown, q, True)
            if local.kind != "zero":
                chain.append((local, by_var.get(q)))
        view = StepView(len(views) + 1, name, uvar, n, shown, rule, s.doc, jac, chain)
        views.append(view)
        by_var[uvar] = view
        mapping[n] = uvar
        # a folded transpose of this node is written with the new name
        for t in d.steps:
            if type(t.node) is E.Transpose and t.node.arg is n:
                mapping[t.node] = E.transpose(uvar)
    return views


# ----------------------------------------------------------------- rendering

def _partial(num: str, den: str, fmt: str) -> str:
    if fmt == "ascii":
        return f"d{num}/d{den}"
    return f"∂{num}/∂{den}"


def _printers(fmt: str):
    from ..printing.latex import to_latex
    from ..printing.text import to_text, to_unicode
    return {"ascii": to_text, "unicode": to_unicode, "latex": to_latex}[fmt]


def _group(e: E.Expr, fmt: str) -> str:
    """A factor of a product of Jacobians, parenthesized unless it binds tightly."""
    from ..printing.base import PREC_MUL
    from ..printing.latex import LatexPrinter
    from ..printing.text import AsciiPrinter, UnicodePrinter
    printer = {"ascii": AsciiPrinter, "unicode": UnicodePrinter, "latex": LatexPrinter}[fmt]()
    text, prec = printer.print(e)
    if prec > PREC_MUL or (prec == PREC_MUL and not any(s in text for s in
                                                          ("⊙", "⊘", "/", "odot", "frac",
                                                           "oslash", "*"))):
        return text
    return printer.paren(text)


def _chain_text(view: StepView, wrt_name: str, layout: str, fmt: str, show) -> Optional[str]:
    """``∂f/∂u₂ ∂u₂/∂w = 𝟏ᵀ diag(x)``: the vector chain rule, or None when the step
    is a rule applied to the variable itself (nothing to chain)."""
    if layout != "numerator" or not view.chain:
        return None
    if len(view.chain) == 1 and view.chain[0][1] is None:
        return None
    kinds_ok = all(loc.kind in ("derivative", "gradient", "jacobian") and
                   (prev is None or prev.jacobian.kind in ("derivative", "gradient", "jacobian"))
                   for loc, prev in view.chain)
    if not kinds_ok:
        return None
    if any(loc.kind == "gradient" and loc.wrt.rank == 2 for loc, _ in view.chain):
        return None
    terms = []
    for loc, prev in view.chain:
        if prev is None:
            terms.append(show(loc.display(layout)))
            continue
        a, b = loc.display(layout), prev.jacobian.display(layout)
        if loc.wrt.rank == 0 or prev.jacobian.f.rank == 0:
            sep = " \\cdot " if fmt == "latex" else " · "
        else:
            sep = " " if fmt != "ascii" else " @ "
        terms.append(f"{_group(a, fmt)}{sep}{_group(b, fmt)}")
    return " + ".join(terms)


def _shape(shape, fmt: str) -> str:
    if fmt == "latex":
        from ..printing.latex import shape_latex
        return shape_latex(shape)
    s = S.shape_str(shape)
    return s.replace("×", "x") if fmt == "ascii" else s


def render_steps(d, layout: str = "numerator", fmt: str = "unicode") -> str:
    """The derivation of ``d`` as text (``unicode``, ``ascii``) or a LaTeX ``align*``."""
    if fmt not in ("unicode", "ascii", "latex"):
        raise ValueError(f"unknown steps format {fmt!r}")
    views = step_views(d, fmt)
    show = _printers(fmt)
    wrt = d.wrt.name
    if not views:
        msg = f"{wrt} does not occur in f: the derivative is zero (constant rule)"
        return f"\\text{{{msg}}}" if fmt == "latex" else msg
    if fmt == "latex":
        return _render_latex(d, views, layout, show)
    lines = []
    budget = OutputBudget()
    for v in views:
        lhs = _partial(v.name, wrt, fmt)
        res = show(v.jacobian.display(layout))
        chain = _chain_text(v, wrt, layout, fmt, show)
        lines.append(f"{v.index}. {v.name} = {show(v.shown)}  ({_shape(v.node.shape, fmt)}): "
                     f"{v.rule}")
        if v.jacobian.kind == "differential":
            lhs = f"d{v.name}"
        eq = f"{lhs} = {chain} = {res}" if chain and chain != res else f"{lhs} = {res}"
        lines.append(f"   {eq}  ({_shape(v.jacobian.display_shape(layout), fmt)})")
        budget.add(lines[-2] + lines[-1])
    return "\n".join(lines)


def _render_latex(d, views, layout, show) -> str:
    from ..printing.latex import escape_text, latex_name
    wrt = latex_name(d.wrt.name, d.wrt.rank)
    rows = []
    budget = OutputBudget()
    for v in views:
        name = show(v.var)
        rows.append(f"{name} &= {show(v.shown)} && ({_shape(v.node.shape, 'latex')}) "
                    f"&& \\text{{{escape_text(v.rule)}}}")
        res = show(v.jacobian.display(layout))
        chain = _chain_text(v, d.wrt.name, layout, "latex", show)
        if v.jacobian.kind == "differential":
            lhs = f"\\mathrm{{d}}{name}"
        else:
            lhs = f"\\frac{{\\partial {name}}}{{\\partial {wrt}}}"
        rhs = f"{chain} = {res}" if chain and chain != res else res
        rows.append(f"{lhs} &= {rhs} && ({_shape(v.jacobian.display_shape(layout), 'latex')})")
        budget.add(rows[-2] + rows[-1])
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"
