"""deckforge.lock: GUIDs survive rewording, mtimes move only with content, bad locks are loud."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deckforge import lock as lockfile
from deckforge.lock import FUZZY_THRESHOLD, apply_lock, parse_lock, read_lock, write_lock
from deckforge.model import Card, KnowledgeGraph, SourceSpan, card_id

ROOT = Path(__file__).resolve().parents[1]


def card(question: str, answer: str = "an answer", section: str = "Lecture 1") -> Card:
    return Card(card_id(question, section), "basic", question, answer,
                (SourceSpan("sources/n.txt", 1, 1),), deck=("Course", section))


def graph(*cards: Card) -> KnowledgeGraph:
    return KnowledgeGraph(cards=tuple(cards))


def build_lock(path: Path, *cards: Card, hashes: dict[str, str] | None = None):
    """apply + stamp (what the Anki emitter does) + write: one build's effect on the lock."""
    g, lock = apply_lock(graph(*cards), path)
    for c in g.cards:
        lock.stamp(c.id, (hashes or {}).get(c.id) or _digest(c.answer))
    write_lock(lock, path)
    return g, lock


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


@pytest.fixture()
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / "deckforge.lock"


def test_format_is_sorted_tsv_with_a_header(lock_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    build_lock(lock_path, card("Zeta question"), card("Alpha question"), card("Mid\tquestion\nline"))
    lines = lock_path.read_text("utf-8").splitlines()
    assert lines[-1].startswith("# end: 3 entries, sha256 ")  # the trailer (issue 16)
    lines = lines[:-1]
    header = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if not ln.startswith("#")]
    assert header and lines[: len(header)] == header
    assert body == sorted(body) and len(body) == 3
    for line in body:
        cid, guid, digest, mtime, source, question = line.split("\t")
        assert mtime == "1700000000" and len(digest) == 16 and "\n" not in question
        assert source == "sources/n.txt"
    assert "Mid question line" in lock_path.read_text("utf-8")


def test_unchanged_cards_keep_their_mtime_and_the_file_is_identical(lock_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    cards = (card("What is DDP?"), card("What is a roofline?"))
    build_lock(lock_path, *cards)
    first = lock_path.read_text("utf-8")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    build_lock(lock_path, *cards)
    assert lock_path.read_text("utf-8") == first


def test_changed_content_moves_mtime_monotonically(lock_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    g1, _ = build_lock(lock_path, card("What is DDP?", "old"), card("Other", "same"))
    # The clock did not move (SOURCE_DATE_EPOCH pinned): the mtime still has to grow.
    g2, lock = build_lock(lock_path, card("What is DDP?", "new"), card("Other", "same"))
    assert lock.entries[g2.cards[0].id].mtime == 1700000001
    assert lock.entries[g2.cards[1].id].mtime == 1700000000
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")
    g3, lock = build_lock(lock_path, card("What is DDP?", "newer"), card("Other", "same"))
    assert lock.entries[g3.cards[0].id].mtime == 1750000000
    assert g1.cards[0].guid == g2.cards[0].guid == g3.cards[0].guid


def test_wall_clock_is_used_without_source_date_epoch(lock_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.setattr(lockfile.time, "time", lambda: 1_234_567_890.5)
    _, lock = build_lock(lock_path, card("What is DDP?"))
    assert {e.mtime for e in lock.entries.values()} == {1_234_567_890}


def test_reworded_question_keeps_its_guid(lock_path):
    g1, _ = build_lock(lock_path, card("How does DINO achieve invariance?"), card("What is DINO?"))
    g2, lock = build_lock(lock_path, card("How does DINO achieve its invariance?"),
                          card("What is DINO?"))
    assert g2.cards[0].id != g1.cards[0].id
    assert g2.cards[0].guid == g1.cards[0].guid
    assert lock.matched == {g2.cards[0].id: g1.cards[0].id}
    assert g1.cards[0].id not in lock.entries  # the old id is gone: no GUID is held twice
    assert lock.entries[g2.cards[0].id].mtime >= lock.previous[g1.cards[0].id].mtime


def test_a_different_question_gets_a_new_guid(lock_path):
    g1, _ = build_lock(lock_path, card("How does DINO achieve invariance?"))
    g2, lock = build_lock(lock_path, card("What is the ridge point of a roofline?"))
    assert g2.cards[0].guid != g1.cards[0].guid and not lock.matched


def test_fuzzy_matching_is_one_to_one_and_best_first(lock_path):
    old = (card("What is the KV cache size formula?"), card("What is the KV cache decode cost?"))
    g1, _ = build_lock(lock_path, *old)
    new = (card("What is the KV-cache decode cost?"), card("What is the KV-cache size formula?"))
    g2, _ = build_lock(lock_path, *new)
    assert g2.cards[0].guid == g1.cards[1].guid
    assert g2.cards[1].guid == g1.cards[0].guid


def test_threshold_is_documented_and_sane():
    from rapidfuzz import fuzz

    from deckforge.model import normalize_key

    assert 70 <= FUZZY_THRESHOLD <= 95
    typo = fuzz.ratio(normalize_key("Sigmoid derivativ"), normalize_key("Sigmoid derivative"))
    other = fuzz.ratio(normalize_key("Sigmoid derivative"), normalize_key("ReLU derivative"))
    assert typo >= FUZZY_THRESHOLD > other


def test_fresh_guid_is_salted_when_taken(lock_path):
    """A reworded card keeps the old GUID; a new card reusing the *old wording* must not collide."""
    original = card("How does DINO achieve invariance?")
    build_lock(lock_path, original)
    build_lock(lock_path, card("How does DINO achieve its invariance?"))
    g3, lock = build_lock(lock_path, card("How does DINO achieve its invariance?"), original)
    guids = [c.guid for c in g3.cards]
    assert len(set(guids)) == 2 and guids[1] != lockfile.genanki.guid_for(original.id)


@pytest.mark.parametrize("bad, needle", [
    ("c1\tG1\tabcdef0123456789\t1700000000\n", "expected 5 tab-separated columns"),
    ("c1\tG1\tnot-hex!\t1700000000\tQ\n", "is not hexadecimal"),
    ("c1\tG1\tabcdef0123456789\tyesterday\tQ\n", "not a whole number"),
    ("c1\tG 1\tabcdef0123456789\t1\tQ\n", "malformed GUID"),
])
def test_unparsable_line_is_reported_with_its_line(bad, needle):
    text = lockfile.HEADER_V1 + "c0\tG0\tabcdef0123456789\t1700000000\tfine\n" + bad
    entries, errors = parse_lock(text)
    assert list(entries) == ["c0"]
    assert len(errors) == 1 and needle in errors[0].message
    assert errors[0].line == text.count("\n")  # the last line
    assert errors[0].level == "error" and str(errors[0]).startswith(f"deckforge.lock:{errors[0].line}:")


def test_two_ids_with_one_guid_is_a_conflict():
    text = ("c1\tSAME\tabcdef0123456789\t1\tQ one\n"
            "c2\tSAME\tabcdef0123456789\t1\tQ two\n"
            "c1\tOTHER\tabcdef0123456789\t1\tQ one again\n")
    _entries, errors = parse_lock(text)
    assert [e.line for e in errors] == [2, 3]
    assert "c1 (line 1) and c2" in errors[0].message
    assert "appears twice (also on line 1)" in errors[1].message


def test_a_broken_lock_is_never_overwritten(lock_path):
    build_lock(lock_path, card("What is DDP?"))
    corrupt = lock_path.read_text("utf-8") + "this line is not a lock line\n"
    lock_path.write_text(corrupt, "utf-8")
    g, lock = apply_lock(graph(card("What is DDP?")), lock_path)
    assert lock.broken
    assert any(d.code == "lock-corrupt" and d.level == "error" for d in g.diagnostics)
    assert write_lock(lock, lock_path) is None
    assert lock_path.read_text("utf-8") == corrupt
    assert not lock_path.with_name("deckforge.lock.bak").exists()


def test_recover_mode_backs_up_before_overwriting(lock_path):
    g1, _ = build_lock(lock_path, card("What is DDP?"))
    corrupt = lock_path.read_text("utf-8") + "garbage\n"
    lock_path.write_text(corrupt, "utf-8")
    g, lock = apply_lock(graph(card("What is DDP?")), lock_path, recover=True)
    assert not lock.broken and g.cards[0].guid == g1.cards[0].guid
    lock.stamp(g.cards[0].id, _digest("an answer"))
    write_lock(lock, lock_path)
    assert lock_path.with_name("deckforge.lock.bak").read_text("utf-8") == corrupt
    assert "garbage" not in lock_path.read_text("utf-8")
    assert not read_lock(lock_path).errors


def test_write_is_atomic(lock_path):
    build_lock(lock_path, card("What is DDP?"))
    assert [p.name for p in lock_path.parent.iterdir()] == ["deckforge.lock"]


def test_build_with_a_corrupt_lock_fails_loudly_and_keeps_the_lock(tmp_path):
    from deckforge.build import run_build

    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(ROOT / "sources", project / "sources")
    shutil.copytree(ROOT / "snippets", project / "snippets",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    report = run_build(root=project, out=project / "build", with_site=False)
    lock = project / "deckforge.lock"
    text = lock.read_text("utf-8").splitlines(keepends=True)
    body = [i for i, ln in enumerate(text) if not ln.startswith("#")]
    text[body[1]] = text[body[0]]  # a duplicated line: same id and GUID twice
    lock.write_text("".join(text), "utf-8")
    before = lock.read_bytes()
    report = run_build(root=project, out=project / "build2", with_site=False)
    errors = [d for d in report.graph.diagnostics if d.level == "error"]
    assert any(d.path == "deckforge.lock" and d.line == body[1] + 1 for d in errors), errors
    assert report.exit_code(strict=False) == 1
    assert lock.read_bytes() == before
    assert not (project / "build2" / "deckforge.apkg").exists()


def test_guid_for_is_genankis():
    import genanki

    for values in (("c0123456789ab",), ("c0123456789ab", 1), ("x",), ("",)):
        assert lockfile.guid_for(*values) == genanki.guid_for(*values)
    for i in range(3000):
        assert lockfile.guid_for(f"c{i:012x}") == genanki.guid_for(f"c{i:012x}")


def test_odd_whitespace_in_a_question_keeps_one_line_per_card(lock_path):
    build_lock(lock_path, card("Line\u2028separator\x1cand\u00a0more"), card("Plain"))
    entries, errors = parse_lock(lock_path.read_text("utf-8"))
    assert not errors and len(entries) == 2
    assert {e.question for e in entries.values()} == {"Line separator and more", "Plain"}


# --- identity never crosses note files (issue 13) -----------------------------------------


def card_in(path: str, question: str, section: str = "Lecture 1") -> Card:
    return Card(card_id(question, section), "basic", question, "an answer",
                (SourceSpan(path, 1, 1),), deck=("Course", section))


def test_a_reworded_card_keeps_its_guid_within_its_file(lock_path):
    first, _ = build_lock(lock_path, card_in("sources/a.txt", "Derivative of the sigmoid function"))
    second, lock = build_lock(lock_path, card_in("sources/a.txt", "Derivative of the sigmoid functon"))
    assert second.cards[0].guid == first.cards[0].guid
    assert lock.matched


def test_a_similar_card_of_another_file_gets_its_own_guid(lock_path):
    """The card of file a.txt is gone; b.txt gains a card worded almost the same: that is
    another card, and inheriting a.txt's GUID would overwrite its note in users' collections."""
    first, _ = build_lock(lock_path, card_in("sources/a.txt", "Derivative of the sigmoid function"))
    second, lock = build_lock(lock_path, card_in("sources/b.txt", "Derivative of the sigmoid functon"))
    assert second.cards[0].guid != first.cards[0].guid
    assert not lock.matched


@pytest.mark.parametrize("version", [1, 2])
def test_a_lock_of_formats_1_and_2_is_read_and_rewritten_as_format_3(lock_path, version):
    """Locks written before the source column (format 1: no trailer; format 2: retired entries
    and a trailer) keep every GUID and retired mark, and gain the source column and trailer."""
    a = card_in("sources/a.txt", "What is the sigmoid?")
    body = (f"{a.id}\tGUIDa\tabcdef0123456789\t1700000000\t{a.question}\n"
            "gone\tGUIDg\tabcdef0123456789\t1700000000\tOld question\tretired:2026-01-02\n")
    if version == 1:
        text = lockfile.HEADER_V1 + body
    else:
        text = lockfile.HEADER_V2 + body + lockfile.trailer(2, body)
    lock_path.write_text(text, "utf-8")
    entries, errors = parse_lock(text)
    assert not errors and entries[a.id].source == "" and entries["gone"].retired == "2026-01-02"
    graph, lock = apply_lock(KnowledgeGraph(cards=(a,)), lock_path)
    assert graph.cards[0].guid == "GUIDa"
    write_lock(lock)
    written = lock_path.read_text("utf-8")
    assert "(format 3)" in written.splitlines()[0]
    entries, errors = parse_lock(written)
    assert not errors
    assert (entries[a.id].guid, entries[a.id].source) == ("GUIDa", "sources/a.txt")
    assert (entries["gone"].guid, entries["gone"].retired, entries["gone"].source) == \
        ("GUIDg", "2026-01-02", "")
    assert f"{a.id}\tGUIDa\t" in written and "\tsources/a.txt\t" in written


def test_a_format_3_line_without_its_source_column_is_refused(lock_path):
    body = "c1\tG1\tabcdef0123456789\t1700000000\tOld question\n"
    _entries, errors = parse_lock(lockfile.HEADER + body + lockfile.trailer(1, body))
    assert [d.code for d in errors] == ["lock-corrupt"]
    assert "expected 6 tab-separated columns" in errors[0].message
