"""The index (Einstein) form of every derivative, as printed and as data.

- the issue's examples print exactly as written here (Unicode, ASCII, LaTeX);
- for every case of the golden, textbook, batched and Kronecker tables (and orders 2
  and 3), the JSON "terms" parse back: each factor's ``expr`` is parsed with
  ``matcalc.parse`` (a dimension's name there stands for its size), the terms are
  rebuilt with ``numpy.einsum`` and compared entry by entry with
  ``Derivative.evaluate`` at sizes 2, 3, 4 (different per dimension);
- ``IndexForm.evaluate`` equals ``Derivative.evaluate`` on the same cases;
- every LaTeX form renders with KaTeX;
- the CLI: ``--index`` (text, ``--ascii``, ``--format latex``, ``--document``),
  ``--format json`` and ``--order 3``.
"""
import json
import re
from fractions import Fraction

import numpy as np
import pytest

from oracle import assert_close, dim_sizes, random_values
from test_batched import BATCHED
from test_golden import COOKBOOK_CASES, PAPER_CASES
from test_kronecker import CASES as KRONECKER
from test_latex import _katex
from test_textbook import ROWS

import matcalc
from matcalc.backends.numeric import Evaluator, concrete
from matcalc.calculus.index import LETTERS
from matcalc.cli import main
from matcalc.core import expr as E
from matcalc.errors import LimitError
from matcalc.parser import parse
from matcalc.printing.index import _SUB

# ------------------------------------------------------------ the issue's examples

EXAMPLES = [
    # (f, wrt, order, Unicode, ASCII, LaTeX)
    ("tanh(W@x)", "W", 1,
     "∂fᵢ/∂Wⱼₖ = (1 - tanh(Wx)²)ᵢ δᵢⱼ xₖ",
     "df[i]/dW[j,k] = (1 - tanh(W @ x)^2)[i] * delta(i,j) * x[k]",
     r"\frac{\partial f_{i}}{\partial W_{jk}} = \left( 1 - \tanh\left( \mathbf{W} "
     r"\mathbf{x} \right)^{2} \right)_{i} \delta_{ij} x_{k}"),
    ("inv(X)", "X", 1,
     "∂(X⁻¹)ᵢⱼ/∂Xₖₗ = -(X⁻¹)ᵢₖ (X⁻¹)ₗⱼ",
     "d(inv(X))[i,j]/dX[k,l] = -inv(X)[i,k] * inv(X)[l,j]",
     r"\frac{\partial \left( \mathbf{X}^{-1} \right)_{ij}}{\partial X_{kl}} = "
     r"-\left( \mathbf{X}^{-1} \right)_{ik} \left( \mathbf{X}^{-1} \right)_{lj}"),
    ("X*X", "X", 1,
     "∂fᵢⱼ/∂Xₖₗ = 2 Xᵢⱼ δᵢₖ δⱼₗ",
     "df[i,j]/dX[k,l] = 2 * X[i,j] * delta(i,k) * delta(j,l)",
     r"\frac{\partial f_{ij}}{\partial X_{kl}} = 2 X_{ij} \delta_{ik} \delta_{jl}"),
    ("x'@A@x", "x", 1,
     "∂f/∂xᵢ = (A + Aᵀ)ᵢⱼ xⱼ",
     "df/dx[i] = (A + A')[i,j] * x[j]",
     r"\frac{\partial f}{\partial x_{i}} = \left( \mathbf{A} + \mathbf{A}^{\top} \right)_{ij} "
     r"x_{j}"),
    ("sum(exp(A@x))", "x", 3,
     "∂³f/∂xᵢ∂xⱼ∂xₖ = Aₗᵢ exp(Ax)ₗ Aₗₖ Aₗⱼ",
     "d3f/dx[i]dx[j]dx[k] = A[l,i] * exp(A @ x)[l] * A[l,k] * A[l,j]",
     r"\frac{\partial^{3} f}{\partial x_{i} \, \partial x_{j} \, \partial x_{k}} = "
     r"A_{li} \exp\left( \mathbf{A} \mathbf{x} \right)_{l} A_{lk} A_{lj}"),
    ("tr(X)", "X", 1, "∂f/∂Xᵢⱼ = δᵢⱼ", "df/dX[i,j] = delta(i,j)",
     r"\frac{\partial f}{\partial X_{ij}} = \delta_{ij}"),
    ("x", "x", 1, "∂xᵢ/∂xⱼ = δᵢⱼ", "dx[i]/dx[j] = delta(i,j)",
     r"\frac{\partial x_{i}}{\partial x_{j}} = \delta_{ij}"),
    ("sum(x^3)", "x", 3, "∂³f/∂xᵢ∂xⱼ∂xₖ = 6 δᵢⱼ δᵢₖ",
     "d3f/dx[i]dx[j]dx[k] = 6 * delta(i,j) * delta(i,k)",
     r"\frac{\partial^{3} f}{\partial x_{i} \, \partial x_{j} \, \partial x_{k}} = "
     r"6 \delta_{ij} \delta_{ik}"),
    ("a^3", "a", 3, "∂³f/∂a³ = 6", "d3f/da3 = 6",
     r"\frac{\partial^{3} f}{\partial a^{3}} = 6"),
    ("sum(w*x + b)", "b", 1, "∂f/∂b = n", "df/db = n",
     r"\frac{\partial f}{\partial b} = n"),
]


@pytest.mark.parametrize("f, wrt, order, uni, ascii, tex", EXAMPLES,
                         ids=[f"{e[0]} by {e[1]}^{e[2]}" for e in EXAMPLES])
def test_issue_examples_print_exactly(f, wrt, order, uni, ascii, tex):
    form = matcalc.diff(f, wrt, order=order).index_form()
    assert str(form) == uni
    assert form.text() == uni
    assert form.text(ascii=True) == ascii
    assert form.latex() == tex
    data = form.to_dict()
    assert (data["text"], data["ascii"], data["latex"]) == (uni, ascii, tex)


def test_json_data_of_an_example():
    data = matcalc.diff("X*X", "X").index_form().to_dict()
    assert data["f_indices"] == ["i", "j"] and data["wrt_indices"] == [["k", "l"]]
    assert data["terms"] == [{"coeff": "2", "factors": [{"expr": "X", "indices": ["i", "j"]}],
                              "deltas": [["i", "k"], ["j", "l"]],
                              "sizes": {"i": "m", "j": "n", "k": "m", "l": "n"}}]
    json.dumps(data)  # plain data


def test_orders_and_an_axis_of_size_one():
    h = matcalc.diff("softmax(x)", "x", order=2).index_form()
    assert h.text().startswith("∂²fᵢ/∂xⱼ∂xₖ = softmax(x)ᵢ δᵢⱼ δᵢₖ - ")
    assert h.text(ascii=True).startswith("d2f[i]/dx[j]dx[k] = ")
    assert h.latex().startswith(r"\frac{\partial^{2} f_{i}}{\partial x_{j} \, "
                                r"\partial x_{k}} = ")
    row = matcalc.diff("x[None, :]", "x").index_form()   # 1×n: the 1 takes no index
    assert row.f_indices == (None, "i")
    assert row.text() == "∂(xᵀ)ᵢ/∂xⱼ = δᵢⱼ"
    assert row.to_dict()["f_indices"] == [None, "i"]
    hess = matcalc.diff("tr(inv(X))", "X", order=2).index_form()
    assert hess.text().startswith("∂²f/∂Xᵢⱼ∂Xₖₗ = ")


def test_zero_and_scalar_factors():
    z = matcalc.diff("sum(x)", "y", {"y": ("k",)}).index_form()
    assert z.terms == () and z.text() == "∂f/∂yᵢ = 0" and z.latex().endswith("= 0")
    assert matcalc.diff("sin(a)*a", "a").index_form().text() == \
        "∂f/∂a = sin(a) + a cos(a)"
    # a scalar factor beside others is bracketed when it is a sum or a product
    text = matcalc.diff("(a + c)*x", "x").index_form().text()
    assert text == "∂fᵢ/∂xⱼ = (a + c) δᵢⱼ"
    form = matcalc.diff("2*(a + c)*b", "b").index_form()
    assert (form.text(), form.text(ascii=True)) == ("∂f/∂b = 2 (a + c)", "df/db = 2 * (a + c)")
    assert matcalc.diff("-(a + c)*b", "b").index_form().text() == "∂f/∂b = -(a + c)"


def test_every_letter_has_a_subscript():
    assert set(_SUB) == set(LETTERS)


def test_numbered_indices_use_brackets():
    """Beyond LETTERS, the indices are i1, i2...: no Unicode subscript, so the form
    is written with brackets throughout."""
    chain = "y'@" + "@".join("ABCDEFGHJKLMNPQR") + "@x"
    form = matcalc.diff(chain, "x").index_form()
    text = form.text()
    assert text.startswith("∂f/∂x[i] = ") and "[i1, " in text and "i3]" in text
    assert not any(c in text for c in "ᵢⱼₖₗ")           # brackets throughout
    assert re.search(r"[A-R]\[i1, i2\]|[A-R]\[i2, i1\]", text)
    assert "i_{1}, " in form.latex() and "i_{3}" in form.latex()
    assert re.search(r"\* [A-R]\[i2,i1\] \*|\* [A-R]\[i1,i2\] \*", form.text(ascii=True))


def test_a_form_beyond_its_budget_of_terms():
    d = matcalc.diff("matpow(X, 300)", "X")
    with pytest.raises(LimitError):
        d.index_form()
    data = d.to_dict()
    assert data["index"] is None and "more than 256 terms" in data["index_note"]
    assert "  index notation not shown: the index form has more than 256 terms" in \
        d.report().splitlines()


# --------------------------------------------------- the data parses back, numerically

CASES = [(c[0], c[1], c[2], c[3], 1) for c in PAPER_CASES + COOKBOOK_CASES]
CASES += [(r[0], r[1], r[2], r[3], r[4]) for r in ROWS]
CASES += [(r[0], r[1], r[2], r[3], 1) for r in BATCHED]
CASES += [(f"Kronecker {r[0]} by {r[1]}", r[0], r[1], r[2], 1) for r in KRONECKER]
HIGHER = [
    ("softmax, order 2", "softmax(x)", "x", None, 2),
    ("tanh of a layer, order 2 by x", "tanh(W@x)", "x", None, 2),
    ("log-sum-exp of a layer, order 3", "sum(exp(A@x))", "x", None, 3),
    ("cubic, order 3", "sum(x^3)", "x", None, 3),
    ("logsumexp, order 3", "logsumexp(x)", "x", None, 3),
    ("quadratic form, order 3", "x'@A@x", "x", None, 3),
    ("scalar, order 3", "sin(a)*a^2", "a", None, 3),
    ("sigmoid, order 2", "sigmoid(x)", "x", None, 2),
    ("vector by a scalar, order 3", "exp(a*x)", "a", None, 3),
    ("trace of the inverse, order 2", "tr(inv(X))", "X", None, 2),
    ("logdet, order 2", "logdet(X)", "X", None, 2),
    ("Frobenius norm squared, order 2", "sum(X*X)", "X", None, 2),
]
CASES += HIGHER
IDS = [c[0] for c in CASES]
SIZES = (2, 3, 4)


def _point(d, seed=3):
    """Values at sizes 2, 3, 4 (rotated until the expression's domain has a point:
    logdet(XᵀX) needs X at least as tall as wide)."""
    names = list(dim_sizes([d.f, d.wrt]))
    for shift in range(len(SIZES)):
        dims = {n: SIZES[(k + shift) % len(SIZES)] for k, n in enumerate(names)}
        try:
            return random_values(d.f, d.wrt, np.random.default_rng(seed), dims), dims
        except AssertionError:
            continue
    raise AssertionError(f"no point in the domain of {d.f} at sizes {SIZES}")


def _factor_value(text, shapes, values, dims):
    """A factor's ``expr`` parsed back and evaluated; a dimension's name stands for
    its size."""
    named = set(re.findall(r"[A-Za-z_]\w*", text))
    scalars = {n: float(k) for n, k in dims.items() if n in named and n not in shapes}
    e = parse(text, {**shapes, **{n: () for n in scalars}})
    arrays = {k: np.asarray(v, dtype=float) for k, v in {**values, **scalars}.items()}
    out = Evaluator(arrays, dims).value(e)
    return np.asarray(out, dtype=float).reshape(concrete(e.shape, dims))


def rebuild(d, data, values, dims):
    """The tensor of the JSON index form, by einsum over the parsed factors."""
    shapes = {v.name: v.shape for v in E.variables(d.f) + [d.wrt]}
    free = [i for i in data["f_indices"] + sum(data["wrt_indices"], []) if i is not None]
    names = sorted({i for t in data["terms"] for i in t["sizes"]} | set(free))
    letter = dict(zip(names, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    # the free indices in order; an axis of size 1 takes none (its size is 1 anyway)
    total = np.zeros(concrete(tuple(d.shape), dims))
    for t in data["terms"]:
        size = {i: (n if isinstance(n, int) else dims[n]) for i, n in t["sizes"].items()}
        ops, subs, seen = [], [], set()
        for fac in t["factors"]:
            a = _factor_value(fac["expr"], shapes, values, dims)
            keep = [i for i in fac["indices"] if i is not None]
            a = a.reshape([n for n, i in zip(a.shape, fac["indices"]) if i is not None])
            ops.append(a)
            subs.append("".join(letter[i] for i in keep))
            seen.update(keep)
        for a, b in t["deltas"]:
            ops.append(np.eye(size[a]))
            subs.append(letter[a] + letter[b])
            seen.update((a, b))
        for i in free:
            if i not in seen:   # constant along a free index
                ops.append(np.ones(size[i]))
                subs.append(letter[i])
                seen.add(i)
        coeff = float(Fraction(t["coeff"]))
        spec = ",".join(subs) + "->" + "".join(letter[i] for i in free)
        part = coeff * np.einsum(spec, *ops) if ops else np.asarray(coeff)
        total = total + np.asarray(part).reshape(total.shape)
    return total


@pytest.fixture(scope="module")
def derivatives():
    return {c[0]: matcalc.diff(c[1], c[2], c[3], order=c[4]) for c in CASES}


def test_enough_cases():
    assert len(CASES) >= 200


@pytest.mark.parametrize("what, f, wrt, shapes, order", CASES, ids=IDS)
def test_json_terms_parse_back(what, f, wrt, shapes, order, derivatives):
    d = derivatives[what]
    data = json.loads(d.to_json())["index"]
    assert data is not None
    values, dims = _point(d)
    want = d.evaluate(values)
    got = rebuild(d, data, values, dims)
    assert_close(got, want, f"{what}: {data['text']}")
    # and IndexForm.evaluate, the einsum of the form itself
    assert_close(d.index_form().evaluate(values), want, f"{what}: IndexForm.evaluate")


def test_katex_renders_every_index_form(derivatives):
    texts = [d.index_form().latex() for d in derivatives.values()]
    texts += [matcalc.diff(*e[:2], order=e[2]).index_form().latex() for e in EXAMPLES]
    chain = "y'@" + "@".join("ABCDEFGHJKLMNPQR") + "@x"
    texts.append(matcalc.diff(chain, "x").index_form().latex())
    texts.append(matcalc.diff("x_1'@A@x_1", "x_1").index_form().latex())
    # the left sides of the derivatives of orders 2 and 3
    texts += [d.latex() for d in derivatives.values() if d.order > 1]
    errors = _katex(texts)
    bad = [(t, e) for t, e in zip(texts, errors) if e]
    assert not bad, bad[:5]


# ----------------------------------------------------------------------- the CLI

def _run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def test_cli_index_text(capsys):
    out = _run(capsys, "diff", "tanh(W@x)", "--wrt", "W", "--index")
    assert out.splitlines() == [
        "d(f) = (1 - tanh(Wx)²) ⊙ (dW x)",
        "  shape: m  (differential: a linear map dW ↦ df; the derivative is the m×m×n "
        "tensor of the index form)",
        "  ∂fᵢ/∂Wⱼₖ = (1 - tanh(Wx)²)ᵢ δᵢⱼ xₖ",
        "  rule: element-wise function (scalar derivative rule, diagonal Jacobian)"]
    out = _run(capsys, "diff", "x'@A@x", "--wrt", "x", "--index")
    assert "  " + EXAMPLES[3][3] in out.splitlines()
    # without --index, only a differential (which no matrix shows) has it
    out = _run(capsys, "diff", "x'@A@x", "--wrt", "x")
    assert "∂f/∂xᵢ" not in out


def test_cli_index_ascii(capsys):
    out = _run(capsys, "diff", "tanh(W@x)", "--wrt", "W", "--index", "--ascii")
    assert "  df[i]/dW[j,k] = (1 - tanh(W @ x)^2)[i] * delta(i,j) * x[k]" in out.splitlines()
    out = _run(capsys, "diff", "inv(X)", "--wrt", "X", "--ascii")
    assert "  d(inv(X))[i,j]/dX[k,l] = -inv(X)[i,k] * inv(X)[l,j]" in out.splitlines()


def test_cli_index_latex_and_document(capsys):
    out = _run(capsys, "diff", "tanh(W@x)", "--wrt", "W", "--format", "latex", "--index")
    assert out.splitlines() == [
        r"\mathrm{d}f = \left( 1 - \tanh\left( \mathbf{W} \mathbf{x} \right)^{2} \right) "
        r"\odot \left( \mathrm{d}\mathbf{W} \, \mathbf{x} \right)",
        EXAMPLES[0][5]]
    doc = _run(capsys, "diff", "x'@A@x", "--wrt", "x", "--format", "latex", "--document",
               "--index")
    assert "In index notation (summing over repeated indices):\n\\[\n" + EXAMPLES[3][5] + "\n\\]" in doc
    doc = _run(capsys, "diff", "inv(X)", "--wrt", "X", "--format", "latex", "--document")
    assert EXAMPLES[1][5] in doc    # a differential has it without --index
    errors = _katex(re.findall(r"\\\[\n(.*?)\n\\\]", doc, re.S))
    assert not any(errors), errors


def test_cli_json(capsys):
    data = json.loads(_run(capsys, "diff", "X*X", "--wrt", "X", "--format", "json"))
    assert data["index"]["text"] == EXAMPLES[2][3]
    assert data["index"]["terms"][0]["deltas"] == [["i", "k"], ["j", "l"]]
    data = json.loads(_run(capsys, "diff", "X*X", "--wrt", "X", "--format", "json",
                           "--index"))
    assert data["index"]["ascii"] == EXAMPLES[2][4]
    data = json.loads(_run(capsys, "diff", "matpow(X, 300)", "--wrt", "X", "--format",
                           "json"))
    assert data["index"] is None and data["index_note"].startswith("index notation not shown")


def test_cli_order_3(capsys):
    out = _run(capsys, "diff", "sum(exp(A@x))", "--wrt", "x", "--order", "3")
    lines = out.splitlines()
    assert lines[0] == "d(∂²f/∂x²) = Aᵀ diag(exp(Ax) ⊙ (A dx)) A"
    assert "  ∂³f/∂xᵢ∂xⱼ∂xₖ = Aₗᵢ exp(Ax)ₗ Aₗₖ Aₗⱼ" in lines
    out = _run(capsys, "diff", "a^4", "--wrt", "a", "--order", "3", "--index")
    assert out.splitlines()[0] == "∂³f/∂a³ = 24a"
    assert "  ∂³f/∂a³ = 24 a" in out.splitlines()
    out = _run(capsys, "diff", "a^4", "--wrt", "a", "--order", "3", "--ascii")
    assert out.splitlines()[0] == "d3f/da3 = 24 * a"
    out = _run(capsys, "diff", "sum(exp(A@x))", "--wrt", "x", "--order", "3", "--format",
               "latex")
    assert out.startswith(r"\mathrm{d}\left( \frac{\partial^2 f}{\partial \mathbf{x} \, "
                          r"\partial \mathbf{x}^{\top}} \right) = ")
    data = json.loads(_run(capsys, "diff", "sum(x^3)", "--wrt", "x", "--order", "3",
                           "--format", "json"))
    assert data["order"] == 3 and data["index"]["text"] == EXAMPLES[7][3]
    assert data["evaluate_shape"] == ["n", "n", "n"]


def test_cli_index_refused_with_code(capsys):
    assert main(["diff", "tanh(W@x)", "--wrt", "W", "--format", "numpy", "--index"]) == 2
    assert "--index needs --format text, latex or json" in capsys.readouterr().err
