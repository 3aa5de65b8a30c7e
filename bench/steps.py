"""The cost of ``--steps`` in the depth of a network, measured in one run.

    python bench/steps.py           # k = 16, 32, 64, 128, 256
    python bench/steps.py --smoke   # small sizes, for the tests

For the k-layer network ``sum(tanh(W @ tanh(W @ ... x)))`` by x: the time to derive
it, the time to write its steps (``Derivative.steps_text``), the characters they
take, and the fitted exponents of time and size ~ k^p (p = 1: linear). The steps
name every intermediate and refer to earlier ones by name, so both should be linear.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import matcalc  # noqa: E402
from bench.architecture import exponent  # noqa: E402


def network(k: int) -> str:
    h = "x"
    for _ in range(k):
        h = f"tanh(W @ {h})"
    return f"sum({h})"


def measure(k: int) -> tuple[float, float, int]:
    """(seconds to derive, seconds to write the steps, characters of the steps)."""
    t0 = time.perf_counter()
    d = matcalc.diff(network(k), "x", shapes={"W": ("n", "n"), "x": ("n",)})
    t1 = time.perf_counter()
    text = d.steps_text()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, len(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="small sizes")
    args = ap.parse_args(argv)
    ks = (4, 8, 16) if args.smoke else (16, 32, 64, 128, 256)
    print(f"{'k':>5} {'derive s':>10} {'steps s':>10} {'characters':>12}")
    measure(2)  # imports and first-use caches, outside the figures
    rows = []
    for k in ks:
        rows.append(measure(k))
        derive, steps, size = rows[-1]
        print(f"{k:>5} {derive:>10.3f} {steps:>10.3f} {size:>12,}")
    times = [max(d + s, 1e-6) for d, s, _ in rows]
    print(f"time ~ k^{exponent(ks, times):.2f}, "
          f"size ~ k^{exponent(ks, [size for _, _, size in rows]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
