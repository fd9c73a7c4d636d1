"""Formula linking at scale: repair, claim checks and LaTeX validation over 100k cards.

`python -m benchmarks formula_match [N]` prints the time to compile the matcher, to run the
repair pass and the claim checks over N cards (default 100,000) made from the real notes'
questions and answers (so alias density is realistic), and cards per second.
"""

from __future__ import annotations

import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tag(i: int) -> str:
    """A unique suffix without digits (digits would wake every numeric claim rule)."""
    letters = ""
    while True:
        i, r = divmod(i, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[r]
        if i == 0:
            return letters


def corpus(n: int):
    from deckforge.config import load_config
    from deckforge.model import Card, SourceSpan
    from deckforge.pipeline import build_graph

    seeds = build_graph(load_config(root=ROOT)).cards
    cards = []
    for i in range(n):
        seed = seeds[i % len(seeds)]
        cards.append(Card(id=f"c{i}", kind=seed.kind, question=f"{seed.question} (variant {_tag(i)})",
                          answer=seed.answer, sources=(SourceSpan("gen.txt", i + 1, i + 1),)))
    return cards


def main(argv: list[str]) -> int:
    from deckforge import latex
    from deckforge.formula_match import FormulaMatcher
    from deckforge.model import KnowledgeGraph
    from deckforge.passes.check import RuleContext, Snippets, check_card
    from deckforge.passes.repair import repair_card
    from deckforge.registry import load_registry

    n = int(argv[0]) if argv else 100_000
    registry = load_registry(ROOT / "snippets")
    cards = corpus(n)
    t0 = time.perf_counter()
    matcher = FormulaMatcher.from_registry(registry)
    t1 = time.perf_counter()
    repaired = [repair_card(c, matcher, registry) for c in cards]
    t2 = time.perf_counter()
    ctx = RuleContext(Snippets(registry), KnowledgeGraph(cards=tuple(repaired)))
    checked = [check_card(c, ctx)[0] for c in repaired]
    t3 = time.perf_counter()
    invalid = latex.graph_diagnostics(KnowledgeGraph(cards=tuple(checked)))
    t4 = time.perf_counter()
    linked = sum(bool(c.formulas) for c in checked)
    print(f"cards: {n:,}  aliases: {len(matcher.phrase_to):,}  formulas: {len(registry.formulas)}")
    print(f"compile matcher: {1000 * (t1 - t0):.1f} ms")
    print(f"repair (link + fill): {t2 - t1:.2f} s  ({n / (t2 - t1):,.0f} cards/s)")
    print(f"check (claim rules): {t3 - t2:.2f} s  ({n / (t3 - t2):,.0f} cards/s)")
    print(f"LaTeX validation: {t4 - t3:.2f} s  ({n / (t4 - t3):,.0f} cards/s, {len(invalid)} invalid)")
    print(f"linked: {linked:,} ({100 * linked / n:.1f}%)")
    return 0
