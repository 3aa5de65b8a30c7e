"""Helpers of the web tests, importable by name from a spawned worker process."""
from __future__ import annotations

import time

from matcalc.web.api import answer


def stuck_answer(req, budgets):
    """:func:`matcalc.web.api.answer`, except that the expression ``stuck()`` blocks in
    one long C call (time.sleep), which no time budget inside the worker can
    interrupt: only the pool's kill can end it."""
    if req.get("expression") == "stuck()":
        time.sleep(600)
    return answer(req, budgets)


def deep(k: int, var: str = "x") -> str:
    """``sum(tanh(W@tanh(W@...x)))`` with k layers."""
    e = var
    for _ in range(k):
        e = f"tanh(W@{e})"
    return f"sum({e})"
