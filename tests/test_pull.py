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
from click.testing import CliRunner

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


def test_round_trip_edits_come_back_to_their_lines_and_update_notes_in_place(tmp_path, monkeypatch):
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

        # --dry-run: the unified diff, nothing written.
        from deckforge.cli import main

        monkeypatch.chdir(project)
        dry = CliRunner().invoke(main, ["pull", "--dry-run", str(exported)], catch_exceptions=False)
        assert dry.exit_code == 0, dry.output
        for path, (_card, _nid, word) in targets.items():
            assert f"+++ b/{path}" in dry.stdout
            assert any(line.startswith("+") and word + SUFFIX in line
                       for line in dry.stdout.splitlines())
        assert sources_text(project) == before
        assert not (project / "build" / "reviews.json").exists()

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


# --- must-hold 3: review data from the backend's scheduler ranks the cards --------------------


def study_card(col, cid: int, eases: list[int]) -> None:
    """Answer one card through the scheduler, once per ease; between answers it is made due
    today (a forgotten review card is due again only after its relearning step)."""
    did = col.decks.id(f"pull-test {cid}")
    col.set_deck([cid], did)
    col.decks.select(did)
    for i, ease in enumerate(eases):
        if i:
            col.sched.set_due_date([cid], "0")
        card = col.sched.getCard()
        assert card is not None and card.id == cid
        card.start_timer()
        col.sched.answerCard(card, ease)


def test_review_data_ranks_the_cards_learners_fail_and_lint_names_the_leech(tmp_path, monkeypatch):
    from deckforge import pull as pulling
    from deckforge.cli import main

    project = copy_project(tmp_path / "project")
    report, apkg = build(project, project / "build")
    col = new_collection(tmp_path / "col")
    try:
        import_apkg(col, apkg)
        plain = [c for c in report.graph.cards if len(c.sources) == 1 and not c.flags
                 and c.sources[0].path == DOTTED][:3]
        hard, middling, easy = plain
        cid = {c.id: col.find_cards(f"nid:{note_id_for(col, c.guid)}")[0] for c in plain}
        study_card(col, cid[hard.id], [4] + [1] * 8)  # forgotten 8 times: Anki tags a leech
        study_card(col, cid[middling.id], [4, 1, 3])  # forgotten once
        study_card(col, cid[easy.id], [4, 3, 3])  # never forgotten
        assert col.get_card(cid[hard.id]).lapses == 8
        assert "leech" in col.get_note(note_id_for(col, hard.guid)).tags
        colpkg = tmp_path / "collection.colpkg"
        col.export_collection_package(str(colpkg), include_media=False, legacy=False)
    finally:
        col.close()

    monkeypatch.chdir(project)
    run = CliRunner().invoke(main, ["pull", str(colpkg)], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    assert "0 edits mapped" in run.output
    entries = pulling.read_reviews(project / "build")
    by_id = {e["id"]: e for e in entries}
    assert by_id[hard.id]["lapses"] == 8 and by_id[hard.id]["leech"]
    assert by_id[hard.id]["reviews"] == 9
    assert by_id[middling.id]["lapses"] == 1 and not by_id[middling.id]["leech"]
    assert by_id[easy.id]["lapses"] == 0 and by_id[easy.id]["reviews"] == 3
    assert by_id[easy.id]["ease"] is not None
    assert [e["id"] for e in pulling.hardest(entries)] == [hard.id, middling.id]
    # Two users' exports add up (docs/contributing.md): counts sum, a leech stays a leech.
    twice = pulling.merge_reviews(entries + entries)
    assert {e["id"]: (e["reviews"], e["lapses"], e["users"]) for e in twice}[hard.id] == (18, 16, 2)

    span = hard.sources[0]
    lint = CliRunner().invoke(main, ["lint"], catch_exceptions=False)
    leeches = [line for line in lint.output.splitlines() if ": leech " in line]
    assert len(leeches) == 1 and leeches[0].startswith(f"{span.path}:{span.line}:1: leech ")
    assert "8 lapses in 9 answers" in leeches[0]
    lint = CliRunner().invoke(main, ["lint", "--format", "json"], catch_exceptions=False)
    found = [d for d in json.loads(lint.stdout) if d["code"] == "leech"]
    assert [(d["path"], d["line"], d["level"]) for d in found] == [(span.path, span.line, "info")]

    from deckforge.emit.pages import generate

    page = generate(report.graph, load_config(root=project)).files["quality.md"]
    section = page.split("## Hardest cards", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line[:1].isdigit()]
    assert len(rows) == 2 and "**leech**" in rows[0] and f"{span.path}:{span.line}" in rows[0]
    assert "1 lapses in" in rows[1]


# --- must-hold 4: a clear message, exit 2, nothing written -------------------------------------


@pytest.fixture(scope="module")
def pulled_project(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pull-errors")
    project = copy_project(tmp / "project")
    build(project, project / "build")
    (project / "build" / "reviews.json").unlink(missing_ok=True)
    return project


def _pull_fails(project: Path, export_path: Path, monkeypatch, needle: str) -> None:
    from deckforge.cli import main

    before = sources_text(project)
    monkeypatch.chdir(project)
    run = CliRunner().invoke(main, ["pull", str(export_path)], catch_exceptions=False)
    assert run.exit_code == 2, run.output
    assert needle in run.output and "Traceback" not in run.output, run.output
    assert sources_text(project) == before
    assert not (project / "build" / "reviews.json").exists()


def test_pull_of_a_corrupt_file_exits_2(pulled_project, tmp_path, monkeypatch):
    bad = tmp_path / "broken.apkg"
    bad.write_bytes(b"PK\x03\x04 this is not an Anki package")
    _pull_fails(pulled_project, bad, monkeypatch, "corrupt")
    fake_zip = tmp_path / "fake.apkg"
    import zipfile

    with zipfile.ZipFile(fake_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    _pull_fails(pulled_project, fake_zip, monkeypatch, "Anki could not read this export")


def test_pull_of_a_collection_without_deckforge_notes_exits_2(pulled_project, tmp_path, monkeypatch):
    col = new_collection(tmp_path / "col")
    try:
        note = col.new_note(col.models.by_name("Basic"))
        note.fields[0], note.fields[1] = "Capital of France?", "Paris"
        col.add_note(note, col.decks.id("Geography"))
        path = export(col, tmp_path / "geography.apkg")
    finally:
        col.close()
    _pull_fails(pulled_project, path, monkeypatch, "contains no deckforge notes")


def test_pull_of_an_export_from_another_deck_exits_2(pulled_project, tmp_path, monkeypatch):
    other = tmp_path / "other"
    (other / "sources").mkdir(parents=True)
    (other / "sources" / "mine.txt").write_text(
        "What is a GPU warp?........32 threads that execute in lockstep.\n"
        "What is HBM?........High-bandwidth memory stacked beside the GPU die.\n", "utf-8")
    _report, apkg = build(other, other / "build")
    col = new_collection(tmp_path / "col")
    try:
        import_apkg(col, apkg)
        path = export(col, tmp_path / "other.apkg")
    finally:
        col.close()
    _pull_fails(pulled_project, path, monkeypatch, "from another deck")


# --- the mapping rule itself -----------------------------------------------------------------


def test_locate_anchors_an_edit_in_the_answer_not_in_a_look_alike_question():
    from deckforge.pull import field_text, locate

    line = "What does a cache hold?........A cache holds recent data near the core.\n"
    old, new = "A cache holds recent data near the core.", "A cache holds recent data close to the core."
    window, replacement = locate(old, new, line)
    assert line.replace(window, replacement) == (
        "What does a cache hold?........A cache holds recent data close to the core.\n")
    assert locate("normalized $x^2$ text", "normalized $x^3$ text", "normalized x² text") is None
    assert field_text("<p>Keys &amp; values \\(d_k\\)</p><ul><li>one</li></ul>") == \
        "Keys & values $d_k$\none"
