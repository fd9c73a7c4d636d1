"""Which registry formulas a piece of text is about.

Three kinds of evidence, strongest first:

1. **Fingerprints**: the structure of a formula as it survives in the notes, including the
   forms PDF/KaTeX text extraction mangles (`softmax(dkQKT)V`: the fraction's denominator comes
   first and the radical is lost). They are regexes over `compact()` text, so LaTeX, Unicode
   and mangled spellings of one formula meet in one form. Fingerprints are precise enough to
   say "this line IS formula X", which is what the repair pass needs before replacing a line.
   They are declared beside their formulas (a snippet module's `FINGERPRINTS`); this module
   only runs them.
2. **Formula aliases**: the formula's name and aliases (`"roofline relation"`), matched as
   whole phrases in `normalize_key()` text.
3. **Concept aliases**: a concept's name and aliases (`"LoRA"`) stand for its primary formula
   (the first of `Concept.formulas`).

All aliases are compiled into one trie-shaped regex, so matching costs one scan per text no
matter how many aliases the registry has (100k cards stay cheap).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from deckforge.model import Fingerprint
from deckforge.registry import Registry

# ---------------------------------------------------------------------------------------------
# compact(): one spelling for LaTeX, Unicode and PDF-mangled math


def _commands(names: str, to: str) -> dict[str, str]:
    return dict.fromkeys(names.split(), to)


# What each LaTeX command becomes in compact() text; other commands keep their name.
_COMMAND_TO = {
    **_commands("cdot ast times bullet", "*"), **_commands("approx simeq sim", "~"),
    **_commands("top intercal", "T"), **_commands("mid vert", "|"), "in": "∈", "sum": "sum",
    "sqrt": "sqrt", **_commands("ldots dots cdots", "…"),
    **_commands("left right big Big bigg Bigg bigl bigr Bigl Bigr", ""),
    **_commands("mathrm text operatorname mathbf mathit mathsf boldsymbol mathbb mathcal frac dfrac"
                " tfrac quad qquad displaystyle textstyle limits", ""),
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ", "sigma": "σ", "tau": "τ", "nabla": "∇",
    "Delta": "δ", "partial": "∂", "pi": "π", "phi": "φ", "rho": "ρ", "omega": "ω",
}
_COMMAND = re.compile(r"\\([a-zA-Z]+)|\\[,;:!> ]")


def _command(m: re.Match) -> str:
    name = m.group(1)
    return "" if name is None else _COMMAND_TO.get(name, name)


_UNICODE = str.maketrans({
    "⋅": "*", "·": "*", "×": "*", "∗": "*", "−": "-", "–": "-", "—": "-", "≈": "~", "∼": "~",
    "∑": "Σ", "⊤": "T", "ᵀ": "T", "∣": "|", "√": "√", "ϵ": "ε", "∆": "δ", "Δ": "δ",
})
_DROP = re.compile(r"[\s{}$\\_^]")


def compact(text: str) -> str:
    """Case-folded, whitespace-free form where `\\frac{QK^\\top}{\\sqrt{d_k}}`, `QKᵀ/√d_k`
    and the mangled `dkQKT` differ only in order, and subscripts/superscripts are flattened."""
    if "\\" in text:
        text = _COMMAND.sub(_command, text)
    text = unicodedata.normalize("NFKC", text.translate(_UNICODE)).replace("Σ", "sum")
    text = text.replace("√", "sqrt").replace("∑", "sum")
    return _DROP.sub("", text).casefold()


# ---------------------------------------------------------------------------------------------
# Alias phrases


_PLURAL = re.compile(r"(?<=[a-z]{3})s\b(?<!ss\b)")


_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_NON_WORD = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def phrase_key(text: str) -> str:
    """normalize_key plus plural folding, so "LoRA adapters" finds alias "lora adapter".

    Same result as model.normalize_key for the notes' text, without its per-character loop
    (matching runs on every card of a 100k-card corpus)."""
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    text = _SPACES.sub(" ", _NON_WORD.sub(" ", text.casefold())).strip()
    return _PLURAL.sub("", text)


# A short one-word alias ("clip", "lora", "dsc") is an acronym: it counts only where the text
# writes it as one (CLIP, LoRA, DSC: two capitals), never the word "Clip the input x".
_ACRONYM = re.compile(r"[a-z]{2,5}")
_CAPITALISED = re.compile(r"\b[^\W_]*[A-Z][^\W_]*[A-Z][^\W_]*\b")  # a word with two capitals


def acronyms_in(text: str) -> set[str]:
    """The words of `text` written with at least two capitals, case-folded (CLIP, LoRA, DSC)."""
    return {tok.casefold() for tok in _CAPITALISED.findall(text)}


def _trie_regex(phrases: Iterable[str]) -> str:
    """One regex alternation shaped like a trie of `phrases` (shared prefixes factored out),
    longest alternatives first so a longer alias wins at the same position."""
    trie: dict = {}
    for phrase in phrases:
        node = trie
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return emit(trie)


def _outermost(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The spans not inside a longer one, in order. One sweep over spans sorted by start (the
    pairwise check it replaces was quadratic: a 1 MB question took 12 s). A span lies inside a
    longer one exactly when an earlier-starting span reaches at least as far, or a span with
    the same start reaches further."""
    kept = []
    reach = -1  # furthest end of the spans that start before the current start
    start, group_end = None, -1  # the current start and the furthest end of its spans
    for span in sorted(spans, key=lambda s: (s[0], -s[1])):
        if span[0] != start:
            reach, start, group_end = max(reach, group_end), span[0], -1
        if not (reach >= span[1] or group_end > span[1]):
            kept.append(span)
        group_end = max(group_end, span[1])
    return kept


@dataclass(frozen=True)
class Hit:
    formula: str
    via: str  # "fingerprint", "formula-alias", "concept-alias"
    phrase: str
    start: int = 0
    end: int = 0
    mangled: bool = False  # a fingerprint of a mangled spelling matched
    flat: bool = False  # a fingerprint that also matches a flattened spelling matched


@dataclass
class FormulaMatcher:
    """Precompiled matcher for one registry. Build once per pass with `from_registry`."""

    formula_ids: frozenset[str]
    names: dict[str, str]
    phrase_to: dict[str, tuple[str, str]]  # phrase -> (formula id, via)
    alias_re: re.Pattern | None
    fingerprints: list[tuple[re.Pattern, Fingerprint]] = field(default_factory=list)
    any_fingerprint: re.Pattern | None = None  # all of them in one regex: most texts match none
    # phrase -> the concept whose name or alias it is (a formula alias with the same words
    # overrides it in `phrase_to`, but "what is <phrase>?" still asks about the concept)
    concept_of: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_registry(cls, registry: Registry,
                      fingerprints: Iterable[Fingerprint] | None = None) -> FormulaMatcher:
        if fingerprints is None:
            fingerprints = registry.fingerprints
        ids = frozenset(f.id for f in registry.formulas)
        phrase_to: dict[str, tuple[str, str]] = {}
        concept_of: dict[str, str] = {}
        # Concept aliases first, so a formula alias with the same words overrides them.
        for concept in registry.concepts:
            primary = next((f for f in concept.formulas if f in ids), None)
            if primary is None:
                primary = next((f.id for f in registry.formulas if f.concept == concept.id), None)
            if primary is None:
                # A concept without formulas still claims its phrases (formula ""): "CLIP
                # activations" (outliers) must shield the "CLIP" inside it from the CLIP loss,
                # and a question that names it is about it, not about its answer's formulas.
                primary = ""
            for alias in (concept.name, *concept.aliases):
                key = phrase_key(alias)
                if len(key) >= 2:
                    phrase_to[key] = (primary, "concept-alias")
                    concept_of.setdefault(key, concept.id)
        for formula in registry.formulas:
            for alias in (formula.name, *formula.aliases):
                key = phrase_key(alias)
                if len(key) >= 2 and phrase_to.get(key, ("", ""))[1] != "formula-alias":
                    phrase_to[key] = (formula.id, "formula-alias")
        alias_re = None
        if phrase_to:
            alias_re = re.compile(r"(?<![\w])(?=(" + _trie_regex(phrase_to) + r")(?![\w]))")
        prints = [(re.compile(fp.pattern), fp) for fp in fingerprints if fp.formula in ids]
        union = re.compile("|".join(f"(?:{fp.pattern})" for _, fp in prints)) if prints else None
        return cls(ids, {f.id: f.name for f in registry.formulas}, phrase_to, alias_re, prints, union,
                   concept_of)

    # -- evidence ---------------------------------------------------------------------------

    def alias_hits(self, text: str) -> list[Hit]:
        """Alias phrases in `text`; a phrase inside a longer matched phrase is dropped."""
        if self.alias_re is None or not text:
            return []
        key = phrase_key(text)
        spans = []
        for m in self.alias_re.finditer(key):
            phrase = m.group(1)
            spans.append((m.start(1), m.start(1) + len(phrase), phrase))
        kept = _outermost(spans)
        hits, acronyms = [], None
        for start, end, phrase in kept:
            if _ACRONYM.fullmatch(phrase):
                acronyms = acronyms_in(text) if acronyms is None else acronyms
                if phrase not in acronyms:
                    continue
            formula, via = self.phrase_to[phrase]
            hits.append(Hit(formula, via, phrase, start, end))
        return hits

    def fingerprint_hits(self, text: str) -> list[Hit]:
        if not self.fingerprints or not text:
            return []
        comp = compact(text)
        if not self.any_fingerprint.search(comp):
            return []
        return [Hit(fp.formula, "fingerprint", m.group(0), m.start(), m.end(), fp.mangled, fp.flat)
                for pattern, fp in self.fingerprints for m in pattern.finditer(comp)]

    def names_something(self, text: str) -> bool:
        """Whether `text` names any formula or concept (one without formulas included)."""
        return bool(self.fingerprint_hits(text) or self.alias_hits(text))

    def is_bare_term(self, text: str) -> bool:
        """Whether `text` is nothing but names of registry concepts/formulas ("Low-Rank
        Adaptation (LoRA)"): a question that is a bare term asks for its definition."""
        from deckforge.asks import covers_all_words

        return covers_all_words(text, [(h.start, h.end) for h in self.alias_hits(text)])

    # -- decisions --------------------------------------------------------------------------

    def question_formula(self, question: str) -> Hit | None:
        """The one formula a question asks about: a formula alias beats a concept alias, a
        longer phrase beats a shorter one, an earlier one beats a later one."""
        hits = self.fingerprint_hits(question) or [h for h in self.alias_hits(question) if h.formula]
        if not hits:
            return None
        rank = {"fingerprint": 0, "formula-alias": 1, "concept-alias": 2}
        return min(hits, key=lambda h: (rank[h.via], -(h.end - h.start), h.start))

    def formulas_for(self, *texts: str) -> tuple[str, ...]:
        """Every formula the texts are about, strongest evidence first, without repeats."""
        ordered: list[str] = []
        for text in texts:
            ordered += [h.formula for h in self.fingerprint_hits(text)]
        hits = [h for text in texts for h in self.alias_hits(text)]
        for via in ("formula-alias", "concept-alias"):
            ordered += [h.formula for h in hits if h.via == via and h.formula]
        return tuple(dict.fromkeys(ordered))


# ---------------------------------------------------------------------------------------------
# What a card's text says about formulas (shared by repair, check and `deckforge check`)

# The question asks for a formula (not just mentions one).
FORMULA_INTENT = re.compile(
    r"\b(formula|formulas|equation|equations|mathematically|mathematical|update rule|derivative"
    r"|loss function|parameter count|param count|# ?params|how many (?:parameters|macs|flops)"
    r"|number of (?:parameters|macs|flops)|pe rule|relation|law|laws)\b",
    re.I,
)


def asks_for_formula(question: str) -> bool:
    return bool(FORMULA_INTENT.search(question))


# The answer holds math: a LaTeX span that is a formula, math symbols, an equation between
# symbols, a product of symbols (`V·d`, `3×3×M`), sub/superscripts. Not math: prose with "="
# between words ("Training = optimize …": the right side must start like an expression), a
# span that is only an arrow (`$\\Rightarrow$`) or a number (`$<0.5$`), a lone variable
# mentioned in prose (`($t$)`).
_MATH_OUTSIDE_SPANS = re.compile(
    r"\\(?!(?:Rightarrow|rightarrow|to|implies|Leftarrow|leftarrow|iff|sim)(?![a-zA-Z]))[a-zA-Z]{2,}"
    r"|[∑∏∫∇∂√′∝≈≤≥∈⊤ᵀ∞]"
    r"|[₀-₉ₐ-ₜ⁰-⁹]"
    r"|(?:^|[\s(,;:])[\wα-ωΑ-Ω′^]{1,8}(?:\([^()\s]{0,20}\))?\s*=\s*(?:[-−\d(\[α-ωΑ-Ω\\]|[A-Za-z]{1,5}(?![a-z])|[A-Za-z]{2,12}\()"
    r"|[A-Za-z)]\s*[·⋅×]\s*[A-Za-z(\d]"
    # sub/superscripts inside an expression, or a complexity: `x_i + b`, `e^{x} / Z`, `O(n^2)`
    # (a lone `x_1` or `W_Q` is a variable named in prose, not a formula)
    r"|(?:[A-Za-z]_\{?\w+\}?|\w\^\{?[\w-]+\}?)\s*[=+\-*/·⋅×<>≤≥|]\s*[\w(\\]"
    r"|[=+*/·⋅×<>≤≥|(]\s*(?:[A-Za-z]_\{?\w|\w\^)"
    r"|\bO\([^)]*(?:\^|²)"
)
_NOT_A_SYMBOL = re.compile(r"\\(?:Rightarrow|rightarrow|to|implies|Leftarrow|leftarrow|iff|sim|approx"
                           r"|quad|qquad|text\{[^}]*\}|mathrm|[,;!: ])(?![a-zA-Z])")
_SPAN_OPERATOR = re.compile(r"[=<>+*/^_|(]|-(?!\s*$)|\\(?:cdot|times|frac|sum|prod|sqrt|in|le|ge|leq|geq"
                            r"|approx|log|exp|max|min|partial|nabla|int|lim|mid)(?![a-zA-Z])")


def _span_is_formula(tex: str) -> bool:
    rest = _NOT_A_SYMBOL.sub(" ", tex)
    has_symbol = bool(re.search(r"[A-Za-zα-ωΑ-Ω]|\\[a-zA-Z]+", rest))
    return has_symbol and bool(_SPAN_OPERATOR.search(rest))


def contains_math(text: str) -> bool:
    from deckforge.latex import math_spans

    text = text or ""
    spans, _ = math_spans(text)
    if any(_span_is_formula(s.text) for s in spans):
        return True
    outside = text
    for span in reversed(spans):
        end = span.start + len(span.delimiter) * 2 + len(span.text)
        outside = outside[: span.start] + " " + outside[end:]
    return bool(_MATH_OUTSIDE_SPANS.search(outside))
