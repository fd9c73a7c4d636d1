"""Labelled checks for dotted quiz notes (issue 11, must hold 2): run the whole pipeline on a
notes file from tests/data/notes/ and score each labelled expectation.

`python -m tests.quiz_labels` prints every failed check and the pass rate of every
`quiz-*.labels.json`; tests/test_quiz_structure.py asserts on the same numbers.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from deckforge.text.structure import is_bare_label

NOTES = Path(__file__).resolve().parent / "data" / "notes"


def build_notes(notes: Path):
    """The KnowledgeGraph of one notes file (readers + every pass), built in a temp folder."""
    from deckforge.config import load_config
    from deckforge.pipeline import build_graph

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        sources = Path(tmp) / "sources"
        sources.mkdir()
        shutil.copy(notes, sources / notes.name)
        return build_graph(load_config(root=root, sources=sources))


def _card_ending_at(graph, name: str, line: int):
    for card in graph.cards:
        for span in card.sources:
            if span.path.endswith(name) and span.end_line == line:
                return card
    return None


def _has(text: str, part: str) -> bool:
    return part.casefold() in (text or "").casefold()


def _check(key: str, v: str, q: str, ctx: str, answer: str, causes: set[str]) -> bool:
    return {
        "q_has": lambda: _has(q, v),
        "q_lacks": lambda: not _has(q, v),
        "ctx_has": lambda: _has(ctx, v),
        "ctx_lacks": lambda: not _has(ctx, v),
        "text_has": lambda: _has(q + "\n" + ctx, v),
        "answer_has": lambda: _has(answer, v),
        "cause": lambda: v in causes,
        "no_cause": lambda: v not in causes,
    }[key]()


def checks(graph, labels: dict) -> list[tuple[str, bool]]:
    """(description, passed) for every labelled expectation."""
    name = labels["notes"]
    out: list[tuple[str, bool]] = []
    for phrase in labels.get("never_in_question", ()):
        bad = [c.sources[0] for c in graph.cards if _has(c.question, phrase)]
        out.append((f"no question holds {phrase!r} (found in {bad})", not bad))
    if labels.get("no_bare_label_questions"):
        bare = [c.question for c in graph.cards if is_bare_label(c.question)]
        out.append((f"no question is a bare label ({bare})", not bare))
    for entry in labels["items"]:
        line = entry["line"]
        card = _card_ending_at(graph, name, line)
        expected = [(k, v) for k, v in entry.items() if k not in ("line", "why")]
        n = sum(len(v) if isinstance(v, list) else 1 for _k, v in expected)
        if card is None:
            out.extend((f"{line}: no card ends on this line", False) for _ in range(n))
            continue
        q, ctx, causes = card.question, card.context, {f.cause for f in card.flags}
        for key, value in expected:
            for v in value if isinstance(value, list) else [value]:
                ok = _check(key, v, q, ctx, card.answer, causes)
                out.append((f"{line}: {key} {v!r} (question {q[:70]!r}, context {ctx[:40]!r}, "
                            f"causes {sorted(causes)})", ok))
    return out


def pass_rate(notes_name: str) -> tuple[float, list[tuple[str, bool]]]:
    labels = json.loads((NOTES / notes_name).read_text("utf-8"))
    graph = build_notes(NOTES / labels["notes"])
    results = checks(graph, labels)
    return sum(ok for _d, ok in results) / len(results), results


if __name__ == "__main__":
    for path in sorted(NOTES.glob("quiz-*.labels.json")):
        rate, results = pass_rate(path.name)
        for desc, ok in results:
            if not ok:
                print("FAIL", desc)
        print(f"{path.name}: {sum(ok for _d, ok in results)}/{len(results)} = {rate:.1%}")
