"""normalize: unicode/PDF-mangled math to LaTeX, junk lines, stray HTML, clipped letters."""

from __future__ import annotations

from deckforge.model import KnowledgeGraph


def normalize(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    return graph
