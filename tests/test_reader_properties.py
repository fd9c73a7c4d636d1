"""Property tests: every reader survives whatever a sources/ folder may hold.

Arbitrary text, text built from the syntax of all five styles, invalid UTF-8, a 10 MB single
line, an empty file and a binary file: each reader returns items with real spans and/or
diagnostics naming file:line, and never raises. Then the same through `read_sources` on a temp
sources folder, and through `deckforge build`: a bad file next to good ones still builds the
good ones (exit 0), `--strict` turns the warning into exit 1.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deckforge import readers
from deckforge.config import load_config
from deckforge.pipeline import decode, read_sources

ROOT = Path(__file__).resolve().parents[1]
READERS = readers._readers()
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of every style, so generated text reaches the readers' deeper branches.
FRAGMENTS = [
    "........", ".........", "..........", "Q1a", "Q 1b:", "Quiz 2 Q1a — \"", "Q3 Q1 b:",
    "LECTURE 3 — ROOFLINE", "✅ QUIZ 4 - X", "⸻", "FLIP TO QUESTION; THIS IS ANSWER", "A)", "B)",
    "1/47", "No analytics yet", "What is x?", "Explain the idea of y.", "Formula:",
    "Question 1", "0 / 1 pts", "1 / 1 pts", "swer", "wer", "ered", "ed", "ct!", "Answer", "O ",
    "Recap (Lecture 2: P1)", "Batch Normalization", "- ", " - ", "$$x$$", "$a$", "$$", "$",
    "# H", "## Why?", "==hi==", "==", "[[a#b|c]]", "![[img.png|600]]", "[[", "]]", "**t**: d",
    "```", "\t", "1. ", "    ", "?", ":", "(", ")", "\x00", "\ufffd", "\r", "é", "∑", "|---|",
]
texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12),
                           st.just("\n"), st.just("\n\n")), max_size=40).map("".join)


def check(result, text: str, path: str) -> None:
    """The reader contract: items with a question and a span on the file's real lines;
    diagnostics naming this file and a line in it."""
    n_lines = text.count("\n") + 1  # lines as editors number them
    for item in result.items:
        assert item.question.strip(), item
        assert item.span.path == path
        assert 1 <= item.span.line <= item.span.end_line <= n_lines, (item.span, n_lines)
        assert all(0 <= i < len(item.options) for i in item.correct)
    for diag in result.diagnostics:
        assert diag.path == path and 1 <= diag.line <= n_lines, diag
        assert diag.message


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.NAME)
@PROPS
@given(text=st.text(max_size=400))
def test_any_text(reader, text):
    assert 0.0 <= reader.sniff(text) <= 1.0
    check(reader.read(text, "s/any.txt"), text, "s/any.txt")


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.NAME)
@PROPS
@given(text=texts)
def test_text_made_of_every_style(reader, text):
    assert 0.0 <= reader.sniff(text) <= 1.0
    check(reader.read(text, "s/mix.txt"), text, "s/mix.txt")


@PROPS
@given(data=st.binary(max_size=300))
def test_invalid_utf8_bytes(data):
    text, diags = decode(data, "s/bytes.txt")
    for d in diags:
        assert d.path == "s/bytes.txt" and d.line >= 1 and d.code in ("invalid-utf8", "binary-file")
    if text is None:
        assert diags and diags[0].code == "binary-file"
        return
    for reader in READERS:
        check(reader.read(text, "s/bytes.txt"), text, "s/bytes.txt")


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.NAME)
def test_ten_megabyte_single_line(reader):
    line = ("What is [[x ==y $z ** Question 1 ? - a.......b " * 220_000)[:10_000_000]
    result = reader.read(line, "s/big.txt")
    check(result, line, "s/big.txt")


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.NAME)
def test_empty_file(reader):
    for text in ("", "\n\n", "   \t\n"):
        result = reader.read(text, "s/empty.txt")
        assert result.items == [] and all(d.line == 1 for d in result.diagnostics)


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.NAME)
def test_binary_file_forced_onto_a_reader(reader):
    """decode() skips binary files; a reader handed one anyway (a forced style) still copes."""
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 64 + b"\xff\xfe\x00\n" * 50
    text = data.decode("utf-8", errors="replace")
    check(reader.read(text, "s/bin.png"), text, "s/bin.png")


def _bad_files(folder: Path) -> dict[str, bytes]:
    files = {
        "binary.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "latin1.txt": "Qu\xe9 es?........respuesta\n".encode("latin-1"),
        "empty.txt": b"",
        "big.txt": b"x" * 10_000_000,
        "random.md": bytes(range(32, 127)) * 40,
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def test_read_sources_on_a_folder_of_bad_files(tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    files = _bad_files(sources)
    shutil.copy(ROOT / "sources" / "cs242-systems-flashcards.txt", sources / "good.txt")
    graph = read_sources(load_config(tmp_path, sources=sources, out=tmp_path / "build"))
    named = {d.path for d in graph.diagnostics}
    with_items = {it.span.path for it in graph.raw_items}
    for name in files:  # every bad file gives items or a diagnostic naming it
        assert f"sources/{name}" in named | with_items, name
    assert all(d.line >= 1 for d in graph.diagnostics)
    codes = {(d.path, d.code, d.line) for d in graph.diagnostics}
    assert ("sources/binary.txt", "binary-file", 1) in codes
    assert ("sources/latin1.txt", "invalid-utf8", 1) in codes
    assert ("sources/empty.txt", "empty-file", 1) in codes
    assert sum(it.span.path == "sources/good.txt" for it in graph.raw_items) == 241


# A note with nothing to warn about: the control that --strict passes when the notes are clean.
CLEAN_NOTE = (
    "What does the roofline model plot?........Attainable FLOP/s against arithmetic intensity.\n"
    "What does a KV cache store?........The keys and values of earlier tokens, so decoding "
    "does not recompute them.\n"
)


def _project(tmp_path: Path, name: str, files: dict[str, bytes]) -> Path:
    project = tmp_path / name
    (project / "sources").mkdir(parents=True)
    shutil.copytree(ROOT / "snippets", project / "snippets")
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    for file, data in files.items():
        (project / "sources" / file).write_bytes(data)
    return project


def test_cli_builds_the_good_files_next_to_a_bad_one(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from deckforge.cli import main

    bundled = {name: (ROOT / "sources" / name).read_bytes()
               for name in ("cs242-systems-flashcards.txt", "ml-systems-reading-quizzes.txt")}
    broken = {"broken.txt": b"\x00\x01\x02 not a note \xff\xfe"}
    projects = {"clean": {"clean.txt": CLEAN_NOTE.encode()}, "clean+bad": {"clean.txt": CLEAN_NOTE.encode(), **broken},
                "good": bundled, "good+bad": {**bundled, **broken}}
    runner = CliRunner()
    results = {}
    for name, files in projects.items():
        monkeypatch.chdir(_project(tmp_path, name, files))
        for strict in (False, True):
            out = tmp_path / f"out-{name}-{strict}"
            args = ["build", "--no-site", "-q", "--out", str(out)] + (["--strict"] if strict else [])
            run = runner.invoke(main, args, catch_exceptions=False)
            results[name, strict] = (run.exit_code, run.output, out)
    # control: clean notes build under --strict; the bad file alone is what makes --strict fail
    assert results["clean", True][0] == 0, results["clean", True][1]
    assert results["clean+bad", True][0] == 1
    code, output, out = results["good+bad", False]
    assert code == 0, output
    assert "sources/broken.txt:1:1: warning: binary-file" in output
    # the bad file adds its own warning and changes nothing about the good files' findings
    def findings(text: str) -> set[str]:
        return {line for line in text.splitlines() if line.startswith("sources/")}
    assert findings(output) - findings(results["good", False][1]) == {
        line for line in findings(output) if line.startswith("sources/broken.txt")}
    graph = json.loads((out / "graph.json").read_text("utf-8"))
    paths = {s["path"] for card in graph["cards"] for s in card["sources"]}
    assert paths == {"sources/cs242-systems-flashcards.txt", "sources/ml-systems-reading-quizzes.txt"}
    assert results["good+bad", True][0] == 1
    assert not (ROOT / "sources" / "broken.txt").exists()
