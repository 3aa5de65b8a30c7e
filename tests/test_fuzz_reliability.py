"""Reliability fuzz over the API and the command line (docs/security.md).

- API: random texts (token soup and well-formed expressions, both dialects) go
  through parse, diff (orders 1 and 2), printing, evaluate and code generation; only
  a MatcalcError may come out, and the generated NumPy code agrees with
  ``Derivative.evaluate`` on every derivative it produces (same shape, same numbers,
  inf and nan where evaluate has them).
- CLI: random argument lists through ``matcalc.cli.main``: exit status 0 or 2 (1
  only for a failed --verify), never an exception; an error is one line on stderr
  (plus the source line and caret when it has a position).

The default run is a few thousand examples; ``--hypothesis-profile=nightly`` runs
100,000 of each.
"""
import contextlib
import io
import sys

import numpy as np
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

import matcalc
from matcalc import MatcalcError
from matcalc.core import expr as E
from matcalc.cli import main
from matcalc.backends.codegen import lambdify

from test_fuzz import expressions, token_strings

EXAMPLES = max(2000, settings().max_examples)
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _values(e: E.Expr, seed: int) -> dict:
    """Distinct sizes (2, 3, 4) per dimension; positive values; square matrices
    diagonally dominant (inverses exist)."""
    rng = np.random.default_rng(seed)
    sizes: dict = {}
    for d in E.dims_of(e):
        sizes.setdefault(d, 2 + len(sizes) % 3)
    values = {}
    for v in E.variables(e):
        if v.tangent:
            continue
        shape = tuple(d if isinstance(d, int) else sizes[d] for d in v.shape)
        a = rng.uniform(0.5, 1.5, size=shape)
        if len(shape) == 2 and shape[0] == shape[1]:
            a = a + shape[0] * np.eye(shape[0])
        values[v.name] = a
    return values


def _same(got, want, what: str) -> None:
    got = np.asarray(got, dtype=float)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, evaluate {want.shape}"
    both = np.isfinite(want) & np.isfinite(got)
    assert np.array_equal(np.isnan(got), np.isnan(want)) or not np.all(both), what
    np.testing.assert_allclose(got[both], want[both], rtol=1e-7, atol=1e-9, err_msg=what)


def api_run(text: str, dialect: str, seed: int) -> None:
    """Everything a user can do with ``text``: MatcalcError is the only way out."""
    try:
        f = matcalc.parse(text, dialect=dialect)
    except MatcalcError:
        return
    variables = E.variables(f)
    str(f)
    if not variables:
        return
    wrt = variables[seed % len(variables)]
    values = _values(f, seed)
    for order in (1, 2):
        try:
            d = matcalc.diff(f, wrt.name, order=order)
        except MatcalcError:
            continue
        note(f"d{order} by {wrt.name} ({d.kind}): ...")
        for show in (str, lambda x: x.latex(), lambda x: x.report()):
            try:
                show(d)
            except MatcalcError:
                pass
        # a variable only the derivative has (none, normally) still needs a value
        all_values = {**_values(d.expr, seed + 1), **values}
        try:
            want = d.evaluate(all_values)
        except MatcalcError:
            continue
        if not _invertible(d.f, all_values):
            continue  # an inverse of a (nearly) singular matrix: no derivative to compare
        try:
            fn = lambdify(d)
        except MatcalcError:
            continue
        args = _arguments(d)
        with np.errstate(all="ignore"):
            got = fn(*[all_values[name] for name in args])
        _same(got, want, f"generated code for d{order}({text})/d{wrt.name}")


def _invertible(f, values) -> bool:
    """Every argument of inv, det and logdet in ``f`` is well conditioned at ``values``
    (at a singular point two correct evaluations of the derivative can differ
    arbitrarily: there is no derivative there)."""
    from matcalc.backends.verify import _domain_args, _well_conditioned
    try:
        with np.errstate(all="ignore"):
            return all(_well_conditioned(np.atleast_2d(matcalc.evaluate(m, values)))
                       for m in _domain_args(f, "invertible"))
    except MatcalcError:
        return False


def _arguments(d) -> list[str]:
    """The generated function's parameters, in order, as variable names."""
    return [v.name for v in d.variables]


@FUZZ
@given(token_strings(), st.sampled_from(["default", "matlab"]), st.integers(0, 2**16))
def test_api_on_token_soup(text, dialect, seed):
    note(f"text: {text!r}")
    api_run(text, dialect, seed)


@FUZZ
@given(expressions(), st.sampled_from(["default", "matlab"]), st.integers(0, 2**16))
@example("A + x @ A", "default", 0)   # found by the nightly run: a 1×1 Kronecker factor
def test_api_on_expressions(text, dialect, seed):
    note(f"text: {text!r}")
    api_run(text, dialect, seed)


# ------------------------------------------------------------------------- the CLI

OPTIONS = [
    ["--wrt", "x"], ["--wrt", "A"], ["--wrt", "a"], ["--wrt", "n"], ["--wrt", ""],
    ["--wrt", "2"], ["--shape", "x=n"], ["--shape", "A=n,n"], ["--shape", "x=3"],
    ["--shape", "b=scalar"], ["--shape", "bad"], ["--shape", "x=0"], ["--order", "2"],
    ["--order", "3"], ["--layout", "denominator"], ["--layout", "mixed"], ["--ascii"],
    ["--format", "json"], ["--format", "latex"], ["--format", "numpy"],
    ["--format", "jax"], ["--steps"], ["--document"], ["--no-simplify"],
    ["--dialect", "matlab"], ["--value", "x=1,2"], ["--value", "A=1,2;3,4"],
    ["--value", "a=2"], ["--value", "x=abc"], ["--value", "=1"], ["--verify-dims", "0"],
    ["--limit", "max_elements=100"], ["--limit", "bogus=1"], ["--bogus"], ["-"],
]


@st.composite
def argvs(draw):
    command = draw(st.sampled_from(["parse", "eval", "diff", "bogus"]))
    text = draw(st.one_of(expressions(), token_strings(), st.text(max_size=20)))
    opts = draw(st.lists(st.sampled_from(OPTIONS), max_size=4))
    argv = [command, text] + [a for o in opts for a in o]
    if draw(st.booleans()):
        argv = draw(st.permutations(argv))
    return list(argv)


def cli_run(argv: list) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(b"x + 1"), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=max(1000, settings().max_examples), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(argvs())
def test_cli_only_refuses_cleanly(argv):
    note(f"argv: {argv!r}")
    code, out, err = cli_run(argv)
    assert code in (0, 2), (code, err)
    if code == 2:
        lines = err.rstrip("\n").split("\n")
        # warnings first (one line each, they often explain the error), then the error
        lines = [ln for ln in lines if not ln.startswith("matcalc: warning: ")]
        assert lines and lines[0].startswith("matcalc: "), err
        assert "Traceback" not in err and "\x00" not in err
        assert len(lines) in (1, 3), err      # one line, or with the source and caret
        if len(lines) == 3:
            assert lines[2].strip() == "^", err
