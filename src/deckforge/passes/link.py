"""link pass (placeholder: returns the graph unchanged until implemented)."""

from __future__ import annotations

from deckforge.model import KnowledgeGraph


def link(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    return graph
