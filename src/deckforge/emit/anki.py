"""Anki package emitter (placeholder until implemented)."""

from __future__ import annotations

from pathlib import Path

from deckforge.model import KnowledgeGraph


def write_apkg(graph: KnowledgeGraph, config, lock=None) -> Path | None:
    return None
