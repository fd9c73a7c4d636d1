"""repair pass (placeholder: returns the graph unchanged until implemented)."""

from __future__ import annotations

from deckforge.model import KnowledgeGraph


def repair(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    return graph
