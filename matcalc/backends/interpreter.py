"""The one interpreter of expressions: a post-order walk over the DAG with a memo,
dispatching each node to ``_eval_<Kind>(node, args)`` as SymPy's printers dispatch
``_print_<Kind>``. NumPy evaluation, explicit SymPy evaluation and code generation
subclass it; ``tests/test_architecture.py`` fails when one lacks a node kind.

A differential (an expression linear in a tangent ``dV``) is read column by column
with :meth:`Interpreter.columns`: the tangent takes each direction in turn, and only
the nodes that depend on it are computed again.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

from ..core import expr as E


class Interpreter:
    """Values of nodes, each computed once (shared sub-expressions are shared)."""

    def __init__(self, tangents: dict | None = None):
        self.tangents: dict = dict(tangents or {})
        self.memo: dict = {}
        self._methods: dict[type, Callable] = {}

    def value(self, root: E.Expr):
        """The value of ``root``: every node not computed yet is computed after its
        children, without recursion (a 10,000-deep expression is fine)."""
        memo = self.memo
        hit = memo.get(root, memo)
        if hit is not memo:
            return hit
        for node in self.pending(root):
            memo[node] = self.visit(node, [memo[a] for a in node.args])
        return memo[root]

    def visit(self, node: E.Expr, args: list):
        """One node's value from its children's: ``_eval_<Kind>``."""
        kind = type(node)
        method = self._methods.get(kind)
        if method is None:
            method = getattr(self, "_eval_" + kind.__name__, None)
            if method is None:
                raise TypeError(f"{type(self).__name__} has no _eval_{kind.__name__}")
            self._methods[kind] = method
        return method(node, args)

    def _eval_Add(self, node: E.Expr, args: list):
        """A sum: ``+`` means the same to NumPy and to SymPy."""
        out = args[0]
        for a in args[1:]:
            out = out + a
        return out

    def pending(self, root: E.Expr) -> list:
        """The nodes under ``root`` not in the memo, children first."""
        memo = self.memo
        order: list = []
        seen: set = set()
        stack: list = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif node not in seen and node not in memo:
                seen.add(node)
                stack.append((node, True))
                stack.extend((a, False) for a in reversed(node.args))
        return order

    def columns(self, root: E.Expr, tangent: E.Expr, directions: Iterable) -> Iterator:
        """The values of ``root`` (linear in ``tangent``) with the tangent set to each
        direction in turn: the differential applied to a basis, one column at a time."""
        order = E.postorder(root)
        lin: set = set()
        for n in order:  # the nodes that depend on the tangent
            if n is tangent or any(a in lin for a in n.args):
                lin.add(n)
        for d in directions:
            self.tangents[tangent] = d
            for n in lin:
                self.memo.pop(n, None)
            yield self.value(root)
