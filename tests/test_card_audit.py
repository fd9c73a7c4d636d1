"""Issue 11, must hold 1: every card built from `sources/`, judged one by one beside its lines.

`tests/data/card_audit.json` holds one entry per card (by its first source `path:line`) with
the class a human reader gave it:

- good: a student could study it tomorrow without the lecture;
- wrong-flagged: wrong (the notes are wrong) and the deck says so;
- wrong-unflagged, incomplete, garbled, context-less, duplicate, not-a-card: not fit to study.

A card of the last six classes must carry a flag that tells the student so (needs-review,
claim-mismatch or conflict): those are the honest flags; `repaired` or `verified` say where an
answer came from, not that it is unfit. A card with no entry fails the test: a change that adds
or moves cards must be audited too, card by card.
"""

from __future__ import annotations

import json
from collections import Counter

from tests.conftest import ROOT

AUDIT = ROOT / "tests" / "data" / "card_audit.json"
UNFIT = {"wrong-unflagged", "incomplete", "garbled", "context-less", "duplicate", "not-a-card"}
CLASSES = {"good", "wrong-flagged"} | UNFIT
HONEST_FLAGS = {"needs-review", "claim-mismatch", "conflict"}
# A ratchet, not the goal: the target is 97% good or honestly flagged with no unfit
# card unflagged. Measured 93.4% with 24 unfit cards unflagged at stop 10, 99.4% with 2 after
# issue 11-12's passes, 100% with none once formulas declared their essential parts (SimCLR's
# k != i, CLIP's two directions). Any unfit card without an honest flag now fails the test.
MAX_UNFIT_UNFLAGGED = 0
MIN_SHARE = 1.0


def _audit() -> dict[tuple[str, int], dict]:
    data = json.loads(AUDIT.read_text("utf-8"))
    return {(e["path"], e["line"]): e for e in data["cards"]}


def _table(graph, audit) -> dict[str, Counter]:
    table: dict[str, Counter] = {}
    for card in graph.cards:
        span = card.sources[0]
        entry = audit.get((span.path, span.line), {"class": "unaudited"})
        honest = any(f.name in HONEST_FLAGS for f in card.flags)
        row = table.setdefault(span.path, Counter())
        row["cards"] += 1
        if entry["class"] == "good":
            row["good"] += 1
        elif entry["class"] == "wrong-flagged" or (entry["class"] in UNFIT and honest):
            row["honestly flagged"] += 1
        else:
            row["unfit, unflagged"] += 1
    return table


def test_every_audit_class_is_known():
    for (path, line), entry in _audit().items():
        assert entry["class"] in CLASSES, f"{path}:{line}: unknown class {entry['class']!r}"


def test_every_card_is_audited(bundled_graph):
    audit = _audit()
    missing = [f"{c.sources[0]}  {c.question[:60]!r}" for c in bundled_graph.cards
               if (c.sources[0].path, c.sources[0].line) not in audit]
    assert not missing, "cards with no audit entry (judge them and add them):\n" + "\n".join(missing)


def test_no_unfit_card_goes_unflagged(bundled_graph):
    audit = _audit()
    table = _table(bundled_graph, audit)
    total = sum(table.values(), Counter())
    print("\ncard audit per file (good / honestly flagged / unfit and unflagged):")
    for path, row in sorted(table.items()):
        ok = (row["good"] + row["honestly flagged"]) / row["cards"]
        print(f"  {path:45s} {row['cards']:4d}  {row['good']:4d} {row['honestly flagged']:4d} "
              f"{row['unfit, unflagged']:4d}  {ok:6.1%}")
    share = (total["good"] + total["honestly flagged"]) / total["cards"]
    print(f"  {'all':45s} {total['cards']:4d}  {share:6.1%}")
    unfit = []
    for card in bundled_graph.cards:
        entry = audit.get((card.sources[0].path, card.sources[0].line))
        if entry and entry["class"] in UNFIT and not any(f.name in HONEST_FLAGS for f in card.flags):
            unfit.append(f"{card.sources[0]}: {entry['class']}: {entry.get('why', '')}")
    print("unfit cards without an honest flag:\n  " + "\n  ".join(unfit))
    assert len(unfit) <= MAX_UNFIT_UNFLAGGED, "more unfit cards go unflagged than before:\n" + \
        "\n".join(unfit)
    assert share >= MIN_SHARE
