"""build/graph.json: the documented, versioned contract (schema "deckforge.graph/1").

Keys are emitted in a fixed order and lists in graph order, so the same notes always give a
byte-identical file. The JSON Schema lives in deckforge/schema/graph.schema.json.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from deckforge.fsutil import atomic_write_text
from deckforge.model import Card, KnowledgeGraph

SCHEMA_ID = "deckforge.graph/1"


def card_to_json(card: Card) -> dict:
    return {
        "id": card.id,
        "guid": card.guid,
        "kind": card.kind,
        "context": card.context,
        "question": card.question,
        "answer": card.answer,
        "options": list(card.options),
        "correct": list(card.correct),
        "label": card.label,
        "deck": "::".join(card.deck),
        "tags": list(card.tags),
        "concepts": list(card.concepts),
        "formulas": list(card.formulas),
        "flags": sorted({f.name for f in card.flags}),
        "notes": [_flag_note(f) for f in card.flags],
        "verified": list(card.verified),
        "extra": card.extra,
        "sources": [s.to_json() for s in card.sources],
    }


def _flag_note(flag) -> dict:
    note = {"flag": flag.name, "reason": flag.reason}
    if flag.cause:
        note["cause"] = flag.cause
    if flag.formula:
        note["formula"] = flag.formula
    if flag.sides:
        note["sides"] = [s.to_json() for s in flag.sides]
    return note


def graph_to_json(graph: KnowledgeGraph) -> dict:
    backlinks: dict[str, list[str]] = {}
    for card in graph.cards:
        for concept in card.concepts:
            backlinks.setdefault(concept, []).append(card.id)
    return {
        "schema": SCHEMA_ID,
        "cards": [card_to_json(c) for c in graph.cards],
        "concepts": [
            {
                "id": c.id,
                "name": c.name,
                "aliases": list(c.aliases),
                "definition": c.definition,
                "formulas": list(c.formulas),
                "related": list(c.related),
                "cards": backlinks.get(c.id, []),
            }
            for c in graph.concepts
        ],
        "formulas": [
            {
                "id": f.id,
                "name": f.name,
                "latex": f.latex,
                "concept": f.concept,
                "aliases": list(f.aliases),
                "module": f.module,
                "section": f.section,
                "tests": list(f.tests),
                "symbols": {letter: meaning for letter, meaning in f.symbols},
            }
            for f in graph.formulas
        ],
        "sources": [
            {"path": s.path, "reader": s.reader, "sha256": s.sha256, "raw_items": s.raw_items}
            for s in graph.sources
        ],
        "merges": [
            {"card": m.card_id, "members": [s.to_json() for s in m.members], "reason": m.reason}
            for m in graph.merges
        ],
        "diagnostics": [
            {"path": d.path, "line": d.line, "col": d.col, "level": d.level, "code": d.code,
             "message": d.message}
            for d in graph.diagnostics
        ],
    }


def dumps(graph: KnowledgeGraph) -> str:
    return json.dumps(graph_to_json(graph), ensure_ascii=False, indent=1) + "\n"


def write_graph_json(graph: KnowledgeGraph, path: Path) -> Path:
    return atomic_write_text(path, dumps(graph))


def load_schema() -> dict:
    return json.loads(resources.files("deckforge.schema").joinpath("graph.schema.json").read_text("utf-8"))
