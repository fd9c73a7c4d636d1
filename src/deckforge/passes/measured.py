"""measured: cards about a benchmarked claim cite the number measured on the GPU.

For every committed result in `snippets/bench/results/*.json` (schema `deckforge.bench/1`,
written by `deckforge bench` on the GPU), a card linked to one of its formulas or concepts gets
one sentence in `card.extra`: where and when it was measured, whether the measurement supports
the note's claim, and the result's own summary with its numbers. Results that were not run,
were run at tiny (CPU, test) sizes, or check our tooling (`"cite": false`, the harness
validation) are never cited. Only JSON is read: no torch.
"""

from __future__ import annotations

from deckforge.bench.result import load_results
from deckforge.model import Card, KnowledgeGraph, _replace

MAX_CITATIONS = 2  # per card: the most specific results (formula match before concept match)

_VERDICT_WORDS = {
    "supports": "supports the claim",
    "contradicts": "contradicts the claim",
    "partly": "partly supports the claim",
}


def citable(result: dict) -> bool:
    return (result.get("verdict") in _VERDICT_WORDS and result.get("size", "full") == "full"
            and result.get("cite", True) is not False)


def citation(result: dict) -> str:
    env = result.get("environment", {})
    where = env.get("device", "the GPU")
    when = f", {env['date']}" if env.get("date") else ""
    return (f"Measured on {where}{when} (benchmark `{result['case']}`, "
            f"{_VERDICT_WORDS[result['verdict']]}): {result['summary']}")


def matching(card: Card, results: list[dict]) -> list[dict]:
    """Results whose formulas the card uses first, then those sharing a concept; by case id."""
    by_formula = [r for r in results if set(card.formulas) & set(r.get("formulas", ()))]
    by_concept = [r for r in results if r not in by_formula
                  and set(card.concepts) & set(r.get("concepts", ()))]
    return (by_formula + by_concept)[:MAX_CITATIONS]


def cite(card: Card, results: list[dict]) -> Card:
    sentences = [s for s in (citation(r) for r in matching(card, results)) if s not in card.extra]
    if not sentences:
        return card
    extra = "\n".join(([card.extra] if card.extra else []) + sentences)
    return _replace(card, extra=extra)


def measured(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    by_case: dict = {}  # a project's own result of a case replaces the built-in one
    for folder in ctx.registry.folders:
        for result in load_results(folder / "bench" / "results"):
            by_case[result.get("case")] = result
    results = [r for r in by_case.values() if citable(r)]
    if not results:
        return graph
    return graph.replace(cards=tuple(cite(card, results) for card in graph.cards))
