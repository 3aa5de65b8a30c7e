"""A bounded load test of ``matcalc serve`` on loopback.

    python bench/web_load.py                  # 20 clients for 20 s, cache off, then on
    python bench/web_load.py --smoke          # 2 clients for 2 s, for the tests

It starts the real server (``python -m matcalc serve --port 0``) in its own process,
then runs ``--clients`` threads, each with one keep-alive connection, sending the
mixed requests of :data:`REQUESTS` (parse, diff with the page's extras, verify; the
paper's examples, the Matrix Cookbook's, networks, a bad expression) one after
another for ``--seconds``. It prints the throughput, the latency's p50, p99 and
maximum, and the count of each status; an error is a 5xx, a 429 or a failed
connection. Two runs: every request new (its variables renamed, the server's cache
off: nothing can be answered from memory), and the same 16 requests again with the
server's cache on (a page asking again for what it asked before).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PAGE = ["code", "steps_latex"]  # what the page asks for with every derivative
# {i} is a number that makes each request new (the variables renamed: x -> x17), so that
# no cache of the server or of the library can answer it
REQUESTS = [
    ("parse", {"expression": "max(0, dot(w{i}, x{i}) + b{i})"}),
    ("diff", {"expression": "max(0, dot(w{i}, x{i}) + b{i})", "wrt": ["w{i}"],
              "extras": PAGE}),
    ("diff", {"expression": "mean((y{i} - max(0, X{i}@w{i} + b{i}))^2)", "wrt": ["w{i}"],
              "shapes": {"X{i}": "N,n"}, "extras": PAGE}),
    ("diff", {"expression": "x{i}'@A{i}@x{i}", "wrt": ["x{i}"], "order": 2, "extras": PAGE}),
    ("diff", {"expression": "logdet(X{i})", "wrt": ["X{i}"], "layout": "mixed",
              "extras": PAGE}),
    ("diff", {"expression": "-sum(y{i} * log(softmax(W{i}@x{i})))", "wrt": ["W{i}"],
              "shapes": {"y{i}": "k,prob", "W{i}": "k,n"}, "extras": PAGE}),
    ("parse", {"expression": "0.5*sum((tanh(X{i} @ W{i} + h{i}) @ V{i} + c{i} - Y{i})**2)",
               "shapes": {"X{i}": "N,n", "W{i}": "n,h", "h{i}": "h", "V{i}": "h,k",
                          "c{i}": "k", "Y{i}": "N,k"}}),
    ("diff", {"expression": "0.5*sum((tanh(X{i} @ W{i} + h{i}) @ V{i} + c{i} - Y{i})**2)",
              "wrt": ["W{i}"], "shapes": {"X{i}": "N,n", "W{i}": "n,h", "h{i}": "h",
                                          "V{i}": "h,k", "c{i}": "k", "Y{i}": "N,k"},
              "extras": PAGE}),
    ("diff", {"expression": "sum(G{i} * (softmax(Q{i} @ K{i}.T / 2, axis=1) @ V{i}))",
              "wrt": ["Q{i}"], "shapes": {"Q{i}": "N,d", "K{i}": "M,d", "V{i}": "M,e",
                                          "G{i}": "N,e"}, "extras": PAGE}),
    ("diff", {"expression": "tr(A{i}@X{i}@B{i})", "wrt": ["X{i}"], "extras": PAGE}),
    ("diff", {"expression": "inv(X{i})", "wrt": ["X{i}"], "extras": PAGE}),
    ("diff", {"expression": "tanh(W{i}@x{i})", "wrt": ["W{i}"], "extras": PAGE}),
    ("diff", {"expression": "sum(log(1 + exp(-y{i} * (X{i}@w{i}))))", "wrt": ["w{i}"],
              "order": 2, "shapes": {"X{i}": "N,n"}, "extras": PAGE}),
    ("diff", {"expression": "sum(w{i}*x{i}+b{i}", "wrt": ["w{i}"]}),  # a typo: a 422
    ("verify", {"expression": "x{i}'@A{i}@x{i}", "wrt": ["x{i}"]}),
    ("verify", {"expression": "logdet(X{i})", "wrt": ["X{i}"]}),
]


def request(k: int, distinct: bool) -> tuple[str, str]:
    """The k-th request: its endpoint and body; the names numbered by k if ``distinct``
    (else by 0: the same 16 requests again and again)."""
    endpoint, body = REQUESTS[k % len(REQUESTS)]
    i = k if distinct else 0
    text = json.dumps(body).replace("{i}", str(i))
    return endpoint, text


def start_server(cache: int, workers: int):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "matcalc", "serve", "--port", "0",
                             "--workers", str(workers), "--cache", str(cache)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not m:
        proc.kill()
        raise SystemExit(f"the server did not start: {line}{proc.stderr.read()}")
    return proc, int(m.group(1))


def client(port: int, offset: int, step: int, distinct: bool, until: float, out: list,
           lock: threading.Lock) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    k = offset
    mine = []
    while time.perf_counter() < until:
        endpoint, data = request(k, distinct)
        k += step
        t0 = time.perf_counter()
        try:
            conn.request("POST", f"/api/{endpoint}", data,
                         {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            status = r.status
        except (OSError, http.client.HTTPException):
            status = "connection failed"
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine.append((endpoint, status, time.perf_counter() - t0))
    conn.close()
    with lock:
        out.extend(mine)


def percentile(sorted_values: list, p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def run(clients: int, seconds: float, cache: int, workers: int, distinct: bool) -> dict:
    proc, port = start_server(cache, workers)
    try:
        results: list = []
        lock = threading.Lock()
        t0 = time.perf_counter()
        until = t0 + seconds
        threads = [threading.Thread(target=client, args=(port, i, clients, distinct, until,
                                                         results, lock))
                   for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(30)
    latencies = sorted(r[2] for r in results)
    statuses = Counter(r[1] for r in results)
    errors = sum(n for s, n in statuses.items()
                 if not isinstance(s, int) or s >= 500 or s == 429)
    by_endpoint = {e: sorted(r[2] for r in results if r[0] == e)
                   for e in ("parse", "diff", "verify")}
    return {"requests": len(results), "seconds": elapsed,
            "throughput": len(results) / elapsed, "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99), "max": latencies[-1],
            "statuses": dict(statuses), "errors": errors,
            "p50_by_endpoint": {e: percentile(v, 50) for e, v in by_endpoint.items() if v}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--smoke", action="store_true", help="2 clients, 2 s, cache off only")
    args = ap.parse_args(argv)
    if args.smoke:
        args.clients, args.seconds = 2, 2
    print(f"{args.clients} clients, {args.seconds:g} s each run, {args.workers} worker "
          f"processes, {len(REQUESTS)} mixed requests, {os.cpu_count()} CPUs")
    failed = False
    runs = [("every request new (cache off)", 0, True),
            ("the same 16 requests again (cache of 256 answers)", 256, False)]
    for title, cache, distinct in runs[:1] if args.smoke else runs:
        r = run(args.clients, args.seconds, cache, args.workers, distinct)
        print(f"{title}: {r['requests']} "
              f"requests in {r['seconds']:.1f} s = {r['throughput']:.1f} requests/s; "
              f"latency p50 {r['p50'] * 1000:.0f} ms, p99 {r['p99'] * 1000:.0f} ms, "
              f"max {r['max'] * 1000:.0f} ms; errors {r['errors']}")
        print(f"  statuses: {', '.join(f'{k}: {v}' for k, v in sorted(r['statuses'].items(), key=str))}")
        print("  p50 by endpoint: " + ", ".join(f"{e} {v * 1000:.0f} ms"
                                                for e, v in r["p50_by_endpoint"].items()))
        failed = failed or r["errors"] > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
