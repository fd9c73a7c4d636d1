"""deckforge.lock: card id -> Anki GUID, content hash, mtime (ARCHITECTURE: card identity).

Placeholder: GUIDs are derived from card ids until the lockfile is implemented.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import genanki

from deckforge.model import KnowledgeGraph


def apply_lock(graph: KnowledgeGraph, lock_path: Path) -> tuple[KnowledgeGraph, object]:
    cards = tuple(replace(c, guid=c.guid or genanki.guid_for(c.id)) for c in graph.cards)
    return graph.replace(cards=cards), None


def write_lock(lock, lock_path: Path) -> None:
    return None
