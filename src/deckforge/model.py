"""The canonical model: what readers produce, what passes transform, what emitters write.

Everything here is a plain dataclass. Passes never mutate a graph in place; they build a new
one with `dataclasses.replace`, so each pass can be tested (and reasoned about) on its own.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace

from deckforge.diagnostics import Diagnostic

CARD_KINDS = ("basic", "true-false", "multiple-choice", "cloze", "formula")
# Flag words (graph.json contract). `verified` and `computed` are informative: the snippet code
# confirmed the card's formula, or computed its answer from the inputs the notes give.
FLAGS = ("repaired", "conflict", "needs-review", "claim-mismatch", "verified", "computed")
# Flags that mean "do not study this as it is": the card stays out of the study path.
UNFINISHED_FLAGS = ("needs-review",)


@dataclass(frozen=True, order=True)
class SourceSpan:
    """Where a piece of text came from: a path relative to the project root, 1-based inclusive lines."""

    path: str
    line: int
    end_line: int

    def __str__(self) -> str:
        if self.end_line == self.line:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}-{self.end_line}"

    def to_json(self) -> dict:
        return {"path": self.path, "line": self.line, "end_line": self.end_line}


@dataclass(frozen=True)
class RawItem:
    """One question-like thing a reader found, before any interpretation.

    `section` is the structural context above the item (lecture, quiz, heading path), outermost
    first. `kind_hint` lets a reader say what it knows ("cloze", "definition", "multiple-choice")
    without deciding the card kind itself; the cards pass decides.
    """

    question: str
    answer: str
    span: SourceSpan
    reader: str
    section: tuple[str, ...] = ()
    label: str | None = None  # a quiz label such as "Quiz 2 Q1a" or a bare "Q1b"
    kind_hint: str | None = None
    options: tuple[str, ...] = ()
    correct: tuple[int, ...] = ()  # indices into options
    notes: tuple[str, ...] = ()  # reader observations (e.g. how a quiz answer was recovered)
    needs_review: bool = False
    # Why the item needs review, as a stable code the cards pass puts on the flag's `cause`
    # ("bare-label", "missing-statement", "missing-answer", …); `notes` holds the prose.
    cause: str = ""
    # Setup the item depends on but does not repeat: a quiz's shared stem ("a model with 7B
    # parameters…") or a lecture's heading path. Shown above the question, not part of its id.
    context: str = ""


@dataclass(frozen=True)
class Flag:
    """A flag word from FLAGS, the human-readable reason for it, and its cause as data.

    `cause` is a short stable code (e.g. "missing-statement", "formula-mismatch"): passes decide
    on it, never on `reason`, which is prose written for the reader and free to be reworded.
    `formula` names the registry formula the flag is about; `sides` the source spans involved
    (the two sides of a conflict, the item an answer was taken from)."""

    name: str
    reason: str
    cause: str = ""
    formula: str = ""
    sides: tuple[SourceSpan, ...] = ()


@dataclass(frozen=True)
class Card:
    id: str
    kind: str
    question: str
    answer: str  # Markdown + LaTeX (`$…$`, `$$…$$`)
    sources: tuple[SourceSpan, ...]
    deck: tuple[str, ...] = ()  # course, lecture/quiz: becomes `A::B` in Anki
    options: tuple[str, ...] = ()
    correct: tuple[int, ...] = ()
    label: str | None = None
    tags: tuple[str, ...] = ()
    concepts: tuple[str, ...] = ()
    formulas: tuple[str, ...] = ()
    flags: tuple[Flag, ...] = ()
    extra: str = ""  # explanation / surviving text shown on the back
    guid: str | None = None  # filled from deckforge.lock by the Anki identity step
    verified: tuple[str, ...] = ()  # claims a snippet confirmed, human-readable
    # Setup shown above the question (a quiz's shared stem, a lecture's heading path); not part
    # of the card's id, so carrying a stem onto an existing card keeps its identity.
    context: str = ""

    def has_flag(self, name: str) -> bool:
        return any(f.name == name for f in self.flags)

    def has_cause(self, cause: str) -> bool:
        return any(f.cause == cause for f in self.flags)

    def with_flag(self, name: str, reason: str, cause: str = "", formula: str = "",
                  sides: tuple[SourceSpan, ...] = ()) -> Card:
        if any(f.name == name and f.reason == reason for f in self.flags):
            return self
        return _replace(self, flags=self.flags + (Flag(name, reason, cause, formula, sides),))

    @property
    def unfinished(self) -> bool:
        """Not ready to study: kept in the deck, out of the student's way (see emit.anki)."""
        return any(f.name in UNFINISHED_FLAGS for f in self.flags)


@dataclass(frozen=True)
class Formula:
    """A registry formula (see snippets/). `module` is the snippet module that implements it."""

    id: str
    name: str
    latex: str
    concept: str
    aliases: tuple[str, ...] = ()
    module: str = ""
    section: str = ""  # the `--8<-- [start:NAME]` section of the module holding its code
    tests: tuple[str, ...] = ()  # pytest node ids that check the implementation
    # Declared symbols: (letter as written in `latex`, what it means), e.g. ("r", "LoRA rank").
    # They map a question's own letters onto the formula and drive numeric verification.
    symbols: tuple[tuple[str, str], ...] = ()
    # What the formula counts, from asks.QUANTITIES ("parameters", "macs", "flops", "memory"):
    # a question asking for a count is answered only by a formula that counts that quantity.
    counts: tuple[str, ...] = ()
    # A short definition of what the formula expresses, where its concept's definition is about
    # something wider ("arithmetic intensity" inside the roofline model).
    definition: str = ""
    # Parts every correct statement of the formula shows that a numeric comparison cannot see
    # (an index set such as k != i, the second direction of a symmetric loss).
    essentials: tuple[Essential, ...] = ()


@dataclass(frozen=True)
class Essential:
    """A part of a formula that notes drop or get wrong where evaluation at random points cannot
    tell: a formula written out in an answer (every regex of `applies` matches it) must show
    the part (some regex of `shows` matches the answer, prose included: "symmetric" says it
    too). `part` says in words what is missing, for the flag and the back of the card.
    Declared on its formula in snippets/; the `verify` pass checks it."""

    part: str
    applies: tuple[str, ...]
    shows: tuple[str, ...]


@dataclass(frozen=True)
class Fingerprint:
    """How one registry formula survives in notes: a regex over `formula_match.compact()` text,
    including spellings that PDF/KaTeX extraction mangled (`softmax(dkQKT)V`). Declared beside
    its formula in `snippets/` (a module's `FINGERPRINTS` list)."""

    formula: str
    pattern: str
    example: str  # a spelling from the notes it must match (pinned by tests)
    mangled: bool = True  # the pattern only matches a spelling that lost its math structure
    # Matches LaTeX and flattened spellings alike (`xW_1` and `xW1` compact the same): the line
    # counts as mangled when it carries no LaTeX markup at all.
    flat: bool = False


@dataclass(frozen=True)
class Concept:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    definition: str = ""
    formulas: tuple[str, ...] = ()
    related: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceFile:
    path: str
    reader: str
    sha256: str
    raw_items: int = 0


@dataclass(frozen=True)
class Merge:
    """Record of a dedupe merge, for the quality report: which card absorbed which items."""

    card_id: str
    members: tuple[SourceSpan, ...]
    reason: str


@dataclass(frozen=True)
class KnowledgeGraph:
    raw_items: tuple[RawItem, ...] = ()
    cards: tuple[Card, ...] = ()
    concepts: tuple[Concept, ...] = ()
    formulas: tuple[Formula, ...] = ()
    sources: tuple[SourceFile, ...] = ()
    merges: tuple[Merge, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    def replace(self, **changes) -> KnowledgeGraph:
        return _replace(self, **changes)

    def warn(self, *diags: Diagnostic) -> KnowledgeGraph:
        return _replace(self, diagnostics=self.diagnostics + tuple(diags))


def _replace(obj, **changes):
    return replace(obj, **changes)


_WS = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]")


def normalize_key(text: str) -> str:
    """Case-, accent-, punctuation- and whitespace-insensitive form used for identities and matching."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _PUNCT.sub(" ", text.casefold())
    return _WS.sub(" ", text).strip()


def card_id(question: str, section: tuple[str, ...] | str = ()) -> str:
    """Stable id from the normalized question and its section (ARCHITECTURE: card identity)."""
    if isinstance(section, str):
        section = (section,)
    key = normalize_key(question) + "\x1f" + "\x1f".join(normalize_key(s) for s in section)
    return "c" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", normalize_key(text))).strip("-") or "x"


__all__ = [
    "CARD_KINDS",
    "FLAGS",
    "UNFINISHED_FLAGS",
    "Card",
    "Concept",
    "Diagnostic",
    "Flag",
    "Formula",
    "KnowledgeGraph",
    "Merge",
    "RawItem",
    "SourceFile",
    "SourceSpan",
    "card_id",
    "normalize_key",
    "slug",
]
