"""The architecture's costs, measured in one run (the targets of the architecture issue).

    python bench/architecture.py           # prints a table of figures
    python bench/architecture.py --smoke   # small sizes, for the tests

- parsing a small expression (``sum(w*x+b)``): time per parse, and its ratio to
  building the same tree with the constructors (the parser's own overhead);
- ``Derivative.evaluate`` on the depth-19 softmax chain
  ``sum(softmax(softmax(...(x))) * y)``, and its ratio to evaluating f itself;
- deriving k nested scalar functions ``sin(cos(sin(...x)))`` and a k-layer network:
  times at doubling k and the fitted exponent of time ~ k^p (p = 1: linear);
- generating code for the depth-20 softmax chain.
Times are the best of several runs (one process, one BLAS thread is irrelevant here:
no large arrays).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import matcalc  # noqa: E402
from matcalc import ops  # noqa: E402
from matcalc.core import expr as E  # noqa: E402


def best(fn, reps: int) -> float:
    out = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t)
    return out


def exponent(ks, times) -> float:
    """Least-squares slope of log(time) against log(k)."""
    xs = [math.log(k) for k in ks]
    ys = [math.log(t) for t in times]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def nested(k: int) -> str:
    s = "x"
    for i in range(k):
        s = f"{'sin' if i % 2 else 'cos'}({s})"
    return s


def network(k: int) -> str:
    h = "x"
    for i in range(k):
        h = f"tanh(W{i} @ {h} + b{i})"
    return f"sum({h})"


def softmax_chain(depth: int) -> str:
    return "sum(" + "softmax(" * depth + "x" + ")" * depth + " * y)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="small sizes, one repetition")
    args = ap.parse_args(argv)
    reps = 1 if args.smoke else 7
    rows = []

    # parsing
    text = "sum(w*x+b)"
    t_parse = best(lambda: matcalc.parse(text), 50 * reps)

    def build():
        w, x, b = E.var("w", ("n",)), E.var("x", ("n",)), E.var("b", ())
        return E.call(ops.SUM, E.add(E.mul(w, x), E.expand(b, ("n",))))
    t_build = best(build, 50 * reps)
    rows.append(("parse sum(w*x+b)", f"{t_parse * 1e3:.3f} ms",
                 f"{t_parse / t_build:.1f}x building the tree directly"))

    # evaluating the derivative of the softmax chain
    depth = 5 if args.smoke else 19
    d = matcalc.diff(softmax_chain(depth), "x")
    rng = np.random.default_rng(0)
    vals = {"x": rng.standard_normal(4), "y": rng.standard_normal(4)}
    t_ev = best(lambda: d.evaluate(vals), reps)
    t_f = best(lambda: matcalc.evaluate(d.f, vals), reps)
    rows.append((f"Derivative.evaluate, softmax chain depth {depth} "
                 f"({E.count_nodes(d.expr)} nodes)", f"{t_ev * 1e3:.2f} ms",
                 f"{t_ev / t_f:.1f}x evaluating f"))
    t_code = best(lambda: d.to_code(), reps)
    rows.append((f"to_code, softmax chain depth {depth}", f"{t_code * 1e3:.1f} ms", ""))

    # growth in k
    ks = [16, 32, 64] if args.smoke else [64, 128, 256, 512, 1024, 2048]
    for what, make in (("nested scalar functions", nested), ("k-layer network", network)):
        times = []
        for k in ks:
            f = matcalc.parse(make(k))
            times.append(best(lambda: matcalc.diff(f, "x"), max(1, reps // 2)))
        p = exponent(ks, times)
        figures = ", ".join(f"k={k}: {t * 1e3:.1f} ms" for k, t in zip(ks, times))
        rows.append((f"diff, {what}", figures, f"time ~ k^{p:.2f}"))

    width = max(len(r[0]) for r in rows)
    for name, figure, ratio in rows:
        print(f"{name:<{width}}  {figure}  {ratio}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
