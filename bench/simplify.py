"""Derive time with and without the rule-based simplifier, and with the SymPy pass.

    python bench/simplify.py [--repeat 7] [--sympy]

For each expression: the median time of ``matcalc.diff`` (interleaved runs, one BLAS
thread is irrelevant here: this is pure Python) with ``simplify=False`` and with the
default rule-based pass, their ratio, and the size of the result (tree nodes) both
ways. ``--sympy`` adds the opt-in SymPy pass (``simplify="sympy"``). The same
script runs on an older checkout, which is how docs/simplify.md's before/after
figures were taken.
"""
from __future__ import annotations

import argparse
import statistics
import time

import matcalc
from matcalc.core import expr as E

CASES = [
    ("-y'@log(softmax(W@x + b))", "W", {"b": ("m",)}, 1),
    ("sum(log(1 + exp(-y*(X@w))))", "w", None, 1),
    ("sum(log(1 + exp(-y*(X@w))))", "w", None, 2),
    ("-mean(y*log(sigmoid(X@w)) + (1-y)*log(1-sigmoid(X@w)))", "w", None, 1),
    ("logsumexp(A@x + z)", "x", {"z": ("m",)}, 2),
    ("norm2(X@w - y)^2 + c*norm2(w)^2", "w", None, 2),
    ("norm2(X - mean(X))^2", "X", None, 1),
    ("(x - mu)'@inv(S)@(x - mu)", "S", {"mu": ("n",)}, 1),
    ("mean((y - max(0, X@w + b))^2)", "w", None, 1),
    ("x'@A@x", "x", None, 1),
    ("tr(A@X@B)", "X", None, 1),
    ("sum(tanh(W2@tanh(W1@x + b1) + b2))", "W1", None, 1),
]


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--sympy", action="store_true", help="also time simplify='sympy'")
    args = ap.parse_args(argv)
    modes = [False, True] + (["sympy"] if args.sympy else [])
    head = f"{'expression':58} {'ord':>3} {'raw ms':>8} {'rules ms':>9} {'ratio':>6} " \
           f"{'nodes raw→rules':>16}" + (f" {'sympy ms':>9} {'nodes':>6}" if args.sympy else "")
    print(head)
    totals = {m: 0.0 for m in modes}
    for text, wrt, shapes, order in CASES:
        ms = {}
        for m in modes:
            matcalc.diff(text, wrt, shapes, order=order, simplify=m)  # warm: imports
        runs = {m: [] for m in modes}
        for _ in range(args.repeat):  # interleaved, so drift hits every mode alike
            for m in modes:
                t = time.perf_counter()
                matcalc.diff(text, wrt, shapes, order=order, simplify=m)
                runs[m].append(time.perf_counter() - t)
        ms = {m: 1000 * statistics.median(r) for m, r in runs.items()}
        for m in modes:
            totals[m] += ms[m]
        raw = matcalc.diff(text, wrt, shapes, order=order, simplify=False).expr
        rule = matcalc.diff(text, wrt, shapes, order=order).expr
        line = f"{text[:58]:58} {order:>3} {ms[False]:8.2f} {ms[True]:9.2f} " \
               f"{ms[True] / ms[False]:6.2f} {E.tree_size(raw):>7} → {E.tree_size(rule):<6}"
        if args.sympy:
            sy = matcalc.diff(text, wrt, shapes, order=order, simplify="sympy").expr
            line += f" {ms['sympy']:9.1f} {E.tree_size(sy):>6}"
        print(line)
    print(f"{'total':58} {'':>3} {totals[False]:8.2f} {totals[True]:9.2f} "
          f"{totals[True] / totals[False]:6.2f}"
          + (f" {'':16} {totals['sympy']:9.1f}" if args.sympy else ""))


if __name__ == "__main__":
    main()
