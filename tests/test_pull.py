"""`deckforge pull`: edits made in Anki come back to the notes, review data ranks the cards.

Everything runs against Anki's own backend (the `anki` package): the deck is imported into a
real collection, cards are answered through the scheduler, notes are edited and the collection
is exported the way Anki's File → Export does it. All of it happens in a temp copy of the
project; the real sources/ are never touched.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from deckforge.config import load_config
from tests.test_anki import build, copy_project, import_apkg, new_collection, note_id_for

anki_collection = pytest.importorskip("anki.collection")
ExportAnkiPackageOptions = anki_collection.ExportAnkiPackageOptions

pytestmark = pytest.mark.anki

DOTTED = "sources/cs242-systems-flashcards.txt"
OBSIDIAN = "sources/cs336-lecture-notes.md"
EXPORT = "sources/transformers-flashcards-export.txt"
SUFFIX = " (edited on my phone)"


# --- helpers -------------------------------------------------------------------------------


def export(col, path: Path, scheduling: bool = True) -> Path:
    col.export_anki_package(out_path=str(path), limit=None, options=ExportAnkiPackageOptions(
        with_scheduling=scheduling, with_deck_configs=False, with_media=False, legacy=False))
    return path


def sources_text(project: Path) -> dict[str, str]:
    return {p.relative_to(project).as_posix(): p.read_text("utf-8")
            for p in sorted((project / "sources").rglob("*")) if p.is_file()}


def editable_word(card, project: Path, field_html: str) -> str | None:
    """A word of the answer that occurs once in the note's field and once in the card's lines."""
    span = card.sources[0]
    lines = (project / span.path).read_text("utf-8").splitlines()[span.line - 1:span.end_line]
    source = "\n".join(lines)
    for word in re.findall(r"[A-Za-z]{5,}", card.answer):
        if field_html.count(word) == 1 and source.count(word) == 1 and card.answer.count(word) == 1:
            return word
    return None


def pick(report, project: Path, col, path: str, kind: str | None = None):
    """The first plain card of `path` whose answer the user can edit by one word."""
    for card in report.graph.cards:
        if (len(card.sources) == 1 and card.sources[0].path == path and not card.flags
                and card.kind in ((kind,) if kind else ("basic", "true-false"))):
            note = col.get_note(note_id_for(col, card.guid))
            word = editable_word(card, project, note.fields[1])
            if word:
                return card, note.id, word
    raise AssertionError(f"no editable card in {path}")


def study(col, cids: list[int], answers: list[int]) -> None:
    """Answer these cards through the scheduler: moved to a deck of their own and selected, so
    each is at the top of the queue, as when the student studies them."""
    did = col.decks.id("pull-test study")
    col.set_deck(cids, did)
    col.decks.select(did)
    for round_, ease in enumerate(answers):
        if round_:  # due again today (a manual reschedule, logged as such, not as a review)
            col.sched.set_due_date(cids, "0")
        while (card := col.sched.getCard()) is not None:
            card.start_timer()
            col.sched.answerCard(card, ease)


# --- must-hold 1: the round trip -------------------------------------------------------------


def test_round_trip_edits_come_back_to_their_lines_and_update_notes_in_place(tmp_path):
    from deckforge import pull as pulling

    project = copy_project(tmp_path / "project")
    report, apkg = build(project, project / "build")
    before = sources_text(project)
    col = new_collection(tmp_path / "col")
    try:
        import_apkg(col, apkg)
        notes_before = col.note_count()
        targets = {path: pick(report, project, col, path) for path in (DOTTED, OBSIDIAN, EXPORT)}
        cids = {p: col.find_cards(f"nid:{nid}")[0] for p, (_c, nid, _w) in targets.items()}
        study(col, list(cids.values()), [4])
        history = {p: (col.get_card(c).reps, col.get_card(c).ivl, col.get_card(c).did)
                   for p, c in cids.items()}
        revlog = col.db.scalar("select count() from revlog")
        assert col.db.scalar("select count() from revlog where type < 4") == 3
        time.sleep(1.1)  # the edit is newer than the build (Anki's mtimes are seconds)
        for _card, nid, word in targets.values():
            note = col.get_note(nid)
            note.fields[1] = note.fields[1].replace(word, word + SUFFIX, 1)
            col.update_note(note)
        exported = export(col, tmp_path / "mine.apkg")

        config = load_config(root=project)
        result = pulling.pull(config, [exported])
        assert not result.unmapped, result.unmapped
        assert len(result.edits) == 3
        pulling.write_result(config, result)
        after = sources_text(project)
        for path, (card, _nid, word) in targets.items():
            span = card.sources[0]
            old_lines, new_lines = before[path].splitlines(), after[path].splitlines()
            assert len(old_lines) == len(new_lines)
            changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
            assert changed and all(span.line - 1 <= i < span.end_line for i in changed), changed
            for i in changed:  # the line carries exactly the edit, in its own style
                assert new_lines[i] == old_lines[i].replace(word, word + SUFFIX, 1)
        assert {p for p in before if before[p] != after[p]} == set(targets)  # nothing else
        reviews = json.loads((project / "build" / "reviews.json").read_text("utf-8"))
        assert reviews["schema"] == "deckforge.reviews/1"
        assert sum(e["reviews"] for e in reviews["cards"]) == 3

        time.sleep(1.1)
        report2, apkg2 = build(project, project / "build")
        result2 = import_apkg(col, apkg2)
        nids = {nid for _c, nid, _w in targets.values()}
        assert {n.id.nid for n in result2.log.updated} <= nids
        assert not result2.log.new and col.note_count() == notes_before  # no duplicates
        for path, (card, nid, word) in targets.items():
            rebuilt = next(c for c in report2.graph.cards if c.guid == card.guid)
            assert word + SUFFIX in rebuilt.answer
            assert word + SUFFIX in col.get_note(nid).fields[1]  # the user's edit stays
            c = col.get_card(cids[path])
            assert (c.reps, c.ivl, c.did) == history[path]  # reviews kept, same card
        assert col.db.scalar("select count() from revlog") == revlog
        # A second pull of a fresh export finds nothing left to map.
        again = pulling.pull(load_config(root=project), [export(col, tmp_path / "again.apkg")])
        assert not again.edits and not again.files
    finally:
        col.close()


# --- must-hold 2: unmappable edits are reported, never applied --------------------------------


def test_merged_repaired_and_formatting_only_edits_are_reported_not_applied(tmp_path):
    from deckforge import pull as pulling

    project = copy_project(tmp_path / "project")
    report, apkg = build(project, project / "build")
    before = sources_text(project)
    merged = next(c for c in report.graph.cards if len(c.sources) > 1 and not c.has_flag("repaired"))
    repaired = next(c for c in report.graph.cards
                    if c.has_flag("repaired") and len(c.sources) == 1)
    col = new_collection(tmp_path / "col")
    try:
        import_apkg(col, apkg)
        plain, _plain_nid, word = pick(report, project, col, DOTTED)
        time.sleep(1.1)
        for card, edit in ((merged, lambda f: f.replace("</p>", " (mine)</p>", 1)),
                           (repaired, lambda f: f.replace("$$", "$$ x + ", 1) if "$$" in f
                            else f.replace("\\[", "\\[ x + ", 1)),
                           (plain, lambda f: f.replace(word, f"<b>{word}</b>", 1))):
            note = col.get_note(note_id_for(col, card.guid))
            changed = edit(note.fields[1])
            assert changed != note.fields[1], card.question
            note.fields[1] = changed
            col.update_note(note)
        exported = export(col, tmp_path / "mine.apkg")
    finally:
        col.close()
    config = load_config(root=project)
    result = pulling.pull(config, [exported])
    reasons = {u.card_id: u.reason for u in result.unmapped}
    assert reasons[merged.id].startswith("merged card")
    assert reasons[repaired.id].startswith("repaired formula")
    assert reasons[plain.id].startswith("formatting-only")
    assert not result.edits and not result.files
    pulling.write_result(config, result)
    assert sources_text(project) == before  # nothing applied
