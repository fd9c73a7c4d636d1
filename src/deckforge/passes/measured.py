"""measured: a card cites a GPU measurement only when the benchmark measured what the card says.

Every committed result in `snippets/bench/results/*.json` (schema `deckforge.bench/1`, written
by `deckforge bench` on the GPU, read through `bench.result.read_result_files`) declares what
it measures, beside its case in `snippets/bench/`:

- `measures`: formulas whose predicted quantity the run puts numbers on. A formula card (one
  that asks for a formula) whose formula is one of them cites the result: "the benchmark runs
  this card's formula".
- `claim_terms`: the benchmark's claim as groups of key terms. A card whose own text (context,
  question, answer, options) holds a term of every group states that claim and cites the
  result, with the verdict said about that claim.

A shared concept or a formula merely linked to a card is never enough: the WaveNet card and
the depthwise-separable benchmark share `convolution`, but the card claims nothing the run
measured. Results that were not run, were run at tiny (CPU, test) sizes, or check our tooling
(`"cite": false`) are never cited. Only JSON is read: no torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from deckforge.bench.result import load_results
from deckforge.model import Card, KnowledgeGraph, _replace
from deckforge.passes.repair import FILLED

MAX_CITATIONS = 2  # per card: claim matches first (they are about what the card says)

# The verdict about the claim the card states (a claim match).
_CLAIM_VERDICT = {
    "supports": "supports",
    "contradicts": "contradicts",
    "partly": "partly supports",
}


@dataclass(frozen=True)
class Match:
    result: dict
    via: str  # "claim": the card states the benchmark's claim; "formula": it asks for its formula


def citable(result: dict) -> bool:
    return (result.get("verdict") in _CLAIM_VERDICT and result.get("size", "full") == "full"
            and result.get("cite", True) is not False)


def _where(result: dict) -> str:
    env = result.get("environment", {})
    when = f", {env['date']}" if env.get("date") else ""
    return f"Measured on {env.get('device', 'the GPU')}{when} (benchmark `{result['case']}`)"


def _claim_clause(claim: str) -> str:
    """The claim as a clause after "that": a capital only of sentence case goes ("Attention
    computed …" -> "attention computed …"; "FlashAttention", "N:M", "RMSNorm" keep theirs)."""
    claim = claim.strip().rstrip(".")
    first = claim.split(" ", 1)[0]
    return claim[:1].lower() + claim[1:] if not any(c.isupper() for c in first[1:]) else claim


def citation(match: Match) -> str:
    """One sentence: the verdict speaks of the claim the card states (a claim match), or says
    the run timed the card's own formula (a formula match: the benchmark's verdict is about its
    claim, not about a formula card, so no verdict word is given)."""
    result = match.result
    if match.via == "claim":
        return (f"{_where(result)}: the measurement {_CLAIM_VERDICT[result['verdict']]} the claim "
                f"this card is about, that {_claim_clause(result['claim'])}. {result['summary']}")
    return f"{_where(result)}, running this card's formula on the GPU: {result['summary']}"


@lru_cache(maxsize=512)
def _term_pattern(term: str) -> re.Pattern:
    # A term starts at a word start; it may be a stem ("merg" for merged/merging).
    return re.compile(r"(?<![a-z0-9])" + re.escape(term.lower()))


def card_text(card: Card) -> str:
    # An answer the repair pass filled from the registry (a definition states every property
    # of its concept) is not what the card claims: only the notes' own words are.
    answer = "" if any(f.name == "repaired" and f.cause.startswith(FILLED) for f in card.flags) \
        else card.answer
    return "\n".join((card.context, card.question, answer, *card.options)).lower()


def states_claim(text: str, claim_terms) -> bool:
    groups = [tuple(g) for g in claim_terms or () if g]
    return bool(groups) and all(any(_term_pattern(t).search(text) for t in g) for g in groups)


def asks_for_measured_formula(card: Card, result: dict) -> bool:
    """A formula card whose formula (its first: the one the question asks for) is measured."""
    return (card.kind == "formula" and bool(card.formulas)
            and card.formulas[0] in (result.get("measures") or ()))


def matching(card: Card, results: list[dict]) -> list[Match]:
    """Per result: the card's own formula first (a formula card asks for a formula, not for the
    benchmark's claim), else the claim it states; never a concept or formula merely linked."""
    text = card_text(card)
    by_formula = [Match(r, "formula") for r in results if asks_for_measured_formula(card, r)]
    timed = {m.result["case"] for m in by_formula}
    by_claim = [Match(r, "claim") for r in results
                if r["case"] not in timed and states_claim(text, r.get("claim_terms"))]
    return (by_claim + by_formula)[:MAX_CITATIONS]


def cite(card: Card, results: list[dict]) -> Card:
    sentences = [s for s in (citation(m) for m in matching(card, results)) if s not in card.extra]
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
