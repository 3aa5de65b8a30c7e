"""The ``matcalc`` command. Any MatcalcError becomes one message on stderr and exit 2."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .errors import MatcalcError, UsageError

EXAMPLES = """examples:
  matcalc parse "W@x + b"
  matcalc eval "x'@A@x" --value x=1,2 --value "A=1,2;3,4"
  matcalc diff "sum(w*x+b)" --wrt w
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a MatcalcError (one line, exit 2)."""

    def error(self, message: str):
        message = message.replace(_MARK, "")
        raise UsageError(f"{message} (see {self.prog} --help)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("expression", help="the expression, or - to read it from standard input")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=DIMS",
                   help="declare a shape: x=n, W=m,n, W=mxn, W=3,4, b=scalar (repeatable)")
    p.add_argument("--dialect", choices=("default", "matlab"), default="default",
                   help="input language: default (NumPy-like) or matlab (matrixcalculus.org)")


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
    p.add_argument("--value", action="append", default=[], metavar="NAME=VALUES",
                   help="a value: b=2, x=1,2,3, A=1,2;3,4 (rows split by ;), x=5, "
                        "(a vector of length 1), A=1,2; (a matrix of one row) (repeatable)")
    p.add_argument("--values", metavar="FILE.npz", help="values from a NumPy .npz file")

    p = sub.add_parser("diff", help="differentiate the expression")
    _common(p)
    p.add_argument("--wrt", action="append", required=True, metavar="VAR",
                   help="the variable to differentiate by (repeatable)")
    p.add_argument("--order", type=int, default=1, choices=(1, 2),
                   help="1: gradient/Jacobian; 2: Hessian of a scalar")
    p.add_argument("--layout", choices=("numerator", "denominator", "mixed"),
                   default="numerator", help="how to show it (numerator: the paper's)")
    p.add_argument("--ascii", action="store_true", help="print in the input language")
    p.add_argument("--format", choices=("text", "latex", "json", "numpy", "jax", "torch"),
                   default="text",
                   help="text: the derivative; latex: LaTeX math; json: everything as JSON "
                        "(docs/cli.md); numpy, jax, torch: Python code computing it")
    p.add_argument("--steps", action="store_true",
                   help="also print the derivation, one numbered step per rule applied")
    p.add_argument("--document", action="store_true",
                   help="with --format latex: a complete .tex document")
    p.add_argument("--verify", action="store_true",
                   help="prove the derivative with SymPy on small sizes and check it by "
                        "finite differences; exit 1 if a check fails")
    p.add_argument("--verify-dims", default="2,3", metavar="N,M",
                   help="sizes given to the symbolic dimensions by --verify (default 2,3)")
    p.add_argument("--no-simplify", action="store_true",
                   help="print the derivative as the chain rule builds it, not simplified")
    p.add_argument("--sympy-simplify", action="store_true",
                   help="also simplify scalar derivatives with SymPy (docs/simplify.md)")
    return parser


def _shapes(specs: Sequence[str]) -> dict:
    out = {}
    for spec in specs:
        name, eq, dims = spec.partition("=")
        if not eq or not name.strip():
            raise UsageError(f"bad --shape {spec!r}: write NAME=DIMS, e.g. W=m,n or b=scalar")
        out[name.strip()] = dims
    return out


_MARK = "\x00"


def _expression(text: str) -> str:
    text = text[len(_MARK):] if text.startswith(_MARK) else text
    if text == "-":
        return sys.stdin.read().strip()
    return text


def _values(specs: Sequence[str], npz: str | None) -> dict:
    import numpy as np
    out: dict = {}
    if npz:
        try:
            with np.load(npz) as data:
                out.update({k: data[k] for k in data.files})
        except (OSError, ValueError) as err:
            raise UsageError(f"cannot read values from {npz}: {err}") from None
    for spec in specs:
        name, eq, text = spec.partition("=")
        if not eq or not name.strip():
            raise UsageError(f"bad --value {spec!r}: write NAME=VALUES, e.g. x=1,2,3")
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
            raise UsageError(f"bad --value {spec!r}: the values must be numbers") from None
        if ";" in text:
            if len({len(r) for r in rows}) != 1:
                raise UsageError(f"bad --value {spec!r}: the rows have different lengths")
            out[name.strip()] = np.array(rows)
        elif len(rows[0]) == 1 and "," not in text:
            out[name.strip()] = np.array(rows[0][0])
        else:
            out[name.strip()] = np.array(rows[0])
    return out


def _cmd_parse(args) -> int:
    from . import expr as E
    from .parser import parse
    from .printing.text import to_text, to_unicode
    from .shapes import describe
    e = parse(_expression(args.expression), _shapes(args.shape), args.dialect)
    print(to_text(e) if args.ascii else to_unicode(e))
    for v in E.variables(e):
        print(f"  {v.name}: {describe(v.shape)}")
    print(f"  result: {describe(e.shape)}")
    return 0


def _cmd_eval(args) -> int:
    import numpy as np
    from .evaluate import evaluate
    # the text, not the parsed expression: a variable the algebra removed (x - x)
    # still gives the sizes of its dimensions
    value = evaluate(_expression(args.expression), _values(args.value, args.values),
                     _shapes(args.shape), args.dialect)
    with np.printoptions(precision=10, suppress=True):
        print(value if value.ndim else repr(float(value)))
    return 0


def _cmd_diff(args) -> int:
    from .derivative import diff
    from .parser import parse
    e = parse(_expression(args.expression), _shapes(args.shape), args.dialect)
    for i, wrt in enumerate(args.wrt):
        d = diff(e, wrt, order=args.order, simplify=_simplify_option(args))
        if i:
            print()
        fmt = getattr(args, "format", "text")
        if fmt in ("numpy", "jax", "torch"):
            print(d.to_code(target=fmt), end="")
            continue
        if _print_people(d, args, fmt, i, len(args.wrt)):
            continue
        print(d.report(layout=args.layout, ascii=args.ascii))
    if getattr(args, "verify", False):
        return _verify(e, args)
    return 0


def _simplify_option(args):
    if getattr(args, "no_simplify", False):
        return False
    return "sympy" if getattr(args, "sympy_simplify", False) else True


def _verify(e, args) -> int:
    """--verify: one line per check (on stderr when stdout carries JSON or code);
    1 if any check fails."""
    from .derivative import diff
    try:
        dims = tuple(int(x) for x in args.verify_dims.split(","))
        if not dims or min(dims) < 1:
            raise ValueError
    except ValueError:
        raise UsageError(f"bad --verify-dims {args.verify_dims!r}: write sizes like 2,3")
    out = sys.stdout if getattr(args, "format", "text") in ("text", "latex") else sys.stderr
    failed = False
    for wrt in args.wrt:
        d = diff(e, wrt, order=args.order, simplify=_simplify_option(args))
        print(f"verify d/d{wrt}:", file=out)
        for check in d.verify(dims=dims):
            print(f"  {check.line()}", file=out)
            failed = failed or check.status == "fails"  # undecided is not a failure
    return 1 if failed else 0


def _print_people(d, args, fmt: str, i: int, count: int) -> bool:
    """--format latex / json, --steps and --document (output for people); False when the
    plain report is wanted."""
    steps = getattr(args, "steps", False)
    if getattr(args, "document", False):
        if fmt != "latex":
            raise UsageError("--document needs --format latex")
        if i == 0:  # one document for all the --wrt derivatives
            from .derivative import diff
            from .parser import parse
            from .printing.latex import derivative_document
            e = parse(_expression(args.expression), _shapes(args.shape), args.dialect) \
                if args.expression != "-" else d.f
            derivs = [d] + [diff(e, w, order=args.order) for w in args.wrt[1:]]
            print(derivative_document(derivs, args.layout, steps), end="")
        return True
    if fmt == "json":
        import json
        if count == 1:
            print(d.to_json(layout=args.layout))
        else:  # a JSON list of the derivatives, one per --wrt
            text = json.dumps(d.to_dict(layout=args.layout), indent=2, ensure_ascii=False)
            text = "\n".join("  " + line for line in text.splitlines())
            print(("[\n" if i == 0 else "") + text + ("," if i < count - 1 else "\n]"))
        return True
    if fmt == "latex":
        print(d.latex(layout=args.layout))
        if steps:
            print(d.steps_text(layout=args.layout, fmt="latex"))
        return True
    if steps:
        print(d.steps_text(layout=args.layout, fmt="ascii" if args.ascii else "unicode"))
        print(d.report(layout=args.layout, ascii=args.ascii))
        return True
    return False


def _negations_as_expressions(argv: Sequence[str]) -> list[str]:
    """``matcalc parse "-x"``: an argument that starts with a single ``-`` (and is not
    ``-h`` or ``-`` alone) is an expression, not an option; argparse would take it for
    an option, so it is marked (``_expression`` removes the mark)."""
    return [_MARK + a if a.startswith("-") and a not in ("-", "-h") and not a.startswith("--")
            else a for a in argv]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        argv = _negations_as_expressions(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return {"parse": _cmd_parse, "eval": _cmd_eval, "diff": _cmd_diff}[args.command](args)
    except MatcalcError as err:
        print(f"matcalc: {err.kind}: {err}", file=sys.stderr)
        return 2
    except RecursionError:
        print("matcalc: error: the expression is nested too deeply", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("matcalc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
