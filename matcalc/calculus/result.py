"""What the calculus returns: :class:`Derivative`, plain data, and its :class:`Kind`.

The methods beyond the data are conveniences: each calls a printer or a backend,
imported when first used (the calculus does not depend on them)."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping, Optional

from ..core import expr as E


class Kind(str, enum.Enum):
    """How a derivative is held (the value is its name in JSON)."""
    DERIVATIVE = "derivative"      # by a scalar: the shape of f
    GRADIENT = "gradient"          # of a scalar: G with the shape of wrt, df = ⟨G, dv⟩
    JACOBIAN = "jacobian"          # vector by vector: rows index f, columns index v
    DIFFERENTIAL = "differential"  # df, linear in dv: exact, no matrix shows it
    ZERO = "zero"                  # f does not depend on v

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, eq=False)
class Derivative:
    """The derivative of ``f`` by ``wrt``, as data.

    - ``kind`` :class:`Kind`; ``expr`` the derivative's expression in that kind
      (for a differential, ``df``, linear in the tangent ``dv``);
    - ``order`` 1, 2 or 3; ``of`` for a higher order, the derivative of one order less
      it differentiates (for a Hessian, the gradient; by another variable, a mixed
      derivative: ``wrts`` lists the variables, one per order);
    - ``symmetric_gradient``: by a variable declared symmetric (sym, spd), the
      convention of the result, ``"sym"`` (sym(G) = (G + Gᵀ)/2) or ``"cookbook"``
      (G + Gᵀ - G ⊙ I); None by any other variable;
    - ``applied``: the chain rule's rule applications, node by node; ``steps`` the
      derivation as :class:`matcalc.calculus.steps.Step` records (computed once, when
      first asked);
    - ``warnings``: the parse's warnings about the text of f (``W * x`` with a matrix
      W...), as strings; they were also issued as ``MatcalcWarning``.

    ``evaluate(values)`` returns an array of shape ``f.shape + wrt.shape`` (LANGUAGE.md's
    numeric contract). The other methods are conveniences that call the printers and
    backends.
    """
    f: E.Expr
    wrt: E.Expr
    kind: Kind
    expr: E.Expr
    order: int = 1
    of: Optional["Derivative"] = None
    applied: tuple = field(default=(), repr=False)
    symmetric_gradient: Optional[str] = None
    warnings: tuple = field(default=(), repr=False)

    def __post_init__(self):
        object.__setattr__(self, "kind", Kind(self.kind))  # "gradient" is Kind.GRADIENT

    # ---- shapes

    @property
    def wrts(self) -> tuple:
        """The variables differentiated by, one per order: ``(w, b)`` for the mixed
        ∂²f/∂w∂b (the derivative by b of the gradient by w), ``(x, x)`` for a Hessian."""
        return (self.of.wrts if self.of is not None else ()) + (self.wrt,)

    @property
    def mixed(self) -> bool:
        """Whether the orders are by different variables (∂²f/∂w∂b)."""
        return len({v.name for v in self.wrts}) > 1

    @property
    def variables(self) -> list:
        """The variables ``evaluate`` needs values of: f's, then those differentiated
        by (one declared but not in f gives the sizes of its dimensions)."""
        return list(dict.fromkeys(v for v in E.variables(self.f) + list(self.wrts) +
                                  E.variables(self.expr) if not v.tangent))

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
        for s in reversed(self.applied):
            if s.node is self.f:
                return s.rule
        return "constant rule" if self.kind is Kind.ZERO else (
            self.applied[-1].rule if self.applied else "Jacobian of the identity")

    @cached_property
    def steps(self) -> tuple:
        """The derivation, one :class:`~matcalc.calculus.steps.Step` per intermediate."""
        from .steps import derivation
        return derivation(self)

    # ---- the forms shown (matcalc.calculus.layout)

    def display(self, layout: str = "numerator") -> E.Expr:
        """The expression shown to a reader in ``layout``."""
        from .layout import shown
        return shown(self, layout)

    def display_shape(self, layout: str = "numerator") -> tuple:
        from .layout import shown_shape
        return shown_shape(self, layout)

    # ---- printing (matcalc.printing)

    def layout_note(self, layout: str = "numerator") -> str:
        from ..printing.report import layout_note
        return layout_note(self, layout)

    def text(self, layout: str = "numerator", ascii=False) -> str:
        """The derivative as Unicode mathematics, or with ``ascii`` in the input language
        (``True``, or the name of its dialect: ``"matlab"``)."""
        from ..printing.text import to_text, to_unicode
        if ascii:
            return to_text(self.display(layout), dialect="default" if ascii is True else ascii)
        return to_unicode(self.display(layout))

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<Derivative d({self.f})/d{self.wrt.name} = {self.text()}>"

    def latex(self, layout: str = "numerator", style: str = "bold") -> str:
        """``\\frac{\\partial f}{\\partial \\mathbf{w}} = \\mathbf{x}^{\\top}``; ``style``:
        bold (vectors and matrices bold, as the Matrix Cookbook) or plain."""
        from ..printing.latex import derivative_latex
        return derivative_latex(self, layout, style)

    def _repr_latex_(self) -> str:
        """For Jupyter: display style (fractions full size), broken into an
        ``aligned`` block when wider than a page."""
        from ..printing.document import notebook_latex
        return notebook_latex(self)

    def steps_text(self, layout: str = "numerator", fmt: str = "unicode") -> str:
        """The derivation as numbered steps (``fmt``: unicode, ascii or latex)."""
        from ..printing.steps import render_steps
        return render_steps(self, layout, fmt)

    def to_dict(self, layout: str = "numerator",
                values: Optional[Mapping[str, object]] = None) -> dict:
        """The derivative as plain data (the schema of docs/cli.md); with ``values``,
        the point (``"at"``) and the value there (``"value"``) too."""
        from ..printing.jsonout import derivative_dict
        return derivative_dict(self, layout, self._at(values))

    def to_json(self, layout: str = "numerator", indent: Optional[int] = 2,
                values: Optional[Mapping[str, object]] = None) -> str:
        """``to_dict`` as a JSON string."""
        import json
        return json.dumps(self.to_dict(layout, values), indent=indent, ensure_ascii=False)

    def kronecker(self, ascii: bool = False) -> Optional[str]:
        """For a differential of the form Σ c P dV S: ``∂vec(f)/∂vec(V) = Σ c Sᵀ ⊗ P``
        (None where the differential has another form)."""
        from ..printing.report import kronecker_text
        return kronecker_text(self, ascii)

    def report(self, layout: str = "numerator", ascii: bool = False,
               index: Optional[bool] = None,
               values: Optional[Mapping[str, object]] = None) -> str:
        """What the CLI prints: the derivative, its shape and layout, the rule; with
        ``index``, its index form too (by default for a differential only); with
        ``values``, its value at that point (``at x = [1, 2]: ∂f/∂x = [11, 14]``)."""
        from ..printing.report import report
        return report(self, layout, ascii, index, self._at(values))

    def _at(self, values: Optional[Mapping[str, object]]) -> Optional[tuple]:
        """The point and the value there, as the printers take them (None: none)."""
        return None if values is None else (values, self.evaluate(values))

    # ---- backends

    def evaluate(self, values: Mapping[str, object]):
        """The derivative at ``values``: an array of shape ``f.shape + wrt.shape``."""
        from ..backends.numeric import evaluate_derivative
        return evaluate_derivative(self, values)

    def to_sympy(self):
        """The derivative's expression as a SymPy matrix expression (the tangent of a
        differential is the MatrixSymbol ``d<name>``)."""
        from ..backends.sympy_bridge import to_sympy
        return to_sympy(self.expr)

    def verify(self, dims=(2, 3), numeric: bool = True, symbolic: bool = True,
               budget: Optional[float] = None):
        """Prove the derivative with SymPy on small sizes (each instantiation within
        ``budget`` seconds, limits.verify_seconds unless given, else "unproven") and
        check it numerically; returns a :class:`matcalc.backends.verify.Report`."""
        from ..backends.verify import verify
        return verify(self, dims=dims, numeric=numeric, symbolic=symbolic, budget=budget)

    def to_code(self, target: str = "numpy", with_value: bool = False,
                form: str = "dense", check: bool = False, name: Optional[str] = None) -> str:
        """Python source of a function computing this derivative: ``form`` "dense"
        (the tensor ``f.shape + wrt.shape``), "einsum" (the same, by einsum over the
        index form), "jvp" (the linear map on a direction) or "vjp" (its adjoint on a
        cotangent); ``check``: the function takes ``check=True`` to test itself by
        finite differences; see :mod:`matcalc.backends.codegen`."""
        from ..backends.codegen import to_code
        return to_code(self, target, with_value, name=name, form=form, check=check)

    def index_form(self):
        """The derivative in index (Einstein) notation, an
        :class:`~matcalc.calculus.index.IndexForm` (``str()`` prints it)."""
        from .index import index_form
        return index_form(self)
