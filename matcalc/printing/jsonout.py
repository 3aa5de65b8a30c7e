"""A derivative as plain data (``--format json``, ``Derivative.to_json()``).

The schema (version 1) is documented in ``docs/cli.md``; keys are only ever added.
A shape is a list of dimensions, each an integer or a symbol (a string); ``[]`` is
a scalar.
"""
from __future__ import annotations

from ..core import expr as E
from ..core import shapes as S
from .base import OutputBudget
from .latex import derivative_latex, to_latex
from .report import kinks
from .steps import step_name
from .text import to_text, to_unicode

SCHEMA_VERSION = 1


def dims(shape) -> list:
    out = []
    for d in shape:
        d = S.resolve(d)
        out.append(d if isinstance(d, int) else str(d))
    return out


def forms(e: E.Expr, names=None) -> dict:
    """The text, Unicode and LaTeX forms; ``names`` (Unicode) for a derivation's u₁."""
    return {"text": to_text(e), "unicode": to_unicode(e, names), "latex": to_latex(e)}


def _structures(d) -> dict:
    """The declared structures (sym, spd, prob) of the variables of f and of wrt."""
    return {v.name: v.structure for v in E.variables(d.f) + [d.wrt]
            if v.structure is not None}


def _index(d) -> tuple:
    """The index form's data (:func:`matcalc.printing.index.index_dict`), or None and
    the reason (a form beyond its budget of terms)."""
    from ..errors import LimitError
    from .index import index_dict
    try:
        return index_dict(d.index_form()), None
    except LimitError as err:
        return None, f"index notation not shown: {err}"


def _kronecker(d):
    """The Kronecker form ∂vec(f)/∂vec(V) of a differential, where it has one."""
    from .document import kronecker_equation
    form = kronecker_equation(d)
    if form is None:
        return None
    left, right, commutation = form
    return {"text": d.kronecker(ascii=True), "unicode": d.kronecker(),
            "equation": f"{left} = {right}", "latex": right, "commutation": commutation}


def derivative_dict(d, layout: str = "numerator", at=None) -> dict:
    """The schema of docs/cli.md, as a dict of JSON-compatible values. ``structure``
    is there when a variable has a declared structure, ``symmetric_gradient`` when
    ``wrt`` is symmetric, ``index_note`` when ``index`` is None, ``kronecker`` for a
    differential of the form Σ c P dV S, ``wrts`` for a mixed
    derivative, ``at`` and ``value`` with a point ``at``, ``(values, array)`` (keys
    are only ever added)."""
    shown = d.display(layout)
    steps = []
    budget = OutputBudget()
    names = {s.var: step_name(s, "unicode") for s in d.steps}
    for s in d.steps:
        steps.append({
            "index": s.index,
            "name": names[s.var],
            "expression": forms(s.shown, names),
            "shape": dims(s.node.shape),
            "rule": s.rule,
            "doc": s.doc,
            "derivative": forms(s.jacobian.display(layout), names),
            "derivative_kind": s.jacobian.kind.value,
            "derivative_shape": dims(s.jacobian.display_shape(layout)),
        })
        budget.add("".join(steps[-1]["expression"].values()) +
                   "".join(steps[-1]["derivative"].values()))
    out = {
        "schema": SCHEMA_VERSION,
        "input": forms(d.f),
        "shapes": {v.name: dims(v.shape) for v in E.variables(d.f)},
        "input_shape": dims(d.f.shape),
        "wrt": d.wrt.name,
        "wrt_shape": dims(d.wrt.shape),
        "order": d.order,
        "kind": d.kind.value,
        "derivative": dict(forms(shown), equation=derivative_latex(d, layout)),
        "shape": dims(d.display_shape(layout)),
        "evaluate_shape": dims(d.shape),
        "layout": layout,
        "layout_note": d.layout_note(layout),
        "rule": d.rule,
        "nonsmooth": kinks(d.f),
        "steps": steps,
    }
    out["index"], note = _index(d)
    if note:
        out["index_note"] = note
    kronecker = _kronecker(d)
    if kronecker:
        out["kronecker"] = kronecker
    structures = _structures(d)
    if structures:
        out["structure"] = structures
    if d.symmetric_gradient is not None:
        out["symmetric_gradient"] = d.symmetric_gradient
    if d.mixed:
        out["wrts"] = [v.name for v in d.wrts]
    if at is not None:
        from .values import point
        values, value = at
        # the value in the numeric contract's layout (evaluate_shape), as nested lists
        out["at"] = {name: a.tolist() for name, a in point(d, values).items()}
        out["value"] = value.tolist()
    return out
