"""Tensor derivatives as linear maps: memory and time of the generated jvp/vjp code.

    python bench/tensor.py            # the full run; writes docs/benchmarks_tensor.md
    python bench/tensor.py --smoke    # tiny sizes, one repetition, writes nothing

(1) Memory: the vjp of inv(X) by X at n = 2000 (tracemalloc's peak while it runs),
against the dense tensor's n⁴ entries. (2) Time, one BLAS thread, interleaved
rounds, medians: generated NumPy jvp/vjp against the dense tensor contracted with
the same direction, and against jax.jit(jax.vjp) of f written in JAX where JAX is installed.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

import matcalc  # noqa: E402


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return "; ".join(f"{i.get('internal_api')} {i.get('version')} "
                     f"({i.get('architecture')}, {i.get('num_threads')} threads)"
                     for i in threadpool_info() if i.get("user_api") == "blas") or "none"


def _limit_threads():
    try:
        from threadpoolctl import threadpool_limits
        return threadpool_limits(1)
    except ImportError:
        return None


def _jax():
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


def memory(n: int) -> dict:
    """Peak bytes allocated while the generated vjp of inv(X) runs (inputs excluded)."""
    d = matcalc.diff("inv(X)", "X")
    vjp = matcalc.lambdify(d, form="vjp")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, n)) + n * np.eye(n)
    G = rng.standard_normal((n, n))
    vjp(X, G)  # warm up (imports, first-call allocations)
    tracemalloc.start()
    out = vjp(X, G)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    Xi = np.linalg.inv(X)
    err = float(np.max(np.abs(out + Xi.T @ G @ Xi.T)))
    return {"n": n, "peak": peak, "matrix": n * n * 8, "dense": n ** 4 * 8, "err": err}


CASES = [
    # (name, expression, wrt, shapes, sizes, f written in JAX by hand: (jax, *args) -> f)
    ("tanh(W@x) by W", "tanh(W@x)", "W", {"W": "m,n", "x": "n"}, {"m": 200, "n": 300},
     lambda jax, W, x: jax.numpy.tanh(W @ x)),
    ("softmax(Z, axis=1) by Z", "softmax(Z, axis=1)", "Z", {"Z": "N,k"}, {"N": 60, "k": 10},
     lambda jax, Z: jax.nn.softmax(Z, axis=1)),
    ("inv(X) by X", "inv(X)", "X", {"X": "n,n"}, {"n": 40},
     lambda jax, X: jax.numpy.linalg.inv(X)),
    ("sigmoid(X@W) by W", "sigmoid(X@W)", "W", {"X": "N,n", "W": "n,k"},
     {"N": 50, "n": 20, "k": 8}, lambda jax, X, W: jax.nn.sigmoid(X @ W)),
]


def _values(f, sizes, rng):
    out = {}
    for v in matcalc.core.expr.variables(f):
        shape = tuple(sizes[d] if isinstance(d, str) else d for d in v.shape)
        a = rng.standard_normal(shape)
        if len(shape) == 2 and shape[0] == shape[1]:
            a = a + shape[0] * np.eye(shape[0])
        out[v.name] = a
    return out


def _median(fn, reps):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def timings(rounds: int, smoke: bool) -> list:
    rng = np.random.default_rng(1)
    jax = _jax()
    rows = []
    for name, text, wrt, shapes, sizes, by_hand in CASES:
        if smoke:
            sizes = {k: 3 for k in sizes}
        d = matcalc.diff(text, wrt, shapes)
        vals = _values(d.f, sizes, rng)
        args = [vals[v.name] for v in matcalc.core.expr.variables(d.f)]
        fshape = np.shape(matcalc.evaluate(d.f, vals))
        G = rng.standard_normal(fshape)
        dense = matcalc.lambdify(d)
        vjp = matcalc.lambdify(d, form="vjp")
        T = dense(*args)
        axes = len(fshape)
        contracted = lambda: np.tensordot(G, dense(*args), axes=axes)  # noqa: E731
        runs = {"vjp": lambda: vjp(*args, G), "dense then contracted": contracted}
        if jax is not None:
            jargs = [jax.numpy.asarray(a) for a in args]
            k = [v.name for v in matcalc.core.expr.variables(d.f)].index(wrt)

            def jvjp(*a, by_hand=by_hand, k=k, G=G):
                def f(w):
                    return by_hand(jax, *a[:k], w, *a[k + 1:])
                return jax.vjp(f, a[k])[1](G)[0]
            jfn = jax.jit(jvjp)
            jerr = float(np.max(np.abs(np.asarray(jfn(*jargs)) - vjp(*args, G))))
            runs["jax.jit(jax.vjp)"] = lambda jfn=jfn, jargs=jargs: \
                jfn(*jargs).block_until_ready()
        err = float(np.max(np.abs(vjp(*args, G) - np.tensordot(G, T, axes=axes))))
        if jax is not None:
            err = max(err, jerr)
        med = {k: [] for k in runs}
        for _ in range(rounds):
            for k, fn in runs.items():
                med[k].append(_median(fn, 3))
        row = {"name": name, "sizes": sizes, "err": err, "dense_entries": int(T.size)}
        row.update({k: statistics.median(v) for k, v in med.items()})
        rows.append(row)
    return rows


def _bytes(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:,.0f} {unit}"
    return f"{n:,.0f} bytes"


def _fmt(s: float) -> str:
    return f"{s * 1e3:.3f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} µs"


def report(mem: dict, rows: list) -> str:
    lines = ["# Benchmarks: tensor derivatives as linear maps", "",
             f"Written by `python bench/tensor.py` on {time.strftime('%Y-%m-%d')} "
             f"(Python {platform.python_version()}, NumPy {np.__version__}; BLAS: "
             f"{_blas()}, limited to 1 thread for the timings).", "",
             "## 1. Memory: the vjp of inv(X) by X", "",
             f"At n = {mem['n']}, the generated NumPy vjp (`-X⁻ᵀ G X⁻ᵀ`) peaks at "
             f"**{mem['peak'] / 2**20:.1f} MiB** (tracemalloc), "
             f"{mem['peak'] / mem['matrix']:.1f}× one n×n matrix "
             f"({mem['matrix'] / 2**20:.1f} MiB). The dense tensor would need "
             f"{_bytes(mem['dense'])}. Max abs error against `-X⁻ᵀ G X⁻ᵀ` "
             f"computed by hand: {mem['err']:.1e}.", "",
             "## 2. Time: vjp against the dense tensor contracted", "",
             "Medians of interleaved rounds; `vjp` is the generated function, "
             "`dense then contracted` builds the tensor (einsum over the index form) and "
             "contracts it with G.", "",
             "| derivative | sizes | tensor entries | vjp | dense then contracted | "
             "ratio | jax.jit(jax.vjp) | vjp / jax | error |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        jx = r.get("jax.jit(jax.vjp)")
        sizes = ", ".join(f"{k}={v}" for k, v in r["sizes"].items())
        lines.append(
            f"| {r['name']} | {sizes} | {r['dense_entries']:,} | {_fmt(r['vjp'])} | "
            f"{_fmt(r['dense then contracted'])} | "
            f"{r['dense then contracted'] / r['vjp']:.0f}× | "
            f"{_fmt(jx) if jx else 'not installed'} | "
            f"{(r['vjp'] / jx) if jx else float('nan'):.2f} | {r['err']:.1e} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks_tensor.md"))
    args = p.parse_args(argv)
    limiter = _limit_threads()
    mem = memory(40 if args.smoke else 2000)
    print(f"(1) memory: vjp of inv(X) at n={mem['n']}: peak {mem['peak'] / 2**20:.1f} MiB "
          f"({mem['peak'] / mem['matrix']:.1f}x one matrix); dense would be "
          f"{_bytes(mem['dense'])}")
    rows = timings(1 if args.smoke else 7, args.smoke)
    for r in rows:
        print(f"(2) {r['name']}: vjp {_fmt(r['vjp'])}, dense then contracted "
              f"{_fmt(r['dense then contracted'])}, error {r['err']:.1e}")
    if limiter is not None:
        limiter.unregister()
    if not args.smoke:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(report(mem, rows))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
