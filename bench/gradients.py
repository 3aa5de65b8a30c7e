"""Generated gradient code vs jax.grad, torch.func.grad and hand-written NumPy.

    python bench/gradients.py            # the full run; writes its section of docs/benchmarks.md
    python bench/gradients.py --smoke    # tiny sizes, one round, writes nothing (for the tests)
    python bench/gradients.py --verbose  # also prints every generated function
    python bench/gradients.py --no-jax --no-torch   # leave those out
    python bench/gradients.py --no-why   # leave out (3), the hand-edited copies

Every figure is a ratio of two timings taken in the same run, side by side.

Problems (float64 everywhere; each gradient is its own ``matcalc.diff(...)``):

1. logistic loss ``sum(log(1 + exp(-y * (X@w))))`` by w, N=4000, n=1000
2. least squares ``norm2(X@w - y)^2`` by w, N=4000, n=1000
3. quadratic form ``x'@A@x`` by x, n=4000
4. softmax cross-entropy ``-sum(Y * log(softmax(X@W, axis=1)))`` by W, N=4096, n=256,
   k=10 (Y one-hot, declared ``prob``)
5. the 2-layer MLP of bench/batched.py, ``sum((tanh(X @ W1 + b1) @ W2 + b2 - Y)^2) / N``,
   by W1 and by W2; N=4096, n=256, h=128, k=10

For each: the generated NumPy code (``matcalc.lambdify(d)``) against the gradient a person
writes by hand; the generated JAX code under ``jax.jit`` against
``jax.jit(jax.grad(f))`` of a hand-written ``f``; the generated torch code against
``torch.func.grad(f)`` and plain autograd (``torch.autograd.grad``). Hessians
(``matcalc.diff(f, w, order=2)``) of problems 1-3: the generated NumPy Hessian against
``jax.jit(jax.hessian(f))`` (and the generated JAX Hessian under jit, and a hand-written
NumPy one), with peak memory: tracemalloc's peak for NumPy (NumPy reports its buffers
to tracemalloc), XLA's compiled memory analysis (temporaries + output) for JAX.

(3) Why: hand-edited copies of the generated code (a text replacement on the source
matcalc generates now; a row says so where that text is gone), timed beside it: the
`X.T @ v` that the JAX code wrote before `v @ X`, cheaper forms of the MLP's stable
``1 − tanh(u)²``, and the logistic Hessian's ``Xᵀ diag(s) X`` as ``Zᵀ Z`` (syrk).

Before timing, every result is compared with the hand-written NumPy one (max abs
difference printed, relative error asserted < 1e-8).

Timing: one core. The process is pinned to one CPU (``os.sched_setaffinity``; XLA
otherwise runs a large dot on every core whatever its flags say), the thread variables
are set before NumPy is imported, threadpoolctl's ``threadpool_limits(1)`` on top where
installed, ``torch.set_num_threads(1)``, and XLA gets ``--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1``. Where OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE is set
(they force OpenBLAS's kernel and its cache size), the script removes both from its own
environment before NumPy is loaded, and records that. Each contender is warmed up (jit
compiled) first; then rounds, each running every contender of a problem once (after an
untimed call of its own, so that each finds its inputs equally warm in the cache), in
an order rotated every round (A B C, B C A, ...), a generated function next to its
references. A ratio is the median of the round-by-round ratios (with their quartiles,
the noise of a shared machine); a time is the median. The clock is the process's CPU
time while it is pinned (one core: the wall time less the time another job had the
core), else the wall clock (``--wall`` forces it). Ratios > 1: the generated code is
slower.
"""
from __future__ import annotations

import os
import sys

# ---- the environment, before NumPy (and its BLAS) or jax is loaded
# One core: the process is pinned to one CPU (where the OS allows it). The thread
# settings below are not enough on their own: XLA's CPU client runs a large dot on
# every core it may use whatever XLA_FLAGS say (measured: 12.5 ms of CPU time in a
# 6.5 ms call on 2 cores), and NumPy's OpenBLAS starts one thread per core.
PINNED = None
if hasattr(os, "sched_setaffinity") and "--no-pin" not in sys.argv:
    try:
        _cpus = sorted(os.sched_getaffinity(0))
        _want = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--cpu=")), None)
        PINNED = int(_want) if _want is not None else _cpus[-1]
        os.sched_setaffinity(0, {PINNED})
    except (OSError, ValueError):
        PINNED = None
UNSET = {v: os.environ.pop(v) for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
         if v in os.environ}
if UNSET and "numpy" in sys.modules:  # pragma: no cover (only if started oddly)
    os.execv(sys.executable, [sys.executable] + sys.argv)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"
if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen"
                               "=false intra_op_parallelism_threads=1").strip()

import argparse  # noqa: E402
import inspect  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import matcalc  # noqa: E402

TOL = 1e-8
BEGIN = "<!-- bench/gradients.py: begin -->"
END = "<!-- bench/gradients.py: end -->"

# the targets of the issue: generated time / reference time at most (Hessians: at least
# this many times faster than jax.hessian)
GOALS = {"numpy": 1.1, "jax": 1.1, "torch": 1.0, "hessian": 3.0}

MLP_TEXT = "sum((tanh(X @ W1 + b1) @ W2 + b2 - Y)^2) / N"  # bench/batched.py's MLP
MLP_SHAPES = {"X": ("N", "n"), "W1": ("n", "h"), "b1": ("h",), "W2": ("h", "k"),
              "b2": ("k",), "Y": ("N", "k")}
CE_TEXT = "-sum(Y * log(softmax(X@W, axis=1)))"
CE_SHAPES = {"X": ("N", "n"), "W": ("n", "k"), "Y": ("N", "k", "prob")}


# ------------------------------------------------------------------ hand-written NumPy

def np_logistic(y, X, w):
    return -(X.T @ (y / (1.0 + np.exp(y * (X @ w)))))


def np_logistic_hess(y, X, w):
    s = 1.0 / (1.0 + np.exp(-y * (X @ w)))
    return X.T @ ((y * y * s * (1.0 - s))[:, None] * X)


def np_lsq(X, w, y):
    return 2.0 * (X.T @ (X @ w - y))


def np_lsq_hess(X, w, y):
    return 2.0 * (X.T @ X)


def np_quad(x, A):
    return A @ x + A.T @ x


def np_quad_hess(x, A):
    return A + A.T


def _softmax_rows(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def np_ce(Y, X, W):
    return X.T @ (_softmax_rows(X @ W) - Y)


def _mlp_forward(X, W1, b1, W2, b2, Y):  # bench/batched.py's hand-written backprop
    H = np.tanh(X @ W1 + b1)
    G = (H @ W2 + b2 - Y) * (2.0 / X.shape[0])  # d loss / d output
    return H, G


def np_mlp_W1(X, W1, b1, W2, b2, Y):
    H, G = _mlp_forward(X, W1, b1, W2, b2, Y)
    return X.T @ ((G @ W2.T) * (1.0 - H * H))


def np_mlp_W2(X, W1, b1, W2, b2, Y):
    H, G = _mlp_forward(X, W1, b1, W2, b2, Y)
    return H.T @ G


# ------------------------------------------------------------------ the losses, by hand

def jax_losses(jax, jnp):
    return {
        "logistic": lambda y, X, w: jnp.sum(jnp.log1p(jnp.exp(-y * (X @ w)))),
        "lsq": lambda X, w, y: jnp.sum((X @ w - y) ** 2),
        "quad": lambda x, A: x @ (A @ x),
        "ce": lambda Y, X, W: -jnp.sum(Y * jnp.log(jax.nn.softmax(X @ W, axis=1))),
        "mlp": lambda X, W1, b1, W2, b2, Y:
            jnp.sum((jnp.tanh(X @ W1 + b1) @ W2 + b2 - Y) ** 2) / X.shape[0],
    }


def torch_losses(torch):
    return {
        "logistic": lambda y, X, w: torch.sum(torch.log1p(torch.exp(-y * (X @ w)))),
        "lsq": lambda X, w, y: torch.sum((X @ w - y) ** 2),
        "quad": lambda x, A: x @ (A @ x),
        "ce": lambda Y, X, W: -torch.sum(Y * torch.log(torch.softmax(X @ W, dim=1))),
        "mlp": lambda X, W1, b1, W2, b2, Y:
            torch.sum((torch.tanh(X @ W1 + b1) @ W2 + b2 - Y) ** 2) / X.shape[0],
    }


# ------------------------------------------------------------------ the problems

def make_problems(smoke: bool, rng):
    """(key, label, text, shapes, wrt, argument order, values, hand gradient, sizes)."""
    N, n = (40, 7) if smoke else (4000, 1000)
    nq = 9 if smoke else 4000
    Nb, nb, h, k = (64, 8, 6, 3) if smoke else (4096, 256, 128, 10)
    X = rng.standard_normal((N, n)) / np.sqrt(n)
    logistic = {"y": np.sign(rng.standard_normal(N)), "X": X,
                "w": rng.standard_normal(n)}
    lsq = {"X": X, "w": rng.standard_normal(n) / np.sqrt(n), "y": rng.standard_normal(N)}
    quad = {"x": rng.standard_normal(nq), "A": rng.standard_normal((nq, nq)) / np.sqrt(nq)}
    Xb = rng.standard_normal((Nb, nb))
    ce = {"Y": np.eye(k)[rng.integers(0, k, size=Nb)], "X": Xb,
          "W": rng.standard_normal((nb, k)) / np.sqrt(nb)}
    mlp = {"X": Xb, "W1": rng.standard_normal((nb, h)) / np.sqrt(nb),
           "b1": 0.1 * rng.standard_normal(h), "W2": rng.standard_normal((h, k)) / np.sqrt(h),
           "b2": 0.1 * rng.standard_normal(k), "Y": rng.standard_normal((Nb, k))}
    mo = ("X", "W1", "b1", "W2", "b2", "Y")
    return [
        ("logistic", "logistic loss", "sum(log(1 + exp(-y * (X@w))))", None, "w",
         ("y", "X", "w"), logistic, np_logistic, f"N={N}, n={n}"),
        ("lsq", "least squares", "norm2(X@w - y)^2", None, "w", ("X", "w", "y"), lsq,
         np_lsq, f"N={N}, n={n}"),
        ("quad", "quadratic form", "x'@A@x", None, "x", ("x", "A"), quad, np_quad,
         f"n={nq}"),
        ("ce", "softmax CE", CE_TEXT, CE_SHAPES, "W", ("Y", "X", "W"), ce, np_ce,
         f"N={Nb}, n={nb}, k={k}"),
        ("mlp", "MLP by W1", MLP_TEXT, MLP_SHAPES, "W1", mo, mlp, np_mlp_W1,
         f"N={Nb}, n={nb}, h={h}, k={k}"),
        ("mlp", "MLP by W2", MLP_TEXT, MLP_SHAPES, "W2", mo, mlp, np_mlp_W2,
         f"N={Nb}, n={nb}, h={h}, k={k}"),
    ]


def make_hessian_problems(smoke: bool, rng):
    N, n = (30, 5) if smoke else (4000, 1000)
    nq = 6 if smoke else 2000
    X = rng.standard_normal((N, n)) / np.sqrt(n)
    logistic = {"y": np.sign(rng.standard_normal(N)), "X": X, "w": rng.standard_normal(n)}
    lsq = {"X": X, "w": rng.standard_normal(n) / np.sqrt(n), "y": rng.standard_normal(N)}
    quad = {"x": rng.standard_normal(nq), "A": rng.standard_normal((nq, nq)) / np.sqrt(nq)}
    return [
        ("logistic", "logistic loss", "sum(log(1 + exp(-y * (X@w))))", "w", ("y", "X", "w"),
         logistic, np_logistic_hess, f"N={N}, n={n}"),
        ("lsq", "least squares", "norm2(X@w - y)^2", "w", ("X", "w", "y"), lsq, np_lsq_hess,
         f"N={N}, n={n}"),
        ("quad", "quadratic form", "x'@A@x", "x", ("x", "A"), quad, np_quad_hess, f"n={nq}"),
    ]


# ------------------------------------------------------------------ machine

def blas_info(threadpool_info) -> str:
    if threadpool_info is None:
        return "threadpoolctl not installed: BLAS kernel and threads not reported"
    parts = []
    for d in threadpool_info():
        if d.get("user_api") == "blas":
            parts.append(f"{d.get('internal_api')} {d.get('version')}, kernel "
                         f"{d.get('architecture')}, {d.get('num_threads')} thread(s) "
                         f"({os.path.basename(d.get('filepath', ''))})")
        elif d.get("user_api") == "openmp":
            parts.append(f"OpenMP {d.get('internal_api')}, {d.get('num_threads')} thread(s) "
                         f"({os.path.basename(d.get('filepath', ''))})")
    return "; ".join(parts) or "no BLAS found by threadpoolctl"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for ln in fh:
                if ln.startswith("model name"):
                    return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def matcalc_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "matcalc"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not rev:
        return "unknown"
    return rev + (" with uncommitted changes in matcalc/" if dirty else "")


def torch_blas(torch) -> str:
    for part in torch.__config__.show().replace("\n", ",").split(","):
        if "BLAS_INFO=" in part:
            return "BLAS " + part.split("BLAS_INFO=", 1)[1].strip()
    return "BLAS unknown"


# ------------------------------------------------------------------ measuring

def fmt_ms(s) -> str:
    if s is None:
        return "—"
    ms = s * 1e3
    return f"{ms:.2f}" if ms >= 1 else f"{ms:.3f}"


def fmt_bytes(b) -> str:
    if b is None:
        return "—"
    return f"{b / 2 ** 20:.1f} MiB" if b >= 2 ** 20 else f"{b / 1024:.1f} KiB"


# The clock of every timing: the process's CPU time where the process is pinned to one
# core (main() sets it), so that a round in which another job had the core is not
# counted against whichever contender was running; else the wall clock.
CLOCK = time.perf_counter


def interleaved(groups: list, rounds: int) -> dict:
    """Seconds per call of each contender, one figure per round: name -> list.

    ``groups``: lists of (name, zero-argument callable), a generated function and its
    references side by side. Every round runs every contender once; the groups run in
    an order rotated every round (A B C, B C A, ...), and so do the contenders within a
    group, so that a generated function and its reference run next to each other
    (their ratio is taken round by round, under the same load of a shared machine).

    Each timed call comes right after an untimed call of the same contender, so that
    every contender finds its own inputs equally warm in the cache. Without that, the
    contender that follows another reading the same buffers wins: JAX reads its own
    copy of X, NumPy and torch share one, and this machine's last-level cache holds a
    32 MB X (identical XLA programs measured 1.12x apart in a fixed order)."""
    runs = {name: [] for g in groups for name, _ in g}
    for r in range(rounds):
        s = r % len(groups)
        for g in groups[s:] + groups[:s]:
            q = r % len(g)
            for name, fn in g[q:] + g[:q]:
                fn()
                t = CLOCK()
                fn()
                runs[name].append(CLOCK() - t)
    return runs


def ratio_stats(num: list, den: list) -> tuple[float, float, float]:
    """Median and quartiles of the round-by-round ratios num/den."""
    rs = sorted(a / b for a, b in zip(num, den))
    if len(rs) < 4:
        m = statistics.median(rs)
        return m, rs[0], rs[-1]
    q1, q2, q3 = statistics.quantiles(rs, n=4)
    return q2, q1, q3


def compare(got, ref) -> tuple[float, float]:
    """(max abs difference, max relative error) of got against the reference."""
    a = np.asarray(got, dtype=float)
    b = np.asarray(ref, dtype=float)
    assert a.shape == b.shape, (a.shape, b.shape)
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    return diff, diff / max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-300)


def numpy_peak(fn) -> int:
    """tracemalloc's peak of one call (NumPy reports its array buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1]
        del out
    finally:
        tracemalloc.stop()
    return peak - base


def xla_memory(jitted, args):
    """XLA's compiled memory analysis: temporaries + output bytes (None if not given)."""
    try:
        m = jitted.lower(*args).compile().memory_analysis()
        return int(m.temp_size_in_bytes) + int(m.output_size_in_bytes)
    except Exception:  # noqa: BLE001 (a backend without the analysis)
        return None


# ------------------------------------------------------------------ the benchmark

class Libs:
    def __init__(self, use_jax: bool, use_torch: bool):
        self.jax = self.jnp = self.torch = None
        self.jax_note = self.torch_note = "not installed"
        if use_jax:
            try:
                import jax
                import jax.numpy as jnp
                jax.config.update("jax_enable_x64", True)
                self.jax, self.jnp = jax, jnp
            except ImportError:
                pass
        else:
            self.jax_note = "left out (--no-jax)"
        if use_torch:
            try:
                import torch
                torch.set_num_threads(1)
                try:
                    torch.set_num_interop_threads(1)
                except RuntimeError:  # already set
                    pass
                self.torch = torch
            except ImportError:
                pass
        else:
            self.torch_note = "left out (--no-torch)"


def check_order(fn, order):
    params = tuple(inspect.signature(fn).parameters)
    assert params == tuple(order), f"generated parameters {params}, expected {order}"


def bench_gradients(problems, libs: Libs, rounds: int, verbose: bool):
    """Rows: (label, sizes, target, reference name, generated s, reference s,
    (median, q1, q3) of the round-by-round ratios generated/reference, max abs diff)."""
    jax, jnp, torch = libs.jax, libs.jnp, libs.torch
    jl = jax_losses(jax, jnp) if jax is not None else {}
    tl = torch_losses(torch) if torch is not None else {}
    rows = []
    for key, label, text, shapes, wrt, order, vals, hand, sizes in problems:
        d = matcalc.diff(text, wrt, shapes=shapes)
        args = tuple(vals[v] for v in order)
        wi = order.index(wrt)
        ref = hand(*args)
        contenders, results, pairs = {}, {}, []

        gen_np = matcalc.lambdify(d, "numpy")
        check_order(gen_np, order)
        if verbose:
            print(f"\n# d/d{wrt} of {text}, numpy:\n{gen_np.__source__}")
        contenders["gen numpy"] = lambda f=gen_np: f(*args)
        contenders["hand numpy"] = lambda: hand(*args)
        groups = [["gen numpy", "hand numpy"]]
        pairs.append(("numpy", "gen numpy", "hand numpy", "hand-written NumPy"))

        if jax is not None:
            gen_j = matcalc.lambdify(d, "jax")
            if verbose:
                print(f"# jax:\n{gen_j.__source__}")
            gj = jax.jit(gen_j)
            rj = jax.jit(jax.grad(jl[key], argnums=wi))
            jargs = tuple(jax.device_put(a) for a in args)
            contenders["gen jax"] = lambda f=gj: jax.block_until_ready(f(*jargs))
            contenders["jax.grad"] = lambda f=rj: jax.block_until_ready(f(*jargs))
            groups.append(["gen jax", "jax.grad"])
            pairs.append(("jax", "gen jax", "jax.grad", "jax.jit(jax.grad(f))"))

        if torch is not None:
            gen_t = matcalc.lambdify(d, "torch")
            if verbose:
                print(f"# torch:\n{gen_t.__source__}")
            targs = tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in args)
            tf = tl[key]
            fg = torch.func.grad(tf, argnums=wi)

            def autograd(tf=tf):
                a = list(targs)
                a[wi] = targs[wi].detach().requires_grad_(True)
                return torch.autograd.grad(tf(*a), a[wi])[0]
            contenders["gen torch"] = lambda f=gen_t: f(*targs)
            contenders["torch.func.grad"] = lambda: fg(*targs)
            contenders["autograd"] = autograd
            groups.append(["gen torch", "torch.func.grad", "autograd"])
            pairs.append(("torch", "gen torch", "torch.func.grad", "torch.func.grad(f)"))
            pairs.append(("torch", "gen torch", "autograd", "torch autograd"))

        for name, fn in contenders.items():  # warm-up (jit compiles) and correctness
            fn()
            out = fn()
            out = out.detach().numpy() if torch is not None and torch.is_tensor(out) else out
            diff, rel = compare(out, ref)
            results[name] = diff
            assert rel < TOL, f"{label}: {name} differs from hand-written NumPy by {rel:.2e}"
        runs = interleaved([[(k, contenders[k]) for k in g] for g in groups], rounds)
        line = f"  {label:<16} {sizes:<26}"
        for target, g, r, rname in pairs:
            gap = max(results[g], results[r])
            ratio = ratio_stats(runs[g], runs[r])
            rows.append((label, sizes, target, rname, statistics.median(runs[g]),
                         statistics.median(runs[r]), ratio, gap))
            line += f" {target} {ratio[0]:.2f}"
        print(line + "  (generated/reference)", flush=True)
        for target, note in (("jax", libs.jax_note), ("torch", libs.torch_note)):
            if (jax if target == "jax" else torch) is None:
                rows.append((label, sizes, target, note, None, None, None, None))
    return rows


def bench_hessians(problems, libs: Libs, rounds: int, verbose: bool):
    """Rows: dict per problem with times, memory and differences."""
    jax, jnp = libs.jax, libs.jnp
    jl = jax_losses(jax, jnp) if jax is not None else {}
    rows = []
    for key, label, text, wrt, order, vals, hand, sizes in problems:
        d = matcalc.diff(text, wrt, order=2)
        args = tuple(vals[v] for v in order)
        ref = hand(*args)
        gen_np = matcalc.lambdify(d, "numpy")
        check_order(gen_np, order)
        if verbose:
            print(f"\n# d²/d{wrt}² of {text}, numpy:\n{gen_np.__source__}")
        contenders = {"gen numpy": lambda f=gen_np: f(*args), "hand numpy": lambda: hand(*args)}
        row = {"label": label, "sizes": sizes, "text": d.text(),
               "mem gen numpy": numpy_peak(contenders["gen numpy"]),
               "mem hand numpy": numpy_peak(contenders["hand numpy"])}
        if jax is not None:
            jargs = tuple(jax.device_put(a) for a in args)
            gj = jax.jit(matcalc.lambdify(d, "jax"))
            rj = jax.jit(jax.hessian(jl[key], argnums=order.index(wrt)))
            contenders["gen jax"] = lambda f=gj: jax.block_until_ready(f(*jargs))
            contenders["jax.hessian"] = lambda f=rj: jax.block_until_ready(f(*jargs))
            row["mem gen jax"] = xla_memory(gj, jargs)
            row["mem jax.hessian"] = xla_memory(rj, jargs)
        diffs = {}
        for name, fn in contenders.items():
            fn()
            diff, rel = compare(fn(), ref)
            diffs[name] = diff
            assert rel < TOL, f"{label} Hessian: {name} differs from hand-written by {rel:.2e}"
        runs = interleaved([[(k, fn) for k, fn in contenders.items()]], rounds)
        t = {k: statistics.median(v) for k, v in runs.items()}
        row.update(times=t, diff=max(diffs.values()))
        if "jax.hessian" in runs:
            row["speed"] = ratio_stats(runs["jax.hessian"], runs["gen numpy"])
        rows.append(row)
        msg = f"  {label:<16} {sizes:<16} gen numpy {fmt_ms(t['gen numpy'])} ms"
        if "jax.hessian" in t:
            msg += (f", jax.hessian {fmt_ms(t['jax.hessian'])} ms: "
                    f"{row['speed'][0]:.1f}x faster")
        print(msg, flush=True)
    return rows


# ------------------------------------------------------------------ (3) why: edited copies

def _tanh_prime_variants(xp: str) -> list:
    """Hand edits of the generated MLP gradient by W1, whose stable ``1 − tanh(u)²`` is
    ``4e ⊘ (1 + e)²``, ``e = exp(−2|u|)``: (name, edits of the source)."""
    exp_line = f"    _t2 = {xp}.exp(-2.0 * {xp}.abs(_t1))\n"
    factor = "* _t2 * ((1.0 + _t2) ** -2)"
    out = [
        ("`* (1 + e) ** -2` written `/ (1 + e) ** 2`",
         [("* ((1.0 + _t2) ** -2)", "/ ((1.0 + _t2) ** 2)")]),
        ("1 − tanh(u)² as `/ cosh(u) ** 2` (stable, no exp)",
         [(exp_line, ""), (factor, f"/ ({xp}.cosh(_t1) ** 2)"),
          ("8.0 * (X.T @ _t3)", "2.0 * (X.T @ _t3)")]),
        ("`1 - H * H`, H the forward tanh (as by hand; 0 for |u| > 19)",
         [(exp_line, f"    _t2 = {xp}.tanh(_t1)\n"), (f"(({xp}.tanh(_t1) @ W2)", "((_t2 @ W2)"),
          (factor, "* (1.0 - _t2 * _t2)"), ("8.0 * (X.T @ _t3)", "2.0 * (X.T @ _t3)")]),
    ]
    if xp == "torch":
        out += [
            ("the same 4e/(1+e)², in place on its temporaries",
             [(f"_t2 = {xp}.exp(-2.0 * {xp}.abs(_t1))", f"_t2 = {xp}.abs(_t1).mul_(-2.0).exp_()"),
              (") * _t2 * ((1.0 + _t2) ** -2)", ").mul_(_t2).div_(_t2.add(1.0).square_())")]),
            ("`/ cosh(u) ** 2`, in place", [
                (exp_line, ""), (") * _t2 * ((1.0 + _t2) ** -2)",
                                 f").div_({xp}.cosh(_t1).square_())"),
                ("8.0 * (X.T @ _t3)", "2.0 * (X.T @ _t3)")]),
        ]
    return out


# (problem label, target, variants); a variant's edits are (old text, new text) of the
# generated source; where the generated code no longer has the old text, the row says so
VARIANTS = [
    ("logistic loss", "jax", [("`X.T @ v` (the code before `v @ X`)", [
        ("-((y * (_sigmoid(-(y * (X @ w))))) @ X)", "-(X.T @ (y * (_sigmoid(-(y * (X @ w))))))")])]),
    ("least squares", "jax", [("`X.T @ v` (the code before `v @ X`)", [
        ("2.0 * (((X @ w) - y) @ X)", "2.0 * (X.T @ ((X @ w) - y))")])]),
    ("quadratic form", "jax", [("`A.T @ x` (the code before `x @ A`)", [
        ("(A @ x) + (x @ A)", "(A @ x) + (A.T @ x)")])]),
    ("MLP by W1", "numpy", _tanh_prime_variants("np")),
    ("MLP by W1", "jax", _tanh_prime_variants("jnp")),
    ("MLP by W1", "torch", _tanh_prime_variants("torch")),
    ("logistic loss Hessian", "numpy", [("`Xᵀ diag(s) X` as `Z.T @ Z`, `Z = sqrt(s)[:, None] * X` "
                                         "(s ≥ 0; NumPy then calls syrk)", "syrk")]),
]

_SYRK = re.compile(r"^(\s*)(\w+) = X\.T @ \(\((.*)\)\[:, None\] \* X\)$", re.M)


def edit_source(src: str, edits):
    """The source with the edits made, or None if one of them does not apply."""
    if edits == "syrk":
        m = _SYRK.search(src)
        if m is None:
            return None
        ind, name, s = m.groups()
        return src[:m.start()] + (f"{ind}_z = np.sqrt({s})[:, None] * X\n"
                                  f"{ind}{name} = _z.T @ _z") + src[m.end():]
    for old, new in edits:
        if old not in src:
            return None
        src = src.replace(old, new)
    return src


def compile_source(src: str):
    namespace: dict = {}
    exec(compile(src, "<edited matcalc code>", "exec"), namespace)  # noqa: S102 (our own)
    fns = [v for k, v in namespace.items() if k.startswith(("d_f_", "d2_f_"))]
    assert len(fns) == 1, list(namespace)
    return fns[0]


def bench_variants(problems, hproblems, libs: Libs, rounds: int, hess_rounds: int,
                   verbose: bool):
    """Rows: (problem, target, variant, seconds, (ratio to generated), ratio to reference
    or None, reference name) — each variant a hand-edited copy of the generated code,
    timed in one group with the generated function and the reference."""
    jax, jnp, torch = libs.jax, libs.jnp, libs.torch
    grad = {p[1]: p for p in problems}
    hess = {p[1] + " Hessian": p for p in hproblems}
    rows = []
    for label, target, variants in VARIANTS:
        if (target == "jax" and jax is None) or (target == "torch" and torch is None):
            rows.append((label, target, "—", None, None, None,
                         libs.jax_note if target == "jax" else libs.torch_note))
            continue
        if label in hess:
            key, _, text, wrt, order, vals, hand, _ = hess[label]
            d = matcalc.diff(text, wrt, order=2)
        else:
            key, _, text, shapes, wrt, order, vals, hand, _ = grad[label]
            d = matcalc.diff(text, wrt, shapes=shapes)
        args = tuple(vals[v] for v in order)
        wi = order.index(wrt)
        ref = hand(*args)
        gen = matcalc.lambdify(d, target)
        if target == "numpy":
            call, wrap, rname = (lambda f: lambda: f(*args)), (lambda f: f), "hand-written NumPy"
            reference = hand
        elif target == "jax":
            jargs = tuple(jax.device_put(a) for a in args)
            call = (lambda f: lambda: jax.block_until_ready(f(*jargs)))
            wrap, rname = jax.jit, "jax.grad"
            reference = jax.jit(jax.grad(jax_losses(jax, jnp)[key], argnums=wi))
        else:
            targs = tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in args)
            call, wrap, rname = (lambda f: lambda: f(*targs)), (lambda f: f), "torch.func.grad"
            reference = torch.func.grad(torch_losses(torch)[key], argnums=wi)
        group = [("generated", call(wrap(gen)))]
        missing = []
        for name, edits in variants:
            src = edit_source(gen.__source__, edits)
            if src is None:
                missing.append(name)
                continue
            if verbose:
                print(f"\n# {label}, {target}, {name}:\n{src}")
            group.append((name, call(wrap(compile_source(src)))))
        group.append((rname, call(wrap(reference) if target == "numpy" else reference)))
        for name, fn in group:
            fn()
            out = fn()
            out = out.detach().numpy() if torch is not None and torch.is_tensor(out) else out
            _, rel = compare(out, ref)
            assert rel < TOL, f"{label}, {target}, {name}: differs by {rel:.2e}"
        runs = interleaved([group], hess_rounds if label in hess else rounds)
        for name, _ in group[1:-1]:
            rows.append((label, target, name, statistics.median(runs[name]),
                         ratio_stats(runs[name], runs["generated"]),
                         ratio_stats(runs[name], runs[rname])[0], rname))
        rows.append((label, target, f"(reference: {rname})", statistics.median(runs[rname]),
                     ratio_stats(runs[rname], runs["generated"]), None, rname))
        for name in missing:
            rows.append((label, target, name, None, None, None,
                         "n/a: the generated code no longer has the text this edit replaces"))
        print(f"  {label:<22} {target:<6} " + ", ".join(
            f"{r[2][:28]} {r[4][0]:.2f}" for r in rows if r[0] == label and r[1] == target
            and r[4] is not None) + "  (time / generated)", flush=True)
    return rows


# ------------------------------------------------------------------ report

def _table(head, body) -> list:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in body]
    return out


def gradient_table(rows) -> tuple[list, list]:
    body, misses = [], []
    for label, sizes, target, rname, g, r, stats, gap in rows:
        if g is None:
            body.append([label, sizes, target, rname, "—", "—", "—", "—", "—", "—"])
            continue
        ratio, q1, q3 = stats
        goal = GOALS[target] if rname != "torch autograd" else None  # the goal: func.grad
        met = goal is None or ratio <= goal
        if not met:
            misses.append(f"{label}, {target}: generated {ratio:.2f}× {rname} "
                          f"(goal ≤ {goal:g}×; quartiles {q1:.2f}–{q3:.2f})")
        body.append([label, sizes, target, rname, fmt_ms(g), fmt_ms(r), f"**{ratio:.2f}**",
                     f"{q1:.2f}–{q3:.2f}",
                     f"≤ {goal:g}: {'yes' if met else 'no'}" if goal is not None else "(none)",
                     f"{gap:.1e}"])
    head = ["problem", "sizes", "target", "reference", "generated ms", "reference ms",
            "gen/ref", "quartiles", "goal met", "max abs diff"]
    return _table(head, body), misses


def hessian_table(rows) -> tuple[list, list]:
    body, misses = [], []
    for r in rows:
        t = r["times"]
        jh = t.get("jax.hessian")
        speed = r["speed"][0] if jh is not None else None
        if speed is not None and speed < GOALS["hessian"]:
            misses.append(f"{r['label']} Hessian: generated NumPy only {speed:.1f}× faster "
                          f"than jax.hessian (goal ≥ {GOALS['hessian']:g}×)")
        body.append([r["label"], r["sizes"], fmt_ms(t["gen numpy"]), fmt_ms(t["hand numpy"]),
                     fmt_ms(t.get("gen jax")), fmt_ms(jh),
                     f"**{speed:.1f}×**" if speed is not None else "—",
                     fmt_bytes(r["mem gen numpy"]), fmt_bytes(r["mem hand numpy"]),
                     fmt_bytes(r.get("mem gen jax")), fmt_bytes(r.get("mem jax.hessian")),
                     f"{r['diff']:.1e}"])
    head = ["problem", "sizes", "gen NumPy ms", "hand NumPy ms", "gen JAX (jit) ms",
            "jax.hessian (jit) ms", "jax.hessian / gen NumPy", "peak gen NumPy",
            "peak hand NumPy", "XLA gen JAX", "XLA jax.hessian", "max abs diff"]
    return _table(head, body), misses


def variants_table(rows) -> list:
    body = []
    for label, target, name, t, stats, to_ref, note in rows:
        if t is None:
            body.append([label, target, name, "—", "—", "—", note])
            continue
        q = f"**{stats[0]:.2f}** ({stats[1]:.2f}–{stats[2]:.2f})"
        body.append([label, target, name, fmt_ms(t), q,
                     f"{to_ref:.2f}" if to_ref is not None else "—", ""])
    head = ["problem", "target", "the generated code, edited by hand", "ms",
            "time / generated (quartiles)", "time / reference", "note"]
    return _table(head, body)


def section(info: dict, grows, hrows, vrows, args) -> str:
    gt, gmiss = gradient_table(grows)
    ht, hmiss = hessian_table(hrows)
    lines = [
        BEGIN,
        "## 5. Generated gradients vs JAX, torch and hand-written NumPy", "",
        f"Written by `python bench/gradients.py` on {time.strftime('%Y-%m-%d')} (this section "
        "only; the script replaces it in place). Every figure is a ratio of two timings "
        "measured side by side in the same run: every round runs each contender of a "
        "problem once, right after an untimed call of its own (so each finds its inputs "
        "equally warm in the cache), in an order rotated every round, a generated "
        "function next to its references; a ratio is the median of the round-by-round "
        f"ratios over {args.rounds} rounds ({args.hess_rounds} for Hessians), with their "
        "quartiles (the noise of a machine shared with other jobs), a time the median, "
        "after a warm-up that compiles the jit functions. Float64 everywhere "
        "(`jax_enable_x64`).", "",
    ]
    if args.smoke:
        lines += ["**Smoke run (`--smoke`): tiny sizes and one round; the figures mean "
                  "nothing.**", ""]
    lines += [
        f"- machine: {info['cpu']}, {os.cpu_count()} cores shared with other jobs",
        f"- versions: Python {platform.python_version()}, NumPy {np.__version__}, "
        f"jax {info['jax']}, torch {info['torch']}; matcalc at {info['rev']}",
        f"- NumPy's BLAS (threadpoolctl, while timing): {info['blas']}",
        f"- torch: {info['torch_threads']}",
        f"- XLA: `XLA_FLAGS={os.environ.get('XLA_FLAGS', '')}`",
        f"- CPU affinity: {info['pinned']}",
        f"- clock: {info['clock']}",
        f"- OpenBLAS environment: {info['unset']}", "",
        "Contenders: *generated* is `matcalc.lambdify(matcalc.diff(f, w), target)` (JAX: "
        "under `jax.jit`); the references are the gradient written by hand in NumPy, "
        "`jax.jit(jax.grad(f))` and `torch.func.grad(f)` / `torch.autograd.grad` of "
        "the loss written by hand in that library (`log1p(exp(·))`, `softmax`, `tanh`). "
        "*gen/ref* > 1: the generated code is slower. Goals: NumPy and JAX ≤ 1.1×, "
        "torch ≤ 1× `torch.func.grad` (autograd is shown, with no goal), Hessians ≥ 3× "
        "faster than `jax.hessian`. *max abs diff*: the "
        "larger difference of the two from the hand-written NumPy gradient.", "",
    ]
    lines += gt + [""]
    lines += [
        "### Hessians", "",
        "`matcalc.diff(f, w, order=2)` as NumPy code against `jax.jit(jax.hessian(f))` "
        "(forward-over-reverse). Peak memory: tracemalloc's peak over one call for NumPy "
        "(the output included); for JAX, XLA's compiled memory analysis, temporaries + "
        "output (the arguments excluded).", ""]
    lines += ht + [""]
    if vrows:
        lines += [
            "### Why: the generated code, edited by hand", "",
            "Each row is a copy of the generated source with one change made by hand "
            "(`bench/gradients.py` makes the edit as a text replacement on the code "
            "matcalc generates now; where that text is gone, the row says so), timed in "
            "one group with the generated function and the reference. *time / "
            "generated* < 1: the edit is faster than what matcalc generates.", ""]
        lines += variants_table(vrows) + [""]
    lines += ["### Goals missed in this run", ""]
    lines += [f"- {m}" for m in gmiss + hmiss] or ["- none"]
    lines += ["", END, ""]
    return "\n".join(lines)


def write_section(path: str, text: str) -> None:
    old = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            old = fh.read()
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        new = head + text + tail
    else:
        new = (old.rstrip("\n") + "\n\n" if old else "") + text
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(new)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes, one round, write nothing unless --out (for the tests)")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (31)")
    ap.add_argument("--hess-rounds", type=int, default=None,
                    help="interleaved rounds of the Hessians (7)")
    ap.add_argument("--out", default=None,
                    help="the file whose section to write (default docs/benchmarks.md; "
                         "with --smoke nothing unless given)")
    ap.add_argument("--no-jax", action="store_true", help="leave jax out")
    ap.add_argument("--no-torch", action="store_true", help="leave torch out")
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="print the generated source of every function")
    ap.add_argument("--cpu", type=int, default=None,
                    help="the CPU to pin the process to, as --cpu=N (default: the last one "
                         "allowed)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    ap.add_argument("--wall", action="store_true",
                    help="time by the wall clock (default: the process's CPU time when pinned)")
    ap.add_argument("--no-why", action="store_true",
                    help="leave out section (3), the hand-edited copies of the generated code")
    args = ap.parse_args(argv)
    args.rounds = args.rounds or (1 if args.smoke else 31)
    args.hess_rounds = args.hess_rounds or (1 if args.smoke else 7)
    out = args.out or (None if args.smoke else os.path.join(ROOT, "docs", "benchmarks.md"))

    global CLOCK
    CLOCK = time.process_time if PINNED is not None and not args.wall else time.perf_counter
    libs = Libs(not args.no_jax, not args.no_torch)
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        threadpool_info = threadpool_limits = None
    limiter = threadpool_limits(1) if threadpool_limits is not None else None

    torch = libs.torch
    info = {
        "cpu": cpu_name(), "rev": matcalc_revision(),
        "jax": libs.jax.__version__ if libs.jax is not None else libs.jax_note,
        "torch": torch.__version__ if torch is not None else libs.torch_note,
        "blas": blas_info(threadpool_info),
        "torch_threads": (f"{torch.get_num_threads()} intra-op thread(s), "
                          f"{torch_blas(torch)}" if torch is not None else libs.torch_note),
        "pinned": (f"the process pinned to CPU {PINNED} (os.sched_setaffinity), so every "
                   "library runs on one core" if PINNED is not None
                   else "not pinned (XLA may use more than one core)"),
        "clock": ("the process's CPU time (`time.process_time`): on one pinned core it is the "
                  "wall time less the time another job had the core"
                  if CLOCK is time.process_time else "the wall clock (`time.perf_counter`)"),
        "unset": ("removed from the benchmark's own environment before NumPy was loaded: "
                  + ", ".join(f"{k}={v}" for k, v in UNSET.items())) if UNSET
        else "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE not set (OpenBLAS chose its kernel)",
    }
    print(f"machine: {info['cpu']}, {os.cpu_count()} cores; Python "
          f"{platform.python_version()}, NumPy {np.__version__}, jax {info['jax']}, "
          f"torch {info['torch']}; matcalc {info['rev']}")
    print(f"BLAS: {info['blas']}")
    print(f"torch: {info['torch_threads']}; XLA_FLAGS={os.environ.get('XLA_FLAGS')!r}")
    print(f"OpenBLAS environment: {info['unset']}")
    print(f"CPU affinity: {info['pinned']}; clock: {info['clock']}")

    rng = np.random.default_rng(0)
    try:
        print(f"\n(1) gradients: median of {args.rounds} interleaved round(s)", flush=True)
        problems = make_problems(args.smoke, rng)
        grows = bench_gradients(problems, libs, args.rounds, args.verbose)
        print(f"\n(2) Hessians: median of {args.hess_rounds} interleaved round(s)", flush=True)
        hproblems = make_hessian_problems(args.smoke, rng)
        hrows = bench_hessians(hproblems, libs, args.hess_rounds, args.verbose)
        vrows = []
        if not args.no_why:
            print(f"\n(3) why: hand-edited copies of the generated code, median of "
                  f"{args.rounds} interleaved round(s) ({args.hess_rounds} for the Hessian)",
                  flush=True)
            vrows = bench_variants(problems, hproblems, libs, args.rounds, args.hess_rounds,
                                   args.verbose)
    finally:
        if limiter is not None:
            limiter.restore_original_limits()

    text = section(info, grows, hrows, vrows, args)
    print("\n" + text.split("\n", 2)[2].rsplit(END, 1)[0].rstrip())
    if out:
        write_section(out, text)
        print(f"\nwrote the section to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
