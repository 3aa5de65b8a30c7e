"""--format json and Derivative.to_json(): the schema of docs/cli.md."""
import json

import matcalc
from matcalc.cli import main

KEYS = {"schema", "input", "shapes", "input_shape", "wrt", "wrt_shape", "order", "kind",
        "derivative", "shape", "evaluate_shape", "layout", "layout_note", "rule",
        "nonsmooth", "steps", "index"}
STEP_KEYS = {"index", "name", "expression", "shape", "rule", "doc", "derivative",
             "derivative_kind", "derivative_shape"}
FORMS = {"text", "unicode", "latex"}


def test_to_json_schema():
    d = matcalc.diff("sum(w*x+b)", "w")
    data = json.loads(d.to_json())
    assert set(data) == KEYS
    assert data["schema"] == 1
    assert data["input"]["text"] == "sum(w * x + b)"
    assert data["shapes"] == {"w": ["n"], "x": ["n"], "b": []}
    assert data["wrt"] == "w" and data["wrt_shape"] == ["n"]
    assert data["kind"] == "gradient"
    assert set(data["derivative"]) == FORMS | {"equation"}
    assert data["derivative"]["text"] == "x'"
    assert data["derivative"]["unicode"] == "xᵀ"
    assert data["derivative"]["latex"] == "\\mathbf{x}^{\\top}"
    assert data["shape"] == [1, "n"] and data["evaluate_shape"] == ["n"]
    assert data["layout"] == "numerator"
    assert data["rule"] == "vector sum reduction"
    assert [s["rule"] for s in data["steps"]][-1] == "vector sum reduction"
    for s in data["steps"]:
        assert set(s) == STEP_KEYS
        assert set(s["expression"]) == FORMS and set(s["derivative"]) == FORMS


def test_json_layout_and_kinks():
    d = matcalc.diff("max(0, dot(w, x) + b)", "w")
    data = d.to_dict(layout="denominator")
    assert data["shape"] == ["n"] and data["layout"] == "denominator"
    assert data["nonsmooth"] == ["max"]


def test_cli_json(capsys):
    assert main(["diff", "x'@A@x", "--wrt", "x", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == KEYS and data["derivative"]["unicode"] == "xᵀ(A + Aᵀ)"


def test_cli_json_several(capsys):
    assert main(["diff", "sum(w*x+b)", "--wrt", "w", "--wrt", "b", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["wrt"] for d in data] == ["w", "b"]
    assert data[1]["derivative"]["text"] == "n"


def test_json_differential_and_hessian():
    data = json.loads(matcalc.diff("W@x", "W").to_json())
    assert data["kind"] == "differential"
    data = json.loads(matcalc.diff("x'@A@x", "x", order=2).to_json())
    assert data["order"] == 2 and data["shape"] == ["n", "n"]
