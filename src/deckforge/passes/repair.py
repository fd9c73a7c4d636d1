"""repair: fill lost and mangled formula answers from the registry, answering what is asked.

Runs after `formulas` (passes/formula_link.py links every card to its registry formulas),
before `dedupe`. Two jobs per card:

1. **Missing answers** (empty, `.`-only, "see image"): the question names a registry formula
   (formula_match) and asks something about it (asks.classify, a list of named rules with cue
   phrases as data). A `formula` question gets the LaTeX as `$$…$$`; a `definition` ("what is
   LoRA?", a bare term) the concept's or formula's registry definition with the LaTeX; a
   `count` ("number of parameters …") the LaTeX of the formula declared to count THAT quantity
   (`Formula.counts`), never a neighbour's; `variables` the LaTeX with its declared symbols as
   a list. A question that brings its own letters ("for N filters, M channels") gets the LaTeX
   rewritten in them through the declared symbols (asks.symbol_mapping, symbols.rename), or
   `needs-review` with the cause; never letters the question contradicts. The flag `repaired`
   carries cause `filled-<kind>` and the formula. A question that asks for a formula the
   registry does not know is flagged `needs-review`; nothing is guessed.
2. **Garbled math** (PDF/KaTeX text extraction: `softmax(dkQKT)V`): each run of formula lines
   holding mangled math is replaced by the registry LaTeX of the formula that the mangled text
   itself matches (a fingerprint), or else the formula the question names by a formula alias.
   Nothing the notes had is dropped: prose around the run and after a formula on its line
   survives, attributions in the lines' labels ("Additive (Bahdanau 2015)") are kept, and a run
   whose labels name what the registry formula does not say is not replaced
   (`needs-review`, cause `repair-would-drop`). No formula: `needs-review`, the text is left
   alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deckforge.asks import (
    QUANTITIES,
    Ask,
    LetterMapping,
    classify,
    question_letters,
    states_a_claim,
    symbol_key,
    symbol_mapping,
)
from deckforge.formula_match import FormulaMatcher, Hit, asks_for_formula, phrase_key
from deckforge.model import Card, Formula, KnowledgeGraph, _replace
from deckforge.passes.compute import UNANSWERED
from deckforge.registry import Registry
from deckforge.symbols import letters_used, rename
from deckforge.text.keys import content_tokens
from deckforge.text.structure import MISSING_ANSWER

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
# LaTeX structure (math delimiters, a command, a braced script), not an identifier's underscore
# (`step_num`): a formula written so is not the mangled spelling its flattened text may match
# (`$12 \cdot n_{layer} \cdot d^2$` flattens to the fingerprint `12⋅nlayer⋅d2`).
_LATEX = re.compile(r"\$|\\[A-Za-z]{2,}|[_^]\{")


def garbled_lines(answer: str, matcher: FormulaMatcher) -> list[GarbledLine]:
    found = []
    for i, line in enumerate(answer.splitlines()):
        if not _RELATION.search(line):
            continue  # every mangled formula line holds a relation (=, ≈, ∈); skip prose fast
        flat = not _MARKUP.search(line)
        structured = bool(_LATEX.search(split_prose_tail(line)[0]))  # the formula, not its remark
        mangled = [h for h in matcher.fingerprint_hits(line)
                   if (h.mangled and not structured) or (h.flat and flat)]
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


# The cause of a question-aware repair's flag is FILLED + the kind of question (asks.RULES):
# dedupe tells two repaired cards apart by it.
FILLED = "filled-"
GARBLED = "garbled-math"  # a repaired flag: mangled math replaced by the registry LaTeX
UNMATCHED = "unmatched-garble"  # needs-review: mangled math no registry formula matches
WOULD_DROP = "repair-would-drop"  # needs-review: the registry formula says less than the notes
# Causes of a repair refused because of the question's own letters (asks.symbol_mapping).
LETTER_CAUSES = ("unknown-letter", "ambiguous-letter", "letter-clash")


# What each kind of question gets, on top of the formula (asks.RULES names the kinds).
def _body_formula(latex: str, formula: Formula, definition: str, symbols) -> str:
    return _display(latex)


def _body_definition(latex: str, formula: Formula, definition: str, symbols) -> str:
    return f"{definition}\n\n{_display(latex)}"


def _body_variables(latex: str, formula: Formula, definition: str, symbols) -> str:
    rows = "\n".join(f"- ${letter}$: {meaning}" for letter, meaning in symbols)
    return f"{_display(latex)}\n\nwhere\n\n{rows}"


ANSWER_BODIES = {"formula": _body_formula, "count": _body_formula,
                 "definition": _body_definition, "variables": _body_variables}


@dataclass(frozen=True)
class Repair:
    """What a question-aware repair decided: the answer and its flag, or why not (cause)."""

    answer: str = ""
    formula: str = ""
    reason: str = ""
    cause: str = ""
    problem: str = ""  # non-empty: no repair; the card goes to review with this reason


def _formula_for(ask: Ask, hit: Hit, question: str, matcher: FormulaMatcher,
                 registry: Registry) -> Formula | None:
    """The formula that answers `ask`: the one the question names, except that a count is
    answered only by a formula declared to count that quantity (`Formula.counts`), looked up
    among the formulas the question names and then among their concepts' formulas; never a
    neighbour that counts something else."""
    named = registry.formula(hit.formula)
    if ask.kind != "count":
        return named
    ids = [hit.formula, *matcher.formulas_for(question)]
    concepts = [matcher.concept_of.get(hit.phrase, ""), named.concept if named else ""]
    for concept_id in concepts:
        concept = registry.concept(concept_id) if concept_id else None
        if concept is not None:
            ids += [*concept.formulas, *(f.id for f in registry.formulas if f.concept == concept.id)]
    for formula_id in dict.fromkeys(ids):
        formula = registry.formula(formula_id)
        if formula is not None and ask.quantity in formula.counts:
            return formula
    return None


def _definition(hit: Hit, formula: Formula, matcher: FormulaMatcher, registry: Registry) -> str:
    """A concept named by the question defines itself; a formula named by its own alias uses its
    own definition, else its concept's."""
    concept_id = matcher.concept_of.get(hit.phrase, "")
    concept = registry.concept(concept_id) if concept_id else None
    if concept is not None and concept.definition:
        return concept.definition
    if formula.definition:
        return formula.definition
    concept = registry.concept(formula.concept)
    return concept.definition if concept is not None else ""


def question_aware_repair(question: str, hit: Hit, matcher: FormulaMatcher,
                          registry: Registry) -> Repair:
    ask = classify(question, bare_term=matcher.is_bare_term(question))
    formula = _formula_for(ask, hit, question, matcher, registry)
    if formula is None:
        return Repair(cause="no-formula-for-quantity",
                      problem=f"the question asks for a number of {ask.quantity} and no registry "
                      f"formula of {_name(registry, hit.formula)}'s family counts them; write the "
                      "answer, or declare `counts` on the formula in snippets/.")
    letters = question_letters(question)
    mapping = symbol_mapping(letters, formula.symbols)
    renames = dict(mapping.renames)
    if not mapping.problem:
        mapping = _check_clash(formula, renames, mapping)
    if mapping.problem:
        return Repair(formula=formula.id, cause=mapping.cause,
                      problem=f"the question brings its own letters and {mapping.problem}; "
                      f"the registry formula {_name(registry, formula.id)} cannot be written in "
                      "them without a guess.")
    declared = {s for s, _ in formula.symbols}
    latex = rename(formula.latex, renames, declared)
    symbols = [(rename(s, renames, declared), meaning) for s, meaning in formula.symbols]
    definition = _definition(hit, formula, matcher, registry) if ask.kind == "definition" else ""
    if ask.kind == "definition" and not definition:
        ask = Ask("formula")
    answer = ANSWER_BODIES[ask.kind](latex, formula, definition, symbols)
    what = {"formula": "the registry LaTeX", "count": f"the registry count of {ask.quantity}",
            "definition": "the registry definition and LaTeX",
            "variables": "the registry LaTeX and its declared symbols"}[ask.kind]
    letters_note = ("; written in the question's letters ("
                    + ", ".join(f"{old}→{new}" for old, new in renames.items()) + ")"
                    if renames else "")
    return Repair(answer=answer, formula=formula.id, cause=FILLED + ask.kind,
                  reason=f"filled with {what} of {_name(registry, formula.id)}, {_named_by(hit)}"
                  f"{letters_note}.")


def _named_by(hit: Hit) -> str:
    if hit.via == "formula-name":  # counting_formula: no alias, the formula's name words
        return f'the one registry formula that counts this for what the question names ("{hit.phrase}")'
    return f'which the question names ("{hit.phrase}")'


def _check_clash(formula: Formula, renames: dict[str, str], mapping: LetterMapping) -> LetterMapping:
    """A new letter the LaTeX already writes for an undeclared or unrenamed symbol would say
    two things at once."""
    renamed = {symbol_key(s) for s in renames}
    used = letters_used(formula.latex) - renamed
    for new in renames.values():
        if symbol_key(new) in used and symbol_key(new) not in renamed:
            return LetterMapping(problem=f"its {new} is already a letter of the formula",
                                 cause="letter-clash")
    return mapping


# Words of a formula's name that say what it counts, not what of: "Transformer parameter count"
# is about a transformer.
_COUNT_WORDS = frozenset(content_tokens(" ".join(
    ("count number total cost size", *(w for ws in QUANTITIES.values() for w in ws)))))


def counting_formula(question: str, registry: Registry) -> Hit | None:
    """For a count question no alias names ("How many parameters does a transformer with L
    layers … have?"): the one formula that counts the asked quantity and whose name's other
    words all stand in the question."""
    ask = classify(question)
    if ask.kind != "count":
        return None
    words = set(content_tokens(question))
    found = [(f, named) for f in registry.formulas if ask.quantity in f.counts
             and (named := set(content_tokens(f.name)) - _COUNT_WORDS) and named <= words]
    if len(found) != 1:
        return None
    formula, named = found[0]
    return Hit(formula.id, "formula-name", " ".join(sorted(named)))


def repair_missing(card: Card, matcher: FormulaMatcher, registry: Registry) -> Card:
    if card.label and states_a_claim(card.question, matcher.is_bare_term(card.question)):
        return card  # a quiz statement lacks its verdict: no formula answers it (still flagged)
    hit = matcher.question_formula(card.question) or counting_formula(card.question, registry)
    if hit is None:
        concept = _defined_concept(card.question, matcher, registry)
        if concept is not None:
            return _fill(card, concept.definition, "", FILLED + "definition",
                         f"filled with the registry definition of the concept `{concept.id}` "
                         f"({concept.name}), which the question asks about; it has no formula.")
        if asks_for_formula(card.question) or classify(card.question).kind in ("count", "variables"):
            return card.with_flag("needs-review", "the answer is missing and no registry formula "
                                  "matches the question; write the answer, or add the formula "
                                  "(or an alias) to snippets/.", cause="no-registry-formula")
        return card
    repair = question_aware_repair(card.question, hit, matcher, registry)
    if repair.problem:
        return card.with_flag("needs-review", "the answer is missing; " + repair.problem,
                              cause=repair.cause, formula=repair.formula)
    return _fill(card, repair.answer, repair.formula, repair.cause, repair.reason)


def _fill(card: Card, answer: str, formula_id: str, cause: str, why: str) -> Card:
    was = card.answer.strip()
    reason = f"the answer was {'empty' if not was.strip('.') else repr(was)}; {why}"
    # The cards pass flagged the empty answer for review; the repair answers it.
    flags = tuple(f for f in card.flags if not (f.name == "needs-review" and f.cause == MISSING_ANSWER))
    formulas = tuple(dict.fromkeys((formula_id, *card.formulas))) if formula_id else card.formulas
    card = _replace(card, answer=answer, flags=flags, formulas=formulas)
    return card.with_flag("repaired", reason, cause=cause, formula=formula_id)


def _defined_concept(question: str, matcher: FormulaMatcher, registry: Registry):
    """The registry concept without formulas that a definition question asks about ("What are
    activation outliers?"), if any: its definition is the answer."""
    hits = [h for h in matcher.alias_hits(question) if not h.formula]
    if len(hits) != 1 or classify(question, matcher.is_bare_term(question)).kind != "definition":
        return None
    concept = registry.concept(matcher.concept_of.get(hits[0].phrase, ""))
    return concept if concept is not None and concept.definition else None


# Where a formula written on one line gives way to prose: a dash, a semicolon, a comma or a
# full stop followed by words ("LayerNorm(x)=γ(σx−μ)+β, computed per token over …").
_TAIL_SEPARATOR = re.compile(r"\s[—–]\s|;\s|,\s|\.\s")
_PROSE_WORD = re.compile(r"[A-Za-z][a-z]{2,}[,.;:]?")


def split_prose_tail(line: str) -> tuple[str, str]:
    """(formula, prose) of a line that continues a formula with a remark on the same line;
    (line, "") when there is none. The remark has no relation and starts with three words."""
    for m in _TAIL_SEPARATOR.finditer(line):
        head, tail = line[: m.start()], line[m.end():].strip()
        words = [t for t in tail.split()[:6] if _PROSE_WORD.fullmatch(t)]
        if _RELATION.search(head) and not _RELATION.search(tail) and len(words) >= 3:
            return head.rstrip(), tail
    return line, ""


_PARENS = re.compile(r"\([^()]*\)")


def _words_of(text: str) -> set[str]:
    return set(phrase_key(text).split())


def _formula_words(formula: Formula) -> set[str]:
    """Words a registry formula says: its text groups (`\\text{additive}`), its name,
    definition and aliases, and the meanings of its declared symbols ("Parameters: L(N)…" is the N of
    `kaplan-power-laws`, "number of parameters")."""
    texts = re.findall(r"\\(?:text|mathrm|operatorname)\{([^{}]*)\}", formula.latex)
    texts += [formula.name, formula.definition, *formula.aliases,
              *(meaning for _, meaning in formula.symbols)]
    return _words_of(" ".join(texts))


_MATH_SPAN = re.compile(r"\$[^$]*\$")


def _attribution(label: str) -> set[str]:
    """Words and years in a label's parentheses ("(Bahdanau 2015)"), not its math (`($\\mu$)`)."""
    inside = " ".join(_PARENS.findall(_MATH_SPAN.sub(" ", label)))
    return {w for w in _words_of(inside) if len(w) >= 3}


# A word label before a formula, maybe with an attribution: "Additive (Bahdanau 2015): …".
_WORD_LABEL = re.compile(r"^\s*(?:\d+\.\s*)?(?P<label>[A-Za-z][A-Za-z\- ]{2,40}"
                         r"(?:\s*\([^()]{0,40}\))?)\s*:\s*\S")


def run_labels(lines: list[str], run: tuple[int, ...]) -> list[str]:
    """The word labels of a run's formula lines ("Additive (Bahdanau 2015)" of "Additive
    (Bahdanau 2015): score(st,hi)=…"): text the notes had beside the formula."""
    found = (_WORD_LABEL.match(lines[i]) for i in run)
    return [m.group("label").strip() for m in found if m]


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
                              "the formula (or a fingerprint) to the registry.", cause=UNMATCHED)
    # A remark after the formula on its own line is the notes' content: it stays.
    tails: dict[int, str] = {}
    for i in by_line:
        lines[i], tails[i] = split_prose_tail(lines[i])
    runs = _formula_runs(lines, set(by_line))
    formula_of = {run: next(by_line[j] for j in run if j in by_line) for run in set(runs.values())}
    # A repair never drops what the notes had: a run whose labels name things the registry
    # formula does not write ("Location-Based" beside five other score functions) is not
    # replaced; labels whose names it writes keep their attributions ("(Bahdanau 2015)").
    kept_labels: dict[tuple[int, ...], list[str]] = {}
    for run, formula_id in formula_of.items():
        labels = run_labels(lines, run)
        said = _formula_words(registry.formula(formula_id))
        lost = [lb for lb in labels if not _words_of(_PARENS.sub(" ", lb)) <= said]
        if lost:
            return card.with_flag(
                "needs-review", f"the answer holds garbled math, and the registry LaTeX of "
                f"{_name(registry, formula_id)} would drop what the notes say beside it ("
                + "; ".join(_clip(lb) for lb in lost[:3]) + "); rewrite it as LaTeX, or add "
                "the missing part to the registry formula.", cause=WOULD_DROP, formula=formula_id)
        if any(_attribution(lb) - said for lb in labels):
            kept_labels[run] = labels
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
        if i == run[-1] and run in kept_labels:
            out.append("As labelled in the notes: " + "; ".join(kept_labels[run]) + ".")
        if tails.get(i):
            out.append(tails[i])
    replaced = [card.answer.splitlines()[i].strip() for i in sorted(by_line)]
    reason = ("the answer held math mangled by text extraction ("
              + "; ".join(_clip(s) for s in replaced[:2]) + (" …" if len(replaced) > 2 else "")
              + "); replaced with the registry LaTeX of "
              + ", ".join(_name(registry, f) for f in placed) + ".")
    card = _replace(card, answer="\n".join(out),
                    formulas=tuple(dict.fromkeys((*placed, *card.formulas))))
    return card.with_flag("repaired", reason, cause=GARBLED, formula=placed[0] if placed else "")


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
