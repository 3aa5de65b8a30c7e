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
    - ``order`` 1 or 2; ``of`` for a Hessian, the gradient it differentiates;
    - ``symmetric_gradient``: by a variable declared symmetric (sym, spd), the
      convention of the result, ``"sym"`` (sym(G) = (G + Gᵀ)/2) or ``"cookbook"``
      (G + Gᵀ - G ⊙ I); None by any other variable;
    - ``applied``: the chain rule's rule applications, node by node; ``steps`` the
      derivation as :class:`matcalc.calculus.steps.Step` records (computed once, when
      first asked).

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

    def __post_init__(self):
        object.__setattr__(self, "kind", Kind(self.kind))  # "gradient" is Kind.GRADIENT

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

    def text(self, layout: str = "numerator", ascii: bool = False) -> str:
        from ..printing.text import to_text, to_unicode
        return (to_text if ascii else to_unicode)(self.display(layout))

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<Derivative d({self.f})/d{self.wrt.name} = {self.text()}>"

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
        from ..printing.report import kronecker_text
        return kronecker_text(self, ascii)

    def report(self, layout: str = "numerator", ascii: bool = False,
               index: Optional[bool] = None) -> str:
        """What the CLI prints: the derivative, its shape and layout, the rule; with
        ``index``, its index form too (by default for a differential only)."""
        from ..printing.report import report
        return report(self, layout, ascii, index)

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
