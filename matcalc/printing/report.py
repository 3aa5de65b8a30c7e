"""What the CLI prints for a derivative: the result, its shape and layout, the rule
applied at the top, the Kronecker form of a differential, and a note on kinks."""
from __future__ import annotations

from typing import Optional

from ..core import expr as E
from ..core import shapes as S
from ..calculus.result import Kind


_SUP = {2: "²", 3: "³"}


def derivative_name(d, ascii: bool = False) -> str:
    """``∂f/∂x``, ``∂²f/∂x²``, ``∂³f/∂x³``, the mixed ``∂²f/∂w∂b`` (``df/dx``,
    ``d2f/dx2``, ``d2f/dw db``... in ASCII)."""
    v, k = d.wrt.name, d.order
    if d.mixed:
        names = [w.name for w in d.wrts]
        if ascii:
            return f"d{k}f/" + " ".join(f"d{n}" for n in names)
        return f"∂{_SUP.get(k, k)}f/" + "".join(f"∂{n}" for n in names)
    if ascii:
        return f"df/d{v}" if k == 1 else f"d{k}f/d{v}{k}"
    return f"∂f/∂{v}" if k == 1 else f"∂{_SUP.get(k, k)}f/∂{v}{_SUP.get(k, k)}"


def _fname(d, ascii: bool = False) -> str:
    """What ``d`` differentiates: f, or (a higher order) the derivative of one order
    less."""
    return derivative_name(d.of, ascii) if d.of is not None else "f"


def differential_head(d, ascii: bool = False) -> str:
    """``d(f)``, or ``d(∂f/∂x)`` for a higher order (the differential of the derivative
    of one order less)."""
    return f"d({_fname(d, ascii)})"


def layout_note(d, layout: str = "numerator") -> str:
    """One line saying how the shown derivative is laid out."""
    f, v = _fname(d), d.wrt.name
    if d.kind is Kind.DIFFERENTIAL:
        df = f"d{f}" if d.of is None else f"d({f})"
        return (f"differential: a linear map d{v} ↦ {df}; the derivative is the "
                f"{S.shape_str(d.shape)} tensor of the index form")
    fs, vs = d.f_shape, d.wrt.shape
    if not vs:
        return f"same shape as {f}"
    if not fs and len(vs) == 2 and d.symmetric_gradient is not None:
        return f"same shape as {v}, symmetric like {v}"
    if not fs and len(vs) == 2:
        return f"same shape as {v} (entry i,j is {_entry(d, 'ᵢⱼ')})"
    if not fs:
        return (f"{layout} layout: a row vector ({_entry(d, 'ⱼ')} in column j)"
                if layout == "numerator" else f"{layout} layout: a column vector, like {v}")
    if layout == "denominator":
        return f"denominator layout: rows index {v}, columns index {f}"
    note = f"{layout} layout: rows index {f}, columns index {v}"
    if d.mixed and d.order == 2 and not d.f.rank and len(fs) == len(vs) == 1:
        note += f" (entry i,j is ∂²f/∂{d.of.wrt.name}ᵢ∂{v}ⱼ)"
    return note


def _entry(d, sub: str) -> str:
    """An entry of a derivative with the shape of its last variable: ``∂f/∂Wᵢⱼ``, or
    (a scalar's mixed derivative) ``∂²f/∂c∂Wᵢⱼ``."""
    if d.of is None:
        return f"∂f/∂{d.wrt.name}{sub}"
    lower = "".join(f"∂{w.name}" for w in d.wrts[:-1])
    return f"∂{_SUP.get(d.order, d.order)}f/{lower}∂{d.wrt.name}{sub}"


def kronecker_text(d, ascii: bool = False) -> Optional[str]:
    """For a differential of the form Σ c P dV S: ``∂vec(f)/∂vec(V) = Σ c Sᵀ ⊗ P``
    (None where the differential has another form)."""
    from ..calculus.identify import kronecker_terms
    from ..calculus.jvp import tangent_of
    from .text import to_text, to_unicode
    show = to_text if ascii else to_unicode
    terms = kronecker_terms(d.expr, tangent_of(d.wrt))
    if not terms:
        return None
    rows = S.resolve(d.wrt.shape[0])
    cols = S.resolve(d.wrt.shape[1]) if d.wrt.rank == 2 else 1
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
    f = _fname(d, ascii)
    v = d.wrt.name
    head = f"dvec({f})/dvec({v})" if ascii else f"∂vec({f})/∂vec({v})"
    body = " + ".join(parts).replace("+ -", "- ")
    note = "" if not any(t[3] for t in terms) else (
        "; K is the commutation matrix, K vec(X) = vec(Xᵀ)" if not ascii else
        "; K: the commutation matrix, K vec(X) = vec(X')")
    return f"{head} = {body}{note}"


_CONVENTIONS = {
    "sym": "sym, the gradient on symmetric matrices, sym(G) = (G + Gᵀ)/2 (G: the "
           "gradient as if {v} were unconstrained); entry i,j is the derivative along "
           "(Eᵢⱼ + Eⱼᵢ)/2",
    "cookbook": "cookbook, the Matrix Cookbook's G + Gᵀ - G ⊙ I (G: the gradient as if "
                "{v} were unconstrained); entry i,j is the derivative when {v}ᵢⱼ and {v}ⱼᵢ "
                "move together",
}


def convention_note(d) -> Optional[str]:
    """Which gradient by a symmetric variable is printed (None by any other)."""
    if d.symmetric_gradient is None:
        return None
    v = d.wrt.name
    note = _CONVENTIONS[d.symmetric_gradient].format(v=v)
    if d.order == 2 and not d.mixed:
        note += " (the Hessian differentiates that gradient, in the same convention)"
    return note


def structure_note(d) -> Optional[str]:
    """The declared structures the result used (None if no variable has one)."""
    seen = [v for v in E.variables(d.f) + [d.wrt] if v.structure is not None]
    parts = []
    for v in dict.fromkeys(seen):
        if v.structure == S.PROB:
            parts.append(f"{v.name} a probability vector (its entries sum to 1)" if v.rank == 1
                         else f"{v.name} rows of probabilities (each row sums to 1)")
        else:
            parts.append(f"{v.name} {S.STRUCTURE_NAMES[v.structure]} ({v.name}ᵀ = {v.name})")
    return "; ".join(parts) or None


def kinks(f: E.Expr) -> list[str]:
    """The names of the non-smooth functions in ``f``, sorted."""
    return sorted({n.op.name for n in E.postorder(f) if type(n) is E.Call and not n.op.smooth})


def _ties(f: E.Expr) -> bool:
    """Whether a kinked function of several arguments compares two non-constants
    (a tie there splits the derivative)."""
    return any(type(n) is E.Call and not n.op.smooth and n.op.arity > 1 and
               all(E.const_value(a) is None for a in n.args) for n in E.postorder(f))


def kink_note(f: E.Expr) -> Optional[str]:
    """The report's note on the non-smooth functions of ``f`` (None if there are none)."""
    names = kinks(f)
    if not names:
        return None
    return (f"{', '.join(names)} not differentiable at 0; the paper's convention is used "
            "there (max'(0) = 0, step(0) = 0)" +
            ("; a tie of max or min between two variables splits ½/½" if _ties(f) else ""))


def index_line(d, ascii: bool = False) -> str:
    """The derivative in index notation (``∂fᵢ/∂Wⱼₖ = ...``), or one line saying why
    it is not shown (a form beyond its budget of terms)."""
    from ..errors import LimitError
    from .index import index_text
    try:
        return index_text(d.index_form(), ascii)
    except LimitError as err:
        return f"index notation not shown: {err}"


def report(d, layout: str = "numerator", ascii: bool = False,
           index: Optional[bool] = None, at: Optional[tuple] = None) -> str:
    """What the CLI prints: the derivative, its shape and layout, the rule. ``index``:
    also the derivative in index notation (None: for a differential only, which no
    matrix shows). ``at``: a point and the derivative's value there, ``(values,
    array)``, shown after the formula (``at x = [1, 2]: ∂f/∂x = [11, 14]``)."""
    head = derivative_name(d, ascii)
    body = d.text(layout, ascii)
    if d.kind is Kind.DIFFERENTIAL:
        head = differential_head(d, ascii)
    lines = [f"{head} = {body}"]
    if at is not None:
        from .values import value_text
        lines += [f"  {line}" if line else "" for line in
                  value_text(d, *at, layout, ascii).split("\n")]
    shape = S.shape_str(d.display_shape(layout))
    lines.append(f"  shape: {shape}  ({layout_note(d, layout)})")
    declared = structure_note(d)
    if declared:
        lines.append(f"  declared: {declared}")
    convention = convention_note(d)
    if convention:
        lines.append(f"  convention: {convention}")
    if index or (index is None and d.kind is Kind.DIFFERENTIAL):
        lines.append(f"  {index_line(d, ascii)}")
    if d.kind is Kind.DIFFERENTIAL:
        kron = kronecker_text(d, ascii)
        if kron:
            lines.append(f"  {kron}")
    lines.append(f"  rule: {d.rule}")
    note = kink_note(d.f)
    if note:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
