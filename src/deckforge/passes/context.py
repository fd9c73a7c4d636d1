"""context: cards whose question depends on setup the card does not give.

A card is studied alone. Its question may lean on text that is not on it: "in this context",
"the company", "the partitions mentioned in the slides", a letter nobody defined ("Preceding
layer has d filters?"), a value mapping whose range is never stated, answer options with no
question, or two asked aspects of which the answer covers one. Each such pointer is a named
rule below; the phrases it looks for are data (deckforge.text.references), the letters a
formula may use are the registry's declared symbols, its names and aliases say what a question
"names".

For every card the rules run in order and report findings. Then:

1. If the notes hold the missing setup in an item right above (within NEIGHBOUR_LINES lines,
   same deck) that names the topic both cards are linked to ("What are A and B in Approximate
   MMM?" above "What does a dot b represent in this context?"), that item is carried onto the
   card as its `context` and the rules run again: a card they no longer fire on stays unflagged.
2. Otherwise the card gets `needs-review` with the rule's cause (`missing-context`,
   `options-as-question`, `partial-answer`) and a reason naming what is missing; it moves to
   the "Needs review" deck, out of the student's way. False positives cost a good card, so each
   rule has an escape for the look-alike that is fine (a named topic, an introduced letter, a
   context, a number-free generic phrase).

Runs after `dedupe` (cards know their formulas, repaired answers are in place, merged repeats
are one card) and before `link`, which tags every flag.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from deckforge.asks import asked_quantity
from deckforge.model import Card, KnowledgeGraph, normalize_key
from deckforge.passes.check import plain
from deckforge.registry import Registry
from deckforge.text import references as refs

MISSING_CONTEXT = "missing-context"
OPTIONS_AS_QUESTION = "options-as-question"
PARTIAL_ANSWER = "partial-answer"
CAUSES = (MISSING_CONTEXT, OPTIONS_AS_QUESTION, PARTIAL_ANSWER)

# Step 1: how far above a card its setup may stand, and how much of it is carried.
NEIGHBOUR_LINES = 8
CARRY_MAX_CHARS = 400
# A registry alias names a topic only when it has this many words: one-word aliases such as
# "centroids" or "teacher" are ordinary words in questions about anything.
ANCHOR_MIN_WORDS = 2
# How far around a letter its introduction or topic is looked for (characters): a sentence,
# and it keeps the letter rule linear on a pathological 10,000-character question.
WINDOW_CHARS = 120


@dataclass(frozen=True)
class Finding:
    cause: str
    reason: str
    carryable: bool = True  # a neighbour item may resolve it (step 1)


@dataclass(frozen=True)
class Env:
    registry: Registry
    anchors: dict[str, tuple]  # formula or concept id -> its Anchors
    all_anchors: tuple


def _phrases(patterns) -> re.Pattern:
    return re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")(?!\w)", re.I)


_DEICTIC = _phrases(refs.DEICTIC)
_SOURCE = _phrases(refs.SOURCE_REFERENCES)
_SCENARIO = re.compile(r"\b(?:the|this|that)\s+(" + "|".join(refs.SCENARIO_NOUNS) + r")(?:'s|’s)?\b",
                       re.I)
_INSTANCE = re.compile(r"\b(?:the|this|that)\s+(" + "|".join(refs.INSTANCE_NOUNS) + r")(?:'s|’s)?\b",
                       re.I)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![A-Za-z_])")  # 2 GiB, 7B; not Q2b, fp16
_QUESTION_WORDS = re.compile(r"^(?:what|which|why|how|when|where|who|is|are|does|do|can|explain|"
                             r"define|describe|name|state|list|give)\b", re.I)

# -- names of topics (anchors) -------------------------------------------------------------------

_NAME_SPLIT = re.compile(r"\s*(?:[(),:;]|\bwith\b|\bvs\.?\b|\band\b)\s*", re.I)
_ACRONYM = re.compile(r"(?:[A-Za-z]*[A-Z]){2}[\w-]*")  # LoRA, GRPO, SimCLR, ZeRO


@dataclass(frozen=True)
class Anchor:
    """A phrase that names a topic: matched case-insensitively on normalized words, or as
    written when it is an acronym (ZeRO is a topic, "zero" a word)."""

    phrase: str
    exact: bool = False

    def named_in(self, text: str, key: str) -> bool:
        if self.exact:
            return re.search(rf"(?<!\w){re.escape(self.phrase)}(?!\w)", text) is not None
        return f" {self.phrase} " in key


def _anchor(text: str) -> Anchor | None:
    text = text.strip()
    if _ACRONYM.fullmatch(text):
        return Anchor(text, exact=True)
    key = normalize_key(text)
    return Anchor(key) if re.search(r"[a-z]{3}", key) else None


def _name_anchors(name: str) -> list[Anchor]:
    """The whole name, and its parts that still name something: several words or an acronym
    ("Query, key and value projections" gives no anchor "key")."""
    parts = [name] + [p for p in _NAME_SPLIT.split(name)
                      if p and (len(p.split()) >= ANCHOR_MIN_WORDS or _ACRONYM.fullmatch(p))]
    return [a for p in parts if (a := _anchor(p)) is not None]


def _alias_anchors(aliases) -> list[Anchor]:
    """Aliases that name a topic: several words, not a question, no letters used as symbols
    (a lone `a`, an indexed `ai`, `c1`: "ai and bi partitions" is itself a pointer)."""
    return [a for al in aliases if len(al.split()) >= ANCHOR_MIN_WORDS and "?" not in al
            and not _QUESTION_WORDS.match(al)
            and not re.search(r"(?<!\w)[a-z][ijk\d]?(?!\w)", al)
            and (a := _anchor(al)) is not None]


def make_env(registry: Registry) -> Env:
    anchors: dict[str, tuple[Anchor, ...]] = {}
    for concept in registry.concepts:
        anchors[concept.id] = tuple(dict.fromkeys(
            _name_anchors(concept.name) + _alias_anchors(concept.aliases)))
    for formula in registry.formulas:
        own = _name_anchors(formula.name) + _alias_anchors(formula.aliases)
        anchors[formula.id] = tuple(dict.fromkeys(own + list(anchors.get(formula.concept, ()))))
    everything = tuple(sorted({a for names in anchors.values() for a in names},
                              key=lambda a: (a.phrase, a.exact)))
    return Env(registry, anchors, everything)


def names_any(text: str, anchors) -> bool:
    """Whether `text` names one of `anchors`."""
    key = f" {normalize_key(text)} "
    return any(a.named_in(text, key) for a in anchors)


# -- letters ---------------------------------------------------------------------------------------

# A letter used as a symbol: alone (`d`, `D`), with a subscript (`c_1`, `b_j`, `A_{i}`) or with
# a glued index (`Ai`, `Bj`). Not a letter inside a word, a contraction (don't), an option
# label (`A)`), an abbreviation (e.g.), a ratio (T/F, N:M) or a function call (`O(`).
_SYMBOL = re.compile(
    r"(?<![\w'’\-/:.\\^])(?:([A-Za-z])(?:_\{?[\w,]+\}?)?|([A-Z])[ijk])(?![\w'’\-/:(])(?!\)|\.\w)")
# Articles and the pronoun read as words, not letters (unless subscripted).
_WORD_LETTERS = {"a", "A", "I"}
_DIM_BEFORE = re.compile(r"(?:[×*]|\dx|\bx)\s*$")
_DIM_AFTER = re.compile(r"^\s*(?:[×*]|x\d|x\b)")
_TIMES_X = re.compile(r"(?:^|\s)[\w)]{1,3}\s+$")  # "H x W", "3 x 3": x is the times sign
_RELATIONS = r"=|<|>|≤|≥|≈|≠|≪|≫|∈|∝|\\ll\b|\\gg\b|\\in\b|\\leq?\b|\\geq?\b"
_RELATION_BEFORE = re.compile(rf"(?:{_RELATIONS})\s*$")
_RELATION_AFTER = re.compile(rf"^\s*(?:{_RELATIONS})")  # "Y as $XA$": its formula
_LIST_GAP = re.compile(r"[\s,]*(?:(?:and|or)\s+)?")
_EQUATION = re.compile(r"\$\$?([^$]*?[=≈][^$]*?)\$\$?", re.S)
_BIG_O = re.compile(r"\bO\([^()]*\)")
_ASKED = re.compile(r"\bwhat\s+(?:is|are|does|do)\s+(?:the\s+)?(?:[\w-]+\s+){0,2}$", re.I)
_TOPIC_AFTER = re.compile(r"\b(?:in|of|for|from|under|inside)\s+(?:the\s+)?\w", re.I)
_INTRODUCER = re.compile(r"\b(?:" + "|".join(refs.INTRODUCERS) + r")\b", re.I)


@dataclass(frozen=True)
class Use:
    letter: str
    start: int
    end: int
    dimension: bool = False  # a placeholder in a shape (3×3×d, K×K×C): it introduces itself


def letters(text: str) -> list[Use]:
    """Letters used as symbols in plain text (the base letter of `c_1` is `c`)."""
    text = _BIG_O.sub(lambda m: " " * len(m.group(0)), text)  # O(n^2 d): placeholders
    out = []
    for m in _SYMBOL.finditer(text):
        letter = m.group(1) or m.group(2)
        subscripted = m.end() - m.start() > 1
        if letter in _WORD_LETTERS and not subscripted:
            continue
        before, after = text[max(0, m.start() - 3):m.start()], text[m.end():m.end() + 3]
        if re.search(r"\d\s?$", before) and not subscripted:
            continue  # a unit after a number: "512 B", "8 b"
        if letter == "x" and not subscripted and _TIMES_X.search(text[max(0, m.start() - 5):m.start()]) \
                and re.match(r"\s+[\w(]", text[m.end():]):
            continue
        dimension = bool(_DIM_BEFORE.search(before) or _DIM_AFTER.search(after))
        out.append(Use(letter, m.start(), m.end(), dimension))
    return out


def _declared(card: Card, env: Env, named: bool) -> set[str]:
    """Base letters the card's linked formulas declare (the formula's standard letters); with
    `named`, only for formulas the card names."""
    out: set[str] = set()
    text = f"{card.question}\n{card.context}\n{card.answer}"
    for fid in card.formulas:
        formula = env.registry.formula(fid)
        if formula is None or named and not names_any(text, env.anchors.get(fid, ())):
            continue
        for symbol, _meaning in formula.symbols:
            base = re.sub(r"\\[a-z]+\{|[{}]", "", symbol).split("_")[0].rstrip("'")
            if len(base) == 1:
                out.add(base)
    return out


def _introduced(q: str, use: Use, apposition: bool) -> bool:
    """Whether the question itself gives the letter a meaning where it stands: a shape
    (3×3×d), a relation (n = seq length, r=d, T > 1, Y as $XA$), an introducing word (for N
    filters, a large model M, with rank r) or, when `apposition`, a noun right before it
    (attention head c, positions x_1)."""
    before = q[max(0, use.start - WINDOW_CHARS):use.start]
    words = re.findall(r"[\w']+", before)
    if use.dimension or _RELATION_BEFORE.search(before) or _RELATION_AFTER.search(q[use.end:]):
        return True
    if any(_INTRODUCER.fullmatch(w) for w in words[-refs.INTRO_WINDOW:]):
        return True
    if _in_parentheses(q[:use.start]) and re.match(r"\s+[A-Za-z]{3,}", q[use.end:use.end + WINDOW_CHARS]):
        return True  # a legend: "(N filters, M channels)", "(C_in input channels)"
    head = words[-1] if words and not before.rstrip().endswith((",", ";", ".", ":")) else ""
    if not (apposition and len(head) >= 3 and head.isalpha()
            and head.lower() not in refs.NON_HEADS):
        return False
    # "Doubling p", "scaled r": a verb form, unless a determiner makes it a noun ("the
    # padding p")
    determiner = len(words) >= 2 and words[-2].lower() in refs.DETERMINERS
    return determiner or not head.lower().endswith(refs.VERB_ENDINGS)


def _in_parentheses(before: str) -> bool:
    return before.rfind("(") > before.rfind(")")


def undefined_letters(card: Card, env: Env) -> tuple[list[str], list[str]]:
    """(letters used but defined nowhere, letters asked about with no topic named).

    A letter the question asks about ("What is K …?", "What are the centroids c_1 … c_K?") is
    defined by the answer, so it needs a topic instead: one named after it ("in Approximate
    MMM", not "in the slides"), in the question or context, or the letter declared by a linked
    formula the card names. Any other letter needs a definition in the question, its context
    or answer, a linked formula's declared symbols, or an equation the question states."""
    q = plain(card.question)
    uses = letters(q)
    if not uses:
        return [], []
    elsewhere = {u.letter for u in letters(plain(f"{card.context}\n{card.answer}"))}
    stated = {u.letter for m in _EQUATION.finditer(card.question) for u in letters(plain(m.group(1)))}
    stated |= set(re.findall(r"(?<![\w\\])([A-Za-z])\s+as\s+\$", card.question))  # Y as $XA$
    standard = _declared(card, env, named=False)
    declared = _declared(card, env, named=True)
    unsourced = _SOURCE.sub(" ", q)
    topic = names_any(f"{unsourced}\n{card.context}", env.all_anchors)
    defined: set[str] = standard | stated
    asked: dict[str, bool] = {}
    for use in uses:
        if _ASKED.search(q[max(0, use.start - WINDOW_CHARS):use.start]):
            after = _SOURCE.sub(" ", q[use.end:use.end + WINDOW_CHARS])
            placed = (topic or _TOPIC_AFTER.search(after) is not None
                      or _introduced(q, use, apposition=False))
            asked[use.letter] = asked.get(use.letter, False) or placed
        elif use.letter in elsewhere or _introduced(q, use, apposition=True):
            defined.add(use.letter)
    for prev, use in zip(uses, uses[1:], strict=False):
        # a list takes the status of its first letter: "What are Q, K, and V?", "positions
        # x_1, y_1, and y_5"
        if not _LIST_GAP.fullmatch(q[prev.end:use.start]) or use.letter in defined:
            continue
        if prev.letter in asked and use.letter not in asked:
            asked[use.letter] = asked[prev.letter]
        elif prev.letter in defined and use.letter not in asked:
            defined.add(use.letter)
    undefined = [u.letter for u in uses if u.letter not in defined and u.letter not in asked]
    unplaced = [k for k, placed in asked.items() if not placed and k not in declared]
    return list(dict.fromkeys(undefined)), unplaced


# -- the rules ------------------------------------------------------------------------------------

def rule_deictic(card: Card, env: Env) -> Finding | None:
    """A pointer to the text next to the item ("in this context") with no context carried."""
    m = _DEICTIC.search(plain(card.question))
    if m is None or card.context.strip():
        return None
    return Finding(MISSING_CONTEXT, f"the question says '{m.group(0)}' but the card carries no "
                   "context: what it refers to is not on the card")


def rule_source(card: Card, env: Env) -> Finding | None:
    """A pointer to the slides or lecture, in a question that names no topic."""
    q = plain(card.question)
    m = _SOURCE.search(q)
    if m is None:
        return None
    rest = q[:m.start()] + " " + q[m.end():]
    if names_any(rest, env.all_anchors):  # a heading path above does not say which example
        return None
    return Finding(MISSING_CONTEXT, f"the question points to '{m.group(0)}' and names no topic: "
                   "a student cannot tell which slides or example it means")


def rule_scenario(card: Card, env: Env) -> Finding | None:
    """'the company' of an exam scenario the card does not set up."""
    q = plain(card.question)
    for m in _SCENARIO.finditer(q):
        noun = m.group(1).lower()
        intro = re.compile(rf"\b(?:a|an|one|some)\s+(?:[\w-]+\s+)?{noun}\b", re.I)
        if intro.search(q[:m.start()]) or re.search(rf"\b{noun}\b", card.context, re.I):
            continue
        return Finding(MISSING_CONTEXT, f"'{m.group(0)}' refers to a scenario the notes do not "
                       "give (its quiz stem is missing)", carryable=False)
    return None


def rule_instance(card: Card, env: Env) -> Finding | None:
    """A numeric claim about 'the model' with no setup saying which model."""
    if card.context.strip():
        return None
    q = plain(card.question)
    m = _INSTANCE.search(q)
    if m is None or not _NUMBER.search(q):
        return None
    noun = m.group(1).lower()
    if re.search(rf"\b(?:a|an)\s+(?:[\w-]+\s+){{0,2}}{noun}\b", q[:m.start()], re.I):
        return None
    return Finding(MISSING_CONTEXT, f"a numeric claim about '{m.group(0)}' with no setup saying "
                   "which one (its quiz stem is missing)", carryable=False)


def rule_letters(card: Card, env: Env) -> Finding | None:
    """A letter that neither the card, its context, its answer nor a named formula defines."""
    undefined, asked = undefined_letters(card, env)
    if undefined:
        return Finding(MISSING_CONTEXT, f"the question uses {', '.join(undefined)}, which "
                       "neither the card, its context nor its answer defines")
    if asked:
        return Finding(MISSING_CONTEXT, f"the question asks about {', '.join(asked)} without "
                       "saying which topic or formula they belong to")
    return None


def rule_mapping(card: Card, env: Env) -> Finding | None:
    """A value mapping (`w = [x, …] → [y, …]`) through a formula whose parameters (a range) the
    card never gives: the claim cannot be checked by a student (registry `Mapping` claims)."""
    from deckforge.claims import Mapping

    text = plain(f"{card.context}\n{card.question}")
    for claim in env.registry.claims:
        if not isinstance(claim, Mapping):
            continue
        names = "|".join(re.escape(n) for n in claim.names)
        if not re.search(rf"(?<!\w)(?:{names})\s*=\s*\[[^\]]+\]\s*(?:→|->|\\to)", text, re.I):
            continue
        given = all(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text, re.I) for p in claim.params)
        if given or re.search(r"\brange\b[^\[]{0,20}\[[^\]]+,[^\]]+\]", text, re.I):
            continue
        formula = env.registry.formula(claim.formula)
        name = formula.name if formula else claim.formula
        return Finding(MISSING_CONTEXT, f"the question maps values through {name} but never gives "
                       f"{', '.join(claim.params)}: the quiz's setup is missing", carryable=False)
    return None


_OPTION = re.compile(r"^\s*\(?[A-H][).]\s*")
_OPTION_ANSWER = re.compile(r"^\s*(?:\(?[A-H]\b[).]?(?:\s|,|$)|true\b|false\b|all\b|none\b)", re.I)


def rule_options(card: Card, env: Env) -> Finding | None:
    """The question is only answer options (A) …, B) …) and the answer a statement: the real
    question (often flipped) is not on the card."""
    lines = [ln for ln in card.question.splitlines() if ln.strip()]
    options = [ln for ln in lines if _OPTION.match(ln)]
    if len(options) < 2 or card.options:
        return None
    if any(not _OPTION.match(ln) and (ln.rstrip().endswith("?") or _QUESTION_WORDS.match(ln))
           for ln in lines):
        return None
    if _OPTION_ANSWER.match(card.answer):
        return None
    return Finding(OPTIONS_AS_QUESTION, "the question is only answer options "
                   f"({', '.join(_OPTION.match(o).group(0).strip() for o in options)}) with no "
                   "question, and the answer is a statement", carryable=False)


_PART_SEPARATOR = re.compile(r"\s+[—–-]+\s+")
_PART_SPLIT = re.compile(r"\s*(?:&|,|\band\b)\s*")
_PART = re.compile(r"[\w -]{1,40}")
PARTS_MAX_CHARS = 80  # "rule & expectation": a short list after the topic's dash


def asked_parts(question: str) -> list[str]:
    """The aspects listed after the topic ("X — rule & expectation"), else []. Split, not one
    regex: nested repetition would backtrack for ever on a long question."""
    pieces = _PART_SEPARATOR.split(question.strip())
    if len(pieces) < 2 or len(pieces[-1]) > PARTS_MAX_CHARS:
        return []
    parts = [p.strip().lower() for p in _PART_SPLIT.split(pieces[-1].rstrip("? ").strip())]
    if len(parts) < 2 or not all(_PART.fullmatch(p) for p in parts):
        return []
    return parts


def rule_parts(card: Card, env: Env) -> Finding | None:
    """'X — rule & expectation': an asked aspect with known evidence missing from the answer."""
    parts = asked_parts(plain(card.question))
    if not parts or not card.answer.strip():
        return None
    answer = plain(card.answer).casefold()
    missing = [p for p in parts if p in refs.ASPECTS
               and not any(e in answer for e in refs.ASPECTS[p])]
    if not missing:
        return None
    return Finding(PARTIAL_ANSWER, f"the question asks for {' & '.join(parts)}; the answer gives "
                   f"no {', '.join(missing)}", carryable=False)


# What a count is written with: a digit, math, or a number word ("twice", "quadratic in n").
# ("one" is left out: "fewer than a standard one" is a pronoun.)
_GIVES_A_NUMBER = re.compile(r"\d|\$|\\[A-Za-z]|[=×·^√∝≈]|\b(?:two|three|four|five|six|seven|eight|"
                             r"nine|ten|eleven|twelve|\w+teen|twenty|thirty|forty|fifty|hundred|"
                             r"thousand|million|billion|dozen|twice|half|double|triple|quadratic|"
                             r"linear|constant|zero|none)\b|\bo\(", re.I)
_ASKS_A_COUNT = re.compile(r"\bhow (?:many|much)\b|\bnumber of\b", re.I)


def rule_count(card: Card, env: Env) -> Finding | None:
    """'How many FLOPs does a LoRA adapter add?' answered with words and no number: the answer
    is another item's, or the notes lost it."""
    question = plain(card.question)
    quantity = asked_quantity(question) if _ASKS_A_COUNT.search(question) else ""
    if not quantity or not card.answer.strip() or card.options or card.kind in ("cloze", "true-false"):
        return None
    if _GIVES_A_NUMBER.search(card.answer):
        return None
    return Finding(PARTIAL_ANSWER, f"the question asks for a number of {quantity}; the answer "
                   "gives no number or formula", carryable=False)


RULES: tuple[tuple[str, Callable[[Card, Env], Finding | None]], ...] = (
    ("deictic", rule_deictic),
    ("source-reference", rule_source),
    ("scenario", rule_scenario),
    ("instance", rule_instance),
    ("letters", rule_letters),
    ("value-mapping", rule_mapping),
    ("options", rule_options),
    ("parts", rule_parts),
    ("count", rule_count),
)


def findings(card: Card, env: Env) -> list[tuple[str, Finding]]:
    return [(name, f) for name, rule in RULES if (f := rule(card, env)) is not None]


# -- step 1: the setup in the item right above --------------------------------------------------

def _topics(card: Card, env: Env) -> set[str]:
    """The card's linked formulas and their concepts (ids)."""
    out = set(card.formulas)
    for fid in card.formulas:
        formula = env.registry.formula(fid)
        if formula is not None and formula.concept:
            out.add(formula.concept)
    return out


def _neighbour_context(card: Card, before: list[Card], env: Env) -> str | None:
    """The item above (nearest first) that names a topic this card is linked to."""
    mine = _topics(card, env)
    span = card.sources[0]
    for prev in before:
        pspan = prev.sources[0]
        if prev.deck != card.deck or not 0 < span.line - pspan.end_line <= NEIGHBOUR_LINES:
            continue
        shared = mine & _topics(prev, env)
        if not shared or prev.context.strip():
            continue
        if not names_any(prev.question, [a for ref in shared for a in env.anchors.get(ref, ())]):
            continue
        if prev.unfinished or findings(prev, env):
            continue
        carried = f"{prev.question.strip()} — {prev.answer.strip()}"
        return carried if len(carried) <= CARRY_MAX_CHARS else prev.question.strip()
    return None


def context_pass(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    env = make_env(ctx.registry)
    by_path: dict[str, list[Card]] = {}
    for card in graph.cards:
        by_path.setdefault(card.sources[0].path, []).append(card)
    for cards in by_path.values():
        cards.sort(key=lambda c: c.sources[0].line)
    out = []
    for card in graph.cards:
        found = findings(card, env)
        if found and all(f.carryable for _n, f in found) and not card.context.strip():
            span = card.sources[0]
            before = [c for c in reversed(by_path[span.path]) if c.sources[0].line < span.line]
            carried = _neighbour_context(card, before, env)
            if carried is not None:
                trial = replace(card, context=carried)
                if not findings(trial, env):
                    out.append(trial)
                    continue
        for _name, finding in found:
            card = card.with_flag("needs-review", finding.reason, cause=finding.cause)
        out.append(card)
    return graph.replace(cards=tuple(out))
