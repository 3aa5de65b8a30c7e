"""Growth: the derivative of a k-layer network ``sum(tanh(W_k @ ... tanh(W_1 @ x)))``
is a DAG whose size grows at most linearly in k (nothing differentiated twice,
no sub-expression duplicated), by x and by W1; and it is numerically right."""

import pytest

from oracle import check

import matcalc
from matcalc.core.expr import count_nodes

KS = [2, 4, 8, 16, 32]
SLACK = 40  # the constant C in count(2k) <= 2 count(k) + C


def network(k: int) -> tuple[str, dict]:
    text = "x"
    for i in range(1, k + 1):
        text = f"tanh(W{i} @ {text})"
    # square layers after the first: x is n, W1 is m×n, the others m×m
    shapes = {"x": ("n",), "W1": ("m", "n")}
    shapes.update({f"W{i}": ("m", "m") for i in range(2, k + 1)})
    return f"sum({text})", shapes


def sizes(wrt: str) -> dict:
    out = {}
    for k in KS:
        text, shapes = network(k)
        d = matcalc.diff(text, wrt, shapes)
        assert d.kind == "gradient"
        out[k] = count_nodes(d.expr)
    return out


@pytest.mark.parametrize("wrt", ["x", "W1"])
def test_derivative_size_grows_linearly(wrt):
    n = sizes(wrt)
    for k in KS[:-1]:
        assert n[2 * k] <= 2 * n[k] + SLACK, f"by {wrt}: sizes {n}"
    # and linear overall: per-layer cost bounded by that of the small networks
    per_layer = (n[4] - n[2]) / 2 + 1
    assert n[32] <= n[2] + 30 * per_layer * 1.5 + SLACK, f"by {wrt}: sizes {n}"


@pytest.mark.parametrize("wrt", ["x", "W1", "W3"])
def test_network_derivative_numerically_right(wrt):
    text, shapes = network(4)
    check(text, wrt, shapes)


def test_network_hessian_by_x_numerically_right():
    text, shapes = network(2)
    check(text, "x", shapes, order=2)
