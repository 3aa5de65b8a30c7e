"""The ``matcalc`` command under hostile input: every bad input gives one line
``matcalc: <kind>: <message>`` on stderr (plus the source line and a caret when the
error has a position), exit status 2 and nothing on stdout; never a traceback, and a
bug exits with status 3. One group of tests per item of the CLI audit: .npz files,
the output budget, escaping, --wrt, --verify-dims, --limit, encodings, expressions
that start with --, and the last-resort handlers."""
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from matcalc import limits
from matcalc import cli
from matcalc.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run_main(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def check_refused(status, out, err, kind, *words, caret=False):
    """Exit 2, nothing on stdout, one printable line on stderr (three with a caret)
    that starts with ``matcalc: kind:`` and says ``words``; returns that first line."""
    assert status == 2, (out, err)
    assert out == ""
    assert "Traceback" not in err
    assert err.endswith("\n")
    lines = err[:-1].split("\n")
    assert len(lines) == (3 if caret else 1), err
    assert all(ch.isprintable() for line in lines for ch in line), err
    assert "\x00" not in err and "\\x00" not in err
    assert lines[0].startswith(f"matcalc: {kind}: "), err
    for w in words:
        assert w in lines[0], lines[0]
    if caret:
        assert lines[2].strip() == "^"
    return lines[0]


def refused(capsys, kind, *args, words=(), caret=False):
    return check_refused(*run_main(capsys, *args), kind, *words, caret=caret)


def run(*args, stdin=None, env=None):
    """The real command, as bytes (stdout and stderr are decoded by the test)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               **(env or {}))
    return subprocess.run([sys.executable, "-m", "matcalc", *args], input=stdin,
                          capture_output=True, cwd=ROOT, env=env, timeout=120)


def check_refused_process(proc, kind, *words, status=2):
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == status, (proc.stdout, err)
    assert proc.stdout == b""
    assert "Traceback" not in err
    lines = err[:-1].split("\n")
    assert len(lines) == 1 and err.endswith("\n"), err
    assert lines[0].startswith(f"matcalc: {kind}: "), err
    for w in words:
        assert w in lines[0], lines[0]


# --------------------------------------------------------------- 1. .npz values

def _write_bomb(path: Path, megabytes: int) -> None:
    """An .npz whose member "big" is megabytes of zeros (a few hundred KB compressed),
    written in chunks, beside a small array x."""
    n = megabytes * 2**20 // 8
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("big.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
            chunk = bytes(2**20)
            for _ in range(megabytes):
                f.write(chunk)
        buf = io.BytesIO()
        np.save(buf, np.arange(3.0))
        z.writestr("x.npy", buf.getvalue())


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    path = tmp_path_factory.mktemp("npz") / "bomb.npz"
    _write_bomb(path, 200)
    assert path.stat().st_size < 2 * 2**20
    return path


def test_npz_zip_bomb_is_refused_before_anything_is_decompressed(capsys, bomb):
    # x is all the expression uses; the file is refused for the size of "big"
    line = refused(capsys, "limit exceeded", "eval", "sum(x)", "--values", str(bomb),
                   words=["max_npz_bytes", "uncompressed size", repr(str(bomb))])
    assert "is 209,715," in line  # 200 MiB and the headers
    # a budget raised for the run lets it through (big is not read: x is all it needs)
    status, out, _ = run_main(capsys, "eval", "sum(x)", "--values", str(bomb),
                              "--limit", "max_npz_bytes=300000000")
    assert status == 0 and float(out) == 3.0


def test_npz_zip_bomb_peak_memory(bomb):
    """A process refusing the bomb stays small (measured in a fresh parent, so that the
    other tests' children do not count)."""
    code = ("import resource, subprocess, sys; "
            "p = subprocess.run(sys.argv[1:], capture_output=True); "
            "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "matcalc", "eval",
                           "sum(x)", "--values", str(bomb)], capture_output=True, text=True,
                          env=env, timeout=120)
    status, kib = map(int, proc.stdout.split())
    assert status == 2
    if sys.platform.startswith("linux"):  # ru_maxrss is in KiB on Linux
        assert kib < 200 * 1024


def test_npz_only_the_expression_variables_are_read(capsys, tmp_path):
    path = tmp_path / "v.npz"
    np.savez(path, x=np.arange(3.0), z=np.array([1 + 2j]), s=np.array(["a"]),
             o=np.array([None, 1], dtype=object))
    status, out, err = run_main(capsys, "eval", "sum(x)", "--values", str(path))
    assert status == 0 and float(out) == 3.0, err
    # a variable the algebra removes is still read: it gives the size of n
    status, out, err = run_main(capsys, "eval", "x - x", "--values", str(path))
    assert status == 0 and out.split() == ["[0.", "0.", "0.]"], err


@pytest.mark.parametrize("key, dtype", [("z", "complex128"), ("s", "str32"),
                                        ("t", "datetime64")])
def test_npz_dtypes_other_than_bool_int_float_are_refused(capsys, tmp_path, key, dtype):
    path = tmp_path / "v.npz"
    np.savez(path, z=np.array([1 + 2j, 3]), s=np.array(["a", "b"]),
             t=np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[D]"))
    refused(capsys, "usage error", "eval", f"sum({key})", "--values", str(path),
            words=[f"'{key}' in {str(path)!r}", dtype, "only bool, integer and float"])


def test_npz_bool_and_int_values(capsys, tmp_path):
    path = tmp_path / "v.npz"
    np.savez(path, x=np.array([True, False, True]), y=np.array([1, 2, 3], dtype=np.uint8))
    status, out, _ = run_main(capsys, "eval", "dot(x, y)", "--values", str(path))
    assert status == 0 and float(out) == 4.0


def _npy(array_bytes: bytes, shape) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue() + array_bytes


def _malformed(path: Path, how: str) -> None:
    good = io.BytesIO()
    np.savez(good, x=np.arange(3.0))
    if how == "not a zip":
        path.write_bytes(b"not a numpy file")
    elif how == "truncated":
        path.write_bytes(good.getvalue()[:len(good.getvalue()) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "a directory":
        path.mkdir()
    elif how == "missing":
        pass
    else:
        members = {
            "bad header": ("x.npy", b"\x93NUMPY\x01\x00\x10\x00{garbage\x1b[31m}  \n"),
            "not .npy": ("x", b"hello\n\x1b[31m"),
            "lying header": ("x.npy", _npy(np.arange(3.0).tobytes(), (10**11,))),
            "short data": ("x.npy", _npy(np.arange(3.0).tobytes(), (10**6,))),
            "pickle": ("x.npy", _pickled()),
        }
        name, data = members[how]
        with zipfile.ZipFile(path, "w") as z:
            z.writestr(name, data)


def _pickled() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    return buf.getvalue()


@pytest.mark.parametrize("how", ["not a zip", "truncated", "empty", "a directory", "missing",
                                 "bad header", "not .npy", "lying header", "short data",
                                 "pickle"])
def test_npz_malformed_files_are_usage_errors(capsys, tmp_path, how):
    path = tmp_path / "bad\x1b[31m.npz"
    _malformed(path, how)
    line = refused(capsys, "usage error", "eval", "sum(x)", "--values", str(path),
                   words=[repr(str(path))])
    assert "\\x1b[31m.npz'" in line  # the name is quoted, its escape shown, not sent
    if how == "pickle":
        assert "allow_pickle=False" in line


def test_npz_file_name_starting_with_a_dash(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savez("-data.npz", x=np.arange(3.0))
    status, out, err = run_main(capsys, "eval", "sum(x)", "--values", "-data.npz")
    assert status == 0 and float(out) == 3.0, err
    refused(capsys, "usage error", "eval", "sum(x)", "--values", "-none.npz",
            words=["cannot read values from '-none.npz'"])


# ---------------------------------------------------------------- 2. output budget

def test_output_budget(capsys):
    args = ["diff", "x'@A@x", "--wrt", "x", "--wrt", "A", "--format", "json"]
    status, out, _ = run_main(capsys, *args)
    assert status == 0
    size = len(out)
    # exactly at the budget: printed; one character less: refused, nothing written
    status, out2, _ = run_main(capsys, *args, "--limit", f"max_output_chars={size}")
    assert status == 0 and out2 == out
    refused(capsys, "limit exceeded", *args, "--limit", f"max_output_chars={size - 1}",
            words=["max_output_chars", f"at most {size - 1:,}"])
    # the budget in force around main() counts too, and so does --verify on stderr
    with limits.override(max_output_chars=50):
        refused(capsys, "limit exceeded", "parse", "W @ x + b", words=["max_output_chars"])
        refused(capsys, "limit exceeded", "eval", "x", "--value", "x=" + ",".join("1" * 30),
                words=["max_output_chars"])


# ---------------------------------------------------------------------- 3. escaping

@pytest.mark.parametrize("args, kind, words", [
    (["diff", "x", "--wrt", "x\x1b[31m"], "usage error", ["'x\\x1b[31m'"]),
    (["diff", "x", "--wrt", "x\ny"], "usage error", ["'x\\ny'"]),
    (["eval", "-x", "--value", "-x"], "usage error", ["bad --value '-x'"]),
    (["diff", "x", "--wrt", "x", "--order", "-1"], "usage error", ["invalid int value: '-1'"]),
    (["parse", "x", "--dialect", "-x"], "usage error", ["invalid choice: '-x'"]),
    (["parse", "x", "--shape", "x\x1b]0;title\x07"], "usage error", ["'x\\x1b]0;title\\x07'"]),
    (["parse", "x", "--shape", "x=\x1b[2J"], "usage error", ["'\\x1b[2J'"]),
    (["parse", "x", "\x1b[2J", "-y"], "usage error",
     ["unrecognized arguments: '\\x1b[2J' '-y'"]),
    (["eval", "x", "--value", "x=1\r2"], "usage error", ["'x=1\\r2'"]),
    (["eval", "x", "--values", "\x1b[31m.npz"], "usage error", ["'\\x1b[31m.npz'"]),
    (["parse", "x" * 5000, "--shape", "x" * 5000 + "=n"], "usage error", ["...'"]),
    (["frobnicate\x1b[31m"], "usage error", ["invalid choice: 'frobnicate\\x1b[31m'"]),
])
def test_user_text_in_messages_is_quoted(capsys, args, kind, words):
    line = refused(capsys, kind, *args, words=words)
    assert len(line) < 600


def test_caret_stays_under_its_column(capsys):
    status, out, err = run_main(capsys, "parse", "x +\x1b[31m $")
    check_refused(status, out, err, "parse error", "'\\x1b'", "column 4", caret=True)
    shown, caret = err[:-1].split("\n")[1:]
    assert caret == "  " + " " * 3 + "^" and shown == "  x + [31m $"  # ESC: a space


def test_expression_starting_with_a_minus_in_messages(capsys):
    refused(capsys, "parse error", "parse", "-x +", words=["column 5"], caret=True)
    status, out, err = run_main(capsys, "parse", "-x +")
    assert err.split("\n")[1] == "  -x +"


# ----------------------------------------------------------------------- 4. --wrt

@pytest.mark.parametrize("args, kind, words", [
    (["sum(x)", "--wrt", ""], "usage error", ["--wrt is empty"]),
    (["sum(x)", "--wrt", " "], "usage error", ["--wrt is empty"]),
    (["sum(x)", "--wrt", "2"], "usage error", ["bad --wrt '2'", "letter"]),
    (["sum(x)", "--wrt", "a b"], "usage error", ["bad --wrt 'a b'"]),
    (["sum(x)", "--shape", "x=n", "--wrt", "n"], "diff error",
     ["n is a dimension (the length of x), not a variable: differentiate by a variable"]),
    (["W@x", "--wrt", "m"], "diff error", ["m is a dimension (the number of rows of W)"]),
    (["sum(W)", "--wrt", "n"], "diff error", ["n is a dimension (the number of columns of W)"]),
    (["sum(ones(k))", "--wrt", "k"], "diff error", ["k is a dimension of the expression"]),
    (["sum(w*x)+b", "--wrt", "y"], "diff error",
     ["y is not a variable of the expression (its variables are w, x, b)", "--shape y=n"]),
    (["2 + 3", "--wrt", "y"], "diff error", ["it has no variable"]),
])
def test_wrt_messages(capsys, args, kind, words):
    refused(capsys, kind, "diff", *args, words=words)


def test_wrt_declared_but_absent_is_a_zero_derivative(capsys):
    status, out, err = run_main(capsys, "diff", "sum(x)", "--shape", "y=n", "--wrt", "y")
    assert status == 0, err
    assert out.startswith("∂f/∂y = 𝟎") and "rule: constant rule" in out
    # a variable the algebra removed is still a variable of the text
    status, out, err = run_main(capsys, "diff", "x - x", "--wrt", "x")
    assert status == 0 and out.startswith("∂f/∂x = 𝟎"), err


# ----------------------------------------------------------------- 5. --verify-dims

@pytest.mark.parametrize("dims", ["0", "7", "1,2,3,4,5", "a", "", "2,,3", "-1", "2.5",
                                  "\u0663", "9" * 5000])
def test_verify_dims_are_checked_before_anything_is_printed(capsys, dims):
    refused(capsys, "usage error", "diff", "x'@A@x", "--wrt", "x", "--verify",
            "--verify-dims", dims, words=["bad --verify-dims", "from 1 to 6"])


def test_verify_dims_follow_the_limits(capsys):
    refused(capsys, "usage error", "diff", "x'@A@x", "--wrt", "x", "--verify",
            "--verify-dims", "2,3", "--limit", "max_verify_sizes=1",
            words=["give 1 to 1 sizes"])


# ----------------------------------------------------------------------- 6. --limit

@pytest.mark.parametrize("spec", ["frobnicate=3", "max_depth", "max_depth=0", "max_depth=-1",
                                  "max_depth=abc", "max_depth=1.5", "max_depth=" + "9" * 40,
                                  "verify_seconds=inf", "verify_seconds=nan",
                                  "verify_seconds=0", "=3", "max_depth=\x1b[31m"])
def test_bad_limits_list_the_known_names(capsys, spec):
    line = refused(capsys, "usage error", "parse", "x", "--limit", spec,
                   words=["bad --limit", ", ".join(limits.names())])
    assert "\x1b" not in line


@pytest.mark.parametrize("command", [["parse", "x+y+z"], ["eval", "x+y+z"],
                                     ["diff", "x+y+z", "--wrt", "x"]])
def test_limit_on_every_command(capsys, command):
    refused(capsys, "parse error", *command, "--limit", "max_input_chars=3",
            words=["at most 3 (limits.max_input_chars)"])
    assert limits.current() == limits.Limits()  # nothing leaks out of the run


def test_limit_raises_a_budget_and_takes_floats(capsys):
    with limits.override(max_output_chars=10):
        status, out, _ = run_main(capsys, "parse", "W @ x", "--limit",
                                  "max_output_chars=1000", "--limit", "verify_seconds=0.5")
    assert status == 0 and out.split("\n")[0] == "Wx"


# -------------------------------------------------------------------- 7. encodings

def test_stdin_that_is_not_utf8():
    check_refused_process(run("parse", "-", stdin=b"x + \xff"), "usage error",
                          "standard input is not UTF-8", "0xff")


def test_stdin_in_utf8():
    proc = run("parse", "-", "--ascii", stdin="α * x\n".encode("utf-8"))
    assert proc.returncode == 0 and proc.stdout.decode().startswith("α * x")


def test_output_that_cannot_encode_the_result():
    proc = run("diff", "x'@A@x", "--wrt", "x", env={"PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr
    assert proc.stdout.startswith(b"\\u2202f/\\u2202x = x\\u1d40")


def test_an_error_on_a_stream_that_cannot_encode_it():
    proc = run("parse", "é +", env={"PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr
    assert proc.stderr.startswith(b"matcalc: parse error: ")


def test_arguments_that_are_not_utf8():
    check_refused_process(run("parse", b"x + \xff"), "usage error", "not UTF-8 text",
                          "\\udcff")
    check_refused_process(run("diff", "x", "--wrt", b"\xe9"), "usage error", "not UTF-8")


def test_lone_surrogates_in_process(capsys):
    refused(capsys, "usage error", "parse", "x + \udcff", words=["'x + \\udcff'"])
    refused(capsys, "usage error", "diff", "x", "--shape", "\ud800=n", "--wrt", "x",
            words=["not UTF-8"])


def test_import_changes_no_stream():
    code = "import sys, matcalc.cli; print(sys.stdout.errors)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, PYTHONIOENCODING="utf-8"))
    assert proc.stdout.strip() == "strict"


# ----------------------------------------------------- 8. expressions starting with --

def test_expression_starting_with_two_dashes(capsys):
    refused(capsys, "usage error", "parse", "--x",
            words=["an expression that starts with -- goes last, after --",
                   "matcalc parse [options] -- '--x'"])
    refused(capsys, "usage error", "parse", "x", "--x", words=["unrecognized arguments: '--x'",
                                                               "after --"])
    status, out, _ = run_main(capsys, "parse", "--", "--x")
    assert status == 0 and out.split("\n")[0] == "x"
    status, out, _ = run_main(capsys, "diff", "--wrt", "x", "--", "--x")
    assert status == 0 and out.startswith("∂f/∂x = I")
    # a known option is not taken for an expression
    line = refused(capsys, "usage error", "parse", "--shape", "x=n")
    assert "after --" not in line


def test_expression_starting_with_two_dashes_process():
    proc = run("parse", "--", "--x", "--ascii")
    assert proc.returncode == 2  # after --, everything is positional: --ascii too
    proc = run("parse", "--ascii", "--", "--x")
    assert proc.returncode == 0 and proc.stdout.decode().split("\n")[0] == "x"


# ------------------------------------------------------- 9. the last-resort handlers

def test_memory_error(capsys, monkeypatch):
    def hungry(args, out):
        raise MemoryError
    monkeypatch.setitem(cli.COMMANDS, "parse", hungry)
    refused(capsys, "limit exceeded", "parse", "x",
            words=["more memory than is available", "--limit max_elements="])


def test_internal_error(capsys, monkeypatch):
    def buggy(args, out):
        out.print("half an output")
        raise ValueError("bad\x1b[31m\nthing")
    monkeypatch.setitem(cli.COMMANDS, "parse", buggy)
    status, out, err = run_main(capsys, "parse", "x")
    assert status == 3 and out == "" and "Traceback" not in err
    assert err == "matcalc: internal error: ValueError: bad\\x1b[31m\\nthing (please report it)\n"


def test_internal_error_exit_status_process():
    code = ("import sys; from matcalc import cli; "
            "cli.COMMANDS['parse'] = lambda args, out: 1 / 0; sys.exit(cli.main(['parse', 'x']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, PYTHONIOENCODING="utf-8"))
    assert proc.returncode == 3 and proc.stdout == ""
    assert proc.stderr == ("matcalc: internal error: ZeroDivisionError: division by zero "
                           "(please report it)\n")


@pytest.mark.parametrize("args", [["parse", "x +"], ["eval", "x"], ["diff", "x", "--wrt", "y"],
                                  ["parse", "x", "--limit", "nope=1"]])
def test_refusals_exit_2_in_a_process(args):
    proc = run(*args)
    assert proc.returncode == 2 and proc.stdout == b""
    assert b"Traceback" not in proc.stderr and proc.stderr.startswith(b"matcalc: ")
