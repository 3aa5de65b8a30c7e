"""Each notation means the expression it was printed from.

For every golden derivative (the paper's and the Cookbook's, tests/test_golden.py; the
textbook table, tests/test_textbook.py; the higher orders, tests/test_higher_order.py),
its matrix form in each layout and the function f itself are printed in Unicode
(read back by ``read_text``), LaTeX in both styles (``read_latex``) and the input
language in both dialects (``matcalc.parse``); each reading is evaluated with
``matcalc.evaluate`` at a random point, the dimensions of different sizes (3, 2, 4)
so that a transpose cannot hide, and compared with ``Derivative.evaluate`` (the
layout that holds the numeric contract's orientation) or with the displayed form
(the others). A printer that writes something else than it was given fails here:
``test_a_wrong_printer_is_caught`` checks that with a printer that drops transposes.
"""
import numpy as np
import pytest

from oracle import dim_sizes, random_values
from test_golden import CASES as GOLDEN_CASES
from test_higher_order import CASES as HIGHER_CASES
from test_textbook import TEXTBOOK

import matcalc
from matcalc.backends.numeric import Evaluator, bind_dims
from matcalc.calculus.result import Kind
from matcalc.cli import main
from matcalc.core import expr as E
from matcalc.errors import ParseError
from matcalc.printing.latex import LatexPrinter
from matcalc.printing.readback import read_latex, read_text
from matcalc.printing.text import AsciiPrinter, UnicodePrinter

# (label, f, by, shapes, order)
GOLDEN = ([(c[0], c[1], c[2], c[3], 1) for c in GOLDEN_CASES]
          + [(f"textbook: {t[0]}", t[1], t[2], t[3], t[4]) for t in TEXTBOOK]
          + [(f"order {o}: {t} by {w}", t, w, s, o) for t, w, s, o in HIGHER_CASES])
LAYOUTS = ("mixed", "numerator", "denominator")


def _readers(declared):
    """notation -> (printer, reader of its text)."""
    return {
        "unicode": (UnicodePrinter(), read_text),
        "latex bold": (LatexPrinter(style="bold"), read_latex),
        "latex plain": (LatexPrinter(style="plain"), read_latex),
        "ascii": (AsciiPrinter(), lambda t, v, s: matcalc.parse(t, declared)),
        "ascii matlab": (AsciiPrinter(dialect="matlab"),
                         lambda t, v, s: matcalc.parse(t, declared, dialect="matlab")),
    }


def _plain(e: E.Expr, wrt: E.Expr) -> E.Expr:
    """``e`` with the differential dV as a variable named dV (as the input language
    reads it)."""
    dv = E.var(wrt.name, wrt.shape, True, wrt.structure)
    return E.substitute(e, {dv: E.var("d" + wrt.name, wrt.shape)})


def _evaluate(e: E.Expr, variables: list, values: dict) -> np.ndarray:
    """``matcalc.evaluate``, with the sizes given by all the variables (eye(n) alone
    names none)."""
    arrays, dims = bind_dims(variables, values)
    return np.asarray(Evaluator(arrays, dims).value(e), dtype=float)


def _forms(d):
    """(what, expression shown, its value as a function of the values)."""
    out = [("f", d.f, lambda vals: matcalc.evaluate(d.f, vals))]
    seen = set()
    for layout in LAYOUTS:
        shown = d.display(layout)
        if shown in seen or shown.rank > 2:  # a tensor of order 3 has no notation
            continue
        seen.add(shown)
        if d.kind is Kind.DIFFERENTIAL:
            def value(vals):  # df at the direction vals[dV]
                return np.tensordot(d.evaluate(vals), vals["d" + d.wrt.name], d.wrt.rank)
        elif layout == "mixed":
            value = d.evaluate
        else:
            def value(vals, shown=shown):
                return _evaluate(shown, E.variables(d.f) + [d.wrt], vals)
        out.append((f"d ({layout})", shown, value))
    return out


def check_notations(d, readers=None, seed=0) -> int:
    """Print, read back and compare every form of ``d``; returns how many readings."""
    variables = E.variables(d.f)
    if d.wrt not in variables:
        variables.append(d.wrt)
    declared = {v.name: v.shape for v in variables}
    declared["d" + d.wrt.name] = d.wrt.shape
    rng = np.random.default_rng(seed)
    dims = dim_sizes([d.f, d.wrt])
    values = random_values(d.f, d.wrt, rng, dims)
    values["d" + d.wrt.name] = rng.standard_normal(
        tuple(dims.get(s, s) for s in d.wrt.shape))
    plain_vars = variables + [E.var("d" + d.wrt.name, d.wrt.shape)]
    count = 0
    for what, shown, value in _forms(d):
        want = np.asarray(value(values), dtype=float)
        for notation, (printer, read) in (readers or _readers(declared)).items():
            printer._memo.clear()
            text = printer.doprint(shown)
            again = _plain(read(text, variables, shown.shape), d.wrt)
            got = _evaluate(again, plain_vars, values)
            if [n for n in got.shape if n != 1] == [n for n in want.shape if n != 1]:
                got = got.reshape(want.shape)  # a row vector f: (1, m) by x is (m, n)
            assert got.shape == want.shape and np.allclose(got, want, rtol=1e-8, atol=1e-10), \
                f"{what} in {notation}: {text!r} reads as {again} (shape {got.shape})\n" \
                f"{got}\nwhile it is\n{want}"
            count += 1
    return count


@pytest.mark.filterwarnings("ignore:.*naming convention")
@pytest.mark.parametrize("label, text, wrt, shapes, order", GOLDEN, ids=[g[0] for g in GOLDEN])
def test_every_notation_means_the_expression(label, text, wrt, shapes, order):
    assert check_notations(matcalc.diff(text, wrt, shapes, order=order)) >= 5


def test_counts():
    """The table's size: every golden derivative, each of its forms in five notations."""
    assert len(GOLDEN) >= 200
    assert len(_readers({})) == 5


class _DropsTransposes(UnicodePrinter):
    def _print_Transpose(self, e):
        return self.print(e.arg)


def test_a_wrong_printer_is_caught():
    d = matcalc.diff("tr(A@X)", "X", {"A": ("n", "n"), "X": ("n", "n")})
    with pytest.raises(AssertionError, match="in unicode"):
        check_notations(d, {"unicode": (_DropsTransposes(), read_text)})


# ------------------------------------------------------------- the readers themselves

V = {"x": ("n",), "A": ("n", "n"), "X": ("n", "n"), "z": (), "W": ("m", "n"), "u": ("m",)}


@pytest.mark.parametrize("text, source", [
    ("xᵀ(A + Aᵀ)", "x' @ (A + A')"),
    ("X⁻¹", "inv(X)"),
    ("X⁻ᵀ", "inv(X)'"),
    ("2 AᵀA", "2 * A' @ A"),
    ("diag(-1 ⊘ x²)", "diag(-1 / x^2)"),
    ("X∘² + X²", "X^2 + matpow(X, 2)"),
    ("log|det X|", "logdet(X)"),
    ("[z > 0] 𝟏xᵀ", "step(z) * ones(n) @ x'"),
    ("tr(X) I - n⁻¹𝟏𝟏ᵀ", "tr(X) * eye(n) - ones(n, n) / n"),
    ("‖Wx - u‖", "norm2(W @ x - u)"),
    ("σ(Wx) ⊙ u", "sigmoid(W @ x) * u"),
    ("(2/n) xᵀ", "2 / n * x'"),
    ("W[:, 1] + u[2]", "W[:, 1] + u[2]"),
    ("e₁ᵀx", "x[1]"),
])
def test_read_text(text, source):
    e = matcalc.parse(source, V)
    assert read_text(text, V, e.shape) is e


@pytest.mark.parametrize("text, source", [
    (r"\mathbf{x}^{\top} \left( \mathbf{A} + \mathbf{A}^{\top} \right)", "x' @ (A + A')"),
    (r"x^{\top} \left( A + A^{\top} \right)", "x' @ (A + A')"),
    (r"\operatorname{diag}\left( -1 \oslash \mathbf{x}^{2} \right)", "diag(-1 / x^2)"),
    (r"\frac{\mathbf{x}}{\left\| \mathbf{x} \right\|}", "x / norm2(x)"),
    (r"\log\left|\det \mathbf{X}\right| \mathbf{X}^{\circ 2} \odot \mathbf{X}^{-\top}",
     "logdet(X) * X^2 .* inv(X)'"),
    (r"\mathbf{I} - \frac{1}{n} \mathbf{1} \mathbf{1}^{\top}", "eye(n) - ones(n, n) / n"),
    (r"-\mathbf{X}^{-1} \, \mathbf{A} \, \mathbf{X}^{-1}", "-inv(X) @ A @ inv(X)"),
    (r"\left[ z > 0 \right] \sqrt{\mathbf{x}}", "step(z) * sqrt(x)"),
])
def test_read_latex(text, source):
    e = matcalc.parse(source, V)
    assert read_latex(text, V, e.shape) is e


@pytest.mark.parametrize("reader, text, column", [
    (read_text, "x + q", 5),           # an unknown name
    (read_text, "xᵀ(A + Aᵀ", 10),      # a bracket not closed
    (read_text, "x ⊙ ⊙ x", 5),
    (read_text, "X + z", 3),           # a scalar plus a matrix is not mathematics
    (read_latex, r"\mathbf{x} + \nabla", 14),
    (read_latex, r"\frac{1}{z", 11),
])
def test_unknown_input_is_a_parse_error_with_its_position(reader, text, column):
    with pytest.raises(ParseError) as err:
        reader(text, V)
    assert err.value.pos == (1, column), str(err.value)


def test_a_size_the_text_leaves_open_comes_from_the_shape():
    assert read_text("𝟏", {}, ("k",)) is E.ones(("k",))
    assert read_text("I", {}, (3, 3)) is E.eye(3)
    with pytest.raises(ParseError, match="not determined"):
        read_text("I", {})


# ---------------------------------------------------- dialects, styles and the CLI

def test_ascii_follows_the_matlab_dialect(capsys):
    assert main(["diff", "x'*A*x", "--wrt", "x", "--dialect", "matlab", "--ascii"]) == 0
    assert capsys.readouterr().out.startswith("df/dx = x' * (A + A')")


def test_latex_style_option(capsys):
    assert main(["diff", "x'@A@x", "--wrt", "x", "--format", "latex", "--style", "plain"]) == 0
    assert capsys.readouterr().out == \
        "\\frac{\\partial f}{\\partial x} = x^{\\top} \\left( A + A^{\\top} \\right)\n"
    d = matcalc.diff("x'@A@x", "x")
    assert d.latex() == r"\frac{\partial f}{\partial \mathbf{x}} = \mathbf{x}^{\top} " \
        r"\left( \mathbf{A} + \mathbf{A}^{\top} \right)"
    assert d.latex(style="plain") == r"\frac{\partial f}{\partial x} = x^{\top} " \
        r"\left( A + A^{\top} \right)"
    with pytest.raises(matcalc.UsageError, match="style"):
        d.latex(style="italic")
