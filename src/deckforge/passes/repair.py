"""repair: link every card to its registry formulas; fill lost and mangled formula answers.

Runs after `cards`, before `dedupe`. Three jobs, in this order per card:

1. **Link**: `card.formulas` gets every formula the card's text is about (formula_match), so
   the whole graph is linked here; dedupe unions the links of merged members. Only the card's
   own text counts (a neighbour's topic is a guess: in the export, adjacent cards differ).
2. **Missing answers** (empty, `.`-only, "see image"): when the question names a registry
   formula, the answer becomes that formula's LaTeX as `$$…$$` and the card is flagged
   `repaired`, naming the formula. A question that asks for a formula the registry does not
   know is flagged `needs-review`; nothing is guessed.
3. **Garbled math** (PDF/KaTeX text extraction: `softmax(dkQKT)V`): each run of formula lines
   holding mangled math is replaced by the registry LaTeX of the formula that the mangled text
   itself matches (a fingerprint), or else the formula the question names by a formula alias.
   Prose lines around it survive. No formula: `needs-review`, the text is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deckforge.formula_match import FormulaMatcher, Hit, asks_for_formula
from deckforge.model import Card, KnowledgeGraph, _replace
from deckforge.passes.cards import EMPTY_ANSWER_REASON
from deckforge.passes.compute import UNANSWERED
from deckforge.registry import Registry

# Answers that stand for "the formula was here": nothing, dots, an image placeholder.
_MISSING = re.compile(
    r"^\s*(?:[.…·\s]*|\(?(?:see|refer to)\s+(?:the\s+)?(?:image|figure|fig\.?|diagram|slide|picture|photo)s?"
    r"(?:\s+(?:above|below))?\)?[.\s]*|\[?(?:image|figure)\]?)\s*$",
    re.I,
)


def answer_is_missing(answer: str) -> bool:
    return bool(_MISSING.match(answer or ""))


# Signs of math that lost its structure in text extraction. Each is impossible in both prose
# and well-formed math: limits printed before the sum (`i=1∑m`), a set membership glued to its
# space (`∈Rdmodel`), a transpose glued between symbols (`st⊤hi`), an exponent flattened after
# a bracket (`(NNc)αN`), a log glued to its argument (`logp(`).
_GARBLE_SIGNS = [
    re.compile(r"[a-z]=\d+∑|∑[a-z]=\d"),
    re.compile(r"∈R[a-zA-Z]"),
    re.compile(r"[a-z]⊤[a-zA-Z]"),
    re.compile(r"\)[α-ω][A-Z]\b"),
    re.compile(r"\blog[a-z]\("),
]
_TO_UNICODE = [(re.compile(r"\\sum(?![a-zA-Z])"), "∑"), (re.compile(r"\\top(?![a-zA-Z])"), "⊤"),
               (re.compile(r"\\in(?![a-zA-Z])\s*"), "∈"), (re.compile(r"\\mathbb\{R\}"), "R")]


def _unicode_math(line: str) -> str:
    for pattern, repl in _TO_UNICODE:
        line = pattern.sub(repl, line)
    return line


def generic_garble(line: str) -> bool:
    line = _unicode_math(line)
    return any(sign.search(line) for sign in _GARBLE_SIGNS)


# A line that is a formula (optionally after a short label), not prose: an expression with a
# relation and no run of three ordinary words.
_LABEL = re.compile(r"^\s*(?:\d+\.\s*)?[^:=]{0,40}:\s*")
_PROSE = re.compile(r"[A-Za-z]{3,}[,;]?\s+[A-Za-z]{3,}[,;]?\s+[A-Za-z]{3,}")
_RELATION = re.compile(r"[=≈∈]|\\in\b|\\approx")


def is_label_only(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and stripped.endswith(":") and len(stripped) <= 60


def is_formula_line(line: str) -> bool:
    body = _LABEL.sub("", line, count=1)
    return bool(_RELATION.search(body)) and not _PROSE.search(body)


@dataclass(frozen=True)
class GarbledLine:
    index: int
    hit: Hit | None  # the fingerprint that names its formula, if any


_MARKUP = re.compile(r"[\\$_^{]")  # any LaTeX markup: the line did not lose its structure


def garbled_lines(answer: str, matcher: FormulaMatcher) -> list[GarbledLine]:
    found = []
    for i, line in enumerate(answer.splitlines()):
        if not _RELATION.search(line):
            continue  # every mangled formula line holds a relation (=, ≈, ∈); skip prose fast
        flat = not _MARKUP.search(line)
        mangled = [h for h in matcher.fingerprint_hits(line) if h.mangled or (h.flat and flat)]
        if mangled:
            found.append(GarbledLine(i, mangled[0]))
        elif generic_garble(line):
            found.append(GarbledLine(i, None))
    return found


# ---------------------------------------------------------------------------------------------


def _display(latex: str) -> str:
    return f"$${latex}$$"


def _name(registry: Registry, formula_id: str) -> str:
    f = registry.formula(formula_id)
    return f"`{formula_id}` ({f.name})" if f else f"`{formula_id}`"


def repair_missing(card: Card, matcher: FormulaMatcher, registry: Registry) -> Card:
    hit = matcher.question_formula(card.question)
    formula_id = hit.formula if hit else None
    if formula_id is None:
        if asks_for_formula(card.question):
            return card.with_flag("needs-review", "the answer is missing and no registry formula "
                                  "matches the question; write the answer, or add the formula "
                                  "(or an alias) to snippets/.")
        return card
    formula = registry.formula(formula_id)
    was = card.answer.strip()
    answer = _display(formula.latex)
    reason = (f"the answer was {'empty' if not was.strip('.') else repr(was)}; filled with the "
              f"registry LaTeX of {_name(registry, formula_id)}, which the question names "
              f'("{hit.phrase}").')
    # The cards pass flagged the empty answer for review; the repair answers it.
    flags = tuple(f for f in card.flags
                  if not (f.name == "needs-review" and f.reason.startswith(EMPTY_ANSWER_REASON)))
    card = _replace(card, answer=answer, flags=flags,
                    formulas=tuple(dict.fromkeys((formula_id, *card.formulas))))
    return card.with_flag("repaired", reason)


def repair_garbled(card: Card, matcher: FormulaMatcher, registry: Registry) -> Card:
    garbled = garbled_lines(card.answer, matcher)
    if not garbled:
        return card
    lines = card.answer.splitlines()
    asked = matcher.question_formula(card.question)
    fallback = asked.formula if asked and asked.via in ("fingerprint", "formula-alias") else None
    by_line = {g.index: (g.hit.formula if g.hit else fallback) for g in garbled}
    if any(f is None for f in by_line.values()):
        bad = [lines[i].strip() for i, f in by_line.items() if f is None]
        return card.with_flag("needs-review", f"the answer holds garbled math ({_clip(bad[0])!r}) "
                              "and no registry formula matches it; rewrite it as LaTeX, or add "
                              "the formula (or a fingerprint) to the registry.")
    runs = _formula_runs(lines, set(by_line))
    formula_of = {run: next(by_line[j] for j in run if j in by_line) for run in set(runs.values())}
    # One display block per formula, where its last run was: prose between two runs of one
    # formula ("Where the weights are …:") then still leads into the formula.
    last_run = {f: max(r for r, g in formula_of.items() if g == f) for f in formula_of.values()}
    out: list[str] = []
    placed: list[str] = []
    for i, line in enumerate(lines):
        run = runs.get(i)
        if run is None:
            out.append(line)
            continue
        formula_id = formula_of[run]
        if i == run[0] and run == last_run[formula_id]:
            out.append(_display(registry.formula(formula_id).latex))
            placed.append(formula_id)
    replaced = [lines[i].strip() for i in sorted(by_line)]
    reason = ("the answer held math mangled by text extraction ("
              + "; ".join(_clip(s) for s in replaced[:2]) + (" …" if len(replaced) > 2 else "")
              + "); replaced with the registry LaTeX of "
              + ", ".join(_name(registry, f) for f in placed) + ".")
    card = _replace(card, answer="\n".join(out),
                    formulas=tuple(dict.fromkeys((*placed, *card.formulas))))
    return card.with_flag("repaired", reason)


def _formula_runs(lines: list[str], garbled: set[int]) -> dict[int, tuple[int, ...]]:
    """Maximal runs of formula / label lines around each garbled line (a label line only
    inside a run, never leading it), mapped line index -> the run it belongs to."""
    runs: dict[int, tuple[int, ...]] = {}
    for g in sorted(garbled):
        if g in runs:
            continue
        lo = g
        while lo - 1 >= 0 and (lo - 1 in garbled or is_formula_line(lines[lo - 1])):
            lo -= 1
        hi = g
        while hi + 1 < len(lines) and (hi + 1 in garbled or is_formula_line(lines[hi + 1])
                                       or (is_label_only(lines[hi + 1]) and _more_garbled(hi + 1, lines, garbled))):
            hi += 1
        run = tuple(range(lo, hi + 1))
        for i in run:
            runs[i] = run
    return runs


def _more_garbled(start: int, lines: list[str], garbled: set[int]) -> bool:
    """A label line belongs to the run when the next non-label line is garbled."""
    i = start
    while i < len(lines) and is_label_only(lines[i]):
        i += 1
    return i in garbled


def _clip(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------


def repair_card(card: Card, matcher: FormulaMatcher, registry: Registry) -> Card:
    if card.has_cause(UNANSWERED):
        return card  # an exam question the compute pass could not work out: a formula's LaTeX is no answer
    if card.kind not in ("cloze", "multiple-choice") and not card.options:
        if answer_is_missing(card.answer):
            card = repair_missing(card, matcher, registry)
        else:
            card = repair_garbled(card, matcher, registry)
    return card


def repair(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    matcher = FormulaMatcher.from_registry(ctx.registry)
    return graph.replace(cards=tuple(repair_card(c, matcher, ctx.registry) for c in graph.cards))
