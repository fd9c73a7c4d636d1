"""The home page: the hand-written docs/index.md with the generated summary put in at its
`<!-- deckforge:summary -->` marker (counts, the deck download, sources, GPU results)."""

from __future__ import annotations

from collections import Counter

from deckforge.emit.pages.bench import VERDICTS
from deckforge.emit.pages.context import SiteContext, rel
from deckforge.emit.pages.text import escape, front_matter, inline
from deckforge.model import FLAGS

PAGE = "index.md"
MARKER = "<!-- deckforge:summary -->"
DOWNLOADS = "downloads"


def apkg_page_path(ctx: SiteContext) -> str | None:
    return f"{DOWNLOADS}/{ctx.apkg.name}" if ctx.apkg else None


def summary(ctx: SiteContext) -> list[str]:
    g = ctx.graph
    cards = [c for cs in ctx.cards_by_deck.values() for c in cs]
    flags = Counter(name for c in cards for name in {f.name for f in c.flags})
    kinds = Counter(c.kind for c in cards)
    lines = ["## What is inside", ""]
    lines += ["| What | Count |", "| --- | ---: |",
              f"| Cards | {len(cards)} |",
              f"| [Lectures and quizzes](lectures/index.md) | {len(ctx.cards_by_deck)} |",
              f"| [Concepts](concepts/index.md) | {len(ctx.concepts)} |",
              f"| Formulas, each backed by a tested snippet | {len(ctx.formulas)} |",
              f"| GPU benchmark cases | {sum(1 for _ in _cases(ctx))} |",
              f"| [Merged duplicates](quality.md#merged) | {sum(len(m.members) - 1 for m in g.merges)} |"]
    lines += [f"| [Flagged {name}](quality.md#{name}) | {flags.get(name, 0)} |" for name in FLAGS]
    lines += ["", "Card kinds: " + (", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none") + ".", ""]
    lines += ["## Download the deck", ""]
    apkg = apkg_page_path(ctx)
    if apkg:
        size = ctx.apkg.stat().st_size
        lines += [f'[Download {escape(ctx.apkg.name)}]({apkg}){{ .md-button .md-button--primary }} '
                  f"({size / 1024:.0f} KiB, {len(cards)} notes). How to import it and keep your review "
                  "history across updates: [Import the deck](import.md).", ""]
    else:
        lines += ["*The Anki deck was not built with this site* (run `deckforge build`).", ""]
    lines += ["## Sources", "", "| File | Style | Raw items |", "| --- | --- | ---: |"]
    lines += [f"| `{s.path}` | {escape(s.reader)} | {s.raw_items} |" for s in g.sources]
    if not g.sources:
        lines.append("| *none* | | 0 |")
    lines.append("")
    cases = list(_cases(ctx))
    if cases:
        lines += ["## Measured on a GPU", "", "| Case | Verdict | Summary |", "| --- | --- | --- |"]
        for concept_id, result in cases:
            verdict = VERDICTS.get(str(result.data.get("verdict")), VERDICTS["not-run"])[1]
            target = rel(PAGE, ctx.concept_page[concept_id], result.anchor)
            lines.append(f"| [{escape(result.title)}]({target}) | {escape(verdict)} | "
                         f"{inline(str(result.data.get('summary', '')))} |")
        lines.append("")
    return lines


def _cases(ctx: SiteContext):
    """Each result once, on the first concept page that shows it."""
    seen = set()
    for concept_id, results in sorted(ctx.bench.items()):
        for result in results:
            if result.case not in seen:
                seen.add(result.case)
                yield concept_id, result


def home_page(ctx: SiteContext, template: str | None) -> str:
    body = "\n".join(summary(ctx))
    if template and MARKER in template:
        return template.replace(MARKER, body)
    if template:
        return template.rstrip() + "\n\n" + body + "\n"
    return "\n".join(front_matter("Home") + ["# deckforge", "", body, ""])


def pages(ctx: SiteContext, template: str | None = None) -> dict[str, str | bytes]:
    out: dict[str, str | bytes] = {PAGE: home_page(ctx, template)}
    if ctx.apkg:
        out[apkg_page_path(ctx)] = ctx.apkg.read_bytes()
    return out
