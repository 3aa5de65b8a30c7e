"""A derivative as plain data (``--format json``, ``Derivative.to_json()``).

The schema (version 1) is documented in ``docs/cli.md``; keys are only ever added.
A shape is a list of dimensions, each an integer or a symbol (a string); ``[]`` is
a scalar.
"""
from __future__ import annotations

from ..core import expr as E
from ..core import shapes as S
from ..printing.base import OutputBudget

SCHEMA_VERSION = 1


def _dims(shape) -> list:
    out = []
    for d in shape:
        d = S.resolve(d)
        out.append(d if isinstance(d, int) else str(d))
    return out


def _forms(e: E.Expr) -> dict:
    from ..printing.latex import to_latex
    from ..printing.text import to_text, to_unicode
    return {"text": to_text(e), "unicode": to_unicode(e), "latex": to_latex(e)}


def derivative_dict(d, layout: str = "numerator") -> dict:
    """The schema of docs/cli.md, as a dict of JSON-compatible values."""
    from ..printing.latex import derivative_latex
    from ..printing.steps import step_views
    shown = d.display(layout)
    steps = []
    budget = OutputBudget()
    for v in step_views(d, "unicode"):
        steps.append({
            "index": v.index,
            "name": v.name,
            "expression": _forms(v.shown),
            "shape": _dims(v.node.shape),
            "rule": v.rule,
            "doc": v.doc,
            "derivative": _forms(v.jacobian.display(layout)),
            "derivative_kind": v.jacobian.kind,
            "derivative_shape": _dims(v.jacobian.display_shape(layout)),
        })
        budget.add("".join(steps[-1]["expression"].values()) +
                   "".join(steps[-1]["derivative"].values()))
    kinks = sorted({n.fn for n in E.postorder(d.f) if type(n) is E.Call and not n.spec.smooth})
    return {
        "schema": SCHEMA_VERSION,
        "input": _forms(d.f),
        "shapes": {v.name: _dims(v.shape) for v in E.variables(d.f)},
        "input_shape": _dims(d.f.shape),
        "wrt": d.wrt.name,
        "wrt_shape": _dims(d.wrt.shape),
        "order": d.order,
        "kind": d.kind,
        "derivative": dict(_forms(shown), equation=derivative_latex(d, layout)),
        "shape": _dims(d.display_shape(layout)),
        "evaluate_shape": _dims(d.shape),
        "layout": layout,
        "layout_note": d.layout_note(layout),
        "rule": d.rule,
        "nonsmooth": kinks,
        "steps": steps,
    }
