"""The JSON API of the web page, as plain functions: a request body in, a status and a
JSON body out (docs/web.md).

:func:`read_request` checks a body's structure (cheap: the server does it before any
work is queued); :func:`answer` does the work, in a worker process
(:mod:`matcalc.web.pool`), within the time and size budgets of :class:`Budgets`.
Every bad input is a 4xx with ``{"error": {...}}``: the kind, the message, and for an
error in the expression its line and column (the caret of the CLI in ``text``).
Nothing a request contains is executed: code is generated as text, to be shown.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass

ENDPOINTS = ("parse", "diff", "verify")
LAYOUTS = ("numerator", "denominator", "mixed")
DIALECTS = ("default", "matlab")
EXTRAS = ("code", "steps_latex")
TARGETS = ("numpy", "jax", "torch")

# The fields each endpoint's body may have, and those it must have.
_COMMON = ("expression", "shapes", "dialect")
_DIFF = _COMMON + ("wrt", "order", "layout", "extras")
FIELDS = {"parse": _COMMON, "diff": _DIFF, "verify": _DIFF + ("dims",)}
REQUIRED = {"parse": ("expression",), "diff": ("expression", "wrt"),
            "verify": ("expression", "wrt")}


@dataclass(frozen=True)
class Budgets:
    """The bounds on one request (docs/web.md). Sizes in bytes or characters, times in
    seconds; a worker past its time plus ``grace_seconds`` is stopped and replaced."""

    max_body_bytes: int = 20_000
    max_response_bytes: int = 4_000_000
    max_names: int = 64                   # entries of shapes, names in wrt
    diff_seconds: float = 10.0            # parse and diff (steps and code included)
    verify_seconds: float = 30.0          # verify, every check
    grace_seconds: float = 2.0
    queue_seconds: float = 60.0           # waiting for a free worker

    def seconds(self, endpoint: str) -> float:
        """The time budget of a request to ``endpoint``."""
        return self.verify_seconds if endpoint == "verify" else self.diff_seconds


class RequestError(Exception):
    """A request that cannot be answered: its HTTP status and the JSON error body."""

    def __init__(self, status: int, kind: str, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"kind": kind, "message": message,
                               **{k: v for k, v in extra.items() if v is not None}}}

    def encoded(self) -> bytes:
        return encode(self.body)


def encode(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


# --------------------------------------------------------------- the request's form

def read_request(endpoint: str, raw: bytes, budgets: Budgets = Budgets()) -> dict:
    """The body of a request to ``endpoint``, checked for its structure: a JSON object
    with known fields of the right types (400 or 413 or 422 otherwise). Returns the
    request with defaults filled in: what :func:`answer` takes, and the cache's key."""
    if len(raw) > budgets.max_body_bytes:
        raise RequestError(413, "too large", f"the request has {len(raw):,} bytes; at "
                           f"most {budgets.max_body_bytes:,}")
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise RequestError(400, "malformed request", f"the body is not UTF-8 (byte "
                           f"{err.start})") from None
    except ValueError as err:
        raise RequestError(400, "malformed request", f"the body is not JSON: {err}") from None
    if not isinstance(body, dict):
        raise RequestError(400, "malformed request",
                           f"the body must be a JSON object, not {_json_type(body)}")
    known = FIELDS[endpoint]
    for name in body:
        if name not in known:
            raise RequestError(422, "bad field", f"unknown field {_quoted(name)}; "
                               f"{endpoint} takes {', '.join(known)}", field=str(name)[:40])
    for name in REQUIRED[endpoint]:
        if name not in body:
            raise RequestError(422, "missing field", f"the field {name!r} is required",
                               field=name)
    req = {"endpoint": endpoint}
    req["expression"] = _string(body, "expression")
    if not req["expression"].strip():
        raise RequestError(422, "bad field", "the expression is empty", field="expression")
    req["shapes"] = _shapes(body.get("shapes", {}), budgets)
    req["dialect"] = _choice(body, "dialect", DIALECTS)
    if endpoint == "parse":
        return req
    req["wrt"] = _names(body["wrt"], budgets)
    order = body.get("order", 1)
    if isinstance(order, bool) or order not in (1, 2, 3):
        raise RequestError(422, "bad field", f"order must be 1, 2 or 3, not "
                           f"{_quoted(order)}", field="order")
    req["order"] = order
    req["layout"] = _choice(body, "layout", LAYOUTS)
    extras = body.get("extras", [])
    if not isinstance(extras, list) or any(x not in EXTRAS for x in extras):
        raise RequestError(422, "bad field", f"extras must be a list of "
                           f"{' and '.join(map(repr, EXTRAS))}", field="extras")
    req["extras"] = sorted(set(extras))
    if endpoint == "verify":
        req["dims"] = _dims(body.get("dims", [2, 3]))
    return req


def _json_type(value) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _quoted(value) -> str:
    from ..errors import quote
    return quote(value, 40) if isinstance(value, str) else _json_type(value)


def _string(body: dict, name: str) -> str:
    value = body[name]
    if not isinstance(value, str):
        raise RequestError(422, "bad field", f"{name} must be a string, not "
                           f"{_json_type(value)}", field=name)
    return value


def _choice(body: dict, name: str, choices: tuple) -> str:
    value = body.get(name, choices[0])
    if value not in choices:
        raise RequestError(422, "bad field", f"{name} must be one of "
                           f"{', '.join(map(repr, choices))}, not {_quoted(value)}",
                           field=name)
    return value


def _shapes(value, budgets: Budgets) -> dict:
    """NAME -> declaration: ``"m,n"``, ``"n,n,sym"``, or a list ``["m", "n"]``."""
    if not isinstance(value, dict):
        raise RequestError(422, "bad field", f"shapes must be an object NAME -> "
                           f"\"m,n\", not {_json_type(value)}", field="shapes")
    if len(value) > budgets.max_names:
        raise RequestError(422, "bad field", f"shapes has {len(value)} entries; at most "
                           f"{budgets.max_names}", field="shapes")
    out = {}
    for name, spec in value.items():
        where = f"shapes.{name}"[:60]
        if isinstance(spec, list):
            if len(spec) > 3 or not all(isinstance(d, (str, int)) and not isinstance(d, bool)
                                        for d in spec):
                raise RequestError(422, "bad field", f"{where} must be a string such as "
                                   f"\"m,n\", or a list of at most 3 names and numbers",
                                   field=where)
            spec = ",".join(map(str, spec))
        if not isinstance(spec, str) or len(spec) > 200:
            raise RequestError(422, "bad field", f"{where} must be a string such as "
                               f"\"m,n\" or \"n,n,sym\"", field=where)
        out[name] = spec
    return out


def _names(value, budgets: Budgets) -> list:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or \
            not all(isinstance(n, str) for n in names):
        raise RequestError(422, "bad field", "wrt must be a variable's name or a non-empty "
                           "list of names", field="wrt")
    if len(names) > budgets.max_names:
        raise RequestError(422, "bad field", f"wrt has {len(names)} names; at most "
                           f"{budgets.max_names}", field="wrt")
    return names


def _dims(value) -> str:
    """The sizes verify gives the dimensions, ``"2,3"`` or ``[2, 3]``, as the text
    :func:`matcalc.frontend.verify_dims` checks in :func:`answer`."""
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool)
                                       for v in value):
        value = ",".join(map(str, value))
    if not isinstance(value, str) or len(value) > 40:
        raise RequestError(422, "bad field", "dims must be sizes such as \"2,3\" or [2, 3]",
                           field="dims")
    return value


# --------------------------------------------------------------------- the work

def answer(req: dict, budgets: Budgets = Budgets()) -> tuple[int, bytes, bool]:
    """The status and JSON body answering a request of :func:`read_request`, computed
    within the request's time budget (a 422 when it runs out) and size budget, and
    whether the same request always gets the same answer (not so for running out of
    time or memory), so that it may be kept in a cache."""
    from .. import limits
    from ..errors import LimitError, MatcalcError, command_line
    seconds = budgets.seconds(req["endpoint"])
    try:
        with limits.override(max_input_chars=budgets.max_body_bytes,
                             max_output_chars=budgets.max_response_bytes), \
                command_line("web") as warned:
            result = limits.run_with_deadline(lambda: _HANDLERS[req["endpoint"]](req, warned),
                                              seconds)
        if result is None:
            late = RequestError(422, "time limit", f"this request needs more than "
                                f"{seconds:g} s, the time limit of this server")
            return late.status, late.encoded(), False
        body = encode(result)
        if len(body) > budgets.max_response_bytes:
            raise LimitError(f"the answer has {len(body):,} bytes; at most "
                             f"{budgets.max_response_bytes:,}")
        return 200, body, True
    except MatcalcError as err:
        return 422, error_body(err, req), True
    except RecursionError:
        return 422, RequestError(422, "error", "the expression is nested too deeply",
                                 field="expression").encoded(), True
    except MemoryError:
        return 422, RequestError(422, "limit exceeded", "the request needs more memory "
                                 "than this server allows").encoded(), False


def error_body(err, req: dict) -> bytes:
    """A MatcalcError as the JSON error body: located errors are in the expression."""
    from ..errors import one_line
    extra = {}
    if err.pos is not None:
        extra = {"line": err.pos[0], "column": err.pos[1], "field": "expression"}
    elif getattr(err, "field", None):
        extra = {"field": err.field}
    return RequestError(422, err.kind, one_line(err.message), text=str(err),
                        **extra).encoded()


@contextmanager
def _field(name: str):
    """An error without a position raised within is about the request's field ``name``."""
    from ..errors import MatcalcError
    try:
        yield
    except MatcalcError as err:
        err.field = name[:60]
        raise


def _declared(req: dict) -> dict:
    """The request's shapes, each checked, a bad one an error that names it."""
    from ..core.shapes import parse_declaration
    for name, spec in req["shapes"].items():
        with _field(f"shapes.{name}"):
            parse_declaration(spec, where=f"the shape of {name}")
    return req["shapes"]


def _parse(req: dict, warned: list) -> dict:
    from ..core import expr as E
    from ..core import shapes as S
    from ..frontend import unused_shapes
    from ..parser import parse_with_variables
    from ..printing.jsonout import dims, forms
    declared = _declared(req)
    e, named = parse_with_variables(req["expression"], declared, req["dialect"])
    unused_shapes(declared, named)
    order = {v.name: i for i, v in enumerate(E.variables(e))}
    named = sorted(named, key=lambda v: order.get(v.name, len(order)))
    symbols = [{"name": v.name, "shape": dims(v.shape), "structure": v.structure,
                "spec": ",".join(map(str, dims(v.shape) + ([v.structure] if v.structure
                                                             else []))) or "scalar",
                "description": S.describe_var(S.resolved(v.shape), v.structure),
                "declared": v.name in declared} for v in named]
    return {"input": forms(e), "shape": dims(e.shape),
            "description": S.describe(S.resolved(e.shape)), "symbols": symbols,
            "warnings": list(warned)}


def _derivatives(req: dict):
    from ..frontend import derive
    _, derivs, _ = derive(req["expression"], _declared(req), req["dialect"], req["wrt"],
                          req["order"])
    return derivs


def _diff(req: dict, warned: list):
    derivs = _derivatives(req)
    out = []
    for d in derivs:
        data = d.to_dict(layout=req["layout"])
        data["warnings"] = list(warned)
        if "steps_latex" in req["extras"]:
            from ..printing.steps import render_steps
            data["steps_latex"] = render_steps(d, req["layout"], "latex", result=True)
        if "code" in req["extras"]:
            data["code"] = {target: _code(d, target) for target in TARGETS}
        out.append(data)
    # the schema of --format json: one derivative, or a list of them
    return out[0] if len(out) == 1 else out


def _code(d, target: str) -> str:
    from ..errors import MatcalcError, one_line
    try:
        return d.to_code(target=target)
    except MatcalcError as err:
        return f"# no {target} code: {one_line(err.message)}\n"


def _verify(req: dict, warned: list) -> dict:
    from ..frontend import verify_dims, verify_name
    with _field("dims"):
        dims = verify_dims(req["dims"])
    reports = []
    for d in _derivatives(req):
        report = d.verify(dims=dims)
        reports.append({"derivative": verify_name(d), "ok": report.ok,
                        "proved": report.proved,
                        "checks": [{"name": c.name, "status": c.status, "detail": c.detail,
                                    "line": c.line(), "seconds": round(c.seconds, 3)}
                                   for c in report.checks]})
    return {"reports": reports, "warnings": list(warned)}


_HANDLERS = {"parse": _parse, "diff": _diff, "verify": _verify}
