"""matcalc benchmarks: every figure is a ratio measured side by side in one run.

    python bench/run.py            # the full run; writes docs/benchmarks.md
    python bench/run.py --smoke    # tiny sizes, one repetition, writes nothing

Sections: (1) deriving a shared suite, matcalc vs SymPy's matrix expressions, with
SymPy's answers checked numerically against matcalc's verified evaluator; (2) the
scaling of deriving a k-layer network; (3) generated NumPy code vs hand-written
NumPy; (4) the start-up time of the command line.
"""
from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import matcalc  # noqa: E402
from matcalc.core import expr as E  # noqa: E402


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


def with_timeout(seconds: float, fn, *args):
    """fn(*args), or Timeout after ``seconds`` (SIGALRM; main thread, POSIX)."""
    if not hasattr(signal, "SIGALRM"):
        return fn(*args)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def median_time(fn, reps: int, before=None) -> float:
    out = []
    for _ in range(reps):
        if before:
            before()
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def best_time(fn, reps: int, budget: float = 0.2) -> float:
    """Best time per call: calls batched to about ``budget`` seconds, best of reps."""
    t = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t, 1e-7)
    number = max(1, min(10000, int(budget / one)))
    return min(timeit.Timer(fn).repeat(repeat=reps, number=number)) / number


def fmt_t(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


# ------------------------------------------------------------------ (1) derive

def sympy_suite():
    """(matcalc text, wrt, builder of the SymPy expression and variable)."""
    import sympy as sp
    n, m, p = sp.symbols("n m p", integer=True, positive=True)
    MS = sp.MatrixSymbol
    x, y, u, v = MS("x", n, 1), MS("y", m, 1), MS("u", n, 1), MS("v", n, 1)
    A, X, Xr, B = MS("A", n, n), MS("X", n, n), MS("X", n, m), MS("B", m, p)
    Ap, Am = MS("A", p, n), MS("A", m, n)
    inv, tr, det = sp.Inverse, sp.Trace, sp.Determinant
    r = Am * x - y
    return [
        ("x'@A@x", "x", lambda: (x.T * A * x, x)),
        ("x'@A@x", "A", lambda: (x.T * A * x, A)),
        ("x'@x", "x", lambda: (x.T * x, x)),
        ("tr(A@X)", "X", lambda: (tr(A * X), X)),
        ("tr(A@X@B)", "X", lambda: (tr(Ap * Xr * B), Xr)),
        ("tr(X@X)", "X", lambda: (tr(X * X), X)),
        ("tr(X'@A@X)", "X", lambda: (tr(X.T * A * X), X)),
        ("tr(A@X'@B)", "X", lambda: (tr(MS("A", p, m) * Xr.T * MS("B", n, p)), Xr)),
        ("logdet(X)", "X", lambda: (sp.log(det(X)), X)),
        ("det(X)", "X", lambda: (det(X), X)),
        ("u'@X@v", "X", lambda: (u.T * X * v, X)),
        ("tr(inv(X))", "X", lambda: (tr(inv(X)), X)),
        ("u'@inv(X)@v", "X", lambda: (u.T * inv(X) * v, X)),
        ("tr(A@inv(X)@B)", "X", lambda: (tr(A * inv(X) * MS("B", n, n)), X)),
        ("norm2(A@x - y)^2", "x", lambda: (r.T * r, x)),
        ("W@x", "x", lambda: (MS("W", m, n) * x, x)),
    ]


def _values_for(f: E.Expr, rng) -> dict:
    sizes = [3, 4, 2]
    dims: dict = {}
    vals = {}
    for v in E.variables(f):
        shape = tuple(dims.setdefault(d, sizes[len(dims) % 3]) if isinstance(d, str) else d
                      for d in v.shape)
        a = rng.normal(size=shape)
        if v.name == "X" and len(shape) == 2 and shape[0] == shape[1]:
            a = a @ a.T + 3 * np.eye(shape[0])  # positive definite: logdet, inv behave
        vals[v.name] = a
    return vals


def sympy_numeric(res, vals: dict, var=None):
    """SymPy's answer at the values (MatrixSymbols replaced by numbers), or None."""
    import sympy as sp
    if res.has(sp.Derivative):
        return None
    reps, dimsub = {}, {}
    for ms in res.atoms(sp.MatrixSymbol) | ({var} if var is not None else set()):
        a = np.asarray(vals[ms.name], dtype=float)
        a2 = a.reshape(-1, 1) if a.ndim == 1 else a
        if a.ndim == 1 and ms.shape[0] == 1:
            a2 = a.reshape(1, -1)
        for sym, size in zip(ms.shape, a2.shape):
            if isinstance(sym, sp.Symbol):
                dimsub[sym] = size
        reps[ms] = sp.ImmutableMatrix(a2.tolist())
    r = res.xreplace(reps)
    if dimsub:
        r = r.subs(dimsub)
    r = r.doit()
    if not getattr(r, "is_Matrix", False) and not hasattr(r, "tolist"):
        return np.array(float(sp.N(r)))  # a scalar (e.g. a wrong 0)
    try:
        return np.array(sp.Matrix(r).evalf(), dtype=float)
    except Exception:
        try:
            return np.array(np.asarray(r.tolist() if hasattr(r, "tolist") else r, dtype=object),
                            dtype=float)
        except Exception:
            return np.array(float(sp.N(r)))


def bench_derive(reps: int, cap: float, rows: list, notes: list) -> dict:
    import sympy as sp
    from sympy.core.cache import clear_cache
    rng = np.random.default_rng(0)
    ratios, wrong, cannot = [], [], []
    for text, wrt, build in sympy_suite():
        f = matcalc.parse(text)
        t_mc = median_time(lambda: matcalc.diff(f, wrt), reps)
        d = matcalc.diff(f, wrt)
        vals = _values_for(f, rng)
        ref = d.evaluate(vals)
        e, var = build()
        status = "ok"
        t_sp = None
        try:
            with_timeout(cap, lambda: e.diff(var))  # warm-up (imports, first-use work)
            t_sp = median_time(lambda: with_timeout(cap, lambda: e.diff(var)), reps,
                               before=clear_cache)
            res = e.diff(var)
            got = sympy_numeric(res, vals, var)
            if got is None:
                status = "cannot (unevaluated)"
            else:
                r_ = ref.reshape(-1)
                g = got.reshape(-1) if got.size == r_.size else None
                gt = got.T.reshape(-1) if got.ndim == 2 and got.size == r_.size else None
                if g is not None and (np.allclose(g, r_, rtol=1e-6, atol=1e-9)
                                      or (gt is not None and np.allclose(gt, r_, rtol=1e-6,
                                                                         atol=1e-9))):
                    status = "ok"
                else:
                    status = "WRONG"
                    notes.append(f"SymPy d({text})/d{wrt} = {res} (matcalc: {d.text()})")
        except Timeout:
            status = f"cannot (over {cap:g} s)"
        except Exception as err:  # SymPy raising is "cannot do"
            status = f"cannot ({type(err).__name__}: {str(err)[:60]})"
        if status == "WRONG":
            wrong.append(text)
        elif status != "ok":
            cannot.append(text)
        ratio = (t_sp / t_mc) if t_sp is not None else None
        if ratio is not None and status == "ok":  # a fast wrong answer is no speed
            ratios.append(ratio)
        rows.append((f"d({text})/d{wrt}", fmt_t(t_mc), fmt_t(t_sp) if t_sp else "—",
                     f"{ratio:.1f}×" if ratio else "—", status, d.text()))
        print(f"  {text:>18} d{wrt:<2} matcalc {fmt_t(t_mc):>10}  sympy "
              f"{fmt_t(t_sp) if t_sp else '—':>10}  ratio "
              f"{(f'{ratio:.1f}x') if ratio else '—':>7}  {status}", flush=True)
    med = statistics.median(ratios) if ratios else float("nan")
    return {"median_ratio": med, "wrong": wrong, "cannot": cannot, "n": len(rows)}


# ------------------------------------------------------------------ (2) scaling

def network_text(k: int) -> str:
    h = "x"
    for i in range(1, k + 1):
        h = f"tanh(W{i} @ {h})"
    return f"sum({h})"


def _sympy_network(k: int):
    import sympy as sp
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction as EF
    n = sp.Symbol("n", integer=True, positive=True)
    x = sp.MatrixSymbol("x", n, 1)
    h = x
    for i in range(1, k + 1):
        h = EF(sp.tanh, sp.MatrixSymbol(f"W{i}", n, n) * h)
    return sp.OneMatrix(1, n) * h, x


def bench_scaling(ks, reps: int, cap: float, sympy_max_k: int, rows: list) -> None:
    from sympy.core.cache import clear_cache
    for k in ks:
        text = network_text(k)
        shapes = {"x": "n", **{f"W{i}": "n,n" for i in range(1, k + 1)}}
        f = matcalc.parse(text, shapes)
        t_mc = median_time(lambda: matcalc.diff(f, "x"), reps)
        d = matcalc.diff(f, "x")
        size = E.count_nodes(d.expr)
        t_code = median_time(lambda: matcalc.backends.codegen.to_code(d), reps)
        sp_cell = "skipped (k > %d)" % sympy_max_k
        if k <= sympy_max_k:
            try:
                e, x = _sympy_network(k)
                clear_cache()
                t0 = time.perf_counter()
                with_timeout(cap, lambda: e.diff(x))
                sp_cell = fmt_t(time.perf_counter() - t0)
            except Timeout:
                sp_cell = f"over {cap:g} s"
            except Exception as err:
                sp_cell = f"cannot ({type(err).__name__})"
        rows.append((k, fmt_t(t_mc), size, E.tree_size(d.expr), fmt_t(t_code), sp_cell))
        print(f"  k={k:<3} matcalc {fmt_t(t_mc):>10}  DAG {size:>5} nodes (tree "
              f"{E.tree_size(d.expr)})  codegen {fmt_t(t_code):>9}  sympy {sp_cell}", flush=True)


# ------------------------------------------------------------------ (3) generated code

def _problems(n: int, rng):
    A = rng.normal(size=(n, n)) / np.sqrt(n)
    x = rng.normal(size=n)
    b = rng.normal(size=n)
    X = rng.normal(size=(n, n)) / np.sqrt(n)
    y = np.sign(rng.normal(size=n))
    w = rng.normal(size=n) * 0.1
    return [
        ("least squares", "norm2(A@x - y)^2", "x", {"A": A, "x": x, "y": b},
         lambda A, x, y: (lambda r: r @ r)(A @ x - y),
         lambda A, x, y: 2.0 * (A.T @ (A @ x - y)),
         lambda A, x, y: 2.0 * (A.T @ A)),
        ("logistic regression", "sum(log(1 + exp(-y * (X@w))))", "w", {"y": y, "X": X, "w": w},
         lambda y, X, w: np.sum(np.log1p(np.exp(-y * (X @ w)))),
         lambda y, X, w: -(X.T @ (y / (1.0 + np.exp(y * (X @ w))))),
         lambda y, X, w: (lambda s: X.T @ ((s * (1 - s))[:, None] * X))(
             1.0 / (1.0 + np.exp(-y * (X @ w))))),
        ("quadratic form", "x'@A@x", "x", {"x": x, "A": A},
         lambda x, A: x @ (A @ x),
         lambda x, A: A @ x + A.T @ x,
         lambda x, A: A + A.T),
    ]


def _jax_version():
    try:
        import jax
        return jax.__version__
    except ImportError:
        return None


def bench_codegen(ns, hess_max: int, reps: int, rows: list) -> None:
    rng = np.random.default_rng(1)
    try:
        import jax  # noqa: F401
        have_jax = True
    except ImportError:
        have_jax = False
    for n in ns:
        for name, text, wrt, vals, hf, hg, hh in _problems(n, rng):
            f = matcalc.parse(text)
            order = [v.name for v in E.variables(f)]
            args = [vals[k] for k in order]
            d = matcalc.diff(f, wrt)
            gen = matcalc.lambdify(d)
            gen_v = matcalc.lambdify(d, with_value=True)
            np.testing.assert_allclose(gen(*args), hg(*args), rtol=1e-7, atol=1e-9)
            t_f = best_time(lambda: hf(*args), reps)
            t_hand = best_time(lambda: hg(*args), reps)
            t_gen = best_time(lambda: gen(*args), reps)
            t_both = best_time(lambda: gen_v(*args), reps)
            t_ref = best_time(lambda: d.evaluate(vals), reps) if n <= 1000 else None
            jax_cell = "not installed"
            if have_jax:  # pragma: no cover (jax is not a dependency)
                import jax
                import jax.numpy as jnp
                jf = {"least squares": lambda A, x, b: jnp.sum((A @ x - b) ** 2),
                      "logistic regression": lambda y, X, w: jnp.sum(
                          jnp.log1p(jnp.exp(-y * (X @ w)))),
                      "quadratic form": lambda x, A: x @ (A @ x)}[name]
                wi = order.index(wrt)
                jg = jax.jit(jax.grad(jf, argnums=wi))
                jargs = [jnp.asarray(a) for a in args]
                jg(*jargs).block_until_ready()
                t_jg = best_time(lambda: jg(*jargs).block_until_ready(), reps)
                jax_cell = f"{fmt_t(t_jg)} (gen/jax {t_gen / t_jg:.2f})"
            rows.append((name, n, "gradient", fmt_t(t_hand), fmt_t(t_gen),
                         f"{t_gen / t_hand:.2f}", f"{t_gen / t_f:.2f}",
                         fmt_t(t_both), fmt_t(t_ref) if t_ref else "—", jax_cell))
            print(f"  {name:>20} n={n:<5} grad: hand {fmt_t(t_hand):>10} generated "
                  f"{fmt_t(t_gen):>10} (x{t_gen / t_hand:.2f}); grad/f {t_gen / t_f:.2f}; "
                  f"value+grad {fmt_t(t_both)}; evaluate() "
                  f"{fmt_t(t_ref) if t_ref else '—'}", flush=True)
            if n <= hess_max:
                h = matcalc.diff(f, wrt, order=2)
                genh = matcalc.lambdify(h)
                np.testing.assert_allclose(genh(*args), hh(*args), rtol=1e-7, atol=1e-9)
                t_hh = best_time(lambda: hh(*args), reps)
                t_gh = best_time(lambda: genh(*args), reps)
                jh_cell = "not installed"
                if have_jax:  # pragma: no cover (jax is not a dependency)
                    jh = jax.jit(jax.hessian(jf, argnums=wi))
                    jh(*jargs).block_until_ready()
                    t_jh = best_time(lambda: jh(*jargs).block_until_ready(), reps)
                    jh_cell = f"{fmt_t(t_jh)} (gen/jax {t_gh / t_jh:.2f})"
                rows.append((name, n, "Hessian", fmt_t(t_hh), fmt_t(t_gh),
                             f"{t_gh / t_hh:.2f}", f"{t_gh / t_f:.1f}", "—", "—", jh_cell))
                print(f"  {name:>20} n={n:<5} Hessian: hand {fmt_t(t_hh):>10} generated "
                      f"{fmt_t(t_gh):>10} (x{t_gh / t_hh:.2f})", flush=True)


# ------------------------------------------------------------------ (4) CLI

def _wall(cmd: list, reps: int) -> float:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def bench_cli(reps: int, result: dict) -> None:
    py = sys.executable
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t_py = _wall([py, "-c", "pass"], reps)
    t_cli = _wall([py, "-m", "matcalc", "diff", "sum(w*x+b)", "--wrt", "w"], reps)
    t_sym = _wall([py, "-c", "import sympy"], reps)
    t_np = _wall([py, "-c", "import numpy"], reps)
    p = subprocess.run([py, "-X", "importtime", "-c", "import matcalc.cli"],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    entries = []
    for line in p.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            entries.append((int(parts[1]), parts[2].rstrip()))
    top = sorted(entries, reverse=True)[:8]
    q = subprocess.run([py, "-c", "import sys, matcalc.cli as c; c.main(['diff', 'sum(w*x+b)', "
                        "'--wrt', 'w']); print('SYMPY' if 'sympy' in sys.modules else 'NOSYMPY')"],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    result.update(python=t_py, cli=t_cli, sympy=t_sym, numpy=t_np, top=top,
                  sympy_loaded="NOSYMPY" not in q.stdout)
    print(f"  python -c pass {fmt_t(t_py)}; import numpy {fmt_t(t_np)}; "
          f"matcalc diff {fmt_t(t_cli)}; import sympy {fmt_t(t_sym)} "
          f"(matcalc/sympy = {t_cli / t_sym:.2f}); SymPy imported by the CLI: "
          f"{result['sympy_loaded']}", flush=True)
    for us, name in top[:5]:
        print(f"    {us / 1000:8.1f} ms  {name.strip()}")


# ------------------------------------------------------------------ report

def _table(head, rows) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return "\n".join(out)


def write_report(path, args, derive, drows, notes, srows, crows, cli, plot) -> None:
    lines = [
        "# Benchmarks", "",
        f"Written by `python bench/run.py` on {time.strftime('%Y-%m-%d')} "
        f"(Python {platform.python_version()}, NumPy {np.__version__}, "
        f"SymPy {__import__('sympy').__version__}, {os.cpu_count()} cores shared with "
        "other jobs: treat the figures as ratios, measured side by side in one run).", "",
        "## 1. Deriving: matcalc vs SymPy matrix expressions", "",
        f"{derive['n']} expressions SymPy can state (`MatrixSymbol`, `expr.diff(X)`); "
        f"median over {args.reps} runs each, SymPy's cache cleared before each run. "
        "SymPy's answers are checked numerically against matcalc's evaluator "
        "(itself verified against finite differences in the test suite); either layout "
        "(the matrix or its transpose) is accepted.", "",
        f"- **median time ratio SymPy / matcalc: {derive['median_ratio']:.1f}×** (over the "
        "expressions SymPy gets right)",
        f"- SymPy wrong: {len(derive['wrong'])} ({', '.join(derive['wrong']) or 'none'})",
        f"- SymPy cannot: {len(derive['cannot'])} ({', '.join(derive['cannot']) or 'none'})",
        "",
        _table(["derivative", "matcalc", "SymPy", "SymPy/matcalc", "SymPy result",
                "matcalc's answer"], drows), ""]
    if notes:
        lines += ["SymPy's wrong answers:", ""] + [f"- `{n}`" for n in notes] + [""]
    lines += [
        "## 2. Scaling: k-layer network `sum(tanh(W_k @ ... tanh(W_1 @ x)))` by x", "",
        "DAG size is `matcalc.core.expr.count_nodes` of the gradient; the tree size counts "
        "shared sub-expressions each time they occur (what a printer without sharing "
        "would show). SymPy (`ElementwiseApplyFunction(tanh, W @ h)`, "
        f"`OneMatrix(1, n) @ h`) is tried up to k = {args.sympy_max_k} with a "
        f"{args.cap:g} s cap.", "",
        _table(["k", "matcalc diff", "DAG nodes", "tree nodes", "to_code", "SymPy"], srows),
        "",
        "## 3. Generated NumPy vs hand-written NumPy", "",
        "`matcalc.lambdify(diff(...))` against the gradient a person would write, best of "
        f"{args.reps} batches. *gen/hand* > 1 means the generated code is slower; *grad/f* "
        "is the cost of the generated gradient over the hand-written function value "
        "(the cheap-gradient principle says a small constant). *value+grad* is "
        "`with_value=True`; `evaluate()` is the reference tree-walking evaluator. "
        "The last column is `jax.jit(jax.grad)` (gradient rows) or `jax.jit(jax.hessian)` "
        "(Hessian rows) on the CPU, measured only when jax is installed (it is not a "
        "dependency of matcalc).", "",
        _table(["problem", "n", "what", "hand", "generated", "gen/hand", "grad/f",
                "value+grad", "evaluate()", "jax (jit)"], crows), "",
        "## 4. Command-line start-up", "",
        f"- `python -c pass`: {fmt_t(cli['python'])}",
        f"- `python -c \"import numpy\"`: {fmt_t(cli['numpy'])}",
        f"- `python -m matcalc diff \"sum(w*x+b)\" --wrt w`: {fmt_t(cli['cli'])}",
        f"- `python -c \"import sympy\"`: {fmt_t(cli['sympy'])}",
        f"- **ratio matcalc diff / import sympy: {cli['cli'] / cli['sympy']:.2f}**",
        f"- SymPy imported by the CLI: {'yes' if cli['sympy_loaded'] else 'no'}", "",
        "Top cumulative imports of `python -X importtime -c \"import matcalc.cli\"`:", "",
        _table(["cumulative", "module"], [(f"{us / 1000:.1f} ms", f"`{m.strip()}`")
                                           for us, m in cli["top"]]), "",
    ]
    behind = [f"{r[0]} {r[2]} at n = {r[1]}: generated code {r[5]}× the hand-written time"
              for r in crows if float(r[5]) > 1.1]
    lines += ["## Where matcalc is behind", ""]
    lines += [f"- {b}" for b in behind] or ["- generated code: within 10% of hand-written "
                                            "NumPy in every case measured"]
    lines += [
        f"- start-up: the CLI takes {cli['cli'] / cli['python']:.1f}× a bare `python -c pass` "
        f"and {cli['cli'] / cli['numpy']:.1f}× `import numpy` (NumPy and the Lark grammar "
        "are most of it); SymPy is not imported by the CLI.",
        "- the generated code converts every argument with `asarray` and returns through "
        "`asarray`: a fixed cost of about a microsecond, visible only at tiny sizes.",
        "- derivatives of kind `differential` (matrix by matrix, e.g. d(W x)/dW) get dense "
        "code by einsum over their index form, on every target, and the linear maps "
        "themselves as `--code jvp` / `--code vjp` functions that never form the tensor "
        "([benchmarks_tensor.md](benchmarks_tensor.md)).",
        ("- jax: " + (f"jax {_jax_version()} on the CPU, see the last column of section 3."
                      if _jax_version() else "not installed here, so not compared.")),
        '- noise: the machine is shared with other jobs and BLAS threads compete, so '
        'single figures jump (the same n = 1000 mat-vec measured about 1 ms and 30 ms '
        'in one run); gen/hand ratios between about 0.8 and 1.25 are within that noise.'
        " The logistic gradient's gap at small n is real: the generated code writes `y "
        '* (1 / (1 + e)) * e` as the derivation gives it, three element-wise passes '
        'more than the hand-written `y / (1 + exp(y z))`.',
        f"- scaling: the derivative's DAG grows linearly in k ({srows[-1][2]} nodes at "
        f"k = {srows[-1][0]}), deriving takes {srows[-1][1]} there; SymPy: "
        + ", ".join(f"k = {r[0]}: {r[5]}" for r in srows if not r[5].startswith("skipped"))
        + ".", ""]
    if plot:
        lines += [f"![scaling]({os.path.basename(plot)})", ""]
    lines += _kept_sections(path)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))


def _kept_sections(path) -> list:
    """The sections other scripts write into the same page (bench/gradients.py's,
    between its begin and end markers), kept as they are."""
    try:
        with open(path, encoding="utf-8") as fh:
            old = fh.read()
    except OSError:
        return []
    begin, end = "<!-- bench/gradients.py: begin -->", "<!-- bench/gradients.py: end -->"
    if begin not in old or end not in old:
        return []
    block = old[old.index(begin):old.index(end) + len(end)]
    return [block, ""]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes, one repetition, write nothing (for the tests)")
    ap.add_argument("--out", default=None,
                    help="where to write the report (default docs/benchmarks.md; "
                         "with --smoke nothing unless given)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.reps, args.cap, args.sympy_max_k = 1, 5.0, 2
        ks, ns, hess_max = [1, 2, 4], [20], 20
    else:
        args.reps, args.cap, args.sympy_max_k = 5, 20.0, 8
        ks, ns, hess_max = [1, 2, 4, 8, 16, 32, 64], [100, 1000, 4000], 1000
    out = args.out or (None if args.smoke else os.path.join(ROOT, "docs", "benchmarks.md"))

    print("(1) derive: matcalc vs SymPy", flush=True)
    drows, notes = [], []
    derive = bench_derive(args.reps, args.cap, drows, notes)
    print(f"  median SymPy/matcalc time ratio {derive['median_ratio']:.1f}x; SymPy wrong "
          f"{len(derive['wrong'])}, cannot {len(derive['cannot'])} of {derive['n']}")
    print("(2) scaling: k-layer tanh network", flush=True)
    srows: list = []
    bench_scaling(ks, args.reps, args.cap, args.sympy_max_k, srows)
    print("(3) generated code vs hand-written NumPy", flush=True)
    crows: list = []
    bench_codegen(ns, hess_max, 1 if args.smoke else 3, crows)
    print("(4) command-line start-up", flush=True)
    cli: dict = {}
    bench_cli(1 if args.smoke else 5, cli)

    plot = None
    if out:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            plot = os.path.splitext(out)[0] + "_scaling.png"
            fig, ax = plt.subplots(figsize=(5, 3.5))
            ax.loglog([r[0] for r in srows], [r[2] for r in srows], "o-", label="DAG nodes")
            ax.loglog([r[0] for r in srows], [r[3] for r in srows], "s--", label="tree nodes")
            ax.set_xlabel("layers k")
            ax.legend()
            fig.tight_layout()
            fig.savefig(plot)
        except ImportError:
            plot = None
        write_report(out, args, derive, drows, notes, srows, crows, cli, plot)
        print(f"wrote {out}" + (f" and {plot}" if plot else " (no plot: matplotlib missing)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
