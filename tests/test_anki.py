"""The deck against real Anki: the `anki` package on PyPI is Anki's own backend.

Every test imports a package we built into a fresh collection with Anki's default import
options (update notes and note types if newer) and looks at what Anki made of it.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from deckforge.build import run_build
from deckforge.config import Config
from deckforge.lock import apply_lock
from deckforge.model import Card, Flag, KnowledgeGraph, SourceSpan

anki_collection = pytest.importorskip("anki.collection")
Collection = anki_collection.Collection
ImportAnkiPackageOptions = anki_collection.ImportAnkiPackageOptions
ImportAnkiPackageRequest = anki_collection.ImportAnkiPackageRequest

pytestmark = pytest.mark.anki

ROOT = Path(__file__).resolve().parents[1]
DOTTED = "sources/cs242-systems-flashcards.txt"
TEMPLATE_ERRORS = ("template has a problem", "templates/errors.html")


# --- helpers -------------------------------------------------------------------------------


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("sources", "snippets"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "deckforge.lock"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, dest / name)
    return dest


def build(project: Path, out: Path):
    report = run_build(root=project, out=out, with_site=False)
    return report, report.outputs["deck"]


def new_collection(folder: Path) -> Collection:
    folder.mkdir(parents=True, exist_ok=True)
    return Collection(str(folder / "collection.anki2"))


def import_apkg(col: Collection, apkg: Path):
    """Anki's default options: ImportAnkiPackageOptions() = update notes/note types if newer."""
    request = ImportAnkiPackageRequest(package_path=str(apkg), options=ImportAnkiPackageOptions())
    return col.import_anki_package(request)


def note_id_for(col: Collection, guid: str) -> int:
    nid = col.db.scalar("select id from notes where guid = ?", guid)
    assert nid, f"no note with GUID {guid!r}"
    return nid


def card_by_question(report, start: str) -> Card:
    matches = [c for c in report.graph.cards if c.question.startswith(start)]
    assert len(matches) == 1, [c.question for c in matches]
    return matches[0]


def edit_source(project: Path, old: str, new: str) -> None:
    path = project / DOTTED
    data = path.read_bytes()
    assert data.count(old.encode()) == 1, old
    path.write_bytes(data.replace(old.encode(), new.encode()))


def apkg_table(apkg: Path, table: str) -> dict:
    with zipfile.ZipFile(apkg) as archive:
        data = archive.read("collection.anki2")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "c.anki2"
        db.write_bytes(data)
        conn = sqlite3.connect(db)
        try:
            return {row[0]: row for row in conn.execute(f"select * from {table}")}
        finally:
            conn.close()


# --- shared builds -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def deck_build(tmp_path_factory):
    """The bundled notes built twice from the same project (the second reads the first's lock)."""
    project = copy_project(tmp_path_factory.mktemp("anki") / "project")
    first, first_apkg = build(project, project / "build-1")
    second, second_apkg = build(project, project / "build-2")
    return project, first, first_apkg, second_apkg


@pytest.fixture(scope="session")
def imported(deck_build, tmp_path_factory):
    _project, report, apkg, _ = deck_build
    col = new_collection(tmp_path_factory.mktemp("col"))
    result = import_apkg(col, apkg)
    yield report, col, result
    col.close()


# --- must-hold 1: one note per card, all cards render --------------------------------------


def test_import_gives_one_note_per_graph_card(imported):
    report, col, result = imported
    cards = report.graph.cards
    assert len({c.id for c in cards}) == len(cards), "duplicate card ids in the graph"
    assert col.note_count() == len(cards)
    assert len(result.log.new) == len(cards)
    assert not result.log.empty_first_field and not result.log.conflicting
    assert not result.log.missing_notetype and not result.log.missing_deck
    guids = {row[0] for row in col.db.all("select guid from notes")}
    assert guids == {c.guid for c in cards}


def test_no_note_has_an_empty_first_field(imported):
    _report, col, _ = imported
    for nid in col.find_notes(""):
        note = col.get_note(nid)
        assert note.fields[0].strip(), nid


def test_every_card_renders_through_ankis_templates(imported):
    _report, col, _ = imported
    card_ids = col.find_cards("")
    assert len(card_ids) >= col.note_count()
    for cid in card_ids:
        card = col.get_card(cid)
        for html in (card.question(), card.answer()):
            assert not any(err in html for err in TEMPLATE_ERRORS), html[-500:]
            body = html.split("</style>", 1)[-1]
            assert "{{" not in body and "}}" not in body, body
        assert 'class="df-meta"' in card.answer(), "every back says where the card came from"


def test_decks_and_tags(imported):
    report, col, _ = imported
    names = {d.name for d in col.decks.all_names_and_ids()}
    expected = {"::".join(c.deck) or "deckforge" for c in report.graph.cards if not c.unfinished}
    assert expected <= names
    unfinished = [c for c in report.graph.cards if c.unfinished]
    assert unfinished, "the bundled notes have needs-review cards"
    for card in unfinished:  # out of the study path: under the top-level Needs review deck
        cid = col.find_cards(f"nid:{note_id_for(col, card.guid)}")[0]
        assert col.decks.name(col.get_card(cid).did) == "Needs review::" + "::".join(card.deck)
    for tag in col.tags.all():
        assert " " not in tag
    assert any(t.startswith("kind::") for t in col.tags.all())


def test_back_links_the_source_line(imported):
    report, col, _ = imported
    card = report.graph.cards[0]
    answer = col.get_card(col.find_cards(f"nid:{note_id_for(col, card.guid)}")[0]).answer()
    span = card.sources[0]
    url = report.config.source_url(span.path, span.line)
    assert f'href="{url}"' in answer and f"{span.path}:{span.line}" in answer


# --- must-hold 2: a fix updates the note in place, review history survives ------------------


def review(col: Collection, cid: int) -> None:
    card = col.get_card(cid)
    card.start_timer()
    col.sched.answerCard(card, 4)  # "Easy": a new card graduates to review with an interval


def test_round_trip_keeps_review_history(tmp_path):
    project = copy_project(tmp_path / "project")
    report, apkg = build(project, project / "out-1")
    col = new_collection(tmp_path / "col")
    try:
        import_apkg(col, apkg)
        notes_before = col.note_count()
        targets = {
            "answer": card_by_question(report, "What role does EMA play in DINO?"),
            "question": card_by_question(report, "How does DINO achieve invariance?"),
        }
        nids = {k: note_id_for(col, c.guid) for k, c in targets.items()}
        cids = {k: col.find_cards(f"nid:{nid}")[0] for k, nid in nids.items()}
        for cid in cids.values():
            review(col, cid)
        history = {k: (col.get_card(c).reps, col.get_card(c).ivl) for k, c in cids.items()}
        assert all(reps == 1 and ivl >= 1 for reps, ivl in history.values()), history

        # A fixed answer, rebuilt and re-imported with the default options.
        edit_source(project, "stable self-distillation; avoids collapse.",
                    "stable self-distillation; avoids representation collapse.")
        report2, apkg2 = build(project, project / "out-2")
        result = import_apkg(col, apkg2)
        updated = {n.id.nid for n in result.log.updated}
        assert updated == {nids["answer"]}, "exactly the fixed note is updated"
        assert not result.log.new
        assert "avoids representation collapse" in col.get_note(nids["answer"]).fields[1]

        # A slightly reworded question keeps its GUID, so the same note is updated.
        edit_source(project, "How does DINO achieve invariance?",
                    "How does DINO achieve its invariance?")
        report3, apkg3 = build(project, project / "out-3")
        reworded = card_by_question(report3, "How does DINO achieve its invariance?")
        assert reworded.id != targets["question"].id and reworded.guid == targets["question"].guid
        result = import_apkg(col, apkg3)
        assert {n.id.nid for n in result.log.updated} == {nids["question"]}
        assert not result.log.new
        assert "achieve its invariance" in col.get_note(nids["question"]).fields[0]

        assert col.note_count() == notes_before
        after = {k: (col.get_card(c).reps, col.get_card(c).ivl) for k, c in cids.items()}
        assert after == history
        assert col.db.scalar("select count() from revlog") == 2
    finally:
        col.close()


def test_unchanged_rebuild_updates_nothing(deck_build, tmp_path):
    _project, _report, first, second = deck_build
    col = new_collection(tmp_path / "col")
    try:
        import_apkg(col, first)
        result = import_apkg(col, second)
        assert not result.log.new and not result.log.updated
        assert len(result.log.duplicate) == col.note_count()
    finally:
        col.close()


# --- must-hold 3: reproducible packages -----------------------------------------------------


def test_two_builds_are_byte_identical(deck_build):
    _project, _report, first, second = deck_build
    assert first.read_bytes() == second.read_bytes()


def test_a_changed_card_changes_only_its_note(tmp_path):
    project = copy_project(tmp_path / "project")
    report, before = build(project, project / "out-1")
    shutil.copy(before, tmp_path / "before.apkg")
    card = card_by_question(report, "What is DINO?")
    edit_source(project, "trained via exponential moving average of weights.",
                "trained via an exponential moving average of weights.")
    _report2, after = build(project, project / "out-2")
    old, new = apkg_table(tmp_path / "before.apkg", "notes"), apkg_table(after, "notes")
    assert old.keys() == new.keys()
    changed = [nid for nid in old if old[nid] != new[nid]]
    assert len(changed) == 1
    row_old, row_new = old[changed[0]], new[changed[0]]
    assert row_old[1] == row_new[1] == card.guid  # same GUID
    assert row_new[3] > row_old[3]  # a newer mtime, so Anki's importer takes it
    old_cards, new_cards = apkg_table(tmp_path / "before.apkg", "cards"), apkg_table(after, "cards")
    assert [c for c in old_cards if old_cards[c] != new_cards[c]] == \
        [c for c in old_cards if old_cards[c][1] == changed[0]]


def test_apkg_is_written_atomically_and_zip_has_fixed_timestamps(deck_build):
    _project, _report, first, _ = deck_build
    with zipfile.ZipFile(first) as archive:
        assert archive.namelist()[:2] == ["collection.anki2", "media"]
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    leftovers = [p for p in first.parent.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers


# --- the emitter on hand-made cards: escaping, math, kinds, flags, images -------------------


def synthetic_config(tmp_path: Path) -> Config:
    sources = tmp_path / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    return Config(root=tmp_path, sources_dir=sources, out_dir=tmp_path / "build",
                  repo_url="https://example.org/repo", deck_name="synthetic")


def span(line: int) -> tuple[SourceSpan, ...]:
    return (SourceSpan("sources/notes.md", line, line),)


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from deckforge.emit.anki import write_apkg

    tmp = tmp_path_factory.mktemp("synthetic")
    config = synthetic_config(tmp)
    (config.sources_dir / "diagram.png").write_bytes(PNG)
    cards = (
        Card("cscript", "basic", "What does <script>alert('x')</script> do?",
             "It is <b>text</b>: <img src=x onerror=alert(1)> [click](javascript:alert(1))",
             span(1), deck=("Course", "Lecture 1")),
        Card("cmath", "formula", "Roofline: attainable throughput",
             "$P = \\min(\\pi, \\beta \\cdot I)$ and $$I = \\frac{F}{B}$$ with a < b", span(2),
             deck=("Course", "Lecture 1"), formulas=("roofline",), concepts=("roofline",)),
        Card("ccloze", "cloze", "The ==ridge point== is where ==memory== and compute meet.",
             "", span(3), deck=("Course", "Lecture 2")),
        Card("cchoice", "multiple-choice", "Which is memory-bound?", "GEMV", span(4),
             deck=("Course", "Quiz 1"), options=("GEMM at 8192³", "GEMV", "Both"), correct=(1,)),
        Card("cunknown", "multiple-choice", "Which one was right?", "", span(5),
             deck=("Course", "Quiz 1"), options=("A thing", "Another"),
             flags=(Flag("needs-review", "the clipped markers did not say which option"),)),
        Card("cimages", "basic", "A diagram", "![[diagram.png|600]] and ![[absent.png]]",
             span(6), deck=("Course", "Lecture 2"), tags=("lecture 2",)),
        Card("cflag", "true-false", "2 more bits halve the error", "True", span(7),
             deck=("Course", "Quiz 1"),
             flags=(Flag("claim-mismatch", "2 more bits divide the error by 4, not 2"),)),
        Card("cempty", "basic", "A question whose answer got lost", "", span(8),
             deck=("Course", "Lecture 2")),
    )
    graph = KnowledgeGraph(cards=cards)
    graph, lock = apply_lock(graph, tmp / "deckforge.lock")
    problems: list = []
    apkg = write_apkg(graph, config, lock, problems=problems)
    col = new_collection(tmp / "col")
    import_apkg(col, apkg)
    by_id = {c.id: c for c in graph.cards}

    def rendered(card_id: str) -> tuple[str, str]:
        nid = note_id_for(col, by_id[card_id].guid)
        card = col.get_card(col.find_cards(f"nid:{nid}")[0])
        return card.question().split("</style>", 1)[1], card.answer().split("</style>", 1)[1]

    yield graph, col, rendered, problems, apkg
    col.close()


def test_script_in_a_note_is_shown_as_text_never_run(synthetic):
    _graph, _col, rendered, _, _ = synthetic
    question, answer = rendered("cscript")
    for html in (question, answer):
        assert "<script" not in html and "<img src=x" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in question
    assert "&lt;b&gt;text&lt;/b&gt;" in answer


def test_math_becomes_mathjax_delimiters(synthetic):
    _graph, _col, rendered, _, _ = synthetic
    _question, answer = rendered("cmath")
    assert "\\(P = \\min(\\pi, \\beta \\cdot I)\\)" in answer
    assert "\\[I = \\frac{F}{B}\\]" in answer
    assert "$" not in answer and "a &lt; b" in answer


def test_cloze_card_hides_the_highlights(synthetic):
    _graph, col, rendered, _, _ = synthetic
    question, answer = rendered("ccloze")
    assert "[...]" in question and "ridge point" in answer
    nid = note_id_for(col, synthetic[0].cards[2].guid)
    assert len(col.find_cards(f"nid:{nid}")) == 2  # one card per highlight


def test_multiple_choice_marks_the_correct_option_on_the_back(synthetic):
    _graph, _col, rendered, _, _ = synthetic
    question, answer = rendered("cchoice")
    assert question.count("<li") == 3 and "df-correct" not in question
    assert '<li class="df-correct">GEMV' in answer
    _q, unknown = rendered("cunknown")
    assert "not recovered" in unknown and "needs-review" in unknown


def test_flags_and_reasons_are_visible_on_the_back(synthetic):
    _graph, _col, rendered, _, _ = synthetic
    question, answer = rendered("cflag")
    assert "claim-mismatch" in answer and "divide the error by 4, not 2" in answer
    assert "claim-mismatch" not in question
    assert 'href="https://example.org/repo/blob/main/sources/notes.md#L7"' in answer


def test_images_are_packaged_and_missing_ones_show_a_placeholder(synthetic):
    _graph, col, rendered, problems, apkg = synthetic
    _question, answer = rendered("cimages")
    assert '<img src="diagram.png"' in answer
    assert "missing image: absent.png" in answer
    assert (Path(col.media.dir()) / "diagram.png").read_bytes() == PNG
    with zipfile.ZipFile(apkg) as archive:
        assert json.loads(archive.read("media")) == {"0": "diagram.png"}
    assert [(p.path, p.line, p.code) for p in problems] == [("sources/notes.md", 6, "missing-image")]
    assert "lecture_2" in col.get_note(note_id_for(col, synthetic[0].cards[5].guid)).tags


def test_empty_answer_shows_a_placeholder(synthetic):
    _graph, _col, rendered, _, _ = synthetic
    _question, answer = rendered("cempty")
    assert "No answer in the notes yet" in answer


def test_css_handles_night_mode_and_phones(synthetic):
    _graph, col, _rendered, _, _ = synthetic
    css = col.get_card(col.find_cards("")[0]).question().split("</style>")[0]
    assert ".nightMode" in css and ".night_mode" in css and "max-width: 480px" in css
    assert "@import" not in css and "url(" not in css  # nothing fetched at review time


def test_markdown_fast_paths_match_markdown_it():
    """Most card text skips the Markdown parser; what it renders must be exactly the parser's."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from deckforge.emit.anki import html

    tricky = st.sampled_from(
        list("aZ (1.)-+*:'\"/,;?%^_=é→α\\{}$[]&#|~>!<\n\t\u00a0\u200b") +
        ["$$", "\\frac{a}{b}", "$x$", "1.", "- ", "{{", "}}", "\\$", "$ x $", "A ", "$5",
         "Answer is ", "&amp;", "&copy;", "&#35;", "[a](b)", "[[x]]", "![[y]]", "~~~", "===",
         "---", "\n\n", "\n   ", "|a|b|", "> q", "\n#", "\n1. ", "http://a.b", "[x]: /u", "  \n",
         "\n- ", "W_Q", "_a", "a_", "x_{t}", "__", "$$x$$", "- $x$", "-  a", "- - a", "- 1. b",
         # the bold and code-span fast path
         "**a b**", "`c`", "**a**:", "`a`b", "**", "`", "***", "**`x`**", "\\*", "*a*"])
    texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)

    @settings(max_examples=1500, deadline=None)
    @given(texts | st.lists(tricky, max_size=14).map("".join))
    def check(text):
        text = text.strip()
        if not text:
            return
        fast = html._fast_html(text)
        if fast is not None:
            assert fast == html._MD.render(text).strip()

    check()
    for text in ("What is DDP in one line?", "Roofline (peak) vs. α·β: 3 × 2 = 6", '"quoted" & |x|'):
        assert html.is_plain(text)
    assert html._fast_html("Answer is $I = F/B$ here") == "<p>Answer is \\(I = F/B\\) here</p>"
    assert html._fast_html("Line one\nLine two") == "<p>Line one<br />\nLine two</p>"
    assert html._fast_html("- W_Q and $x$\n- b") == "<ul>\n<li>W_Q and \\(x\\)</li>\n<li>b</li>\n</ul>"
    assert not html.is_plain("![[diagram.png]]") and not html.is_plain("see [x](http://a)")


def test_note_types_have_fixed_ids():
    from deckforge.emit.anki import notetypes

    types = notetypes.note_types()
    assert {k: t.model.model_id for k, t in types.items()} == {
        "basic": 1_718_204_031, "cloze": 1_718_204_032, "choice": 1_718_204_033}
    assert types["basic"].fields == ("Question", "Answer", "Extra", "Source")
    assert types["cloze"].fields == ("Text", "Extra", "Source")
    assert types["choice"].fields == ("Question", "Options", "Answer", "Explanation", "Source")


def test_broken_lock_holds_the_deck_back(tmp_path):
    from deckforge.emit.anki import write_apkg

    config = synthetic_config(tmp_path)
    (tmp_path / "deckforge.lock").write_text("garbage line\n", "utf-8")
    graph = KnowledgeGraph(cards=(Card("c1", "basic", "Q", "A", span(1)),))
    graph, lock = apply_lock(graph, tmp_path / "deckforge.lock")
    problems: list = []
    assert write_apkg(graph, config, lock, problems=problems) is None
    assert [p.code for p in problems] == ["deck-not-written"]
    assert not (config.out_dir / "synthetic.apkg").exists()


def test_source_url_absent_means_plain_text_source(tmp_path):
    from deckforge.emit.anki.fields import source_html

    card = Card("c1", "basic", "Q", "A", span(3))
    assert source_html(card, None) == '<div class="df-from">From sources/notes.md:3</div>'
    config = replace(synthetic_config(tmp_path), repo_url="")
    assert source_html(card, config.source_url) == source_html(card, None)


def test_zip_bytes_do_not_depend_on_the_wall_clock(tmp_path, monkeypatch):
    from deckforge.emit.anki import write_apkg

    config = synthetic_config(tmp_path)
    graph = KnowledgeGraph(cards=(Card("c1", "basic", "Q", "A", span(1)),))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    outputs = []
    for _ in range(2):
        g, lock = apply_lock(graph, tmp_path / "none.lock")
        outputs.append(write_apkg(g, config, lock).read_bytes())
    assert outputs[0] == outputs[1]
    assert io.BytesIO(outputs[0]).getbuffer().nbytes > 0


# --- issue 12 pt 4: unfinished (needs-review) cards stay out of the study path ---------------

UNFINISHED_FLAG = Flag("needs-review", "the clipped markers did not say which option",
                       cause="no-correct-option")


def _unfinished_cards(fixed: bool) -> tuple[Card, ...]:
    """Two good cards and a quiz card whose correct option is unknown (fixed: recovered)."""
    quiz = Card("cquiz", "multiple-choice", "Which kernel is memory-bound?", "", span(2),
                deck=("Course", "Quiz 1"), options=("GEMM at 8192³", "GEMV"),
                correct=(1,) if fixed else (), flags=() if fixed else (UNFINISHED_FLAG,))
    return (Card("cgood", "basic", "What is the ridge point?", "Where the roofs meet.", span(1),
                 deck=("Course", "Quiz 1")),
            quiz,
            Card("cother", "basic", "What does a KV cache store?", "Keys and values.", span(3),
                 deck=("Course", "Lecture 2")))


def _build_unfinished(tmp: Path, fixed: bool, out: str):
    """Build the three cards with a persistent lock (as `deckforge build` does)."""
    from deckforge.emit.anki import write_apkg
    from deckforge.lock import write_lock

    config = replace(synthetic_config(tmp), out_dir=tmp / out)
    graph, lock = apply_lock(KnowledgeGraph(cards=_unfinished_cards(fixed)), tmp / "deckforge.lock")
    apkg = write_apkg(graph, config, lock)
    write_lock(lock, tmp / "deckforge.lock")
    return {c.id: c for c in graph.cards}, apkg


def _deck_of(col: Collection, cid: int) -> str:
    return col.decks.name(col.get_card(cid).did)


def _study_all(col: Collection, deck: str) -> list[str]:
    """What a student studying `deck` is shown: answer every card the scheduler offers."""
    col.decks.select(col.decks.id(deck))
    seen = []
    while (card := col.sched.getCard()) is not None:
        seen.append(col.get_note(card.nid).guid)
        card.start_timer()
        col.sched.answerCard(card, 4)
    return seen


def test_a_suspended_card_in_the_package_does_not_survive_default_import(tmp_path):
    """Why deckforge does not suspend: Anki's default import (no "import any learning
    progress") resets every imported card to new, suspension included."""
    cards, apkg = _build_unfinished(tmp_path, fixed=False, out="build")
    data = {}
    with zipfile.ZipFile(apkg) as archive:
        for name in archive.namelist():
            data[name] = archive.read(name)
    db = tmp_path / "patched.anki2"
    db.write_bytes(data["collection.anki2"])
    conn = sqlite3.connect(db)
    conn.execute("update cards set queue = -1 where nid = (select id from notes where guid = ?)",
                 (cards["cquiz"].guid,))
    conn.commit()
    conn.close()
    data["collection.anki2"] = db.read_bytes()
    patched = tmp_path / "suspended.apkg"
    with zipfile.ZipFile(patched, "w") as archive:
        for name, blob in data.items():
            archive.writestr(name, blob)
    col = new_collection(tmp_path / "col")
    try:
        import_apkg(col, patched)
        cid = col.find_cards(f"nid:{note_id_for(col, cards['cquiz'].guid)}")[0]
        assert col.get_card(cid).queue == 0, "default import unsuspends"
        col2 = new_collection(tmp_path / "col2")
        try:
            col2.import_anki_package(ImportAnkiPackageRequest(
                package_path=str(patched), options=ImportAnkiPackageOptions(with_scheduling=True)))
            cid2 = col2.find_cards(f"nid:{note_id_for(col2, cards['cquiz'].guid)}")[0]
            assert col2.get_card(cid2).queue == -1, "only 'import learning progress' keeps it"
        finally:
            col2.close()
    finally:
        col.close()


def test_unfinished_cards_are_not_studied_and_their_fix_updates_in_place(tmp_path):
    cards, apkg = _build_unfinished(tmp_path, fixed=False, out="build-1")
    col = new_collection(tmp_path / "col")
    try:
        import_apkg(col, apkg)  # Anki's defaults
        nids = {k: note_id_for(col, c.guid) for k, c in cards.items()}
        cids = {k: col.find_cards(f"nid:{nid}")[0] for k, nid in nids.items()}
        assert _deck_of(col, cids["cquiz"]) == "Needs review::Course::Quiz 1"
        assert _deck_of(col, cids["cgood"]) == "Course::Quiz 1"
        assert "flag::needs-review" in col.get_note(nids["cquiz"]).tags

        # What the student sees: studying the course shows every finished card, never the quiz.
        col.decks.select(col.decks.id("Course"))
        assert col.sched.counts()[0] == 2
        assert sorted(_study_all(col, "Course")) == sorted([cards["cgood"].guid, cards["cother"].guid])
        # By choice, the student can still open the Needs review deck and study it there.
        assert _study_all(col, "Needs review") == [cards["cquiz"].guid]
        history = {k: (col.get_card(c).reps, col.get_card(c).ivl) for k, c in cids.items()}
        revlog = col.db.scalar("select count() from revlog")
        notes = col.note_count()

        # The fixed version (correct option recovered, flag gone), imported with the defaults.
        fixed, apkg2 = _build_unfinished(tmp_path, fixed=True, out="build-2")
        assert {k: c.guid for k, c in fixed.items()} == {k: c.guid for k, c in cards.items()}
        result = import_apkg(col, apkg2)
        assert {n.id.nid for n in result.log.updated} == {nids["cquiz"]}  # in place, nothing else
        assert not result.log.new and col.note_count() == notes  # no duplicate
        note = col.get_note(nids["cquiz"])
        assert "df-correct" in note.fields[2] and "flag::needs-review" not in note.tags
        assert col.find_cards(f"nid:{nids['cquiz']}") == [cids["cquiz"]]  # the same card
        after = {k: (col.get_card(c).reps, col.get_card(c).ivl) for k, c in cids.items()}
        assert after == history and col.db.scalar("select count() from revlog") == revlog
        # Anki never moves a card the user already has: the fixed card waits in Needs review,
        # found with the search docs/anki.md gives, until the user moves it (history kept).
        assert _deck_of(col, cids["cquiz"]) == "Needs review::Course::Quiz 1"
        fixed_cards = col.find_cards('deck:"Needs review" -tag:flag::needs-review')
        assert fixed_cards == [cids["cquiz"]]
        col.set_deck(fixed_cards, col.decks.id("Course::Quiz 1"))
        assert _deck_of(col, cids["cquiz"]) == "Course::Quiz 1"
        assert col.get_card(cids["cquiz"]).reps == history["cquiz"][0]

        # A student who first imports the fixed deck gets the card in its course deck.
        fresh = new_collection(tmp_path / "fresh")
        try:
            import_apkg(fresh, apkg2)
            fresh_cid = fresh.find_cards(f"nid:{note_id_for(fresh, cards['cquiz'].guid)}")[0]
            assert _deck_of(fresh, fresh_cid) == "Course::Quiz 1"
            assert not fresh.decks.id_for_name("Needs review")
        finally:
            fresh.close()
    finally:
        col.close()
