"""`deckforge lint`: every remaining problem in the notes as `path:line:col: CODE message`.

Lint reads the graph the build would produce, so it sees exactly what users get: reader and
pass diagnostics (missing images, dead links, invalid LaTeX, undecodable files) plus findings
about the cards themselves (empty answers, conflicts, unrepaired math, cards without a concept).
Each finding is anchored at the card's first source line, where a contributor fixes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable

from deckforge.diagnostics import Diagnostic, sort_key
from deckforge.model import Card, KnowledgeGraph, normalize_key
from deckforge.passes.compute import UNANSWERED

_EMPTY_ANSWER = re.compile(r"^[\s.]*$")


def _at(card: Card, code: str, message: str, level: str) -> Diagnostic:
    src = card.sources[0]
    return Diagnostic(src.path, src.line, code, message, level=level)


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return f'"{text[: limit - 1]}…"' if len(text) > limit else f'"{text}"'


# Each rule: Card -> findings. Read top to bottom; add a rule by adding a function to CARD_RULES.


def empty_answer(card: Card) -> Iterable[Diagnostic]:
    # An error, unless a pass already flagged it as a question the notes leave open (an exam
    # question): the flag keeps it out of the study path, so it is a warning like the flag.
    if card.kind != "cloze" and not card.options and _EMPTY_ANSWER.match(card.answer):
        level = "warning" if card.has_cause(UNANSWERED) else "error"
        yield _at(card, "empty-answer", f"{_quote(card.question)} has no answer; write one after "
                  "the separator, or name the formula so the registry can fill it.", level)


def flagged(card: Card) -> Iterable[Diagnostic]:
    levels = {"conflict": "warning", "needs-review": "warning", "claim-mismatch": "warning"}
    codes = {"conflict": "conflict", "needs-review": "needs-review",
             "claim-mismatch": "claim-mismatch"}
    for flag in card.flags:
        if flag.name in levels:
            yield _at(card, codes[flag.name], f"{_quote(card.question)}: {flag.reason}",
                      levels[flag.name])


def without_concept(card: Card) -> Iterable[Diagnostic]:
    if not card.concepts:
        yield _at(card, "no-concept", f"{_quote(card.question)} is linked to no concept; name the "
                  "concept in the question or add an alias to a snippets/ module.", "info")


CARD_RULES: list[Callable[[Card], Iterable[Diagnostic]]] = [empty_answer, flagged, without_concept]


def duplicate_candidates(cards: Iterable[Card]) -> Iterable[Diagnostic]:
    """Cards in different sections with the same normalized question: likely the same card
    that dedupe kept apart because their sections differ. Reported once per extra copy."""
    seen: dict[str, Card] = {}
    for card in cards:
        key = normalize_key(card.question)
        if len(key) < 12:
            continue
        first = seen.setdefault(key, card)
        if first is not card:
            yield _at(card, "duplicate-candidate", f"{_quote(card.question)} also appears at "
                      f"{first.sources[0]}; merge them or make the questions distinct.", "info")


def lint_graph(graph: KnowledgeGraph) -> list[Diagnostic]:
    findings = list(graph.diagnostics)
    for card in graph.cards:
        for rule in CARD_RULES:
            findings.extend(rule(card))
    findings.extend(duplicate_candidates(graph.cards))
    return sorted(set(findings), key=sort_key)


def leech_findings(graph: KnowledgeGraph, entries: Iterable[dict]) -> list[Diagnostic]:
    """Cards students keep failing (Anki's leech tag, from `deckforge pull` review data in
    build/reviews.json), at the card's line in today's notes: what to rewrite first."""
    cards = {c.id: c for c in graph.cards}
    found = []
    for entry in entries:
        if not entry.get("leech"):
            continue
        card = cards.get(entry["id"])
        sources = ([(s.path, s.line) for s in card.sources] if card and card.sources else
                   [(s["path"], s["line"]) for s in entry.get("sources", ()) if "path" in s])
        if not sources:
            continue
        users = entry.get("users", 1)
        message = (f"{entry.get('lapses', 0)} lapses in {entry.get('reviews', 0)} answers"
                   f"{f' from {users} users' if users > 1 else ''}: learners keep failing "
                   f"{_quote(card.question if card else entry.get('question', ''))}; rewrite it "
                   "(clearer question, one fact, a cue)")
        found.append(Diagnostic(sources[0][0], sources[0][1], "leech", message, level="info"))
    return sorted(found, key=sort_key)


# Output formats ---------------------------------------------------------------------------


def format_text(diags: list[Diagnostic]) -> str:
    return "".join(f"{d.path}:{d.line}:{d.col}: {d.code} {d.message}\n" for d in diags)


def _gh_escape(text: str, *, prop: bool = False) -> str:
    # GitHub workflow commands: %, CR and LF are escaped in data; ':' and ',' too in properties.
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_github(diags: list[Diagnostic]) -> str:
    kind = {"error": "error", "warning": "warning", "info": "notice"}
    return "".join(
        f"::{kind[d.level]} file={_gh_escape(d.path, prop=True)},line={d.line},col={d.col},"
        f"title={_gh_escape(d.code, prop=True)}::{_gh_escape(d.message)}\n"
        for d in diags
    )


def format_json(diags: list[Diagnostic]) -> str:
    rows = [
        {"path": d.path, "line": d.line, "col": d.col, "level": d.level, "code": d.code,
         "message": d.message}
        for d in diags
    ]
    return json.dumps(rows, ensure_ascii=False, indent=1) + "\n"


FORMATS = {"text": format_text, "github": format_github, "json": format_json}


def exit_code(diags: list[Diagnostic]) -> int:
    return 1 if any(d.level == "error" for d in diags) else 0
