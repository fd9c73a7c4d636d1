"""check pass (placeholder: returns the graph unchanged until implemented)."""

from __future__ import annotations

from deckforge.model import KnowledgeGraph


def check(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    return graph
