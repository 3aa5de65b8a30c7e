"""The LaTeX printer: the paper's conventions, and every string it writes renders
with KaTeX (skipped when node or KaTeX is not installed: .ci/run installs it)."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import matcalc
from matcalc.core import expr as E
from matcalc.cli import main
from matcalc.ops import REGISTRY as FUNCTIONS
from matcalc.printing.document import derivative_document
from matcalc.printing.latex import to_latex

KATEX_DIR = Path(__file__).parent / "katex"

# Every node kind and every function, with shapes of different sizes.
SHAPES = {"x": ("n",), "y": ("n",), "w": ("n",), "A": ("n", "n"), "X": ("n", "n"),
          "W": ("m", "n"), "B": ("m", "n"), "b": (), "a": (), "c": ()}
EXPRESSIONS = [
    "sum(w*x + b)", "matpow(A, 3)", "max(0, dot(w, x) + b)", "mean((y - max(0, A@w + b))^2)",
    "x'@A@x", "W@x + 1", "x/y", "x/b", "a/b", "b/(a + c)", "2*x/3", "-x", "a - (b - c)",
    "x^2", "x^b", "b^a", "a^(1/2)", "a^-2", "(x^2)'", "inv(A)'", "inv(A)", "inv(A)@x",
    "tr(A@X)", "tr(inv(X))", "det(X)", "logdet(X)", "diag(x)", "diag(A)", "diag(x)@y",
    "[a^2, 3*a]", "[log(a), sin(c)]", "norm(x)", "norm1(x)", "norm2(W)", "x/norm(x)",
    "abs(x)", "sign(x)", "step(x)", "relu(x)", "softplus(x)", "sigmoid(x)", "tanh(x)",
    "exp(-x)", "log(x)", "sin(x) + cos(x)", "tan(x)", "sqrt(x)", "softmax(x)",
    "logsumexp(x)", "min(x, y)", "max(x, 0)", "sum(W)", "mean(W@x)", "ones(n)'@x",
    "eye(n)@x", "x + zeros(n)", "W*B", "W + B", "x'@W'@W@x", "alpha*x + beta",
    "sum(exp(W@x))", "sin(x + x^2)", "log(sin(a^3)^2)", "x_1'@x",
    # batched: axes, broadcasts, indexing (every axis-wise record)
    "sum(W, axis=0) + mean(W, axis=0)", "sum(W, axis=1) - mean(W, axis=1)",
    "softmax(W, axis=1) + softmax(W, axis=0)", "logsumexp(W, axis=1)@logsumexp(B, axis=1)",
    "logsumexp(W, axis=0)@x", "norm2(W, axis=0)@x + norm2(B, axis=1)@norm2(B, axis=1)",
    "max(W, axis=0)@x + min(B, axis=1)@max(W, axis=1) + min(W, axis=0)@x",
    "max(x) + min(W)", "equal(x, y)", "W - W.mean(axis=1, keepdims=True)",
    "x[:, None] * y[None, :]", "X[:, 0] + X[1] + x[1:3].sum() + X[0, 1]",
]


def _expressions():
    return [matcalc.parse(s, shapes=SHAPES) for s in EXPRESSIONS]


def _strings():
    """(label, latex) for every expression, every first derivative, Hessians, steps."""
    out = []
    for src, e in zip(EXPRESSIONS, _expressions()):
        out.append((src, to_latex(e)))
        for v in E.variables(e):
            d = matcalc.diff(e, v.name)
            out.append((f"d({src})/d{v.name}", d.latex()))
            out.append((f"d({src})/d{v.name} denominator", d.latex("denominator")))
            out.append((f"steps d({src})/d{v.name}", d.steps_text(fmt="latex")))
            if e.rank == 0 and v.rank <= 1 and d.kind != "zero":
                h = matcalc.diff(e, v.name, order=2)
                out.append((f"d2({src})/d{v.name}2", h.latex()))
    return out


def test_every_function_is_covered():
    used = {n.fn for e in _expressions() for n in E.postorder(e) if type(n) is E.Call}
    trees = _expressions()
    trees += [matcalc.diff(e, v.name).display() for e in list(trees) for v in E.variables(e)]
    kinds = {type(n).__name__ for e in trees for n in E.postorder(e)}
    assert set(FUNCTIONS) <= used, set(FUNCTIONS) - used
    assert {"Var", "Num", "Size", "Eye", "Add", "Mul", "Pow", "MatMul", "Transpose",
            "Expand", "Call", "VecLit"} <= kinds


@pytest.mark.parametrize("src, tex", [
    ("sum(w*x + b)", r"\operatorname{sum}\left( \mathbf{w} \odot \mathbf{x} + b \right)"),
    ("x'@A@x", r"\mathbf{x}^{\top} \mathbf{A} \mathbf{x}"),
    ("inv(A)'", r"\mathbf{A}^{-\top}"),
    ("inv(A)", r"\mathbf{A}^{-1}"),
    ("a/b", r"\frac{a}{b}"),
    ("x/y", r"\mathbf{x} \oslash \mathbf{y}"),
    ("x/norm(x)", r"\frac{\mathbf{x}}{\left\| \mathbf{x} \right\|}"),
    ("step(x)", r"\left[ \mathbf{x} > 0 \right]"),
    ("diag(x)", r"\operatorname{diag}\left( \mathbf{x} \right)"),
    ("tr(A@X)", r"\operatorname{tr}\left( \mathbf{A} \mathbf{X} \right)"),
    ("a - (b - c)", r"a - \left( b - c \right)"),
    ("(x^2)'", r"\left( \mathbf{x}^{2} \right)^{\top}"),
    ("alpha*x", r"\alpha \mathbf{x}"),
    ("ones(n)'@x", r"\mathbf{1}^{\top} \mathbf{x}"),
])
def test_conventions(src, tex):
    assert to_latex(matcalc.parse(src, shapes=SHAPES)) == tex


def test_derivative_latex_numerator_layout():
    d = matcalc.diff("sum(w*x+b)", "w")
    assert d.latex(layout="numerator") == r"\frac{\partial f}{\partial \mathbf{w}} = \mathbf{x}^{\top}"
    assert d.latex(layout="denominator") == r"\frac{\partial f}{\partial \mathbf{w}} = \mathbf{x}"
    assert d._repr_latex_() == "$\\displaystyle " + d.latex() + "$"
    assert matcalc.parse("W@x")._repr_latex_() == r"$\displaystyle \mathbf{W} \mathbf{x}$"


def test_loss_gradient_uses_frac_coefficient():
    d = matcalc.diff("mean((y - max(0, X@w + b))^2)", "w", shapes={"X": ("N", "n")})
    assert r"\frac{2}{N}" in d.latex()


def test_cli_latex(capsys):
    assert main(["diff", "sum(w*x+b)", "--wrt", "w", "--format", "latex"]) == 0
    assert capsys.readouterr().out == "\\frac{\\partial f}{\\partial \\mathbf{w}} = \\mathbf{x}^{\\top}\n"


def test_cli_document(capsys):
    assert main(["diff", "x'@A@x", "--wrt", "x", "--format", "latex", "--document",
                 "--steps"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("\\documentclass{article}\n")
    assert out.rstrip().endswith("\\end{document}")
    assert "\\begin{align*}" in out and "Shape: $1 \\times n$" in out
    assert out.count("\\begin{") == out.count("\\end{")


def test_document_is_latex(capsys):
    assert main(["diff", "x'@A@x", "--wrt", "x", "--document"]) == 0  # LaTeX by default
    assert capsys.readouterr().out.startswith("\\documentclass")
    assert main(["diff", "x'@A@x", "--wrt", "x", "--document", "--format", "json"]) == 2
    assert "--document is a LaTeX document" in capsys.readouterr().err


# ----------------------------------------------------------------- KaTeX

def _katex(strings):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (KATEX_DIR / "node_modules" / "katex").is_dir():
        pytest.skip("KaTeX is not installed (cd tests/katex && npm install)")
    proc = subprocess.run([node, str(KATEX_DIR / "render.js")], input=json.dumps(strings),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_katex_renders_everything():
    pairs = _strings()
    assert len(pairs) > 300
    errors = _katex([t for _, t in pairs])
    bad = [(label, tex, err) for (label, tex), err in zip(pairs, errors) if err]
    assert not bad, "\n".join(f"{l}: {t}\n  {e}" for l, t, e in bad[:10])


def test_katex_renders_documents():
    """The math of complete documents (--document) renders too."""
    texts = []
    for src in EXPRESSIONS[:20]:
        e = matcalc.parse(src, shapes=SHAPES)
        derivs = [matcalc.diff(e, v.name) for v in E.variables(e)]
        doc = derivative_document(derivs, steps=True)
        texts += re.findall(r"\\\[\n(.*?)\n\\\]", doc, re.S)
        texts += re.findall(r"\$(.+?)\$", doc)
        texts += re.findall(r"\\begin\{align\*\}.*?\\end\{align\*\}", doc, re.S)
    errors = _katex(texts)
    bad = [(t, e) for t, e in zip(texts, errors) if e]
    assert not bad, bad[:5]


def test_deep_expression_prints_without_deep_recursion():
    """The printers fill their memo bottom-up: a tree 3,990 levels deep prints in
    LaTeX, Unicode and text at Python's default recursion limit."""
    import sys

    from matcalc.printing.latex import to_latex
    from matcalc.printing.text import to_text, to_unicode
    e = matcalc.parse("sin(" * 3990 + "x" + ")" * 3990)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        assert to_latex(e).count(r"\sin") == 3990
        assert to_unicode(e).count("sin(") == 3990
        assert to_text(e).count("sin(") == 3990
    finally:
        sys.setrecursionlimit(old)
