"""The derivation as records, computed once: one :class:`Step` per intermediate, in
the order the chain rule visits them, as the paper writes it.

Each intermediate is named (``u1``, ``u2``, ... and ``f`` for the whole expression)
and written in terms of the earlier names; its record holds the rule in the paper's
words, the Jacobian of the intermediate by the variable (a :class:`Derivative`), and
the terms of the vector chain rule that build it: the local Jacobian by each earlier
intermediate it uses, times that intermediate's Jacobian (summed over the paths when
the variable reaches the node along several: the total-derivative rule).

Transposes are folded into the step that uses them (``wᵀx`` is one step, the dot
product), as the paper does. The printers (:mod:`matcalc.printing.steps`) format
these records and compute nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..core import expr as E
from .derivative import first_order
from .result import Kind

TOTAL = "total-derivative rule"


@dataclass(frozen=True, eq=False)
class Step:
    """One step: intermediate ``name = shown``, its rule and its Jacobian."""
    index: int
    base: str                 # the name's letter: u (or t, h, q), or f (or y) for the last
    number: Optional[int]     # u1, u2...: 1, 2...; None for the whole expression
    var: E.Expr               # the intermediate as a variable (for later steps)
    node: E.Expr              # the original sub-expression
    shown: E.Expr             # the sub-expression in terms of earlier names
    rule: str
    doc: str
    jacobian: object          # the Derivative of node by wrt
    # the vector chain rule: (local Derivative by an earlier name, that Step or None
    # where the name is the variable itself)
    chain: tuple = field(default=())

    @property
    def name(self) -> str:
        return self.base if self.number is None else f"{self.base}{self.number}"


def _names(f: E.Expr) -> tuple[str, str]:
    """Letters for the intermediates and the result that no variable of f uses."""
    taken = {v.name for v in E.variables(f)}
    base = "u"
    for cand in ("u", "t", "h", "q"):
        if not any(n == cand or n.startswith(cand) and n[len(cand):].isdigit() for n in taken):
            base = cand
            break
    final = "f" if "f" not in taken else "y"
    return base, final


def derivation(d) -> tuple:
    """The steps of derivative ``d`` (a Hessian's: those of differentiating its
    gradient)."""
    v = d.wrt
    convention = d.symmetric_gradient or "sym"  # by a symmetric variable: d's convention
    base, final = _names(d.f)
    root = d.of.expr if d.of is not None else d.f
    kept = []
    for s in d.applied:
        n = s.node
        if n is not root and type(n) is E.Transpose:
            continue  # folded into its user: wᵀx is the dot product
        if n is not root and type(n) is E.Expand and n.arg is not v:
            continue  # shown as the scalar itself (scalar expansion), named in the user's rule
        kept.append(s)
    transposes: dict = {}
    for s in d.applied:
        if type(s.node) is E.Transpose:
            transposes.setdefault(s.node.arg, []).append(s.node)
    mapping: dict = {}
    steps: list[Step] = []
    by_var: dict = {}
    count = 0
    for s in kept:
        n = s.node
        shown = E.substitute(n, mapping) if mapping else n
        if n is root:
            letter, number = final, None
        else:
            count += 1
            letter, number = base, count
        uvar = E.var(letter if number is None else f"{letter}{number}", n.shape)
        rule = s.rule
        if type(n) is E.Mul and len(n.args) == 2 and any(
                E.const_value(a) is not None for a in n.args):
            rule = "constant multiple rule" + (" with scalar expansion" if n.rank else "")
        deps = [q for q in E.variables(shown) if q is v or q in by_var]
        if len(deps) > 1 or len([a for a in n.args if E.depends_on(a, v)]) > 1:
            rule = f"{rule}; {TOTAL} (sum over the {max(len(deps), 2)} paths)"
        jac = first_order(n, v, True, convention)
        chain = []
        for q in deps:
            local = first_order(shown, q, True, convention)
            if local.kind is not Kind.ZERO:
                chain.append((local, by_var.get(q)))
        step = Step(len(steps) + 1, letter, number, uvar, n, shown, rule, s.doc, jac,
                    tuple(chain))
        steps.append(step)
        by_var[uvar] = step
        mapping[n] = uvar
        # a folded transpose of this node is written with the new name
        for t in transposes.get(n, ()):
            mapping[t] = E.transpose(uvar)
    return tuple(steps)
