"""What a question asks, and the letters it brings: the knowledge a question-aware repair needs.

An empty answer is filled from the registry (passes/repair.py), but "what is LoRA?", "define the
key variables in LoRA", "number of parameters of a DSC" and "LoRA update formula" ask different
things about one formula. This module classifies a question with a small list of named rules
(their cue phrases are data, keyed like the alias phrases, so "variables" finds "variable"):

- `variables`: the meaning of the letters ("define the key variables", "what does … stand for");
- `count`: a number of parameters / MACs / FLOPs / bytes, with WHICH quantity (the repair picks
  the formula that counts it: `Formula.counts`);
- `formula`: an equation, a rule, a law, a loss;
- `definition`: "what is X", "define X", "X — what is it?", or a bare term ("Low-Rank
  Adaptation (LoRA)": the question is nothing but names of a concept or formula).

Rules are tried in that order (the first that fires wins: "define the variables" is about the
variables, "what is the update rule" about the formula); none firing means `formula`, what a
repair from the registry gives anyway.

It also reads the letters a question introduces ("for N filters, M channels", "kernel R×R",
"rank R", "with d_model = d") as (letter, description) pairs, and maps them onto a formula's
declared symbols by meaning (`symbol_mapping`), so the repair can write the formula in the
question's letters or say why it cannot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from deckforge.formula_match import phrase_key
from deckforge.text.structure import INTERROGATIVES, PROMPT_WORDS

# ---------------------------------------------------------------------------------------------
# What the question asks


@cache
def _cue_regex(cues: tuple[str, ...]) -> re.Pattern:
    """Cue phrases -> one regex over phrase_key() text; `…` in a cue stands for 0-3 words."""
    parts = [r"(?: \w+){0,3} ".join(re.escape(phrase_key(p)) for p in cue.split("…"))
             for cue in cues]
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")


@dataclass(frozen=True)
class AskRule:
    """One kind of question: its name and the phrases that say so."""

    name: str
    cues: tuple[str, ...]


# Quantities a count question can ask for, and the words that name each one. A count question
# is answered only by a formula that declares it counts that quantity (`Formula.counts`).
QUANTITIES: dict[str, tuple[str, ...]] = {
    "parameters": ("parameters", "params", "weights", "trainable parameters"),
    "macs": ("MACs", "multiply-accumulates", "multiply-accumulate operations"),
    "flops": ("FLOPs", "floating-point operations"),
    "bytes": ("bytes", "bits", "memory", "storage", "traffic"),
}
# Units that are counts by themselves ("Training FLOPs", "KV cache size in bytes"); the other
# quantity words need a counting cue ("parameter-efficient" asks no number).
COUNT_UNITS = ("MACs", "multiply-accumulates", "FLOPs", "bytes", "bits")
COUNT_CUES = ("number of", "how many", "count", "total", "cost", "size", "footprint")

RULES: tuple[AskRule, ...] = (
    AskRule("variables", ("variables", "symbols", "notation", "what does … stand for",
                          "what do … stand for", "meaning of each", "what each letter")),
    # `count` is decided by quantities (below); its place in the order is here.
    AskRule("count", ()),
    AskRule("formula", ("formula", "formulas", "equation", "equations", "mathematically",
                        "mathematical", "update rule", "derivative", "loss function", "objective",
                        "law", "laws", "relation", "expression for", "write out", "write down",
                        "how is … computed", "how is … calculated", "rule of thumb")),
    AskRule("definition", ("what is", "what are", "what s", "define", "definition of",
                           "explain", "describe", "what is it", "what does … mean",
                           "meaning of")),
)
_FILLER = frozenset(phrase_key(w) for w in ("the", "a", "an", "of", "and"))


@dataclass(frozen=True)
class Ask:
    kind: str  # a RULES name
    quantity: str = ""  # for `count`: a QUANTITIES key
    cue: str = ""  # why: the rule's evidence, for the flag's reason


def _word_regex(words: tuple[str, ...]) -> re.Pattern:
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(phrase_key(w)) for w in words)
                      + r")(?!\w)")


_UNITS = _word_regex(COUNT_UNITS)
_COUNTING = _word_regex(COUNT_CUES)
_QUANTITY = {name: _word_regex(words) for name, words in QUANTITIES.items()}


def asked_quantity(question: str) -> str:
    """The quantity a question asks to count ("" when it asks no count)."""
    key = phrase_key(question)
    counting = bool(_COUNTING.search(key))
    found = [(m.start(), name) for name, rx in _QUANTITY.items() for m in rx.finditer(key)
             if counting or _UNITS.fullmatch(m.group(0))]
    return min(found)[1] if found else ""


def classify(question: str, bare_term: bool = False) -> Ask:
    """What `question` asks. `bare_term`: the caller found that the question is nothing but
    names of registry concepts/formulas (formula_match knows the names), i.e. a definition."""
    key = phrase_key(question)
    for rule in RULES:
        if rule.name == "count":
            quantity = asked_quantity(question)
            if quantity:
                return Ask("count", quantity, quantity)
            continue
        m = _cue_regex(rule.cues).search(key)
        if m:
            return Ask(rule.name, cue=m.group(0))
    if bare_term:
        return Ask("definition", cue="the question is only a term")
    return Ask("formula")


# A question opens with one of these words or ends with "?"; a quiz item that does neither and
# names no cue ("At batch 8 the KV cache is larger than the weights") states a claim: what is
# missing is its True/False verdict, never a formula.
_ASKING_OPENER = re.compile(r"^\W*(?:" + "|".join(INTERROGATIVES + PROMPT_WORDS) + r")\b", re.I)


def states_a_claim(question: str, bare_term: bool = False) -> bool:
    """Whether a quiz item's text is a statement awaiting a verdict rather than a question."""
    text = question.strip()
    if not text or text.endswith("?") or _ASKING_OPENER.match(text) or bare_term:
        return False
    ask = classify(text)
    return ask.kind == "formula" and not ask.cue and len(text.split()) >= 4


# A sentence that asks ("Why is LoRA parameter-efficient?") or compares ("LoRA vs SVD") is no
# bare term, even where a whole-sentence alias covers its words.
_INTERROGATIVE = re.compile(r"\?|(?<!\w)(?:why|how|what|when|which|who|where|does|do|is|are|can"
                            r"|vs|versus)(?!\w)", re.I)


def covers_all_words(question: str, spans: list[tuple[int, int]]) -> bool:
    """Whether the phrase spans (in phrase_key(question) coordinates) leave no word of the
    question but fillers: "Low-Rank Adaptation (LoRA)" is a term, "LoRA vs SVD" is not."""
    key = phrase_key(question)
    if not key or not spans or _INTERROGATIVE.search(question):
        return False
    rest = list(key)
    for start, end in spans:
        rest[start:end] = " " * (end - start)
    return all(w in _FILLER for w in "".join(rest).split())


# ---------------------------------------------------------------------------------------------
# The letters a question introduces

_L = r"(?:[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?|[α-ωΑ-Ω])"
_WORDS = r"[A-Za-z][A-Za-z-]*(?: [A-Za-z][A-Za-z-]*){0,2}"
# After a letter: the end, punctuation, a joining word, or the question's verb ("… and model
# dimension w have?", "… with rank r need?").
_END = r"(?=\s*(?:$|[,;.:)?]|\s(?:and|with|for|of|in|on|have|has|need|needs|take|takes|use|uses)\b))"

# The words a question names a quantity by when it gives it a letter. Only these introduce a
# letter: "rank R", "P GPUs", "kernel R×R" do; "the rank of W", "as N increases", "token
# embedding vector x" or "CLIP's encoders" do not.
MEASURES = frozenset(
    "size length dimension dimensionality dim rank width height depth stride padding rate factor "
    "temperature budget count".split())
COUNTED = frozenset(
    "layers heads channels filters groups GPUs gpus devices workers tokens parameters params "
    "experts steps samples classes pixels rows columns features bits bytes blocks nodes "
    "neurons units".split())
SHAPED = frozenset("kernel output input image matrix matrices filter tile block patch window "
                   "feature-map map grid".split())
# What may stand right before a letter that a counted noun follows ("for N filters", ", M
# channels", "with g groups", "has d filters"): a list of letters ("Q, K, and V matrices") or a
# verb ("as N increases") may not.
LETTER_LEADS = frozenset("for with and of on over across has have given using".split())

# Named patterns, tried in order; a span taken by one is not read again by a later one.
#  dims:  "kernel R×R", "output H×W" (noun before), "m×n matrix" (noun after)
#  named-equals: "d_model = d" (a declared name given a letter)
#  letter-equals: "N = number of filters"
#  letter-first: "N filters", "D input channels", "h heads" (a counted noun)
#  noun-first: "rank R", "rank-r", "a buffer of size X" (a measure noun)
LETTER_PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    ("dims", re.compile(rf"(?P<noun>{_WORDS})\s+(?P<a>{_L})\s*[×x]\s*(?P<b>{_L}){_END}")),
    ("dims-after", re.compile(rf"(?<![\w])(?P<a>{_L})\s*[×x]\s*(?P<b>{_L})\s+(?P<noun>[A-Za-z]+)")),
    ("named-equals", re.compile(rf"(?P<name>[A-Za-z]+_\{{?[A-Za-z]+\}}?)"
                                rf"\s*=\s*(?P<letter>{_L}){_END}")),
    ("letter-equals", re.compile(rf"(?<![\w=])(?P<letter>{_L})\s*=\s*(?P<noun>(?:the )?"
                                 rf"(?:number|size|count|dimension|rank)[A-Za-z -]*?){_END}")),
    ("letter-first", re.compile(rf"(?<![\w'’/-])(?P<letter>{_L})\s+(?P<noun>(?:[A-Za-z]+ ){{0,2}}"
                                rf"[A-Za-z]{{2,}}s)\b")),
    ("noun-first", re.compile(rf"(?P<noun>{_WORDS}?)(?:\s+|-)(?P<letter>{_L}){_END}")),
)
# Two sides of a 2-D size: a matrix has rows × columns, everything else height × width.
DIM_SIDES = {"matrix": ("rows", "columns"), "matrice": ("rows", "columns")}
DEFAULT_SIDES = ("height", "width")
# Words that are never the noun a letter is named by ("K is", "r was").
_NOT_NOUNS = frozenset("is was has does as its this thus us vs plus what when where why how "
                       "the a an of and with for in on to by at be".split())


@dataclass(frozen=True)
class QuestionLetter:
    letter: str  # as written ("N", "d_model" stays a name: see `name`)
    description: str  # the words that say what it is ("filters", "kernel size")
    name: str = ""  # named-equals: the declared symbol's own name ("d_model")
    rule: str = ""


def _plain(question: str) -> str:
    text = question.replace("$", " ").replace("\\times", "×")
    text = re.sub(r"\\([a-zA-Z]+)", r"\1", text)
    return re.sub(r"[ \t]+", " ", text)


def _noun(words: str) -> str:
    kept = [w for w in words.split() if w.casefold() not in _NOT_NOUNS]
    return " ".join(kept)


def _lead(text: str, start: int) -> str:
    """The word (or punctuation) right before position `start`."""
    before = text[:start].rstrip()
    if not before:
        return "^"
    if not before[-1].isalnum():
        return before[-1]
    return re.split(r"[^\w]", before)[-1].casefold()


def _reads(rule: str, m: re.Match, text: str) -> list[QuestionLetter]:
    """The letters one pattern match introduces, or none when its words are no such naming."""
    groups = m.groupdict()
    if rule.startswith("dims"):
        noun = _noun(groups["noun"])
        head = noun.split()[-1] if noun and rule == "dims" else noun
        if head.casefold() not in SHAPED:
            return []
        sides = DIM_SIDES.get(phrase_key(head), DEFAULT_SIDES)
        a, b = groups["a"], groups["b"]
        pairs = ([(a, f"{noun} size")] if a == b
                 else [(a, f"{noun} {sides[0]}"), (b, f"{noun} {sides[1]}")])
        return [QuestionLetter(x, d, rule=rule) for x, d in pairs]
    if rule == "named-equals":
        return [QuestionLetter(groups["letter"], "", name=groups["name"], rule=rule)]
    noun, letter = _noun(groups["noun"]), groups["letter"]
    if not noun:
        return []
    last = groups["noun"].split()[-1].casefold()
    if rule == "letter-first" and (letter in ("a", "A", "I") or last not in
                                   {w.casefold() for w in COUNTED}
                                   or _lead(text, m.start()) not in LETTER_LEADS | {",", "(", "^"}):
        return []
    if rule == "noun-first" and last not in MEASURES | {w.casefold() for w in COUNTED}:
        return []
    return [QuestionLetter(letter, noun, rule=rule)]


def question_letters(question: str) -> list[QuestionLetter]:
    """The (letter, description) pairs `question` introduces, in reading order."""
    text = _plain(question)
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, QuestionLetter]] = []
    for rule, pattern in LETTER_PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            read = _reads(rule, m, text)
            if read:
                found += [(m.start(), q) for q in read]
                taken.append((m.start(), m.end()))
    return [q for _, q in sorted(found, key=lambda p: p[0])]


# ---------------------------------------------------------------------------------------------
# Question letters -> declared symbols

_STOP = frozenset(phrase_key(w) for w in "number of the a an per and in for with count total "
                  "being by at to is".split())


def _words(text: str) -> list[str]:
    return [w for w in phrase_key(text).split() if w not in _STOP]


def meaning_score(description: str, meaning: str) -> int:
    """How well a question's words name a declared meaning: 2 per word of the meaning's head
    (outside parentheses), 1 per word inside them ("number of filters (output channels)" is
    about filters first); the description's last word, its head noun ("matrix ROWS", "input
    CHANNELS"), counts twice."""
    head = re.sub(r"\([^)]*\)", " ", meaning)
    inner = " ".join(re.findall(r"\(([^)]*)\)", meaning))
    head_words, inner_words = set(_words(head)), set(_words(inner))
    words = _words(description)
    return sum((2 if w in head_words else 1 if w in inner_words else 0)
               * (2 if i == len(words) - 1 else 1)
               for i, w in enumerate(dict.fromkeys(words)))


def symbol_key(latex: str) -> str:
    """One spelling for a symbol written in a question or declared in LaTeX:
    `d_{\\text{model}}`, `d_model` and `d_{model}` are all `d_model`."""
    text = re.sub(r"\\(?:text|mathrm|operatorname|mathit|mathbf)\s*\{([^{}]*)\}", r"\1", latex)
    return re.sub(r"[\s{}]", "", text)


@dataclass(frozen=True)
class LetterMapping:
    """Declared symbol (as written in the registry LaTeX) -> the question's letter; or why the
    question's letters cannot be used (`problem`, with `cause` as data)."""

    renames: tuple[tuple[str, str], ...] = ()
    problem: str = ""
    cause: str = ""


def symbol_mapping(letters: list[QuestionLetter],
                   symbols: tuple[tuple[str, str], ...]) -> LetterMapping:
    """Map each question letter onto one declared symbol by meaning (greedy on the best score,
    one symbol per letter). A letter that names nothing, a tie, or a new letter that is already
    another symbol's letter is a problem: the repair must not guess."""
    if not letters:
        return LetterMapping()
    by_key = {symbol_key(s): s for s, _ in symbols}
    chosen: dict[int, str] = {}
    candidates = []
    for i, q in enumerate(letters):
        if q.name:
            symbol = by_key.get(symbol_key(q.name))
            if symbol is None:
                return LetterMapping(problem=f"the question sets {q.name} = {q.letter}, and "
                                     f"{q.name} is no declared symbol", cause="unknown-letter")
            chosen[i] = symbol
            continue
        scores = sorted(((meaning_score(q.description, meaning), symbol)
                         for symbol, meaning in symbols), reverse=True)
        if not scores or scores[0][0] == 0:
            return LetterMapping(problem=f"the question's {q.letter} ({q.description}) means "
                                 "nothing the formula declares", cause="unknown-letter")
        candidates += [(score, i, symbol) for score, symbol in scores if score]
    used: set[str] = set(chosen.values())
    for score, i, symbol in sorted(candidates, key=lambda c: (-c[0], c[1])):
        if i in chosen or symbol in used:
            continue
        rivals = [s for sc, j, s in candidates if j == i and sc == score and s != symbol
                  and s not in used]
        if rivals:
            return LetterMapping(problem=f"the question's {letters[i].letter} "
                                 f"({letters[i].description}) could be {symbol} or {rivals[0]}",
                                 cause="ambiguous-letter")
        chosen[i] = symbol
        used.add(symbol)
    missing = [letters[i] for i in range(len(letters)) if i not in chosen]
    if missing:
        q = missing[0]
        return LetterMapping(problem=f"the question's {q.letter} ({q.description}) has no "
                             "declared symbol left to stand for", cause="unknown-letter")
    renames = tuple((chosen[i], letters[i].letter) for i in range(len(letters))
                    if symbol_key(chosen[i]) != symbol_key(letters[i].letter))
    letters_given = [symbol_key(new) for _, new in renames]
    if len(set(letters_given)) != len(letters_given):
        return LetterMapping(problem="the question gives one letter to two of the formula's "
                             "symbols", cause="letter-clash")
    # A new letter that the formula already uses for something else, and that is not renamed
    # away itself, would say two things at once ("for C filters" when C means channels).
    renamed = {symbol_key(s) for s, _ in renames}
    for _symbol, letter in renames:
        if symbol_key(letter) in by_key and symbol_key(letter) not in renamed:
            meaning = dict(symbols)[by_key[symbol_key(letter)]]
            return LetterMapping(problem=f"the question's {letter} is the formula's {letter} "
                                 f"({meaning}), which it does not rename", cause="letter-clash")
    return LetterMapping(renames=renames)
