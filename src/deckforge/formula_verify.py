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
-> unchecked (counted, never flagged). An equation whose left side no registry equation shares is
unchecked too (no counterpart): without it we cannot know which quantity the notes meant.
A declared symbol whose meaning is a stabiliser ("small constant for numerical stability", the
`\\epsilon` under a square root) is evaluated near 0: notes that leave it out (`(x - \\mu)/\\sigma`)
state the same formula.

SymPy and the parser are imported lazily (the first card with a formula pays ~0.5 s).
"""

from __future__ import annotations

import math
import random
import re
import signal
import threading
import unicodedata
import zlib
from contextlib import contextmanager
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
    why: str = ""  # unchecked: unparseable, too-large, unmapped, no-counterpart, not-evaluable, timeout


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


def _unparen(text: str) -> str:
    """`(a = b)` -> `a = b` when the parentheses wrap the whole text."""
    if text.startswith("(") and text.endswith(")"):
        depth = _depths(text)
        if all(d > 0 for d in depth[1:-1]):
            return text[1:-1].strip()
    return text


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


_STABILISER = re.compile(r"numerical stability|avoid(?:s|ing)? division by zero", re.I)
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
    negligible: tuple[str, ...] = ()  # declared stabilisers (see the module doc), as written

    @classmethod
    def of(cls, formula: Formula) -> _Symbols:
        rules, base_count, literal = [], {}, []
        for i, (letter, _meaning) in enumerate(sorted(formula.symbols, key=lambda s: -len(s[0]))):
            # Words with spaces (`\text{bytes per element}`) are replaced as written; an accent
            # (`\hat A_i`) is a letter shape, matched in all its spellings below.
            if " " in letter and _LETTER_SHAPE.fullmatch(_unwrap(letter)) is None:
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
        negligible = tuple(letter for letter, meaning in formula.symbols
                           if _STABILISER.search(meaning))
        return cls(rules, bases, literal, negligible)

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


# `\sum_j` with no bounds (a sum over "all j"): given the same symbolic integer bound on both
# sides, so that it evaluates term by term like a bounded sum.
_OPEN_SUM = re.compile(r"\\(sum|prod)_(?:\{\s*([a-zA-Z])\s*\}|([a-zA-Z]))(?!\s*[\^=])")


def _clean(tex: str) -> str:
    tex = _OPEN_SUM.sub(lambda m: rf"\{m.group(1)}_{{{m.group(2) or m.group(3)}=1}}^{{Upto}}",
                        tex)
    tex = _LAYOUT.sub(" ", tex)
    tex = _TRANSPOSE.sub("^{T}", tex)
    tex = _BARE_WORD.sub(lambda m: ("\\" + m.group(1)) if m.group(1) in _KNOWN_FUNCTIONS
                         else rf"\mathrm{{{m.group(1)}}}", tex)
    return tex.strip().rstrip(".,;")


def split_equations(tex: str) -> list[list[str]]:
    """`a = b \\approx c,\\quad d = e` -> [[a, b, c], [d, e]] (sides of each equation)."""
    parts: list[str] = []
    for chunk in _SEPARATOR.split(tex):
        chunk = _unparen(chunk.strip())  # `\quad(d_{attn} = d_{ff}/4 = d)`: an aside, its own part
        first = len(parts)
        # `v_t = …, \theta_t = …`: a comma starts a new equation only before a relation, and
        # never glues across a `\quad` (the chunk before it is complete).
        for piece in _top_level_commas(chunk):
            if len(parts) > first and len(_split_top_level(piece, _RELATION)) < 2:
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


# Hard bounds, all structural so that the verdict never depends on the machine's speed (same
# inputs -> byte-identical graph). The parser (an ANTLR grammar) backtracks: its time grows
# quickly with bracket nesting and length (60 nested parentheses did not finish in minutes), so
# a side beyond these limits is not parsed at all. SymPy's evalf of a sum with a symbolic bound
# runs Euler-Maclaurin (unbounded derivative towers: the `amm-lookup` formula hung the engine),
# and an exact integer power tower (`10^{10^{10}}`) never finishes: sums and products are
# expanded term by term at small integer bounds instead, and numbers are evaluated as floats.
MAX_SIDE_CHARS = 240
MAX_DEPTH = 6  # brackets of any kind
MAX_NUMBER_DIGITS = 9
MAX_POWER_NESTING = 2  # `a^{b^{c}}` at most
MAX_NODES = 400  # expression tree size after parsing
MAX_TERMS = 64  # terms of all expanded sums and products of one expression
# A safety net only (never expected to fire; see `_deadline`): a comparison past it is unchecked.
DEADLINE_S = 5.0


def too_large(tex: str) -> bool:
    """A side the parser must not see (see the bounds above)."""
    if len(tex) > MAX_SIDE_CHARS or re.search(rf"\d{{{MAX_NUMBER_DIGITS + 1},}}", tex):
        return True
    depth, power, deepest, powers = 0, [], 0, 0
    for i, ch in enumerate(tex):
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
            if ch == "{" and tex[:i].rstrip().endswith("^"):
                power.append(depth)
                powers = max(powers, len(power))
        elif ch in ")]}":
            if power and power[-1] == depth:
                power.pop()
            depth -= 1
    return deepest > MAX_DEPTH or powers > MAX_POWER_NESTING


_PARSER = None


def _parser():
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
    return _PARSER


class _Timeout(Exception):
    pass


@contextmanager
def _deadline(seconds: float):
    """SIGALRM after `seconds`, only where that is safe: the main thread of a Unix process with
    no other alarm handler installed. Elsewhere (a worker thread, Windows, a caller's own
    alarm) the structural bounds above are the only bound."""
    usable = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
              and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
    if not usable:
        yield
        return

    def fire(_sig, _frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _parse(tex: str, cache: dict | None = None):
    if cache is not None and tex in cache:
        return cache[tex]
    expr = None
    if not too_large(tex):
        try:
            expr = _parser()(tex)
        except _Timeout:
            raise
        except Exception:  # noqa: BLE001 - any parser failure means "unparseable", counted
            expr = None
        import sympy

        if not isinstance(expr, sympy.Expr) or _size(expr) > MAX_NODES:
            expr = None
    if cache is not None:
        cache[tex] = expr
    return expr


def _size(expr) -> int:
    import sympy

    return sum(1 for _ in sympy.preorder_traversal(expr))


_SPELLING_NOISE = re.compile(r"\\(?:mathrm|operatorname|text|mathit|left|right)(?![a-zA-Z])|[\s{}]")


def _spelling(tex: str) -> str:
    """A left side as written, less spacing, braces and font commands: two left sides that
    differ here are never compared (the parser costs ~20 ms a side)."""
    return _SPELLING_NOISE.sub("", tex)


def _key(expr) -> str:
    return str(expr).replace(" ", "")


def _concrete(expr):
    """Undefined functions (`\\sigma(x)`, `L(w)`) get a fixed concrete stand-in per name, so
    both sides evaluate them alike; the name's case does not count (`Clip` is `\\mathrm{clip}`)."""
    import sympy
    from sympy.core.function import AppliedUndef

    def stand_in(call):
        k = (zlib.crc32(str(call.func).casefold().encode()) % 7) + 1
        return sympy.sin(k * sum(call.args) / 3) + 2

    return expr.replace(lambda e: isinstance(e, AppliedUndef), stand_in)


def _bound_symbols(expr) -> set:
    """Symbols used as a bound of a sum or product (`S` in `\\sum_{s=1}^{S}`): integers."""
    import sympy

    out = set()
    for node in expr.atoms(sympy.Sum, sympy.Product):
        for _var, *bounds in node.limits:
            for b in bounds:
                out |= b.free_symbols
    return out


def _expand_finite(expr):
    """Sums and products with integer bounds written out term by term (at most MAX_TERMS in
    all); None when a bound is not an integer or there are too many terms."""
    import sympy

    terms = 0
    while True:
        nodes = [n for n in sympy.preorder_traversal(expr) if isinstance(n, (sympy.Sum, sympy.Product))]
        if not nodes:
            return expr
        node = nodes[0]  # outermost first: inner bounds may depend on the outer index
        body, (var, lo, hi), rest = node.function, node.limits[0], node.limits[1:]
        if not (lo.is_Integer and hi.is_Integer):
            return None
        count = max(0, int(hi) - int(lo) + 1)
        terms += count
        if terms > MAX_TERMS:
            return None
        if rest:
            body = node.func(body, *rest)
        parts = [body.xreplace({var: sympy.Integer(k)}) for k in range(int(lo), int(hi) + 1)]
        whole = (sympy.Add if isinstance(node, sympy.Sum) else sympy.Mul)(*parts)
        expr = expr.xreplace({node: whole})


def _value(expr, values) -> complex | None:
    import sympy

    if expr.has(sympy.Integral, sympy.Limit, sympy.Derivative):
        return None  # symbolic calculus: no bounded numeric evaluation here
    try:
        expr = _expand_finite(expr.xreplace(values))
        if expr is None:
            return None
        # Floats, not exact integers: `10^{10^{10}}` exactly is a number of 10^10 digits.
        expr = expr.xreplace({i: sympy.Float(i) for i in expr.atoms(sympy.Integer) if abs(i) > 1})
        v = complex(expr.evalf(15))
    except _Timeout:
        raise
    except Exception:  # noqa: BLE001 - whatever SymPy raises on a value: not evaluable, counted
        return None
    if not (math.isfinite(v.real) and math.isfinite(v.imag)):
        return None
    return v


def numerically_equal(a, b, seed: int, points: int = 4, tiny: frozenset = frozenset()) -> bool | None:
    """Equal at every one of `points` seeded random points (None: not evaluable). Symbols that
    bound a sum get small integers, the symbols in `tiny` (stabilisers) 1e-12, the others floats
    in [1.1, 3.7] (sizes are positive)."""
    import sympy

    a, b = _concrete(a), _concrete(b)
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    integers = _bound_symbols(a) | _bound_symbols(b)
    rng = random.Random(seed)
    for _ in range(points):
        values = {s: sympy.Integer(rng.randint(2, 5)) if s in integers
                  else sympy.Float(rng.uniform(1.1, 3.7)) for s in symbols}
        values.update({s: sympy.Float(1e-12) for s in symbols if s in tiny})
        va, vb = _value(a, values), _value(b, values)
        if va is None or vb is None:
            return None
        if abs(va - vb) > 1e-9 * max(1.0, abs(va), abs(vb)):
            return False
    return True


class Verifier:
    """Comparisons for one pass run: parses are cached (each registry formula is parsed once),
    nothing outlives the run."""

    def __init__(self) -> None:
        self.parsed: dict[str, object] = {}
        self.registry: dict[str, list] = {}
        self.symbols: dict[str, _Symbols] = {}

    def _symbols(self, formula: Formula) -> _Symbols:
        if formula.id not in self.symbols:
            self.symbols[formula.id] = _Symbols.of(formula)
        return self.symbols[formula.id]

    def _theirs(self, formula: Formula, symbols: _Symbols) -> list[list[str]]:
        if formula.id not in self.registry:
            self.registry[formula.id] = split_equations(_clean(symbols.apply(formula.latex)))
        return self.registry[formula.id]

    def verify(self, written: str, formula: Formula) -> list[Verdict]:
        """Compare each equation written in `written` (LaTeX or Unicode) with `formula`."""
        symbols = self._symbols(formula)
        mine = split_equations(_clean(symbols.apply(to_latex(written))))
        out = []
        for sides in mine:
            if len(sides) < 2:
                continue
            try:
                with _deadline(DEADLINE_S):
                    out.append(self._sides(sides, written, formula, symbols))
            except _Timeout:
                out.append(Verdict("unchecked", formula.id, written, why="timeout"))
        return out

    def _sides(self, sides, written, formula, symbols) -> Verdict:
        # The parser is the cost (~40 ms a side): left sides first, right sides only when a
        # registry equation states the same quantity.
        if any(too_large(s) for s in sides):
            return Verdict("unchecked", formula.id, written, why="too-large")
        bare = symbols.bases.get(sides[0].strip())
        spellings = {_spelling(sides[0])} | ({_spelling(bare)} if bare else set())
        candidates = [eq for eq in self._theirs(formula, symbols)
                      if len(eq) >= 2 and _spelling(eq[0]) in spellings]
        if not candidates:  # cheap: a left side spelled otherwise is not parsed at all
            return Verdict("unchecked", formula.id, written, why="no-counterpart")
        lhs = _parse(sides[0], self.parsed)
        if lhs is None:
            return Verdict("unchecked", formula.id, written, why="unparseable")
        lhs_keys = {_key(lhs)} | ({_key(_parse(bare, self.parsed))} if bare else set())
        same_left = []
        for eq in candidates:
            left = _parse(eq[0], self.parsed)
            if left is not None and _key(left) in lhs_keys:
                same_left.append((eq, [left] + [_parse(x, self.parsed) for x in eq[1:]]))
        if not same_left:
            return Verdict("unchecked", formula.id, written, why="no-counterpart")
        parsed = [lhs] + [_parse(x, self.parsed) for x in sides[1:]]
        if any(p is None for p in parsed):
            return Verdict("unchecked", formula.id, written, why="unparseable")
        seed = zlib.crc32(f"{formula.id}\0{written}\0{sides[0]}".encode())
        known = set().union(*(x.free_symbols for _, p in same_left for x in p if x is not None))
        for rhs in parsed[1:]:
            if not rhs.free_symbols <= known:
                return Verdict("unchecked", formula.id, written, why="unmapped")
        tiny = frozenset().union(*(x.free_symbols for x in (_parse(t, self.parsed)
                                                             for t in symbols.negligible)
                                   if x is not None))
        for eq, p in same_left:
            for rhs in parsed[1:]:
                if any(x is not None and numerically_equal(rhs, x, seed, tiny=tiny) for x in p[1:]):
                    return Verdict("verified", formula.id, written, " = ".join(eq))
        results = [numerically_equal(parsed[-1], x, seed, tiny=tiny) for _, p in same_left
                   for x in p[1:] if x is not None]
        if results and all(r is False for r in results):
            return Verdict("mismatch", formula.id, written, " = ".join(same_left[0][0]))
        return Verdict("unchecked", formula.id, written, why="not-evaluable")


def verify_written(written: str, formula: Formula) -> list[Verdict]:
    """Compare each equation written in `written` (LaTeX or Unicode) with `formula`."""
    return Verifier().verify(written, formula)


def verify_equation(written: str, formula: Formula) -> Verdict:
    """One verdict for `written`: a mismatch if any of its equations mismatches, else verified
    if one verifies, else unchecked."""
    verdicts = verify_written(written, formula)
    for status in ("mismatch", "verified"):
        found = [v for v in verdicts if v.status == status]
        if found:
            return found[0]
    return verdicts[0] if verdicts else Verdict("unchecked", formula.id, written, why="unparseable")
