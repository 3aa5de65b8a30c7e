"""Breaking long display math within the page.

Two functions over the LaTeX that :mod:`matcalc.printing.latex` writes (and any math
of the same kind):

- :func:`estimate_width` -- the typeset width of a math string, in em of the
  document's 10 pt font, in display style. An estimate: glyph widths by class
  (an italic letter, a bold letter, a digit...), TeX's spacing around binary
  operators and relations, ``\\frac`` as the wider of numerator and denominator,
  sub- and superscripts at 70%, ``\\left(`` as one glyph. Calibrated against
  pdflatex's ``\\settowidth`` on the golden derivatives (tests/test_pdflatex.py
  measures it again).
- :func:`break_math` -- the string split into pieces, each estimated at most
  ``width`` em wide, for the lines of ``multline*``, ``split`` or ``align*``.
  Breaks go before a top-level relation (``=``) first, then before a top-level
  ``+``/``-``, then between top-level factors (a product, ``\\odot``); a bracket
  group ``\\left( ... \\right)`` too wide on its own is broken inside, and that pair
  becomes ``\\bigl( ... \\bigr)`` (``\\Bigl``/``\\Bigr`` around a fraction), whose
  halves may stand on different lines. Pieces are filled greedily.

The contract of ``break_math``: joined with nothing between them, the pieces are the
input with some ``\\left``/``\\right`` replaced by ``\\bigl``/``\\bigr`` (or ``\\Bigl``/
``\\Bigr``); every piece has balanced braces and only balanced ``\\left``/``\\right``
pairs; each piece is within ``width`` by the estimate unless nothing smaller can be
cut from it (a single symbol, a fraction or a matrix wider than the line). A piece
after the first that begins with a binary operator reads as unary in ``split``/
``align``: write ``{}`` before it (:func:`lead`) for the binary spacing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

TEXT_WIDTH_EM = 34.5
"""The text width of ``--document`` in em of its 10 pt font: 345 pt, LaTeX's article
default, so that a block broken for it (``--steps --format latex``) fits in a plain
article too."""
LINE_WIDTH_EM = 32
"""The width :func:`break_math` fills by default: the text width less the estimate's
error (within 7% of pdflatex on the golden derivatives)."""

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\s+|.", re.S)

# glyph widths in em (Computer Modern, 10 pt), by class
_LOWER, _UPPER, _DIGIT = 0.53, 0.76, 0.5
_NARROW = set("ijltI")
_WIDE = set("mwMW")
_BOLD = 1.1  # \mathbf against the italic/roman letters
_BIN_SPACE, _REL_SPACE, _THIN = 4 / 18, 5 / 18, 3 / 18

_SPACES = {"\\,": _THIN, "\\:": 4 / 18, "\\;": 5 / 18, "\\!": -_THIN, "\\ ": 0.33,
           "\\quad": 1.0, "\\qquad": 2.0, "~": 0.33}
_BINS = {"+", "-", "*", "\\odot", "\\oslash", "\\otimes", "\\oplus", "\\cdot", "\\times",
         "\\pm", "\\mp", "\\circ", "\\ast", "\\star", "\\cup", "\\cap", "\\setminus",
         "\\wedge", "\\vee", "\\div"}
_RELS = {"=", "<", ">", ":", "\\le", "\\leq", "\\ge", "\\geq", "\\neq", "\\ne", "\\to",
         "\\mapsto", "\\in", "\\approx", "\\equiv", "\\sim", "\\propto", "\\subset",
         "\\subseteq", "\\coloneqq", "\\Rightarrow", "\\Leftrightarrow", "\\implies",
         "\\iff", "\\rightarrow", "\\leftarrow", "\\succ", "\\prec", "\\succeq", "\\preceq"}
_PUNCT = {",", ";"}
_SYMBOLS = {  # widths of other commands; a command not listed counts 0.6 (a Greek letter)
    "\\partial": 0.57, "\\nabla": 0.83, "\\top": 0.78, "\\infty": 1.0, "\\cdots": 1.17,
    "\\ldots": 1.17, "\\dots": 1.17, "\\vdots": 0.28, "\\|": 0.5, "\\{": 0.5, "\\}": 0.5,
    "\\sum": 1.44, "\\prod": 1.28, "\\int": 0.56, "\\prime": 0.3,
    "\\langle": 0.39, "\\rangle": 0.39, "\\lvert": 0.28, "\\rvert": 0.28, "\\lVert": 0.5,
    "\\rVert": 0.5, "\\vert": 0.28, "\\Vert": 0.5, "\\ell": 0.42, "\\dagger": 0.44,
    "\\odot": 0.78, "\\oslash": 0.78, "\\otimes": 0.78, "\\cdot": 0.28, "\\times": 0.78,
}
_CHARS = {"(": 0.39, ")": 0.39, "[": 0.28, "]": 0.28, "|": 0.28, "/": 0.5, ",": 0.28,
          ";": 0.28, ".": 0.28, "!": 0.28, "'": 0.3, "*": 0.5, ":": 0.28, "&": 0.0}
_FONTS = {"\\mathbf": _BOLD, "\\boldsymbol": _BOLD, "\\bm": _BOLD, "\\mathrm": 1.0,
          "\\mathit": 1.0, "\\mathsf": 1.0, "\\mathtt": 1.0, "\\mathcal": 1.05,
          "\\mathbb": 1.0, "\\mathfrak": 1.0, "\\operatorname": 0.94, "\\text": 0.94,
          "\\textrm": 0.94, "\\mathop": 1.0, "\\overline": 1.0, "\\hat": 1.0,
          "\\tilde": 1.0, "\\bar": 1.0, "\\vec": 1.0}
_OPERATORS = {"\\operatorname", "\\mathop", "\\det", "\\log", "\\ln", "\\exp", "\\sin",
              "\\cos", "\\tan", "\\tanh", "\\sinh", "\\cosh", "\\max", "\\min", "\\sup",
              "\\inf", "\\lim", "\\arg", "\\sum", "\\prod", "\\tr", "\\sgn", "\\arcsin",
              "\\arccos", "\\arctan"}
_FRACS = {"\\frac", "\\dfrac", "\\tfrac", "\\binom"}
_SIZED = ("\\bigl", "\\bigr", "\\Bigl", "\\Bigr", "\\biggl", "\\biggr", "\\big", "\\Big")

# the kinds of atoms, for the spacing between them and the places to break
ORD, OP, BIN, REL, OPEN, CLOSE, PUNCT, INNER, SPACE = (
    "ord", "op", "bin", "rel", "open", "close", "punct", "inner", "space")


@dataclass
class _Atom:
    """A top-level atom: its tokens (text), width (with the spacing TeX puts around
    it in its list), kind, and for a ``\\left...\\right`` group the parts to break."""
    tokens: list
    width: float
    kind: str
    group: Optional["_Group"] = None

    @property
    def text(self) -> str:
        return "".join(self.tokens)


@dataclass
class _Group:
    """``head \\left( inner \\right) tail``: an atom that is a bracket group."""
    head: list            # an operator's name before \left: \operatorname{diag}
    open: list            # \left and its delimiter (with the spaces after them)
    inner: list           # the atoms inside
    close: list           # \right and its delimiter
    end: int              # the index of the token after the closing delimiter
    tall: bool            # holds a fraction or a matrix: \Bigl rather than \bigl
    head_width: float
    open_width: float
    close_width: float
    tail: list = field(default_factory=list)  # the scripts after it: ^{\top}
    tail_width: float = 0.0

    @property
    def width(self) -> float:
        return (self.head_width + self.open_width + sum(a.width for a in self.inner)
                + self.close_width)


# TeX's styles: display, text, script, scriptscript; their sizes
_DISPLAY, _TEXT, _SCRIPT_STYLE, _SCRIPTSCRIPT = range(4)
_SIZE = (1.0, 1.0, 0.8, 0.68)  # widths of 7 pt and 5 pt glyphs against 10 pt


def _smaller(style: int) -> int:
    """The style of a sub- or superscript."""
    return _SCRIPTSCRIPT if style >= _SCRIPT_STYLE else _SCRIPT_STYLE


def _fraction_style(style: int) -> int:
    """The style of a fraction's numerator and denominator."""
    return _TEXT if style == _DISPLAY else _smaller(style)


class _Parser:
    """Reads tokens into atoms, each with its width."""

    def __init__(self, latex: str):
        self.tokens = _TOKEN.findall(latex)
        self.i = 0

    def more(self) -> bool:
        return self.i < len(self.tokens)

    def peek(self, skip_space: bool = True) -> Optional[str]:
        j = self.i
        while skip_space and j < len(self.tokens) and self.tokens[j].isspace():
            j += 1
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self) -> str:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def spaces(self) -> list:
        out = []
        while self.more() and self.tokens[self.i].isspace():
            out.append(self.take())
        return out

    # ---- lists of atoms

    def atoms(self, style: int, stop=()) -> list:
        """Atoms up to a token in ``stop`` (not taken) or the end, with TeX's spacing."""
        out = []
        while self.more() and self.tokens[self.i] not in stop:
            start = self.i
            if self.tokens[self.i].isspace():
                out.append(_Atom(self.spaces(), 0.0, SPACE))
                continue
            width, kind, group = self.atom(style)
            out.append(_Atom(self.tokens[start:self.i], width, kind, group))
        _space(out, style)
        return out

    def braced(self, style: int) -> float:
        """After ``{``: the atoms up to the matching ``}``, their width."""
        inner = self.atoms(style, stop=("}",))
        if self.more():
            self.take()
        return sum(a.width for a in inner)

    def argument(self, style: int) -> float:
        """One argument, a braced group or a single token: its width."""
        self.spaces()
        if not self.more():
            return 0.0
        if self.peek() == "{":
            self.take()
            return self.braced(style)
        return self.atom(style, scripts=False)[0]

    # ---- one atom: a nucleus with its scripts

    def atom(self, style: int, scripts: bool = True) -> tuple[float, str, Optional[_Group]]:
        start = self.i
        tok = self.take()
        size = _SIZE[style]
        group = None
        kind = ORD
        if tok == "{":
            width = self.braced(style)
        elif tok == "\\left":
            group = self.left(style, [], 0.0)
            width, kind = group.width, INNER
        elif tok in _FRACS:
            inner = _fraction_style(style)
            width = max(self.argument(inner), self.argument(inner)) + 0.24 * size
        elif tok == "\\sqrt":
            if self.peek() == "[":
                while self.more() and self.take() != "]":
                    pass
            width = self.argument(style) + 0.83 * size
        elif tok == "\\begin":
            width, kind = self.environment(style), INNER
        elif tok in _FONTS or tok in _OPERATORS:
            if tok in _FONTS:
                arg = self.i
                width = self.argument(style)
                if tok.startswith(("\\text", "\\op")):
                    width = _text_width("".join(self.tokens[arg:self.i]), size)
                else:
                    width *= _FONTS[tok]
            else:
                width = _SYMBOLS[tok] * size if tok in _SYMBOLS else _text_width(tok[1:], size)
            if tok in _OPERATORS:
                kind = OP
                if self.peek(skip_space=False) == "\\left":  # diag\left( ... \right)
                    head = self.tokens[start:self.i]
                    self.take()
                    group = self.left(style, head, width + _THIN * size)  # Op, Inner
                    width, kind = group.width, INNER
        elif tok in _SIZED:
            width = self.argument(style)
            kind = OPEN if tok.endswith("l") else CLOSE if tok.endswith("r") else ORD
        else:
            width, kind = _glyph(tok, size)
        # sub- and superscripts (and primes)
        script_widths = []
        while scripts and self.peek(skip_space=False) in ("^", "_", "'"):
            if self.take() == "'":
                script_widths.append(0.3 * size)
            else:
                script_widths.append(self.argument(_smaller(style)) + 0.05 * size)
        if script_widths:
            width += max(script_widths)
            if kind in (BIN, REL):
                kind = ORD
        if group is not None:
            group.tail = self.tokens[group.end:self.i]
            group.tail_width = width - group.width
        return width, kind, group

    def left(self, style: int, head: list, head_width: float) -> _Group:
        """After ``\\left``: its delimiter, the atoms inside, ``\\right`` and its delimiter."""
        open_ = ["\\left"] + self.spaces() + ([self.take()] if self.more() else [])
        open_ += self.spaces()
        inner = self.atoms(style, stop=("\\right",))
        close = [self.take()] if self.more() else []
        close += self.spaces() + ([self.take()] if self.more() else [])
        tall = any(t in _FRACS or t == "\\begin" for a in inner for t in a.tokens)
        size = _SIZE[style]
        return _Group(head, open_, inner, close, self.i, tall, head_width,
                      _delimiter_width(open_, size, tall), _delimiter_width(close, size, tall))

    def environment(self, style: int) -> float:
        """``\\begin{bmatrix} a & b \\\\ c & d \\end{bmatrix}``: its widest row."""
        self.argument(style)
        rows, cells = [], [0.0]
        while self.more() and self.peek() != "\\end":
            cells[-1] += sum(a.width for a in self.atoms(style, stop=("&", "\\\\", "\\end")))
            tok = self.peek()
            if tok in ("&", "\\\\"):
                self.spaces()
                self.take()
                if tok == "\\\\":
                    rows.append(cells)
                    cells = []
                cells.append(0.0)
        rows.append(cells)
        if self.more():
            self.spaces()
            self.take()
            self.argument(style)
        columns = [max(r[j] if j < len(r) else 0.0 for r in rows)
                   for j in range(max(map(len, rows)))]
        size = _SIZE[style]
        return sum(columns) + size * (len(columns) - 1) + 1.2 * size


def _glyph(tok: str, size: float) -> tuple[float, str]:
    """The width and kind of one token."""
    if tok in _SPACES:
        return _SPACES[tok] * size, SPACE
    if tok in _BINS:
        return _SYMBOLS.get(tok, 0.78) * size, BIN
    if tok in _RELS:
        return (0.28 if tok == ":" else 0.78) * size, REL
    if tok in _PUNCT:
        return 0.28 * size, PUNCT
    if tok in _CHARS:
        kind = OPEN if tok in ("(", "[") else CLOSE if tok in (")", "]") else ORD
        return _CHARS[tok] * size, kind
    if tok in _SYMBOLS:
        return _SYMBOLS[tok] * size, ORD
    if tok.startswith("\\") and len(tok) > 2:  # a Greek letter, an unlisted symbol
        return 0.6 * size, ORD
    return _letter(tok) * size, ORD


def _letter(ch: str) -> float:
    if ch.isdigit():
        return _DIGIT
    if ch in _NARROW:
        return 0.36
    if ch in _WIDE:
        return 0.9 if ch.islower() else 1.0
    if ch.isupper():
        return _UPPER
    return _LOWER


def _text_width(text: str, size: float) -> float:
    """A word set upright (``\\operatorname{diag}``, ``\\text{scalar}``)."""
    inner = text.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    inner = re.sub(r"\\[A-Za-z]+|[{}\\]", "", inner)
    width = sum(0.33 if ch.isspace() else 0.95 * _letter(ch) for ch in inner)
    return width * size


def _delimiter_width(tokens: list, size: float, tall: bool) -> float:
    delim = next((t for t in tokens[1:] if not t.isspace()), ".")
    base = {"(": 0.39, ")": 0.39, "[": 0.28, "]": 0.28, ".": 0.0, "|": 0.28,
            "\\|": 0.5}.get(delim, 0.45)
    return (base + (0.35 if tall else 0.0)) * size


# TeX's spacing between atoms (tex.web's math_spacing): rows the left atom, columns
# the right, in the order of _KINDS; 0 none, 1 thin except in scripts, 2 thin,
# 3 medium and 4 thick except in scripts
_KINDS = (ORD, OP, BIN, REL, OPEN, CLOSE, PUNCT, INNER)
_SPACING = ("02340001", "22*40001", "33**3**3", "44*04004", "00*00000", "02340001",
            "11*11111", "12341011")
_MU = {"0": 0.0, "1": _THIN, "2": _THIN, "3": _BIN_SPACE, "4": _REL_SPACE, "*": 0.0}


def _space(atoms: list, style: int) -> None:
    """TeX's spacing between atoms, added to the width of the atom after it; a binary
    operator with nothing before it to operate on is unary (``-x``)."""
    prev = None
    for a in atoms:
        if a.kind == SPACE:
            continue
        if a.kind == BIN and (prev is None or prev.kind in (BIN, OP, REL, OPEN, PUNCT)):
            a.kind = ORD
        if prev is not None:
            if prev.kind == BIN and a.kind in (REL, CLOSE, PUNCT):
                prev.kind = ORD
                prev.width -= _BIN_SPACE if style <= _TEXT else 0.0
            code = _SPACING[_KINDS.index(prev.kind)][_KINDS.index(a.kind)]
            if code == "2" or style <= _TEXT:
                a.width += _MU[code] * _SIZE[style]
        prev = a


def estimate_width(latex: str) -> float:
    """The typeset width of the math ``latex`` in display style, in em (an estimate)."""
    return sum(a.width for a in _Parser(latex).atoms(_DISPLAY))


# ---------------------------------------------------------------- breaking

_LEVELS = (REL, BIN, ORD)  # where to break, in order: relations, + and -, factors


def _cuts(atoms: list, level: str) -> list[int]:
    """The indices of the atoms a line may start with, at ``level``: before a
    relation, before a binary + or -, or (factors) before an atom that follows a space
    or ``\\odot``-like operator, not after an operator's name."""
    out = []
    for i, a in enumerate(atoms):
        if i == 0 or a.kind == SPACE:
            continue
        prev = next((p for p in reversed(atoms[:i]) if p.kind != SPACE), None)
        if prev is None:
            continue
        if level == REL and a.kind == REL:
            out.append(i)
        elif level == BIN and a.kind == BIN and a.tokens[0] in ("+", "-"):
            out.append(i)
        elif level == ORD and prev.kind not in (OP, BIN, REL, OPEN, PUNCT) and \
                prev.tokens[0] not in ("+", "-") and (
                a.kind == BIN or (a.kind not in (REL, PUNCT, CLOSE) and
                                  atoms[i - 1].kind == SPACE)):
            out.append(i)
    return out


def _pieces(atoms: list, width: float) -> list[tuple[str, float]]:
    """``atoms`` as lines (text, estimated width), each within ``width`` if it can be."""
    total = sum(a.width for a in atoms)
    if total <= width or not atoms:
        return [("".join(a.text for a in atoms), total)]
    for level in _LEVELS:
        cuts = _cuts(atoms, level)
        if cuts:
            bounds = [0] + cuts + [len(atoms)]
            lines = []
            for lo, hi in zip(bounds, bounds[1:]):
                lines += _pieces(atoms[lo:hi], width)
            return _fill(lines, width)
    # no break between atoms: inside the widest bracket group
    lines: list = []
    widest = max((a for a in atoms if a.group is not None), key=lambda a: a.width, default=None)
    if widest is None:
        return [("".join(a.text for a in atoms), total)]
    k = atoms.index(widest)
    before, after = atoms[:k], atoms[k + 1:]
    lead_w = sum(a.width for a in before)
    trail_w = sum(a.width for a in after)
    g = widest.group
    hw, ow, cw, tw = g.head_width, g.open_width, g.close_width, g.tail_width
    inner = _pieces(g.inner, width - max(lead_w + hw + ow, cw + tw + trail_w))
    if len(inner) == 1:  # nothing inside to break either
        return [("".join(a.text for a in atoms), total)]
    size = "\\Big" if g.tall else "\\big"
    first_text = "".join(a.text for a in before) + "".join(g.head) + \
        size + "l" + "".join(g.open[1:]) + inner[0][0]
    last_text = inner[-1][0] + size + "r" + "".join(g.close[1:]) + "".join(g.tail) + \
        "".join(a.text for a in after)
    lines = [(first_text, lead_w + hw + ow + inner[0][1])] + inner[1:-1] + \
        [(last_text, inner[-1][1] + cw + tw + trail_w)]
    return _fill(lines, width)


def _fill(lines: list, width: float) -> list:
    """Consecutive lines joined while they fit (greedy)."""
    out = [lines[0]]
    for text, w in lines[1:]:
        if out[-1][1] + w <= width:
            out[-1] = (out[-1][0] + text, out[-1][1] + w)
        else:
            out.append((text, w))
    return out


def break_math(latex: str, width: float = LINE_WIDTH_EM) -> list[str]:
    """``latex`` (math) as pieces for consecutive display lines, each estimated at
    most ``width`` em wide where it can be; see the module's docstring for the
    contract."""
    return [text for text, _ in _pieces(_Parser(latex).atoms(_DISPLAY), width)]


def lead(piece: str) -> str:
    """A continuation piece as a line of ``split``/``align``: ``{}`` before a leading
    binary operator or relation, so that it keeps its spacing."""
    stripped = piece.lstrip()
    if stripped[:1] in ("+", "-", "=", "<", ">") or stripped.startswith(
            tuple(c for c in _BINS | _RELS if c.startswith("\\"))):
        return "{}" + stripped
    return piece


def equation_rows(left: str, right: str, width: float = LINE_WIDTH_EM) -> list[str]:
    """``left = right`` as the rows of an ``align*``/``split``/``aligned``, aligned at
    ``=``: ``right`` broken to fit beside ``left``, continuation rows indented by a
    ``\\quad`` (rows without the ``\\\\`` between them)."""
    room = max(width - estimate_width(left) - 2, width / 2)
    pieces = break_math(right, room)
    return [f"{left} &= {pieces[0]}"] + [f"&\\quad {lead(p)}" for p in pieces[1:]]
