"""``--document`` (matcalc.printing.document) and the notebook's ``_repr_latex_``: what
they say; tests/test_pdflatex.py compiles them."""

import contextlib
import io
import re

import numpy as np

import matcalc
from matcalc.cli import main
from matcalc.printing.document import derivative_document, kronecker_latex
from matcalc.printing.linebreak import LINE_WIDTH_EM, estimate_width
from test_latex import _katex

LONG = "sum(sigmoid(W@tanh(V@x + c) + b) * log(softmax(U@x)))"


def _doc(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["diff", *argv, "--format", "latex", "--document"])
    return status, out.getvalue()


def test_defines_f_and_every_symbol_with_its_shape_and_structure():
    status, doc = _doc("x'@A@x + b", "--wrt", "x", "--wrt", "A", "--shape", "A=n,n,sym")
    assert status == 0
    assert ("f(\\mathbf{x}, \\mathbf{A}, b) = \\mathbf{x}^{\\top} \\mathbf{A} \\mathbf{x} + b"
            in doc)
    assert ("where $\\mathbf{x} \\in \\mathbb{R}^{n}$, $\\mathbf{A} \\in "
            "\\mathbb{R}^{n \\times n}$ (symmetric), and $b \\in \\mathbb{R}$." in doc)
    # f once, then each derivative
    assert doc.count("Let") == 1
    assert "\\frac{\\partial f}{\\partial \\mathbf{x}}" in doc
    assert "\\frac{\\partial f}{\\partial \\mathbf{A}}" in doc
    assert doc.rstrip().endswith("\\end{document}")


def test_a_variable_declared_but_not_in_f_is_listed():
    _, doc = _doc("sum(x)", "--wrt", "y", "--shape", "y=m")
    assert "$\\mathbf{y} \\in \\mathbb{R}^{m}$" in doc and "f(\\mathbf{x})" in doc


def test_probability_vectors_and_scalars():
    _, doc = _doc("dot(p, log(q)) * t", "--wrt", "q", "--shape", "p=n,prob", "--shape",
                  "t=scalar")
    assert ("where $t \\in \\mathbb{R}$, $\\mathbf{p} \\in \\mathbb{R}^{n}$ (a probability "
            "vector), and $\\mathbf{q} \\in \\mathbb{R}^{n}$." in doc)


def test_shape_layout_index_form_and_derivation():
    _, doc = _doc("x'@A@x", "--wrt", "x", "--steps")
    assert "Shape: $1 \\times n$ (numerator layout" in doc
    assert "In index notation" in doc and "x_{j}" in doc
    assert "Derivation:\n\\begin{align*}" in doc
    # a scalar by a scalar has no index form beyond the derivative itself
    _, doc = _doc("x^3", "--wrt", "x", "--shape", "x=scalar")
    assert "index notation" not in doc


def test_kronecker_forms():
    """vec(P dX S) = (Sᵀ ⊗ P) vec(dX), and K after a transposed dX; checked against
    the derivative's values as a matrix on vec (columns stacked)."""
    cases = [("inv(X)", "-\\left( \\mathbf{X}^{-\\top} \\otimes \\mathbf{X}^{-1} \\right)",
              lambda X, A, B: -np.kron(np.linalg.inv(X).T, np.linalg.inv(X))),
             ("A@X'@B", "\\left( \\mathbf{B}^{\\top} \\otimes \\mathbf{A} \\right) \\mathbf{K}",
              None),
             ("2*A@X@B - X", "2 \\left( \\mathbf{B}^{\\top} \\otimes \\mathbf{A} \\right) - "
              "\\mathbf{I}",
              lambda X, A, B: 2 * np.kron(B.T, A) - np.eye(X.size))]
    rng = np.random.default_rng(0)
    for n in (2, 3, 4):
        X, A, B = (rng.normal(size=(n, n)) + n * np.eye(n) for _ in range(3))
        shapes = {"X": ("n", "n"), "A": ("n", "n"), "B": ("n", "n")}
        for text, latex, matrix in cases:
            d = matcalc.diff(text, "X", shapes=shapes)
            assert kronecker_latex(d) == (latex, "K" in latex)
            values = {k: v for k, v in {"X": X, "A": A, "B": B}.items() if k in text}
            # evaluate: f.shape + X.shape, entry [i, j, k, l] = ∂f_ij/∂X_kl
            t = d.evaluate(values)
            vec = t.transpose(1, 0, 3, 2).reshape(n * n, n * n)
            if matrix is not None:
                assert np.allclose(vec, matrix(X, A, B))
            else:  # (Bᵀ ⊗ A) K: K vec(X) = vec(Xᵀ)
                K = np.eye(n * n)[[i * n + j for j in range(n) for i in range(n)]]
                assert np.allclose(vec, np.kron(B.T, A) @ K)
    _, doc = _doc("A@X'@B", "--wrt", "X")
    assert "commutation matrix" in doc and "\\operatorname{vec}(\\mathbf{X})" in doc
    # only a differential has it
    assert "vec" not in derivative_document([matcalc.diff("tr(A@X)", "X")])


def test_verify_goes_into_the_document():
    status, doc = _doc("sum(w*x + b)", "--wrt", "w", "--verify")
    assert status == 0
    items = re.findall(r"\\item (.*)", doc)
    assert any(i.startswith("numeric: max rel err") for i in items)
    assert any(i.startswith("symbolic") and "holds" in i for i in items)
    assert doc.rstrip().endswith("\\end{document}")  # nothing printed after it


def test_long_derivative_is_split_within_the_line():
    _, doc = _doc(LONG, "--wrt", "V")
    blocks = re.findall(r"\\begin\{split\}\n(.*?)\n\\end\{split\}", doc, re.S)
    # f's definition, the derivative, its index form
    assert [b[:4] for b in blocks] == ["f(\\m", "\\fra", "\\fra"]
    for block in blocks:
        rows = block.split(" \\\\\n")
        assert len(rows) >= 2 and " &= " in rows[0]
        assert all(estimate_width(r.replace("&", "")) <= LINE_WIDTH_EM for r in rows)


def test_repr_latex_is_display_style():
    d = matcalc.diff("x'@A@x", "x")
    assert d._repr_latex_() == "$\\displaystyle " + d.latex() + "$"
    long = matcalc.diff(LONG, "V")._repr_latex_()
    assert long.startswith("$\\displaystyle \\begin{aligned} \\frac{\\partial f}")
    assert long.count(" \\\\ ") >= 1
    rendered = _katex([d._repr_latex_().strip("$"), long.strip("$")])
    assert rendered == [None, None]
