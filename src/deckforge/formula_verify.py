"""Is a formula written in an answer the registry formula it is linked to? Decided numerically.

Both sides are parsed by a maintained LaTeX -> SymPy parser (latex2sympy2-extended), never by a
hand-written one. The formula's declared symbols (`Formula.symbols`) decide which spellings
name one symbol: `\\mathrm{CT}_{\\text{peak}}`, `CT_{peak}` and `CT_peak` all become one SymPy
symbol, so a multi-letter name is never read as a product of letters on one side only.

An answer equation is compared with the registry equation that has the same left side (after
that mapping; a bare letter also matches the registry's subscripted one, `C` ~ `C_{train}`,
when no other declared symbol shares the letter). Both right sides are evaluated at seeded
random points (undefined functions get fixed concrete stand-ins): equal at every point ->
verified; different -> mismatch; a symbol the registry side does not have, or a parse failure
-> unchecked (counted, never flagged). An equation without a left side is only ever verified
(equal to some registry side), never called a mismatch: without its left side we cannot know
which quantity the notes meant.

SymPy and the parser are imported lazily (the first card with a formula pays ~0.5 s).
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
import zlib
from dataclasses import dataclass

from deckforge.model import Formula

# Relations that split an equation into sides (`=`, `≈`); `\le`/`\in` end the comparable part.
_RELATION = re.compile(r"\\approx|≈|(?<![<>!\\])=(?!=)")
_STOP = re.compile(r"\\(?:in|le|leq|ge|geq|ll|gg|neq|Rightarrow|to|quad|qquad|text\{\s*for)(?![a-zA-Z])"
                   r"|[∈≤≥≪]")
# Top-level separators between equations in one formula: `,\quad`, `\qquad`, `;`.
_SEPARATOR = re.compile(r",?\s*\\q?quad\s*|;\s*|,\s*\\\s")

_UNICODE = {
    "·": r" \cdot ", "⋅": r" \cdot ", "×": r" \times ", "−": "-", "–": "-", "√": r"\sqrt ",
    "∇": r"\nabla ", "′": "'", "²": "^{2}", "³": "^{3}", "ᵀ": "^{T}", "⊤": "^{T}", "∑": r"\sum ",
    "Σ": r"\sum ", "∘": r"\circ ", "≈": r" \approx ", "ε": r"\epsilon ", "ϵ": r"\epsilon ",
}
_GREEK = ("alpha beta gamma delta epsilon eta theta lambda mu sigma tau phi rho omega pi psi "
          "Delta Sigma Psi").split()
_GREEK_CHARS = "αβγδεηθλμστφρωπψΔΣΨ"
for _ch, _name in zip(_GREEK_CHARS, _GREEK, strict=True):
    _UNICODE.setdefault(_ch, f"\\{_name} ")

# Layout commands that carry no math.
_LAYOUT = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big|bigg|Bigg|displaystyle|textstyle"
                     r"|limits)(?![a-zA-Z])|\\[!,;: ]")
# A bare word of 3+ letters written in the notes' math (`softmax`, `mean`): one function name,
# never a product of letters; LaTeX commands (`\sqrt`) are left alone.
_BARE_WORD = re.compile(r"(?<![\\A-Za-z])([A-Za-z]{3,})(?![A-Za-z0-9])")
_KNOWN_FUNCTIONS = {"exp", "log", "ln", "min", "max", "sin", "cos", "tan", "tanh", "sqrt"}
_TRANSPOSE = re.compile(r"\^\s*(?:\\top|\{\\top\}|\{T\}|T)(?![A-Za-z])")


@dataclass(frozen=True)
class Verdict:
    status: str  # "verified", "mismatch", "unchecked"
    formula: str = ""
    written: str = ""  # the answer's equation, as written
    registry: str = ""  # the registry equation it was compared with
    why: str = ""  # for unchecked: "unparseable", "unmapped", "no-counterpart"


def to_latex(text: str) -> str:
    """Unicode math as the notes write it (`σ′(x) = σ(x)(1 − σ(x))`, `Â`) in LaTeX spelling."""
    text = re.sub("(.)\u0302", r"\\hat{\1}", unicodedata.normalize("NFD", text))
    out = "".join(_UNICODE.get(ch, ch) for ch in unicodedata.normalize("NFC", text))
    return out.replace("$", "")


def _split_top_level(text: str, pattern: re.Pattern) -> list[str]:
    """Split at matches of `pattern` outside brackets (`\\sum_{i=1}` holds no relation)."""
    depth, cuts = _depths(text), []
    for m in pattern.finditer(text):
        if depth[m.start()] == 0:
            cuts.append((m.start(), m.end()))
    pieces, start = [], 0
    for a, b in cuts:
        pieces.append(text[start:a])
        start = b
    return pieces + [text[start:]]


def _depths(text: str) -> list[int]:
    out, depth = [], 0
    for ch in text:
        if ch in ")]}":
            depth -= 1
        out.append(depth)
        if ch in "([{":
            depth += 1
    return out


def _top_level_commas(text: str) -> list[str]:
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return pieces


_ACCENT = r"\\(?:hat|bar|tilde|overrightarrow|overleftarrow)"
_LETTER_SHAPE = re.compile(
    r"(" + _ACCENT + r"\s*(?:\{[^{}]*\}|\\[a-zA-Z]+|[A-Za-z])"  # \hat A, \bar\alpha
    r"|\\[a-zA-Z]+|[A-Za-z]+)"  # \alpha, CT
    r"('?)(?:_(\{.*\}|\\?[A-Za-z0-9]+))?")


_WRAPPER = re.compile(r"\\(?:text|mathrm|operatorname|mathit)\{([A-Za-z][A-Za-z ]*)\}")


_PROSE_TEXT = re.compile(r"\\text\{[^{}]*\s[^{}]*\}")


def _unwrap(tex: str) -> str:
    """`\\mathrm{CT}_{\\text{peak}}` -> `CT_{peak}`: one spelling for the notes and the registry
    before symbols are matched (a wrapper never decides what a symbol is)."""
    return _WRAPPER.sub(r"\1", tex)


def _flexible(tex: str) -> str:
    """A regex for `tex` (unwrapped) that lets the notes drop a command's backslash
    (`x_{\\max}` ~ `x_max`) and space freely."""
    tokens = re.findall(r"\\[a-zA-Z]+|[A-Za-z0-9]+|[^\s{}]", tex)
    parts = [r"\\?" + re.escape(t[1:]) + r"(?![a-zA-Z])" if t.startswith("\\") else re.escape(t)
             for t in tokens]
    return r"\s*".join(parts)


def _symbol_regex(letter: str) -> re.Pattern | None:
    """All spellings of a multi-character declared symbol (`CT_{peak}`, `CT_peak`, `\\hat A_i`,
    `Â_i`), matched in unwrapped text; None for one plain letter or command (the parser reads
    those itself)."""
    m = _LETTER_SHAPE.fullmatch(_unwrap(letter))
    if m is None:
        return None
    base, prime, sub = m.groups()
    accent = re.match(_ACCENT, base)
    if sub is None and not prime and not accent and (len(base) == 1 or base.startswith("\\")):
        return None
    if accent:
        x = _flexible(base[accent.end():].strip().strip("{}").strip())
        base_re = re.escape(accent.group(0)) + r"\s*(?:\{\s*" + x + r"\s*\}|" + x + ")"
    elif base.startswith("\\"):
        base_re = re.escape(base) + r"(?![a-zA-Z])"
    else:
        base_re = r"(?<![A-Za-z\\])" + re.escape(base)
    if sub is None:
        return re.compile(base_re + re.escape(prime) + r"(?![A-Za-z_])")
    x = _flexible(sub[1:-1] if sub.startswith("{") else sub)
    sub_re = r"_\s*(?:\{\s*" + x + r"\s*\}|" + x + r"(?![A-Za-z0-9]))"
    return re.compile(base_re + re.escape(prime) + sub_re)


@dataclass
class _Symbols:
    """The declared multi-character symbols of one formula, as placeholder substitutions."""

    rules: list[tuple[re.Pattern, str]]
    bases: dict[str, str]  # bare letter -> placeholder of its only subscripted symbol
    literal: list[tuple[str, str]]  # symbols written with words (`\text{bytes per element}`)

    @classmethod
    def of(cls, formula: Formula) -> _Symbols:
        rules, base_count, literal = [], {}, []
        for i, (letter, _meaning) in enumerate(sorted(formula.symbols, key=lambda s: -len(s[0]))):
            if " " in letter:
                literal.append((letter, rf"\mathrm{{Sym{i}}}"))
                continue
            pattern = _symbol_regex(letter)
            if pattern is not None:
                rules.append((pattern, rf"\mathrm{{Sym{i}}}"))
            base = re.match(r"[A-Za-z]", letter.removeprefix("\\mathrm{"))
            if base and "_" in letter:
                base_count.setdefault(base.group(0), []).append(rf"\mathrm{{Sym{i}}}")
        letters = {s[0] for s in formula.symbols}
        bases = {b: p[0] for b, p in base_count.items() if len(p) == 1 and b not in letters}
        return cls(rules, bases, literal)

    def apply(self, tex: str) -> str:
        for literal, placeholder in self.literal:
            tex = tex.replace(literal, placeholder)
        # Prose inside math (`\text{ cycles for }`, `\text{with prob. }`) annotates; it ends the
        # comparable part like a `\quad`.
        tex = _PROSE_TEXT.sub(r" \\quad ", tex)
        tex = _unwrap(tex)
        for pattern, placeholder in self.rules:
            tex = pattern.sub(placeholder.replace("\\", "\\\\"), tex)
        return tex


def _clean(tex: str) -> str:
    tex = _LAYOUT.sub(" ", tex)
    tex = _TRANSPOSE.sub("^{T}", tex)
    tex = _BARE_WORD.sub(lambda m: ("\\" + m.group(1)) if m.group(1) in _KNOWN_FUNCTIONS
                         else rf"\mathrm{{{m.group(1)}}}", tex)
    return tex.strip().rstrip(".,;")


def split_equations(tex: str) -> list[list[str]]:
    """`a = b \\approx c,\\quad d = e` -> [[a, b, c], [d, e]] (sides of each equation)."""
    parts: list[str] = []
    for chunk in _SEPARATOR.split(tex):
        # `v_t = …, \theta_t = …`: a comma starts a new equation only before a relation.
        for piece in _top_level_commas(chunk):
            if parts and len(_split_top_level(piece, _RELATION)) < 2:
                parts[-1] += "," + piece
            else:
                parts.append(piece)
    out = []
    for part in parts:
        stop = _STOP.search(part)
        part = part[: stop.start()] if stop else part
        sides = [s.strip() for s in _split_top_level(part, _RELATION)]
        if len(sides) >= 2 and all(sides):
            out.append(sides)
        elif len(sides) == 1 and sides[0]:
            out.append(sides)
    return out


_PARSER = None


def _parse(tex: str):
    global _PARSER  # noqa: PLW0603 - a lazily imported parser, the same for every caller
    if _PARSER is None:
        from latex2sympy2_extended import latex2sympy
        from latex2sympy2_extended.latex2sympy2 import ConversionConfig
        from latex2sympy2_extended.math_normalization import NormalizationConfig

        conversion = ConversionConfig(interpret_as_mixed_fractions=False, lowercase_symbols=False)
        normalization = NormalizationConfig(basic_latex=False, units=False, malformed_operators=False,
                                            nits=False, boxed="none", equations=False)
        _PARSER = lambda s: latex2sympy(s, conversion_config=conversion,  # noqa: E731
                                        normalization_config=normalization)
    try:
        expr = _PARSER(tex)
    except Exception:  # noqa: BLE001 - any parser failure means "unparseable", counted
        return None
    import sympy

    return expr if isinstance(expr, sympy.Expr) else None


def _key(expr) -> str:
    return str(expr).replace(" ", "")


def _concrete(expr):
    """Undefined functions (`\\sigma(x)`, `L(w)`) get a fixed concrete stand-in per name, so
    both sides evaluate them alike."""
    import sympy
    from sympy.core.function import AppliedUndef

    def stand_in(call):
        k = (zlib.crc32(str(call.func).encode()) % 7) + 1
        return sympy.sin(k * sum(call.args) / 3) + 2

    return expr.replace(lambda e: isinstance(e, AppliedUndef), stand_in)


def numerically_equal(a, b, seed: int, points: int = 4) -> bool | None:
    """Equal at every one of `points` seeded random points (None: not evaluable)."""
    import sympy

    a, b = _concrete(a), _concrete(b)
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    rng = random.Random(seed)
    for _ in range(points):
        values = {s: sympy.Float(rng.uniform(1.1, 3.7)) for s in symbols}
        try:
            va = complex(a.evalf(subs=values))
            vb = complex(b.evalf(subs=values))
        except (TypeError, ValueError):
            return None
        if not all(math.isfinite(v.real) and math.isfinite(v.imag) for v in (va, vb)):
            return None
        if abs(va - vb) > 1e-9 * max(1.0, abs(va), abs(vb)):
            return False
    return True


def verify_written(written: str, formula: Formula) -> list[Verdict]:
    """Compare each equation written in `written` (LaTeX or Unicode) with `formula`."""
    symbols = _Symbols.of(formula)
    mine = split_equations(_clean(symbols.apply(to_latex(written))))
    return [_verify_sides(sides, written, formula, symbols) for sides in mine if len(sides) >= 2]


def verify_equation(written: str, formula: Formula) -> Verdict:
    """One verdict for `written`: a mismatch if any of its equations mismatches, else verified
    if one verifies, else unchecked."""
    verdicts = verify_written(written, formula)
    for status in ("mismatch", "verified"):
        found = [v for v in verdicts if v.status == status]
        if found:
            return found[0]
    return verdicts[0] if verdicts else Verdict("unchecked", formula.id, written, why="unparseable")


def _verify_sides(sides: list[str], written: str, formula: Formula, symbols: _Symbols) -> Verdict:
    parsed = [_parse(s) for s in sides]
    if any(p is None for p in parsed):
        return Verdict("unchecked", formula.id, written, why="unparseable")
    seed = zlib.crc32(f"{formula.id}\0{written}\0{sides[0]}".encode())
    theirs = []
    for eq in split_equations(_clean(symbols.apply(formula.latex))):
        parsed_eq = [_parse(s) for s in eq]
        theirs.append((eq, parsed_eq))
    if len(parsed) >= 2:
        lhs = _key(parsed[0])
        bare = symbols.bases.get(sides[0].strip())
        lhs_keys = {lhs} | ({_key(_parse(bare))} if bare else set())
        same_left = [(eq, p) for eq, p in theirs if p and p[0] is not None and _key(p[0]) in lhs_keys
                     and len(p) >= 2]
        if not same_left:
            return _equal_to_some_side(parsed[-1], theirs, formula, written, seed)
        known = set().union(*(x.free_symbols for _, p in same_left for x in p if x is not None))
        for rhs in parsed[1:]:
            if not rhs.free_symbols <= known:
                return Verdict("unchecked", formula.id, written, why="unmapped")
        for eq, p in same_left:
            for rhs in parsed[1:]:
                if any(x is not None and numerically_equal(rhs, x, seed) for x in p[1:]):
                    return Verdict("verified", formula.id, written, " = ".join(eq))
        results = [numerically_equal(parsed[-1], x, seed) for _, p in same_left for x in p[1:]
                   if x is not None]
        if results and all(r is False for r in results):
            return Verdict("mismatch", formula.id, written, " = ".join(same_left[0][0]))
        return Verdict("unchecked", formula.id, written, why="unparseable")
    return _equal_to_some_side(parsed[0], theirs, formula, written, seed)


def _equal_to_some_side(expr, theirs, formula: Formula, written: str, seed: int) -> Verdict:
    for eq, p in theirs:
        for x in p:
            if x is not None and x.free_symbols == expr.free_symbols and expr.free_symbols \
                    and numerically_equal(expr, x, seed):
                return Verdict("verified", formula.id, written, " = ".join(eq))
    return Verdict("unchecked", formula.id, written, why="no-counterpart")
