"""docs/rules.md is generated from the tables (``JVPS`` and the ``Op`` registry) by
``python -m matcalc.rules_doc``: the page must be what the tables give now,
and every node kind and every registered function must have its section."""
from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pytest

from matcalc.calculus.jvp import JVPS
from matcalc.core import expr as E
from matcalc.core.expr import NODE_KINDS
from matcalc.ops import REGISTRY, Op, register, unregister
from matcalc import rules_doc
from matcalc.rules_doc import (COMMAND, command_line, example_argv, rules_markdown,
                                        shell_quote)

PAGE = Path(__file__).resolve().parent.parent / "docs" / "rules.md"


@pytest.fixture(scope="module")
def generated() -> str:
    return rules_markdown()


def test_page_is_generated_from_the_tables(generated):
    assert rules_doc.PAGE == PAGE
    page = PAGE.read_text(encoding="utf-8")
    if page != generated:
        import difflib
        diff = "".join(list(difflib.unified_diff(
            page.splitlines(True), generated.splitlines(True), "docs/rules.md",
            "rules_markdown()"))[:60])
        pytest.fail(f"docs/rules.md is not what the tables give: run `{COMMAND}` "
                    f"(and read the diff before committing it)\n{diff}")


def test_every_node_kind_has_a_section(generated):
    assert set(JVPS) == set(NODE_KINDS)
    for kind in NODE_KINDS:
        rule = JVPS[kind]
        assert f"\n### {rule.name} (`{kind.__name__}`)\n" in generated, kind.__name__


def test_every_registered_op_has_a_section(generated):
    assert REGISTRY
    for name, op in REGISTRY.items():
        assert f"\n### `{name}`: {op.rule}\n" in generated, name


def test_every_record_documents_where_it_applies_and_shows_an_example():
    for kind, rule in JVPS.items():
        assert rule.applies, kind.__name__
        assert rule.example == () or len(rule.example) == 2, kind.__name__
    for name, op in REGISTRY.items():
        assert op.applies, name
        assert len(op.example) == 2 and all(op.example), name
        assert op.text in op.example[0], name  # the example shows the function


def test_intro_says_where_the_tables_are(generated):
    intro = generated.split("## Node rules")[0]
    for where in ("matcalc/calculus/jvp.py", "matcalc/ops/", "`differential`", COMMAND):
        assert where in intro
    for stale in ("matcalc/rules.py", "matcalc/functions.py", "matcalc/diff.py"):
        assert stale not in generated


def test_examples_are_commands_the_doc_test_runs(generated):
    # every example is a `matcalc diff` line test_docs.py will run, and it splits back
    # into the arguments the generator ran in-process
    for kind, rule in JVPS.items():
        if rule.example:
            argv = example_argv(*rule.example)
            line = command_line(argv)
            assert f"```\n{line}\n" in generated
            assert shlex.split(line, comments=True)[1:] == argv


def _cube() -> Op:
    return Op(name="cubed", arity=1, category="elementwise",
              shape=lambda args: (args, args[0].shape), numpy=lambda x: np.power(x, 3),
              rule="cube (element-wise)", doc="d cubed(x) = 3 x² ⊙ dx",
              derivative=lambda x: E.mul(E.constant(3, x.shape), E.power(x, E.num(2))),
              code={"*": "{p0} ** 3"}, sympy_scalar=lambda sp, z: z ** 3,
              applies="a test function", example=('cubed(x) + sum(x)', "x"))


def test_a_function_registered_at_run_time_has_its_section():
    register(_cube())
    try:
        text = rules_markdown()
        section = text.split("### `cubed`: cube (element-wise)\n", 1)[1].split("\n### ")[0]
        assert "- **Statement:** `d cubed(x) = 3 x² ⊙ dx`" in section
        assert "- **Applies to:** a test function" in section
        assert '\nmatcalc diff "cubed(x) + sum(x)" --wrt x\n∂f/∂x = ' in section
        assert "rule: element-wise binary operation (sum rule) with scalar expansion" in section
    finally:
        unregister("cubed")
    assert "cubed" not in rules_markdown()


def test_an_op_without_applies_gets_its_category():
    op = _cube()
    object.__setattr__(op, "applies", "")
    object.__setattr__(op, "example", ())
    register(op)
    try:
        section = rules_markdown().split("### `cubed`:", 1)[1].split("\n### ")[0]
        assert "- **Applies to:** elementwise function\n" in section
        assert "```" not in section
    finally:
        unregister("cubed")


@pytest.mark.parametrize("text, quoted", [
    ("x", '"x"'),
    ("x' @ y", '"x\' @ y"'),
    ("[a^2, 3*a]", '"[a^2, 3*a]"'),
    ('f("x")', "'f(\"x\")'"),
    ("a $HOME", "'a $HOME'"),
    ("a `b`", "'a `b`'"),
    ("a\\b", "'a\\b'"),
    ("it's \"q\"", "'it'\"'\"'s \"q\"'"),
])
def test_shell_quote(text, quoted):
    assert shell_quote(text) == quoted
    assert shlex.split(f"matcalc diff {quoted}", comments=True) == ["matcalc", "diff", text]


def test_shell_quote_refuses_a_line_break():
    with pytest.raises(ValueError):
        shell_quote("a\nb")


def test_an_expression_that_starts_with_dashes_goes_after_them():
    argv = example_argv("--x", "x")
    assert argv == ["diff", "--wrt", "x", "--", "--x"]
    assert command_line(argv) == 'matcalc diff --wrt x -- "--x"'


def test_check_mode(capsys):
    assert rules_doc.main(["--check"]) == 0
    assert rules_doc.main(["--bogus"]) == 2
