"""The five readers on the real notes in sources/: counts, specific items with their lines,
structure never becoming items, labels, multi-line questions, recovered quiz answers,
cloze / definition items and the warnings with file:line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deckforge import readers
from deckforge.config import load_config
from deckforge.pipeline import choose_reader, decode, read_sources
from deckforge.readers import alternating, dotted, lms_quiz, obsidian, slides

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "sources"
DOTTED = "sources/cs242-systems-flashcards.txt"
ALTERNATING = "sources/transformers-flashcards-export.txt"
SLIDES = "sources/efficient-dl-midterm-recap.txt"
QUIZ = "sources/ml-systems-reading-quizzes.txt"
NOTES = "sources/cs336-lecture-notes.md"
STYLE_OF = {DOTTED: "dotted", ALTERNATING: "alternating", SLIDES: "slides", QUIZ: "lms_quiz",
            NOTES: "obsidian"}


def _text(rel: str) -> str:
    return (ROOT / rel).read_text("utf-8")


def _lines(rel: str) -> list[str]:
    return _text(rel).splitlines()


@pytest.fixture(scope="module")
def read():
    cache = {}

    def run(rel: str):
        if rel not in cache:
            reader = readers.get_reader(STYLE_OF[rel])
            cache[rel] = reader.read(_text(rel), rel, folder=(ROOT / rel).parent)
        return cache[rel]

    return run


def _at(result, line: int):
    found = [it for it in result.items if it.span.line == line]
    assert found, f"no item starts at line {line}"
    return found[0]


# ------------------------------------------------------------------ every file
@pytest.mark.parametrize("rel", sorted(STYLE_OF))
def test_sniffing_picks_the_right_reader_from_content_alone(rel):
    assert readers.sniff(_text(rel)).NAME == STYLE_OF[rel]
    assert readers.sniff(_text(rel), Path(rel).name).NAME == STYLE_OF[rel]


@pytest.mark.parametrize("rel", sorted(STYLE_OF))
def test_every_item_has_a_question_and_a_real_span(rel, read):
    result = read(rel)
    lines = _lines(rel)
    assert result.items
    for item in result.items:
        assert item.question.strip(), item
        assert item.span.path == rel
        assert 1 <= item.span.line <= item.span.end_line <= len(lines)
        # the span starts on a line that holds text of the item, never on a blank line
        assert lines[item.span.line - 1].strip(), item.span
        assert item.reader == STYLE_OF[rel]


def test_read_sources_reads_all_five_files_with_the_right_readers():
    graph = read_sources(load_config(ROOT))
    by_path = {s.path: s for s in graph.sources}
    assert {p: s.reader for p, s in by_path.items()} == STYLE_OF
    assert {p: s.raw_items for p, s in by_path.items()} == {
        DOTTED: 241, ALTERNATING: 48, SLIDES: 43, QUIZ: 9, NOTES: 48}


# ------------------------------------------------------------------ dotted
HEADER_LINES = {53, 66, 67, 87, 101, 120, 148, 157, 165, 170, 180, 190, 202}


def test_dotted_headers_and_separators_are_structure_not_items(read):
    result = read(DOTTED)
    lines = _lines(DOTTED)
    for n in HEADER_LINES:  # the test data really are headers
        assert re.search(r"LECTURE|QUIZ|FINAL FORMULAS|⸻", lines[n - 1]), n
    starts = {line for it in result.items for line in range(it.span.line, it.span.end_line + 1)}
    assert not starts & (HEADER_LINES | {128, 194}), "a header or separator line became an item"
    assert not [it for it in result.items if re.match(r"(LECTURE|✅|⚙|⸻|FINAL FORMULAS)", it.question)]


def test_dotted_sections_come_from_the_headers_above(read):
    result = read(DOTTED)
    assert _at(result, 1).section == ()
    assert _at(result, 54).section == ("Lecture 1 — Course Overview & AI Basics",)
    assert _at(result, 88).section == ("Lecture 3 — Memory Hierarchy & Roofline Model",)
    assert _at(result, 123).section == ("Final Formulas & LAWS Cheat Block",)
    assert _at(result, 129).section == ()  # the bare `........` line ended the cheat block
    assert _at(result, 158).section == ("Lecture 10 — Flashattention & Speculative Decoding",)


def test_dotted_ninth_dot_belongs_to_the_question_and_answers_are_kept(read):
    result = read(DOTTED)
    roofline = _at(result, 6)
    assert (roofline.question, roofline.answer) == ("Define arithmetic intensity (roofline).", "see image")
    assert _at(result, 56).question == "Define an AI model in one line."
    assert _at(result, 39).answer == ""  # KD dual-loss formula: left for the repair pass
    assert _at(result, 173).question == "SimCLR objective formula." and _at(result, 173).answer == ""


def test_dotted_labels_are_normalized_and_take_their_quiz(read):
    result = read(DOTTED)
    ridge = _at(result, 7)
    assert ridge.label == "Quiz 2 Q1a" and ridge.section == ("Quiz 2",)
    assert ridge.question == "At the ridge point, alpha = Peak FLOP/s / Peak BW"
    assert _at(result, 4).label == "Quiz 3 Q1b"  # `Q3 Q1 b:` = quiz 3, question 1b
    assert _at(result, 4).question.startswith("In DDP, each GPU must receive")
    quiz4 = "Quiz 4 — Distillation, Depthwise CONV, Transformer Basics"
    bare = _at(result, 193)  # `Q1c........True — …` under `✅ QUIZ 4 - …`
    assert bare.label == "Quiz 4 Q1c" and bare.section == (quiz4,)
    assert bare.question == "Quiz 4 Q1c" and bare.needs_review and bare.cause == "bare-label"
    assert _at(result, 214).label == "Quiz 5 Q2a"
    # after the quiz block ended, a repeat of Quiz 4 Q1a (same answer) finds its quiz
    full = _at(result, 220)
    assert full.label == "Quiz 4 Q1a" and full.section == (quiz4,)
    assert full.question.startswith("We can conduct post-training pruning")
    assert _at(result, 230).label == "Quiz 5 Q1a"  # `Q1aQ 1a: …`
    assert _at(result, 238).label == "Quiz 5 Q1b"  # `Q1b . T/F: …`
    assert _at(result, 248).label == "Quiz 6 Q1a"


def test_dotted_multi_line_questions_are_one_item(read):
    result = read(DOTTED)
    saving = _at(result, 196)
    assert (saving.span.line, saving.span.end_line) == (196, 199)
    assert saving.label == "Quiz 4 Q2c"
    # the statement is the question; the setup pasted below it is the quiz's shared stem
    assert saving.question == "The saving increases as k increases."
    assert "(1) depthwise kxk convolutions and" in saving.context
    assert "Please indicate" not in saving.context + saving.question
    assert saving.answer == "True — Savings increase as spatial filter size increases."
    dims = _at(result, 203)
    assert (dims.span.line, dims.span.end_line) == (203, 207) and dims.label == "Quiz 5 Q1a"
    assert dims.question.startswith("Consider the linear projection matrices Qw and Qk")
    assert "Q1:" not in dims.question and not dims.question.startswith("Q")
    assert dims.context.startswith("We have learned about the Transformer")
    for it in result.items:  # no item starts inside another one
        assert not [o for o in result.items if o is not it and o.span.line < it.span.line <= o.span.end_line]


def test_dotted_flip_line_reverses_the_next_item(read):
    item = _at(read(DOTTED), 82)
    assert (item.span.line, item.span.end_line) == (82, 84)
    assert item.answer == "From the TOP of array"
    assert item.question.startswith("A) Results are output from the right side")
    assert item.question.endswith("as shown by diagram (b) above.")


def test_dotted_reports_lines_without_a_separator():
    result = dotted.read("Q........A\njust a stray line\nLECTURE 2 — X........\n", "n.txt")
    assert [(d.line, d.code) for d in result.diagnostics] == [(2, "dotted-no-separator")]
    assert [it.question for it in result.items] == ["Q"]


# ------------------------------------------------------------------ alternating
def test_alternating_export_yields_46_to_48_items_and_skips_the_header(read):
    result = read(ALTERNATING)
    assert 46 <= len(result.items) <= 48
    assert len(result.items) == 48  # every question line was checked by hand
    first, last = result.items[0], result.items[-1]
    assert (first.span.line, first.span.end_line) == (7, 8)
    assert first.question.startswith("What is the primary limitation of static/shallow")
    assert (last.span.line, last.span.end_line) == (177, 180)
    junk = {"1/47", "Looks like no tags are added yet.", "No analytics yet", "|---|"}
    for it in result.items:
        assert not junk & set(it.question.splitlines() + it.answer.splitlines())
        assert "Mastery" not in it.question + it.answer


def test_alternating_keeps_multi_line_answers_together(read):
    result = read(ALTERNATING)
    attention = _at(result, 26)  # the "Where weights are calculated … :" line is an answer line
    assert attention.span.end_line == 29
    assert "Where weights are calculated via a softmax" in attention.answer
    stacks = _at(result, 74)
    assert stacks.span.end_line == 79 and len(stacks.answer.splitlines()) == 5
    assert _at(result, 137).answer.startswith("ltering Heads")  # kept verbatim for normalize


def test_alternating_question_rule_on_every_question_line(read):
    result = read(ALTERNATING)
    questions = {it.span.line for it in result.items}
    lines = _lines(ALTERNATING)
    for n, line in enumerate(lines, start=1):
        assert alternating.is_question(line.strip()) == (n in questions), (n, line)


# ------------------------------------------------------------------ slides
def test_slides_formula_items_with_kind_hint(read):
    result = read(SLIDES)
    macs = _at(result, 42)
    assert macs.question == "Number of MACs of a standard convolution"
    assert macs.answer.startswith(r"$B \times M \times K \times K \times C \times E \times F$")
    assert "B: batch size" in macs.answer and macs.kind_hint == "formula"
    storage = _at(result, 43)
    assert (storage.span.line, storage.span.end_line) == (43, 44)
    assert storage.question == "Storage cost of a standard convolution"
    assert storage.answer.startswith(r"$32 \times (M \times C \times K")
    dsc = _at(result, 95)
    assert dsc.question == "Number of MACs of a depthwise separable convolution"
    assert _at(result, 112).question == "Number of MACs of a group convolution"
    assert _at(result, 303).question == "Straight Through Estimator (STE) formula"


def test_slides_structure_and_junk_are_not_items(read):
    result = read(SLIDES)
    questions = [it.question for it in result.items]
    assert not [q for q in questions if q.startswith(("Recap", "General Information",
                                                     "Midterm Coverage", "Example Question"))]
    covered = {n for it in result.items for n in range(it.span.line, it.span.end_line + 1)}
    assert not covered & set(range(1, 37))  # title slide, exam logistics, recap lists
    # the example exam question: its three numbered questions, the stem as their context
    exam = [it for it in result.items if it.span.line >= 429]
    assert [(it.span.line, it.answer) for it in exam] == [(435, ""), (436, ""), (437, "")]
    assert all(it.context.startswith("Figure below describes a standard Conv2D") for it in exam)
    assert _at(result, 42).section == ("Lecture 2",)
    assert _at(result, 132).section == ("Lecture 3",)
    assert _at(result, 416).section == ("Lecture 7",)


def test_slides_definitions_questions_and_slide_content(read):
    result = read(SLIDES)
    bn = _at(result, 64)
    assert bn.question == "What is Batch Normalization (BatchNorm)?"
    assert bn.answer.startswith("A technique used in deep learning")
    fp = _at(result, 257)
    assert fp.question == "Floating Point Arithmetic: How to convert a real number x to FP representation?"
    assert fp.answer.startswith("$$x = |x|") and fp.kind_hint == "formula"
    kv = _at(result, 189)
    assert kv.question == "Why KV Cache Saves Computation?"
    assert kv.answer.startswith("- During the decoding phase")
    # a slide's leftover bullets are asked about, never under the bare slide title
    assert not [it for it in result.items if it.question == "Group Convolution"]
    group = _at(result, 109)
    assert group.question == "Group Convolution: what are the key points?"
    assert group.context == "Lecture 2" and group.span.end_line == 111
    # the massive-activation table is a card, read with the slide's conclusion
    table = _at(result, 403)
    assert "| *TMA to mean at y_7* | 1124111.75 |" in table.answer
    assert table.answer.startswith("- The truncation of massive activation")
    assert all("$$" not in it.question for it in result.items)
    assert any(r"\frac{\partial W'}{\partial W} = 1" in it.answer for it in result.items)


# ------------------------------------------------------------------ lms quiz
def test_quiz_recovers_correct_options_where_the_markers_allow(read):
    result = read(QUIZ)
    assert len(result.items) == 9
    flash = _at(result, 3)
    assert flash.section == ("Flash Attention",) and flash.kind_hint == "multiple-choice"
    assert (flash.span.line, flash.span.end_line) == (3, 27)
    assert len(flash.options) == 4 and flash.correct == (0,)
    assert flash.options[0] == "Maintain additional statistics such as m and I"
    assert flash.answer == flash.options[0] and not flash.needs_review
    assert "Correct Answer" in " ".join(flash.notes)
    megatron = _at(result, 32)
    assert megatron.section == ("Megatron LM",)
    assert megatron.options[megatron.correct[0]] == "Because GeLU is non-linear"
    kishu = _at(result, 136)  # one long line
    assert kishu.section == ("Kishu",) and kishu.span.end_line == 136
    assert kishu.options == ("(mylist1, mylist2)", "(mylist1, a, b)", "(mylist2, b, c)",
                             "No correct answers on this list", "(a, b, c mylist1, mylist2)")
    assert kishu.correct == (4,)
    skipgram = _at(result, 153)
    assert skipgram.options == ("fox", "brown", "jumps") and skipgram.correct == (2,)
    assert "radio" in " ".join(skipgram.notes)


def test_quiz_needs_review_when_the_markers_do_not_tell(read):
    result = read(QUIZ)
    for line, title in [(58, ("DeepSpeed ZeRo",)), (75, ("Block Attention",)),
                        (111, ("Cache Blend",)), (138, ()), (140, ())]:
        item = _at(result, line)
        assert item.section == title
        assert item.needs_review and item.correct == () and item.answer == ""
        assert len(item.options) >= 3
        assert any("correct option unknown" in n for n in item.notes)
    orca = _at(result, 138)
    assert orca.options[2] == "P1's prefill and P2's decoding"
    block = _at(result, 75)
    assert block.options == ("Rotate query states", "Rotate value states",
                             "Re-compute part of feed-forward", "Re-compute part of attention scores")
    for it in result.items:  # markers and scores never leak into the text
        text = "\n".join([it.question, *it.options])
        assert not re.search(r"(?m)^(swer|wer|ered|ed|ct!)$|\d / \d+ pts\b", text), it


# ------------------------------------------------------------------ obsidian
def test_obsidian_cloze_items(read):
    result = read(NOTES)
    fwd = _at(result, 85)
    assert fwd.kind_hint == "cloze" and fwd.answer == ""
    assert fwd.question == ("FLOPs for forward pass is {{c1::2 (# tokens) (# parameters)}}; "
                            "2 is because of both multiplication and addition.")
    assert fwd.section == ("Lecture 2: Pytorch, Resource Accounting", "Compute accounting",
                           "tensor_operations_FLOPs")
    bwd = _at(result, 91)  # too short on its own: the parent item is the cue
    assert bwd.question == "FLOPs in backward pass: {{c1::(2+2) (# tokens) (# parameters)}}"
    # a whole highlighted sentence is the author's emphasis, not a deletion: it asks, the rest answers
    ffn = _at(result, 119)
    assert ffn.question == "`FFN` and `MLP` are different: explain." and ffn.kind_hint is None
    assert ffn.answer.startswith("The latter is one linear layer")
    # a claim's marked key term is a cloze too ("Pytorch tensors are just *pointers* …")
    assert _at(result, 37).question == "Pytorch tensors are just {{c1::pointers}} into allocated memory"


def test_obsidian_definitions_and_questions(read):
    result = read(NOTES)
    flop = _at(result, 79)
    assert flop.question == "What is floating-point operation (FLOP)?"
    assert flop.answer.startswith("A basic operation like addition") and "`FLOP/s`" in flop.answer
    state = _at(result, 74)
    # the author's open question under it (`optimizer.state` vs …?) is no part of the answer
    assert state.question == "What is optimizer state?" and state.span.end_line == 75
    assert state.answer.startswith("- it contains all info for *resuming model training*")
    assert "params_group" not in state.answer
    heading = _at(result, 2)  # a heading that asks, and the list under it: one card
    assert heading.question.endswith("transfers to frontier models?") and heading.span.end_line == 6
    assert "**Mechanics**: how things work" in heading.answer
    assert not [it for it in result.items if 2 < it.span.line <= 6]
    mfu = _at(result, 87)
    assert mfu.question == "What is Model FLOPs utilization (MFU)?"
    assert mfu.context == ("Lecture 2: Pytorch, Resource Accounting › Compute accounting › "
                           "tensor_operations_FLOPs")
    params = _at(result, 66)
    assert params.question == "Parameters: num_parameters = ?" and params.kind_hint == "formula"
    assert _at(result, 106).question == "Why `pre-norm` instead of `post-norm`?"
    # references, pointers and image-only items are no cards
    assert not [it for it in result.items if it.span.line in (72, 73, 102, 122, 176, 177, 178)]
    # code blocks are not cards, and tags are not part of the section
    assert not [it for it in result.items if "Strides:" in it.question + it.answer]
    assert all("#" not in s for it in result.items for s in it.section)


def test_obsidian_missing_images_and_unresolved_links_are_warnings_with_lines(read):
    result = read(NOTES)
    by_code = {}
    for d in result.diagnostics:
        by_code.setdefault(d.code, []).append(d.line)
        assert d.path == NOTES and d.level == "warning"
    assert by_code["missing-image"] == [39, 127, 133, 137, 150, 156, 173]
    assert by_code["unresolved-link"] == [72, 102, 122]
    lines = _lines(NOTES)
    assert all("![[" in lines[n - 1] for n in by_code["missing-image"])
    assert all("[[" in lines[n - 1] for n in by_code["unresolved-link"])


def test_obsidian_existing_image_and_resolving_links(tmp_path):
    (tmp_path / "fig.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "Other.md").write_text("# Other\n", "utf-8")
    note = ("# Top\n## Part\n- why it matters\n\t- ![[fig.png|300]] the cost grows with the batch,"
            " as in [[#Part]] and [[Other|o]]\n- a ==key== fact with [[Nowhere]]\n")
    result = obsidian.read(note, "notes/n.md", folder=tmp_path)
    assert [d.code for d in result.diagnostics] == ["unresolved-link"]
    assert result.diagnostics[0].line == 5
    why = _at(result, 3)
    assert "![fig.png](<notes/fig.png>)" in why.answer and "o" in why.answer
    assert _at(result, 5).question == "a {{c1::key}} fact with Nowhere"


# ------------------------------------------------------------------ pipeline
def test_decode_reports_invalid_utf8_with_its_line_and_skips_binary():
    text, diags = decode("ok........fine\nbad \xff here\n".encode("latin-1"), "s/x.txt")
    assert text is not None and "\ufffd" in text
    assert [(d.path, d.line, d.col, d.code) for d in diags] == [("s/x.txt", 2, 5, "invalid-utf8")]
    text, diags = decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "s/y.txt")
    assert text is None and diags[0].code == "binary-file" and diags[0].line == 1
    assert decode(b"", "s/e.txt") == ("", [])


def test_style_can_be_forced_by_front_matter_and_config(tmp_path):
    config = load_config(ROOT)
    text = "---\ntitle: x\ndeckforge-style: dotted\n---\nWhat?........This\n"
    assert choose_reader(text, tmp_path / "a.md", config).NAME == "dotted"
    forced = config.__class__(**{**config.__dict__, "styles": {"a.txt": "alternating"}})
    assert choose_reader("Q........A\n", tmp_path / "a.txt", forced).NAME == "alternating"
    assert choose_reader("Q........A\n", tmp_path / "b.txt", forced).NAME == "dotted"


def test_every_reader_documents_its_contract():
    for reader in (dotted, alternating, lms_quiz, obsidian, slides):
        doc = reader.__doc__ or ""
        assert "question" in doc and "answer" in doc and "section" in doc, reader.NAME


def test_front_matter_forces_the_style_and_never_becomes_cards(tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "n.txt").write_text("---\ndeckforge-style: dotted\n---\nWhat?........This\n", "utf-8")
    graph = read_sources(load_config(tmp_path, sources=sources, out=tmp_path / "b"))
    assert [s.reader for s in graph.sources] == ["dotted"]
    assert [(it.question, it.span.line) for it in graph.raw_items] == [("What?", 4)]
    assert graph.diagnostics == ()


def test_obsidian_warnings_name_the_column_too(read):
    diag = next(d for d in read(NOTES).diagnostics if d.line == 72)
    assert _lines(NOTES)[71][diag.col - 1:].startswith("[[02_study/02-Deep-Learning/GPU#^gpt2mem|GPU]]")
