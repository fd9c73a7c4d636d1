"""One page per concept: definition, formulas with their snippet code and test status, GPU
measurements, related concepts, the lectures it appears in, and its cards."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from deckforge.diagnostics import Diagnostic
from deckforge.emit.pages import bench
from deckforge.emit.pages.cards import badge, render_card
from deckforge.emit.pages.context import SiteContext, concept_formulas, deck_of, deck_title, rel
from deckforge.emit.pages.text import display_math, escape, front_matter, inline, to_markdown
from deckforge.model import Concept, Formula, slug

INDEX = "concepts/index.md"
MAX_RELATED = 8


def related_concepts(ctx: SiteContext, concept: Concept) -> list[str]:
    """Declared relations (both directions) first, then concepts that share the most cards."""
    declared = [c for c in concept.related if c in ctx.concepts and c != concept.id]
    declared += sorted(c.id for c in ctx.concepts.values() if concept.id in c.related and c.id != concept.id)
    shared = Counter(other for card in ctx.cards_by_concept.get(concept.id, []) for other in set(card.concepts)
                     if other != concept.id and other in ctx.concepts)
    by_cards = [c for c, _ in sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))]
    return list(dict.fromkeys(declared + by_cards))[:max(MAX_RELATED, len(set(declared)))]


def _include(ctx: SiteContext, formula: Formula) -> tuple[Path, str]:
    """(base folder, path below it) of the formula's module: the project's own snippets are
    below the project root, the built-in ones below the installed registry's parent."""
    origin = ctx.registry.origin(formula) if ctx.registry is not None else None
    if origin is not None:
        return origin.include_path(formula)
    return ctx.config.root, formula.module


def _snippet_problem(base: Path, module: str, formula: Formula) -> str | None:
    if not formula.module or not formula.section:
        return "declares no snippet module/section"
    path = (base / module).resolve()
    if not path.is_relative_to(base.resolve()):
        return f"names `{formula.module}`, which is outside the project"
    if not path.is_file():
        return f"names `{formula.module}`, which does not exist"
    marker = re.compile(r"--8<--\s*\[\s*start\s*:\s*" + re.escape(formula.section) + r"\s*\]")
    if not marker.search(path.read_text("utf-8", errors="replace")):
        return f"names section `{formula.section}`, which `{formula.module}` does not mark"
    return None


STATUS_BADGE = {"passed": "passed", "failed": "failed", "error": "failed", "missing": "failed",
                "skipped": "skipped", "no tests": "not-run", "not run": "not-run"}


def formula_section(ctx: SiteContext, formula: Formula, page: str, link) -> list[str]:
    lines = [f"### {escape(formula.name)} {{#formula-{slug(formula.id)}}}", ""]
    lines += display_math(formula.latex) + [""]
    status = ctx.test_status.get(formula.id, "not run")
    tests = ", ".join(f"`{t}`" for t in formula.tests) or "*none declared*"
    where = f" (from {ctx.status_source})" if ctx.status_source and status != "not run" else (
        " — no recorded run: `deckforge check` records one in build/check.json" if status == "not run" else "")
    lines += [f"**Test status:** {badge(status, 'status-' + STATUS_BADGE.get(status, 'not-run'))}{where}<br>",
              f"**Tests:** {tests}<br>", f"**Formula id:** `{formula.id}`", ""]
    base, module = _include(ctx, formula)
    problem = _snippet_problem(base, module, formula)
    if problem:
        ctx.problems.append(Diagnostic(formula.module or "snippets", 1, "missing-snippet",
                                       f"formula `{formula.id}` {problem}; the site cannot show its code."))
        lines += ['!!! failure "Snippet missing"', "", f"    The registry entry {escape(problem)}.", ""]
    else:
        lines += [f'```python title="{formula.module} — {formula.section}"',
                  f'--8<-- "{module}:{formula.section}"', "```", ""]
    return lines


def concept_page(ctx: SiteContext, concept: Concept) -> tuple[str, dict[str, bytes]]:
    page = ctx.concept_page[concept.id]
    href = ctx.concept_href(page)
    skip = frozenset({concept.id})

    def link(text: str) -> str:
        return ctx.linker.link(text, href, skip)

    cards = ctx.cards_by_concept.get(concept.id, [])
    lines = front_matter(concept.name) + [f"# {escape(concept.name)}", ""]
    lines += to_markdown(concept.definition, link) if concept.definition else ["*No definition recorded yet.*"]
    lines.append("")
    if concept.aliases:
        lines += ["*Also called:* " + ", ".join(escape(a) for a in concept.aliases), ""]
    formulas = concept_formulas(ctx, concept)
    if formulas:
        lines += ["## Formulas", ""]
        for formula in formulas:
            lines += formula_section(ctx, formula, page, link)
    assets: dict[str, bytes] = {}
    results = ctx.bench.get(concept.id, [])
    if results:
        lines += ["## Measured on a GPU", ""]
        for result in results:
            body, files = bench.render(result, page, rel, link, ctx.plot_cache_dir, ctx.plot_memo)
            lines += body
            assets.update(files)
    related = related_concepts(ctx, concept)
    if related:
        lines += ["## Related concepts", ""]
        lines += [f"- [{escape(ctx.concepts[c].name)}]({rel(page, ctx.concept_page[c])})" for c in related]
        lines.append("")
    decks = Counter(deck_of(c) for c in cards)
    if decks:
        lines += ["## Appears in", ""]
        lines += [f"- [{escape(deck_title(d))}]({rel(page, ctx.lecture_page[d])}) — {n} card{'s' * (n != 1)}"
                  for d, n in sorted(decks.items(), key=lambda kv: list(ctx.cards_by_deck).index(kv[0]))]
        lines.append("")
    lines += [f"## Cards ({len(cards)})", ""]
    if not cards:
        lines += ["*No card is linked to this concept yet.*", ""]
    for card in cards:
        lines += render_card(card, ctx, page, skip_concepts=skip, show_deck=True)
    return "\n".join(lines) + "\n", assets


def concepts_index(ctx: SiteContext) -> str:
    lines = front_matter("Concepts") + ["# Concepts", ""]
    lines += ["| Concept | Cards | Formulas | Measured | Definition |", "| --- | ---: | ---: | :---: | --- |"]
    for cid, concept in ctx.concepts.items():
        definition = inline(concept.definition[:140] + ("…" if len(concept.definition) > 140 else ""))
        lines.append(f"| [{escape(concept.name)}]({rel(INDEX, ctx.concept_page[cid])}) | "
                     f"{len(ctx.cards_by_concept.get(cid, []))} | {len(concept_formulas(ctx, concept))} | "
                     f"{'yes' if ctx.bench.get(cid) else ''} | {definition} |")
    if not ctx.concepts:
        lines.append("| *no concepts yet* | 0 | 0 | | |")
    return "\n".join(lines) + "\n"


def pages(ctx: SiteContext) -> dict[str, str | bytes]:
    out: dict[str, str | bytes] = {INDEX: concepts_index(ctx)}
    for concept in ctx.concepts.values():
        text, assets = concept_page(ctx, concept)
        out[ctx.concept_page[concept.id]] = text
        out.update(assets)
    return out
