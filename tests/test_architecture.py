"""The architecture's promises (docs/design.md), checked on the source itself:

- one place per operation: no function of the language is named by a string outside
  ``matcalc/ops/`` (its records and the grammar's alias table);
- every node kind has its rule in the JVP table, and a method in every interpreter
  and printer;
- no module-level import cycle;
- importing matcalc changes nothing in the process (the recursion limit);
- a 10,000-deep expression parses, derives, prints and generates code.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import matcalc
from matcalc import ops
from matcalc.backends.codegen import _Gen
from matcalc.backends.numeric import Evaluator
from matcalc.backends.verify import SymEvaluator
from matcalc.calculus.jvp import JVPS
from matcalc.core import expr as E
from matcalc.printing.latex import LatexPrinter, to_latex
from matcalc.printing.text import AsciiPrinter, UnicodePrinter, to_text, to_unicode
from threads import on_a_small_stack

PACKAGE = Path(matcalc.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    """matcalc's modules by dotted name (a package by its own name)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _names_of_functions() -> set[str]:
    """The functions' names and their spelled aliases (not the symbols σ and ∑, which
    printers write as mathematics; not the constants eye/ones/zeros, which are nodes)."""
    return set(ops.REGISTRY) | set(ops.SUGAR) | {a for a in ops.ALIASES if a.isascii()}


def test_no_function_is_named_outside_ops():
    names = _names_of_functions()
    found = []
    for mod, path in MODULES.items():
        if mod == "matcalc.ops" or mod.startswith("matcalc.ops."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value in names:
                found.append(f"{mod}:{node.lineno}: {node.value!r}")
            if isinstance(node, ast.Attribute) and node.attr == "fn":
                found.append(f"{mod}:{node.lineno}: .fn (compare the record, node.op)")
    assert not found, "function names outside matcalc/ops:\n" + "\n".join(found)


def _module_imports(mod: str, path: Path) -> set[str]:
    """The matcalc modules ``mod`` imports at module level (not inside functions)."""
    is_package = path.name == "__init__.py"
    here = mod.split(".") if is_package else mod.split(".")[:-1]
    out = set()
    for stmt in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(stmt, ast.Import):
            out |= {a.name for a in stmt.names if a.name in MODULES}
        elif isinstance(stmt, ast.ImportFrom):
            if stmt.level:
                base = here[:len(here) - (stmt.level - 1)]
                base = ".".join(base + ([stmt.module] if stmt.module else []))
            else:
                base = stmt.module or ""
            for a in stmt.names:
                target = f"{base}.{a.name}"
                out.add(target if target in MODULES else base)
    return {m for m in out if m in MODULES and m != mod}


def test_no_module_level_import_cycle():
    graph = {m: _module_imports(m, p) for m, p in MODULES.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(start):
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(graph[nxt]))))
                path.append(nxt)

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "module-level import cycles:\n" + "\n".join(
        " -> ".join(c) for c in cycles)


def test_the_layers_point_one_way():
    """core does not import ops, calculus, backends or printing; ops not calculus,
    backends or printing; calculus not backends or printing; backends not printing;
    nothing the CLI (at module level)."""
    below = {"matcalc.core": ("matcalc.ops", "matcalc.calculus", "matcalc.backends",
                              "matcalc.printing", "matcalc.parser", "matcalc.cli"),
             "matcalc.ops": ("matcalc.calculus", "matcalc.backends", "matcalc.printing",
                             "matcalc.parser", "matcalc.cli"),
             "matcalc.calculus": ("matcalc.backends", "matcalc.printing", "matcalc.cli"),
             "matcalc.backends": ("matcalc.printing", "matcalc.cli"),
             "matcalc.printing": ("matcalc.cli",)}
    wrong = []
    for mod, path in MODULES.items():
        for layer, forbidden in below.items():
            if mod == layer or mod.startswith(layer + "."):
                for t in _module_imports(mod, path):
                    if t.startswith(forbidden):
                        wrong.append(f"{mod} imports {t}")
    assert not wrong, "\n".join(wrong)


def test_every_node_kind_has_a_rule():
    assert set(JVPS) == set(E.NODE_KINDS)


@pytest.mark.parametrize("cls, prefix", [
    (Evaluator, "_eval_"), (SymEvaluator, "_eval_"), (_Gen, "_eval_"),
    (AsciiPrinter, "_print_"), (UnicodePrinter, "_print_"), (LatexPrinter, "_print_"),
], ids=lambda x: getattr(x, "__name__", x))
def test_every_interpreter_and_printer_knows_every_node_kind(cls, prefix):
    missing = [k.__name__ for k in E.NODE_KINDS if not hasattr(cls, prefix + k.__name__)]
    assert not missing, f"{cls.__name__} lacks " + ", ".join(prefix + m for m in missing)


def test_every_registered_op_is_complete():
    for op in ops.REGISTRY.values():
        assert ops.registry.missing_fields(op) == [], op.name


def test_import_changes_nothing():
    code = ("import sys; r = sys.getrecursionlimit(); import matcalc, matcalc.cli; "
            "matcalc.diff('sum(exp(x))', 'x').text(); print(r == sys.getrecursionlimit())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "True"


def test_ten_thousand_deep_expression_end_to_end():
    """Parsed, derived (the chain rule is linear in depth), printed and generated, at
    the default recursion limit and on a small stack."""
    text = "sum(" + "sin(" * 10000 + "x" + ")" * 10000 + ")"

    def run():
        f = matcalc.parse(text)
        assert f.depth > 10000
        assert matcalc.parse(to_text(f)) is f
        assert to_unicode(f).count("sin") == 10000
        assert to_latex(f).count(r"\sin") == 10000
        d = matcalc.diff(f, "x")
        assert E.count_nodes(d.expr) < 40000  # shared: linear in the depth
        source = d.to_code()
        compile(source, "<generated>", "exec")
        x = np.array([0.3, -0.2])
        want = np.ones(2)
        v = x.copy()
        for _ in range(10000):
            want *= np.cos(v)
            v = np.sin(v)
        np.testing.assert_allclose(d.evaluate({"x": x}), want, rtol=1e-9)
        scope: dict = {}
        exec(source, scope)  # noqa: S102 - our own generated code
        fn = next(v for k, v in scope.items() if k.startswith("d") and callable(v))
        np.testing.assert_allclose(fn(x), want, rtol=1e-9)
    on_a_small_stack(run)
