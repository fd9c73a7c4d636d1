"""The concept graph: an SVG drawn at build time (no script, no CDN), nodes linking to the
concept pages. Edges are declared relations plus concepts that share cards.

The layout is a few hundred steps of Fruchterman–Reingold from a fixed circle: deterministic,
so the page is byte-identical for the same graph.
"""

from __future__ import annotations

import html
import math
from collections import Counter

from deckforge.emit.pages.context import SiteContext, href_from, rel
from deckforge.emit.pages.text import escape, front_matter

PAGE = "graph.md"
WIDTH, HEIGHT = 1000, 900
MARGIN_X, MARGIN_Y = 130, 50  # room for the labels, centred above their circles


def edges(ctx: SiteContext) -> dict[tuple[str, str], int]:
    weights: Counter = Counter()
    for concept in ctx.concepts.values():
        for other in concept.related:
            if other in ctx.concepts and other != concept.id:
                weights[tuple(sorted((concept.id, other)))] += 2
    for cards in ctx.cards_by_deck.values():
        for card in cards:
            ids = sorted(set(c for c in card.concepts if c in ctx.concepts))
            for i, a in enumerate(ids):
                for b in ids[i + 1:]:
                    weights[(a, b)] += 1
    return dict(sorted(weights.items()))


def layout(nodes: list[str], weights: dict[tuple[str, str], int], steps: int = 400) -> dict[str, tuple[float, float]]:
    """Fruchterman–Reingold in the unit square: every pair repels (k²/d), edges attract
    (d²/k, stronger for heavier edges), a weak pull to the centre keeps separate clusters on
    the page; the step size cools linearly."""
    import numpy as np

    n = len(nodes)
    if n == 0:
        return {}
    index = {node: i for i, node in enumerate(nodes)}
    angle = np.arange(n) * (2 * math.pi / n)
    pos = np.stack([np.cos(angle), np.sin(angle)], axis=1) * 0.5
    k = 1.0 * math.sqrt(1.0 / n)
    pairs = np.array([(index[a], index[b]) for a, b in weights], dtype=int).reshape(-1, 2)
    w = 1 + np.log1p(np.array(list(weights.values()), dtype=float))
    for step in range(steps):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=2), 1e-4)
        disp = (delta * (k * k / dist**2)[..., None]).sum(axis=1)
        if len(pairs):
            d = pos[pairs[:, 0]] - pos[pairs[:, 1]]
            dl = np.maximum(np.linalg.norm(d, axis=1), 1e-4)
            f = d * (dl * w / k)[:, None]
            np.add.at(disp, pairs[:, 0], -f)
            np.add.at(disp, pairs[:, 1], f)
        disp -= pos * (0.4 / k)
        length = np.maximum(np.linalg.norm(disp, axis=1), 1e-9)
        temp = 0.08 * (1 - step / steps) + 0.002
        pos += disp / length[:, None] * np.minimum(length, temp)[:, None]
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    span = np.where(hi - lo > 1e-9, hi - lo, 1.0)
    # Half min-max, half rank per axis: a dense core gets spread over the canvas (labels
    # overlap less) while neighbours stay neighbours.
    ranks = np.argsort(np.argsort(pos, axis=0, kind="stable"), axis=0, kind="stable") / max(n - 1, 1)
    scaled = 0.4 * (pos - lo) / span + 0.6 * ranks
    return {node: (round(MARGIN_X + float(x) * (WIDTH - 2 * MARGIN_X), 1),
                   round(MARGIN_Y + float(y) * (HEIGHT - 2 * MARGIN_Y), 1))
            for node, (x, y) in zip(nodes, scaled, strict=True)}


def figure(ctx: SiteContext) -> str:
    """The drawing (an SVG of edges and circles) with the concept names as HTML links laid
    over it at the same relative positions. Links stay HTML `<a>` elements: Material's instant
    navigation rewrites every link's href, which SVG `<a>` elements do not allow."""
    weights = edges(ctx)
    nodes = list(ctx.concepts)
    pos = layout(nodes, weights)
    out = ['<div class="df-graph__canvas">',
           f'<svg class="df-graph__svg" viewBox="0 0 {WIDTH} {HEIGHT}" aria-hidden="true" '
           f'xmlns="http://www.w3.org/2000/svg">']
    for (a, b), weight in weights.items():
        (x1, y1), (x2, y2) = pos[a], pos[b]
        out.append(f'<line class="df-graph__edge" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" '
                   f'stroke-width="{min(0.6 + 0.4 * weight, 4):.1f}"/>')
    radius = {cid: 5 + 2.2 * math.sqrt(len(ctx.cards_by_concept.get(cid, []))) for cid in nodes}
    for cid in nodes:
        x, y = pos[cid]
        cls = "df-graph__node df-graph__node--formula" if ctx.concepts[cid].formulas else "df-graph__node"
        out.append(f'<circle class="{cls}" cx="{x}" cy="{y}" r="{radius[cid]:.1f}"/>')
    out.append("</svg>")
    for cid in nodes:
        x, y = pos[cid]
        n_cards = len(ctx.cards_by_concept.get(cid, []))
        name = html.escape(ctx.concepts[cid].name)
        left, top = 100 * x / WIDTH, 100 * (y - radius[cid] - 2) / HEIGHT
        out.append(f'<a class="df-graph__label" style="left:{left:.2f}%;top:{top:.2f}%" '
                   f'href="{html.escape(href_from(PAGE, ctx.concept_page[cid]))}" '
                   f'title="{name}: {n_cards} cards">{name}</a>')
    out.append("</div>")
    return "\n".join(out)


def graph_page(ctx: SiteContext) -> str:
    lines = front_matter("Concept graph") + ["# Concept graph", ""]
    lines += ["Each circle is a concept (bigger: more cards; filled: backed by a formula); lines join "
              "related concepts and concepts that share cards. Click a concept to open its page.", ""]
    lines += ['<div class="df-graph">', figure(ctx), "</div>", ""]
    weights = edges(ctx)
    neighbours: dict[str, set[str]] = {cid: set() for cid in ctx.concepts}
    for a, b in weights:
        neighbours[a].add(b)
        neighbours[b].add(a)
    lines += ["## As a list", ""]
    for cid, concept in ctx.concepts.items():
        near = ", ".join(f"[{escape(ctx.concepts[o].name)}]({rel(PAGE, ctx.concept_page[o])})" for o in sorted(neighbours[cid]))
        lines.append(f"- [{escape(concept.name)}]({rel(PAGE, ctx.concept_page[cid])})" + (f": {near}" if near else ""))
    lines.append("")
    return "\n".join(lines) + "\n"


def pages(ctx: SiteContext) -> dict[str, str]:
    return {PAGE: graph_page(ctx)}
