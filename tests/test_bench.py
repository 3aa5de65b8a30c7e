"""bench/run.py --smoke and bench/architecture.py --smoke run end to end (tiny sizes,
one repetition, writes nothing).

No assertion on a wall-clock time: benchmarks print ratios, tests only check they run."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_smoke_runs(tmp_path):
    pytest.importorskip("sympy")
    out = tmp_path / "bench.md"
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--smoke",
                        "--out", str(out)], capture_output=True, text=True, env=env,
                       cwd=str(tmp_path), timeout=120)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    for section in ("(1) derive", "(2) scaling", "(3) generated code", "(4) command-line"):
        assert section in p.stdout
    text = out.read_text(encoding="utf-8")
    assert "# Benchmarks" in text and "SymPy" in text


def test_architecture_bench_smoke_runs(tmp_path):
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "architecture.py"),
                        "--smoke"], capture_output=True, text=True, cwd=str(tmp_path),
                       timeout=120)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    for row in ("parse sum(w*x+b)", "Derivative.evaluate", "nested scalar functions",
                "k-layer network"):
        assert row in p.stdout
    assert "time ~ k^" in p.stdout


def test_batched_bench_smoke_runs(tmp_path):
    """bench/batched.py --smoke: generated code, hand-written NumPy (and jax.grad where
    installed) agree and are timed, at tiny sizes."""
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "batched.py"),
                        "--smoke"], capture_output=True, text=True, cwd=str(tmp_path),
                       timeout=120, env=dict(os.environ, PYTHONPATH=ROOT))
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    for row in ("softmax CE, by W", "MLP, by W1", "gen/hand"):
        assert row in p.stdout


def test_gradients_bench_smoke_runs(tmp_path):
    """bench/gradients.py --smoke: generated gradients and Hessians against hand-written
    NumPy (and jax.grad / torch.func.grad where installed) agree and are timed at tiny
    sizes; the section it writes into the report replaces its own and nothing else. A
    second run with jax and torch made unimportable says "not installed" in their cells."""
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nkept before\n", encoding="utf-8")
    script = os.path.join(ROOT, "bench", "gradients.py")
    blocked = tmp_path / "blocked"
    for name in ("jax", "torch"):
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(f"raise ImportError('{name} blocked')\n")
    for pythonpath in (ROOT, os.pathsep.join([str(blocked), ROOT])):
        p = subprocess.run([sys.executable, script, "--smoke", "--out", str(out)],
                           capture_output=True, text=True, cwd=str(tmp_path), timeout=300,
                           env=dict(os.environ, PYTHONPATH=pythonpath))
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
        for section in ("(1) gradients", "(2) Hessians", "(3) why", "BLAS:"):
            assert section in p.stdout
        text = out.read_text(encoding="utf-8")
        assert text.startswith("# Benchmarks\n\nkept before\n")
        assert text.count("## 5. Generated gradients") == 1
        for row in ("logistic loss", "least squares", "quadratic form", "softmax CE",
                    "MLP by W1", "MLP by W2", "### Hessians", "### Why", "max abs diff"):
            assert row in text
    assert "not installed" in text and "jax not installed" in p.stdout
