"""--ascii output is the input language: every golden derivative printed with
``ascii=True`` parses back (with the variables' shapes) to the same expression.

The display may show a transpose pulled out of a row-vector sum, ``(x - A @ s)'``,
where the constructors keep ``x' - s' @ A'``: the same expression, so the comparison
is with the displayed tree rebuilt through the constructors (its canonical form)."""

import pytest

import matcalc
from matcalc.core import expr as E

from test_golden import CASES


def canonical(e: E.Expr) -> E.Expr:
    return E.transform(e, lambda node, args: node.rebuild(args))


@pytest.mark.parametrize("source,text,wrt,shapes,expected", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_ascii_derivative_parses_back(source, text, wrt, shapes, expected, layout):
    d = matcalc.diff(text, wrt, shapes=shapes)
    if d.kind == "differential":
        pytest.skip("a differential shows the tangent dV, which is not a variable")
    declared = {v.name: v.shape for v in E.variables(d.f) + [d.wrt]}
    shown = d.display(layout)
    again = matcalc.parse(d.text(layout, ascii=True), declared)
    assert again is canonical(shown), (d.text(layout, ascii=True), str(again))


@pytest.mark.parametrize("source,text,wrt,shapes,expected", CASES, ids=[c[0] for c in CASES])
def test_ascii_follows_the_matlab_dialect(source, text, wrt, shapes, expected):
    d = matcalc.diff(text, wrt, shapes=shapes)
    if d.kind == "differential":
        pytest.skip("a differential shows the tangent dV, which is not a variable")
    declared = {v.name: v.shape for v in E.variables(d.f) + [d.wrt]}
    written = d.text(ascii="matlab")
    assert matcalc.parse(written, declared, dialect="matlab") is canonical(d.display()), written
