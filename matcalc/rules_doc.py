"""docs/rules.md, written from the tables (a tool beside the CLI: it runs each example
through it): ``JVPS`` (one ``Rule`` per node kind, in
:mod:`matcalc.calculus.jvp`) and the ``Op`` registry (one record per function, in
:mod:`matcalc.ops`, with any function registered at run time).

Each section gives the rule's name, its mathematics (``doc``), where it applies
(``applies``) and, when the record has an ``example``, that derivative run through
the command-line interface in this process, so that the page shows the real output
(tests/test_docs.py runs the same commands as a subprocess and compares).

``python -m matcalc.rules_doc`` rewrites docs/rules.md;
``python -m matcalc.rules_doc --check`` only says whether it is up to date.
"""
from __future__ import annotations

import contextlib
import io
import re
import shlex
import sys
import textwrap
from pathlib import Path
from typing import Sequence

PAGE = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
COMMAND = "python -m matcalc.rules_doc"

INTRO = (
    f"Every rule matcalc applies, generated from the two tables in the source by "
    f"`{COMMAND}` (edit the tables, not this page): `JVPS` in "
    f"`matcalc/calculus/jvp.py` (one `Rule` per kind of node) and the registry of "
    f"`matcalc/ops/` (one `Op` record per function: `elementwise.py`, `reductions.py`, "
    f"`linalg.py`, and any function registered at run time, see "
    f"[extending.md](extending.md)). Each gives its *local* derivative only; the chain "
    f"rule that strings them together is written once (`differential` in "
    f"`matcalc/calculus/jvp.py`), and where a variable reaches the result along "
    f"several paths their contributions add up (the paper's total-derivative rule). "
    f"The rule's name is what `--steps` and the `rule:` line print; the mathematics "
    f"uses differentials (`d(u ⊙ v) = du ⊙ v + u ⊙ dv`), from which the Jacobian is "
    f"read off (`∂(w ⊙ x)/∂w = diag(x)`).",
    "Where a rule is named after a single-variable rule (`sum rule`, `product rule`), "
    "it is the same node applied to scalars; on vectors it is the paper's element-wise "
    "binary operation.",
)

# characters that keep their meaning inside double quotes in a POSIX shell (and !,
# history expansion in an interactive bash)
_DOUBLE_QUOTE_UNSAFE = re.compile(r'["$`\\!]')


def shell_quote(text: str) -> str:
    """``text`` as one shell word: in double quotes, as the docs write expressions,
    when nothing in it is special there; else quoted as :func:`shlex.quote` does."""
    if "\n" in text or "\r" in text:
        raise ValueError(f"an example cannot span lines: {text!r}")
    if text and not _DOUBLE_QUOTE_UNSAFE.search(text):
        return f'"{text}"'
    return shlex.quote(text)


def example_argv(expression: str, wrt: str) -> list[str]:
    """The arguments of ``matcalc`` for the derivative of ``expression`` by ``wrt``
    (an expression that starts with -- goes last, after --)."""
    if expression.startswith("--"):
        return ["diff", "--wrt", wrt, "--", expression]
    return ["diff", expression, "--wrt", wrt]


def command_line(argv: Sequence[str]) -> str:
    """``matcalc ...`` as the page shows it: the expression in double quotes when it
    can be, the other arguments quoted only when they need it."""
    at = len(argv) - 1 if "--" in argv else 1
    words = [shell_quote(a) if i == at else shlex.quote(a) for i, a in enumerate(argv)]
    return " ".join(["matcalc", *words])


def run_cli(argv: Sequence[str]) -> tuple[int, str]:
    """``matcalc argv`` in this process: its status, and its output as the shell shows
    it (standard output, then standard error when it fails)."""
    from .cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue() + (err.getvalue() if status else "")


def _code(text: str) -> str:
    """``text`` as a Markdown code span (longer fences when it holds backticks)."""
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _example(example: tuple, where: str) -> list[str]:
    """The fenced block of an example: the command and its real output."""
    if not example:
        return []
    if len(example) != 2 or not all(isinstance(s, str) and s for s in example):
        raise ValueError(f"{where}: example must be (expression, wrt), not {example!r}")
    argv = example_argv(*example)
    status, output = run_cli(argv)
    if status != 0:
        raise ValueError(f"{where}: the example {command_line(argv)} fails (exit status "
                         f"{status}): {output.strip()}")
    return ["```", command_line(argv), *output.rstrip("\n").split("\n"), "```", ""]


def _section(heading: str, doc: str, applies: str, example: tuple, where: str) -> list[str]:
    return [f"### {heading}", "",
            f"- **Statement:** {_code(doc)}",
            f"- **Applies to:** {applies}", "",
            *_example(example, where)]


def _default_applies(op) -> str:
    """Where an op applies when its record does not say: its category."""
    return f"{op.category} function" + ("" if op.smooth else " (not differentiable "
                                                              "everywhere)")


def _fill(text: str) -> str:
    return textwrap.fill(text, width=80, break_long_words=False, break_on_hyphens=False)


def node_sections() -> list[str]:
    from .calculus.jvp import JVPS
    lines = ["## Node rules", ""]
    for kind, rule in JVPS.items():
        lines += _section(f"{rule.name} (`{kind.__name__}`)", rule.doc, rule.applies or "",
                          rule.example, f"the rule of {kind.__name__}")
    return lines


def function_sections() -> list[str]:
    from .ops import REGISTRY
    kinked = [op.name for op in REGISTRY.values() if not op.smooth]
    intro = ("Element-wise functions have diagonal Jacobians (the paper's element-wise "
             "rule)")
    if kinked:
        intro += (f"; the non-smooth ones ({', '.join(f'`{n}`' for n in kinked)}) use the "
                  f"paper's convention at the kink (`max'(0) = 0`)")
    lines = ["## Function rules", "", _fill(intro + "."), ""]
    for op in REGISTRY.values():
        lines += _section(f"`{op.name}`: {op.rule}", op.doc, op.applies or _default_applies(op),
                          op.example, f"the op {op.name}")
    return lines


def sugar_section() -> list[str]:
    from .ops import ALIASES
    aliases = ", ".join(f"`{a}` is `{name}`" for a, name in ALIASES.items())
    text = ("`a - b` is `a + (-1)b`, `a / b` is `a ⊙ b⁻¹`, `dot(x, y)` is `xᵀy`, "
            "`diag(A)` of a matrix is its diagonal (`diagonal`)"
            + (f"; aliases: {aliases}" if aliases else "") + ".")
    return ["## Sugar (no rules of their own)", "", _fill(text)]


def rules_markdown() -> str:
    """The whole of docs/rules.md, from the tables as they are now."""
    lines = ["# Rules", ""]
    for paragraph in INTRO:
        lines += [_fill(paragraph), ""]
    lines += [*node_sections(), *function_sections(), *sugar_section()]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv not in ([], ["--check"]):
        print(f"usage: {COMMAND} [--check]", file=sys.stderr)
        return 2
    text = rules_markdown()
    current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else None
    if argv == ["--check"]:
        if current != text:
            print(f"{PAGE} is out of date: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    if current != text:
        PAGE.write_text(text, encoding="utf-8")
        print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
