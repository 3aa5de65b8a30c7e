"""--steps: the derivation reads like the paper's. Every step names its rule and the
chain rule it uses, shows its local Jacobian (diagonal for an element-wise step) and
its Jacobian by the variable with its shape; intermediates are referred to by name,
so the steps grow linearly with depth; a Hessian derives g = ∇f first; by a matrix,
the steps are the Matrix Cookbook's differentials. Every Jacobian a step shows (each
local factor, each product, the full Jacobian) is checked by finite differences."""
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

import matcalc
from matcalc.cli import main
from matcalc.core import expr as E
from matcalc.printing.steps import step_name
from matcalc.printing.text import to_unicode
from oracle import assert_close, finite_differences, random_values

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOSS = "mean((y - max(0, X@w + b))^2)"
LOSS_SHAPES = {"X": ("N", "n"), "y": ("N",), "w": ("n",), "b": ()}
SCALAR = {"x": ()}


def network(k: int) -> str:
    h = "x"
    for _ in range(k):
        h = f"tanh(W@{h})"
    return f"sum({h})"


# (expression, wrt, shapes, order): every paper example, Cookbook moves, a network,
# Hessians and a mixed derivative
CASES = [
    ("sum(w*x+b)", "w", None, 1),                       # paper: the design card
    # (by b, the first step, the expansion b𝟏, has a length no value gives: it is
    # checked in test_design_card_by_b; the loss by b likewise)
    ("max(0, dot(w, x) + b)", "w", None, 1),            # paper: neuron activation
    ("max(0, dot(w, x) + b)", "b", None, 1),
    ("sum(max(0, w'@x + b))", "w", None, 1),
    (LOSS, "w", LOSS_SHAPES, 1),                         # paper: the loss
    ("x + x^2", "x", SCALAR, 1),                         # paper: total derivative
    ("log(sin(x^3)^2)", "x", SCALAR, 1),                 # paper: single-variable chain
    ("sin(x + x^2)", "x", SCALAR, 1),
    ("[x^2, 3*x]", "x", SCALAR, 1),                      # paper: vector chain rule
    ("sum(w*x)", "x", None, 1),                          # paper: dot product
    ("x'@A@x", "x", None, 1),                            # Cookbook: product rule
    ("x'@inv(X)@x", "X", None, 1),                       # Cookbook: trace, dX⁻¹
    ("logdet(X)", "X", None, 1),
    ("det(X) + tr(A@X)", "X", None, 1),
    ("tr(X'@A@X)", "X", None, 1),
    ("norm2(A@x - y)^2", "x", None, 1),
    ("norm2(A@x - y)^2", "x", None, 2),                  # Hessian: g first
    ("sum(exp(x))", "x", None, 2),
    ("sum(max(0, w'@x + b)^2)", ("w", "b"), None, 2),   # mixed ∂²f/∂w∂b
    (network(3), "x", None, 1),
    (network(3), "W", None, 1),
    (network(2), "x", None, 2),
    ("tanh(W@tanh(W@x))", "x", None, 1),
]


def _rotations(f):
    """Dimension sizes 2, 3 and 4, each symbolic dimension taking each in turn."""
    names = list(dict.fromkeys(d for d in E.dims_of(f) if not isinstance(d, int)))
    for shift in range(3):
        yield {d: (2, 3, 4)[(i + shift) % 3] for i, d in enumerate(names)}


def _with_names(steps, values):
    """``values`` and the value of every named intermediate there."""
    out = dict(values)
    for s in steps:
        out[s.name] = matcalc.evaluate(s.node, out)
    return out


def _check_steps(d, values):
    vals = _with_names(d.steps, values)
    for s in d.steps:
        what = f"step {s.index} ({s.name} = {s.shown}) of {d.f}"
        v = s.wrt.name
        want = finite_differences(lambda x: matcalc.evaluate(s.node, x), values, v)
        assert_close(s.jacobian.evaluate(values), want, f"{what}: Jacobian")
        if s.value is not None:
            assert_close(s.value.evaluate(vals), want, f"{what}: in names")
        total = 0
        for link in s.chain:
            q = link.prev.name if link.prev is not None else v
            local = finite_differences(lambda x: matcalc.evaluate(s.shown, x), vals, q)
            assert_close(link.local.evaluate(vals), local, f"{what}: local by {q}")
            if link.prev is None:
                total = total + local
                continue
            inner = link.prev.jacobian.evaluate(values)
            rank = link.prev.node.rank
            total = total + np.tensordot(local, inner, axes=rank)
        # the chain rule: the sum of the products of the factors is the Jacobian
        assert_close(total, want, f"{what}: chain rule")


@pytest.mark.parametrize("expr, wrt, shapes, order", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[3]}" for c in CASES])
def test_every_step_checked_numerically(expr, wrt, shapes, order):
    d = matcalc.diff(expr, wrt, shapes=shapes, order=order)
    assert d.steps, "no steps"
    f = matcalc.parse(expr, shapes=shapes)
    rng = np.random.default_rng(0)
    for dims in _rotations(f):
        _check_steps(d, random_values(f, d.wrt, rng, dims))


def _text(expr, wrt, shapes=None, order=1, fmt="unicode"):
    return matcalc.diff(expr, wrt, shapes=shapes, order=order).steps_text(fmt=fmt)


def test_design_card_by_w():
    """paper: the design card's example sum(w*x + b), by w."""
    assert _text("sum(w*x+b)", "w") == "\n".join([
        "1. u₁ = w ⊙ x  (n): element-wise binary operation (product rule)",
        "   ∂u₁/∂w = diag(x)  (n×n)",
        "2. u₂ = u₁ + b  (n): element-wise binary operation (sum rule) with scalar "
        "expansion; vector chain rule",
        "   ∂u₂/∂u₁ = I  (n×n)",
        "   ∂u₂/∂w = ∂u₂/∂u₁ · ∂u₁/∂w = I diag(x) = diag(x)  (n×n)",
        "3. f = sum(u₂)  (scalar): vector sum reduction; vector chain rule",
        "   ∂f/∂u₂ = 𝟏ᵀ  (1×n)",
        "   ∂f/∂w = ∂f/∂u₂ · ∂u₂/∂w = 𝟏ᵀ diag(x) = xᵀ  (1×n)",
    ])


def test_design_card_by_b():
    """paper: scalar expansion, ∂(x + z)/∂z = 𝟏; then sum reduction gives n."""
    steps = matcalc.diff("sum(w*x+b)", "b").steps
    assert [s.rule for s in steps] == [
        "scalar expansion",
        "element-wise binary operation (sum rule) with scalar expansion",
        "vector sum reduction"]
    assert [str(s.value.display()) for s in steps] == ["ones(n)", "ones(n)", "n"]


def test_neuron_activation_names_the_vector_chain_rule():
    """paper: neuron activation: the vector chain rule, ∂f/∂u₂ = [u₂ > 0] shown, and
    the Iverson bracket explained."""
    text = _text("max(0, dot(w, x) + b)", "w")
    assert "1. u₁ = wᵀx  (scalar): dot product (matrix product rule)" in text
    assert "   ∂f/∂u₂ = [u₂ > 0]  (scalar)" in text
    assert "   ∂f/∂w = ∂f/∂u₂ · ∂u₂/∂w = [u₂ > 0] · xᵀ = [u₂ > 0] xᵀ  (1×n)" in text
    assert text.splitlines()[-1] == "[P] is 1 where P holds, else 0 (the Iverson bracket)"
    assert "Iverson" not in _text("x'@A@x", "x")


def test_elementwise_step_shows_its_diagonal_jacobian():
    text = _text(LOSS, "w", LOSS_SHAPES)
    assert "   ∂u₃/∂u₂ = diag([u₂ > 0])  (N×N)" in text
    assert "   ∂u₂/∂x = ∂u₂/∂u₁ · ∂u₁/∂x = diag(1 - u₂²) W  (n×n)" in _text(
        "tanh(W@tanh(W@x))", "x")


def test_subtraction_is_one_step():
    """paper: the difference rule, ∂(w - x)/∂x = -I, in one step."""
    steps = matcalc.diff(LOSS, "w", shapes=LOSS_SHAPES).steps
    names = {s.var: step_name(s, "unicode") for s in steps}
    shown = [to_unicode(s.shown, names) for s in steps]
    assert "y - u₃" in shown
    diff = steps[shown.index("y - u₃")]
    assert diff.rule == "element-wise binary operation (difference rule)"
    assert str(diff.chain[0].local.display()) == "-eye(N)"
    assert not any(E._split_coeff(s.node)[0] == -1 for s in steps)  # no negate step
    assert "2. u₂ = u₁ - y  (m): element-wise binary operation (difference rule)" in _text(
        "norm2(A@x - y)^2", "x")


def test_hessian_derives_the_gradient_first():
    text = _text("norm2(A@x - y)^2", "x", order=2)
    lines = text.splitlines()
    assert lines[0] == "First, the gradient of f, g = ∇f = (∂f/∂x)ᵀ:"
    assert lines[1] == "1. u₁ = Ax  (m): matrix product rule"
    then = lines.index("Then the derivative of g by x:")
    assert any(line.startswith("4. f = u₃²") for line in lines[:then])
    # the gradient's intermediates keep their names (u₂ = u₁ - y is not derived again)
    assert "5. u₄ = Aᵀ u₂  (n): matrix product rule; vector chain rule" in lines[then:]
    assert lines[-1] == "   ∂g/∂x = ∂g/∂u₄ · ∂u₄/∂x = 2 I AᵀA = 2 AᵀA  (n×n)"


def test_mixed_derivative_sections():
    text = _text("sum(max(0, w'@x + b)^2)", ("w", "b"), order=2)
    assert text.startswith("First, the gradient of f, g = ∇f = (∂f/∂w)ᵀ:")
    assert "Then the derivative of g by b:" in text


def test_product_rule_expanded():
    """Cookbook: d(xᵀAx) = dxᵀAx + xᵀA dx = xᵀ(A + Aᵀ) dx."""
    assert _text("x'@A@x", "x").splitlines()[1] == (
        "   df = dxᵀ A x + xᵀ A dx = xᵀ(A + Aᵀ) dx  ⇒  ∂f/∂x = xᵀ(A + Aᵀ)  (1×n)  "
        "(product rule)")


def test_trace_identification_and_inverse():
    """Cookbook: dX⁻¹ = -X⁻¹ dX X⁻¹; df = tr(Gᵀ dX) ⇒ ∂f/∂X = G."""
    lines = _text("x'@inv(X)@x", "X").splitlines()
    assert lines[1] == "   du₁ = -X⁻¹ dX X⁻¹ = -u₁ dX u₁  (n×n)"
    assert lines[3] == "   df = xᵀ du₁ x = -(xᵀ u₁ dX u₁ x)  (scalar)"
    assert lines[4] == ("   df = tr(Gᵀ dX)  ⇒  ∂f/∂X = G = -u₁ᵀ x xᵀ u₁ᵀ  (n×n)  "
                        "(trace identification)")


@pytest.mark.parametrize("expr, differential", [
    ("logdet(X)", "df = tr(X⁻¹ dX)"),
    ("det(X)", "df = det(X) tr(X⁻¹ dX) = f tr(X⁻¹ dX)"),
    ("tr(A@X)", "df = tr(du₁) = tr(A dX)"),
])
def test_cookbook_differentials(expr, differential):
    text = _text(expr, "X")
    assert f"   {differential}  (scalar)" in text
    assert "df = tr(Gᵀ dX)  ⇒  ∂f/∂X = G" in text


def test_total_derivative():
    """paper: y = x + x² needs the total-derivative rule, giving 1 + 2x (not 2x)."""
    assert _text("x + x^2", "x", SCALAR) == "\n".join([
        "1. u₁ = x²  (scalar): power rule",
        "   ∂u₁/∂x = 2x  (scalar)",
        "2. f = x + u₁  (scalar): sum rule; total-derivative rule (sum over the 2 paths)",
        "   ∂f/∂u₁ = 1  (scalar)",
        "   ∂f/∂x = 1 + ∂f/∂u₁ · ∂u₁/∂x = 1 + 1 · 2x = 1 + 2x  (scalar)",
    ])


def test_single_variable_chain():
    """paper: ln(sin(x³)²) with u₁ = x³, u₂ = sin u₁, u₃ = u₂²: the chain rule."""
    steps = matcalc.diff("log(sin(x^3)^2)", "x", shapes=SCALAR).steps
    assert [str(s.shown) for s in steps] == ["x^3", "sin(u1)", "u2^2", "log(u3)"]
    assert [s.chain_rule for s in steps] == [None, "chain rule", "chain rule", "chain rule"]
    assert _text("log(sin(x^3)^2)", "x", SCALAR).endswith(
        "= 6 u₂ x² cos(u₁) / u₃  (scalar)")


def test_names_are_not_re_expanded_and_steps_grow_linearly():
    """Each step is written in earlier names: the longest step does not grow with the
    depth, and the text grows linearly (k = 8, 16, 32, 64)."""
    sizes, longest = [], []
    for k in (8, 16, 32, 64):
        text = _text(network(k), "x")
        sizes.append(len(text))
        # (the last line, the gradient in the names, is the one that grows)
        longest.append(max(len(line) for line in text.splitlines()[:-1]))
        assert "tanh(W" not in text
    assert max(longest) - min(longest) <= 8  # the names' digits (u₉, u₁₂₈)
    growth = [b - a for a, b in zip(sizes, sizes[1:])]  # per 8, 16, 32 more layers
    for small, large in zip(growth, growth[1:]):
        assert 1.9 * small <= large <= 2.1 * small
    hess = [len(_text(network(k), "x", order=2)) for k in (4, 8, 16)]
    assert hess[2] - hess[1] <= 2.1 * (hess[1] - hess[0])


def test_ascii_steps():
    text = _text("sum(w*x+b)", "w", fmt="ascii")
    assert "1. u1 = w * x  (n): element-wise binary operation (product rule)" in text
    assert "   df/dw = df/du2 * du2/dw = ones(n)' @ diag(x) = x'  (1xn)" in text


def test_latex_steps_are_one_align_block():
    latex = _text(LOSS, "w", LOSS_SHAPES, fmt="latex")
    assert latex.startswith("\\begin{align*}\n") and latex.endswith("\n\\end{align*}")
    assert latex.count("\\begin{") == 1
    assert "\\intertext{4. $\\mathbf{u}_{4}$ ($N$): element-wise binary operation " \
           "(difference rule); vector chain rule}" in latex
    assert "\\intertext{$[P]$ is 1 where P holds" in latex
    for line in latex.splitlines()[1:-1]:
        assert line.startswith("\\intertext{") or "&" in line


def test_cli_steps(capsys):
    assert main(["diff", "sum(w*x+b)", "--wrt", "w", "--steps"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. u₁ = w ⊙ x  (n): element-wise binary operation")
    assert "3. f = sum(u₂)  (scalar): vector sum reduction; vector chain rule" in out
    assert "∂f/∂w = xᵀ\n  shape: 1×n" in out


def test_cli_steps_latex_is_one_block_with_the_result(capsys):
    assert main(["diff", "sum(w*x+b)", "--wrt", "w", "--steps", "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("\\begin{align*}\n") and out.endswith("\\end{align*}\n")
    assert out.count("\\begin{align*}") == 1
    assert "\\intertext{The result:}\n\\frac{\\partial f}{\\partial \\mathbf{w}} &= " \
           "\\mathbf{x}^{\\top}\\quad (1 \\times n)\n" in out


def test_zero_derivative_steps():
    d = matcalc.diff("sum(x)", "w", shapes={"w": ("n",)})
    assert "constant rule" in d.steps_text()


def test_steps_bench_smoke_runs(tmp_path):
    """bench/steps.py --smoke: the steps of a k-layer network, timed and measured."""
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "steps.py"), "--smoke"],
                       capture_output=True, text=True, cwd=str(tmp_path), timeout=120)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "characters" in p.stdout and "size ~ k^" in p.stdout


def test_pdflatex_compiles_steps(tmp_path):
    """The LaTeX steps compile inside a document at the text width break_math fills."""
    import shutil
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    from matcalc.printing.linebreak import TEXT_WIDTH_EM
    for i, (expr, wrt, shapes, order) in enumerate(itertools.islice(CASES, 0, None, 3)):
        body = matcalc.diff(expr, wrt, shapes=shapes, order=order).steps_text(fmt="latex")
        (tmp_path / f"s{i}.tex").write_text(
            "\\documentclass{article}\\usepackage{amsmath,amssymb}"
            f"\\usepackage[textwidth={TEXT_WIDTH_EM * 10}pt]{{geometry}}"
            f"\\begin{{document}}\n{body}\n\\end{{document}}\n", encoding="utf-8")
        p = subprocess.run(["pdflatex", "-interaction=nonstopmode", f"s{i}.tex"],
                           cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
        log = (tmp_path / f"s{i}.log").read_text(encoding="latin-1")
        assert p.returncode == 0 and "Overfull" not in log, (expr, body, log[-2000:])


@pytest.mark.parametrize("text, wrt, order, printed", [
    ("sum(max(0, z) * step(z) * y)", "y", 1, "(z ⊙ [z > 0])ᵀ"),   # the paper's identity
    ("sum(relu(z) * step(z) * y)", "y", 1, "(z ⊙ [z > 0])ᵀ"),
    ("sum(relu(z) * step(z))", "z", 1, "[z > 0]ᵀ"),               # [z > 0]² = [z > 0]
    ("sum(exp(max(0, X@w)))", "w", 2, "Xᵀ diag([Xw > 0] ⊙ exp(max(0, Xw))) X"),
])
def test_iverson_simplifications(text, wrt, order, printed):
    """max(0, z) ⊙ [z > 0] = z ⊙ [z > 0] and [z > 0]ᵏ = [z > 0], checked numerically."""
    from oracle import check
    d = check(text, wrt, shapes={"X": ("N", "n")}, order=order)
    assert str(d) == printed
