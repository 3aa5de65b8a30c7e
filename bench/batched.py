"""Batched gradients (N = 4096 rows): generated NumPy vs hand-written NumPy vs jax.

    python bench/batched.py              # the full run: N=4096, 15 interleaved rounds
    python bench/batched.py --verbose    # also prints the generated source of each gradient
    python bench/batched.py --smoke      # tiny sizes, one round, for the tests
    python bench/batched.py --no-jax     # leave jax out

Where OPENBLAS_CORETYPE is set in the environment (it forces OpenBLAS's kernel, and
OPENBLAS_L2_SIZE its cache size), leave both out of the benchmark command only:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/batched.py

The script does not touch them itself; it prints the kernel OpenBLAS picked (from
threadpoolctl when importable, else asked of the loaded OpenBLAS library).

Cases (each gradient is its own generated function, ``matcalc.lambdify(diff(...))``):

1. softmax cross-entropy ``-sum(Y * log(softmax(X @ W + b, axis=1)))`` by W and by b,
   Y one-hot rows (declared ``prob``); N=4096, n=256, k=10. Hand-written:
   ``P = softmax rows of X@W+b``, ``X.T @ (P - Y)`` and ``(P - Y).sum(0)``.
2. a 2-layer MLP with squared loss ``sum((tanh(X @ W1 + b1) @ W2 + b2 - Y)^2) / N`` by
   W1, b1, W2, b2; N=4096, n=256, h=128, k=10. Hand-written backprop, each gradient
   computing only the forward and backward steps it needs. One more row times all four
   gradients: the four generated functions called one after another (each recomputes
   the forward pass) against one hand-written backprop and one ``jax.grad`` by all four.

The jax column is ``jax.jit(jax.grad(loss, argnums=...))`` of the same loss with
``jax_enable_x64``, so every contender computes in float64. Before timing, the three
results are checked against each other (max relative error, asserted < 1e-8).

Timing: one BLAS thread (the thread variables are set before NumPy is imported, and
XLA gets ``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``); the
jit is warmed up first; then ``--rounds`` rounds (15), each running every contender
once, in an order rotated every round, so drift on a shared machine hits all alike;
the figure is the median. Ratios > 1 mean the generated code is slower.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy (and its BLAS) is loaded
if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen"
                               "=false intra_op_parallelism_threads=1").strip()

import argparse  # noqa: E402
import ctypes  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import matcalc  # noqa: E402

TOL = 1e-8

CE_TEXT = "-sum(Y * log(softmax(X @ W + b, axis=1)))"
CE_SHAPES = {"X": ("N", "n"), "W": ("n", "k"), "b": ("k",), "Y": ("N", "k", "prob")}
MLP_TEXT = "sum((tanh(X @ W1 + b1) @ W2 + b2 - Y)^2) / N"
MLP_SHAPES = {"X": ("N", "n"), "W1": ("n", "h"), "b1": ("h",), "W2": ("h", "k"),
              "b2": ("k",), "Y": ("N", "k")}


# ------------------------------------------------------------------ hand-written

def _softmax_rows(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def ce_by_W(X, W, b, Y):
    return X.T @ (_softmax_rows(X @ W + b) - Y)


def ce_by_b(X, W, b, Y):
    return (_softmax_rows(X @ W + b) - Y).sum(axis=0)


def _mlp_forward(X, W1, b1, W2, b2, Y):
    H = np.tanh(X @ W1 + b1)
    G = (H @ W2 + b2 - Y) * (2.0 / X.shape[0])  # d loss / d output
    return H, G


def mlp_by_W1(X, W1, b1, W2, b2, Y):
    H, G = _mlp_forward(X, W1, b1, W2, b2, Y)
    return X.T @ ((G @ W2.T) * (1.0 - H * H))


def mlp_by_b1(X, W1, b1, W2, b2, Y):
    H, G = _mlp_forward(X, W1, b1, W2, b2, Y)
    return ((G @ W2.T) * (1.0 - H * H)).sum(axis=0)


def mlp_by_W2(X, W1, b1, W2, b2, Y):
    H, G = _mlp_forward(X, W1, b1, W2, b2, Y)
    return H.T @ G


def mlp_by_b2(X, W1, b1, W2, b2, Y):
    H = np.tanh(X @ W1 + b1)
    return (H @ W2 + b2 - Y).sum(axis=0) * (2.0 / X.shape[0])


def mlp_all(X, W1, b1, W2, b2, Y):
    H, G = _mlp_forward(X, W1, b1, W2, b2, Y)
    dZ1 = (G @ W2.T) * (1.0 - H * H)
    return X.T @ dZ1, dZ1.sum(axis=0), H.T @ G, G.sum(axis=0)


# ------------------------------------------------------------------ machine

def blas_kernel() -> str:
    """What BLAS NumPy runs, as threadpoolctl reports it (else asked of OpenBLAS)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        parts = []
        for d in threadpool_info():
            if d.get("user_api") != "blas":
                continue
            parts.append(f"{d.get('internal_api')} {d.get('version')}, kernel "
                         f"{d.get('architecture')}, {d.get('num_threads')} thread(s), "
                         f"{os.path.basename(d.get('filepath', ''))} (threadpoolctl)")
        return "; ".join(parts) or "no BLAS found by threadpoolctl"
    try:  # no threadpoolctl: the loaded OpenBLAS library, as threadpoolctl would ask it
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = {ln.split()[-1] for ln in fh if "openblas" in ln.lower() and "/" in ln}
        for path in sorted(paths):
            lib = ctypes.CDLL(path)
            for prefix in ("scipy_", ""):
                for suffix in ("64_", ""):
                    core = getattr(lib, f"{prefix}openblas_get_corename{suffix}", None)
                    threads = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                    if core is None:
                        continue
                    core.restype = ctypes.c_char_p
                    n = threads() if threads is not None else "?"
                    return (f"OpenBLAS kernel {core().decode()}, {n} thread(s), "
                            f"{os.path.basename(path)} (threadpoolctl not installed)")
    except OSError:
        pass
    return "threadpoolctl not installed; BLAS kernel unknown"


def machine_line(jax_version) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for ln in fh:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"Python {platform.python_version()}, NumPy {np.__version__}, "
            f"jax {jax_version or 'not used'}, {cpu}, {os.cpu_count()} cores; "
            f"BLAS: {blas_kernel()}")


# ------------------------------------------------------------------ the benchmark

def _ms(s: float) -> str:
    return f"{s * 1e3:.2f}" if s >= 1e-3 else f"{s * 1e3:.3f}"


def rel_err(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def interleaved(contenders: dict, rounds: int) -> dict:
    """Median seconds per call of each contender (name -> zero-argument callable)."""
    names = list(contenders)
    runs = {k: [] for k in names}
    for r in range(rounds):
        s = r % len(names)
        for k in names[s:] + names[:s]:
            fn = contenders[k]
            t = time.perf_counter()
            fn()
            runs[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in runs.items()}


def make_data(sizes, rng):
    N, n, h, k = sizes["N"], sizes["n"], sizes["h"], sizes["k"]
    X = rng.standard_normal((N, n))
    ce = {"X": X, "W": rng.standard_normal((n, k)) / np.sqrt(n),
          "b": 0.1 * rng.standard_normal(k),
          "Y": np.eye(k)[rng.integers(0, k, size=N)]}
    mlp = {"X": X, "W1": rng.standard_normal((n, h)) / np.sqrt(n),
           "b1": 0.1 * rng.standard_normal(h),
           "W2": rng.standard_normal((h, k)) / np.sqrt(h),
           "b2": 0.1 * rng.standard_normal(k), "Y": rng.standard_normal((N, k))}
    return ce, mlp


def jax_losses(jnp, jax):
    def ce(X, W, b, Y):
        return -jnp.sum(Y * jnp.log(jax.nn.softmax(X @ W + b, axis=1)))

    def mlp(X, W1, b1, W2, b2, Y):
        return jnp.sum((jnp.tanh(X @ W1 + b1) @ W2 + b2 - Y) ** 2) / X.shape[0]
    return ce, mlp


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one round")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (15)")
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="print the generated source of each gradient")
    ap.add_argument("--no-jax", action="store_true", help="leave jax out")
    args = ap.parse_args(argv)
    sizes = ({"N": 64, "n": 8, "h": 6, "k": 3} if args.smoke
             else {"N": 4096, "n": 256, "h": 128, "k": 10})
    rounds = args.rounds or (1 if args.smoke else 15)

    jax = jnp = None
    if not args.no_jax:
        try:
            import jax
            import jax.numpy as jnp
        except ImportError:
            print("jax is not installed: the jax column is skipped")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)

    print("machine:", machine_line(jax.__version__ if jax is not None else None))
    print(f"sizes: {sizes}; median of {rounds} interleaved round(s); one BLAS thread; "
          f"XLA_FLAGS={os.environ.get('XLA_FLAGS')!r}")

    rng = np.random.default_rng(0)
    ce_vals, mlp_vals = make_data(sizes, rng)
    ce_order, mlp_order = ("X", "W", "b", "Y"), ("X", "W1", "b1", "W2", "b2", "Y")
    jce, jmlp = jax_losses(jnp, jax) if jax is not None else (None, None)

    # (label, text, shapes, wrt or None for "all", hand fn, values, arg order, jax loss)
    cases = [
        ("softmax CE, by W", CE_TEXT, CE_SHAPES, ("W",), ce_by_W, ce_vals, ce_order, jce),
        ("softmax CE, by b", CE_TEXT, CE_SHAPES, ("b",), ce_by_b, ce_vals, ce_order, jce),
        ("MLP, by W1", MLP_TEXT, MLP_SHAPES, ("W1",), mlp_by_W1, mlp_vals, mlp_order, jmlp),
        ("MLP, by b1", MLP_TEXT, MLP_SHAPES, ("b1",), mlp_by_b1, mlp_vals, mlp_order, jmlp),
        ("MLP, by W2", MLP_TEXT, MLP_SHAPES, ("W2",), mlp_by_W2, mlp_vals, mlp_order, jmlp),
        ("MLP, by b2", MLP_TEXT, MLP_SHAPES, ("b2",), mlp_by_b2, mlp_vals, mlp_order, jmlp),
        ("MLP, all four (4 generated calls)", MLP_TEXT, MLP_SHAPES,
         ("W1", "b1", "W2", "b2"), mlp_all, mlp_vals, mlp_order, jmlp),
    ]

    generated = {}  # (text, wrt) -> compiled function
    rows = []
    print("\ncorrectness (max relative error, asserted < %g):" % TOL)
    for label, text, shapes, wrts, hand, vals, order, jloss in cases:
        for w in wrts:
            if (text, w) not in generated:
                d = matcalc.diff(text, w, shapes=shapes)
                generated[(text, w)] = matcalc.lambdify(d)
                if args.verbose:
                    print(f"\n# generated: d/d{w} of {text}\n{d.to_code()}")
        gens = [generated[(text, w)] for w in wrts]
        hand_args = tuple(vals[v] for v in order)

        def gen_call(gens=gens, vals=vals):
            out = tuple(g(**vals) for g in gens)
            return out if len(out) > 1 else out[0]

        def hand_call(hand=hand, hand_args=hand_args):
            return hand(*hand_args)

        contenders = {"generated": gen_call, "hand": hand_call}
        g_out, h_out = gen_call(), hand_call()
        g_t = g_out if isinstance(g_out, tuple) else (g_out,)
        h_t = h_out if isinstance(h_out, tuple) else (h_out,)
        e_hand = max(rel_err(a, b) for a, b in zip(g_t, h_t))
        msg = f"  {label:36} generated vs hand {e_hand:.1e}"
        assert e_hand < TOL, msg
        if jloss is not None:
            argnums = tuple(order.index(w) for w in wrts)
            jg = jax.jit(jax.grad(jloss, argnums=argnums))
            jargs = tuple(jax.device_put(vals[v]) for v in order)
            jax.block_until_ready(jg(*jargs))  # warm-up: compile
            j_t = tuple(np.asarray(a) for a in jg(*jargs))
            e_jax = max(rel_err(a, b) for a, b in zip(g_t, j_t))
            msg += f", generated vs jax {e_jax:.1e}"
            assert e_jax < TOL, msg

            def jax_call(jg=jg, jargs=jargs):
                return jax.block_until_ready(jg(*jargs))
            contenders["jax"] = jax_call
        print(msg)
        for fn in contenders.values():  # warm every contender once more
            fn()
        t = interleaved(contenders, rounds)
        rows.append((label, t["generated"], t["hand"], t.get("jax")))

    head = ["case", "generated ms", "hand ms", "jax ms", "gen/hand", "gen/jax"]
    body = [[label, _ms(g), _ms(h), _ms(j) if j is not None else "—", f"{g / h:.2f}",
             f"{g / j:.2f}" if j is not None else "—"] for label, g, h, j in rows]
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    print()
    for r in [head, ["-" * w for w in widths]] + body:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    slow = [label for label, g, h, _ in rows if g / h > 1.5]
    if slow:
        print("\ngenerated code > 1.5x hand-written:", ", ".join(slow))
    return 0


if __name__ == "__main__":
    sys.exit(main())
