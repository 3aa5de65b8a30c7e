"""Bad input, through the API and through the ``matcalc`` command: every error is a
MatcalcError subclass with a message that says what and where (line, column and a
caret under the offending character); the command prints it on stderr, without a
traceback, and exits with status 2. Also very deep and very long inputs."""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import matcalc
from matcalc import (EvalError, MatcalcError, ParseError, ShapeError, UsageError, evaluate,
                     parse)

ROOT = Path(__file__).resolve().parent.parent


def error_of(text, shapes=None, dialect="default", kind=MatcalcError):
    with pytest.raises(kind) as info:
        parse(text, shapes, dialect=dialect)
    assert isinstance(info.value, MatcalcError)
    return info.value


def assert_caret(err, text, line, col):
    """The message says ``line L, column C``, then shows the line and a caret under it."""
    msg = str(err)
    assert err.pos == (line, col)
    assert f"(line {line}, column {col})" in msg.split("\n")[0]
    shown, caret = msg.split("\n")[-2:]
    assert caret.strip() == "^"
    source_line = text.split("\n")[line - 1]
    if len(source_line) < 70:
        shown_line = "".join(" " if ch < " " else ch for ch in source_line)
        assert shown == "  " + shown_line
        assert caret == "  " + " " * (col - 1) + "^"
    if col <= len(source_line):   # the caret is under the offending character
        assert shown[len(caret) - 1] == (source_line[col - 1] if source_line[col - 1] >= " "
                                         else " ")


# ------------------------------------------------------------- syntax errors

SYNTAX_ERRORS = [
    # (text, line, column, what the message says)
    ("x +", 1, 4, "unexpected end of input"),
    ("x + * y", 1, 5, "unexpected '*'"),
    ("(x", 1, 3, "unexpected end of input"),
    ("((x)", 1, 5, "')'"),
    ("x)", 1, 2, "unexpected ')'"),
    ("x + y)", 1, 6, "unexpected ')'"),
    ("x $ y", 1, 3, "unexpected character '$'"),
    ("2x", 1, 2, "unexpected 'x'"),
    ("x y", 1, 3, "unexpected 'y'"),
    ("sin x", 1, 5, "unexpected 'x'"),
    ("[a,]", 1, 4, "unexpected ']'"),
    ("[ ]", 1, 3, "unexpected ']'"),
    ("x[-]", 1, 4, "unexpected ']'"),
    ("x[1.5]", 1, 3, "whole number"),
    ("x.y", 1, 3, "unknown attribute .y"),
    ("x @@ y", 1, 4, "unexpected '@'"),
    ("x ** ** y", 1, 6, "unexpected '**'"),
    ("x ⊙ ⊙ y", 1, 5, "unexpected '⊙'"),
    ("    x +", 1, 8, "unexpected end of input"),
    ("x + é", 1, 5, "unexpected character 'é'"),
    ("x'''+", 1, 6, "unexpected end of input"),
    ("x\t$", 1, 3, "unexpected character '$'"),
    ("x +\n * y", 2, 2, "unexpected '*'"),
    ("\n\nx +", 3, 4, "unexpected end of input"),
    ("x +\n\n", 1, 4, "unexpected end of input"),   # the end is after the last '+'
    ("x + y\n+ $", 2, 3, "unexpected character '$'"),
    ("ones(0)", 1, 1, "positive whole number"),
    ("ones(x + 1)", 1, 1, "dimension name or a positive whole number"),
]


@pytest.mark.parametrize("text, line, col, what", SYNTAX_ERRORS,
                         ids=[repr(t) for t, *_ in SYNTAX_ERRORS])
def test_syntax_error(text, line, col, what):
    err = error_of(text, kind=ParseError)
    assert what in str(err)
    assert_caret(err, text, line, col)


@pytest.mark.parametrize("text, col, what", [
    ("A^2.5", 2, "whole-number exponent"),
    ("A^a", 2, "whole-number exponent"),
    ("A/B", 2, "not supported"),
    ("x/y", 2, "not supported"),
    ("A^100", 2, "too large"),
])
def test_matlab_dialect_errors(text, col, what):
    err = error_of(text, dialect="matlab", kind=ParseError)
    assert what in str(err)
    assert_caret(err, text, 1, col)


def test_caret_in_a_long_line():
    """A 100,000-character line: a window around the column, the caret still under it."""
    text = "x + " * 25000 + "$ + x"
    err = error_of(text, kind=ParseError)
    col = len("x + " * 25000) + 1
    assert_caret(err, text, 1, col)
    assert len(str(err).split("\n")[-2]) < 90


# -------------------------------------------------- unknown functions, arity

@pytest.mark.parametrize("text, col", [
    ("foo(x)", 1), ("x + foo(x)", 5), ("Exp(x)", 1), ("f()", 1), ("softmaxx(x)", 1),
])
def test_unknown_function(text, col):
    err = error_of(text, kind=ParseError)
    name = text[col - 1:].split("(")[0]
    assert f"unknown function {name!r}" in str(err)
    assert "known: abs, cos" in str(err)
    assert_caret(err, text, 1, col)


@pytest.mark.parametrize("text, col, what", [
    ("exp(x, y)", 1, "exp() takes 1 argument, got 2"),
    ("sin()", 1, "sin() takes 1 argument, got 0"),
    ("max(x, y, z)", 1, "max() takes 2 arguments, got 3"),
    ("min(a, b, c)", 1, "min() takes 2 arguments, got 3"),
    ("sum(x, y)", 1, "sum() takes 1 argument, got 2"),
    ("dot(x)", 1, "dot() takes 2 arguments, got 1"),
    ("x + tr(A, B)", 5, "tr() takes 1 argument, got 2"),
    ("ones()", 1, "ones() takes 1 or 2 size arguments, got 0"),
    ("ones(n, m, p)", 1, "ones() takes 1 or 2 size arguments, got 3"),
    ("eye(m, n)", 1, "eye() takes 1 size argument, got 2"),
    ("vector(a, b)", 1, "takes one scalar"),
])
def test_wrong_arity(text, col, what):
    err = error_of(text, kind=ParseError)
    assert what in str(err)
    assert_caret(err, text, 1, col)


@pytest.mark.parametrize("text, col, name", [
    ("exp + 1", 1, "exp"), ("x * sum", 5, "sum"), ("σ + 1", 1, "σ"), ("trace'", 1, "trace"),
    ("ones + x", 1, "ones"), ("2 * dot", 5, "dot"), ("[a, log]", 5, "log"),
])
def test_function_name_used_as_a_variable(text, col, name):
    err = error_of(text, kind=ParseError)
    assert f"{name} is a function: call it as {name}(...)" in str(err)
    assert_caret(err, text, 1, col)


# ------------------------------------------------------------ shape conflicts

@pytest.mark.parametrize("text, shapes, col, words", [
    ("x + y", {"x": "n", "y": "m"}, 3, ["vector (n)", "vector (m)"]),
    ("W @ x", {"W": "m,n", "x": "m"}, 3, ["matrix (m×n)", "vector (m)"]),
    ("a @ x", None, 3, ["scalar", "vector (n)"]),
    ("det(A)", {"A": "m,n"}, 1, ["square", "matrix (m×n)"]),
    ("x + softmax(A)", None, 5, ["vector", "matrix (n×m)"]),
    ("x' + y", None, 4, ["row vector (1×n)", "vector (n)"]),
])
def test_shape_conflict(text, shapes, col, words):
    err = error_of(text, shapes, kind=ShapeError)
    assert all(w in str(err) for w in words), str(err)
    assert_caret(err, text, 1, col)


# -------------------------------------------------------- bad API arguments

@pytest.mark.parametrize("shapes, what", [
    ({"x": "0"}, "must be positive"),
    ({"x": "n-1"}, "bad dimension"),
    ({"x": "1,2,3"}, "at most 2"),
    ({"1x": "n"}, "bad variable name"),
    ({"x": 1.5}, "bad shape"),
    ({"x": None}, "bad shape"),
])
def test_bad_shape_declaration(shapes, what):
    err = error_of("x", shapes, kind=UsageError)
    assert what in str(err)


@pytest.mark.parametrize("text", ["", " ", "\n\t  \n"])
def test_empty_input(text):
    err = error_of(text, kind=ParseError)
    assert "empty" in str(err) and err.pos == (1, 1)


def test_unknown_dialect():
    err = error_of("x", dialect="octave", kind=UsageError)
    assert "octave" in str(err) and "default, matlab" in str(err)


def test_not_a_string():
    with pytest.raises(UsageError, match="needs a string"):
        parse(42)
    with pytest.raises(UsageError):
        parse(None)


def test_input_too_long():
    err = error_of("x+" * 600_000 + "x", kind=ParseError)
    assert "at most 1,000,000" in str(err)


def test_evaluation_errors_are_matcalc_errors():
    for values in ({}, {"x": "abc"}, {"x": np.ones((2, 2))}):
        with pytest.raises(MatcalcError) as info:
            evaluate("x + 1", values)
        assert isinstance(info.value, (EvalError, ShapeError))


def test_error_classes():
    for cls in (ParseError, ShapeError, matcalc.DiffError, EvalError, UsageError):
        assert issubclass(cls, MatcalcError)
    assert ParseError("m").kind == "parse error"
    assert ShapeError("m").kind == "shape error"
    assert str(ParseError("no position")) == "no position"


# ------------------------------------------------------ deep and long inputs

def _parse_or_error(text):
    """The expression, or the MatcalcError (never another exception), and the time."""
    t0 = time.perf_counter()
    try:
        result = parse(text)
        str(result)                        # printing it must not recurse either
    except MatcalcError as err:
        str(err)
        result = err
    return result, time.perf_counter() - t0


DEEP = [
    # (name, text, expected printed form, or the error class and a part of its message)
    ("10,000 parentheses", "(" * 10000 + "x" + ")" * 10000, "x"),
    ("10,000 sin(", "sin(" * 10000 + "x" + ")" * 10000, "sin(" * 10000 + "x" + ")" * 10000),
    ("13,000 sin(", "sin(" * 13000 + "x" + ")" * 13000,
     (ParseError, "more than 12,000 levels")),
    ("10,000 unary minus", "-" * 10000 + "x", "x"),
    ("10,001 unary minus", "-" * 10001 + "x", "-x"),
    ("10,000 -(", "-(" * 10000 + "x" + ")" * 10000, "x"),
    ("10,000 transposes", "x" + "'" * 10000, "x"),
    ("10,000 .T", "A" + ".T" * 10001, "A'"),
    ("13,000 powers", "^".join(["a"] * 13000), (ParseError, "more than 12,000 levels")),
    ("10,000 brackets", "[" * 10000 + "a" + "]" * 10000, (ShapeError, "must be a scalar")),
    ("100,000 open parentheses", "(" * 100000, (ParseError, "unexpected end of input")),
    ("100,000 close parentheses", ")" * 100000, (ParseError, "unexpected ')'")),
    ("x+x+... 100,000 characters", "+".join(["x"] * 50000), "50000 * x"),
    ("x-x-... 100,000 characters", "-".join(["x"] * 50000), "-49998 * x"),
    ("a*a*... 100,000 characters", "*".join(["a"] * 50000), "a^50000"),
    ("a/a/... 100,000 characters", "/".join(["a"] * 50000), "a^-49998"),
    ("A@A@... 60,000 characters", "@".join(["A"] * 30000), "@".join(["A"] * 30000)
     .replace("@", " @ ")),
    ("1+2+... 100,000 characters", "+".join(["1"] * 50000), "50000"),
    ("sin(x)+... 100,000 characters", "+".join(["sin(x)"] * 14285), "14285 * sin(x)"),
]


@pytest.mark.parametrize("name, text, expected", DEEP, ids=[d[0] for d in DEEP])
def test_deep_and_long_inputs(name, text, expected):
    result, seconds = _parse_or_error(text)
    if isinstance(expected, str):
        assert isinstance(result, matcalc.Expr), result
        assert str(result) == expected
    else:
        cls, what = expected
        assert isinstance(result, cls), result
        assert what in str(result)
    assert seconds < 10, f"{name}: {seconds:.1f} s"


def test_deep_chain_at_the_limit_evaluates():
    text = "sin(" * 3999 + "a" + ")" * 3999
    value = evaluate(text, {"a": 0.5})
    want = 0.5
    for _ in range(3999):
        want = np.sin(want)
    assert float(value) == pytest.approx(want)


def test_100000_distinct_names_sum():
    """x0 + x1 + ... (about 100,000 characters): answers, in a reasonable time."""
    n = 12000
    result, seconds = _parse_or_error("+".join(f"x{i}" for i in range(n)))
    assert isinstance(result, matcalc.Expr) and len(result.args) == n
    assert seconds < 20


# ---------------------------------------------------------------- the command

def run(*args, stdin=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "matcalc", *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def assert_fails(proc, kind, *words):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert proc.stderr.startswith(f"matcalc: {kind}: "), proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr
    assert proc.stdout == ""


CLI_ERRORS = [
    # (arguments, kind, words in the message)
    (["parse", "x +"], "parse error", ["unexpected end of input", "(line 1, column 4)",
                                       "\n  x +\n     ^"]),
    (["parse", "x + foo(x)"], "parse error", ["unknown function 'foo'", "column 5"]),
    (["parse", "exp(x, y)"], "parse error", ["exp() takes 1 argument, got 2"]),
    (["parse", "exp + 1"], "parse error", ["exp is a function"]),
    (["parse", "x + y", "--shape", "x=n", "--shape", "y=m"], "shape error",
     ["vector (n)", "vector (m)", "column 3"]),
    (["parse", "det(A)", "--shape", "A=3x4"], "shape error", ["square", "(3×4)"]),
    (["parse", "x", "--shape", "x"], "usage error", ["bad --shape 'x'"]),
    (["parse", "x", "--shape", "x=0"], "usage error", ["must be positive"]),
    (["parse", "x", "--shape", "x=1,2,3"], "usage error", ["at most 2"]),
    (["parse", ""], "parse error", ["empty"]),
    (["parse", "x", "--dialect", "octave"], "usage error", ["invalid choice: 'octave'"]),
    (["parse", "x", "--frobnicate"], "usage error", ["unrecognized arguments"]),
    (["frobnicate", "x"], "usage error", ["invalid choice: 'frobnicate'"]),
    (["parse", "sin(" * 13000 + "x" + ")" * 13000], "parse error", ["12,000 levels"]),
    (["eval", "x + 1"], "evaluation error", ["no value given for x"]),
    (["eval", "x + 1", "--value", "x=a"], "usage error", ["bad --value 'x=a'"]),
    (["eval", "x + 1", "--value", "x"], "usage error", ["bad --value 'x'"]),
    (["eval", "A", "--value", "A=1,2;3"], "usage error", ["different lengths"]),
    (["eval", "x + y", "--value", "x=1,2", "--value", "y=1,2,3"], "shape error",
     ["2", "3"]),
    (["eval", "x", "--values", "/nonexistent/v.npz"], "usage error", ["cannot read values"]),
    (["eval", "A^2.5", "--dialect", "matlab"], "parse error", ["whole-number exponent"]),
]


@pytest.mark.parametrize("args, kind, words", CLI_ERRORS, ids=[" ".join(a)[:40] for a, *_
                                                                in CLI_ERRORS])
def test_cli_error(args, kind, words):
    assert_fails(run(*args), kind, *words)


def test_cli_version():
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"matcalc {matcalc.__version__}"


@pytest.mark.parametrize("sub", [[], ["parse"], ["eval"], ["diff"]])
def test_cli_help(sub):
    proc = run(*sub, "--help")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("usage: matcalc" + (" " + sub[0] if sub else ""))
    assert "--shape" in proc.stdout or not sub
    if sub:
        assert "expression" in proc.stdout and "--dialect" in proc.stdout


def test_cli_without_a_command_shows_the_help():
    proc = run()
    assert proc.returncode == 2 and "usage: matcalc" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_cli_parse_output():
    proc = run("parse", "W@x + b", "--shape", "W=m,n", "--ascii")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "W @ x + b", "  W: matrix (m×n)", "  x: vector (n)", "  b: scalar",
        "  result: vector (m)"]


def test_cli_reads_the_expression_from_stdin():
    proc = run("parse", "-", "--ascii", stdin="x' @ A @ x\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "x' @ A @ x"
    assert "  result: scalar" in proc.stdout.splitlines()
    proc = run("eval", "-", "--value", "x=1,2", "--value", "A=1,2;3,4", stdin="x'@A@x")
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) == 27.0          # [1 2] [[1 2] [3 4]] [1 2]ᵀ = 27
    assert_fails(run("parse", "-", stdin="x +\n"), "parse error", "(line 1, column 4)")


def test_cli_expression_starting_with_a_minus():
    """"-x" is an expression, not an option; -h is still the help."""
    proc = run("parse", "-x", "--ascii")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "-x"
    proc = run("eval", "-x @ y", "--value", "x=1,2", "--value", "y=3,4")
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) == -11.0
    assert_fails(run("parse", "-x +"), "parse error", "(line 1, column 5)", "\n  -x +\n      ^")
    assert run("parse", "-h").stdout.startswith("usage: matcalc parse")


def test_cli_eval_values():
    proc = run("eval", "W @ x", "--value", "W=1,2;3,4;5,6", "--value", "x=1,-1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[-1.", "-1.", "-1.]"]
    proc = run("eval", "x @ A", "--value", "x=2,", "--value", "A=1,2,3;")   # length 1, 1 row
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("[[")                  # a 1×3 matrix
    assert [float(t) for t in re.findall(r"-?[0-9.]+", proc.stdout)] == [2.0, 4.0, 6.0]


def test_cli_eval_npz(tmp_path):
    path = tmp_path / "values.npz"
    x = np.array([1.0, 2.0, 3.0])
    A = np.arange(9.0).reshape(3, 3)
    np.savez(path, x=x, A=A)
    proc = run("eval", "x' @ A @ x", "--values", str(path))
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) == pytest.approx(x @ A @ x)
    # --value wins over the file, and completes it
    proc = run("eval", "x + y", "--values", str(path), "--value", "y=1,1,1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[2.", "3.", "4.]"]
    bad = tmp_path / "bad.npz"
    bad.write_text("not a numpy file")
    assert_fails(run("eval", "x", "--values", str(bad)), "usage error", "cannot read values")


def test_cli_in_process_exit_status(capsys):
    """The same contract through ``matcalc.cli.main`` (no subprocess)."""
    from matcalc.cli import main
    assert main(["parse", "x +"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("matcalc: parse error: ") and "column 4" in err
    assert main(["parse", "x + y"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "x + y"
