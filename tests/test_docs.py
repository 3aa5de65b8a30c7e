"""Every example in README.md and docs/*.md is run, and its output must be exactly
what the page shows.

The format of a page's examples (keep it simple, so this file can read it):

- In a fenced block not marked ``python``, a line starting with ``matcalc `` is a
  command; the lines after it, up to the next command or the end of the block, are
  its expected output (standard output, then standard error when it fails). Lines
  before a block's first command (``pip install ...``) are not run. A trailing
  ``# comment`` is ignored. A command followed directly by another command (no
  output shown) is only checked to succeed.
- A ```` ```python ```` block is executed (each block in a fresh namespace); its
  ``assert`` statements are the checks.

``python tests/test_docs.py --update`` rewrites the expected outputs in docs/*.md
from the real ones (then read the diff before you commit it).
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)


def blocks(text: str):
    """(language, body, start offset of body) of each fenced block."""
    for m in FENCE.finditer(text):
        yield m.group(1).strip(), m.group(2), m.start(2)


def commands(body: str):
    """(command line, expected output lines, index of the command line) in a block."""
    lines = body.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("matcalc "):
            out.append([line, [], i])
        elif out:
            out[-1][1].append(line)
    return [(c, exp, i) for c, exp, i in out]


def run(command: str) -> tuple[int, str]:
    args = shlex.split(command, comments=True)[1:]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1")
    # standard error merged as a terminal shows it: warnings appear in the examples
    proc = subprocess.run([sys.executable, "-m", "matcalc", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env, timeout=120)
    return proc.returncode, proc.stdout


def _cases():
    cmd_cases, py_cases = [], []
    for page in PAGES:
        if not page.exists():
            continue
        text = page.read_text(encoding="utf-8")
        for k, (lang, body, start) in enumerate(blocks(text)):
            line_no = text.count("\n", 0, start) + 1
            if lang == "python":
                py_cases.append(pytest.param(body, id=f"{page.name}:{line_no}"))
                continue
            for command, expected, i in commands(body):
                cmd_cases.append(pytest.param(command, expected,
                                              id=f"{page.name}:{line_no + i}"))
    return cmd_cases, py_cases


COMMANDS, PYTHON = _cases()


def test_examples_found():
    assert len(COMMANDS) >= 40 and len(PYTHON) >= 5


@pytest.mark.parametrize("command, expected", COMMANDS)
def test_command(command, expected):
    status, output = run(command)
    if not expected:
        assert status == 0, output
        return
    assert output.rstrip("\n").split("\n") == expected


@pytest.mark.parametrize("source", PYTHON)
def test_python_block(source, capsys):
    exec(compile(source, "<doc>", "exec"), {"__name__": "__doc_example__"})


MINE = ("tutorial.md", "rules.md", "cli.md", "api.md", "cookbook.md")


def update(names=MINE) -> None:
    """Rewrite the expected outputs of the pages ``names`` (in docs/) from the real ones."""
    for page in [ROOT / "docs" / n for n in names]:
        text = page.read_text(encoding="utf-8")
        pieces, pos = [], 0
        for lang, body, start in blocks(text):
            if lang == "python" or not commands(body):
                continue
            lines = body.splitlines()
            new = [ln for ln in lines[:commands(body)[0][2]]]
            for command, expected, _ in commands(body):
                new.append(command)
                status, output = run(command)
                new.extend(output.rstrip("\n").split("\n") if output.strip() else [])
            pieces.append(text[pos:start])
            pieces.append("\n".join(new) + "\n")
            pos = start + len(body)
        pieces.append(text[pos:])
        page.write_text("".join(pieces), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--update"]:
        update(sys.argv[2:] or MINE)
    else:
        sys.exit(pytest.main([__file__, "-q"]))
