"""bench/tensor.py --smoke runs end to end (tiny sizes, one repetition, writes
nothing). No assertion on a wall-clock time."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_tensor_bench_smoke_runs(tmp_path):
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "tensor.py"), "--smoke"],
                       capture_output=True, text=True, cwd=str(tmp_path), timeout=300)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "(1) memory" in p.stdout and "(2) inv(X) by X" in p.stdout
    assert not os.listdir(tmp_path)  # --smoke writes nothing
