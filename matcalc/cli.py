"""The ``matcalc`` command.

Every bad input gives one message on stderr, ``matcalc: <kind>: <message>`` (plus the
source line and a caret when the error has a position), and exit status 2; a bug
gives ``matcalc: internal error: ...`` and exit status 3. A command's output is built
as a string first and written when the command has finished, so that an error (or
an output over budget) leaves stdout empty.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys
import zipfile
from typing import Sequence

from . import limits
from .errors import (LimitError, MatcalcError, UsageError, command_line, did_you_mean, one_line,
                     quote)
from .frontend import derive, unused_shapes, verify_dims, verify_name

EXAMPLES = """examples:
  matcalc parse "W@x + b"
  matcalc eval "x'@A@x" --value x=1,2 --value "A=1,2;3,4"
  matcalc diff "sum(w*x+b)" --wrt w
  matcalc parse -- "--x"          (an expression that starts with --)
"""

# Put before an argument that starts with "-" so that argparse takes it for a value,
# not an option (see _negations_as_expressions); removed from every parsed value.
_MARK = "\x00"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a MatcalcError (one line, exit 2)."""

    def error(self, message: str):
        raise UsageError(f"{_shorten(_unmarked(message))} (see {self.prog} --help)")

    def parse_args(self, args=None, namespace=None):
        # argparse would show unrecognized arguments as typed: quote them instead
        args, extras = self.parse_known_args(args, namespace)
        if extras:
            shown = " ".join(quote(_unmark(a)) for a in extras[:5])
            self.error(f"unrecognized arguments: {shown}{' ...' if len(extras) > 5 else ''}")
        return args


def _unmark(text: str) -> str:
    return text[len(_MARK):] if text.startswith(_MARK) else text


def _unmarked(message: str) -> str:
    """An argparse message without the mark, also where argparse shows it as repr does."""
    return message.replace(_MARK, "").replace(repr(_MARK)[1:-1], "")


def _shorten(text: str, width: int = 300) -> str:
    """At most ``width`` characters: the start and the end of ``text``."""
    if len(text) <= width:
        return text
    half = (width - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("expression", help="the expression, or - to read it from standard input")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=DIMS",
                   help="declare a shape: x=n, W=m,n, W=mxn, W=3,4, b=scalar, with an "
                        "optional structure last: S=n,n,sym (symmetric), S=n,n,spd "
                        "(symmetric positive definite), y=n,prob (entries sum to 1) "
                        "(repeatable)")
    p.add_argument("--dialect", choices=("default", "matlab"), default="default",
                   help="input language: default (NumPy-like) or matlab (matrixcalculus.org)")
    p.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE",
                   help="change a budget for this run, e.g. max_output_chars=50000000 "
                        f"(repeatable); NAME is one of {', '.join(limits.names())}")
    p.add_argument("--strict", action="store_true",
                   help="treat warnings (a likely mistake, such as W*x for W@x) as errors: "
                        "print them and exit with status 2, with nothing on stdout")


def _value_options(p: argparse.ArgumentParser, what: str = "") -> None:
    p.add_argument("--value", action="append", default=[], metavar="NAME=VALUES",
                   help="a value: b=2, x=1,2,3, A=1,2;3,4 (rows split by ;), x=5, "
                        "(a vector of length 1), A=1,2; (a matrix of one row) (repeatable)"
                        + what)
    p.add_argument("--values", metavar="FILE.npz", help="values from a NumPy .npz file")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = _Parser(prog="matcalc", description="Symbolic matrix calculus: parse, evaluate "
                     "and differentiate vector and matrix expressions.",
                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"matcalc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("parse", help="print the expression with its inferred shapes")
    _common(p)
    p.add_argument("--ascii", action="store_true", help="print in the input language")

    p = sub.add_parser("eval", help="evaluate the expression with NumPy")
    _common(p)
    _value_options(p)

    p = sub.add_parser("diff", help="differentiate the expression")
    _common(p)
    p.add_argument("--wrt", action="append", required=True, metavar="VAR",
                   help="the variable to differentiate by (repeatable: the derivative by "
                        "each; with --order 2, every block of the Hessian over them, "
                        "the mixed ∂²f/∂w∂b too)")
    p.add_argument("--order", type=int, default=1, choices=(1, 2, 3),
                   help="1: gradient/Jacobian; 2: Hessian of a scalar (second derivatives "
                        "of a vector); 3: third derivatives of a scalar")
    p.add_argument("--layout", choices=("numerator", "denominator", "mixed"),
                   default="numerator", help="how to show it (numerator: the paper's)")
    p.add_argument("--ascii", action="store_true", help="print in the input language")
    p.add_argument("--format", choices=("text", "latex", "json", "numpy", "jax", "torch"),
                   help="text (the default; latex with --document): the derivative; latex: "
                        "LaTeX math; json: everything as JSON (docs/cli.md); numpy, jax, "
                        "torch: Python code computing it")
    p.add_argument("--code", choices=("dense", "einsum", "jvp", "vjp"), default="dense",
                   help="with --format numpy/jax/torch, the function generated: dense (the "
                        "tensor f.shape + wrt.shape), einsum (the same, by einsum over the "
                        "index form), jvp (the linear map on a direction dV), vjp (its "
                        "adjoint on a cotangent G)")
    p.add_argument("--check", action="store_true",
                   help="with --format numpy/jax/torch: the generated function takes "
                        "check=True to test itself against finite differences")
    p.add_argument("--index", action="store_true",
                   help="also print the derivative in index (Einstein) notation")
    p.add_argument("--steps", action="store_true",
                   help="also print the derivation, one numbered step per rule applied")
    p.add_argument("--document", action="store_true",
                   help="with --format latex: a complete .tex document")
    p.add_argument("--style", choices=("bold", "plain"), default="bold",
                   help="with --format latex: vectors and matrices bold, as the Matrix "
                        "Cookbook (bold), or italic letters (plain)")
    p.add_argument("--verify", action="store_true",
                   help="prove the derivative with SymPy on small sizes and check it by "
                        "finite differences; exit 1 if a check fails")
    p.add_argument("--verify-dims", default="2,3", metavar="N,M",
                   help="sizes given to the symbolic dimensions by --verify (default 2,3)")
    p.add_argument("--no-simplify", action="store_true",
                   help="print the derivative as the chain rule builds it, not simplified")
    p.add_argument("--sympy-simplify", action="store_true",
                   help="also simplify with SymPy: a scalar result as a whole, the "
                        "element-wise parts of any result as scalars (docs/simplify.md)")
    p.add_argument("--symmetric-gradient", choices=("sym", "cookbook"), default="sym",
                   help="by a variable declared sym or spd: sym (the gradient on symmetric "
                        "matrices, (G + G')/2, the default) or cookbook (the Matrix "
                        "Cookbook's G + G' - G * I); G is the unconstrained gradient")
    _value_options(p, " (diff: also print the derivative's value there)")
    p = sub.add_parser("serve", help="serve the web page on this machine (needs the web "
                       "extra: pip install \"matcalc-symbolic[web]\")")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_port, default=8765,
                   help="the port (default 8765; 0: any free port)")
    p.add_argument("--open", action="store_true", help="open the page in the browser")
    p.add_argument("--workers", type=_workers, default=2,
                   help="worker processes computing the derivatives (default 2)")
    p.add_argument("--cache", type=_cache, default=256, metavar="N",
                   help="answers kept in memory, for a request asked again (default 256; "
                        "0: none)")
    # every option string, to tell an expression that starts with -- from an option
    parser.option_names = {s for q in (parser, *sub.choices.values())
                           for a in q._actions for s in a.option_strings}
    return parser


# ------------------------------------------------------------------ the output

class _Output:
    """A command's output, held until the command has finished (an error then leaves
    stdout empty) and bounded by limits.max_output_chars in all: the last line of
    defence against a printer that writes far more than its input."""

    def __init__(self):
        self.parts: dict[bool, list[str]] = {False: [], True: []}
        self.size = 0

    def print(self, text: object = "", end: str = "\n", err: bool = False) -> None:
        text = f"{text}{end}"
        self.size += len(text)
        limits.check(self.size, "max_output_chars", "the output's length in characters")
        self.parts[err].append(text)

    def write(self) -> None:
        for err, stream in ((False, sys.stdout), (True, sys.stderr)):
            if self.parts[err]:
                stream.write("".join(self.parts[err]))
                stream.flush()


# ------------------------------------------------------------------- the input

def _expression(text: str) -> str:
    return _read_stdin() if text == "-" else text


def _read_stdin() -> str:
    """The expression on standard input, which must be UTF-8 (read as bytes: a text
    stream would fail, or smuggle undecodable bytes in as surrogates)."""
    limit = limits.current().max_input_chars
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream put in place of stdin (a test, a notebook)
        return sys.stdin.read(limit + 1).strip() if sys.stdin else ""
    data = stream.read(4 * limit + 1)  # a character is at most 4 bytes of UTF-8
    if len(data) > 4 * limit:
        raise LimitError(f"standard input has more than {4 * limit:,} bytes, so more than "
                         f"{limit:,} characters (limits.max_input_chars)")
    try:
        return data.decode("utf-8-sig").strip()
    except UnicodeDecodeError as err:
        raise UsageError(f"standard input is not UTF-8 text (byte {data[err.start]:#04x} at "
                         f"offset {err.start})") from None


def _shapes(specs: Sequence[str]) -> dict:
    """The --shape declarations, NAME -> DIMS, each checked here so that an error names
    the option (``S=n,m,sym``: sym needs a square matrix)."""
    from .core.shapes import parse_declaration
    out = {}
    for spec in specs:
        name, eq, dims = spec.partition("=")
        if not eq or not name.strip():
            raise UsageError(f"bad --shape {quote(spec)}: write NAME=DIMS, e.g. W=m,n, "
                             f"b=scalar or S=n,n,sym")
        parse_declaration(dims, where=f"--shape {quote(spec)}")
        out[name.strip()] = dims
    return out


def _values(specs: Sequence[str]) -> dict:
    import numpy as np
    out: dict = {}
    for spec in specs:
        name, eq, text = spec.partition("=")
        if not eq or not name.strip():
            raise UsageError(f"bad --value {quote(spec)}: write NAME=VALUES, e.g. x=1,2,3")
        try:
            rows = []
            lines = text.split(";")
            if len(lines) > 1 and not lines[-1].strip():
                lines.pop()  # "A=1,2,3;" is a matrix of one row
            for row in lines:
                items = row.split(",")
                if len(items) > 1 and not items[-1].strip():
                    items.pop()  # "x=5," is a vector of length 1
                rows.append([float(v) for v in items])
        except ValueError:
            raise UsageError(f"bad --value {quote(spec)}: the values must be numbers") from None
        if ";" in text:
            if len({len(r) for r in rows}) != 1:
                raise UsageError(f"bad --value {quote(spec)}: the rows have different lengths")
            out[name.strip()] = np.array(rows)
        elif len(rows[0]) == 1 and "," not in text:
            out[name.strip()] = np.array(rows[0][0])
        else:
            out[name.strip()] = np.array(rows[0])
    return out


def _given_values(args, names) -> dict:
    """The values of --values FILE.npz (only the arrays ``names`` names are read) and
    --value, which wins over the file and completes it; a --value for a name that is
    not one of ``names`` is a UsageError (a misspelt variable)."""
    names = set(names)
    values = _npz_values(args.values, names) if args.values else {}
    given = _values(args.value)
    for name in given:
        if name not in names:
            raise UsageError(f"--value {name}: {name} is not a variable of the expression "
                             f"(its variables are {', '.join(sorted(names))})"
                             f"{did_you_mean(name, names)}")
    values.update(given)
    return values


def _npz_values(path: str, wanted: set) -> dict:
    """The arrays of the .npz file ``path`` that ``wanted`` names. The zip directory is
    read first, and the file refused when its members would expand beyond
    limits.max_npz_bytes (a zip bomb), before anything is decompressed; then only the
    arrays the expression uses are read. Any failure is a UsageError naming the file."""
    import numpy as np
    try:
        with open(path, "rb") as f:  # one open file: it cannot be swapped between the reads
            with zipfile.ZipFile(f) as z:
                size = sum(info.file_size for info in z.infolist())
            limits.check(size, "max_npz_bytes", f"the uncompressed size of {_file(path)} in "
                         f"bytes")
            f.seek(0)
            with np.load(f, allow_pickle=False) as data:
                return {k: _npz_array(data, k, path) for k in data.files if k in wanted}
    except MatcalcError:
        raise
    except Exception as err:  # a malformed file: whatever zipfile or numpy raised
        raise UsageError(f"cannot read values from {_file(path)}: {_reason(err)}") from None


def _npz_array(data, key: str, path: str):
    import numpy as np
    where = f"{quote(key)} in {_file(path)}"
    try:
        a = data[key]
    except Exception as err:
        raise UsageError(f"cannot read {where}: {_reason(err)}") from None
    if not isinstance(a, np.ndarray):  # numpy gives a member that is not .npy as bytes
        raise UsageError(f"{where} is not a NumPy array (.npy)")
    if a.dtype.kind not in "biuf":  # complex would lose its imaginary part silently
        raise UsageError(f"{where} has dtype {a.dtype.name}: only bool, integer and float "
                         f"arrays can be evaluated")
    limits.check(a.size, "max_elements", f"the number of entries of {where}")
    return a


def _file(path: str) -> str:
    """A file name as messages show it: quoted, and long enough to show the name."""
    return quote(path, 300)


def _reason(err: BaseException) -> str:
    text = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
    return _shorten(one_line(text), 200) or type(err).__name__


def _limit_changes(specs: Sequence[str]) -> dict:
    """The budgets --limit NAME=VALUE changes for this run."""
    changes = {}
    for spec in specs:
        name, _, text = spec.partition("=")
        value = _limit_value(name.strip(), text.strip())
        if value is None:
            raise UsageError(f"bad --limit {quote(spec)}: write NAME=VALUE (a positive "
                             f"number), NAME one of {', '.join(limits.names())}")
        changes[name.strip()] = value
    return changes


def _limit_value(name: str, text: str):
    """The value of ``--limit name=text``, or None if it is not one."""
    if name not in limits.names():
        return None
    if isinstance(getattr(limits.Limits(), name), int):
        # at most 18 digits: the value still fits the 64-bit integers of NumPy
        return int(text) if re.fullmatch(r"[0-9]{1,18}", text) and int(text) > 0 else None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


# ---------------------------------------------------------------- the commands

def _cmd_parse(args, out: _Output) -> int:
    from .core import expr as E
    from .parser import parse_with_variables
    from .printing.text import to_text, to_unicode
    from .core.shapes import describe, describe_var
    declared = _shapes(args.shape)
    e, named = parse_with_variables(_expression(args.expression), declared, args.dialect)
    unused_shapes(declared, named)
    out.print(to_text(e, dialect=args.dialect) if args.ascii else to_unicode(e))
    for v in E.variables(e):
        out.print(f"  {v.name}: {describe_var(v.shape, v.structure)}")
    out.print(f"  result: {describe(e.shape)}")
    return 0


def _cmd_eval(args, out: _Output) -> int:
    import numpy as np
    from .backends.numeric import evaluate
    from .parser import parse_with_variables
    text, shapes = _expression(args.expression), _shapes(args.shape)
    # parse first: a bad expression is reported before the file is read, and only
    # the arrays of the expression's variables (even removed ones, x - x) are read
    _, named = parse_with_variables(text, shapes, args.dialect)
    unused_shapes(shapes, named)
    values = _given_values(args, (v.name for v in named))
    # the text, not the parsed expression: a variable the algebra removed (x - x)
    # still gives the sizes of its dimensions
    value = evaluate(text, values, shapes, args.dialect)
    with np.printoptions(precision=10, suppress=True):
        out.print(value if value.ndim else repr(float(value)))
    return 0


def _cmd_diff(args, out: _Output) -> int:
    # every option is checked before anything is computed or printed
    if args.format is None:
        args.format = "latex" if args.document else "text"
    if args.document and args.format != "latex":
        raise UsageError("--document is a LaTeX document: it needs --format latex (the "
                         "default with --document)")
    if args.code != "dense" and args.format not in ("numpy", "jax", "torch"):
        raise UsageError(f"--code {args.code} needs --format numpy, jax or torch")
    if args.check and args.format not in ("numpy", "jax", "torch"):
        raise UsageError("--check needs --format numpy, jax or torch")
    if args.index and args.format in ("numpy", "jax", "torch"):
        raise UsageError("--index needs --format text, latex or json (the code of the "
                         "index form is --code einsum)")
    given = bool(args.value or args.values)
    if given and (args.format in ("numpy", "jax", "torch") or args.document):
        raise UsageError("--value and --values need --format text, latex or json, without "
                         "--document (the generated code takes the values as arguments)")
    dims = verify_dims(args.verify_dims) if args.verify else None
    _, derivs, shapes = derive(_expression(args.expression), _shapes(args.shape),
                               args.dialect, args.wrt, args.order, _simplify_option(args),
                               args.symmetric_gradient)
    values = _given_values(args, shapes) if given else None
    if values is not None:
        for d in derivs:
            _check_point(d, values)
    if args.document:  # one document for all the derivatives, with the checks in it
        from .printing.document import derivative_document
        reports = [d.verify(dims=dims) for d in derivs] if dims else None
        out.print(derivative_document(derivs, args.layout, args.steps, reports,
                                      style=args.style), end="")
        return 0 if all(reports or ()) else 1
    _show(derivs, args, out, values)
    return _verify(derivs, dims, args, out) if dims else 0


def _check_point(d, values: dict) -> None:
    """--value: every variable the derivative needs has a value (a UsageError naming
    those missing, with the shape of each variable)."""
    from .core.shapes import describe_var
    from .printing.report import derivative_name
    missing = [v.name for v in d.variables if v.name not in values]
    if missing:
        needs = ", ".join(f"{v.name}: {describe_var(v.shape, v.structure)}"
                          for v in d.variables)
        raise UsageError(f"no value for {', '.join(missing)}: the value of "
                         f"{derivative_name(d)} needs one for every variable ({needs}); "
                         f"give each with --value NAME=VALUES or --values FILE.npz")


def _simplify_option(args):
    if args.no_simplify:
        return False
    return "sympy" if args.sympy_simplify else True


def _show(derivs, args, out: _Output, values=None) -> None:
    """The derivatives in the --format asked for, with --steps, and with ``values``
    (--value) their values there."""
    fmt, layout = args.format, args.layout
    for i, d in enumerate(derivs):
        if i:
            out.print()
        if fmt in ("numpy", "jax", "torch"):
            out.print(d.to_code(target=fmt, form=args.code, check=args.check), end="")
        elif fmt == "json":
            out.print(_json(d.to_dict(layout=layout, values=values), i, len(derivs)))
        elif fmt == "latex":
            if args.steps:  # one align* block: the derivation, ending with the result
                from .printing.steps import render_steps
                out.print(render_steps(d, layout, "latex", result=True, style=args.style))
            else:
                out.print(d.latex(layout=layout, style=args.style))
            if values is not None:
                from .printing.values import value_latex
                out.print(value_latex(d, values, d.evaluate(values), layout))
            if args.index:
                out.print(_index_latex(d))
        else:
            if args.steps:
                out.print(d.steps_text(layout=layout, fmt="ascii" if args.ascii else "unicode"))
            # --index: the index form for every derivative (a differential has it anyway)
            # --ascii: the input language of --dialect
            out.print(d.report(layout=layout, ascii=args.ascii and args.dialect,
                               index=args.index or None,
                               values=values))


def _index_latex(d) -> str:
    """--format latex --index: the index form as a LaTeX line (a LaTeX comment when the
    form is beyond its budget of terms)."""
    from .printing.index import index_latex
    try:
        return index_latex(d.index_form())
    except LimitError as err:
        return f"% index notation not shown: {err}"


def _json(data: dict, i: int, count: int) -> str:
    """One derivative's data as JSON; with several, item i of a JSON list."""
    import json
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if count == 1:
        return text
    text = "\n".join("  " + line for line in text.splitlines())
    return ("[\n" if i == 0 else "") + text + ("," if i < count - 1 else "\n]")


def _verify(derivs, dims: tuple, args, out: _Output) -> int:
    """--verify: one line per check (on stderr when stdout carries JSON or code);
    1 if any check fails."""
    to_stderr = args.format not in ("text", "latex")
    failed = False
    for d in derivs:
        out.print(f"verify {verify_name(d)}:", err=to_stderr)
        for check in d.verify(dims=dims):
            out.print(f"  {check.line()}", err=to_stderr)
            failed = failed or check.status == "fails"  # undecided is not a failure
    return 1 if failed else 0


def _cmd_serve(args, out: _Output) -> int:
    from .web import serve
    try:
        serve(args.host, args.port, args.open, args.workers, args.cache,
              announce=lambda line: print(line, flush=True))
    except KeyboardInterrupt:  # Ctrl-C: the way to stop it, once it has shut down
        pass
    return 0


def _port(text: str) -> int:
    if re.fullmatch(r"[0-9]{1,5}", text) and int(text) <= 65535:
        return int(text)
    raise argparse.ArgumentTypeError(f"bad port {quote(text)}: a number from 0 to 65535")


def _workers(text: str) -> int:
    if re.fullmatch(r"[0-9]{1,2}", text) and 1 <= int(text) <= 64:
        return int(text)
    raise argparse.ArgumentTypeError(f"bad number of workers {quote(text)}: 1 to 64")


def _cache(text: str) -> int:
    if re.fullmatch(r"[0-9]{1,6}", text):
        return int(text)
    raise argparse.ArgumentTypeError(f"bad cache size {quote(text)}: 0 to 999999 answers")


COMMANDS = {"parse": _cmd_parse, "eval": _cmd_eval, "diff": _cmd_diff, "serve": _cmd_serve}


# --------------------------------------------------------------------- main

def _negations_as_expressions(argv: Sequence[str]) -> list[str]:
    """``matcalc parse "-x"``: an argument that starts with a single ``-`` (and is not
    ``-h`` or ``-`` alone) is an expression or a value, not an option; argparse would
    take it for an option, so it is marked (and the mark removed after parsing)."""
    return [_MARK + a if a.startswith("-") and a not in ("-", "-h") and not a.startswith("--")
            else a for a in argv]


def _parse_arguments(parser, argv: list[str]) -> argparse.Namespace:
    try:
        args = parser.parse_args(_negations_as_expressions(argv))
    except UsageError as err:
        err.message += _dash_dash_hint(parser, argv)
        raise
    for key, value in vars(args).items():
        if isinstance(value, str):
            setattr(args, key, _unmark(value))
        elif isinstance(value, list):
            setattr(args, key, [_unmark(v) if isinstance(v, str) else v for v in value])
    _check_unicode(args)
    return args


def _dash_dash_hint(parser, argv: list[str]) -> str:
    """argparse reads an expression that starts with -- (--x) as an option: say how to
    give one."""
    options = parser.option_names
    for a in argv:
        if a == "--":
            break
        name = a.split("=", 1)[0]
        if a.startswith("--") and name not in options and \
                len([o for o in options if o.startswith(name)]) != 1:
            command = argv[0] if argv[0] in COMMANDS else "COMMAND"
            return (f"; an expression that starts with -- goes last, after --, e.g. "
                    f"matcalc {command} [options] -- {quote(a)}")
    return ""


def _check_unicode(args) -> None:
    """Arguments made from bytes that are not UTF-8 hold lone surrogates, which no
    output can encode: refuse them here. The --values file name may hold them (open()
    gives the bytes back)."""
    for key, value in vars(args).items():
        if key == "values":
            continue
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    raise UsageError(f"the argument {quote(text)} is not UTF-8 text") from None


def _tolerant_streams() -> None:
    """An output that cannot encode a character (∂ on an ASCII terminal) shows it as
    \\u2202 instead of failing. Here, not at import: importing matcalc changes nothing."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):  # not a TextIOWrapper
            pass


def _fail(message: str, status: int = 2) -> int:
    print(f"matcalc: {message}", file=sys.stderr)
    return status


def _quiet_broken_pipe() -> None:
    """The reader went away (matcalc ... | head): send what is left to /dev/null, so that
    Python does not complain at exit when it flushes stdout."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (AttributeError, ValueError, OSError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    _tolerant_streams()
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            args = _parse_arguments(parser, argv)
        except SystemExit as done:  # --help, --version: printed; a status, not an exit
            return done.code if isinstance(done.code, int) else 0
        if args.command is None:
            parser.print_help()
            return 2
        with limits.override(**_limit_changes(getattr(args, "limit", []))), command_line() as warned:
            out = _Output()
            try:
                status = COMMANDS[args.command](args, out)
            finally:  # the warnings, also those that may explain an error
                for message in warned:
                    print(f"matcalc: warning: {message}", file=sys.stderr)
            if warned and getattr(args, "strict", False):
                return 2
            out.write()
        return status
    except MatcalcError as err:
        return _fail(f"{err.kind}: {err}")
    except RecursionError:
        return _fail("error: the expression is nested too deeply")
    except MemoryError:
        return _fail("limit exceeded: the input needs more memory than is available; lower "
                     "a budget so that it is refused earlier, e.g. --limit max_elements=1000000")
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:
        _quiet_broken_pipe()
        return 0
    except Exception as err:  # a bug: say so, in one line, with its own exit status
        return _fail(f"internal error: {type(err).__name__}: {_shorten(one_line(str(err)))} "
                     f"(please report it)", 3)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
