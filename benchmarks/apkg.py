"""Issue 3, must-hold 4: our .apkg emitter vs bare genanki on the same 100,000 notes.

    python -m benchmarks apkg [--notes 100000] [--repeat 3]

Both run in this process on the same generated cards, a mix like the bundled notes: one-line
questions, answers with `$…$` math, Markdown lists and emphasis, multiple-choice items, ten
lecture decks. About 6% of the question/answer fields need the full Markdown parser (italics,
ordered lists), as in the bundled notes (33 of 632 fields); the rest take the emitter's
parser-free paths. (Those paths learned `**bold**` and `` `code` ``, so the generated shapes
that must reach the parser are italics and ordered lists; before, they were bold and bullets.)
"ours" is everything `deckforge build` does for the deck: identities from an empty lock
(`apply_lock`), rendering, hashing and mtime stamping, the reproducible package, the atomic
write and the lock file. "bare genanki" puts the raw text into genanki's Basic-like model and
calls `Package.write_to_file`. The two alternate for `--repeat` rounds and the best time of each
is compared (target: ours <= 1.5x bare genanki).
"""

from __future__ import annotations

import argparse
import gc
import random
import tempfile
import time
from pathlib import Path

import genanki

from deckforge.config import Config
from deckforge.emit.anki import write_apkg
from deckforge.lock import apply_lock, no_cyclic_gc, write_lock
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
        if rng.random() < 0.05:  # emphasis: the parser's job
            question = f"Why does the *{words}* matter (card {i})?"
        answer = " ".join(rng.choices(WORDS, k=rng.randint(6, 20))).capitalize() + "."
        kind, options, correct = "basic", (), ()
        roll = rng.random()
        if roll < 0.25:
            answer += " " + rng.choice(MATH)
        elif roll < 0.314:  # an ordered list: the parser's job
            answer = f"1. **{rng.choice(WORDS)}**: {answer}\n2. second point, see `{rng.choice(WORDS)}`"
        elif roll < 0.40:
            answer = f"- {answer}\n- second point, with $x_{{{i % 7}}}$"
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


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process): CPU time is the steadier of the two on a
    shared machine, wall time is what a user waits."""
    gc.collect()  # start each run from the same heap
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def interleaved(repeat: int, *fns) -> list[tuple[float, float]]:
    """Best (wall, CPU) of each function over `repeat` rounds, run in turn (fair when load drifts)."""
    best = [(float("inf"), float("inf"))] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            wall, cpu = timed(fn)
            best[i] = (min(best[i][0], wall), min(best[i][1], cpu))
    return best


def stages(graph: KnowledgeGraph, folder: Path) -> dict[str, float]:
    """Where our time goes (CPU seconds): identities, rendering + stamping, package, lock."""
    from deckforge.emit.anki import Media, build_rows
    from deckforge.emit.anki.package import package_bytes

    config = Config(root=folder, sources_dir=folder / "sources", out_dir=folder / "build",
                    repo_url="https://example.org/repo", deck_name="bench")
    (folder / "stages.lock").unlink(missing_ok=True)
    out, clock = {}, time.process_time()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.process_time()
        out[name], clock = now - clock, now

    graph, lock = apply_lock(graph, folder / "stages.lock")
    lap("apply_lock")
    with no_cyclic_gc():  # as write_apkg does
        rows, models = build_rows(graph, config, lock, Media(search_dirs=(folder,)))
        lap("render + hash + stamp")
        package_bytes(rows, models, {})
        lap("sqlite + zip")
    write_lock(lock, folder / "stages.lock")
    lap("write lock")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks apkg")
    parser.add_argument("--notes", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    graph = generate(args.notes)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bare, mine = interleaved(args.repeat, lambda: bare_genanki(graph, folder / "bare.apkg"),
                                 lambda: ours(graph, folder))
        sizes = ((folder / "bare.apkg").stat().st_size, (folder / "build/bench.apkg").stat().st_size)
        split = stages(graph, folder)
    print(f"notes:          {args.notes:,}  (best of {args.repeat}, wall / CPU seconds)")
    print(f"bare genanki:   {bare[0]:7.2f} s / {bare[1]:6.2f} s  ({sizes[0] / 1e6:.1f} MB)")
    print(f"deckforge:      {mine[0]:7.2f} s / {mine[1]:6.2f} s  ({sizes[1] / 1e6:.1f} MB; "
          "identities, render, reproducible zip, lock)")
    print(f"ratio:          {mine[0] / bare[0]:7.2f}x / {mine[1] / bare[1]:5.2f}x  (target <= 1.5x)")
    print("deckforge CPU by stage: " + ", ".join(f"{k} {v:.2f} s" for k, v in split.items()))
    return 0
