"""Ingest + dedupe on a generated dotted-style corpus (issue 2, must hold 5).

    python -m benchmarks dedupe [--sizes 10000,30000,100000] [--all-passes]

For each size N it writes N dotted flashcards, 10% of them reworded duplicates of others
(words reordered, "What is X?" -> "X — what is it?", punctuation/casing changes, an answer
with a clause dropped, a bare quiz label repeating a quiz item), then in a fresh process runs
the dotted reader, normalize, cards and dedupe (with --all-passes: every pass, registry
loaded) and prints the time of each step, the peak resident memory
(resource.getrusage ru_maxrss of that process) and dedupe recall on the planted duplicate
pairs, plus merges the generator did not plant. Nothing is asserted: it prints numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SYLLABLES = ["ka", "lo", "mi", "ra", "ten", "sor", "vel", "qui", "dra", "pon", "gri", "zu", "fen",
             "mar", "tor", "lix", "ne", "ba", "cor", "sta", "vin", "pel", "ox", "ur", "dy", "shi"]
FILLER = ["the", "a", "of", "to", "in", "for", "with", "and", "by", "on", "per", "each", "from"]
TECH = ["gradient", "tensor", "kernel", "cache", "memory", "bandwidth", "layer", "matrix",
        "attention", "token", "batch", "weight", "activation", "compute", "throughput", "latency",
        "quantization", "pruning", "sparsity", "precision", "schedule", "loss", "optimizer",
        "embedding", "vector", "block", "tile", "buffer", "pipeline", "parallel"]
GREEK = ["α", "β", "η", "σ", "λ", "μ", "τ"]


def _vocab(rng: np.random.RandomState, size: int = 6000) -> list[str]:
    words = set()
    while len(words) < size:
        n = rng.randint(2, 5)  # 2-4 syllables: 475k possible words
        words.add("".join(SYLLABLES[i] for i in rng.randint(0, len(SYLLABLES), size=n)))
    ordered = sorted(words)
    return [ordered[i] for i in rng.permutation(len(ordered))]  # Zipf ranks not alphabetical


class Generator:
    def __init__(self, seed: int = 7, n: int = 10000) -> None:
        self.rng = np.random.RandomState(seed)
        # Heaps' law: a bigger corpus of notes uses more distinct words (V ~ 60 sqrt(N)).
        self.vocab = _vocab(self.rng, max(6000, int(60 * n**0.5)))
        ranks = np.arange(1, len(self.vocab) + 1)
        self.p = (1 / ranks) / (1 / ranks).sum()  # Zipf-like word frequencies
        self.seen: set[str] = set()

    def words(self, n: int) -> list[str]:
        picks = self.rng.choice(len(self.vocab), size=n, p=self.p)
        out = []
        for i, w in enumerate(picks):
            out.append(self.vocab[w])
            if i % 3 == 2:
                out.append(FILLER[self.rng.randint(len(FILLER))])
            if self.rng.rand() < 0.15:
                out.append(TECH[self.rng.randint(len(TECH))])
        return out

    def term(self) -> str:
        """A multi-word term, unique in the corpus (real notes name each topic once)."""
        while True:
            words = [self.vocab[i] for i in self.rng.randint(0, len(self.vocab), size=self.rng.randint(2, 4))]
            if self.rng.rand() < 0.3:
                words.insert(1, TECH[self.rng.randint(len(TECH))])
            term = " ".join(w.capitalize() if i == 0 else w for i, w in enumerate(words))
            if term.lower() not in self.seen:
                self.seen.add(term.lower())
                return term

    def sentence(self) -> str:
        s = " ".join(self.words(self.rng.randint(7, 13)))
        return s[0].upper() + s[1:] + "."

    def formula(self) -> str:
        g = GREEK[self.rng.randint(len(GREEK))]
        a, b, c = (self.vocab[i] for i in self.rng.randint(0, len(self.vocab), size=3))
        return f"{a}ₜ₊₁ = {a}ₜ − {g} ∇{b}({a}ₜ) · {c} + {self.rng.randint(2, 99)}"

    def card(self, quiz: tuple[int, int] | None) -> dict:
        """One original card: question, answer and how to reword it."""
        kind = self.rng.randint(5)
        term = self.term()
        if quiz is not None:
            number, letter = quiz
            statement = self.sentence().rstrip(".")
            verdict = "True" if self.rng.rand() < 0.6 else "False"
            return {"kind": "quiz", "q": f"Quiz {number} Q{letter} — \"{statement}.\"",
                    "a": f"{verdict} — {self.sentence()}", "term": term, "statement": statement,
                    "label": f"Q{letter}", "quiz": number}
        if kind == 0:
            return {"kind": "what", "q": f"What is {term}?", "a": self.sentence() + " " + self.sentence(), "term": term}
        if kind == 1:
            return {"kind": "define", "q": f"Define {term}.", "a": self.sentence(), "term": term}
        if kind == 2:
            other = self.term()
            return {"kind": "of", "q": f"{term} of {other}", "a": self.sentence() + " " + self.sentence(),
                    "term": term, "other": other}
        if kind == 3:
            return {"kind": "formula", "q": f"{term} update rule", "a": self.formula() + ".", "term": term}
        return {"kind": "purpose", "q": f"{term} — purpose & big picture", "a": self.sentence(), "term": term}

    def reword(self, card: dict) -> tuple[str, str]:
        """A reworded duplicate: (question, answer)."""
        q, a, r = card["q"], card["a"], self.rng.randint(4)
        if card["kind"] == "quiz":
            if r < 2:
                return f"Q{card['label'][1:]}", a  # bare label repeating the quiz item
            return f"Quiz {card['quiz']} {card['label']}: {card['statement'].lower()}?", a
        if card["kind"] == "what":
            q = [f"{card['term']} — what is it?", f"Define {card['term'].lower()}.", f"What is {card['term']}"][r % 3]
        elif card["kind"] == "define":
            q = [f"What is {card['term']}?", f"Definition of {card['term']}", f"Define {card['term']}"][r % 3]
        elif card["kind"] == "of":
            q = f"{card['other']} {card['term'].lower()}"  # "Derivative of Sigmoid" -> "Sigmoid derivative"
        elif card["kind"] == "formula":
            q = [f"{card['term']} rule", f"Update rule for {card['term'].lower()}", card["term"]][r % 3]
            return q, a.replace(" · ", "·").rstrip(".")
        else:
            q = [f"{card['term']}: purpose", f"Purpose of {card['term'].lower()}", q.upper()][r % 3]
        if r == 3 and ". " in a:
            a = a.split(". ")[0] + "."  # the twin keeps only the first sentence
        elif r == 2:
            a = a.rstrip(".").lower()
        return q, a


def generate(n: int, seed: int = 7) -> tuple[str, list[tuple[int, int]]]:
    """Dotted text with n items, and the planted duplicate pairs as (line, line)."""
    gen = Generator(seed, n)
    n_dup = n // 10
    lines: list[str] = []
    originals: list[tuple[int, dict]] = []
    pairs: list[tuple[int, int]] = []
    quiz_no, items, lecture = 0, 0, 0
    while items < n - n_dup:
        if items % 40 == 0:
            lecture += 1
            lines.append(f"LECTURE {lecture} — {gen.term().upper()}........")
        if items % 200 == 100:
            quiz_no += 1
            lines.append(f"✅ QUIZ {quiz_no} - {gen.term().upper()}........")
            quiz_items = []
            for k in range(6):
                card = gen.card((quiz_no, f"{k // 3 + 1}{'abc'[k % 3]}"))
                lines.append(f"{card['q']}........{card['a']}")
                quiz_items.append((len(lines), card))
                items += 1
            # bare-label twins must sit under their quiz header: plant them right here
            for line_no, card in quiz_items[:2]:
                if len(pairs) < n_dup:
                    q, a = gen.reword(card)
                    lines.append(f"{q}........{a}")
                    pairs.append((line_no, len(lines)))
            lines.append("⸻........")
            continue
        card = gen.card(None)
        lines.append(f"{card['q']}........{card['a']}")
        originals.append((len(lines), card))
        items += 1
    order = gen.rng.permutation(len(originals))
    for k in order[: n_dup - len(pairs)]:
        line_no, card = originals[k]
        q, a = gen.reword(card)
        lines.append(f"{q}........{a}")
        pairs.append((line_no, len(lines)))
    return "\n".join(lines) + "\n", pairs


def run_one(n: int, all_passes: bool) -> dict:
    """Child process: generate, read, run the passes, measure."""
    from deckforge.config import load_config
    from deckforge.model import KnowledgeGraph
    from deckforge.passes import Context, cards, dedupe, normalize, passes
    from deckforge.readers import dotted
    from deckforge.registry import Registry, load_registry

    text, planted = generate(n)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    root = Path(__file__).resolve().parents[1]
    config = load_config(root=root)
    registry = load_registry(config.snippets_dir) if all_passes else Registry()
    ctx = Context(config=config, registry=registry)
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    result = dotted.read(text, "bench/generated.txt")
    times["read"] = time.perf_counter() - t0
    graph = KnowledgeGraph(raw_items=tuple(result.items))
    steps = passes() if all_passes else [("normalize", normalize.normalize), ("cards", cards.make_cards),
                                          ("dedupe", dedupe.dedupe)]
    for name, fn in steps:
        t = time.perf_counter()
        graph = fn(graph, ctx)
        times[name] = time.perf_counter() - t
    total = time.perf_counter() - t0
    card_of: dict[int, int] = {}
    for k, card in enumerate(graph.cards):
        for span in card.sources:
            for line in range(span.line, span.end_line + 1):
                card_of[line] = k
    found = sum(1 for a, b in planted if a in card_of and card_of.get(a) == card_of.get(b))
    planted_lines = {x for p in planted for x in p}
    unplanted = sum(1 for m in graph.merges for s in m.members if s.line not in planted_lines)
    return {
        "n_items": len(result.items), "cards_out": len(graph.cards), "merges": len(graph.merges),
        "planted": len(planted), "recall": found / max(1, len(planted)),
        "unplanted_members": unplanted, "times": times, "total_s": total,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_s": resource.getrusage(resource.RUSAGE_SELF).ru_utime + resource.getrusage(resource.RUSAGE_SELF).ru_stime
        - cpu0,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks dedupe")
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--all-passes", action="store_true", help="run every pass (registry loaded)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.child, args.all_passes)))
        return 0
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        cmd = [sys.executable, "-m", "benchmarks", "dedupe", "--child", str(n)]
        if args.all_passes:
            cmd.append("--all-passes")
        with tempfile.TemporaryDirectory():
            out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                                 cwd=Path(__file__).resolve().parents[1]).stdout
        row = json.loads(out.strip().splitlines()[-1])
        row["n"] = n
        rows.append(row)
        steps = "  ".join(f"{k} {v:.2f}s" for k, v in row["times"].items())
        print(f"N={n:>7}: total {row['total_s']:.2f}s wall, {row['cpu_s']:.2f}s CPU  peak RSS {row['peak_rss_mb']:.0f} MB  "
              f"recall {row['recall']:.4f} ({row['planted']} planted)  cards {row['cards_out']}  "
              f"merges {row['merges']}  unplanted merged members {row['unplanted_members']}  [{steps}]",
              flush=True)
    print("\n| N | ingest+dedupe wall s | CPU s | dedupe s | peak RSS MB | recall | wall s per 10k |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['n']} | {row['total_s']:.2f} | {row['cpu_s']:.2f} | {row['times']['dedupe']:.2f} | "
              f"{row['peak_rss_mb']:.0f} | {row['recall']:.4f} | {row['total_s'] / row['n'] * 1e4:.2f} |")
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        for what in ("total_s", "cpu_s"):
            ratio = b[what] / a[what]
            exponent = np.log(ratio) / np.log(b["n"] / a["n"])
            label = "wall" if what == "total_s" else "CPU"
            print(f"{label} time grows x{ratio:.1f} for x{b['n'] / a['n']:.0f} items: ~N^{exponent:.2f} "
                  "(1.0 = linear, 2.0 = quadratic)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} (wall times include waiting for a CPU)")
    return 0
