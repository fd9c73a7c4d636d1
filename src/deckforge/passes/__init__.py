"""Passes: pure functions `graph -> graph`, run in the order listed in PASSES.

Each pass takes the graph and a read-only Context (configuration and the formula registry)
and returns a new graph; problems it finds go into `graph.diagnostics`, never to stdout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from deckforge.config import Config
from deckforge.model import KnowledgeGraph
from deckforge.registry import Registry


@dataclass(frozen=True)
class Context:
    config: Config
    registry: Registry


Pass = Callable[[KnowledgeGraph, Context], KnowledgeGraph]


def passes() -> list[tuple[str, Pass]]:
    from deckforge.passes import (
        cards,
        check,
        compute,
        context,
        dedupe,
        formula_link,
        link,
        measured,
        normalize,
        prose_math,
        repair,
        verify,
    )

    return [
        ("normalize", normalize.normalize),  # unicode / PDF-mangled math, junk lines, stray HTML
        ("cards", cards.make_cards),  # RawItem -> Card, with a kind
        ("compute", compute.compute),  # exam questions answered by snippet code from their stem
        ("formulas", formula_link.link_formulas),  # cards -> the registry formulas they are about
        ("repair", repair.repair),  # missing or garbled formula answers from the registry
        ("dedupe", dedupe.dedupe),  # merge the same card; flag conflicting answers
        ("context", context.context_pass),  # questions leaning on setup the card lacks
        # After dedupe (a merged answer is checked once), before check (which validates the
        # registry LaTeX it writes on the back): answer formulas vs the linked registry formulas.
        ("verify", verify.verify),
        ("link", link.link),  # concepts, tags, decks, backlinks
        ("prose_math", prose_math.prose_math),  # √ and exponents lost in prose, from linked formulas
        ("check", check.check),  # numeric claims evaluated by the snippets
        ("measured", measured.measured),  # cite GPU benchmark results (snippets/bench/results)
    ]


def run_passes(graph: KnowledgeGraph, ctx: Context) -> KnowledgeGraph:
    for _name, fn in passes():
        graph = fn(graph, ctx)
    return graph
