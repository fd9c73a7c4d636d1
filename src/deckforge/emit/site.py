"""MkDocs site emitter (placeholder until implemented)."""

from __future__ import annotations

from pathlib import Path

from deckforge.model import KnowledgeGraph


def build_site(graph: KnowledgeGraph, config, strict: bool = False) -> Path | None:
    return None
