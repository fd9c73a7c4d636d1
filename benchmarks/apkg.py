"""Issue 3, must-hold 4: our .apkg emitter vs bare genanki on the same 100,000 notes.

    python -m benchmarks apkg [--notes 100000] [--repeat 3]

Both run in this process on the same generated cards, a mix like the bundled notes: one-line
questions, answers with `$…$` math, Markdown lists and emphasis, multiple-choice items, ten
lecture decks. About 13% of the question/answer fields need the full Markdown parser, as in
the bundled notes (80 of 632 fields); the rest take the emitter's parser-free paths.
"ours" is everything `deckforge build` does for the deck: identities from an empty lock
(`apply_lock`), rendering, hashing and mtime stamping, the reproducible package, the atomic
write and the lock file. "bare genanki" puts the raw text into genanki's Basic-like model and
calls `Package.write_to_file`. The best of `--repeat` runs of each is compared (target: ours <=
1.5x bare genanki).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import genanki

from deckforge.config import Config
from deckforge.emit.anki import write_apkg
from deckforge.lock import apply_lock, write_lock
from deckforge.model import Card, KnowledgeGraph, SourceSpan, card_id

WORDS = ("roofline attention cache tensor kernel memory bandwidth gradient sparse quantized "
         "matrix softmax layer norm latency throughput pipeline shard token batch").split()
MATH = (r"$I = \frac{F}{B}$", r"$P = \min(\pi, \beta I)$", r"$\sigma'(x) = \sigma(x)(1-\sigma(x))$",
        r"$$\mathrm{KV} = 2 \cdot n_{layer} \cdot d \cdot s$$", r"$O(n^2)$")


def generate(n: int, seed: int = 0) -> KnowledgeGraph:
    rng = random.Random(seed)
    cards = []
    for i in range(n):
        lecture = f"Lecture {i % 10 + 1}"
        words = " ".join(rng.choices(WORDS, k=rng.randint(4, 12)))
        question = f"Why does the {words} matter (card {i})?"
        if rng.random() < 0.1:
            question = f"Why does the **{words}** matter (card {i})?"
        answer = " ".join(rng.choices(WORDS, k=rng.randint(6, 20))).capitalize() + "."
        kind, options, correct = "basic", (), ()
        roll = rng.random()
        if roll < 0.25:
            answer += " " + rng.choice(MATH)
        elif roll < 0.40:
            answer = f"- **{rng.choice(WORDS)}**: {answer}\n- second point, see `{rng.choice(WORDS)}`"
        elif roll < 0.50:
            kind, options = "multiple-choice", tuple(rng.sample(WORDS, 4))
            correct, answer = (rng.randrange(4),), ""
        spans = (SourceSpan(f"sources/generated-{i % 5}.txt", i + 1, i + 1),)
        cards.append(Card(card_id(question, lecture), kind, question, answer, spans,
                          deck=("Generated", lecture), options=options, correct=correct,
                          tags=(lecture.lower().replace(" ", "-"),)))
    return KnowledgeGraph(cards=tuple(cards))


def bare_genanki(graph: KnowledgeGraph, out: Path) -> None:
    model = genanki.Model(1_600_000_001, "Bare", fields=[{"name": n} for n in
                                                         ("Question", "Answer", "Extra", "Source")],
                          templates=[{"name": "Card 1", "qfmt": "{{Question}}",
                                      "afmt": "{{FrontSide}}<hr id=answer>{{Answer}}{{Extra}}"}])
    decks: dict[str, genanki.Deck] = {}
    for card in graph.cards:
        name = "::".join(card.deck)
        deck = decks.get(name)
        if deck is None:
            deck = decks[name] = genanki.Deck(1_600_000_100 + len(decks), name)
        answer = card.answer or "; ".join(card.options)
        deck.add_note(genanki.Note(model=model, fields=[card.question, answer, "",
                                                        str(card.sources[0])],
                                   tags=list(card.tags), guid=genanki.guid_for(card.id)))
    genanki.Package(list(decks.values())).write_to_file(str(out), timestamp=1_700_000_000)


def ours(graph: KnowledgeGraph, folder: Path) -> None:
    config = Config(root=folder, sources_dir=folder / "sources", out_dir=folder / "build",
                    repo_url="https://example.org/repo", deck_name="bench")
    lock_path = folder / "deckforge.lock"
    lock_path.unlink(missing_ok=True)
    graph, lock = apply_lock(graph, lock_path)
    write_apkg(graph, config, lock)
    write_lock(lock, lock_path)


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks apkg")
    parser.add_argument("--notes", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    graph = generate(args.notes)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bare = best_of(args.repeat, lambda: bare_genanki(graph, folder / "bare.apkg"))
        mine = best_of(args.repeat, lambda: ours(graph, folder))
        sizes = ((folder / "bare.apkg").stat().st_size, (folder / "build/bench.apkg").stat().st_size)
    print(f"notes:          {args.notes:,}")
    print(f"bare genanki:   {bare:7.2f} s   ({sizes[0] / 1e6:.1f} MB, best of {args.repeat})")
    print(f"deckforge:      {mine:7.2f} s   ({sizes[1] / 1e6:.1f} MB, best of {args.repeat}; "
          "render + lock + reproducible zip)")
    print(f"ratio:          {mine / bare:7.2f}x  (target <= 1.5x)")
    return 0
