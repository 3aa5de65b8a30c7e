"""The derivation as records, computed once: one :class:`Step` per intermediate, in
the order the chain rule visits them, as the paper writes it.

Each intermediate is named (``u1``, ``u2``, ... and ``f`` for the whole expression)
and written in terms of the earlier names, never re-expanded; its record holds the
rule in the paper's words and the chain rule that builds its Jacobian by the
variable: one :class:`Link` per earlier name it uses (its local Jacobian
``∂u₂/∂u₁``, to be multiplied by that name's own ``∂u₁/∂w``: the vector chain
rule), summed where the variable reaches it along several paths (the total-derivative
rule). Every local Jacobian is of a small expression in names, so a derivation costs
time and text linear in the number of steps. A step's Jacobian written out in the
earlier names (``value``) is kept only while it is short; after that the steps refer
to the earlier Jacobians by their names.

A higher derivative is derived in sections: the gradient ``g = ∇f`` first (the
steps of the first derivative), then ``∂g/∂x`` (the steps of differentiating ``g``,
whose sub-expressions already named keep their names).

Transposes, the scalar expansion of a constant, and a negation inside a sum are
folded into the step that uses them (``wᵀx`` is one step, the dot product; ``u₁ - y``
one step, the difference rule). The printers (:mod:`matcalc.printing.steps`) format
these records and compute nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Optional

from ..core import expr as E
from .derivative import identified, first_order
from .jvp import Applied, differential, tangent_of
from .result import Derivative, Kind

TOTAL = "total-derivative rule"
CHAIN = "chain rule"
VECTOR_CHAIN = "vector chain rule"
NAMED = Applied("named above", "the expression is an intermediate already named", E.ZERO)
SHORT = 24   # nodes: a Jacobian written in earlier names is shown up to this size
PER_STEP = 8  # nodes per step: the result in names is shown up to this size per step


@dataclass(frozen=True, eq=False)
class Link:
    """One term of the chain rule at a step: its local derivative by an earlier name
    (``∂u₂/∂u₁``), or by the variable itself (``prev`` None)."""
    local: Derivative
    differential: E.Expr       # d(step) through this name, in its tangent du₁, as the rule
    #                            writes it (dX⁻¹ = -X⁻¹ dX X⁻¹)
    prev: Optional["Step"]
    product: bool              # the name is in several arguments (the product rule)


@dataclass(frozen=True, eq=False)
class Step:
    """One step: intermediate ``name = shown``, its rule and the chain rule to its
    Jacobian by ``wrt``."""
    index: int
    base: str                 # the name's letter: u (or t, h, q); f, g, J... for a root
    number: Optional[int]     # u1, u2...: 1, 2...; None for a section's root
    var: E.Expr               # the intermediate as a variable (for later steps)
    node: E.Expr              # the original sub-expression
    shown: E.Expr             # the sub-expression in terms of earlier names
    rule: str
    doc: str
    wrt: E.Expr
    section: int              # the order of the derivative this step's section derives
    convention: str = "sym"
    chain: tuple = field(default=())   # the Links
    # d(step) in the tangent of wrt and earlier names, and the Jacobian it identifies,
    # while short (None after)
    dvalue: Optional[E.Expr] = None
    value: Optional[Derivative] = None

    @property
    def name(self) -> str:
        return self.base if self.number is None else f"{self.base}{self.number}"

    @property
    def chain_rule(self) -> Optional[str]:
        """The chain rule this step uses: None where its rule applies to the variable
        itself; the total-derivative rule over several paths; the single-variable
        chain rule where everything is a scalar; else the vector chain rule."""
        if not self.chain or len(self.chain) == 1 and self.chain[0].prev is None:
            return None
        if len(self.chain) > 1:
            return TOTAL
        if self.node.rank == 0 and self.wrt.rank == 0 and self.chain[0].prev.node.rank == 0:
            return CHAIN
        return VECTOR_CHAIN

    @cached_property
    def jacobian(self) -> Derivative:
        """The Jacobian of the original sub-expression by ``wrt``, written out in full
        (computed when asked: the derivation itself never needs it)."""
        return first_order(self.node, self.wrt, True, self.convention)


def _names(f: E.Expr) -> tuple[str, list[str]]:
    """A letter for the intermediates and letters for the roots (f, then g, H...) that
    no variable of f uses."""
    taken = {v.name for v in E.variables(f)}
    base = "u"
    for cand in ("u", "t", "h", "q"):
        if not any(n == cand or n.startswith(cand) and n[len(cand):].isdigit() for n in taken):
            base = cand
            break
    roots = [c for c in ("f", "y", "g", "J", "H", "T", "F", "G", "K") if c not in taken]
    return base, roots


def _short(e: E.Expr, limit: int = SHORT) -> bool:
    """At most ``limit`` nodes as a tree (stops counting there)."""
    count, stack = 0, [e]
    while stack:
        count += 1
        if count > limit:
            return False
        stack.extend(stack.pop().args)
    return True


def _negation(n: E.Expr) -> Optional[E.Expr]:
    """x when ``n`` is -x."""
    c, rest = E._split_coeff(n)
    return rest if c == -1 and rest is not None else None


def _root_letter(d: Derivative, roots: list[str]) -> str:
    """f for the function; for a higher derivative, its lower one's letter: g for a
    gradient, J for a Jacobian, H for a Hessian."""
    if d.of is None:
        return roots[0]
    wanted = "g" if d.of.kind is Kind.GRADIENT else "H" if d.of.order == 2 else "J"
    return wanted if wanted in roots else roots[-1]


class _Deriver:
    """The derivation's state across its sections: the names given so far."""

    def __init__(self, d: Derivative):
        self.convention = d.symmetric_gradient or "sym"
        self.base, self.roots = _names(d.f)
        self.v = None
        self.steps: list[Step] = []
        self.count = 0

    def by(self, v: E.Expr) -> None:
        """Differentiate by ``v`` from now on: by another variable than before (a mixed
        derivative), the names given so far are not reused (their Jacobians are by
        the other variable)."""
        if v is self.v:
            return
        self.v, self.dv = v, tangent_of(v)
        self.mapping: dict = {}     # original node -> its form in names
        self.by_var: dict = {}      # name -> Step
        self.named: dict = {}       # a step's shown -> its name (for local Jacobians)

    def section(self, d: Derivative, root: E.Expr, letter: str) -> None:
        """The steps of ``d``'s chain rule (the nodes not named yet), the last, at
        ``root``, named ``letter``; a root named before is one step, ``g = u₂``."""
        self.by(d.wrt)
        v, mapping = self.v, self.mapping
        if root in mapping:
            self.add(NAMED, mapping[root], letter, d.order, root)
            return
        applied = [s for s in d.applied if s.node not in mapping]
        summed = {a for s in applied if type(s.node) is E.Add for a in s.node.args}
        for s in applied:
            n = s.node
            args = [self.in_terms(a) for a in n.args]
            if n is not root and (type(n) is E.Transpose or type(n) is E.Expand and
                                  n.arg is not v or n in summed and _negation(n) is not None):
                mapping[n] = n.rebuild(args)  # folded into its user
                continue
            self.add(s, n.rebuild(args), letter if n is root else None, d.order, n)
        last = self.steps[-1]
        if last.value is None:
            # the section's result, written in the names (shown once, as the answer),
            # unless even in names it grows faster than the steps (a chain of softmaxes)
            names = {n: u for n, u in mapping.items() if u in self.by_var}
            result = E.substitute(d.expr, names)
            if _short(result, SHORT + PER_STEP * len(self.steps)):
                last = replace(last, value=replace(d, expr=result))
                self.steps[-1] = self.by_var[last.var] = last

    def in_terms(self, a: E.Expr) -> E.Expr:
        """Node ``a`` in terms of the names (a node with no step of its own, whose
        derivative is zero, such as [u₁ > 0], is written with them too)."""
        got = self.mapping.get(a)
        if got is None:
            got = self.mapping[a] = E.substitute(a, self.mapping) if self.mapping else a
        return got

    def add(self, s: Applied, shown: E.Expr, letter: Optional[str], order: int,
            n: E.Expr) -> None:
        """The step ``shown`` (node ``n`` in names), by rule ``s``, named ``letter`` (a
        root) or the next ``u``."""
        v = self.v
        if letter is None:
            self.count += 1
            base, number = self.base, self.count
        else:
            base, number = letter, None
        uvar = E.var(base if number is None else f"{base}{number}", n.shape)
        if type(shown) is not E.Var:
            self.named[shown] = uvar
        rule = s.rule
        if type(n) is E.Mul and len(n.args) == 2 and any(
                E.const_value(a) is not None for a in n.args):
            rule = "constant multiple rule" + (" with scalar expansion" if n.rank else "")
        if type(n) is E.Add and any(_negation(a) is not None for a in shown.args):
            rule = rule.replace("sum rule", "difference rule")
        deps = [q for q in E.variables(shown) if q is v or q in self.by_var]
        chain, terms = [], []
        for q in deps:
            dq = differential(shown, q)
            if dq is None:
                continue
            local = self.in_names(first_order(shown, q, True, self.convention))
            prev = self.by_var.get(q)
            uses = sum(1 for a in shown.args if differential(a, q) is not None)
            chain.append(Link(local, dq, prev, uses > 1))
            inner = self.dv if prev is None else prev.dvalue
            terms.append(None if inner is None else
                         E.substitute(dq, {tangent_of(q): inner}) if prev else dq)
        if len(chain) > 1:
            rule = f"{rule}; {TOTAL} (sum over the {len(chain)} paths)"
        dvalue = value = None
        if terms and None not in terms and v.structure is None:
            dvalue = E.add(*terms)
            value = self.in_names(identified(shown, v, dvalue, self.dv, True, ()))
            if _short(value.expr):
                dvalue = self.in_names_expr(dvalue)
            else:
                dvalue = value = None
        step = Step(len(self.steps) + 1, base, number, uvar, n, shown, rule, s.doc, v,
                    order, self.convention, tuple(chain), dvalue, value)
        self.steps.append(step)
        self.by_var[uvar] = step
        self.mapping[n] = uvar

    def in_names_expr(self, e: E.Expr) -> E.Expr:
        """``e`` with the sub-expressions that steps define written as their names
        (``1 - tanh(u₁)²`` as ``1 - u₂²``)."""
        return E.substitute(e, self.named)

    def in_names(self, d: Derivative) -> Derivative:
        return replace(d, expr=self.in_names_expr(d.expr))


def derivation(d: Derivative) -> tuple:
    """The steps of derivative ``d``: for a higher derivative, those of its lower
    derivative first (the gradient), then those of differentiating it."""
    chain = []
    x = d
    while x is not None:
        chain.append(x)
        x = x.of
    if chain[-1].kind is Kind.ZERO or not chain[-1].applied:
        return ()
    out = _Deriver(d)
    for level in reversed(chain):
        if not level.applied:
            continue
        letter = _root_letter(level, out.roots)
        out.section(level, level.applied[-1].node, letter)
    return tuple(out.steps)
