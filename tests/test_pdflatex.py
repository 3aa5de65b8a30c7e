"""Documents compiled by a real TeX engine: ``--document`` and ``--steps --document``
for every worked example of the paper and the Matrix Cookbook identities of the golden
tables, and ``--steps --format latex`` on its own in a minimal document, each with no
error and no overfull line. Also the line breaker's width estimate against pdflatex's
own measure. Skipped where pdflatex is not installed (.ci/run installs TeX Live).

The documents of a table are compiled together, one per page (they share the
preamble of matcalc.printing.document), which keeps the run to a few pdflatex calls.
"""
import contextlib
import io
import re
import shutil
import subprocess

import pytest

import matcalc
from matcalc.cli import main
from matcalc.printing.latex import to_latex
from matcalc.printing.linebreak import LINE_WIDTH_EM, TEXT_WIDTH_EM, break_math, estimate_width
from test_golden import COOKBOOK_CASES, PAPER_CASES

PDFLATEX = shutil.which("pdflatex")
pytestmark = pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed "
                                "(TeX Live: .ci/run installs it with apt-get)")

BEGIN, END = "\\begin{document}\n", "\\end{document}\n"
MINIMAL = "\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n" + BEGIN
LONG = [  # beyond one line: the breaks are exercised
    ("sum(sigmoid(W@tanh(V@x + c) + b) * log(softmax(U@x)))", "V", {}),
    ("norm2(softmax(W@x) - y)^2 + logdet(A + x'@x*I)", "x", {}),
    ("norm2(A@x - y)^2", "x", {"order": "2"}),
    ("mean((y - max(0, X@w + b))^2)", "w", {"order": "2"}),
]


def _cli(*argv) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["diff", *argv]) == 0
    return out.getvalue()


def _flags(wrt, shapes, *extra) -> list:
    flags = ["--wrt", wrt, "--format", "latex", *extra]
    for name, dims in (shapes or {}).items():
        flags += ["--shape", f"{name}={','.join(map(str, dims)) or 'scalar'}"]
    return flags


def _compile(tmp_path, parts: list[tuple[str, str]], preamble: str) -> None:
    """Compile ``parts`` (label, body) as one document, a page each; fail with the
    labels of the parts that give an error or an overfull line."""
    lines, owner = preamble.splitlines(), []
    owner += [None] * len(lines)
    for label, body in parts:
        for line in (body + "\n\\clearpage").splitlines():
            lines.append(line)
            owner.append(label)
    lines.append(END.strip())
    (tmp_path / "doc.tex").write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    log = (tmp_path / "doc.log").read_text(encoding="latin-1")
    where = lambda n: owner[n - 1] if 0 < n <= len(owner) else "?"  # noqa: E731
    errors = re.findall(r"^! (.*)\n(?:.*\n)*?l\.(\d+)", log, re.M)
    assert proc.returncode == 0 and not errors, \
        [(where(int(n)), msg) for msg, n in errors] or log[-3000:]
    assert "Missing $" not in log
    overfull = re.findall(r"^Overfull \\hbox \(([0-9.]+)pt too wide\) .*?lines? (\d+)", log, re.M)
    assert not overfull, [(where(int(n)), f"{pt}pt") for pt, n in overfull]


def _documents(cases, *extra) -> list:
    parts = []
    for source, text, wrt, shapes, _ in cases:
        doc = _cli(text, *_flags(wrt, shapes, "--document", *extra))
        preamble, _, rest = doc.partition(BEGIN)
        parts.append((source, rest.rpartition(END)[0]))
    return preamble + BEGIN, parts


@pytest.mark.parametrize("steps", [False, True], ids=["document", "steps-document"])
@pytest.mark.parametrize("table", ["paper", "cookbook"])
def test_documents_compile_without_overfull_lines(tmp_path, table, steps):
    cases = PAPER_CASES if table == "paper" else COOKBOOK_CASES
    assert len(cases) >= 20
    preamble, parts = _documents(cases, *(["--steps"] if steps else []))
    _compile(tmp_path, parts, preamble)


def test_long_derivatives_break_within_the_page(tmp_path):
    parts = []
    for text, wrt, opts in LONG:
        extra = [f"--{k}={v}" for k, v in opts.items()]
        preamble, body = _documents([(text, text, wrt, None, None)], "--steps", *extra)
        parts += body
    assert any("\\begin{split}" in body for _, body in parts)
    _compile(tmp_path, parts, preamble)


def test_verify_in_the_document(tmp_path):
    doc = _cli("x'@A@x", "--wrt", "x", "--format", "latex", "--document", "--verify")
    assert "\\item numeric: max rel err" in doc
    preamble, _, rest = doc.partition(BEGIN)
    _compile(tmp_path, [("verify", rest.rpartition(END)[0])], preamble + BEGIN)


@pytest.mark.parametrize("table", ["paper", "cookbook"])
def test_steps_alone_compile_in_a_minimal_document(tmp_path, table):
    cases = PAPER_CASES if table == "paper" else COOKBOOK_CASES
    parts = [(source, _cli(text, *_flags(wrt, shapes, "--steps")))
             for source, text, wrt, shapes, _ in cases]
    _compile(tmp_path, parts, MINIMAL)


def _measure(tmp_path, strings: list[str]) -> list[float]:
    """pdflatex's widths of display math, in em (10 pt)."""
    body = "\n".join(f"\\settowidth{{\\w}}{{$\\displaystyle {s}$}}\\typeout{{W:\\the\\w}}"
                     for s in strings)
    (tmp_path / "w.tex").write_text(MINIMAL.replace(BEGIN, "\\newlength\\w\n" + BEGIN) +
                                    body + "\n" + END, encoding="utf-8")
    proc = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "w.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    widths = [float(w) / 10 for w in re.findall(r"W:([0-9.]+)pt", proc.stdout)]
    assert proc.returncode == 0 and len(widths) == len(strings), proc.stdout[-2000:]
    return widths


def test_width_estimate_against_pdflatex(tmp_path):
    """The estimate within 7% of the measure on the golden derivatives and their
    inputs (the margin LINE_WIDTH_EM leaves below the text width), within 3% on
    average."""
    strings = set()
    for _, text, wrt, shapes, _ in PAPER_CASES + COOKBOOK_CASES:
        d = matcalc.diff(text, wrt, shapes=shapes)
        strings |= {d.latex(), to_latex(d.f)}
    strings = sorted(s for s in strings if estimate_width(s) > 2)
    ratios = [estimate_width(s) / w for s, w in zip(strings, _measure(tmp_path, strings))]
    assert len(ratios) > 100
    assert all(abs(r - 1) < 1 - LINE_WIDTH_EM / TEXT_WIDTH_EM for r in ratios)
    assert abs(sum(ratios) / len(ratios) - 1) < 0.03


def test_broken_pieces_measure_within_the_line(tmp_path):
    """Each piece of a broken long derivative, measured by pdflatex, is within the
    width it was broken to (and the whole was not)."""
    pieces = []
    for text, wrt, opts in LONG[:2]:
        pieces += break_math(matcalc.diff(text, wrt).latex(), 20)
    widths = _measure(tmp_path, [re.sub(r"^\s*[+-]", "{}+", p) for p in pieces])
    assert len(pieces) >= 4
    assert max(widths) <= 20
