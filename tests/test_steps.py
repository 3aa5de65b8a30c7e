"""--steps: the derivation reads like the paper's, every step naming its rule and
showing the intermediate Jacobian with its shape."""
import pytest

import matcalc
from matcalc.cli import main
from matcalc.printing.steps import step_name

LOSS_SHAPES = {"X": ("N", "n"), "y": ("N",), "w": ("n",), "b": ()}


def _views(expr, wrt, shapes=None):
    return matcalc.diff(expr, wrt, shapes=shapes).steps


def _summary(expr, wrt, shapes=None):
    return [(step_name(v, "unicode"), v.rule, v.jacobian.display_shape())
            for v in _views(expr, wrt, shapes)]


def test_design_card_by_w():
    """paper: the design card's example sum(w*x + b), by w."""
    d = matcalc.diff("sum(w*x+b)", "w")
    assert d.steps_text() == "\n".join([
        "1. u₁ = w ⊙ x  (n): element-wise binary operation (product rule)",
        "   ∂u₁/∂w = diag(x)  (n×n)",
        "2. u₂ = u₁ + b  (n): element-wise binary operation (sum rule) with scalar expansion",
        "   ∂u₂/∂w = I diag(x) = diag(x)  (n×n)",
        "3. f = sum(u₂)  (scalar): vector sum reduction",
        "   ∂f/∂w = 𝟏ᵀ diag(x) = xᵀ  (1×n)",
    ])


def test_design_card_by_b():
    """paper: scalar expansion, ∂(x + z)/∂z = 𝟏; then sum reduction gives n."""
    views = _views("sum(w*x+b)", "b")
    assert [v.rule for v in views] == [
        "scalar expansion",
        "element-wise binary operation (sum rule) with scalar expansion",
        "vector sum reduction"]
    assert [v.jacobian.display_shape() for v in views] == [("n",), ("n",), ()]
    assert str(views[0].jacobian.display()) == "ones(n)"
    assert str(views[-1].jacobian.display()) == "n"


def test_neuron_activation():
    """paper: neuron activation max(0, w·x + b): dot product, affine unit, max."""
    s = _summary("max(0, dot(w, x) + b)", "w")
    assert [name for name, _, _ in s] == ["u₁", "u₂", "f"]
    assert s[0][1] == "dot product (matrix product rule)" and s[0][2] == (1, "n")
    assert s[1][1] == "sum rule" and s[1][2] == (1, "n")
    assert s[2][1].startswith("element-wise binary operation (max")
    text = matcalc.diff("max(0, dot(w, x) + b)", "w").steps_text()
    assert "1. u₁ = wᵀx  (scalar)" in text
    assert "∂f/∂w = [u₂ > 0] · xᵀ = [wᵀx + b > 0] xᵀ  (1×n)" in text


def test_neuron_activation_by_b():
    text = matcalc.diff("max(0, dot(w, x) + b)", "b").steps_text()
    assert text.splitlines()[-1] == "   ∂f/∂b = [u₁ > 0] · 1 = [wᵀx + b > 0]  (scalar)"


def test_loss():
    """paper: the loss over N examples; shapes N, N×n and finally 1×n."""
    s = _summary("mean((y - max(0, X@w + b))^2)", "w", LOSS_SHAPES)
    rules = [r for _, r, _ in s]
    assert rules[0] == "matrix product rule"
    assert rules[1] == "element-wise binary operation (sum rule) with scalar expansion"
    assert rules[2].startswith("element-wise binary operation (max")
    assert "constant multiple rule with scalar expansion" in rules
    assert "power rule" in rules
    assert rules[-1].startswith("mean")
    assert [sh for _, _, sh in s][:-1] == [("N", "n")] * (len(s) - 1)
    assert s[-1][2] == (1, "n")
    text = matcalc.diff("mean((y - max(0, X@w + b))^2)", "w", shapes=LOSS_SHAPES).steps_text()
    assert text.splitlines()[0] == "1. u₁ = Xw  (N): matrix product rule"
    assert "(2/N)" in text.splitlines()[-1]


def test_total_derivative():
    """paper: y = x + x² needs the total-derivative rule, giving 1 + 2x (not 2x)."""
    d = matcalc.diff("x + x^2", "x", shapes={"x": ()})
    assert d.steps_text() == "\n".join([
        "1. u₁ = x²  (scalar): power rule",
        "   ∂u₁/∂x = 2x  (scalar)",
        "2. f = x + u₁  (scalar): sum rule; total-derivative rule (sum over the 2 paths)",
        "   ∂f/∂x = 1 + 1 · 2x = 1 + 2x  (scalar)",
    ])


def test_single_variable_chain():
    """paper: ln(sin(x³)²) with u₁ = x³, u₂ = sin u₁, u₃ = u₂²."""
    views = _views("log(sin(x^3)^2)", "x", {"x": ()})
    assert [str(v.shown) for v in views] == ["x^3", "sin(u1)", "u2^2", "log(u3)"]
    assert [v.rule for v in views] == [
        "power rule", "element-wise function (scalar derivative rule, diagonal Jacobian)",
        "power rule", "element-wise function (scalar derivative rule, diagonal Jacobian)"]
    assert matcalc.diff("log(sin(x^3)^2)", "x", shapes={"x": ()}).steps_text().endswith(
        "= 6x² cos(x³) / sin(x³)  (scalar)")


@pytest.mark.parametrize("expr, wrt, rule", [
    ("tr(A@X)", "X", "trace (linear)"),
    ("det(X)", "X", "determinant (Jacobi's formula)"),
    ("logdet(X)", "X", "log-determinant"),
    ("x'@A@x", "x", "matrix product rule; total-derivative rule (sum over the 2 paths)"),
])
def test_matrix_rules(expr, wrt, rule):
    assert _views(expr, wrt)[-1].rule == rule


def test_cli_steps(capsys):
    assert main(["diff", "sum(w*x+b)", "--wrt", "w", "--steps"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. u₁ = w ⊙ x  (n): element-wise binary operation")
    assert "3. f = sum(u₂)  (scalar): vector sum reduction" in out
    assert "∂f/∂w = xᵀ\n  shape: 1×n" in out


def test_cli_steps_ascii(capsys):
    assert main(["diff", "sum(w*x+b)", "--wrt", "w", "--steps", "--ascii"]) == 0
    out = capsys.readouterr().out
    assert "1. u1 = w * x  (n): element-wise binary operation (product rule)" in out
    assert "   df/dw = ones(n)' @ diag(x) = x'  (1xn)" in out


def test_cli_steps_latex(capsys):
    assert main(["diff", "sum(w*x+b)", "--wrt", "w", "--steps", "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert "\\begin{align*}" in out and "\\end{align*}" in out
    assert "\\text{vector sum reduction}" in out


def test_zero_derivative_steps():
    d = matcalc.diff("sum(x)", "w", shapes={"w": ("n",)})
    assert "constant rule" in d.steps_text()
