"""The web page's JSON API through Starlette's test client: every endpoint, and every
kind of bad request answered with a 4xx and a JSON message (never a 500), the time
budget enforced, and the server serving on after a request that ran out of time."""
from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from matcalc.web.api import Budgets, read_request  # noqa: E402
from matcalc.web.app import STATIC, create_app  # noqa: E402
from matcalc.web.pool import Pool  # noqa: E402
from web_helpers import deep  # noqa: E402

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(workers=2), base_url="http://127.0.0.1") as c:
        yield c


def post(client, endpoint, body, headers=JSON):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(f"/api/{endpoint}", content=data, headers=headers)


def error_of(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    err = response.json()["error"]
    assert err["message"] and err["kind"]
    return err


def cli_json(*args):
    out = subprocess.run([sys.executable, "-m", "matcalc", "diff", *args, "--format", "json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


# ------------------------------------------------------------------------ parse

def test_parse_lists_every_symbol_with_its_inferred_shape(client):
    r = post(client, "parse", {"expression": "sum(W@x + h) + c", "shapes": {"W": "m,n"}})
    assert r.status_code == 200
    data = r.json()
    assert data["shape"] == [] and data["description"] == "scalar"
    assert [s["name"] for s in data["symbols"]] == ["W", "x", "h", "c"]
    by = {s["name"]: s for s in data["symbols"]}
    assert by["W"] == {"name": "W", "shape": ["m", "n"], "structure": None, "spec": "m,n",
                       "description": "matrix (m×n)", "declared": True}
    assert by["x"]["spec"] == "n" and not by["x"]["declared"]
    assert by["h"]["spec"] == "m" and by["c"]["spec"] == "scalar"
    assert data["input"]["latex"].startswith("\\operatorname{sum}")
    assert data["warnings"] == []


def test_parse_shows_structures_and_warnings(client):
    r = post(client, "parse", {"expression": "x'@S@x + sum(mu)", "shapes": {"S": "n,n,spd"}})
    data = r.json()
    by = {s["name"]: s for s in data["symbols"]}
    assert by["S"]["spec"] == "n,n,spd" and by["S"]["structure"] == "spd"
    assert "positive definite" in by["S"]["description"]
    # the hint names the page's own way to declare a shape
    assert any("mu is taken as a scalar" in w and "shape of mu: n" in w
               for w in data["warnings"]), data["warnings"]


def test_parse_in_the_matlab_dialect(client):
    r = post(client, "parse", {"expression": "x'*A*x", "dialect": "matlab"})
    assert r.status_code == 200 and r.json()["input"]["unicode"] == "xᵀAx"
    # the default dialect: element-wise, with the hint in the page's words
    (warning,) = post(client, "parse", {"expression": "x'*A*x"}).json()["warnings"]
    assert "x' @ A @ x" in warning and "(or use the matlab dialect" in warning


# ------------------------------------------------------------------------- diff

CASES = [
    ({"expression": "sum(w*x+b)", "wrt": ["w"]}, ["sum(w*x+b)", "--wrt", "w"]),
    ({"expression": "x'@A@x", "wrt": "x", "layout": "denominator"},
     ["x'@A@x", "--wrt", "x", "--layout", "denominator"]),
    ({"expression": "logdet(X)", "wrt": ["X"], "layout": "mixed"},
     ["logdet(X)", "--wrt", "X", "--layout", "mixed"]),
    ({"expression": "mean((y - max(0, X@w + b))^2)", "wrt": ["w"], "shapes": {"X": "N,n"}},
     ["mean((y - max(0, X@w + b))^2)", "--wrt", "w", "--shape", "X=N,n"]),
    ({"expression": "x'*A*x", "wrt": ["x"], "dialect": "matlab", "order": 2},
     ["x'*A*x", "--wrt", "x", "--dialect", "matlab", "--order", "2"]),
    ({"expression": "inv(X)", "wrt": ["X"]}, ["inv(X)", "--wrt", "X"]),
]


@pytest.mark.parametrize("body,argv", CASES, ids=[c[0]["expression"] for c in CASES])
def test_diff_answers_the_schema_of_format_json(client, body, argv):
    r = post(client, "diff", body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data.pop("warnings") == []
    assert data == cli_json(*argv)


def test_diff_by_several_gives_a_list_and_order_2_every_block(client):
    body = {"expression": "sum(log(1 + exp(-y * (X@w + b))))", "wrt": ["w", "b"],
            "shapes": {"X": "N,n"}}
    data = post(client, "diff", body).json()
    assert [d["wrt"] for d in data] == ["w", "b"]
    data = post(client, "diff", dict(body, order=2)).json()
    assert [d.get("wrts", [d["wrt"]] * 2) for d in data] == [["w", "w"], ["w", "b"],
                                                           ["b", "b"]]
    assert all(d["order"] == 2 for d in data)


def test_diff_extras_steps_and_code(client):
    r = post(client, "diff", {"expression": "max(0, dot(w, x) + b)", "wrt": ["w"],
                              "extras": ["code", "steps_latex"]})
    data = r.json()
    assert data["steps_latex"].startswith("\\begin{align*}")
    assert "\\intertext" in data["steps_latex"]
    assert data["steps_latex"].rstrip().endswith("\\end{align*}")
    for target in ("numpy", "jax", "torch"):
        code = data["code"][target]
        assert "def " in code and f"import {target}" in code
        compile(code, f"<{target}>", "exec")  # shown on the page, never run by the server


def test_diff_kronecker_and_index_forms(client):
    data = post(client, "diff", {"expression": "X.T@A", "wrt": ["X"]}).json()
    kron = data["kronecker"]
    assert kron["commutation"] is True and "\\otimes" in kron["latex"]
    assert kron["equation"].startswith("\\frac{\\partial \\operatorname{vec}(f)}")
    assert "⊗" in kron["unicode"]
    assert data["index"]["latex"]
    assert "kronecker" not in post(client, "diff", {"expression": "sum(w*x)",
                                                   "wrt": "w"}).json()


# ----------------------------------------------------------------------- verify

def test_verify_reports_every_check(client):
    r = post(client, "verify", {"expression": "logdet(X)", "wrt": ["X"], "dims": "2,3"})
    data = r.json()
    (report,) = data["reports"]
    assert report["derivative"] == "d/dX" and report["ok"] and report["proved"]
    lines = [c["line"] for c in report["checks"]]
    assert lines[:2] == ["symbolic (n=2): holds", "symbolic (n=3): holds"]
    assert lines[2].startswith("numeric: max rel err")


def test_verify_of_each_block(client):
    data = post(client, "verify", {"expression": "sum(w*x+b)", "wrt": ["w", "b"],
                                   "dims": [2]}).json()
    assert [r["derivative"] for r in data["reports"]] == ["d/dw", "d/db"]
    assert all(r["ok"] for r in data["reports"])


@pytest.mark.parametrize("dims", ["9", "2,3,4,5,6", "a", [0], [2.5], "", {"n": 2}])
def test_verify_bad_dims(client, dims):
    err = error_of(post(client, "verify", {"expression": "x'@x", "wrt": "x",
                                           "dims": dims}), 422)
    assert err["field"] == "dims"


# ------------------------------------------------------------------ bad requests

def test_malformed_json(client):
    err = error_of(post(client, "diff", b'{"expression": "x", "wrt": '), 400)
    assert "not JSON" in err["message"]
    err = error_of(post(client, "diff", b"\xff\xfe{}"), 400)
    assert "UTF-8" in err["message"]


@pytest.mark.parametrize("body", ["[]", '"x"', "3", "null"])
def test_body_must_be_an_object(client, body):
    err = error_of(post(client, "parse", body), 400)
    assert "JSON object" in err["message"]


def test_content_type_must_be_json(client):
    for headers in ({}, {"Content-Type": "text/plain"},
                    {"Content-Type": "application/x-www-form-urlencoded"}):
        err = error_of(post(client, "diff", {"expression": "x", "wrt": "x"}, headers), 415)
        assert "application/json" in err["message"]


@pytest.mark.parametrize("endpoint,body,field", [
    ("parse", {}, "expression"),
    ("diff", {"expression": "x'@x"}, "wrt"),
    ("verify", {"wrt": "x"}, "expression"),
])
def test_missing_fields(client, endpoint, body, field):
    err = error_of(post(client, endpoint, body), 422)
    assert err["field"] == field and "required" in err["message"]


@pytest.mark.parametrize("body,field", [
    ({"expression": 3, "wrt": "x"}, "expression"),
    ({"expression": "  ", "wrt": "x"}, "expression"),
    ({"expression": "x'@x", "wrt": 3}, "wrt"),
    ({"expression": "x'@x", "wrt": []}, "wrt"),
    ({"expression": "x'@x", "wrt": ["x", 1]}, "wrt"),
    ({"expression": "x'@x", "wrt": ["x"] * 65}, "wrt"),
    ({"expression": "x'@x", "wrt": "x", "order": 4}, "order"),
    ({"expression": "x'@x", "wrt": "x", "order": True}, "order"),
    ({"expression": "x'@x", "wrt": "x", "order": "2"}, "order"),
    ({"expression": "x'@x", "wrt": "x", "layout": "columns"}, "layout"),
    ({"expression": "x'@x", "wrt": "x", "dialect": "octave"}, "dialect"),
    ({"expression": "x'@x", "wrt": "x", "style": "plain"}, "style"),  # not a field
    ({"expression": "x'@x", "wrt": "x", "extras": ["pdf"]}, "extras"),
    ({"expression": "x'@x", "wrt": "x", "extras": "code"}, "extras"),
    ({"expression": "x'@x", "wrt": "x", "shapes": ["x"]}, "shapes"),
    ({"expression": "x'@x", "wrt": "x", "shapes": {"x": 3}}, "shapes.x"),
    ({"expression": "x'@x", "wrt": "x", "shapes": {"x": ["n", {}]}}, "shapes.x"),
    ({"expression": "x'@x", "wrt": "x", "shape": {"x": "n"}}, "shape"),
])
def test_fields_of_the_wrong_type(client, body, field):
    err = error_of(post(client, "diff", body), 422)
    assert err["field"] == field, err


def test_unknown_field_names_the_known_ones(client):
    err = error_of(post(client, "diff", {"expression": "x", "wrt": "x", "shape": {}}), 422)
    assert "unknown field 'shape'" in err["message"] and "shapes" in err["message"]


def test_bad_expression_has_its_line_column_and_caret(client):
    err = error_of(post(client, "diff", {"expression": "sum(w*x +)", "wrt": "w"}), 422)
    assert err["kind"] == "parse error" and err["field"] == "expression"
    assert (err["line"], err["column"]) == (1, 10)
    assert err["text"].endswith("  sum(w*x +)\n           ^")
    err = error_of(post(client, "parse", {"expression": "x +\n  tnh(x)"}), 422)
    assert (err["line"], err["column"]) == (2, 3) and "did you mean tanh?" in err["message"]


def test_shape_error_is_located(client):
    err = error_of(post(client, "diff", {"expression": "W@x + y", "wrt": "x",
                                         "shapes": {"W": "m,n", "y": "k"}}), 422)
    assert err["kind"] == "shape error" and err["field"] == "expression"
    assert err["column"] == 5  # the + that adds an m-vector to a k-vector


def test_bad_declaration_names_its_entry(client):
    err = error_of(post(client, "diff", {"expression": "x'@S@x", "wrt": "x",
                                         "shapes": {"S": "n,m,sym"}}), 422)
    assert err["field"] == "shapes.S" and "square" in err["message"]
    err = error_of(post(client, "parse", {"expression": "x", "shapes": {"x": "n,m,k"}}), 422)
    assert err["field"] == "shapes.x"


def test_unknown_wrt(client):
    err = error_of(post(client, "diff", {"expression": "tanh(W@x)", "wrt": "w"}), 422)
    assert "w" in err["message"]
    err = error_of(post(client, "diff", {"expression": "x'@x", "wrt": "x y"}), 422)
    assert "bad wrt" in err["message"]


def test_huge_input_is_refused_before_it_is_read(client):
    big = json.dumps({"expression": "x+" * 20_000 + "x", "wrt": "x"})
    err = error_of(post(client, "diff", big), 413)
    assert "at most 20,000" in err["message"]

    def chunks():  # no Content-Length: the stream is cut at the limit
        for _ in range(100):
            yield b" " * 1000
    r = client.post("/api/parse", content=chunks(), headers=JSON)
    assert error_of(r, 413)["kind"] == "too large"


def test_wrong_method_and_path_are_json(client):
    err = error_of(client.get("/api/diff"), 405)
    assert "Method Not Allowed" in err["message"]
    error_of(client.post("/api/nothing", content=b"{}", headers=JSON), 404)


def test_only_local_host_names(client):
    r = client.get("/", headers={"Host": "attacker.example"})
    assert r.status_code == 400  # a page of another site rebinding its name to 127.0.0.1


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3), max_leaves=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(["parse", "diff", "verify"]),
       body=st.fixed_dictionaries({}, optional={
           "expression": st.sampled_from(["x'@x", "tanh(W@x)", "sum(", "x@@y", "A\\B"])
           | st.text(max_size=10) | _json_values,
           "wrt": st.sampled_from(["x", ["x", "W"], "W", "zz", ""]) | _json_values,
           "shapes": st.dictionaries(st.sampled_from(["x", "W", "b"]),
                                     st.sampled_from(["n", "m,n", "n,n,sym", "bad,", "3"])
                                     | _json_values, max_size=2) | _json_values,
           "order": st.integers(0, 4) | _json_values,
           "layout": st.sampled_from(["numerator", "mixed", "x"]),
           "dims": st.sampled_from(["2", [2, 3], "0"]),
       }))
def test_no_body_gets_a_500(client, endpoint, body):
    r = post(client, endpoint, body)
    assert r.status_code in (200, 400, 413, 422), r.text
    assert r.headers["content-type"] == "application/json"
    if r.status_code != 200:
        assert r.json()["error"]["message"]


# --------------------------------------------------------------------- budgets

def test_time_budget_is_enforced_and_the_server_serves_on():
    budgets = Budgets(diff_seconds=0.3, verify_seconds=0.3, grace_seconds=2)
    with TestClient(create_app(workers=1, budgets=budgets, cache=0),
                    base_url="http://127.0.0.1") as c:
        err = error_of(post(c, "diff", {"expression": deep(128), "wrt": "x"}), 422)
        assert err["kind"] == "time limit" and "0.3 s" in err["message"]
        # the worker stopped its own work: it was not killed, and it answers again
        assert post(c, "diff", {"expression": "x'@x", "wrt": "x"}).status_code == 200
        assert c.get("/api/health").json()["restarts"] == 0


def test_a_stuck_worker_is_killed_and_replaced():
    """Work stuck in one C call is beyond the worker's own deadline: the pool kills the
    worker after the budget plus grace, answers 422, and starts another."""
    from web_helpers import stuck_answer

    async def scenario():
        pool = Pool(1, Budgets(diff_seconds=0.2, grace_seconds=0.5), handler=stuck_answer)
        await pool.start()
        try:
            req = read_request("diff", b'{"expression": "stuck()", "wrt": "x"}')
            status, body, keep = await pool.run(req)
            assert status == 422 and not keep
            assert b"was stopped" in body
            assert pool.restarts == 1
            ok = await pool.run(dict(req, expression="x'@x"))
            assert ok[0] == 200
        finally:
            await pool.close()
    asyncio.run(scenario())


def test_a_full_queue_answers_429():
    async def scenario():
        pool = Pool(1, queue=0)
        await pool.start()
        try:
            status, body, _ = await pool.run(read_request("parse", b'{"expression": "x"}'))
            assert status == 429 and b"busy" in body
        finally:
            await pool.close()
    asyncio.run(scenario())


def test_no_free_worker_in_time_answers_429():
    from web_helpers import stuck_answer

    async def scenario():
        pool = Pool(1, Budgets(diff_seconds=5, grace_seconds=0.5, queue_seconds=0.3),
                    handler=stuck_answer)
        await pool.start()
        try:
            req = read_request("parse", b'{"expression": "stuck()"}')
            stuck = asyncio.ensure_future(pool.run(req))
            await asyncio.sleep(0.1)
            status, body, _ = await pool.run(dict(req, expression="x"))
            assert status == 429 and b"no worker was free for 0.3 s" in body
            stuck.cancel()
        finally:
            await pool.close()
    asyncio.run(scenario())


def test_output_budget():
    budgets = Budgets(max_response_bytes=5_000)
    with TestClient(create_app(workers=1, budgets=budgets), base_url="http://127.0.0.1") as c:
        err = error_of(post(c, "diff", {"expression": deep(6), "wrt": "x",
                                        "extras": ["code", "steps_latex"]}), 422)
        assert err["kind"] == "limit exceeded" and "5,000" in err["message"]


# ------------------------------------------------------------------ the page

def test_page_and_assets_are_local(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    # every asset the page names is served from this package, none from elsewhere
    html = r.text
    assets = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert any(a.endswith("katex.min.js") for a in assets)
    for asset in (a for a in assets if not a.startswith("data:")):  # an empty favicon
        assert asset.startswith("/static/"), asset
        assert client.get(asset).status_code == 200, asset
    for path in STATIC.rglob("*"):
        if path.suffix in (".html", ".js", ".css"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"(?:src|href|url)\s*[=(]\s*[\"']?(?:https?:)?//", text), path
    css = client.get("/static/katex/katex.min.css").text
    for font in set(re.findall(r"url\((fonts/[^)]+\.woff2)\)", css)):
        assert client.get(f"/static/katex/{font}").status_code == 200, font


def test_health(client):
    data = client.get("/api/health").json()
    assert data["ok"] and data["workers"] == 2


# --------------------------------------------------------------- the command

def test_serve_prints_its_address_and_serves(tmp_path):
    import urllib.request
    proc = subprocess.Popen([sys.executable, "-m", "matcalc", "serve", "--port", "0",
                             "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        m = re.fullmatch(r"matcalc: serving on (http://127\.0\.0\.1:\d+/)  \(Ctrl-C to stop\)\n",
                         line)
        assert m, line + proc.stderr.read() if proc.poll() is not None else line
        with urllib.request.urlopen(m.group(1) + "api/health", timeout=10) as r:
            assert json.load(r)["ok"]
    finally:
        proc.send_signal(2)  # Ctrl-C
        assert proc.wait(20) == 0


@pytest.mark.parametrize("args,message", [
    (["--port", "70000"], "bad port '70000'"),
    (["--workers", "0"], "bad number of workers '0'"),
    (["--host", "no.such.host.invalid"], "cannot listen on no.such.host.invalid"),
])
def test_serve_bad_options(args, message):
    r = subprocess.run([sys.executable, "-m", "matcalc", "serve", *args],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_serve_without_the_web_extra_says_what_to_install():
    code = ("import sys; sys.modules['uvicorn'] = None; from matcalc.cli import main; "
            "sys.exit(main(['serve', '--port', '0']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == ('matcalc: usage error: matcalc serve needs the web extra (uvicorn '
                        'is not installed): pip install "matcalc-symbolic[web]"\n')
