"""The line breaker of display math (matcalc.printing.linebreak): its contract on the
LaTeX of every golden derivative and of their derivations, at several widths.
tests/test_pdflatex.py checks the estimate and the breaks against pdflatex itself."""

import re

import pytest

import matcalc
from matcalc.printing.latex import to_latex
from matcalc.printing.linebreak import LINE_WIDTH_EM, break_math, estimate_width, lead
from test_golden import CASES

LOSS = "mean((y - max(0, X@w + b))^2)"


def _strings():
    out = set()
    for _, text, wrt, shapes, _ in CASES:
        d = matcalc.diff(text, wrt, shapes=shapes)
        out.add(d.latex())
        out.add(to_latex(d.f))
    d = matcalc.diff(LOSS, "w")
    out.add(d.latex())
    out.add(matcalc.diff(LOSS, "w", order=2).latex())
    return sorted(out)


STRINGS = _strings()


def _rejoined(pieces):
    text = "".join(pieces)
    return re.sub(r"\\[bB]ig([lr])", lambda m: "\\left" if m.group(1) == "l" else "\\right", text)


def _balanced(piece):
    depth = 0
    for tok in re.findall(r"\\[A-Za-z]+|\\.|.", piece, re.S):
        depth += {"{": 1, "}": -1}.get(tok, 0)
        if depth < 0:
            return False
    lefts = re.findall(r"\\left(?![A-Za-z])", piece)
    rights = re.findall(r"\\right(?![A-Za-z])", piece)
    return depth == 0 and len(lefts) == len(rights)


@pytest.mark.parametrize("width", [6, 10, 16, 25, LINE_WIDTH_EM])
def test_contract_on_golden_latex(width):
    broken = 0
    for s in STRINGS:
        pieces = break_math(s, width)
        assert _rejoined(pieces) == s
        assert all(_balanced(p) for p in pieces), pieces
        assert all(p.strip() for p in pieces)
        for p in pieces:
            # within the width, or a piece nothing can be cut from
            assert estimate_width(p) <= width + 1e-9 or break_math(p, width) == [p], (p, width)
        broken += len(pieces) > 1
    if width <= 10:
        assert broken > 10  # the test exercises breaking


def test_everything_fits_at_a_reasonable_width():
    # no golden derivative has an atom wider than 16 em except the matrices of rule 4
    for s in STRINGS:
        if "bmatrix" in s:
            continue
        assert all(estimate_width(p) <= 16 for p in break_math(s, 16)), s


def test_relations_before_sums_before_factors():
    s = r"a + b = c + d + e = \mathrm{X} \mathbf{y}"
    w = estimate_width(r"b = c + d + e") - estimate_width("b") + 0.01
    assert break_math(s, w) == ["a + b ", "= c + d + e ", r"= \mathrm{X} \mathbf{y}"]
    assert break_math(r"a + b + c", estimate_width("a + b") + 0.1) == ["a + b ", "+ c"]
    product = r"\mathrm{A} \mathrm{B} \odot \mathrm{C}"
    assert break_math(product, estimate_width(r"\mathrm{A} \mathrm{B}") + 0.1) == \
        [r"\mathrm{A} \mathrm{B} ", r"\odot \mathrm{C}"]


def test_operator_names_stay_with_their_argument():
    s = r"\det \mathrm{X} \, \mathrm{X}^{-1}"
    pieces = break_math(s, estimate_width(r"\det \mathrm{X}") + 0.2)
    assert pieces == [r"\det \mathrm{X} \, ", r"\mathrm{X}^{-1}"]


def test_a_bracket_group_is_broken_inside_with_big_delimiters():
    s = r"\operatorname{diag}\left( \mathbf{a} + \mathbf{b} + \mathbf{c} \right)^{\top} \mathbf{x}"
    pieces = break_math(s, 6)
    assert len(pieces) == 2
    assert pieces[0].startswith(r"\operatorname{diag}\bigl( ")
    assert pieces[-1].endswith(r"\bigr)^{\top} \mathbf{x}")
    tall = r"\left( \frac{1}{2} \mathbf{a} + \frac{1}{3} \mathbf{b} + \mathbf{c} \right)"
    pieces = break_math(tall, 6)
    assert pieces[0].startswith(r"\Bigl(") and pieces[-1].endswith(r"\Bigr)")
    # a nested group that fits keeps \left ... \right
    nested = r"\left( \left( \mathbf{a} + \mathbf{b} \right) \odot \mathbf{c} + \mathbf{d} \right)"
    pieces = break_math(nested, 5)
    assert pieces[0].startswith(r"\bigl( \left( ")


def test_a_long_derivative_breaks_into_lines_that_fit():
    s = matcalc.diff("sum(sigmoid(W@tanh(V@x + c) + b) * log(softmax(U@x)))", "V").latex()
    assert estimate_width(s) > 50
    pieces = break_math(s, 30)
    assert len(pieces) >= 2
    assert all(estimate_width(p) <= 30 for p in pieces)
    assert _rejoined(pieces) == s


def test_estimates_are_ordered_sensibly():
    assert estimate_width("x") == pytest.approx(estimate_width("y"), abs=0.1)
    assert estimate_width(r"\mathbf{x}") > estimate_width("x")
    assert estimate_width("x^{2}") < estimate_width("x 2")
    assert estimate_width(r"\frac{a b c}{d}") < estimate_width(r"a b c d")
    assert estimate_width("a + b") > estimate_width("a b") + 0.6  # medium spaces
    assert estimate_width(r"a = b") > estimate_width("a + b")  # thick spaces
    assert estimate_width(r"\begin{bmatrix} a & b \\ c & d \end{bmatrix}") == pytest.approx(
        estimate_width(r"\begin{bmatrix} a & b \end{bmatrix}"))
    assert estimate_width("") == 0


def test_lead_keeps_a_binary_operator_binary():
    assert lead("+ x") == "{}+ x"
    assert lead(r"\odot \mathbf{x}") == r"{}\odot \mathbf{x}"
    assert lead("= y") == "{}= y"
    assert lead(r"\mathbf{x}") == r"\mathbf{x}"
