"""Site build time: the bundled notes (target < 15 s) and a generated corpus of 5,000 cards.

    python -m benchmarks site [--cards N] [--repeat R]

Prints wall and CPU seconds of `build_site` (pages generated from the graph + strict MkDocs
build), cold (empty build folder: every plot drawn) and warm (a rebuild, as `deckforge build`
does it again). The graph itself is built first and timed separately.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("latency throughput memory bandwidth kernel tensor gradient batch token layer weight "
         "activation cache tile warp block head sequence precision sparsity accelerator").split()


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def synthetic_graph(n_cards: int, registry, seed: int = 0):
    """n_cards cards over 5 courses x 10 lectures, mentioning registry concepts and math;
    ~10% flagged, ~5% merged, a few tags each."""
    from deckforge.model import Card, Flag, KnowledgeGraph, Merge, SourceSpan

    rng = random.Random(seed)
    concepts = list(registry.concepts)
    formulas = {f.concept: f for f in registry.formulas}
    cards, merges = [], []
    for i in range(n_cards):
        concept = concepts[i % len(concepts)] if concepts else None
        course, lecture = f"Course {i % 5 + 1}", f"Lecture {(i // 5) % 10 + 1}"
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16)))
        name = concept.name if concept else "roofline"
        question = f"How does {name} relate to {words}?"
        answer = f"It bounds $x_{{{i}}} = \\frac{{a}}{{b}}$ when {words}; see {name}."
        flags = (Flag("needs-review", "synthetic reason"),) if i % 10 == 0 else ()
        span = SourceSpan(f"sources/generated-{i % 5}.txt", i + 1, i + 1)
        cid = f"c{i:012x}"
        cards.append(Card(
            id=cid, kind="basic" if i % 3 else "formula", question=question, answer=answer,
            sources=(span,), deck=("generated", course, lecture),
            tags=(f"course-{i % 5 + 1}", f"topic-{i % 40}"),
            concepts=(concept.id,) if concept else (),
            formulas=(formulas[concept.id].id,) if concept and concept.id in formulas else (),
            flags=flags))
        if i % 20 == 0:
            merges.append(Merge(card_id=cid, members=(span, SourceSpan(span.path, span.line + n_cards, span.line + n_cards)),
                                reason="reworded twin (synthetic)"))
    return KnowledgeGraph(cards=tuple(cards), concepts=registry.concepts, formulas=registry.formulas,
                          merges=tuple(merges))


def bundled(out: Path, repeat: int) -> None:
    from deckforge.config import load_config
    from deckforge.emit.site import build_site
    from deckforge.pipeline import build_graph

    config = load_config(root=ROOT, out=out)
    graph, wall, cpu = _timed(lambda: build_graph(config))
    print(f"bundled notes: graph of {len(graph.cards)} cards, {len(graph.concepts)} concepts "
          f"built in {wall:.2f} s wall / {cpu:.2f} s CPU")
    for run in range(repeat + 1):
        label = "cold" if run == 0 else "warm"
        site, wall, cpu = _timed(lambda: build_site(graph, config, strict=True))
        pages = sum(1 for _ in site.rglob("index.html"))
        print(f"  site ({label}): {wall:6.2f} s wall / {cpu:6.2f} s CPU, {pages} pages  (target < 15 s)")


def generated(out: Path, n_cards: int) -> None:
    from deckforge.config import load_config
    from deckforge.emit.site import build_site
    from deckforge.registry import load_registry

    config = load_config(root=ROOT, out=out)
    graph = synthetic_graph(n_cards, load_registry(config.snippets_dir))
    site, wall, cpu = _timed(lambda: build_site(graph, config, strict=True))
    pages = sum(1 for _ in site.rglob("index.html"))
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 2**20
    print(f"generated corpus: {len(graph.cards)} cards, {len(graph.concepts)} concepts -> "
          f"{pages} pages, {size:.0f} MiB: {wall:6.2f} s wall / {cpu:6.2f} s CPU")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks site", description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=5000, help="size of the generated corpus")
    parser.add_argument("--repeat", type=int, default=1, help="warm rebuilds of the bundled site")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="deckforge-site-bench-"))
    try:
        bundled(tmp / "bundled", args.repeat)
        generated(tmp / "generated", args.cards)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
