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
