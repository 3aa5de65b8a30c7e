"""``matcalc.diff`` and the :class:`Derivative` it returns."""
from __future__ import annotations

from typing import Mapping, Optional, Union

import numpy as np

from ..core import expr as E
from ..core import shapes as S
from .chain import Step, _NoMatrixForm, adjoint, differential, jacobian, tangent_of
from ..errors import DiffError, ShapeError, UsageError, quote
from ..backends.numeric import Evaluator, bind_dims, check_size, concrete
from .simplify import simplify as _simplify

LAYOUTS = ("numerator", "denominator", "mixed")

# What a derivative of each kind is called, and how it is laid out.
KINDS = {
    "derivative": "derivative by a scalar (the shape of f)",
    "gradient": "gradient of a scalar",
    "jacobian": "Jacobian (rows index f, columns index v)",
    "differential": "differential (a linear map dv ↦ df; no matrix shows it)",
    "zero": "zero (f does not depend on v)",
}


class Derivative:
    """The derivative of ``f`` by ``wrt``.

    ``kind`` says how it is held:

    - ``"derivative"`` (``wrt`` scalar): ``expr`` has the shape of ``f``;
    - ``"gradient"`` (``f`` scalar): ``expr`` is ``G`` with the shape of ``wrt``
      (``df = ⟨G, dv⟩``); shown as the row ``Gᵀ`` for a vector in numerator layout;
    - ``"jacobian"`` (vector by vector): ``expr`` is the m×n Jacobian;
    - ``"differential"`` (matrix by vector or matrix...): ``expr`` is ``df``, linear
      in the tangent ``dv``, exact but with no matrix form.

    ``evaluate(values)`` always returns an array of shape ``f.shape + wrt.shape``
    (LANGUAGE.md's numeric contract).
    """

    def __init__(self, f: E.Expr, wrt: E.Expr, kind: str, expr: E.Expr, order: int = 1,
                 steps: Optional[list] = None, of: Optional["Derivative"] = None):
        self.f = f
        self.wrt = wrt
        self.kind = kind
        self.expr = expr
        self.order = order
        self.steps: list[Step] = steps or []
        self.of = of  # for a Hessian: the gradient it differentiates

    # ---- shapes

    @property
    def f_shape(self) -> tuple:
        return self.of.expr.shape if self.of is not None else self.f.shape

    @property
    def shape(self) -> tuple:
        """The shape of ``evaluate``'s result: ``f.shape + wrt.shape``."""
        return tuple(self.f_shape) + tuple(self.wrt.shape)

    @property
    def rule(self) -> str:
        """The rule applied at the top of f (the last step of the chain rule)."""
        for s in reversed(self.steps):
            if s.node is self.f:
                return s.rule
        return "constant rule" if self.kind == "zero" else (
            self.steps[-1].rule if self.steps else "Jacobian of the identity")

    # ---- display

    def display(self, layout: str = "numerator") -> E.Expr:
        """The expression shown to a reader in ``layout``."""
        if layout not in LAYOUTS:
            raise UsageError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
        e = self.expr
        if self.kind == "gradient" and self.wrt.rank == 1 and layout == "numerator":
            return _simplify(E.transpose(e))  # transposing reorders sums: tidy again
        if self.kind == "jacobian" and layout == "denominator":
            return _simplify(E.transpose(e))
        if self.kind == "zero":
            return E.zeros(self.display_shape(layout))
        return e

    def display_shape(self, layout: str = "numerator") -> tuple:
        fs, vs = tuple(self.f_shape), tuple(self.wrt.shape)
        if self.kind in ("differential",):
            return self.expr.shape
        if not vs:
            return fs
        if not fs:
            return (1, vs[0]) if len(vs) == 1 and layout == "numerator" else vs
        if len(fs) == 1 and len(vs) == 1:
            return (vs[0], fs[0]) if layout == "denominator" else (fs[0], vs[0])
        return fs + vs

    def layout_note(self, layout: str = "numerator") -> str:
        f, v = self._fname(), self.wrt.name
        if self.kind == "differential":
            return f"differential: a linear map d{v} ↦ d{f} (no matrix shows it)"
        fs, vs = self.f_shape, self.wrt.shape
        if not vs:
            return f"same shape as {f}"
        if not fs and len(vs) == 2:
            return f"same shape as {v} (entry i,j is ∂{f}/∂{v}ᵢⱼ)"
        if not fs:
            return (f"{layout} layout: a row vector (∂{f}/∂{v}ⱼ in column j)"
                    if layout == "numerator" else f"{layout} layout: a column vector, like {v}")
        if layout == "denominator":
            return f"denominator layout: rows index {v}, columns index {f}"
        return f"{layout} layout: rows index {f}, columns index {v}"

    def _fname(self) -> str:
        if self.of is not None:
            return f"∂f/∂{self.wrt.name}"
        return "f"

    def text(self, layout: str = "numerator", ascii: bool = False) -> str:
        from ..printing.text import to_text, to_unicode
        show = to_text if ascii else to_unicode
        return show(self.display(layout))

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<Derivative d({self.f})/d{self.wrt.name} = {self.text()}>"

    # ---- LaTeX, steps and JSON (matcalc.printing.latex / steps / jsonout)

    def latex(self, layout: str = "numerator") -> str:
        """``\\frac{\\partial f}{\\partial \\mathbf{w}} = \\mathbf{x}^{\\top}``."""
        from ..printing.latex import derivative_latex
        return derivative_latex(self, layout)

    def _repr_latex_(self) -> str:
        return f"${self.latex()}$"

    def steps_text(self, layout: str = "numerator", fmt: str = "unicode") -> str:
        """The derivation as numbered steps (``fmt``: unicode, ascii or latex)."""
        from ..printing.steps import render_steps
        return render_steps(self, layout, fmt)

    def to_dict(self, layout: str = "numerator") -> dict:
        """The derivative as plain data (the schema of docs/cli.md)."""
        from ..printing.jsonout import derivative_dict
        return derivative_dict(self, layout)

    def to_json(self, layout: str = "numerator", indent: Optional[int] = 2) -> str:
        """``to_dict`` as a JSON string."""
        import json
        return json.dumps(self.to_dict(layout), indent=indent, ensure_ascii=False)

    def kronecker(self, ascii: bool = False) -> Optional[str]:
        """For a differential of the form Σ c P dV S: ``∂vec(f)/∂vec(V) = Σ c Sᵀ ⊗ P``
        (None where the differential has another form)."""
        from .chain import kronecker_terms
        from ..printing.text import to_text, to_unicode
        show = to_text if ascii else to_unicode
        terms = kronecker_terms(self.expr, tangent_of(self.wrt))
        if not terms:
            return None
        rows = S.resolve(self.wrt.shape[0])
        cols = S.resolve(self.wrt.shape[1]) if self.wrt.rank == 2 else 1
        kron, k, eye = (" kron ", "K", "eye") if ascii else (" ⊗ ", "K", "I")
        parts = []
        for coeff, right, left, transposed in terms:
            r = show(right) if right is not None else f"{eye}({cols})" if ascii else "I"
            l_ = show(left) if left is not None else f"{eye}({rows})" if ascii else "I"
            if transposed:
                l_ = l_ if left is not None else (f"{eye}({cols})" if ascii else "I")
            wrap = (lambda t: f"({t})" if " " in t.strip("()") and not t.startswith("(")
                    else t)
            text = f"{wrap(r)}{kron}{wrap(l_)}"
            if right is None and left is None:
                text = "I"  # vec(dV) itself
            if transposed:
                text = k if right is None and left is None else f"({text}) {k}"
            c = E.const_value(coeff) if coeff is not None else 1
            if c == -1:
                text = f"-({text})" if " " in text else f"-{text}"
            elif c != 1:
                text = f"{wrap(show(coeff))} ({text})" if ascii else f"{wrap(show(coeff))}({text})"
            parts.append(text)
        f = "f" if self.of is None else "grad f"
        v = self.wrt.name
        head = f"dvec({f})/dvec({v})" if ascii else f"∂vec({f})/∂vec({v})"
        body = " + ".join(parts).replace("+ -", "- ")
        note = "" if not any(t[3] for t in terms) else (
            "; K is the commutation matrix, K vec(X) = vec(Xᵀ)" if not ascii else
            "; K: the commutation matrix, K vec(X) = vec(X')")
        return f"{head} = {body}{note}"

    def report(self, layout: str = "numerator", ascii: bool = False) -> str:
        """What the CLI prints: the derivative, its shape and layout, the rule."""
        v = self.wrt.name
        what = "∂²f/∂{0}²" if self.order == 2 else "∂f/∂{0}"
        if ascii:
            what = "d2f/d{0}2" if self.order == 2 else "df/d{0}"
        head = what.format(v)
        body = self.text(layout, ascii)
        if self.kind == "differential":
            head = f"d({'f' if self.of is None else 'grad f'})"
        lines = [f"{head} = {body}"]
        shape = S.shape_str(self.display_shape(layout))
        lines.append(f"  shape: {shape}  ({self.layout_note(layout)})")
        if self.kind == "differential":
            kron = self.kronecker(ascii)
            if kron:
                lines.append(f"  {kron}")
        lines.append(f"  rule: {self.rule}")
        kinks = sorted({n.fn for n in E.postorder(self.f) if type(n) is E.Call
                        and not n.spec.smooth})
        if kinks:
            ties = any(type(n) is E.Call and n.fn in ("max", "min") and
                       all(E.const_value(a) is None for a in n.args)
                       for n in E.postorder(self.f))
            lines.append(f"  note: {', '.join(kinks)} not differentiable at 0; the paper's "
                         "convention is used there (max'(0) = 0, step(0) = 0)" +
                         ("; a tie of max or min between two variables splits ½/½"
                          if ties else ""))
        return "\n".join(lines)

    # ---- numbers

    def evaluate(self, values: Mapping[str, object]) -> np.ndarray:
        """The derivative at ``values``: an array of shape ``f.shape + wrt.shape``."""
        variables = E.variables(self.f) + [self.wrt]
        seen, uniq = set(), []
        for v in variables + E.variables(self.expr):
            if v not in seen and not v.tangent:
                seen.add(v)
                uniq.append(v)
        arrays, dims = bind_dims(uniq, values)
        out_shape = concrete(self.shape, dims)
        check_size(out_shape, "the derivative")
        with np.errstate(all="ignore"):
            if self.kind == "zero":
                return np.zeros(out_shape)
            if self.kind != "differential":
                val = Evaluator(arrays, dims).value(self.expr)
                return np.asarray(val, dtype=float).reshape(out_shape)
            return self._evaluate_differential(arrays, dims, out_shape)

    # ---- SymPy (imported lazily: the core does not need it)

    def to_sympy(self):
        """The derivative's expression as a SymPy matrix expression (the tangent of a
        differential is the MatrixSymbol ``d<name>``)."""
        from ..backends.sympy_bridge import to_sympy
        return to_sympy(self.expr)

    def verify(self, dims=(2, 3), numeric: bool = True, symbolic: bool = True,
               budget: Optional[float] = None):
        """Prove the derivative with SymPy on small sizes (each instantiation within
        ``budget`` seconds, limits.verify_seconds unless given, else "unproven") and
        check it numerically; returns a :class:`matcalc.verify.Report`."""
        from ..backends.verify import verify
        return verify(self, dims=dims, numeric=numeric, symbolic=symbolic, budget=budget)

    def to_code(self, target: str = "numpy", with_value: bool = False) -> str:
        """Python source of a function computing this derivative (see matcalc.codegen)."""
        from ..backends.codegen import to_code
        return to_code(self, target, with_value)

    def _evaluate_differential(self, arrays, dims, out_shape) -> np.ndarray:
        dv = tangent_of(self.wrt)
        vshape = concrete(self.wrt.shape, dims)
        fshape = concrete(self.f_shape, dims)
        ev = Evaluator(arrays, dims)
        order = E.postorder(self.expr)
        lin = {n for n in order if n is dv}
        for n in order:
            if any(a in lin for a in n.args):
                lin.add(n)
        out = np.zeros(tuple(fshape) + (int(np.prod(vshape, dtype=int)),))
        for j in range(out.shape[-1]):
            basis = np.zeros(int(np.prod(vshape, dtype=int)))
            basis[j] = 1.0
            ev.tangents = {dv: basis.reshape(vshape)}
            for n in lin:
                ev.memo.pop(n, None)
            out[..., j] = np.asarray(ev.value(self.expr), dtype=float).reshape(fshape)
        return out.reshape(out_shape)


def _python_declaration(name: str) -> str:
    return f"shapes={{{name!r}: ('n',)}}"


def find_wrt(f: E.Expr, wrt, shapes=None, declare=_python_declaration) -> E.Expr:
    """The variable ``wrt`` names: one of ``f``'s, or one declared in ``shapes`` (its
    derivative is zero). Otherwise a DiffError that says what the name is (a
    dimension of a variable, or nothing) and how to declare it (``declare(name)``:
    Python's ``shapes=`` here, ``--shape`` on the command line)."""
    if isinstance(wrt, E.Expr):
        if type(wrt) is not E.Var or wrt.tangent:
            raise DiffError(f"can only differentiate by a variable, not {quote(wrt)}")
        return wrt
    if not isinstance(wrt, str):
        raise DiffError(f"wrt must be a variable name (a string), not "
                        f"{type(wrt).__name__}")
    variables = E.variables(f)
    for v in variables:
        if v.name == wrt:
            return v
    declared = S.normalize_shapes(shapes)
    if wrt in declared:
        return E.var(wrt, declared[wrt])
    if not S.NAME_RE.fullmatch(wrt):
        raise DiffError(f"{quote(wrt)} is not a variable name: use a letter followed by "
                        f"letters, digits or _")
    shapes = {**declared, **{v.name: v.shape for v in variables}}
    for name, shape in shapes.items():
        if wrt in shape:
            what = "the length" if len(shape) == 1 else \
                "the number of rows" if shape[0] == wrt else "the number of columns"
            raise DiffError(f"{wrt} is a dimension ({what} of {name}), not a variable: "
                            f"differentiate by a variable")
    if wrt in E.dims_of(f):
        raise DiffError(f"{wrt} is a dimension of the expression, not a variable: "
                        f"differentiate by a variable")
    names = [v.name for v in variables]
    listed = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    has = f"its variables are {listed}" if names else "it has no variable"
    raise DiffError(f"{wrt} is not a variable of the expression ({has}); to get a zero "
                    f"derivative by it, declare its shape, e.g. {declare(wrt)}")


def _first_order(f: E.Expr, v: E.Expr, simplify: bool) -> Derivative:
    steps: list[Step] = []
    df = differential(f, v, steps)
    if df is None:
        return Derivative(f, v, "zero", E.zeros(tuple(f.shape) + tuple(v.shape))
                          if f.rank + v.rank <= 2 else E.ZERO, steps=steps)
    dv = tangent_of(v)
    tidy = _simplify if simplify else (lambda e: e)
    if v.rank == 0:
        return Derivative(f, v, "derivative", tidy(E.substitute(df, {dv: E.ONE})), steps=steps)
    try:
        if f.rank == 0:
            return Derivative(f, v, "gradient", tidy(adjoint(df, dv, E.ONE)), steps=steps)
        if v.rank == 1 and (f.rank == 1 or S.resolve(f.shape[0]) == 1):
            return Derivative(f, v, "jacobian", tidy(jacobian(df, dv)), steps=steps)
    except (_NoMatrixForm, ShapeError, DiffError):
        # No matrix form through some node; or sizes declared 1, where a 1×1 product
        # is a scalar and the matrix assembly does not fit: the differential is exact.
        # (A LimitError is not caught: a budget is a budget.)
        pass
    return Derivative(f, v, "differential", tidy(df), steps=steps)


def diff(expr: Union[str, E.Expr], wrt: Union[str, E.Expr], shapes=None, order: int = 1,
         dialect: str = "default", simplify: bool = True) -> Derivative:
    """The derivative of ``expr`` by the variable ``wrt``.

    ``order=2`` gives the Hessian of a scalar ``expr``. ``evaluate`` on the result
    returns an array of shape ``f.shape + wrt.shape`` (``f.shape + 2 * wrt.shape``
    for a Hessian).
    """
    if isinstance(expr, str):
        from ..parser import parse
        f = parse(expr, shapes, dialect)
    elif isinstance(expr, E.Expr):
        f = expr
    else:
        raise DiffError(f"diff() needs an expression (text or Expr), not {type(expr).__name__}")
    if isinstance(order, bool) or order not in (1, 2):
        raise DiffError(f"order must be 1 or 2, not {quote(order)}")
    if simplify not in (True, False, "sympy"):
        raise UsageError(f"simplify must be True, False or 'sympy', not {quote(simplify)}")
    if simplify == "sympy":  # the rule-based pass, then SymPy's on scalar results
        from ..backends.sympy_bridge import simplify_derivative
        return simplify_derivative(diff(f, wrt, shapes, order, dialect, simplify=True))
    v = find_wrt(f, wrt, shapes)
    first = _first_order(f, v, simplify)
    if order == 1:
        return first
    if f.rank != 0:
        raise DiffError(f"the Hessian (order 2) needs a scalar expression; this one is a "
                        f"{S.describe(f.shape)}")
    if first.kind == "zero":
        return Derivative(f, v, "zero", E.ZERO, order=2, of=first)
    g = first.expr
    second = _first_order(g, v, simplify)
    second.f = f
    second.order = 2
    second.of = first
    return second
