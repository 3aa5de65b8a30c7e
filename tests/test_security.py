"""Security and reliability: no path from input to executed code, no silently wrong
numbers, bounded work, thread safety, clean errors (docs/security.md).

Code generation and the command line have their own files (test_codegen_safety.py,
test_cli_safety.py); this one covers the core: names, the parser's tables, interning
under threads, recursion, budgets and their memory, deadlines, the numeric policy.
"""
import copy
import os
import pickle
import signal
import subprocess
import sys
import threading
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import matcalc
from matcalc import LimitError, MatcalcError, limits
from matcalc.core import expr as E
from matcalc.errors import BridgeError, EvalError, ParseError, ShapeError, UsageError
from threads import on_a_small_stack

HOSTILE = [
    'x"""; open("SENTINEL", "w"); """',
    "__import__('os').system('touch SENTINEL')",
    "a b", "1x", "x\n", "x\x1b[31m", "x\x00", "", "_t1", "x-y", "é", "x.y", "lambda:0",
]


def _sentinel_check(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path / "SENTINEL"


# ------------------------------------------------------------------ hostile names

@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused_where_they_enter(name, tmp_path, monkeypatch):
    sentinel = _sentinel_check(tmp_path, monkeypatch)
    with pytest.raises(MatcalcError):
        E.var(name, ("n",))
    with pytest.raises(MatcalcError):
        matcalc.parse("x", shapes={name: ("n",)})
    with pytest.raises(MatcalcError):
        matcalc.parse("sum(x)", shapes={"x": (name,)})
    with pytest.raises(MatcalcError):
        matcalc.diff("sum(x)", name)
    if name:
        with pytest.raises(BridgeError):
            matcalc.from_sympy(sp.MatrixSymbol(name, 3, 1))
        with pytest.raises(BridgeError):
            matcalc.from_sympy(sp.Symbol(name))
        n = sp.Symbol(name, integer=True, positive=True)
        with pytest.raises(BridgeError):
            matcalc.from_sympy(sp.MatrixSymbol("x", n, 1).T * sp.MatrixSymbol("x", n, 1))
    assert not sentinel.exists()


def test_the_reported_injection_is_refused(tmp_path, monkeypatch):
    """The audit's example: a dimension name that broke out of a docstring."""
    sentinel = _sentinel_check(tmp_path, monkeypatch)
    n = sp.Symbol('n"""; open("SENTINEL", "w"); """')
    x = sp.MatrixSymbol("x", n, 1)
    with pytest.raises(BridgeError, match="cannot use"):
        matcalc.lambdify(matcalc.diff(matcalc.from_sympy(x.T * x), "x"))
    assert not sentinel.exists()


def test_lark_never_loads_a_pickle_from_the_temp_directory(tmp_path):
    """Lark's cache=True kept its tables as a pickle in the shared temp directory; a
    planted one ran. Make the real cache file there, replace it with a pickle that
    creates a sentinel, and run matcalc: the sentinel must not appear."""
    from lark import Lark
    from matcalc.parser import grammar_text
    env = dict(os.environ, TMPDIR=str(tmp_path))
    make = ("import sys; from lark import Lark; "
            "Lark(sys.stdin.read(), parser='lalr', maybe_placeholders=False, cache=True)")
    subprocess.run([sys.executable, "-c", make], input=grammar_text(), text=True,
                   env=env, check=True)
    caches = [p for p in tmp_path.iterdir() if "lark" in p.name]
    assert caches, "Lark made no cache file to plant"
    sentinel = tmp_path / "SENTINEL"

    class Planted:
        def __reduce__(self):
            return (open, (str(sentinel), "w"))
    for p in caches:
        p.write_bytes(pickle.dumps(Planted()))
    out = subprocess.run([sys.executable, "-m", "matcalc", "parse", "x + 1"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert not sentinel.exists()
    assert Lark  # imported above only to make sure the test runs where lark is


# ------------------------------------------------------------------------ threads

NET = "sum(tanh(W2@tanh(W1@x+b1)+b2))"


def _race(work, threads: int = 8) -> None:
    """``work(k)`` in ``threads`` threads started together, switching every 1 µs."""
    barrier = threading.Barrier(threads)

    def run(k):
        barrier.wait()
        work(k)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        pool = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    finally:
        sys.setswitchinterval(old)


def test_interning_is_thread_safe():
    """8 threads deriving at once: every result equals the sequential one, and parsing
    the same text gives the same node in every thread."""
    texts = [NET.replace("x", f"x{i}") for i in range(40)]
    expected = [str(matcalc.diff(t, "W1")) for t in texts]  # strings: the nodes go away
    results: list = []
    same: list = []

    def work(k):
        for i, t in enumerate(texts):
            results.append((i, str(matcalc.diff(t, "W1"))))
            fresh = f"sin(q{k}_{i}) + cos(shared{i})"
            same.append(matcalc.parse(fresh) is matcalc.parse(fresh))
    _race(work)
    assert len(results) == 8 * len(texts)
    assert all(text == expected[i] for i, text in results)
    assert all(same)


def test_shared_subtrees_built_concurrently_are_one_object():
    out: dict = {i: [] for i in range(300)}

    def work(k):
        for i in range(300):
            out[i].append(matcalc.parse(f"exp(zz{i}) * sin(zz{i}) + zz{i}"))
    _race(work)
    assert all(len(v) == 8 and all(e is v[0] for e in v) for v in out.values())


# ---------------------------------------------------------------------- recursion

def test_import_leaves_the_recursion_limit_alone():
    code = ("import sys; before = sys.getrecursionlimit(); import matcalc; "
            "print(before == sys.getrecursionlimit())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "True", out.stderr


DEEP = "sin(" * 10000 + "x" + ")" * 10000


def test_a_10000_deep_expression_works_at_the_default_recursion_limit():
    """Parse, print, derive, evaluate, in a thread with a 2 MiB stack. (The Jacobian of
    the 10,000-deep chain itself takes minutes: the chain rule re-flattens a product
    at every level; here the variable is one level up, and a 1,000-deep chain is
    differentiated through.)"""
    def work():
        e = matcalc.parse(DEEP)
        text = str(e) + e._repr_latex_()
        d = matcalc.diff(f"c * sum({DEEP})", "c")
        text += str(d) + d.latex()
        value = d.evaluate({"x": np.full(3, 0.1), "c": 2.0})
        chain = matcalc.diff("sin(" * 1000 + "x" + ")" * 1000, "x")
        jac = chain.evaluate({"x": np.full(3, 0.1)})
        return text, value, jac
    text, value, jac = on_a_small_stack(work)
    assert text.count("sin") >= 40000
    assert value.shape == () and np.isfinite(value)
    assert jac.shape == (3, 3) and np.all(np.isfinite(jac))
    # the 1,000-deep Jacobian printed as a tree: 500,000 "cos(sin(" at least
    chain = matcalc.diff("sin(" * 1000 + "x" + ")" * 1000, "x")
    with limits.override(max_output_chars=100_000):
        with pytest.raises(LimitError, match="max_output_chars"):
            str(chain)


def test_sympy_is_not_given_what_it_cannot_handle():
    e = matcalc.parse(DEEP)
    with pytest.raises(BridgeError, match="nested"):
        on_a_small_stack(e.to_sympy)


def test_copy_and_pickle_of_a_deep_expression():
    e = matcalc.parse(DEEP)
    assert copy.deepcopy(e) is e and copy.copy(e) is e
    assert pickle.loads(pickle.dumps(e)) is e
    d = matcalc.diff("x'@A@x", "x")
    assert pickle.loads(pickle.dumps(d.expr)) is d.expr


# ------------------------------------------------------------------------ budgets

@pytest.mark.parametrize("text, error, words", [
    ("1e5000", LimitError, "beyond float64"),
    ("x * 1e400", LimitError, "beyond float64"),
    ("1" * 5001, LimitError, "characters"),
    ("1e999999999", LimitError, "beyond float64"),
    ("z * 1e-999999", LimitError, "too small"),
    ("x[" + "1" * 1000 + "]", ParseError, "too large"),
    ("x / 0", ShapeError, "division by zero"),
    ("x * (1 - 1)^-1", ShapeError, "division by zero"),
])
def test_numbers_beyond_the_budget_are_refused(text, error, words):
    with pytest.raises(error, match=words):
        matcalc.parse(text)


def test_exact_constants_stay_within_their_bits():
    e = matcalc.parse("((9e99^64)^64)^64 * x")   # not folded to a 10^(6e6) integer
    assert len(str(e)) < 200
    assert np.all(np.isinf(matcalc.evaluate(e, {"x": np.ones(2)})))


def test_nested_matrix_powers_are_bounded():
    with pytest.raises(LimitError, match="max_power_factors"):
        matcalc.parse("((((A^64)^64)^64)^64)^64", dialect="matlab")


def test_more_dimensions_than_the_budget():
    text = "+".join(f"sum(x{i})" for i in range(10_001))   # 10,001 distinct dimensions
    with pytest.raises(LimitError, match="max_dims"):
        matcalc.parse(text)
    with limits.override(max_dims=20_000):
        assert matcalc.parse(text).rank == 0


def test_array_budget_applies_to_evaluate_and_derivatives():
    with pytest.raises(LimitError, match="max_elements"):
        matcalc.evaluate("sum(exp(eye(100000)))", {})
    d = matcalc.diff("sum(exp(x))", "x", order=2)     # diag(exp(x)): n² entries
    with pytest.raises(LimitError, match="max_elements"):
        d.evaluate({"x": np.ones(4000)})
    with pytest.raises(LimitError), limits.override(max_elements=100):
        matcalc.diff("inv(X)", "X").evaluate({"X": np.eye(4)})   # 256 entries


def test_limits_are_overridable_and_checked():
    with limits.override(max_input_chars=5):
        with pytest.raises(ParseError, match="max_input_chars"):
            matcalc.parse("x + y + z")
    assert matcalc.parse("x + y + z")  # back to the default outside the block
    with pytest.raises(UsageError, match="unknown limit"):
        with limits.override(max_bananas=3):
            pass
    with pytest.raises(UsageError, match="positive"):
        with limits.override(max_elements=-1):
            pass


def test_printing_is_bounded():
    k = 19
    text = "sum(" + "softmax(" * k + "x" + ")" * k + " * y)"
    d = matcalc.diff(text, "x")
    with pytest.raises(LimitError, match="max_output_chars"):
        d.to_json()
    # the steps name their intermediates, so they stay small where the result is not
    assert len(d.steps_text()) < 20_000


# Each refused over-budget input, in a process of its own: peak memory under 200 MB.
RSS_CASES = [
    ("evaluate", "matcalc.evaluate('sum(exp(eye(100000)))', {})"),
    ("Hessian", "import numpy as np; matcalc.diff('sum(exp(x))', 'x', order=2)"
                ".evaluate({'x': np.ones(20000)})"),
    ("Kronecker", "import numpy as np; matcalc.diff('inv(X)', 'X')"
                  ".evaluate({'X': np.eye(100)})"),
    ("matrix power", "matcalc.parse('((((A^64)^64)^64)^64)^64', dialect='matlab')"),
    ("constant", "matcalc.parse('((9e99^64)^64)^64 * 2^2^2^2^2^2 * x')"),
    ("output", "matcalc.diff('sum(' + 'softmax(' * 19 + 'x' + ')' * 19 + ' * y)', 'x')"
               ".to_json()"),
    ("dimensions", "matcalc.parse('+'.join(f'sum(x{i})' for i in range(10001)))"),
]


@pytest.mark.parametrize("name, code", RSS_CASES, ids=[c[0] for c in RSS_CASES])
def test_refusals_stay_under_200_mb(name, code):
    # VmHWM, the peak resident size of this process's own memory (ru_maxrss would
    # include the forking parent's)
    script = (
        "import matcalc\n"
        "try:\n"
        f"    {code}\n"
        "    print('accepted')\n"
        "except matcalc.MatcalcError as err:\n"
        "    print('refused', type(err).__name__)\n"
        "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "print(status.split()[0])\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    verdict, rss_kib = out.stdout.split("\n")[:2]
    assert verdict.startswith("refused") or name == "constant", verdict
    assert int(rss_kib) < 200 * 1024, f"{name}: {int(rss_kib) // 1024} MB"


# ---------------------------------------------------------------------- deadlines

def test_deadline_works_in_a_thread_and_leaves_signals_alone():
    before = signal.getsignal(signal.SIGALRM)
    itimer = signal.getitimer(signal.ITIMER_REAL)

    def spin():
        while True:
            pass
    box = {}
    t = threading.Thread(target=lambda: box.setdefault(
        "r", limits.run_with_deadline(spin, 0.2)))
    t.start()
    t.join(timeout=30)
    assert not t.is_alive() and box["r"] is None
    assert limits.run_with_deadline(lambda: 42, 5) == 42
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == itimer


def test_nested_deadlines():
    def spin():
        while True:
            pass
    assert limits.run_with_deadline(lambda: limits.run_with_deadline(spin, 30), 0.2) is None
    assert limits.run_with_deadline(lambda: limits.run_with_deadline(spin, 0.1) or 7, 30) == 7


def test_verify_in_a_worker_thread_keeps_its_budget():
    d = matcalc.diff("logdet(X'@X)", "X")
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("r", d.verify(dims=(4, 5),
                                                                      budget=0.3)))
    t.start()
    t.join(timeout=60)
    assert not t.is_alive()
    assert all(c.status in ("holds", "unproven") for c in box["r"])


def test_sympy_simplify_has_a_time_budget():
    with limits.override(sympy_simplify_seconds=0.3):
        d = matcalc.diff("sin(" * 20 + "a" + ")" * 20, "a", simplify="sympy")
    assert d.evaluate({"a": 0.3}).shape == ()


def test_verify_takes_its_time_budget_from_the_limits():
    d = matcalc.diff("logdet(X'@X)", "X")
    with limits.override(verify_seconds=0.01):
        report = d.verify(dims=(3, 4))
    assert any("within 0.01 s" in line for line in report.lines()), str(report)


def test_float_constants_are_read_as_written():
    assert E.num(0.1).value == Fraction(1, 10)


def test_verify_dims_are_bounded():
    d = matcalc.diff("x'@x", "x")
    for dims in [(0,), (100,), (2, 3, 4, 5, 6), (), ("2",), (2.5,)]:
        with pytest.raises(UsageError, match="verify dims"):
            d.verify(dims=dims)


def test_verify_survives_singular_sample_points():
    d = matcalc.diff("sum(inv(x@x'))", "x")   # x xᵀ is singular at every point
    report = d.verify(dims=(2,))
    assert report.ok, str(report)
    assert report.checks[-1].status == "skipped"


# ---------------------------------------------------------------- numeric policy

def test_values_that_are_not_real_numbers_are_refused():
    with pytest.raises(EvalError, match="complex"):
        matcalc.evaluate("x + 1", {"x": np.array([1 + 2j, 3])})
    with pytest.raises(EvalError, match="not numeric"):
        matcalc.evaluate("x + 1", {"x": np.array(["a", "b"])})
    with pytest.raises(EvalError, match="positive"):
        matcalc.evaluate("sum(x)", {"x": np.zeros(0)})
    with pytest.raises(UsageError, match="dict"):
        matcalc.evaluate("x + 1", [("x", 1.0)])


def test_ieee_results_are_not_errors():
    assert matcalc.evaluate("log(a)", {"a": 0.0}) == -np.inf
    assert np.isnan(matcalc.evaluate("log(a)", {"a": -1.0}))
    assert matcalc.evaluate("logdet(A)", {"A": np.zeros((2, 2))}) == -np.inf
    assert np.isinf(matcalc.evaluate("1 / a", {"a": 0.0}))
    with pytest.raises(EvalError, match="singular"):
        matcalc.evaluate("inv(A)", {"A": np.zeros((2, 2))})


def test_max_and_min_keep_the_sum_rule_at_ties():
    d = matcalc.diff("max(a, b) + min(a, b)", "a")
    assert d.evaluate({"a": 1.0, "b": 1.0}) == 1.0
    scalar = {"z": ()}
    d = matcalc.diff("max(0, z) + min(0, z)", "z", shapes=scalar)
    assert d.evaluate({"z": 0.0}) == 1.0
    # the paper's convention: max(0, z)' = 0 at z = 0, whichever side 0 is written on
    assert matcalc.diff("max(0, z)", "z", shapes=scalar).evaluate({"z": 0.0}) == 0.0
    assert matcalc.diff("max(z, 0)", "z", shapes=scalar).evaluate({"z": 0.0}) == 0.0
    assert matcalc.diff("max(a, b)", "a").evaluate({"a": 2.0, "b": 2.0}) == 0.5


@pytest.mark.parametrize("call, words", [
    (lambda: matcalc.parse("x", shapes=[("x", ("n",))]), "dict"),
    (lambda: matcalc.parse("x", dialect=3), "dialect"),
    (lambda: matcalc.parse(b"x"), "string"),
    (lambda: matcalc.diff("x'@x", 3), "variable name"),
    (lambda: matcalc.diff("x'@x", "x", order="2"), "order"),
    (lambda: matcalc.diff("x'@x", "x", order=True), "order"),
    (lambda: matcalc.diff("x'@x", "x", simplify="yes"), "simplify"),
    (lambda: matcalc.diff("sum(x)", "n", shapes={"x": "n"}), "dimension"),
    (lambda: matcalc.diff("sum(x)", "q"), "not a variable of the expression"),
    (lambda: matcalc.from_sympy("x"), "SymPy expression"),
    (lambda: E.num(float("nan")), "finite"),
])
def test_api_arguments_are_checked(call, words):
    with pytest.raises(MatcalcError, match=words):
        call()


def test_declared_length_one_sizes_give_right_numbers():
    cases = [("softmax(x)", "x", {"x": (1,)}, 1),
             ("x'@A@x", "x", {"x": (1,), "A": (1, 1)}, 2),
             ("sum(softmax(x))", "x", {"x": (1,)}, 2)]
    for text, wrt, shapes, order in cases:
        d = matcalc.diff(text, wrt, shapes=shapes, order=order)
        report = d.verify(dims=(1,))
        assert report.ok, (text, str(report))
